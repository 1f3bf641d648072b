/**
 * The experiment API (issue 13): an experiment is data — a cluster shape, setup (manifests to
 * apply, conditions to wait for), workloads, a steady-state hypothesis (probes with tolerances,
 * checked before the method and after the heal), a method (faults in sequence, each at a time
 * drawn from the seed), and the verdicts to give. `defineExperiment` checks it and freezes it;
 * `runExperiment` (run.ts) runs it.
 */
import type { ProfileName } from '../../runtime/profiles.js';
import { faultProblems } from './catalog.js';
import { sabotages, type Sabotage } from '../../cluster/sabotage.js';

/** A fixed number of milliseconds, or a range the seed draws from (inclusive). */
export type MsRange = number | readonly [min: number, max: number];

/** Which pods a pod fault (or a `pod` target) may pick from: a namespace and a label selector (`app=nginx`). */
export interface PodSelector {
  readonly namespace: string;
  readonly selector: string;
}

/** Who a fault hits, resolved at injection time (targets.ts). */
export type TargetSpec =
  /** The master whose etcd member leads (the highest term any member reports). */
  | { readonly kind: 'etcd-leader-master' }
  /** One master that is not the etcd leader's (a follower's: a minority of three), the seed picks which. */
  | { readonly kind: 'minority-master' }
  /** A majority of the live masters (2 of 3, 3 of 5), the seed picks which: etcd loses quorum. */
  | { readonly kind: 'majority-masters' }
  /** A live master, the seed picks which (it may be the etcd leader's). */
  | { readonly kind: 'random-master' }
  /** A live worker, the seed picks which. */
  | { readonly kind: 'random-worker' }
  /** Whatever live host the seed picks. */
  | { readonly kind: 'any-host' }
  /** The master whose instance holds the component's leader-election Lease (as the API shows it). */
  | { readonly kind: 'lease-holder'; readonly component: 'controller-manager' | 'scheduler' }
  /** The master whose apiserver holds the most front-door connections (it serves most API requests). */
  | { readonly kind: 'busiest-master' }
  /** A pod matching the selector, the seed picks which; host faults hit the node it runs on. */
  | { readonly kind: 'pod'; readonly pods: PodSelector }
  | { readonly kind: 'host'; readonly host: string }
  /** These hosts together (a partition puts them on one side). */
  | { readonly kind: 'hosts'; readonly hosts: readonly string[] };

export type LinkDirection = 'outbound' | 'inbound';

