/**
 * What-if: the scheduler core over given nodes and pods with a given configuration, no cluster.
 * The real queue, cache, profiles and plugins run on simulated time with an in-memory binder:
 * bindings land at once, preemption victims are deleted at once, Permit waits and backoffs pass
 * as simulated time. Returns placements and every decision (the same records `explain` prints),
 * reproducibly from the seed — for testing a policy before running it.
 */
import { decodeManifests, type KubeObject } from '../api/index.js';
import { SeededPrng } from '../primitives/prng.js';
import { SchedulerCache, Snapshot } from './cache.js';
import {
  buildProfiles, defaultSchedulerConfiguration, parseSchedulerConfiguration, profileFor, queueOptionsFor, schedulerConfigurationFrom,
  type ConfigResult, type SchedulerConfiguration,
} from './config.js';
import { WaitingPods, type CycleState, type Decision, type PdbInfo, type Profile, type Registry } from './framework.js';
import { newPodInfo, pdbInfo } from './podinfo.js';
import { inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';

export interface WhatIfInput {
  readonly nodes: readonly KubeObject[];
  /** Pods with spec.nodeName are already running there; the others are scheduled. */
  readonly pods: readonly KubeObject[];
  /** KubeSchedulerConfiguration YAML, or parsed; the default configuration when absent. */
  readonly config?: string | SchedulerConfiguration;
  /** Out-of-tree plugins, merged with the built-in ones (as the scheduler engine does). */
  readonly registry?: Registry;
  readonly seed?: number;
  readonly namespaces?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly pdbs?: readonly PdbInfo[];
  /** Simulated time after which pods still pending stay pending (default 60 s). */
  readonly maxSimulatedMs?: number;
}

export type Outcome =
  | { readonly kind: 'bound'; readonly nodeName: string; readonly atMs: number }
  | { readonly kind: 'pending'; readonly message: string }
  | { readonly kind: 'preempted'; readonly byPod: string; readonly atMs: number }
  | { readonly kind: 'ignored'; readonly message: string };

export interface WhatIfResult {
  /** Every input pod not already bound, and every evicted one, by "namespace/name". */
  readonly outcomes: ReadonlyMap<string, Outcome>;
  readonly decisions: readonly Decision[];
  readonly simulatedMs: number;
}

interface Waiting { readonly info: QueuedPodInfo; readonly profile: Profile; readonly state: CycleState; readonly nodeName: string }

export function whatIf(input: WhatIfInput): ConfigResult<WhatIfResult> {
  let config: SchedulerConfiguration;
  if (input.config === undefined) config = defaultSchedulerConfiguration();
  else if (typeof input.config === 'string') {
    const c = parseSchedulerConfiguration(input.config);
    if (!c.ok) return c;
    config = c.value;
  } else config = input.config;
  const waitingPods = new WaitingPods();
  const registry = input.registry === undefined ? inTreeRegistry() : inTreeRegistry().merge(input.registry);
  const built = buildProfiles(config, { prng: new SeededPrng(input.seed ?? 1), waitingPods, registry });
  if (!built.ok) return built;
  const profiles = built.value;
  const queue = new SchedulingQueue(queueOptionsFor(config, profiles));
  const cache = new SchedulerCache(0);
  for (const n of input.nodes) cache.addNode(n);
  for (const [ns, labels] of input.namespaces ?? []) cache.setNamespace(ns, labels);
  const outcomes = new Map<string, Outcome>();
  const decisions: Decision[] = [];
  let now = 0;
  for (const [i, raw] of input.pods.entries()) {
    // Manifests written by hand have no uid: give each its own, since the cache keys pods by uid.
    const obj: KubeObject = raw.metadata?.uid === undefined || raw.metadata.uid === '' ? { ...raw, metadata: { ...raw.metadata, uid: `whatif-${i}` } } : raw;
    const p = newPodInfo(obj);
    if (p.nodeName !== '') { cache.addPod(p); continue; }
    if (profileFor(profiles, p) === undefined) { outcomes.set(p.key, { kind: 'ignored', message: `no profile for schedulerName "${p.schedulerName}"` }); continue; }
    outcomes.set(p.key, { kind: 'pending', message: 'never attempted' });
    queue.add(p, now);
  }
  const snap = new Snapshot();
  const waiting = new Map<string, Waiting>();
  const maxMs = input.maxSimulatedMs ?? 60_000;

  const bind = (info: QueuedPodInfo, profile: Profile, state: CycleState, nodeName: string) => {
    const pod = info.pod;
    const b = profile.bind(state, snap, pod, nodeName);
    if (!b.ok) {
      profile.unreserve(state, pod, nodeName, snap);
      cache.forgetPod(pod.uid);
      outcomes.set(pod.key, { kind: 'pending', message: `binding failed: ${b.status.reasons.join(', ')}` });
      info.unschedulablePlugins = new Set();
      queue.addUnschedulable(info, now);
      return;
    }
    const boundObj: KubeObject = { ...pod.pod, spec: { ...(pod.pod['spec'] as Record<string, unknown>), nodeName } };
    cache.addPod(newPodInfo(boundObj));
    queue.done(pod.uid);
    queue.clearNomination(pod.uid);
    profile.postBind(state, snap, pod, nodeName);
    outcomes.set(pod.key, { kind: 'bound', nodeName, atMs: now });
    queue.onEvent({ kind: 'PodAdd', obj: boundObj }, now);
  };

  const settlePermits = () => {
    for (const o of waitingPods.drain()) {
      const w = waiting.get(o.pod.uid);
      if (w === undefined) continue;
      waiting.delete(o.pod.uid);
      if (o.kind === 'allowed') { bind(w.info, w.profile, w.state, w.nodeName); continue; }
      w.profile.unreserve(w.state, w.info.pod, w.nodeName, snap);
      cache.forgetPod(w.info.pod.uid);
      outcomes.set(w.info.pod.key, { kind: 'pending', message: o.status.reasons.join(', ') });
      w.info.unschedulablePlugins = new Set(o.status.plugin === undefined ? [] : [o.status.plugin]);
      queue.addUnschedulable(w.info, now);
    }
  };

  // Each pod gets a bounded number of attempts: backoff and the requeue rules end the loop anyway.
  const maxCycles = 50 * (outcomes.size + 1);
  for (let cycles = 0; cycles < maxCycles;) {
    const info = queue.pop(now);
    if (info === undefined) {
      const wakes = [queue.nextWakeMs(), waitingPods.nextDeadlineMs()].filter((t): t is number => t !== undefined);
      if (wakes.length === 0) break;
      const wake = Math.max(now, Math.min(...wakes));
      if (wake > maxMs) break;
      now = wake;
      queue.flush(now);
      waitingPods.expire(now);
      settlePermits();
      continue;
    }
    cycles++;
    const profile = profileFor(profiles, info.pod)!;
    cache.updateSnapshot(snap);
    const r = profile.schedulingCycle({
      snapshot: snap, pod: info.pod, nowMs: now, cache,
      nominatedPods: (n) => queue.nominatedPodsForNode(n), ...(input.pdbs === undefined ? {} : { pdbs: input.pdbs }),
    });
    decisions.push(r.decision);
    switch (r.kind) {
      case 'assumed': bind(info, profile, r.state, r.nodeName); break;
      case 'waiting':
        outcomes.set(info.pod.key, { kind: 'pending', message: `waiting at Permit on ${r.nodeName}` });
        waiting.set(info.pod.uid, { info, profile, state: r.state, nodeName: r.nodeName });
        break;
      case 'unschedulable':
        outcomes.set(info.pod.key, { kind: 'pending', message: r.message });
        if (r.nominatedNodeName !== undefined) queue.nominate(info.pod, r.nominatedNodeName);
        for (const v of r.victims) {
          cache.removePod(v.uid);
          outcomes.set(v.key, { kind: 'preempted', byPod: info.pod.key, atMs: now });
          queue.onEvent({ kind: 'PodDelete', old: v.pod }, now);
        }
        info.unschedulablePlugins = new Set(r.unschedulablePlugins);
        queue.addUnschedulable(info, now);
        break;
      case 'error':
        outcomes.set(info.pod.key, { kind: 'pending', message: r.message });
        info.unschedulablePlugins = new Set();
        queue.addUnschedulable(info, now);
        break;
      default: { const never: never = r; throw new Error(`cycle result ${JSON.stringify(never)}`); }
    }
    settlePermits();
  }
  return { ok: true, value: { outcomes, decisions, simulatedMs: now } };
}

/**
 * What-if from a manifest stream (what `pocketkube` reads from YAML files): Nodes, Pods,
 * Namespaces (their labels, for namespaceSelector), PodDisruptionBudgets (selector and
 * status.disruptionsAllowed) and at most one KubeSchedulerConfiguration; other kinds are refused.
 */
export function whatIfManifests(text: string, opts: { readonly registry?: Registry; readonly seed?: number; readonly maxSimulatedMs?: number } = {}): ConfigResult<WhatIfResult> {
  const decoded = decodeManifests(text);
  if (!decoded.ok) return { ok: false, errors: [decoded.error.message] };
  const nodes: KubeObject[] = []; const pods: KubeObject[] = []; const pdbs: PdbInfo[] = [];
  const namespaces = new Map<string, Readonly<Record<string, string>>>();
  let config: SchedulerConfiguration | undefined;
  const errors: string[] = [];
  decoded.objects.forEach((o: KubeObject, i) => {
    switch (o.kind) {
      case 'Node': nodes.push(o); break;
      case 'Pod': pods.push(o); break;
      case 'Namespace': namespaces.set(o.metadata?.name ?? '', o.metadata?.labels ?? {}); break;
      case 'PodDisruptionBudget':
        pdbs.push(pdbInfo(o));
        break;
      case 'KubeSchedulerConfiguration': {
        if (config !== undefined) { errors.push(`document ${i}: a second KubeSchedulerConfiguration`); break; }
        const c = schedulerConfigurationFrom(o);
        if (c.ok) config = c.value; else errors.push(...c.errors);
        break;
      }
      default: errors.push(`document ${i}: kind ${String(o.kind)} is not used by a what-if run (Node, Pod, Namespace, PodDisruptionBudget, KubeSchedulerConfiguration)`);
    }
  });
  if (errors.length > 0) return { ok: false, errors };
  return whatIf({
    nodes, pods, namespaces, pdbs,
    ...(config === undefined ? {} : { config }),
    ...(opts.registry === undefined ? {} : { registry: opts.registry }),
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    ...(opts.maxSimulatedMs === undefined ? {} : { maxSimulatedMs: opts.maxSimulatedMs }),
  });
}
