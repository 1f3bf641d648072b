/**
 * scheduler benchmark (issue 11), one case per exported function, each returning a CaseResult;
 * `run` prints each case's human lines and, last, one JSON line assembled from every case's
 * metrics (so an end-to-end case is one more function in `cases`).
 *
 * Core cases: the real queue, cache, snapshot, profile and plugins from src/scheduler, driven in
 * one loop with an in-memory binder (a binding lands at once: the cache confirms the assumed pod
 * and the queue sees the assigned-pod event, as the shell would on the informer's update). All
 * pods are queued first, then scheduled one cycle after another, like scheduler_perf's
 * createPods + measure.
 * - core_pods_per_s_1000_nodes: N pods / the time from the first queue add to the last binding,
 *   default plugins (tools/bench/scheduler-workload.ts: 1,000 nodes × 10,000 pods by default);
 * - p99_ms_per_pod: p99 of one pod's scheduling latency in that run, from its pop off activeQ
 *   (the start of its cycle) to its binding (snapshot update, cycle, assume, bind, confirm). The
 *   queue-add-to-bound latency is printed too; with every pod queued up front it is the backlog;
 * - core_pods_per_s_1000_nodes_affinity: the same with PodTopologySpread (zone, DoNotSchedule;
 *   hostname, ScheduleAnyway) and required InterPodAffinity anti-affinity (hostname, groups of
 *   100) on every pod — scheduler_perf's TopologySpreading / SchedulingPodAntiAffinity.
 * Each run checks its placements (every pod bound, no node over its allocatable, constraints
 * kept) and fails rather than report a figure for a wrong schedule.
 * End to end (`endToEnd`, case e2e): see its comment; pods_per_s_1000_nodes and
 * scheduler_failover_p99_ms (p50 too).
 * Args: --nodes N (1000) --pods M (10000) --cases core,affinity,e2e --kills K (10) --no-warmup.
 */
import type { KubeObject } from '../../src/api/index.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { SchedulerCache, Snapshot } from '../../src/scheduler/cache.js';
import { buildProfiles, defaultSchedulerConfiguration, profileFor, queueOptionsFor } from '../../src/scheduler/config.js';
import { WaitingPods, type PodInfo } from '../../src/scheduler/framework.js';
import { newPodInfo } from '../../src/scheduler/podinfo.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';
import { benchHostnameKey, benchWorkload, benchZoneKey, type WorkloadOptions } from './scheduler-workload.js';
import { printResult, quantile, round, sortedCopy, numberArg } from './stats.js';
import { failoverTrials, until } from './failover.js';
import { Cluster } from '../../src/cluster/index.js';
import { isAlreadyExists, KubeClient } from '../../src/client/index.js';
import { sleep } from '../../src/primitives/clock.js';
import { Informer } from '../../src/client/informer.js';
import { RealClock, wallClock } from '../../src/runtime/real-clock.js';

const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;

export interface CaseResult {
  readonly name: string;
  readonly lines: readonly string[];
  readonly metrics: Readonly<Record<string, number>>;
}

export interface CoreRun {
  readonly pods: number;
  readonly nodes: number;
  readonly elapsedMs: number;
  readonly podsPerS: number;
  /** Pop to bound, per pod, sorted. */
  readonly cycleMs: readonly number[];
  /** Queue add to bound, per pod, sorted. */
  readonly queuedMs: readonly number[];
  readonly placements: ReadonlyMap<string, string>;
  readonly attempts: number;
}


