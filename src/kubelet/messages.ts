import type { Address } from '../primitives/address.js';
import type { ProfileName } from '../runtime/profiles.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import { validateWatchTell, type ApiWatchTell } from '../apiserver/messages.js';
import type { ContainerEvent } from '../cri/messages.js';
import type { PodStreamRequest } from '../apiserver/pod-stream.js';
import type { KubeletStatus } from './kubelet.js';
import type { Taint } from './node-status.js';
import type { LogWindow } from '../apiserver/log-options.js';

/**
 * The kubelet actor's protocol (`<node>/kubelet`). It is a client of the apiservers (their watch
 * tells arrive here) and of its node's container runtime (whose `containerEvent` tells arrive
 * here after it subscribed), and answers status asks.
 */
export type KubeletMessage =
  /** Ask: answered with `kubeletStatus`. */
  | { readonly type: 'kubeletStatusRequest' }
  /** Ask (from an apiserver serving pods/log): answered with `kubeletLogs`. */
  | KubeletLogsRequest
  /** Ask (from an apiserver serving exec, attach or `logs -f`): answered with `kubeletStream`. */
  | KubeletStreamRequest
  | ContainerEvent
  | ApiWatchTell;

export type KubeletLogsRequest = LogWindow & {
  readonly type: 'kubeletLogsRequest';
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly container?: string;
  readonly tailLines?: number;
  readonly previous?: boolean;
  readonly timestamps?: boolean;
};

/**
 * Opens a pod stream (src/apiserver/pod-stream.ts): the kubelet resolves pod and container and asks
 * its runtime to stream to the asking apiserver under `streamId` (chosen by the apiserver).
 */
export type KubeletStreamRequest = {
  readonly type: 'kubeletStreamRequest';
  readonly streamId: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly request: PodStreamRequest;
};

/** ok: the runtime at `runtime` streams now (stdin and cancels go there). */
export type KubeletStream =
  | { readonly type: 'kubeletStream'; readonly ok: true; readonly runtime: Address }
  | { readonly type: 'kubeletStream'; readonly ok: false; readonly code: 400 | 404 | 503; readonly message: string };

/** `code` follows the API: 400 for a bad container choice, 404 when there is nothing to read. */
export type KubeletLogs =
  | { readonly type: 'kubeletLogs'; readonly ok: true; readonly text: string }
  | { readonly type: 'kubeletLogs'; readonly ok: false; readonly code: 400 | 404 | 503; readonly message: string };

export type KubeletStatusReply = KubeletStatus & { readonly type: 'kubeletStatus' };

/** Structured-cloneable: sent to the actor's worker thread. */
export interface KubeletConfig {
  readonly nodeName: string;
  /** The node's address (127.10.x.y), reported as its InternalIP. */
  readonly nodeIp: string;
  /** The apiserver actors in preference order. */
  readonly apiservers: readonly Address[];
  /** Bearer token of system:node:<nodeName>. */
  readonly token?: string;
  readonly profile?: ProfileName;
  /** Default 4 CPU, 8Gi, 110 pods (issue 12). */
  readonly capacity?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly Taint[];
  /** Where pod volumes live on the node (absolute). */
  readonly podsDir: string;
  /** Cluster DNS ClusterIP(s) for ClusterFirst pods (default 127.96.0.10). */
  readonly clusterDns?: readonly string[];
  readonly clusterDomain?: string;
}

export const defaultNodeCapacity: Readonly<Record<string, string>> = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' };

const containerEventTypes = new Set(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);

const optionalNumber = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isFinite(v));
const isLogWindow = (r: Record<string, unknown>): boolean => optionalNumber(r['sinceSeconds']) && optionalNumber(r['sinceTimeMs']) && optionalNumber(r['limitBytes']);

export function validateKubeletMessage(raw: unknown): KubeletMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('kubelet: a message is an object with a string type');
  switch (raw['type']) {
    case 'kubeletStatusRequest':
      return { type: 'kubeletStatusRequest' };
    case 'kubeletLogsRequest':
      return typeof raw['namespace'] === 'string' && typeof raw['name'] === 'string' && typeof raw['uid'] === 'string'
        && (raw['container'] === undefined || typeof raw['container'] === 'string') && (raw['tailLines'] === undefined || typeof raw['tailLines'] === 'number')
        && isLogWindow(raw)
        ? (raw as unknown as KubeletLogsRequest)
        : protocolError('kubelet: kubeletLogsRequest needs namespace, name and uid');
    case 'kubeletStreamRequest': {
      const r = raw['request'];
      const kindOk = isRecord(r) && typeof r['container'] === 'string' && (
        ((r['kind'] === 'exec' || r['kind'] === 'attach') && Array.isArray(r['command']) && (r['command'] as unknown[]).every((a) => typeof a === 'string')
          && ['stdin', 'stdout', 'stderr', 'tty'].every((k) => typeof r[k] === 'boolean'))
        || (r['kind'] === 'log' && typeof r['timestamps'] === 'boolean' && (r['tailLines'] === undefined || typeof r['tailLines'] === 'number') && isLogWindow(r)));
      return typeof raw['streamId'] === 'string' && raw['streamId'] !== '' && typeof raw['namespace'] === 'string' && typeof raw['name'] === 'string' && typeof raw['uid'] === 'string' && kindOk
        ? (raw as unknown as KubeletStreamRequest)
        : protocolError('kubelet: kubeletStreamRequest needs streamId, namespace, name, uid and a valid request');
    }
    case 'containerEvent':
      return typeof raw['containerId'] === 'string' && typeof raw['podSandboxId'] === 'string' && containerEventTypes.has(String(raw['eventType'])) && typeof raw['createdAtMs'] === 'number'
        ? (raw as unknown as ContainerEvent)
        : protocolError('kubelet: malformed containerEvent');
    default:
      return validateWatchTell('kubelet', raw['type'], raw) ?? protocolError(`kubelet: unknown message type ${JSON.stringify(raw['type'])}`);
  }
}