export type FaultSpec =
  /** Kill the host (a power cut: unsynced writes lost); heal restarts it from its data directory. */
  | { readonly kind: 'kill-host'; readonly target: TargetSpec; readonly resetConnections?: boolean }
  /** Partition the target masters from the other masters (clients still reach them); heal removes the partition. */
  | { readonly kind: 'isolate-master'; readonly target: TargetSpec }
  /** One way: the target masters' messages to the other masters vanish (`outbound`), or theirs to the target (`inbound`). */
  | { readonly kind: 'one-way-partition'; readonly target: TargetSpec; readonly direction: LinkDirection }
  /** The other masters cannot reach each other; the target master reaches them all (Jepsen's bridge). */
  | { readonly kind: 'bridge-partition'; readonly target: TargetSpec }
  /** The masters in a ring (master-1 … master-N): each reaches only its two neighbours, so each sees a different majority. Needs 5 masters. */
  | { readonly kind: 'majorities-ring' }
  /** Hosts in different groups cannot reach each other; unlisted hosts are unaffected. */
  | { readonly kind: 'partition-groups'; readonly groups: readonly (readonly string[])[] }
  /**
   * Every link from and to the target host loses (`drop`), doubles (`duplicate`), reorders
   * (`reorder`, within `reorderWindowMs`; probabilities 0–1) or delays (`delayMs`, up to
   * `delayJitterMs` more) its messages — only the `messageTypes` given, or all; heal restores them.
   */
  | {
    readonly kind: 'degrade-links'; readonly target: TargetSpec; readonly drop?: number; readonly duplicate?: number; readonly reorder?: number;
    readonly reorderWindowMs?: number; readonly delayMs?: number; readonly delayJitterMs?: number; readonly messageTypes?: readonly string[];
  }
  /** SIGSTOP-like: the target host's actor (`scheduler`, `controller-manager`, `kubelet`, ...) stops handling messages and timers; heal resumes it. */
  | { readonly kind: 'pause-actor'; readonly target: TargetSpec; readonly actor: string }
  /** Kill one actor of the host (its thread's state lost, its storage kept); heal restarts it. */
  | { readonly kind: 'kill-actor'; readonly target: TargetSpec; readonly actor: string }
  /** The node's kubelet stops (its pods keep running, its Lease lapses, the node goes NotReady); heal starts it again. */
  | { readonly kind: 'node-not-ready'; readonly target: TargetSpec }
  /** Every actor of the host is paused for `pauseMs` in each `periodMs` (a slow, overloaded machine); heal lets them run. */
  | { readonly kind: 'slow-node'; readonly target: TargetSpec; readonly pauseMs: number; readonly periodMs: number }
  /**
   * One actor's clock is off: it runs at `rate` (0.5 half speed, 2 double; its timers too) and its
   * wall clock is stepped by `offsetMs`; heal sets it right. The clock is injected, so this is exact.
   */
  | { readonly kind: 'clock-skew'; readonly target: TargetSpec; readonly actor: string; readonly offsetMs?: number; readonly rate?: number }
  /** One actor's disk fails (`eio`: fsync fails; `stall`: each fsync blocks `stallMs`; `full`: ENOSPC); heal mends it, restarting the actor if it crashed. */
  | { readonly kind: 'disk-fault'; readonly target: TargetSpec; readonly actor: string; readonly mode: 'eio' | 'stall' | 'full'; readonly stallMs?: number }
  /** SIGKILL the target pod's container (`container`, or its first) through the node's container runtime; the kubelet restarts it per restartPolicy. */
  | { readonly kind: 'container-kill'; readonly target: TargetSpec; readonly container?: string }
  /** Delete the target pod through the API (grace period `gracePeriodSeconds`, default 0, as Chaos Mesh's pod-kill); its controller replaces it. */
  | { readonly kind: 'pod-delete'; readonly target: TargetSpec; readonly gracePeriodSeconds?: number }
  /**
   * Create a Chaos Mesh object (a PodChaos or a Schedule, as users write them for Chaos Mesh)
   * through the API; the cluster's Chaos Mesh controllers select and inject. The heal deletes it,
   * which recovers what it did (its finalizer waits for that) and takes a Schedule's children.
   */
  | { readonly kind: 'chaos-mesh'; readonly manifest: ChaosMeshManifest };

/** A Chaos Mesh object as its YAML reads: apiVersion chaos-mesh.org/v1alpha1, kind, metadata, spec. */
export type ChaosMeshManifest = Readonly<Record<string, unknown>>;

/** The fault kinds that need a target (all but the partitions that name their own sides). */
export function faultTarget(fault: FaultSpec): TargetSpec | undefined {
  return 'target' in fault ? fault.target : undefined;
}

export interface MethodStep {
  readonly fault: FaultSpec;
  /** Pause after the previous step healed (or after the method began, for the first). */
  readonly afterMs: MsRange;
  /** How long the fault lasts before its heal. */
  readonly durationMs: MsRange;
  /**
   * How long the system may take to notice this fault before the Service must route around it
   * (service-availability does not hold requests started in this window to its threshold). Default 0.
   */
  readonly detectionMs?: number;
  /**
   * Run in the background (Chaos Toolkit's `background: true`): the method goes on without waiting
   * for this fault's heal, so the next step's pause counts from this one's injection and both are
   * active together. The method ends when every fault has healed.
   */
  readonly background?: boolean;
}

/** What a probe measures, and the tolerance its value must meet. */
export type ProbeSpec =
  /** `samples` GETs of the Service's ClusterIP; at least `minOkRatio` of them answer 200. */
  | { readonly kind: 'service-responds'; readonly service: string; readonly samples?: number; readonly minOkRatio?: number }
  /** Every Deployment (all namespaces): available replicas equal desired ones; at least one Deployment. */
  | { readonly kind: 'deployments-available' }
  /** A server-side apply through the front door is acknowledged within timeoutMs. */
  | { readonly kind: 'api-writable'; readonly timeoutMs?: number }
  /** Every Node object reports Ready=True (and, with `count`, that many Nodes exist). */
  | { readonly kind: 'nodes-ready'; readonly count?: number };

