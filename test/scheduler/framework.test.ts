/** The framework runtime: a scheduling cycle end to end on a snapshot, pure and seeded. */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { SchedulerCache, Snapshot, snapshotOf } from '../../src/scheduler/cache.js';
import {
  fitErrorMessage, numFeasibleNodesToFind, pluginsFrom, Profile, Registry, success, unschedulable, WaitingPods,
  type FilterPlugin, type FrameworkHandle, type PermitPlugin, type PluginBase, type PodInfo, type ReservePlugin, type ScorePlugin, type Status,
} from '../../src/scheduler/framework.js';
import { inTreeRegistry } from '../../src/scheduler/plugins/registry.js';
import { node, pod } from './fixtures.js';

const defaults: Array<[string, number?]> = [
  ['SchedulingGates'], ['PrioritySort'], ['NodeUnschedulable'], ['NodeName'], ['TaintToleration', 3], ['NodeAffinity', 2], ['NodePorts'],
  ['NodeResourcesFit', 1], ['PodTopologySpread', 2], ['InterPodAffinity', 2], ['NodeResourcesBalancedAllocation', 1], ['ImageLocality', 1], ['DefaultBinder'],
];

function instances(registry: Registry, names: Array<[string, number?]>, waitingPods = new WaitingPods()): Array<{ plugin: PluginBase; weight?: number }> {
  const handle: FrameworkHandle = { waitingPods, schedulerName: 'default-scheduler' };
  return names.map(([n, w]) => {
    const r = registry.get(n)!(undefined, handle);
    if (!r.ok) throw new Error(r.error);
    return w === undefined ? { plugin: r.plugin } : { plugin: r.plugin, weight: w };
  });
}

function defaultProfile(seed = 1, extra: Array<{ plugin: PluginBase; weight?: number }> = [], waitingPods = new WaitingPods()): Profile {
  return new Profile({ schedulerName: 'default-scheduler', plugins: pluginsFrom([...instances(inTreeRegistry(), defaults, waitingPods), ...extra]) }, new SeededPrng(seed), waitingPods);
}

const controlPlaneTaint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

test('a failed cycle carries upstream FitError message: sorted "<count> <reason>" histogram', (t) => {
  const snap = snapshotOf(
    [node('m', { taints: [controlPlaneTaint] }), node('a', { cpu: '1' }), node('b', { cpu: '1' })],
    [],
  );
  const r = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('big', { cpu: '2' }), nowMs: 0 });
  t.is(r.kind, 'unschedulable');
  if (r.kind !== 'unschedulable') return;
  t.is(r.message, '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.');
  t.deepEqual([...r.unschedulablePlugins].sort(), ['NodeResourcesFit', 'TaintToleration']);
  t.is(r.decision.filtered.get('m')!.plugin, 'TaintToleration');
  t.deepEqual(r.decision.filtered.get('a'), { code: 'Unschedulable', reasons: ['Insufficient cpu'], plugin: 'NodeResourcesFit' });
  // Counts sort as strings (Go's sort.Strings), and the PostFilter message follows verbatim.
  const filtered = new Map<string, Status>();
  for (let i = 0; i < 10; i++) filtered.set(`x${i}`, unschedulable('Insufficient memory'));
  filtered.set('y', unschedulable('Insufficient cpu', 'Insufficient memory'));
  t.is(fitErrorMessage({ numAllNodes: 11, filtered, postFilterMsg: 'preemption: 0/11 nodes are available: 11 Preemption is not helpful for scheduling.' }),
    '0/11 nodes are available: 1 Insufficient cpu, 11 Insufficient memory. preemption: 0/11 nodes are available: 11 Preemption is not helpful for scheduling.');
});

test('PreFilter narrowing to no known node names the plugin for every node', (t) => {
  const snap = snapshotOf([node('a'), node('b'), node('c')], []);
  const r = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { spec: { nodeName: 'gone' } }), nowMs: 0 });
  t.is(r.kind, 'unschedulable');
  t.is(r.kind === 'unschedulable' ? r.message : '', "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeName].");
  // NodeName is the rejector: the queue waits for that node to be added.
  t.deepEqual(r.kind === 'unschedulable' ? [...r.unschedulablePlugins] : [], ['NodeName']);
  const ok = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { spec: { nodeName: 'b' } }), nowMs: 0 });
  t.true(ok.kind === 'assumed' && ok.nodeName === 'b');
});

