/** The scheduling queue: ordering, backoff, event-driven requeue with hints, max stay, gates, nominations. */
import test from 'ava';
import { prioritySort, schedulingGates } from '../../src/scheduler/plugins/basic.js';
import { inTreeEvents } from '../../src/scheduler/plugins/registry.js';
import { SchedulingQueue, type QueueOptions, type QueuedPodInfo } from '../../src/scheduler/queue.js';
import { withPlugin, type ClusterEventWithHint, type PodInfo } from '../../src/scheduler/framework.js';
import { node, pod, podObject } from './fixtures.js';

function queue(o: Partial<QueueOptions> = {}): SchedulingQueue {
  const gates = schedulingGates();
  return new SchedulingQueue({
    less: prioritySort().less,
    preEnqueue: (p) => withPlugin(gates.preEnqueue(p), gates.name),
    eventsFor: (_p, plugin) => inTreeEvents.get(plugin) ?? [],
    ...o,
  });
}

/** Pops the next pod and fails it with `plugins` as rejectors. */
function fail(q: SchedulingQueue, nowMs: number, plugins: string[]): QueuedPodInfo {
  const info = q.pop(nowMs)!;
  info.unschedulablePlugins = new Set(plugins);
  q.addUnschedulable(info, nowMs);
  return info;
}

test('activeQ pops by priority, then by the time the pod entered the queue', (t) => {
  const q = queue();
  q.add(pod('late-low'), 30);
  q.add(pod('early-low'), 10);
  q.add(pod('high', { priority: 1000 }), 40);
  q.add(pod('mid', { priority: 10 }), 20);
  const order: string[] = [];
  for (let p = q.pop(50); p !== undefined; p = q.pop(50)) order.push(p.pod.name);
  t.deepEqual(order, ['high', 'mid', 'early-low', 'late-low']);
  t.is(q.schedulingCycle, 4);
});

test('backoff doubles per attempt from 1 s up to 10 s, and a profile factor scales it', (t) => {
  const q = queue();
  q.add(pod('p'), 0);
  const durations: number[] = [];
  let now = 0;
  for (let i = 0; i < 6; i++) {
    const info = q.pop(now)!;
    info.unschedulablePlugins = new Set();
    q.addUnschedulable(info, now); // no rejector (an error): straight to backoffQ
    t.is(q.where(info.pod.uid), 'backoff');
    durations.push(q.backoffDurationMs(info));
    const wake = q.nextWakeMs()!;
    t.is(q.flush(wake - 1), 0);
    t.is(q.flush(wake), 1);
    t.is(q.where(info.pod.uid), 'active');
    now = wake;
  }
  t.deepEqual(durations, [1000, 2000, 4000, 8000, 10_000, 10_000]);
  const fast = queue({ timeScale: 0.1 });
  fast.add(pod('f'), 0);
  const f = fast.pop(0)!;
  fast.addUnschedulable(f, 0);
  t.is(fast.nextWakeMs(), 100);
  t.is(fast.maxUnschedulableMs, 30_000);
});

test('unschedulable pods move only on events their rejecting plugins registered, filtered by hints', (t) => {
  const q = queue();
  const big = pod('big', { cpu: '3' });
  q.add(big, 0);
  q.add(pod('tainted'), 0);
  fail(q, 0, ['NodeResourcesFit']);
  fail(q, 0, ['TaintToleration']);
  t.is(q.sizes().unschedulable, 2);
  // Nothing registered for PodAdd: both stay.
  t.is(q.onEvent({ kind: 'PodAdd', obj: podObject('x', { node: 'n' }) }, 100), 0);
  // A node too small for `big` does not wake it; a tainted node does not wake the other.
  t.is(q.onEvent({ kind: 'NodeAdd', obj: node('small', { cpu: '1', taints: [{ key: 'k', effect: 'NoSchedule' }] }) }, 100), 0);
  // A big enough, untainted node wakes both: still backing off, so into backoffQ.
  t.is(q.onEvent({ kind: 'NodeAdd', obj: node('large', { cpu: '8' }) }, 200), 2);
  t.is(q.where(big.uid), 'backoff');
  t.is(q.flush(1000), 2);
  t.is(q.sizes().active, 2);
  // A pod deletion wakes pods rejected for resources, at once if their backoff is over.
  fail(q, 5000, ['NodeResourcesFit']);
  t.is(q.onEvent({ kind: 'PodDelete', old: podObject('gone', { node: 'n' }) }, 20_000), 1);
  t.is(q.sizes().active, 2);
});

