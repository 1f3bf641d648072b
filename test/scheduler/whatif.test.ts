/** What-if runs of the whole core (queue, cache, profiles, plugins) and the explain table. */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { snapshotOf } from '../../src/scheduler/cache.js';
import { buildProfiles, defaultSchedulerConfiguration } from '../../src/scheduler/config.js';
import { DecisionLog, explainTable, renderExplain } from '../../src/scheduler/explain.js';
import { Registry, success, type FrameworkHandle, type PermitPlugin } from '../../src/scheduler/framework.js';
import { whatIf, whatIfManifests, type Outcome } from '../../src/scheduler/whatif.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { node, pod, podObject } from './fixtures.js';

const taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

function run(nodes: KubeObject[], pods: KubeObject[], extra: Partial<Parameters<typeof whatIf>[0]> = {}) {
  const r = whatIf({ nodes, pods, ...extra });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

const show = (o: Outcome | undefined): string => (o === undefined ? 'absent' : o.kind === 'bound' ? `bound ${o.nodeName}` : o.kind === 'preempted' ? `preempted by ${o.byPod}` : `${o.kind}: ${o.message}`);

test('pods with requests fill the nodes; the rest stay pending with upstream\'s message; the master takes none', (t) => {
  const nodes = [node('master', { taints: [taint] }), node('w1', { cpu: '2' }), node('w2', { cpu: '2' })];
  const pods = Array.from({ length: 5 }, (_v, i) => podObject(`p${i}`, { cpu: '1' }));
  const r = run(nodes, pods);
  const shown = [...r.outcomes.values()].map(show);
  t.is(shown.filter((s) => s === 'bound w1').length, 2);
  t.is(shown.filter((s) => s === 'bound w2').length, 2);
  t.deepEqual(shown.filter((s) => s.startsWith('pending')), [
    'pending: 0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. '
    + 'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
  ]);
  // No event can help it, so it waits in the unschedulable pool (5 min) beyond the run's 60 s: one attempt each.
  t.is(r.decisions.length, 5);
});

test('a high-priority pod preempts a low one and binds once the victim is gone', (t) => {
  const nodes = [node('w1', { cpu: '2' })];
  const pods = [podObject('low', { cpu: '2', node: 'w1' }), podObject('vip', { cpu: '2', priority: 1000 })];
  const r = run(nodes, pods);
  t.is(show(r.outcomes.get('default/low')), 'preempted by default/vip');
  t.is(show(r.outcomes.get('default/vip')), 'bound w1');
  const vip = r.outcomes.get('default/vip');
  // Victim deleted at 0 ms; the preemptor retries after its 1 s backoff.
  t.true(vip?.kind === 'bound' && vip.atMs === 1000);
});

test('required anti-affinity spreads replicas one per node; a cordoned node takes none', (t) => {
  const nodes = [node('a'), node('b'), node('c'), node('d', { unschedulable: true })];
  const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  const pods = Array.from({ length: 4 }, (_v, i) => podObject(`web-${i}`, { labels: { app: 'web' }, spec: anti }));
  const r = run(nodes, pods);
  const bound = [...r.outcomes.values()].filter((o) => o.kind === 'bound').map((o) => (o.kind === 'bound' ? o.nodeName : '')).sort();
  t.deepEqual(bound, ['a', 'b', 'c']);
  t.deepEqual([...r.outcomes.values()].filter((o) => o.kind === 'pending').map(show), [
    "pending: 0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match pod anti-affinity rules. "
    + 'preemption: 0/4 nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.',
  ]);
});

test('a seed replays every decision; pods of a scheduler nobody runs are ignored', (t) => {
  const nodes = Array.from({ length: 8 }, (_v, i) => node(`n${i}`));
  const pods = [...Array.from({ length: 30 }, (_v, i) => podObject(`p${i}`, { cpu: '100m' })), podObject('other', { spec: { schedulerName: 'nobody' } })];
  const placements = (seed: number) => [...run(nodes, pods, { seed }).outcomes].map(([k, o]) => `${k}=${show(o)}`);
  t.deepEqual(placements(5), placements(5));
  t.notDeepEqual(placements(5), placements(6));
  t.true(placements(5).includes('default/other=ignored: no profile for schedulerName "nobody"'));
});

test('a user Permit plugin gangs pods in a what-if run: a full gang binds together, a partial one times out', (t) => {
  const gang = (handle: FrameworkHandle): PermitPlugin => ({
    name: 'Gang',
    permit: (_c, p) => {
      const g = p.labels['gang'];
      if (g === undefined) return { status: success };
      const size = Number(p.labels['gang-size'] ?? '1');
      const others = handle.waitingPods.list().filter((w) => w.pod.labels['gang'] === g);
      if (others.length + 1 < size) return { status: { code: 'Wait', reasons: [] }, timeoutMs: 2000 };
      for (const w of others) w.allow('Gang');
      return { status: success };
    },
  });
  const registry = new Registry([['Gang', (_args, handle) => ({ ok: true, plugin: gang(handle) })]]);
  const config = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n  - plugins:\n      permit:\n        enabled:\n          - name: Gang\n';
  const pods = [
    ...[0, 1, 2].map((i) => podObject(`full-${i}`, { labels: { gang: 'full', 'gang-size': '3' } })),
    ...[0, 1].map((i) => podObject(`part-${i}`, { labels: { gang: 'part', 'gang-size': '3' } })),
  ];
  const r = run([node('a'), node('b')], pods, { config, registry, maxSimulatedMs: 5000 });
  for (let i = 0; i < 3; i++) t.is(r.outcomes.get(`default/full-${i}`)?.kind, 'bound');
  for (let i = 0; i < 2; i++) t.is(show(r.outcomes.get(`default/part-${i}`)), 'pending: rejected due to timeout after waiting 2000ms at plugin Gang');
});

test('explain: nodes as rows, plugins as columns, the chosen node first; failures name their plugin', (t) => {
  const built = buildProfiles(defaultSchedulerConfiguration(), { prng: new SeededPrng(1) });
  if (!built.ok) { t.fail(); return; }
  const profile = built.value.get('default-scheduler')!;
  const snap = snapshotOf([node('big', { cpu: '8' }), node('small', { cpu: '2' }), node('tiny', { cpu: '500m' }), node('master', { taints: [taint] })], []);
  const r = profile.schedulingCycle({ snapshot: snap, pod: pod('p', { cpu: '1' }), nowMs: 0 });
  const table = explainTable(r.decision);
  t.deepEqual(table.columns.slice(0, 3), ['NODE', 'NodeUnschedulable', 'NodeName']);
  t.true(table.columns.includes('NodeResourcesFit(x1)') && table.columns.includes('TaintToleration(x3)') && table.columns.at(-1) === 'TOTAL');
  t.is(table.rows[0]![0], '* big');
  const tiny = table.rows.find((row) => row[0] === 'tiny')!;
  t.is(tiny[table.columns.indexOf('NodeResourcesFit')], 'no: Insufficient cpu');
  t.is(tiny[table.columns.indexOf('TaintToleration')], 'ok');
  // Filters whose PreFilter skipped (no spread constraints, no affinity) are not columns.
  t.false(table.columns.includes('PodTopologySpread') || table.columns.includes('InterPodAffinity'));
  const master = table.rows.find((row) => row[0] === 'master')!;
  t.is(master[table.columns.indexOf('TaintToleration')], 'unresolvable: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }');
  t.is(master[table.columns.indexOf('NodeAffinity')], '');
  t.regex(table.summary, /^pod default\/p \(default-scheduler\): -> big; 2 feasible of 4 evaluated, 4 nodes/);
  const text = renderExplain(r.decision);
  t.is(text.split('\n').length, 2 + 4);
  t.regex(text.split('\n')[2]!, /^\* big +ok +ok/);
});

test('the decision log keeps the last N and each pending pod\'s latest attempt, bounded', (t) => {
  const log = new DecisionLog(3, 2);
  const d = (key: string, uid: string, n: number) => ({ podKey: key, uid, schedulerName: 's', nowMs: n, numAllNodes: 0, preFilter: [], filtered: new Map(), feasible: [] });
  log.record(d('ns/a', 'a', 1)); log.record(d('ns/b', 'b', 2)); log.record(d('ns/a', 'a', 3)); log.record(d('ns/c', 'c', 4));
  t.deepEqual(log.recent().map((x) => x.nowMs), [2, 3, 4]);
  t.is(log.latest('ns/a')?.nowMs, 3);
  // Two pods kept at most: b (the oldest) was dropped from the pending set, but is still among the recent.
  t.deepEqual(log.pending().map((x) => x.podKey), ['ns/a', 'ns/c']);
  t.is(log.latest('ns/b')?.nowMs, 2);
  log.forget('a');
  t.is(log.latest('ns/a')?.nowMs, 3);
  t.deepEqual(log.pending().map((x) => x.podKey), ['ns/c']);
});

test('what-if from one YAML stream: a KubeSchedulerConfiguration, nodes and hand-written pods without uids', (t) => {
  const podYaml = (n: string) => `---
apiVersion: v1
kind: Pod
metadata: { name: ${n}, namespace: default }
spec:
  containers: [{ name: c, image: nginx, resources: { requests: { cpu: 500m, memory: 256Mi } } }]
`;
  const nodeYaml = (n: string) => `---
apiVersion: v1
kind: Node
metadata: { name: ${n}, labels: { kubernetes.io/hostname: ${n} } }
status: { allocatable: { cpu: "4", memory: 8Gi, pods: "110" } }
`;
  const config = `---
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - pluginConfig:
      - name: NodeResourcesFit
        args: { scoringStrategy: { type: MostAllocated } }
      - name: NodeResourcesBalancedAllocation
        args: { resources: [{ name: cpu, weight: 1 }] }
`;
  const text = config + nodeYaml('n1') + nodeYaml('n2') + ['a', 'b', 'c', 'd'].map(podYaml).join('');
  const r = whatIfManifests(text, { seed: 3 });
  if (!r.ok) { t.fail(r.errors.join('; ')); return; }
  // MostAllocated packs: once the first pod lands, every other follows it to the same node.
  const nodesUsed = new Set([...r.value.outcomes.values()].map((o) => (o.kind === 'bound' ? o.nodeName : o.kind)));
  t.is(nodesUsed.size, 1);
  t.is(r.value.outcomes.size, 4);
  const bad = whatIfManifests('apiVersion: v1\nkind: Service\nmetadata: { name: s }\n');
  t.deepEqual(bad.ok ? [] : bad.errors, ['document 0: kind Service is not used by a what-if run (Node, Pod, Namespace, PodDisruptionBudget, KubeSchedulerConfiguration)']);
  const badConfig = whatIfManifests('apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n  - plugins:\n      score:\n        enabled: [{ name: Nope }]\n');
  t.deepEqual(badConfig.ok ? [] : badConfig.errors, ['profiles[0].plugins.score: plugin "Nope" does not exist']);
});