test('numFeasibleNodesToFind follows upstream: all below 100, else max(5, 50 - n/125)% but at least 100', (t) => {
  const cases: Array<[number | undefined, number, number]> = [
    [undefined, 50, 50], [undefined, 99, 99], [undefined, 100, 100], [undefined, 300, 144], [undefined, 1000, 420],
    [undefined, 5000, 500], [undefined, 6000, 300], [undefined, 20000, 1000], [30, 200, 100], [30, 1000, 300], [100, 5000, 5000], [0, 1000, 420],
  ];
  for (const [pct, n, want] of cases) t.is(numFeasibleNodesToFind(pct, n), want, `${pct ?? 'default'} of ${n}`);
});

test('Filter stops once enough feasible nodes are found and the start node rotates by the nodes processed', (t) => {
  const nodes: KubeObject[] = [];
  for (let i = 0; i < 300; i++) nodes.push(node(`n${String(i).padStart(3, '0')}`, { ...(i % 10 === 0 ? { cpu: '100m' } : {}) }));
  const snap = snapshotOf(nodes, []);
  const profile = defaultProfile();
  const first = profile.schedulingCycle({ snapshot: snap, pod: pod('p1', { cpu: '1' }), nowMs: 0 });
  // 144 feasible wanted; every tenth node is too small, so 160 nodes are processed (n000..n159).
  t.is(first.decision.feasible.length, 144);
  t.is(first.decision.filtered.size, 16);
  t.is(first.decision.feasible[0], 'n001');
  t.is(first.decision.scored!.nodes.length, 144);
  const second = profile.schedulingCycle({ snapshot: snap, pod: pod('p2', { cpu: '1' }), nowMs: 0 });
  t.is(second.decision.feasible[0], 'n161');
  t.is(second.decision.feasible.length + second.decision.filtered.size, 160);
  // The third starts at (320 mod 300) = 20: n020 is too small, so n021 is first.
  const third = profile.schedulingCycle({ snapshot: snap, pod: pod('p3', { cpu: '1' }), nowMs: 0 });
  t.is([...third.decision.filtered.keys()][0], 'n020');
  t.is(third.decision.feasible[0], 'n021');
});

test('exactly one feasible node: chosen without scoring (no Score plugin runs)', (t) => {
  let scored = 0;
  const spy: ScorePlugin = { name: 'Spy', score: () => { scored++; return 0; } };
  const snap = snapshotOf([node('a', { cpu: '1' }), node('b', { cpu: '8' })], []);
  const r = defaultProfile(1, [{ plugin: spy }]).schedulingCycle({ snapshot: snap, pod: pod('p', { cpu: '2' }), nowMs: 0 });
  t.true(r.kind === 'assumed' && r.nodeName === 'b');
  t.is(r.decision.scored, undefined);
  t.is(scored, 0);
  const two = defaultProfile(1, [{ plugin: spy }]).schedulingCycle({ snapshot: snapshotOf([node('a'), node('b')], []), pod: pod('q'), nowMs: 0 });
  t.is(two.kind, 'assumed');
  t.is(scored, 2);
});

