// The experiment engine's pure parts: the seeded schedule replays, targets resolve from the
// cluster's state at injection time, and a bad experiment is refused naming its fields.
import test from 'ava';
import { clusterUnderFire, defineExperiment, faultTarget, planSchedule, resolveTarget, type ExperimentSpec } from '../../src/chaos/index.js';

const method = clusterUnderFire().method;

test('the same seed gives the same schedule; another seed moves the times and the target draws', (t) => {
  t.deepEqual(planSchedule(method, 7), planSchedule(method, 7));
  const a = planSchedule(method, 7);
  const b = planSchedule(method, 8);
  t.is(a.length, 3);
  t.notDeepEqual(a.map((s) => s.atMs), b.map((s) => s.atMs));
  t.notDeepEqual(a.map((s) => s.pick), b.map((s) => s.pick));
  // Sequential: each step starts after the previous one healed, within its drawn pause.
  for (const [i, s] of a.entries()) {
    const previousEnd = i === 0 ? 0 : a[i - 1]!.atMs + a[i - 1]!.durationMs;
    const [min, max] = method[i]!.afterMs as readonly [number, number];
    t.true(s.pauseMs >= min && s.pauseMs <= max, `step ${i} pause ${s.pauseMs}`);
    t.is(s.atMs, previousEnd + s.pauseMs);
  }
});

test('over many seeds the random worker and the minority master both vary, and never hit the etcd leader', (t) => {
  const view = { masters: ['master-1', 'master-2', 'master-3'], workers: ['worker-1', 'worker-2'], etcdLeader: 'master-2', down: new Set<string>() };
  const workers = new Set<string>();
  const minority = new Set<string>();
  for (let seed = 1; seed <= 40; seed++) {
    const [worker, kill, isolate] = planSchedule(method, seed);
    t.deepEqual(resolveTarget(faultTarget(kill!.fault)!, view, kill!.pick), { hosts: ['master-2'] });
    const m = resolveTarget(faultTarget(isolate!.fault)!, view, isolate!.pick);
    if ('hosts' in m) minority.add(m.hosts.join());
    const w = resolveTarget(faultTarget(worker!.fault)!, view, worker!.pick);
    if ('hosts' in w) workers.add(w.hosts.join());
  }
  t.deepEqual([...minority].sort(), ['master-1', 'master-3']);
  t.deepEqual([...workers].sort(), ['worker-1', 'worker-2']);
});

test('a target that does not exist at injection time is a problem, not a guess', (t) => {
  const view = { masters: ['master-1', 'master-2', 'master-3'], workers: ['worker-1'], etcdLeader: undefined, down: new Set(['worker-1']) };
  t.regex((resolveTarget({ kind: 'etcd-leader-master' }, view, 0.5) as { problem: string }).problem, /no etcd member answered as leader/);
  t.regex((resolveTarget({ kind: 'random-worker' }, view, 0.5) as { problem: string }).problem, /no live worker/);
  t.regex((resolveTarget({ kind: 'host', host: 'worker-9' }, view, 0.5) as { problem: string }).problem, /no host named worker-9/);
});

test('defineExperiment refuses a bad experiment, naming each field', (t) => {
  const good = clusterUnderFire();
  const bad: ExperimentSpec = {
    ...good, name: 'Bad Name', cluster: { ...good.cluster, workers: 0 },
    method: [{ fault: { kind: 'kill-host', target: { kind: 'random-worker' } }, afterMs: [5, 1], durationMs: 100 }],
    verdicts: [{ kind: 'service-availability', minOkRatio: 2 }],
  };
  const error = t.throws(() => defineExperiment(bad));
  t.regex(error!.message, /name must be lower-case/);
  t.regex(error!.message, /method\[0\]\.afterMs must be milliseconds/);
  t.regex(error!.message, /method\[0\]\.fault\.target random-worker needs cluster\.workers >= 1/);
  t.regex(error!.message, /an http workload or service-responds probe needs cluster\.workers >= 1/);
  t.regex(error!.message, /verdicts\[0\]\.minOkRatio must be from 0 to 1/);
  t.notThrows(() => defineExperiment(good));
});

test('targets: a majority of the live masters, any master, any host, the Lease holder, the busiest master, a pod (its node), a set of hosts', (t) => {
  const view = {
    masters: ['master-1', 'master-2', 'master-3'], workers: ['worker-1', 'worker-2'], etcdLeader: 'master-2', down: new Set<string>(['worker-2']),
    leaseHolders: { scheduler: 'master-3' }, busiestMaster: 'master-1',
    pods: [{ namespace: 'default', name: 'a', uid: 'u1', node: 'worker-1' }, { namespace: 'default', name: 'b', uid: 'u2', node: 'worker-2' }],
  };
  const majorities = new Set<string>();
  const anyHost = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const pick = i / 50;
    const m = resolveTarget({ kind: 'majority-masters' }, view, pick);
    if ('hosts' in m) majorities.add(m.hosts.join());
    const h = resolveTarget({ kind: 'any-host' }, view, pick);
    if ('hosts' in h) anyHost.add(h.hosts.join());
  }
  t.deepEqual([...majorities].sort(), ['master-1,master-2', 'master-1,master-3', 'master-2,master-3']);
  t.deepEqual([...anyHost].sort(), ['master-1', 'master-2', 'master-3', 'worker-1'], 'never a host that is down');
  t.deepEqual(resolveTarget({ kind: 'lease-holder', component: 'scheduler' }, view, 0.1), { hosts: ['master-3'] });
  t.regex((resolveTarget({ kind: 'lease-holder', component: 'controller-manager' }, view, 0.1) as { problem: string }).problem, /no controller-manager Lease holder was found/);
  t.deepEqual(resolveTarget({ kind: 'busiest-master' }, view, 0.9), { hosts: ['master-1'] });
  t.deepEqual(resolveTarget({ kind: 'pod', pods: { namespace: 'default', selector: 'app=x' } }, view, 0.9), { hosts: ['worker-1'], pod: view.pods[0] }, 'not the pod on the dead node');
  t.deepEqual(resolveTarget({ kind: 'hosts', hosts: ['master-1', 'worker-1'] }, view, 0.5), { hosts: ['master-1', 'worker-1'] });
  t.regex((resolveTarget({ kind: 'hosts', hosts: ['master-1', 'worker-2'] }, view, 0.5) as { problem: string }).problem, /worker-2 already down/);
  const twoDown = { ...view, down: new Set(['master-1', 'master-2']) };
  t.regex((resolveTarget({ kind: 'majority-masters' }, twoDown, 0.5) as { problem: string }).problem, /fewer than 2 live masters to hit \(1 live\)/);
});
