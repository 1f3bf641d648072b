/** Table-driven plugin tests in upstream's style: pod + nodes in, status / score out. */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { snapshotOf, SchedulerCache, Snapshot } from '../../src/scheduler/cache.js';
import { newPodInfo } from '../../src/scheduler/podinfo.js';
import { defaultBinder, nodeAffinity, nodeName, nodePorts, nodeUnschedulable, prioritySort, schedulingGates, taintToleration } from '../../src/scheduler/plugins/basic.js';
import { nodeResourcesBalancedAllocation, nodeResourcesFit } from '../../src/scheduler/plugins/resources.js';
import { interPodAffinity, podTopologySpread } from '../../src/scheduler/plugins/topology.js';
import { CycleState, type FilterPlugin, type PluginContext, type PodInfo, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from '../../src/scheduler/types.js';

let uidSeq = 0;
function pod(name: string, o: { cpu?: string; memory?: string; node?: string; labels?: Record<string, string>; spec?: Record<string, unknown>; ns?: string; initCpu?: string } = {}): PodInfo {
  const requests: Record<string, string> = {};
  if (o.cpu !== undefined) requests['cpu'] = o.cpu;
  if (o.memory !== undefined) requests['memory'] = o.memory;
  return newPodInfo({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: o.ns ?? 'default', uid: `u-${name}-${uidSeq++}`, labels: o.labels ?? {}, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      containers: [{ name: 'c', image: 'nginx', resources: { requests } }],
      ...(o.initCpu === undefined ? {} : { initContainers: [{ name: 'i', image: 'busybox', resources: { requests: { cpu: o.initCpu } } }] }),
      ...(o.node === undefined ? {} : { nodeName: o.node }), ...o.spec,
    },
  });
}

function node(name: string, o: { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints === undefined ? {} : { taints: o.taints }), ...(o.unschedulable === true ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' } },
  };
}

function ctxOf(nodes: KubeObject[], pods: PodInfo[] = []): PluginContext {
  return { snapshot: snapshotOf(nodes, pods), state: new CycleState() };
}

function filterAll(plugin: FilterPlugin & Partial<PreFilterPlugin>, p: PodInfo, nodes: KubeObject[], existing: PodInfo[] = []): string[] {
  const ctx = ctxOf(nodes, existing);
  plugin.preFilter?.(ctx, p);
  return ctx.snapshot.nodes.map((n) => { const s = plugin.filter(ctx, p, n); return s.code === 'Success' ? 'ok' : `${s.code}: ${s.reasons.join('; ')}`; });
}

function built<T>(r: { ok: true; plugin: unknown } | { ok: false; error: string }): T {
  if (!r.ok) throw new Error(r.error);
  return r.plugin as T;
}

test('NodeResourcesFit filter: requests = max(sum containers, init) and every insufficient resource is a reason', (t) => {
  const fit = built<FilterPlugin>(nodeResourcesFit(undefined));
  const cases: Array<[string, PodInfo, KubeObject, PodInfo[], string]> = [
    ['fits', pod('a', { cpu: '1', memory: '1Gi' }), node('n'), [], 'ok'],
    ['too much cpu', pod('a', { cpu: '5' }), node('n'), [], 'Unschedulable: Insufficient cpu'],
    ['cpu and memory', pod('a', { cpu: '3', memory: '7Gi' }), node('n'), [pod('b', { cpu: '2', memory: '2Gi', node: 'n' })], 'Unschedulable: Insufficient cpu; Insufficient memory'],
    ['init container dominates', pod('a', { cpu: '1', initCpu: '3500m' }), node('n'), [pod('b', { cpu: '1', node: 'n' })], 'Unschedulable: Insufficient cpu'],
    ['zero request is never insufficient', pod('a'), node('n', { cpu: '0' }), [], 'ok'],
    ['too many pods', pod('a'), node('n', { pods: '1' }), [pod('b', { node: 'n' })], 'Unschedulable: Too many pods'],
  ];
  for (const [name, p, n, existing, want] of cases) t.deepEqual(filterAll(fit, p, [n], existing), [want], name);
});

