/** KubeSchedulerConfiguration: defaults, multiPoint expansion, weights, args, refusals, profiles by schedulerName. */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { SchedulerCache, Snapshot } from '../../src/scheduler/cache.js';
import {
  buildProfiles, defaultSchedulerConfiguration, loadSchedulerConfiguration, parseSchedulerConfiguration, profileFor, queueOptionsFor,
} from '../../src/scheduler/config.js';
import { Registry, success, unschedulable, type FilterPlugin, type PodInfo, type Profile, type ScorePlugin } from '../../src/scheduler/framework.js';
import { refused, unknownArgKey } from '../../src/scheduler/plugins/args.js';
import { inTreeRegistry } from '../../src/scheduler/plugins/registry.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { node, pod } from './fixtures.js';

const prng = new SeededPrng(42);

function load(yaml: string, registry: Registry = inTreeRegistry()): Map<string, Profile> {
  const r = loadSchedulerConfiguration(yaml, { registry, prng });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value.profiles;
}

function errorsOf(yaml: string, registry: Registry = inTreeRegistry()): string[] {
  const r = loadSchedulerConfiguration(yaml, { registry, prng });
  return r.ok ? [] : [...r.errors];
}

const names = (list: ReadonlyArray<{ name: string }>) => list.map((p) => p.name);

test('the default profile is upstream\'s default plugin set with its weights', (t) => {
  const built = buildProfiles(defaultSchedulerConfiguration(), { prng });
  if (!built.ok) { t.fail(built.errors.join('; ')); return; }
  t.deepEqual([...built.value.keys()], ['default-scheduler']);
  const p = built.value.get('default-scheduler')!.plugins;
  t.deepEqual(names(p.preEnqueue), ['SchedulingGates']);
  t.deepEqual(names(p.queueSort), ['PrioritySort']);
  t.deepEqual(names(p.preFilter), ['NodeName', 'NodeAffinity', 'PodTopologySpread', 'InterPodAffinity']);
  t.deepEqual(names(p.filter), ['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity', 'NodePorts', 'NodeResourcesFit', 'PodTopologySpread', 'InterPodAffinity']);
  t.deepEqual(names(p.postFilter), ['DefaultPreemption']);
  t.deepEqual(p.score.map((s) => `${s.plugin.name}:${s.weight}`), [
    'TaintToleration:3', 'NodeAffinity:2', 'NodeResourcesFit:1', 'PodTopologySpread:2', 'InterPodAffinity:2', 'NodeResourcesBalancedAllocation:1', 'ImageLocality:1',
  ]);
  t.deepEqual(names(p.bind), ['DefaultBinder']);
  const c = defaultSchedulerConfiguration();
  t.is(c.podInitialBackoffMs, 1000);
  t.is(c.podMaxBackoffMs, 10_000);
});

const twoProfiles = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 50
podInitialBackoffSeconds: 2
podMaxBackoffSeconds: 20
leaderElection:
  leaderElect: true
profiles:
  - schedulerName: default-scheduler
    pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources:
              - name: cpu
                weight: 1
  - schedulerName: my-scheduler
    plugins:
      multiPoint:
        enabled:
          - name: ZoneSticky
            weight: 7
      score:
        disabled:
          - name: "*"
        enabled:
          - name: NodeResourcesFit
            weight: 5
          - name: ZoneSticky
      filter:
        disabled:
          - name: TaintToleration
    pluginConfig:
      - name: ZoneSticky
        args:
          zone: z2
