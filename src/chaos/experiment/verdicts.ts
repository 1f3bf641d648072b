/**
 * From a run's recorded evidence to its verdict table (pure): each VerdictSpec becomes one or more
 * rows of pass / fail / unknown with the evidence in the detail. Data a verdict needs but the run
 * could not collect makes its row unknown, never a pass.
 */
import {
  checkAckedWritesPresent, checkConvergence, checkElectionSafety, checkHashesEqual, checkLinearizability, checkServiceAvailability,
  checkPlacementSafety, checkStatefulSetIdentity, checkSteadyStateRestored, linearizabilityCheckResult, toCheckResult, type PlacementObservation,
  type CheckResult, type DeploymentObservation, type FaultWindow, type HistoryOp, type HttpSample, type IdentityObservation, type KvValue, type MemberHash,
  type ProbeResult, type RoleObservation, type Unavailable,
} from '../check/index.js';
import type { VerdictSpec } from './define.js';

export interface FaultRecord extends FaultWindow {
  readonly step: number;
  /** The host hit; undefined when the target could not be resolved (then it was not injected). */
  readonly host?: string;
  readonly injected: boolean;
  readonly note: string;
}

export interface LeaseObservation {
  readonly timeMs: number;
  readonly component: string;
  /** The Lease's holderIdentity ('' released); undefined when it could not be read. */
  readonly holder?: string;
}

/** Each change of `component`'s Lease holder as observed: "holder from t ms". */
export function leaseTransitions(observations: readonly LeaseObservation[], component: string): string[] {
  const changes: string[] = [];
  let last: string | undefined;
  for (const o of observations) {
    if (o.component !== component || o.holder === undefined || o.holder === last) continue;
    changes.push(`${o.holder === '' ? '(released)' : o.holder} from ${Math.round(o.timeMs)} ms`);
    last = o.holder;
  }
  return changes;
}

export interface Evidence {
  readonly apiHistory: readonly HistoryOp[];
  /** Final value of every API key, or why it could not be read. */
  readonly finalState: ReadonlyMap<string, KvValue | null> | Unavailable;
  /** The kv workload's history on the Raft store (empty without one). */
  readonly kvHistory: readonly HistoryOp[];
  /** Final value of every kv workload key, or why it could not be read. */
  readonly kvFinalState: ReadonlyMap<string, KvValue | null> | Unavailable;
  readonly http: readonly HttpSample[];
  readonly faults: readonly FaultRecord[];
  /** When the last fault was healed (history ms). */
  readonly healedAtMs: number;
  readonly deployments: readonly DeploymentObservation[];
  readonly steadyBefore: readonly ProbeResult[];
  readonly steadyAfter: readonly ProbeResult[];
  readonly roles: readonly RoleObservation[];
  readonly memberHashes: readonly MemberHash[] | Unavailable;
  readonly members: readonly string[];
  /** Leader-election Lease holders sampled through the API. */
  readonly leases: readonly LeaseObservation[];
  /** Where every pod was bound, sampled through the API (empty when no verdict needs it). */
  readonly placements: readonly PlacementObservation[];
  /** What every worker's container runtime ran, sampled (empty when no verdict needs it). */
  readonly identities: readonly IdentityObservation[];
  /** Each rollout workload's convergence, checked against the live cluster. */
  readonly rollouts: readonly CheckResult[];
  /** The rollout workloads' image sets (history writes of `rollout:<namespace>/<name>`), for the report. */
  readonly rolloutHistory: readonly HistoryOp[];
  /** Rows computed against the live cluster (single-active), by verdict kind. */
  readonly live: Partial<Record<VerdictSpec['kind'], CheckResult>>;
}

const isUnavailable = (x: object): x is Unavailable => 'unavailable' in x;

export function verdictRows(spec: VerdictSpec, e: Evidence): CheckResult[] {
  switch (spec.kind) {
    case 'acked-writes-present':
      if (isUnavailable(e.finalState)) return [{ name: spec.kind, status: 'unknown', detail: `could not run: ${e.finalState.unavailable}` }];
      return [toCheckResult(spec.kind, checkAckedWritesPresent(e.apiHistory, e.finalState))];
    case 'api-linearizable':
      return [linearizabilityCheckResult(checkLinearizability(e.apiHistory), spec.kind)];
    case 'kv-acked-writes-present':
      if (isUnavailable(e.kvFinalState)) return [{ name: spec.kind, status: 'unknown', detail: `could not run: ${e.kvFinalState.unavailable}` }];
      return [toCheckResult(spec.kind, checkAckedWritesPresent(e.kvHistory, e.kvFinalState))];
    case 'kv-linearizable':
      return e.kvHistory.length === 0 ? [{ name: spec.kind, status: 'unknown', detail: 'no kv workload ran' }] : [linearizabilityCheckResult(checkLinearizability(e.kvHistory), spec.kind)];
    case 'etcd-consistent':
      return [
        isUnavailable(e.memberHashes) ? { name: 'member-hashes-equal', status: 'unknown', detail: `could not run: ${e.memberHashes.unavailable}` } : toCheckResult('member-hashes-equal', checkHashesEqual(e.memberHashes, e.members)),
        toCheckResult('election-safety', checkElectionSafety(e.roles)),
      ];
    case 'service-availability':
      return [toCheckResult(spec.kind, checkServiceAvailability(e.http, e.faults.filter((f) => f.injected), spec.minOkRatio, spec.minSamples))];
    case 'convergence':
      return [toCheckResult(spec.kind, checkConvergence(e.deployments, e.healedAtMs, spec.withinMs))];
    case 'steady-state-restored':
      return [toCheckResult(spec.kind, checkSteadyStateRestored({ before: e.steadyBefore, after: e.steadyAfter }))];
    case 'faults-injected': {
      const missed = e.faults.filter((f) => !f.injected);
      return [missed.length === 0
        ? { name: spec.kind, status: 'pass', detail: `all ${e.faults.length} faults were injected and healed: ${e.faults.map((f) => f.note).join('; ')}` }
        : { name: spec.kind, status: 'unknown', detail: `${missed.length} of ${e.faults.length} faults could not be injected, so the run says nothing about them: ${missed.map((f) => `step ${f.step}: ${f.note}`).join('; ')}` }];
    }
    case 'single-active-controller-manager':
    case 'single-active-scheduler':
    case 'watch-guarantees':
      return [e.live[spec.kind] ?? { name: spec.kind, status: 'unknown', detail: spec.kind === 'watch-guarantees' ? 'no watches were recorded' : 'the instances were not asked for their active intervals' }];
    case 'placement-safe':
      return [toCheckResult(spec.kind, checkPlacementSafety(e.placements))];
    case 'statefulset-identity':
      return [toCheckResult(spec.kind, checkStatefulSetIdentity(e.identities))];
    case 'rollout-converged':
      return e.rollouts.length > 0 ? [...e.rollouts] : [{ name: spec.kind, status: 'unknown', detail: 'no rollout workload ran' }];
    default: {
      const never: never = spec;
      throw new Error(`unreachable verdict ${JSON.stringify(never)}`);
    }
  }
}
