import type { Address } from '../primitives/address.js';
import type { ProfileName } from '../runtime/profiles.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import { validateWatchTell, type ApiWatchTell } from '../apiserver/messages.js';
import type { ExplainTable } from './explain.js';
import type { SchedulerStatusView } from './scheduler.js';

/**
 * The scheduler actor's protocol (`master-N/scheduler`). It talks to the apiservers as their
 * client (their watch tells arrive here too), answers status asks with its active intervals (the
 * evidence for "at most one active scheduler at any moment"), and explains its last decision for
 * a pod.
 */
export type SchedulerMessage =
  /** Ask: answered with `schedulerStatus`. */
  | { readonly type: 'schedulerStatusRequest' }
  /** Ask: answered with `schedulerExplain` for the pod "namespace/name". */
  | { readonly type: 'schedulerExplainRequest'; readonly pod: string }
  | ApiWatchTell;

export type SchedulerStatus = SchedulerStatusView & { readonly type: 'schedulerStatus' };

export interface SchedulerExplain {
  readonly type: 'schedulerExplain';
  readonly pod: string;
  /** Absent: this instance has no decision for the pod (not attempted here, or forgotten). */
  readonly decision?: {
    readonly table: ExplainTable;
    /** Wall-clock ms of the attempt on the scheduler's clock. */
    readonly atMs: number;
    readonly nodeName?: string;
    readonly message?: string;
  };
}

/** Structured-cloneable: sent to the actor's worker thread. */
export interface SchedulerConfig {
  /** The apiserver actors, in preference order (`master-N/apiserver` of its own master first). */
  readonly apiservers: readonly Address[];
  /** Bearer token of system:kube-scheduler (absent: an apiserver without authentication). */
  readonly token?: string;
  readonly profile?: ProfileName;
  /** A KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) as YAML; upstream's defaults when absent. */
  readonly configYaml?: string;
  /** Absent or true: leader-elected through kube-system/kube-scheduler. */
  readonly leaderElection?: boolean;
  /** Broken on purpose (a chaos sabotage): skip the assume cache, so pods scheduled before a binding is seen can over-commit a node. */
  readonly unsafeSkipAssume?: boolean;
}


export function validateSchedulerMessage(raw: unknown): SchedulerMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('scheduler: a message is an object with a string type');
  switch (raw['type']) {
    case 'schedulerStatusRequest':
      return { type: 'schedulerStatusRequest' };
    case 'schedulerExplainRequest':
      return typeof raw['pod'] === 'string' && /^[^/]+\/[^/]+$/.test(raw['pod'])
        ? { type: 'schedulerExplainRequest', pod: raw['pod'] }
        : protocolError('scheduler: schedulerExplainRequest needs pod "namespace/name"');
    default:
      return validateWatchTell('scheduler', raw['type'], raw) ?? protocolError(`scheduler: unknown message type ${JSON.stringify(raw['type'])}`);
  }
}