/** Schedules `workload` with the default configuration and an in-memory binder. */
export function runCore(nodes: readonly KubeObject[], pods: readonly KubeObject[], seed = 1): CoreRun {
  const config = defaultSchedulerConfiguration();
  const built = buildProfiles(config, { prng: new SeededPrng(seed), waitingPods: new WaitingPods() });
  if (!built.ok) throw new Error(`scheduler bench: ${built.errors.join('; ')}`);
  const profiles = built.value;
  const queue = new SchedulingQueue(queueOptionsFor(config, profiles));
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  const snap = new Snapshot();
  const addedAt = new Map<string, number>();
  const cycleMs: number[] = [];
  const queuedMs: number[] = [];
  const placements = new Map<string, string>();
  let attempts = 0;

  const began = performance.now();
  for (const obj of pods) {
    const info = newPodInfo(obj);
    addedAt.set(info.uid, performance.now());
    queue.add(info, performance.now());
  }
  for (;;) {
    const popped = performance.now();
    const q = queue.pop(popped);
    if (q === undefined) break;
    attempts++;
    const profile = profileFor(profiles, q.pod);
    if (profile === undefined) throw new Error(`scheduler bench: no profile for ${q.pod.key}`);
    cache.updateSnapshot(snap);
    const r = profile.schedulingCycle({ snapshot: snap, pod: q.pod, nowMs: popped, cache, nominatedPods: (n) => queue.nominatedPodsForNode(n) });
    if (r.kind !== 'assumed') throw new Error(`scheduler bench: ${q.pod.key} was not scheduled (${r.kind}${'message' in r ? `: ${r.message}` : ''})`);
    const b = profile.bind(r.state, snap, q.pod, r.nodeName);
    if (!b.ok) throw new Error(`scheduler bench: binding ${q.pod.key} failed: ${b.status.reasons.join(', ')}`);
    // The in-memory binder: the binding lands and the informer's update confirms the assumed pod.
    const boundObj: KubeObject = { ...q.pod.pod, spec: { ...(q.pod.pod['spec'] as Record<string, unknown>), nodeName: r.nodeName } };
    const bound: PodInfo = { ...q.pod, pod: boundObj, nodeName: r.nodeName };
    cache.addPod(bound);
    queue.done(q.pod.uid);
    profile.postBind(r.state, snap, q.pod, r.nodeName);
    queue.onEvent({ kind: 'PodAdd', obj: boundObj }, popped);
    const now = performance.now();
    cycleMs.push(now - popped);
    queuedMs.push(now - addedAt.get(q.pod.uid)!);
    placements.set(q.pod.key, r.nodeName);
  }
  const elapsedMs = performance.now() - began;
  return {
    pods: pods.length, nodes: nodes.length, elapsedMs, podsPerS: (pods.length * 1000) / elapsedMs,
    cycleMs: sortedCopy(cycleMs), queuedMs: sortedCopy(queuedMs), placements, attempts,
  };
}

/** Throws unless every pod is bound within its node's allocatable and (heavy case) its constraints hold. */
export function checkPlacements(o: WorkloadOptions, nodes: readonly KubeObject[], pods: readonly KubeObject[], placements: ReadonlyMap<string, string>): void {
  const byNode = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const key = `${p.metadata?.namespace}/${p.metadata?.name}`;
    const n = placements.get(key);
    if (n === undefined) throw new Error(`scheduler bench: ${key} not bound`);
    let list = byNode.get(n);
    if (list === undefined) byNode.set(n, list = []);
    list.push(p);
  }
  const nodeByName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const zoneCounts = new Map<string, number>();
  for (const [name, list] of byNode) {
    const node = nodeByName.get(name);
    if (node === undefined) throw new Error(`scheduler bench: bound to unknown node ${name}`);
    // 100m / 500Mi each on 4 CPU / 32Gi / 110 pods: at most 40 pods fit by CPU.
    if (list.length > 40) throw new Error(`scheduler bench: node ${name} over-committed with ${list.length} pods`);
    const zone = node.metadata?.labels?.[benchZoneKey] ?? '';
    zoneCounts.set(zone, (zoneCounts.get(zone) ?? 0) + list.length);
    if (o.constraints === 'spreadAndAntiAffinity') {
      const groups = new Set<string>();
      for (const p of list) {
        const g = p.metadata?.labels?.['group'] ?? '';
        if (groups.has(g)) throw new Error(`scheduler bench: two pods of anti-affinity group ${g} on ${name} (${node.metadata?.labels?.[benchHostnameKey]})`);
        groups.add(g);
      }
    }
  }
  if (o.constraints === 'spreadAndAntiAffinity') {
    const zones = new Set(nodes.map((n) => n.metadata?.labels?.[benchZoneKey] ?? ''));
    const counts = [...zones].map((z) => zoneCounts.get(z) ?? 0);
    if (Math.max(...counts) - Math.min(...counts) > 1) throw new Error(`scheduler bench: zone skew above maxSkew 1: ${counts.join(' ')}`);
  }
}

function coreLines(label: string, r: CoreRun): string[] {
  return [
    `${label}: ${r.pods} pods on ${r.nodes} nodes in ${round(r.elapsedMs / 1000, 2)} s: ${round(r.podsPerS)} pods/s (${r.attempts} cycles)`,
    `  per pod, pop to bound: p50 ${round(quantile(r.cycleMs, 0.5), 3)} ms, p99 ${round(quantile(r.cycleMs, 0.99), 3)} ms, max ${round(r.cycleMs.at(-1) ?? 0, 3)} ms`,
    `  per pod, queue add to bound (all queued up front, so mostly backlog): p50 ${round(quantile(r.queuedMs, 0.5))} ms, p99 ${round(quantile(r.queuedMs, 0.99))} ms`,
  ];
}