test('an event during a pod\'s attempt sends it to backoffQ instead of the unschedulable pool', (t) => {
  const q = queue();
  q.add(pod('a', { cpu: '3' }), 0);
  q.add(pod('b', { cpu: '3' }), 0);
  const a = q.pop(0)!;
  q.onEvent({ kind: 'NodeAdd', obj: node('large', { cpu: '8' }) }, 1); // while `a` is in flight
  a.unschedulablePlugins = new Set(['NodeResourcesFit']);
  q.addUnschedulable(a, 2);
  t.is(q.where(a.pod.uid), 'backoff');
  // An event its rejectors do not care about does not count.
  const b = q.pop(3)!;
  q.onEvent({ kind: 'PodAdd', obj: podObject('x', { node: 'n' }) }, 4);
  b.unschedulablePlugins = new Set(['NodeResourcesFit']);
  q.addUnschedulable(b, 5);
  t.is(q.where(b.pod.uid), 'unschedulable');
});

test('the unschedulable pool is flushed after the maximum stay (5 min upstream)', (t) => {
  const q = queue();
  q.add(pod('p'), 0);
  fail(q, 0, ['NodeResourcesFit']);
  t.is(q.nextWakeMs(), 300_001);
  t.is(q.flush(300_000), 0);
  t.is(q.where(q.pendingPods()[0]!.pod.uid), 'unschedulable');
  t.is(q.flush(300_001), 1);
  t.is(q.sizes().active, 1);
});

test('scheduling gates hold a pod out until an update removes them', (t) => {
  const q = queue();
  const g = pod('g', { uid: 'uid-g', spec: { schedulingGates: [{ name: 'example.com/quota' }] } });
  q.add(g, 0);
  t.is(q.where(g.uid), 'gated');
  t.is(q.pop(0), undefined);
  // Events and the max-stay flush do not release it.
  t.is(q.onEvent({ kind: 'NodeAdd', obj: node('n') }, 1), 0);
  q.flush(10 * 60 * 1000);
  t.is(q.where(g.uid), 'gated');
  // An update that keeps a gate keeps it gated; removing the last gate lets it in.
  q.update(pod('g', { uid: g.uid, spec: { schedulingGates: [{ name: 'other' }] } }), 2);
  t.is(q.where(g.uid), 'gated');
  q.update(pod('g', { uid: g.uid }), 3);
  t.is(q.where(g.uid), 'active');
  t.is(q.pop(4)!.pod.uid, g.uid);
});

test('the max stay also asks pods held by other PreEnqueue plugins again (not SchedulingGates ones), as upstream', (t) => {
  let open = false;
  const gates = schedulingGates();
  const q = queue({
    preEnqueue: (p) => {
      const s = withPlugin(gates.preEnqueue(p), gates.name);
      if (s.code !== 'Success') return s;
      return open ? s : { code: 'UnschedulableAndUnresolvable', reasons: ['quota closed'], plugin: 'Quota' };
    },
  });
  const held = pod('held');
  const gated = pod('gated', { spec: { schedulingGates: [{ name: 'example.com/x' }] } });
  q.add(gated, 0);
  // A SchedulingGates pod alone gives the queue no timer.
  t.is(q.nextWakeMs(), undefined);
  q.add(held, 1000);
  t.is(q.where(held.uid), 'gated');
  t.is(q.nextWakeMs(), 301_001);
  // Still closed at the max stay: asked, stays held, asked again one max stay later.
  t.is(q.flush(301_001), 0);
  t.is(q.where(held.uid), 'gated');
  t.is(q.nextWakeMs(), 601_002);
  open = true;
  t.is(q.flush(601_001), 0);
  t.is(q.where(held.uid), 'gated');
  t.is(q.flush(601_002), 1);
  t.is(q.where(held.uid), 'active');
  t.is(q.where(gated.uid), 'gated');
  t.is(q.nextWakeMs(), undefined);
});