`;

/** A user's plugin, one factory: Filter rejects nodes without a zone, Score prefers the configured zone. */
function zoneSticky(): Registry {
  return new Registry([['ZoneSticky', (args) => {
    const bad = unknownArgKey(args, ['zone']);
    if (bad !== undefined) return refused('ZoneSticky', `unknown field ${JSON.stringify(bad)} in args`);
    const zone = args?.['zone'];
    if (typeof zone !== 'string') return refused('ZoneSticky', 'args.zone must be a string');
    const plugin: FilterPlugin & ScorePlugin = {
      name: 'ZoneSticky',
      filter: (_c, _p, n) => (n.labels['zone'] === undefined ? unschedulable('node(s) had no zone') : success),
      score: (_c, _p, n) => (n.labels['zone'] === zone ? 100 : 0),
    };
    return { ok: true, plugin };
  }]]);
}

test('profiles by schedulerName: multiPoint, per-point disabled ("*" too), explicit weights, pluginConfig args', (t) => {
  const profiles = load(twoProfiles, inTreeRegistry().merge(zoneSticky()));
  t.deepEqual([...profiles.keys()], ['default-scheduler', 'my-scheduler']);
  const mine = profiles.get('my-scheduler')!.plugins;
  // "*" disabled at score: only the explicit ones, in order, with the explicit weight winning over multiPoint's.
  t.deepEqual(mine.score.map((s) => `${s.plugin.name}:${s.weight}`), ['NodeResourcesFit:5', 'ZoneSticky:1']);
  t.false(names(mine.filter).includes('TaintToleration'));
  t.is(names(mine.filter).at(-1), 'ZoneSticky');
  // NodeResourcesFit args went to the default profile only: MostAllocated prefers the fuller node.
  const cache = new SchedulerCache(0);
  cache.addNode(node('empty', { labels: { zone: 'z1' } }));
  cache.addNode(node('busy', { labels: { zone: 'z1' } }));
  cache.addPod(pod('x', { cpu: '2', node: 'busy' }));
  const snap = new Snapshot();
  cache.updateSnapshot(snap);
  const r = profiles.get('default-scheduler')!.schedulingCycle({ snapshot: snap, pod: pod('p', { cpu: '1' }), nowMs: 0 });
  t.true(r.kind === 'assumed' && r.nodeName === 'busy');
  const cfg = parseSchedulerConfiguration(twoProfiles);
  t.true(cfg.ok && cfg.value.podInitialBackoffMs === 2000 && cfg.value.podMaxBackoffMs === 20_000 && cfg.value.percentageOfNodesToScore === 50);
});

test('a plugin enabled at one point and in multiPoint keeps the explicit weight and goes first', (t) => {
  const profiles = load(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - plugins:
      score:
        enabled:
          - name: ImageLocality
            weight: 9
`);
  const score = profiles.get('default-scheduler')!.plugins.score;
  t.is(score[0]!.plugin.name, 'ImageLocality');
  t.is(score[0]!.weight, 9);
  t.is(score.filter((s) => s.plugin.name === 'ImageLocality').length, 1);
});

test('refusals name what is wrong: unknown plugin, bad args, unknown field, wrong point, duplicates, queueSort mismatch', (t) => {
  const head = 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n';
  t.deepEqual(errorsOf(`${head}profiles:\n  - plugins:\n      filter:\n        enabled:\n          - name: NoSuchPlugin\n`),
    ['profiles[0].plugins.filter: plugin "NoSuchPlugin" does not exist']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - plugins:\n      multiPoint:\n        enabled:\n          - name: VolumeBinding\n`),
    ['profiles[0].plugins.multiPoint: plugin "VolumeBinding" does not exist (pocketkube has no volumes)']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - pluginConfig:\n      - name: Ghost\n        args: {}\n`),
    ['profiles[0].pluginConfig[0]: plugin "Ghost" does not exist']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - pluginConfig:\n      - name: NodeResourcesFit\n        args:\n          scoringStrategy:\n            type: Cheapest\n`),
    ['profiles[0].pluginConfig: plugin NodeResourcesFit: scoringStrategy.type "Cheapest" is not one of LeastAllocated, MostAllocated, RequestedToCapacityRatio']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - pluginConfig:\n      - name: InterPodAffinity\n        args:\n          hardPodAffinityWeight: 500\n`),
    ['profiles[0].pluginConfig: plugin InterPodAffinity: hardPodAffinityWeight must be in the range [0, 100]']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - pluginConfig:\n      - name: DefaultPreemption\n        args:\n          minCandidateNodesPercentage: 0\n          minCandidateNodesAbsolute: 0\n`),
    ['profiles[0].pluginConfig: plugin DefaultPreemption: minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero']);
  t.deepEqual(errorsOf(`${head}percentageOfNodesToScore: 101\nschedulerNmae: x\n`),
    ['KubeSchedulerConfiguration: unknown field "schedulerNmae"', 'KubeSchedulerConfiguration.percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - plugins:\n      filter:\n        enabled:\n          - name: PrioritySort\n`),
    ['profiles[0].plugins.filter.enabled[0]: plugin "PrioritySort" does not extend filter']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - schedulerName: a\n  - schedulerName: a\n`), ['profiles[1].schedulerName: Duplicate value: "a"']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - plugins:\n      score:\n        enabled:\n          - name: ImageLocality\n            weight: -1\n`),
    ['profiles[0].plugins.score.enabled[0].weight: Invalid value: -1: plugin "ImageLocality" weight must be an integer in the range [0, 100]']);
  t.deepEqual(errorsOf(`${head}profiles:\n  - plugins:\n      bind:\n        disabled:\n          - name: DefaultBinder\n`),
    ['profiles[0].plugins.bind: Invalid value: at least one bind plugin is needed']);
  const otherSort = new Registry([['ReverseSort', () => ({ ok: true, plugin: { name: 'ReverseSort', less: () => false } as never })]]);
  t.deepEqual(errorsOf(`${head}profiles:\n  - schedulerName: a\n  - schedulerName: b\n    plugins:\n      queueSort:\n        disabled:\n          - name: "*"\n        enabled:\n          - name: ReverseSort\n`, inTreeRegistry().merge(otherSort)),
    ['profiles[1].plugins.queueSort: Invalid value: "ReverseSort": queueSort must be the same for all profiles (the first uses "PrioritySort")']);
  t.deepEqual(errorsOf('apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n'),
    ['apiVersion: must be kubescheduler.config.k8s.io/v1, got "kubescheduler.config.k8s.io/v1beta3"']);
  t.regex(errorsOf(': : :\n  - [')[0] ?? '', /invalid YAML/);
});