function timedCase(o: WorkloadOptions, warmup: boolean): CoreRun {
  if (warmup) {
    // A short run of the same shape first, so the measured run is not the JIT's first pass.
    const small = { ...o, nodes: Math.max(1, Math.floor(o.nodes / 5)), pods: Math.floor(o.pods / 10), groupSize: Math.min(o.groupSize ?? 100, Math.max(1, Math.floor(o.nodes / 5))) };
    const w = benchWorkload(small);
    runCore(w.nodes, w.pods);
  }
  const w = benchWorkload(o);
  const r = runCore(w.nodes, w.pods);
  checkPlacements(o, w.nodes, w.pods, r.placements);
  return r;
}

const perThousandNodes = (name: string, nodes: number): string => (nodes === 1000 ? name : name.replace('1000_nodes', `${nodes}_nodes`));

/** Default plugins, no constraints. */
export function coreDefault(o: { nodes: number; pods: number; warmup: boolean }): CaseResult {
  const r = timedCase({ nodes: o.nodes, pods: o.pods, constraints: 'none' }, o.warmup);
  return {
    name: 'core, default plugins',
    lines: coreLines('core, default plugins', r),
    metrics: { [perThousandNodes('core_pods_per_s_1000_nodes', o.nodes)]: round(r.podsPerS), p99_ms_per_pod: round(quantile(r.cycleMs, 0.99), 3) },
  };
}

/** PodTopologySpread + required anti-affinity on every pod. */
export function coreAffinity(o: { nodes: number; pods: number; warmup: boolean }): CaseResult {
  const r = timedCase({ nodes: o.nodes, pods: o.pods, constraints: 'spreadAndAntiAffinity', groupSize: Math.min(100, o.nodes) }, o.warmup);
  return {
    name: 'core, topology spread + anti-affinity',
    lines: coreLines('core, PodTopologySpread + InterPodAffinity on every pod', r),
    metrics: { [perThousandNodes('core_pods_per_s_1000_nodes_affinity', o.nodes)]: round(r.podsPerS), p99_ms_per_pod_affinity: round(quantile(r.cycleMs, 0.99), 3) },
  };
}


const e2eNetwork = '127.77.247';

/**
 * End to end on the HA control plane (3 masters, a scheduler on each, one active; no
 * controller-manager, so nothing but the scheduler writes pods): N Node objects (cordoned), M pods
 * created and rejected once each (NodeUnschedulable: they wait in the unschedulable pool), then
 * every node uncordoned at once. pods_per_s_<N>_nodes = M / the time from the first uncordon to the
 * last binding seen by a watch. Then scheduler_failover_p99_ms over `kills` kills of the active
 * scheduler's master (restarted between kills), with the M pods in every instance's cache.
 */