test('weighted scores: totals are the sum of normalised score × weight; the record keeps raw and normalised', (t) => {
  const byName: ScorePlugin = {
    name: 'ByName', score: (_c, _p, n) => n.name.charCodeAt(0) - 96,
    normalizeScore: (_c, _p, s) => { for (let i = 0; i < s.length; i++) s[i] = s[i]! * 10; return success; },
  };
  const flat: ScorePlugin = { name: 'Flat', score: (_c, _p, n) => (n.name === 'a' ? 100 : 0) };
  const binder = instances(inTreeRegistry(), [['PrioritySort'], ['DefaultBinder']]);
  const profile = new Profile({ schedulerName: 's', plugins: pluginsFrom([...binder, { plugin: byName, weight: 5 }, { plugin: flat, weight: 1 }]) }, new SeededPrng(3));
  const r = profile.schedulingCycle({ snapshot: snapshotOf([node('a'), node('b'), node('c')], []), pod: pod('p'), nowMs: 0 });
  // a: 10*5 + 100 = 150, b: 20*5 = 100, c: 30*5 = 150 → a tie between a and c.
  const sc = r.decision.scored!;
  t.deepEqual(sc.nodes, ['a', 'b', 'c']);
  t.deepEqual([...sc.totals], [150, 100, 150]);
  t.deepEqual([...sc.plugins[0]!.raw], [1, 2, 3]);
  t.deepEqual([...sc.plugins[0]!.normalized], [10, 20, 30]);
  t.true(r.kind === 'assumed' && (r.nodeName === 'a' || r.nodeName === 'c'));
  // A score outside [0, 100] after normalising is an error naming the plugin.
  const wild: ScorePlugin = { name: 'Wild', score: () => 101 };
  const bad = new Profile({ schedulerName: 's', plugins: pluginsFrom([...binder, { plugin: wild }]) }, new SeededPrng(3))
    .schedulingCycle({ snapshot: snapshotOf([node('a'), node('b')], []), pod: pod('p'), nowMs: 0 });
  t.is(bad.kind, 'error');
  t.regex(bad.kind === 'error' ? bad.message : '', /plugin "Wild" returns an invalid score 101/);
});

test('ties are broken by the seeded PRNG: a seed replays the choices, and every tied node is chosen', (t) => {
  const snap = snapshotOf([node('a'), node('b'), node('c'), node('d')], []);
  const run = (seed: number) => {
    const p = defaultProfile(seed);
    // Same pod shape on identical empty nodes, nothing assumed: every cycle is a 4-way tie.
    return Array.from({ length: 40 }, (_v, i) => { const r = p.schedulingCycle({ snapshot: snap, pod: pod(`p${i}`), nowMs: 0 }); return r.kind === 'assumed' ? r.nodeName : '?'; });
  };
  const a = run(7);
  t.deepEqual(run(7), a);
  t.notDeepEqual(run(8), a);
  t.deepEqual([...new Set(a)].sort(), ['a', 'b', 'c', 'd']);
});

test('the cycle assumes the pod in the cache; a later cycle sees it', (t) => {
  const cache = new SchedulerCache(0);
  cache.addNode(node('a', { cpu: '2' }));
  cache.addNode(node('b', { cpu: '2' }));
  const snap = new Snapshot();
  const profile = defaultProfile();
  const placed: string[] = [];
  for (let i = 0; i < 5; i++) {
    cache.updateSnapshot(snap);
    const r = profile.schedulingCycle({ snapshot: snap, pod: pod(`p${i}`, { cpu: '1' }), nowMs: 0, cache });
    placed.push(r.kind === 'assumed' ? r.nodeName : r.kind === 'unschedulable' ? r.message : r.kind);
  }
  t.deepEqual(placed.slice(0, 4).sort(), ['a', 'a', 'b', 'b']);
  t.is(placed[4], '0/2 nodes are available: 2 Insufficient cpu.');
  t.is(cache.podCount(), 4);
});

test('nominated pods of higher or equal priority count on their node; lower ones do not', (t) => {
  const snap = snapshotOf([node('a', { cpu: '2' })], []);
  const hi = pod('hi', { cpu: '2', priority: 100 });
  const lo = pod('lo', { cpu: '2', priority: 0 });
  const r = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { cpu: '1', priority: 10 }), nowMs: 0, nominatedPods: () => [hi] });
  t.is(r.kind === 'unschedulable' ? r.message : r.kind, '0/1 nodes are available: 1 Insufficient cpu.');
  const ok = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { cpu: '1', priority: 10 }), nowMs: 0, nominatedPods: () => [lo] });
  t.is(ok.kind, 'assumed');
});

test('a pod with status.nominatedNodeName tries that node first', (t) => {
  const snap = snapshotOf([node('a'), node('b'), node('c')], []);
  for (const n of ['a', 'b', 'c']) {
    const r = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { status: { nominatedNodeName: n } }), nowMs: 0 });
    t.true(r.kind === 'assumed' && r.nodeName === n);
    t.deepEqual(r.decision.feasible, [n]);
  }
});

