/**
 * The experiment API (issue 13): an experiment is data — a cluster shape, setup (manifests to
 * apply, conditions to wait for), workloads, a steady-state hypothesis (probes with tolerances,
 * checked before the method and after the heal), a method (faults in sequence, each at a time
 * drawn from the seed), and the verdicts to give. `defineExperiment` checks it and freezes it;
 * `runExperiment` (run.ts) runs it.
 */
import type { ProfileName } from '../../runtime/profiles.js';

/** A fixed number of milliseconds, or a range the seed draws from (inclusive). */
export type MsRange = number | readonly [min: number, max: number];

/** Who a fault hits, resolved at injection time (targets.ts). */
export type TargetSpec =
  /** The master whose etcd member leads (the highest term any member reports). */
  | { readonly kind: 'etcd-leader-master' }
  /** One master that is not the etcd leader's (a minority of three), the seed picks which. */
  | { readonly kind: 'minority-master' }
  /** A live worker, the seed picks which. */
  | { readonly kind: 'random-worker' }
  | { readonly kind: 'host'; readonly host: string };

export type FaultSpec =
  /** Kill the host (a power cut: unsynced writes lost); heal restarts it from its data directory. */
  | { readonly kind: 'kill-host'; readonly target: TargetSpec; readonly resetConnections?: boolean }
  /** Partition the target master from the other masters (clients still reach it); heal removes the partition. */
  | { readonly kind: 'isolate-master'; readonly target: TargetSpec }
  /**
   * Every link from and to the target host loses (`drop`), doubles (`duplicate`, probabilities
   * 0–1) or delays (`delayMs`, up to `delayJitterMs` more) its messages; heal restores them.
   */
  | { readonly kind: 'degrade-links'; readonly target: TargetSpec; readonly drop?: number; readonly duplicate?: number; readonly delayMs?: number; readonly delayJitterMs?: number }
  /** SIGSTOP-like: the target host's actor (`scheduler`, `controller-manager`, `kubelet`, ...) stops handling messages and timers; heal resumes it. */
  | { readonly kind: 'pause-actor'; readonly target: TargetSpec; readonly actor: string };

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
  | { readonly kind: 'http'; readonly service: string; readonly processes: number; readonly requestTimeoutMs?: number };

export type VerdictSpec =
  | { readonly kind: 'acked-writes-present' }
  | { readonly kind: 'api-linearizable' }
  | { readonly kind: 'etcd-consistent' }
  /** Of the HTTP requests started while a fault was active, at least `minOkRatio` answered 200. */
  | { readonly kind: 'service-availability'; readonly minOkRatio: number; readonly minSamples?: number }
  /** Every Deployment's available == desired within `withinMs` of the last heal. */
  | { readonly kind: 'convergence'; readonly withinMs: number }
  | { readonly kind: 'single-active-controller-manager' }
  | { readonly kind: 'single-active-scheduler' }
  | { readonly kind: 'steady-state-restored'; readonly withinMs: number }
  /** Every step of the method found its target and was injected. */
  | { readonly kind: 'faults-injected' };

export interface ExperimentSpec {
  readonly name: string;
  readonly description: string;
  readonly cluster: { readonly masters: 3; readonly workers: number; readonly profile: ProfileName };
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

const ACTOR = /^[a-z][a-z0-9-]{0,62}$/;
const MAX_DELAY_MS = 10_000;

function faultProblems(fault: FaultSpec, field: string): string[] {
  const out: string[] = [];
  if (fault.kind === 'degrade-links') {
    for (const key of ['drop', 'duplicate'] as const) {
      const v = fault[key];
      if (v !== undefined && !(v >= 0 && v <= 1)) out.push(`${field}.${key} must be a probability from 0 to 1, not ${v}`);
    }
    for (const key of ['delayMs', 'delayJitterMs'] as const) {
      const v = fault[key];
      if (v !== undefined && !(v >= 0 && v <= MAX_DELAY_MS)) out.push(`${field}.${key} must be from 0 to ${MAX_DELAY_MS} ms, not ${v}`);
    }
    if ((fault.drop ?? 0) === 0 && (fault.duplicate ?? 0) === 0 && (fault.delayMs ?? 0) === 0 && (fault.delayJitterMs ?? 0) === 0) out.push(`${field} degrades nothing: give drop, duplicate or delayMs`);
  }
  if (fault.kind === 'pause-actor' && !ACTOR.test(fault.actor)) out.push(`${field}.actor must be an actor name such as scheduler or controller-manager, not ${JSON.stringify(fault.actor)}`);
  return out;
}

/** Every problem with `spec`, each naming its field; empty when it is runnable. */
export function experimentProblems(spec: ExperimentSpec): string[] {
  const problems: string[] = [];
  if (!NAME.test(spec.name)) problems.push(`name must be lower-case letters, digits and dashes (at most 63), not ${JSON.stringify(spec.name)}`);
  if (spec.cluster.masters !== 3) problems.push('cluster.masters must be 3 (the faults assume a 3-member etcd)');
  if (!Number.isInteger(spec.cluster.workers) || spec.cluster.workers < 0 || spec.cluster.workers > 16) problems.push(`cluster.workers must be a whole number from 0 to 16, not ${spec.cluster.workers}`);
  if (spec.method.length === 0 || spec.method.length > MAX_STEPS) problems.push(`method must have 1 to ${MAX_STEPS} steps, not ${spec.method.length}`);
  spec.method.forEach((step, i) => {
    for (const p of [rangeProblem(step.afterMs, `method[${i}].afterMs`), rangeProblem(step.durationMs, `method[${i}].durationMs`), rangeProblem(step.detectionMs ?? 0, `method[${i}].detectionMs`)]) if (p) problems.push(p);
    if (step.fault.target.kind === 'random-worker' && spec.cluster.workers === 0) problems.push(`method[${i}].fault.target random-worker needs cluster.workers >= 1`);
    problems.push(...faultProblems(step.fault, `method[${i}].fault`));
  });
  const http = spec.workloads.some((w) => w.kind === 'http') || spec.setup.waitFor.some((p) => p.kind === 'service-responds');
  if (http && spec.cluster.workers === 0) problems.push('an http workload or service-responds probe needs cluster.workers >= 1 (Services run on nodes)');
  // The ConfigMap keys (cm-N) are shared: two API workloads would write each other's keys behind the checkers' backs.
  if (spec.workloads.filter((w) => w.kind === 'api-configmaps').length > 1) problems.push('workloads may hold at most one api-configmaps workload');
  spec.workloads.forEach((w, i) => {
    if (!Number.isInteger(w.processes) || w.processes < 1 || w.processes > 64) problems.push(`workloads[${i}].processes must be 1 to 64, not ${w.processes}`);
  });
  spec.verdicts.forEach((v, i) => {
    if (v.kind === 'service-availability' && !(v.minOkRatio >= 0 && v.minOkRatio <= 1)) problems.push(`verdicts[${i}].minOkRatio must be from 0 to 1, not ${v.minOkRatio}`);
    if ((v.kind === 'convergence' || v.kind === 'steady-state-restored') && !(v.withinMs > 0 && v.withinMs <= MAX_MS)) problems.push(`verdicts[${i}].withinMs must be from 1 to ${MAX_MS}, not ${v.withinMs}`);
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