export type WorkloadSpec =
  | { readonly kind: 'api-configmaps'; readonly processes: number; readonly keys: number }
  /** Reads, writes, compare-and-sets and deletes on the Raft store itself (etcd's KV API, no apiserver between). */
  | { readonly kind: 'kv'; readonly processes: number; readonly keys: number }
  | { readonly kind: 'http'; readonly service: string; readonly processes: number; readonly requestTimeoutMs?: number }
  /** `kubectl set image` on a Deployment (`namespace/name`) every `everyMs`, cycling through `images`. */
  | { readonly kind: 'rollout'; readonly deployment: string; readonly container?: string; readonly images: readonly string[]; readonly everyMs: number };

export type VerdictSpec =
  | { readonly kind: 'acked-writes-present' }
  | { readonly kind: 'api-linearizable' }
  /** The kv workload's history linearizable (the store's own guarantee). */
  | { readonly kind: 'kv-linearizable' }
  /** Every write the kv workload saw acknowledged is in the store at the end. */
  | { readonly kind: 'kv-acked-writes-present' }
  | { readonly kind: 'etcd-consistent' }
  /** Of the HTTP requests started while a fault was active, at least `minOkRatio` answered 200. */
  | { readonly kind: 'service-availability'; readonly minOkRatio: number; readonly minSamples?: number }
  /** Every Deployment's available == desired within `withinMs` of the last heal. */
  | { readonly kind: 'convergence'; readonly withinMs: number }
  /** Every rollout workload's Deployment runs its last acknowledged image on every replica, available, within `withinMs` of the check. */
  | { readonly kind: 'rollout-converged'; readonly withinMs: number }
  | { readonly kind: 'single-active-controller-manager' }
  | { readonly kind: 'single-active-scheduler' }
  | { readonly kind: 'steady-state-restored'; readonly withinMs: number }
  /** No pod bound to two nodes, no node over-committed (requests beyond allocatable, or pods the kubelet refused for lack of room). */
  | { readonly kind: 'placement-safe' }
  /** Every apiserver's watch of the API workload's ConfigMaps ordered, without gaps or duplicates, against etcd's log. */
  | { readonly kind: 'watch-guarantees' }
  /** No two pods of one StatefulSet identity running at once, as the nodes' container runtimes show (not the API). */
  | { readonly kind: 'statefulset-identity' }
  /** Every step of the method found its target and was injected. */
  | { readonly kind: 'faults-injected' };