test('Reserve failure runs every Unreserve in reverse and forgets the assumed pod', (t) => {
  const log: string[] = [];
  const mk = (name: string, ok: boolean): ReservePlugin => ({
    name, reserve: () => { log.push(`reserve ${name}`); return ok ? success : unschedulable(`${name} says no`); }, unreserve: () => { log.push(`unreserve ${name}`); },
  });
  const cache = new SchedulerCache(0);
  cache.addNode(node('a'));
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  const r = defaultProfile(1, [{ plugin: mk('R1', true) }, { plugin: mk('R2', false) }]).schedulingCycle({ snapshot: snap, pod: pod('p'), nowMs: 0, cache });
  t.deepEqual(log, ['reserve R1', 'reserve R2', 'unreserve R2', 'unreserve R1']);
  t.is(r.kind === 'unschedulable' ? r.message : r.kind, '0/1 nodes are available: 1 R2 says no.');
  t.is(cache.podCount(), 0);
});

/** A gang Permit plugin written the way a user would: wait until `size` members are parked, then allow them all. */
function gangPermit(handle: FrameworkHandle, size: number, timeoutMs: number): PermitPlugin {
  const name = 'Gang';
  return {
    name,
    permit: (_ctx, p) => {
      const gang = p.labels['gang'];
      if (gang === undefined) return { status: success };
      const waiting = handle.waitingPods.list().filter((w) => w.pod.labels['gang'] === gang);
      if (waiting.length + 1 < size) return { status: { code: 'Wait', reasons: [] }, timeoutMs };
      for (const w of waiting) w.allow(name);
      return { status: success };
    },
  };
}

test('Permit: wait parks the pod, allow releases it, a timeout rejects it', (t) => {
  const waitingPods = new WaitingPods();
  const handle: FrameworkHandle = { waitingPods, schedulerName: 'default-scheduler' };
  const profile = defaultProfile(1, [{ plugin: gangPermit(handle, 3, 5000) }], waitingPods);
  const snap = snapshotOf([node('a'), node('b')], []);
  const g = (n: string) => pod(n, { labels: { gang: 'g1' } });
  const r1 = profile.schedulingCycle({ snapshot: snap, pod: g('m1'), nowMs: 0 });
  const r2 = profile.schedulingCycle({ snapshot: snap, pod: g('m2'), nowMs: 10 });
  t.is(r1.kind, 'waiting');
  t.is(r2.kind, 'waiting');
  t.is(waitingPods.size, 2);
  t.is(waitingPods.nextDeadlineMs(), 5000);
  t.deepEqual(waitingPods.drain(), []);
  const r3 = profile.schedulingCycle({ snapshot: snap, pod: g('m3'), nowMs: 20 });
  t.is(r3.kind, 'assumed');
  t.deepEqual(waitingPods.drain().map((o) => `${o.kind} ${o.pod.name}`), ['allowed m1', 'allowed m2']);
  // A gang that never fills up is rejected at its deadline, with upstream's message.
  const lone = profile.schedulingCycle({ snapshot: snap, pod: pod('x1', { labels: { gang: 'g2' } }), nowMs: 100 });
  t.is(lone.kind, 'waiting');
  waitingPods.expire(5099);
  t.deepEqual(waitingPods.drain(), []);
  waitingPods.expire(5100);
  const out = waitingPods.drain();
  t.is(out.length, 1);
  t.true(out[0]!.kind === 'rejected' && out[0]!.status.plugin === 'Gang' && out[0]!.status.reasons[0] === 'rejected due to timeout after waiting 5000ms at plugin Gang');
  // A Permit rejection unreserves at once.
  const no: PermitPlugin = { name: 'No', permit: () => ({ status: unschedulable('not today') }) };
  const rej = defaultProfile(1, [{ plugin: no }]).schedulingCycle({ snapshot: snap, pod: pod('y'), nowMs: 0 });
  t.is(rej.kind === 'unschedulable' ? rej.message : rej.kind, '0/1 nodes are available: 1 not today.');
});