test('NodeResourcesFit scoring strategies and BalancedAllocation use non-zero defaults', (t) => {
  const least = built<ScorePlugin>(nodeResourcesFit(undefined));
  const most = built<ScorePlugin>(nodeResourcesFit({ scoringStrategy: { type: 'MostAllocated' } }));
  const ratio = built<ScorePlugin>(nodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } } }));
  const balanced = built<ScorePlugin>(nodeResourcesBalancedAllocation(undefined));
  const ctx = ctxOf([node('n', { cpu: '4', memory: '8Gi' })]);
  const n = ctx.snapshot.nodes[0]!;
  const p = pod('a', { cpu: '1', memory: '4Gi' });
  // cpu (4000-1000)*100/4000 = 75, memory 50 → 62.
  t.is(least.score(ctx, p, n), 62);
  t.is(most.score(ctx, p, n), 37);
  t.is(ratio.score(ctx, p, n), 38);
  // |0.25 - 0.5| / 2 = 0.125 → 87.
  t.is(balanced.score(ctx, p, n), 87);
  // A pod with no requests is scored as 100m / 200Mi.
  t.is(least.score(ctx, pod('z'), n), Math.trunc(((3900 * 100) / 4000 + Math.trunc(((8192 - 200) * 100) / 8192)) / 2));
  t.false(nodeResourcesFit({ scoringStrategy: { type: 'Nope' } }).ok);
  const bad = nodeResourcesFit({ bogus: 1 });
  t.true(!bad.ok && bad.error.includes('NodeResourcesFit') && bad.error.includes('bogus'));
});

test('TaintToleration, NodeUnschedulable, NodeName, NodePorts filters', (t) => {
  const tainted = node('m', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
  t.deepEqual(filterAll(taintToleration(), pod('a'), [node('n'), tainted]), ['ok', 'UnschedulableAndUnresolvable: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }']);
  t.deepEqual(filterAll(taintToleration(), pod('a', { spec: { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists' }] } }), [tainted]), ['ok']);
  t.deepEqual(filterAll(nodeUnschedulable(), pod('a'), [node('c', { unschedulable: true })]), ['UnschedulableAndUnresolvable: node(s) were unschedulable']);
  t.deepEqual(filterAll(nodeName(), pod('a', { spec: { nodeName: 'y' } }), [node('x'), node('y')]), ["UnschedulableAndUnresolvable: node(s) didn't match the requested node name", 'ok']);
  const withPort = (n: string, port: number, extra: Record<string, unknown> = {}) => pod(n, { ...extra, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: port }] }] } });
  t.deepEqual(filterAll(nodePorts(), withPort('a', 8080), [node('n')], [{ ...withPort('b', 8080), nodeName: 'n' } as PodInfo]), ["Unschedulable: node(s) didn't have free ports for the requested pod ports"]);
  t.deepEqual(filterAll(nodePorts(), withPort('a', 8081), [node('n')], [{ ...withPort('b', 8080), nodeName: 'n' } as PodInfo]), ['ok']);
});

test('TaintToleration score prefers nodes with fewer intolerable PreferNoSchedule taints', (t) => {
  const tt = taintToleration();
  const ctx = ctxOf([node('a'), node('b', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })]);
  const p = pod('p');
  const scores = Float64Array.from(ctx.snapshot.nodes.map((n) => tt.score(ctx, p, n) as number));
  tt.normalizeScore!(ctx, p, scores);
  t.deepEqual([...scores], [100, 0]);
});

test('NodeAffinity: nodeSelector, required terms, preferred weights', (t) => {
  const na = nodeAffinity();
  const nodes = [node('a', { labels: { disk: 'ssd', zone: 'z1' } }), node('b', { labels: { disk: 'hdd' } })];
  t.deepEqual(filterAll(na, pod('p', { spec: { nodeSelector: { disk: 'ssd' } } }), nodes), ['ok', "UnschedulableAndUnresolvable: node(s) didn't match Pod's node affinity/selector"]);
  const req = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }] }] } } } };
  t.deepEqual(filterAll(na, pod('p', { spec: req }), nodes), ["UnschedulableAndUnresolvable: node(s) didn't match Pod's node affinity/selector", 'ok']);
  const pref = { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, preference: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } }] } } };
  const ctx = ctxOf(nodes);
  const p = pod('p', { spec: pref });
  const scores = Float64Array.from(ctx.snapshot.nodes.map((n) => na.score(ctx, p, n) as number));
  na.normalizeScore!(ctx, p, scores);
  t.deepEqual([...scores], [100, 0]);
});

test('PodTopologySpread: DoNotSchedule skew and missing label', (t) => {
  const spread = built<FilterPlugin & PreFilterPlugin>(podTopologySpread(undefined));
  const nodes = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } }), node('c')];
  const c = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }] };
  const existing = [pod('e1', { node: 'a', labels: { app: 'web' } })];
  t.deepEqual(filterAll(spread, pod('p', { labels: { app: 'web' }, spec: c }), nodes, existing), [
    "Unschedulable: node(s) didn't match pod topology spread constraints", 'ok',
    "UnschedulableAndUnresolvable: node(s) didn't match pod topology spread constraints (missing required label)",
  ]);
});