/**
 * Two schedulers side by side, each with its own queue and only its own profiles, on one shared
 * cluster state: each binds only the pods whose spec.schedulerName it runs.
 */
test('a second scheduler beside the default takes only its own pods, with a user plugin, exactly like a built-in', (t) => {
  const defaultOnly = load('apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n');
  const userOnly = load(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: my-scheduler
    plugins:
      multiPoint:
        enabled:
          - name: ZoneSticky
            weight: 50
    pluginConfig:
      - name: ZoneSticky
        args: { zone: z2 }
`, inTreeRegistry().merge(zoneSticky()));
  const cache = new SchedulerCache(0);
  for (const [n, z] of [['n1', 'z1'], ['n2', 'z2'], ['n3', 'z1'], ['n4', 'z2']] as const) cache.addNode(node(n, { labels: { zone: z } }));
  const pods: PodInfo[] = [];
  for (let i = 0; i < 6; i++) pods.push(pod(`d${i}`));
  for (let i = 0; i < 6; i++) pods.push(pod(`m${i}`, { spec: { schedulerName: 'my-scheduler' } }));
  const bindings = new Map<string, { node: string; by: string }>();
  const snap = new Snapshot();
  for (const [who, profiles] of [['default', defaultOnly], ['mine', userOnly]] as const) {
    const config = defaultSchedulerConfiguration();
    const q = new SchedulingQueue(queueOptionsFor(config, profiles));
    // The shell's informer filter: only pods this scheduler runs a profile for.
    for (const p of pods) if (profileFor(profiles, p) !== undefined) q.add(p, 0);
    for (let info = q.pop(0); info !== undefined; info = q.pop(0)) {
      const profile = profileFor(profiles, info.pod)!;
      cache.updateSnapshot(snap);
      const r = profile.schedulingCycle({ snapshot: snap, pod: info.pod, nowMs: 0, cache });
      if (r.kind !== 'assumed') { t.fail(`${info.pod.name}: ${r.kind}`); continue; }
      const b = profile.bind(r.state, snap, info.pod, r.nodeName);
      t.true(b.ok);
      t.false(bindings.has(info.pod.key));
      bindings.set(info.pod.key, { node: r.nodeName, by: who });
      q.done(info.pod.uid);
    }
  }
  t.is(bindings.size, 12);
  for (const [key, b] of bindings) {
    t.is(b.by, key.startsWith('default/m') ? 'mine' : 'default', key);
    // ZoneSticky's weight 50 outweighs the spreading scores: my-scheduler's pods all land in z2.
    if (b.by === 'mine') t.true(b.node === 'n2' || b.node === 'n4', `${key} on ${b.node}`);
  }
});