test('binding cycle: PreBind then the first Bind that does not Skip; DefaultBinder returns pods/binding as data', (t) => {
  const snap = snapshotOf([node('a')], []);
  const p = pod('p');
  const profile = defaultProfile();
  const r = profile.schedulingCycle({ snapshot: snap, pod: p, nowMs: 0 });
  if (r.kind !== 'assumed') { t.fail(r.kind); return; }
  t.deepEqual(profile.bind(r.state, snap, p, r.nodeName), { ok: true, action: { type: 'bind', namespace: 'default', name: 'p', uid: p.uid, nodeName: 'a' } });
  const failing = defaultProfile(1, [{ plugin: { name: 'Vol', preBind: () => ({ code: 'Error', reasons: ['attach failed'] }) } as PluginBase }]);
  const r2 = failing.schedulingCycle({ snapshot: snap, pod: p, nowMs: 0 });
  if (r2.kind !== 'assumed') { t.fail(r2.kind); return; }
  t.deepEqual(failing.bind(r2.state, snap, p, 'a'), { ok: false, status: { code: 'Error', reasons: ['attach failed'], plugin: 'Vol' } });
});

test('a user plugin registered beside the in-tree ones runs exactly like a built-in', (t) => {
  // One file's worth: a Filter that keeps pods off nodes labelled for maintenance, and a Score preferring "fast" nodes.
  const maintenance = (): FilterPlugin & ScorePlugin => ({
    name: 'Maintenance',
    filter: (_c, _p, n) => (n.labels['maintenance'] === 'true' ? unschedulable('node(s) are in maintenance') : success),
    score: (_c, _p, n) => (n.labels['speed'] === 'fast' ? 100 : 0),
  });
  const registry = inTreeRegistry().merge(new Registry([['Maintenance', () => ({ ok: true, plugin: maintenance() })]]));
  const profile = new Profile({ schedulerName: 'mine', plugins: pluginsFrom(instances(registry, [...defaults, ['Maintenance', 10]])) }, new SeededPrng(1));
  const snap = snapshotOf([node('a', { labels: { maintenance: 'true', speed: 'fast' } }), node('b'), node('c', { labels: { speed: 'fast' } })], []);
  const r = profile.schedulingCycle({ snapshot: snap, pod: pod('p'), nowMs: 0 });
  t.true(r.kind === 'assumed' && r.nodeName === 'c');
  t.deepEqual(r.decision.filtered.get('a'), { code: 'Unschedulable', reasons: ['node(s) are in maintenance'], plugin: 'Maintenance' });
  t.true(r.decision.scored!.plugins.some((s) => s.plugin === 'Maintenance' && s.weight === 10));
  t.throws(() => registry.register('NodeName', () => ({ ok: false, error: 'x' })), { message: /registered twice/ });
  const onlyFilter = new Profile({ schedulerName: 'mine', plugins: pluginsFrom(instances(registry, [...defaults, ['Maintenance', 10]])) }, new SeededPrng(1));
  const none = onlyFilter.schedulingCycle({ snapshot: snapshotOf([node('a', { labels: { maintenance: 'true' } })], []), pod: pod('q'), nowMs: 0 });
  t.is(none.kind === 'unschedulable' ? none.message : none.kind, '0/1 nodes are available: 1 node(s) are in maintenance.');
  t.deepEqual(none.kind === 'unschedulable' ? [...none.unschedulablePlugins] : [], ['Maintenance']);
});

test('scheduling gates: PreEnqueue names the plugin and the gates', (t) => {
  const s = defaultProfile().preEnqueue(pod('g', { spec: { schedulingGates: [{ name: 'example.com/wait' }] } }));
  t.deepEqual(s, { code: 'UnschedulableAndUnresolvable', reasons: ['waiting for scheduling gates: [example.com/wait]'], plugin: 'SchedulingGates' });
  t.is(defaultProfile().preEnqueue(pod('free')).code, 'Success');
  const p: PodInfo = pod('x');
  t.true(defaultProfile().less({ pod: pod('hi', { priority: 5 }), timestampMs: 9 }, { pod: p, timestampMs: 1 }));
});