export async function endToEnd(o: { nodes: number; pods: number; kills: number }): Promise<CaseResult> {
  const lines: string[] = [];
  const say = (line: string) => { console.log(line); lines.push(line); };
  const cluster = await Cluster.start({ apiserverNetwork: e2eNetwork, frontDoor: { host: `${e2eNetwork}.100`, port: 0 }, seed: 7, controllerManager: false });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 5_000 }), clock: new RealClock() });
  const boundAtMs = new Map<string, number>();
  const pods = new Informer<KubeObject>({ client, resource: { apiVersion: 'v1', kind: 'Pod' }, namespace: 'default' });
  const seen = (p: KubeObject) => {
    if ((p['spec'] as { nodeName?: string }).nodeName !== undefined && !boundAtMs.has(p.metadata!.name!)) boundAtMs.set(p.metadata!.name!, performance.now());
  };
  pods.addEventHandler({ onAdd: seen, onUpdate: (_old, p) => seen(p) });
  try {
    const w = benchWorkload({ nodes: o.nodes, pods: o.pods, constraints: 'none' });
    await inParallel(w.nodes, 64, (n) => withRetries(() => client.create(nodesRef, { ...n, metadata: { name: n.metadata!.name!, labels: n.metadata?.labels ?? {} }, spec: { unschedulable: true } })));
    pods.start();
    await pods.waitForSync();
    const created0 = performance.now();
    await inParallel(w.pods, 64, (p) => withRetries(() => client.create({ apiVersion: 'v1', kind: 'Pod' }, { ...p, metadata: { name: p.metadata!.name!, namespace: 'default', labels: p.metadata?.labels ?? {} } })));
    say(`e2e: ${o.nodes} cordoned Node objects, ${o.pods} pods created in ${round((performance.now() - created0) / 1000, 1)} s`);
    let lastReportMs = performance.now();
    await until('every pod tried once', async () => {
      const all = await cluster.schedulerStatus(500);
      if (performance.now() - lastReportMs > 10_000) {
        lastReportMs = performance.now();
        console.log(`  waiting for every pod's first attempt: ${all.map((s) => `${s.identity}${s.active ? ' (active)' : ''} ${JSON.stringify(s.counts)} queue ${JSON.stringify(s.queue)}`).join('; ')}`);
      }
      return (all.find((s) => s.active)?.counts.attempts ?? 0) >= o.pods ? true : undefined;
    }, 180_000, 200);
    const start = performance.now();
    await inParallel(w.nodes, 64, (n) => withRetries(() => client.patch(nodesRef, undefined, n.metadata!.name!, { spec: { unschedulable: null } }, { type: 'merge' })));
    await until(`${o.pods} pods bound`, () => (boundAtMs.size >= o.pods ? true : undefined), 600_000, 50);
    const times = [...boundAtMs.values()];
    const lastMs = Math.max(...times) - start;
    const firstMs = Math.min(...times) - start;
    const podsPerS = o.pods / (lastMs / 1000);
    const active = (await cluster.schedulerStatus(500)).find((s) => s.active);
    say(`e2e: all ${o.pods} bound ${round(lastMs / 1000, 2)} s after the first uncordon (first binding after ${Math.round(firstMs)} ms): ${round(podsPerS)} pods/s through the apiservers; active scheduler counts ${JSON.stringify(active?.counts)}`);
    const failovers = await failoverTrials(cluster, client, {
      name: 'scheduler',
      instances: async (timeoutMs) => (await cluster.schedulerStatus(timeoutMs)).map((s) => ({ identity: s.identity, active: s.active, lastTermStartMs: s.intervals.intervals.at(-1)?.startMs })),
    }, o.kills);
    const sorted = sortedCopy(failovers);
    say(`scheduler failover over ${o.kills} kills: p50 ${Math.round(quantile(sorted, 0.5))} ms, p99 ${Math.round(quantile(sorted, 0.99))} ms, max ${Math.round(sorted.at(-1)!)} ms`);
    return {
      name: 'end to end', lines: [],
      metrics: {
        [perThousandNodes('pods_per_s_1000_nodes', o.nodes)]: round(podsPerS),
        scheduler_failover_p50_ms: Math.round(quantile(sorted, 0.5)),
        scheduler_failover_p99_ms: Math.round(quantile(sorted, 0.99)),
      },
    };
  } finally {
    pods.stop();
    await cluster.stop();
  }
}

/** A write that timed out may have happened: retried (creates and merge patches are idempotent here), AlreadyExists counts as done. */
async function withRetries(create: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await create();
      return;
    } catch (error) {
      if (isAlreadyExists(error)) return;
      if (attempt >= 5) throw error;
      await sleep(wallClock, 200 * attempt);
    }
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  }));
}

type CaseFn = (o: { nodes: number; pods: number; warmup: boolean; kills: number }) => CaseResult | Promise<CaseResult>;
const cases: Record<string, CaseFn> = { core: coreDefault, affinity: coreAffinity, e2e: endToEnd };

export async function run(args: string[]): Promise<void> {
  const nodes = Math.floor(numberArg(args, 'nodes', 1000));
  const pods = Math.floor(numberArg(args, 'pods', 10_000));
  const warmup = !args.includes('--no-warmup');
  const kills = Math.floor(numberArg(args, 'kills', 10));
  const ci = args.indexOf('--cases');
  const names = ci >= 0 ? (args[ci + 1] ?? '').split(',').filter((s) => s !== '') : Object.keys(cases);
  const unknown = names.filter((n) => cases[n] === undefined);
  if (unknown.length > 0) throw new Error(`scheduler bench: unknown case(s) ${unknown.join(', ')}; known: ${Object.keys(cases).join(', ')}`);
  const results: CaseResult[] = [];
  for (const n of names) {
    const r = await cases[n]!({ nodes, pods, warmup, kills });
    for (const line of r.lines) console.log(line);
    results.push(r);
  }
  const metrics: Record<string, number> = {};
  for (const r of results) Object.assign(metrics, r.metrics);
  printResult('scheduler', { nodes, pods, ...metrics });
}