test('update of an unschedulable pod requeues it when its spec changed; delete drops it everywhere', (t) => {
  const q = queue();
  const p = pod('p', { cpu: '3' });
  q.add(p, 0);
  fail(q, 0, ['NodeResourcesFit']);
  q.update({ ...p, pod: { ...p.pod, status: { phase: 'Pending' } } } as PodInfo, 1);
  t.is(q.where(p.uid), 'unschedulable');
  q.update(pod('p', { uid: p.uid, cpu: '1' }), 2);
  t.is(q.where(p.uid), 'backoff');
  q.delete(p.uid);
  t.is(q.where(p.uid), undefined);
  // A pod deleted while in flight is not put back.
  q.add(pod('r'), 3);
  const r = q.pop(3)!;
  q.delete(r.pod.uid);
  q.addUnschedulable(r, 4);
  t.is(q.where(r.pod.uid), undefined);
});

test('a plugin\'s own events() override the built-in table', (t) => {
  const only: readonly ClusterEventWithHint[] = [{ event: 'PodAdd', hint: (_p, ev) => (ev.obj?.metadata?.labels?.['wake'] === 'yes' ? 'Queue' : 'QueueSkip') }];
  const q = queue({ eventsFor: (_p, plugin) => (plugin === 'Mine' ? only : []) });
  q.add(pod('p'), 0);
  fail(q, 0, ['Mine']);
  t.is(q.onEvent({ kind: 'NodeAdd', obj: node('n') }, 1), 0);
  t.is(q.onEvent({ kind: 'PodAdd', obj: podObject('x', { labels: { wake: 'no' } }) }, 1), 0);
  t.is(q.onEvent({ kind: 'PodAdd', obj: podObject('x', { labels: { wake: 'yes' } }) }, 1), 1);
});

test('nominations: set from preemption or status.nominatedNodeName, listed per node, cleared on delete', (t) => {
  const q = queue();
  const a = pod('a', { priority: 10 });
  q.add(a, 0);
  q.nominate(a, 'n1');
  const b = pod('b', { status: { nominatedNodeName: 'n1' } });
  q.add(b, 0);
  t.deepEqual(q.nominatedPodsForNode('n1').map((p) => p.name).sort(), ['a', 'b']);
  q.nominate(a, 'n2');
  t.deepEqual(q.nominatedPodsForNode('n1').map((p) => p.name), ['b']);
  t.is(q.nominatedNodeFor(a.uid), 'n2');
  q.delete(b.uid);
  t.deepEqual(q.nominatedPodsForNode('n1'), []);
});

test('heap stays ordered through many interleaved adds, updates and deletes', (t) => {
  const q = queue();
  const pods: PodInfo[] = [];
  for (let i = 0; i < 200; i++) { const p = pod(`p${i}`, { priority: (i * 37) % 11 }); pods.push(p); q.add(p, i); }
  for (let i = 0; i < 200; i += 3) q.delete(pods[i]!.uid);
  for (let i = 1; i < 200; i += 7) if (i % 3 !== 0) q.update({ ...pods[i]!, priority: 50 + i } as PodInfo, 500);
  const out: PodInfo[] = [];
  for (let p = q.pop(1000); p !== undefined; p = q.pop(1000)) out.push(p.pod);
  t.is(out.length, 200 - Math.ceil(200 / 3));
  for (let i = 1; i < out.length; i++) t.true(out[i - 1]!.priority >= out[i]!.priority, `${out[i - 1]!.name} before ${out[i]!.name}`);
});

test('a retried pod keeps the timestamp of its failed attempt: it goes before pods added since', (t) => {
  const q = queue();
  q.add(pod('first'), 0);
  fail(q, 0, []); // an error: backoffQ for 1 s
  q.add(pod('second'), 500);
  q.flush(1000);
  t.deepEqual(q.activePods().map((p) => p.name), ['first', 'second']);
  t.is(q.pop(1000)!.pod.name, 'first');
});