test('per-node memoised counts (spread, anti-affinity) follow the cache across cycles on one reused snapshot', (t) => {
  const cache = new SchedulerCache(0);
  cache.addNode(node('a', { labels: { zone: 'z1' } }));
  cache.addNode(node('b', { labels: { zone: 'z2' } }));
  const snap = new Snapshot();
  const profile = defaultProfile();
  const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'x' } } }] };
  const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  const place = (name: string, spec: Record<string, unknown>) => {
    cache.updateSnapshot(snap);
    const r = profile.schedulingCycle({ snapshot: snap, pod: pod(name, { labels: { app: 'x' }, spec }), nowMs: 0 });
    if (r.kind !== 'assumed') return r.kind === 'unschedulable' ? r.message : r.kind;
    cache.addPod(pod(name, { labels: { app: 'x' }, spec, node: r.nodeName }));
    return r.nodeName;
  };
  // maxSkew 1: the second and fourth pods must take the other zone, which a stale count would miss.
  const zones = ['s1', 's2', 's3', 's4'].map((n) => place(n, spread));
  t.deepEqual([...zones].sort(), ['a', 'a', 'b', 'b']);
  t.not(zones[1], zones[0]);
  t.not(zones[3], zones[2]);
  // Anti-affinity against app=x: a and b both hold one now, so nothing fits; removing a's pods frees a.
  t.regex(place('x1', anti), /0\/2 nodes are available: 2 node\(s\) didn't match pod anti-affinity rules/);
  for (const p of cache['podStates'].values()) if (p.nodeName === 'a') cache.removePod(p.pod.uid);
  t.is(place('x2', anti), 'a');
  // Now x2's own anti-affinity (an existing pod's term) keeps every app=x pod off a.
  t.is(place('s5', {}), 'b');
  t.regex(place('s6', { nodeSelector: { zone: 'z1' } }), /didn't satisfy existing pods anti-affinity rules/);
});

test('nominated pods reach PreFilter state through AddPod: topology spread and pod anti-affinity see them', (t) => {
  const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } })];
  const snap = snapshotOf(nodes, []);
  const spread = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'x' } } }] };
  // Two higher-priority app=x pods nominated to a: counting them, a's skew is 3 - 0 > 1.
  const vips = [pod('vip1', { labels: { app: 'x' }, priority: 100 }), pod('vip2', { labels: { app: 'x' }, priority: 100 })];
  const nominated = (n: string) => (n === 'a' ? vips : []);
  const spreadPod = () => pod('s', { labels: { app: 'x' }, priority: 10, spec: spread });
  const r = defaultProfile().schedulingCycle({ snapshot: snap, pod: spreadPod(), nowMs: 0, nominatedPods: nominated });
  t.is(r.kind === 'assumed' ? r.nodeName : r.kind, 'b');
  t.deepEqual(r.decision.filtered.get('a'), { code: 'Unschedulable', reasons: ["node(s) didn't match pod topology spread constraints"], plugin: 'PodTopologySpread' });
  // Of lower priority they do not count.
  const low = [pod('low', { labels: { app: 'x' }, priority: 0 })];
  const r2 = defaultProfile().schedulingCycle({ snapshot: snap, pod: spreadPod(), nowMs: 0, nominatedPods: (n) => (n === 'a' ? low : []) });
  t.is(r2.decision.filtered.size, 0);

  // The incoming pod's anti-affinity against a nominated pod, and a nominated pod's against it.
  const anti = (app: string) => ({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app } }, topologyKey: 'kubernetes.io/hostname' }] } } });
  const both = (n: string) => (n === 'a' ? [pod('y', { labels: { app: 'y' }, priority: 100 })] : n === 'b' ? [pod('guard', { labels: { app: 'g' }, priority: 100, spec: anti('x') })] : []);
  const r3 = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { labels: { app: 'x' }, priority: 10, spec: anti('y') }), nowMs: 0, nominatedPods: both });
  t.is(r3.kind === 'unschedulable' ? r3.message : r3.kind, "0/2 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 1 node(s) didn't satisfy existing pods anti-affinity rules.");
  // Without the nominations both nodes fit: the PreFilter state the cycle computed was not changed by the what-ifs.
  const r4 = defaultProfile().schedulingCycle({ snapshot: snap, pod: pod('p', { labels: { app: 'x' }, priority: 10, spec: anti('y') }), nowMs: 0 });
  t.is(r4.kind, 'assumed');
});