test('PodTopologySpread system defaults: nodes without a zone label still spread a ReplicaSet\'s pods by hostname (upstream requireAllTopologies is false for them)', (t) => {
  const spread = built<ScorePlugin & PreScorePlugin>(podTopologySpread(undefined));
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs-1', controller: true };
  const sibling = pod('web-a', { node: 'a', labels: { app: 'web' }, spec: {} });
  (sibling.pod.metadata as { ownerReferences?: unknown[] }).ownerReferences = [owner];
  const nodes = [node('a'), node('b')];
  const ctx = ctxOf(nodes, [sibling]);
  const p = pod('web-b', { labels: { app: 'web' } });
  (p.pod.metadata as { ownerReferences?: unknown[] }).ownerReferences = [owner];
  t.is(spread.preScore(ctx, p, ctx.snapshot.nodes).code, 'Success');
  const scores = Float64Array.from(ctx.snapshot.nodes.map((n) => spread.score(ctx, p, n) as number));
  spread.normalizeScore!(ctx, p, scores);
  t.true(scores[1]! > scores[0]!, `the node without the sibling scores higher: ${[...scores].join(', ')}`);
});

test('InterPodAffinity: required anti-affinity, affinity, existing pods anti-affinity', (t) => {
  const ipa = built<FilterPlugin & PreFilterPlugin>(interPodAffinity(undefined));
  const nodes = [node('a'), node('b')];
  const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  const existing = [pod('e', { node: 'a', labels: { app: 'web' } })];
  t.deepEqual(filterAll(ipa, pod('p', { labels: { app: 'web' }, spec: anti }), nodes, existing), ["Unschedulable: node(s) didn't match pod anti-affinity rules", 'ok']);
  const aff = { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  t.deepEqual(filterAll(ipa, pod('p', { spec: aff }), nodes, existing), ['ok', "UnschedulableAndUnresolvable: node(s) didn't match pod affinity rules"]);
  // First pod of a self-affine group may go anywhere.
  t.deepEqual(filterAll(ipa, pod('p', { labels: { app: 'web' }, spec: aff }), nodes, []), ['ok', 'ok']);
  // Another namespace is not matched unless listed.
  t.deepEqual(filterAll(ipa, pod('p', { ns: 'other', labels: { app: 'web' }, spec: anti }), nodes, existing), ['ok', 'ok']);
  const existingAnti = [pod('e', { node: 'a', labels: { app: 'db' }, spec: anti })];
  t.deepEqual(filterAll(ipa, pod('p', { labels: { app: 'web' } }), nodes, existingAnti), ["Unschedulable: node(s) didn't satisfy existing pods anti-affinity rules", 'ok']);
});

test('SchedulingGates, PrioritySort, DefaultBinder', (t) => {
  t.deepEqual(schedulingGates().preEnqueue(pod('p', { spec: { schedulingGates: [{ name: 'a' }, { name: 'b' }] } })).reasons, ['waiting for scheduling gates: [a b]']);
  t.is(schedulingGates().preEnqueue(pod('p')).code, 'Success');
  const hi = pod('hi', { spec: { priority: 10 } }); const lo = pod('lo');
  t.true(prioritySort().less({ pod: hi, timestampMs: 5 }, { pod: lo, timestampMs: 1 }));
  t.true(prioritySort().less({ pod: lo, timestampMs: 1 }, { pod: pod('lo2'), timestampMs: 2 }));
  const r = defaultBinder().bind(ctxOf([node('n')]), lo, 'n');
  t.deepEqual(r.action, { type: 'bind', namespace: 'default', name: 'lo', uid: lo.uid, nodeName: 'n' });
});

test('cache: assume counts at once, forget releases, confirm on add, expire after TTL', (t) => {
  const cache = new SchedulerCache(1000);
  cache.addNode(node('n', { cpu: '2' }));
  const snap = new Snapshot();
  const p = pod('a', { cpu: '1500m' });
  cache.assumePod(p, 'n');
  cache.updateSnapshot(snap);
  t.is(snap.get('n')!.requested.milliCpu, 1500);
  cache.forgetPod(p.uid);
  cache.updateSnapshot(snap);
  t.is(snap.get('n')!.requested.milliCpu, 0);
  cache.assumePod(p, 'n');
  cache.finishBinding(p.uid, 0);
  t.deepEqual(cache.cleanupExpired(999), []);
  t.deepEqual(cache.cleanupExpired(1000).map((x) => x.uid), [p.uid]);
  cache.assumePod(p, 'n');
  cache.addPod({ ...p, nodeName: 'n' });
  t.false(cache.isAssumed(p.uid));
  cache.finishBinding(p.uid, 0);
  t.deepEqual(cache.cleanupExpired(10_000), []);
  cache.updateSnapshot(snap);
  t.is(snap.get('n')!.pods.length, 1);
});