export interface ExperimentSpec {
  readonly name: string;
  readonly description: string;
  readonly cluster: {
    readonly masters: 3 | 5; readonly workers: number; readonly profile: ProfileName;
    /** Deliberately broken components (cluster.ts Sabotage), to show that a verdict catches each. */
    readonly sabotage?: readonly Sabotage[];
  };
  readonly setup: { readonly manifests: readonly string[]; readonly waitFor: readonly ProbeSpec[]; readonly timeoutMs: number };
  readonly workloads: readonly WorkloadSpec[];
  readonly steadyState: readonly ProbeSpec[];
  readonly method: readonly MethodStep[];
  /** After the last step: how long to keep the workloads running while the cluster settles. */
  readonly heal: { readonly settleMs: number };
  readonly verdicts: readonly VerdictSpec[];
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_STEPS = 100;
const MAX_MS = 600_000;

function rangeProblem(range: MsRange, field: string): string | undefined {
  const [min, max] = typeof range === 'number' ? [range, range] : range;
  if (!Number.isFinite(min) || !Number.isFinite(max) || min < 0 || max < min || max > MAX_MS) {
    return `${field} must be milliseconds from 0 to ${MAX_MS} (a number or [min, max] with min <= max), not ${JSON.stringify(range)}`;
  }
  return undefined;
}

const NAMESPACED_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function rolloutProblems(w: Extract<WorkloadSpec, { kind: 'rollout' }>, field: string): string[] {
  const out: string[] = [];
  if (!NAMESPACED_NAME.test(w.deployment)) out.push(`${field}.deployment must be namespace/name, not ${JSON.stringify(w.deployment)}`);
  if (w.images.length < 2 || w.images.some((image) => typeof image !== 'string' || image === '')) out.push(`${field}.images must list at least two images to switch between`);
  if (!(Number.isInteger(w.everyMs) && w.everyMs >= 500 && w.everyMs <= MAX_MS)) out.push(`${field}.everyMs must be whole milliseconds from 500 to ${MAX_MS}, not ${w.everyMs}`);
  return out;
}

/** Every problem with `spec`, each naming its field; empty when it is runnable. */
export function experimentProblems(spec: ExperimentSpec): string[] {
  const problems: string[] = [];
  if (!NAME.test(spec.name)) problems.push(`name must be lower-case letters, digits and dashes (at most 63), not ${JSON.stringify(spec.name)}`);
  if (spec.cluster.masters !== 3 && spec.cluster.masters !== 5) problems.push(`cluster.masters must be 3 or 5 (an etcd member on each), not ${spec.cluster.masters}`);
  if (!Number.isInteger(spec.cluster.workers) || spec.cluster.workers < 0 || spec.cluster.workers > 16) problems.push(`cluster.workers must be a whole number from 0 to 16, not ${spec.cluster.workers}`);
  for (const s of spec.cluster.sabotage ?? []) if (!(sabotages as readonly string[]).includes(s)) problems.push(`cluster.sabotage: unknown ${JSON.stringify(s)} (expected ${sabotages.join(', ')})`);
  if (spec.method.length === 0 || spec.method.length > MAX_STEPS) problems.push(`method must have 1 to ${MAX_STEPS} steps, not ${spec.method.length}`);
  spec.method.forEach((step, i) => {
    for (const p of [rangeProblem(step.afterMs, `method[${i}].afterMs`), rangeProblem(step.durationMs, `method[${i}].durationMs`), rangeProblem(step.detectionMs ?? 0, `method[${i}].detectionMs`)]) if (p) problems.push(p);
    problems.push(...faultProblems(step.fault, `method[${i}].fault`, spec.cluster));
  });
  const http = spec.workloads.some((w) => w.kind === 'http') || spec.setup.waitFor.some((p) => p.kind === 'service-responds');
  if (http && spec.cluster.workers === 0) problems.push('an http workload or service-responds probe needs cluster.workers >= 1 (Services run on nodes)');
  // The ConfigMap keys (cm-N) are shared: two API workloads would write each other's keys behind the checkers' backs.
  if (spec.workloads.filter((w) => w.kind === 'api-configmaps').length > 1) problems.push('workloads may hold at most one api-configmaps workload');
  if (spec.workloads.filter((w) => w.kind === 'kv').length > 1) problems.push('workloads may hold at most one kv workload');
  spec.workloads.forEach((w, i) => {
    if (w.kind === 'rollout') {
      problems.push(...rolloutProblems(w, `workloads[${i}]`));
      return;
    }
    if (!Number.isInteger(w.processes) || w.processes < 1 || w.processes > 64) problems.push(`workloads[${i}].processes must be 1 to 64, not ${w.processes}`);
  });
  spec.verdicts.forEach((v, i) => {
    if (v.kind === 'service-availability' && !(v.minOkRatio >= 0 && v.minOkRatio <= 1)) problems.push(`verdicts[${i}].minOkRatio must be from 0 to 1, not ${v.minOkRatio}`);
    if (v.kind === 'rollout-converged' && !spec.workloads.some((w) => w.kind === 'rollout')) problems.push(`verdicts[${i}] rollout-converged needs a rollout workload`);
    if ((v.kind === 'convergence' || v.kind === 'steady-state-restored' || v.kind === 'rollout-converged') && !(v.withinMs > 0 && v.withinMs <= MAX_MS)) problems.push(`verdicts[${i}].withinMs must be from 1 to ${MAX_MS}, not ${v.withinMs}`);
  });
  if (spec.verdicts.length === 0) problems.push('verdicts must name at least one verdict (a run with none proves nothing)');
  return problems;
}

/** Checks `spec` (throwing one error that lists every problem) and returns it frozen. */
export function defineExperiment(spec: ExperimentSpec): ExperimentSpec {
  const problems = experimentProblems(spec);
  if (problems.length > 0) throw new Error(`experiment ${JSON.stringify(spec.name)} is not valid:\n  ${problems.join('\n  ')}`);
  return Object.freeze(spec);
}
