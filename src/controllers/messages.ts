import type { ActiveInterval } from '../client/active-intervals.js';
import type { Address } from '../primitives/address.js';
import type { ProfileName } from '../runtime/profiles.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import { validateWatchTell, type ApiWatchTell } from '../apiserver/messages.js';

/**
 * The controller-manager actor's protocol (`master-N/controller-manager`). It talks to the
 * apiservers as their client (the apiserver protocol's watch tells arrive here too), and answers
 * status asks with its active intervals: the evidence the chaos checks read for "at most one
 * active controller-manager at any moment".
 */
export type ControllerManagerMessage =
  /** Ask: answered with `controllerManagerStatus`. */
  | { readonly type: 'controllerManagerStatusRequest' }
  /** The apiservers' watch tells (events, ends, heartbeats) for this actor's informers. */
  | ApiWatchTell;

export type { ActiveInterval } from '../client/active-intervals.js';

export interface ActionCounts {
  readonly ok: number;
  readonly failed: number;
  /** Not sent: the instance was no longer the leader (the fence). */
  readonly fenced: number;
  readonly skipped: number;
}

export interface ControllerManagerStatus {
  readonly type: 'controllerManagerStatus';
  readonly identity: string;
  readonly active: boolean;
  /** The Lease holder as last observed ('' released, undefined not seen yet). */
  readonly leader?: string;
  readonly intervals: readonly ActiveInterval[];
  /** Terms dropped from the record (bounded memory). */
  readonly droppedIntervals: number;
  readonly actions: ActionCounts;
  readonly controllers: readonly string[];
}

/** Structured-cloneable: sent to the actor's worker thread. */
export interface ControllerManagerConfig {
  /** The apiserver actors, in preference order (`master-N/apiserver` of its own master first). */
  readonly apiservers: readonly Address[];
  /** Bearer token of system:kube-controller-manager (absent: an apiserver without authentication). */
  readonly token?: string;
  readonly profile?: ProfileName;
  /** Controllers to run, by name (default every built-in one). */
  readonly controllers?: readonly string[];
  /** Absent or true: leader-elected through kube-system/kube-controller-manager; false: always active (a single instance). */
  readonly leaderElection?: boolean;
  /** The cluster CA (PEM) published as ConfigMap kube-root-ca.crt in every namespace (absent: that controller does not run). */
  readonly rootCaCertPem?: string;
  /** The /16 the node IPAM controller hands each Node a /24 of (kube-controller-manager's --cluster-cidr; default 127.244.0.0/16). */
  readonly clusterCidr?: string;
  /** Run Chaos Mesh's PodChaos and Schedule controllers (the cluster installs their CRDs when it has nodes). */
  readonly chaosMesh?: boolean;
}

/** A user's operator (src/controllers/operator.ts) on one master: the controller-manager's engine and protocol, one controller. */
export interface OperatorConfig extends Omit<ControllerManagerConfig, 'controllers' | 'rootCaCertPem' | 'clusterCidr' | 'chaosMesh'> {
  /** File URL of the module that exports the operator (`defineOperator`). */
  readonly module: string;
  /** The operator's definition name. */
  readonly name: string;
  /** Modules imported before `module`: the TypeScript loader of the process when the module is TypeScript. */
  readonly preload?: readonly string[];
}

export const controllerManagerLease = { namespace: 'kube-system', name: 'kube-controller-manager' } as const;


export function validateControllerManagerMessage(raw: unknown): ControllerManagerMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('controller-manager: a message is an object with a string type');
  if (raw['type'] === 'controllerManagerStatusRequest') return { type: 'controllerManagerStatusRequest' };
  return validateWatchTell('controller-manager', raw['type'], raw) ?? protocolError(`controller-manager: unknown message type ${JSON.stringify(raw['type'])}`);
}
