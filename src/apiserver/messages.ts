import type { Address } from '../primitives/address.js';
import type { ProfileName } from '../runtime/profiles.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiWatchEvent } from '../client/api-transport.js';
import type { StaticTokenEntry } from './auth/index.js';
import type { WatchUpdate } from '../client/kv.js';
import type { AuditPage } from './audit.js';
import { podStreamTellTypes, validatePodStreamTell, type PodStreamTell } from './pod-stream.js';

/**
 * The apiserver actor's protocol: the Kubernetes API for in-cluster components over actor
 * messages (so the network relay's faults reach them), plus the etcd watch updates its own
 * etcd client receives.
 *
 * Requests: `apiRequest` (ask) → `apiResponse`, or `apiUnavailable` while this apiserver cannot
 * serve (its core is not started yet): the caller should try another apiserver.
 * Watches: `apiWatch` (ask) → `apiWatchStarted`, then `apiWatchEvent` tells to the asker and one
 * `apiWatchEnd`; or a refusal as `apiResponse` (401, 403, 404, 410, 429), or `apiUnavailable`.
 * While a client has watches open it gets an `apiWatchHeartbeat` naming them every heartbeat
 * period: a watch missing from it, or silence, means the serving apiserver is gone.
 */
export type ApiserverMessage =
  | { readonly type: 'apiRequest'; readonly request: ApiRequest }
  | { readonly type: 'apiWatch'; readonly watchId: number; readonly request: ApiRequest }
  | { readonly type: 'apiWatchCancel'; readonly watchId: number }
  /** Ask: answered with `apiserverStatus`. */
  | { readonly type: 'apiserverStatusRequest' }
  /** Ask: the audit events after `afterSeq` (audit.ts), answered with `apiserverAudit`. */
  | { readonly type: 'apiserverAuditRequest'; readonly afterSeq: number }
  /** From this actor's etcd members (its etcd client's watches). */
  | { readonly type: 'watchUpdate'; readonly watchId: number; readonly update: WatchUpdate }
  /** From a node's container runtime: the output and end of an exec, attach or log follow this apiserver opened (pod-stream.ts). */
  | PodStreamTell
  /** Timers to self. */
  | { readonly type: 'startCore' }
  | { readonly type: 'heartbeat' }
  | { readonly type: 'compact' };

/** What an apiserver sends back. */
export type ApiserverReply =
  | { readonly type: 'apiResponse'; readonly response: ApiResponse }
  | { readonly type: 'apiUnavailable'; readonly reason: string }
  | { readonly type: 'apiWatchStarted'; readonly watchId: number }
  /** `seq` numbers a watch's events and end 1, 2, 3...: a gap means a tell was lost on the way. */
  | { readonly type: 'apiWatchEvent'; readonly watchId: number; readonly event: ApiWatchEvent; readonly seq?: number }
  | { readonly type: 'apiWatchEnd'; readonly watchId: number; readonly response?: ApiResponse; readonly seq?: number }
  | { readonly type: 'apiWatchHeartbeat'; readonly watchIds: readonly number[] }
  | { readonly type: 'apiserverStatus'; readonly ready: boolean; readonly startAttempts: number; readonly url?: string; readonly watches: number }
  /** `page` absent while the core is not started (nothing was served yet). */
  | { readonly type: 'apiserverAudit'; readonly page?: AuditPage };

export interface ApiserverHttpsConfig {
  /** Default: the master's address (DESIGN §5: `master-N` → 127.10.0.N). */
  readonly host?: string;
  /** Default 6443. */
  readonly port?: number;
  readonly certPem: string;
  readonly keyPem: string;
}

/** Structured-cloneable: sent to the actor's worker thread. */
export interface ApiserverConfig {
  /** The etcd members' actor addresses (`master-1/etcd`, ...). */
  readonly etcdMembers: readonly Address[];
  /** Sabotage (chaos acceptance runs only): watches skip one change in `unsafeWatchSkipEvery` (by revision). */
  readonly unsafeWatchSkipEvery?: number;
  /** Absent: no HTTPS listener (simulated placement, in-cluster only). */
  readonly https?: ApiserverHttpsConfig;
  /** The static token table (pki/tokens.json); absent: no authentication, every caller is admin. */
  readonly tokens?: readonly StaticTokenEntry[];
  /** PEM of the cluster's ServiceAccount signing key: bearer JWTs signed by it authenticate as their ServiceAccount. */
  readonly serviceAccountPublicKeyPem?: string;
  /** PEM of the private half: with it the apiserver answers serviceaccounts/token (TokenRequest, `kubectl create token`). */
  readonly serviceAccountSigningKeyPem?: string;
  readonly profile?: ProfileName;
  /** host:port advertised in /api (default the front door 127.0.0.1:6443). */
  readonly serverAddress?: string;
  /** First two octets of the Service /16 (default `127.96`, DESIGN §5); `<prefix>.0.1` is the `kubernetes` Service. */
  readonly serviceIpPrefix?: string;
  /** How often watch clients hear a heartbeat (default 500 ms). */
  readonly heartbeatMs?: number;
  /** First and largest pause between attempts to start the core while etcd is unavailable. */
  readonly startBackoffInitialMs?: number;
  readonly startBackoffMaxMs?: number;
  /** In-cluster watches one client may hold open (default 1,000). */
  readonly maxWatchesPerClient?: number;
  /** How often to compact etcd (default: the profile's `apiserverCompactionIntervalMs`); 0 turns compaction off. */
  readonly compactionIntervalMs?: number;
}

/** DESIGN §5: the apiserver of `master-N` binds 127.10.0.N. */
export function defaultApiserverHostOf(host: string): string {
  const match = /^master-(\d{1,3})$/.exec(host);
  const n = match ? Number(match[1]) : NaN;
  if (!(n >= 1 && n <= 254)) throw new Error(`apiserver on host ${JSON.stringify(host)}: no default address; give https.host`);
  return `127.10.0.${n}`;
}

const methods: ReadonlySet<string> = new Set<ApiMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const maxPathBytes = 8 * 1024;
const maxQueryFields = 64;
const maxHeaderFields = 64;
const maxFieldBytes = 64 * 1024;

function isStringRecord(value: unknown, maxFields: number): value is Record<string, string> {
  if (!isRecord(value)) return false;
  const entries = Object.entries(value);
  return entries.length <= maxFields && entries.every(([, v]) => typeof v === 'string' && v.length <= maxFieldBytes);
}

function validateApiRequest(value: unknown): string | undefined {
  if (!isRecord(value)) return 'request must be an object';
  if (typeof value['method'] !== 'string' || !methods.has(value['method'])) return 'request.method must be GET, POST, PUT, PATCH or DELETE';
  const path = value['path'];
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > maxPathBytes) return 'request.path must be an absolute path';
  if (!isStringRecord(value['query'], maxQueryFields)) return 'request.query must map names to strings';
  if (!isStringRecord(value['headers'], maxHeaderFields)) return 'request.headers must map names to strings';
  const body = value['body'];
  if (body !== undefined && body !== null && !(body instanceof Uint8Array)) return 'request.body must be bytes';
  return undefined;
}

function isWatchId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates a decoded message at the actor's boundary; never throws. */
export function validateApiserverMessage(raw: unknown): ApiserverMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('apiserver: message is not an object with a type');
  const m = raw as Record<string, unknown> & { type: string };
  switch (m.type) {
    case 'apiRequest': {
      const problem = validateApiRequest(m['request']);
      return problem === undefined ? (m as unknown as ApiserverMessage) : protocolError(`apiserver: ${problem}`);
    }
    case 'apiWatch': {
      if (!isWatchId(m['watchId'])) return protocolError('apiserver: apiWatch needs a watchId');
      const problem = validateApiRequest(m['request']);
      return problem === undefined ? (m as unknown as ApiserverMessage) : protocolError(`apiserver: ${problem}`);
    }
    case 'apiWatchCancel':
      return isWatchId(m['watchId']) ? (m as unknown as ApiserverMessage) : protocolError('apiserver: apiWatchCancel needs a watchId');
    case 'watchUpdate':
      return isWatchId(m['watchId']) && isRecord(m['update']) && typeof m['update']['kind'] === 'string'
        ? (m as unknown as ApiserverMessage)
        : protocolError('apiserver: watchUpdate needs a watchId and an update');
    case 'apiserverAuditRequest':
      return Number.isSafeInteger(m['afterSeq']) && (m['afterSeq'] as number) >= 0
        ? (m as unknown as ApiserverMessage) : protocolError('apiserver: apiserverAuditRequest needs a non-negative integer afterSeq');
    case 'apiserverStatusRequest':
    case 'startCore':
    case 'heartbeat':
    case 'compact':
      return m as unknown as ApiserverMessage;
    default:
      if (podStreamTellTypes.has(m.type)) return validatePodStreamTell(m) ?? protocolError(`apiserver: malformed ${m.type}`);
      return protocolError(`apiserver: unknown message type ${JSON.stringify(m.type)}`);
  }
}

/** What an apiserver tells a watching actor (scheduler, controller-manager, kubelet, kube-proxy) unasked. */
export type ApiWatchTell = Extract<ApiserverReply, { type: 'apiWatchEvent' | 'apiWatchEnd' | 'apiWatchHeartbeat' }>;

const watchTellTypes: ReadonlySet<string> = new Set<ApiWatchTell['type']>(['apiWatchEvent', 'apiWatchEnd', 'apiWatchHeartbeat']);

/**
 * For an actor's own validator: `undefined` when `type` is not a watch tell (the actor goes on with
 * its own types), else `raw` validated as a tell or a protocol error naming `component`.
 */
export function validateWatchTell(component: string, type: string, raw: Record<string, unknown>): ApiWatchTell | ProtocolError | undefined {
  if (!watchTellTypes.has(type)) return undefined;
  const reply = validateApiserverReply(raw);
  return reply === undefined ? protocolError(`${component}: malformed ${type}`) : (reply as ApiWatchTell);
}

/** Validates a reply on the client side (the transport): messages from the network are untrusted. */
export function validateApiserverReply(raw: unknown): ApiserverReply | undefined {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return undefined;
  const isResponse = (r: unknown): boolean => isRecord(r) && typeof r['status'] === 'number' && typeof r['contentType'] === 'string';
  switch (raw['type']) {
    case 'apiResponse':
      return isResponse(raw['response']) ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiUnavailable':
      return typeof raw['reason'] === 'string' ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiWatchStarted':
      return isWatchId(raw['watchId']) ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiWatchEvent': {
      const event = raw['event'];
      return isWatchId(raw['watchId']) && isRecord(event) && typeof event['type'] === 'string' && isRecord(event['object'])
        ? (raw as unknown as ApiserverReply) : undefined;
    }
    case 'apiWatchEnd':
      return isWatchId(raw['watchId']) && (raw['response'] === undefined || raw['response'] === null || isResponse(raw['response']))
        ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiWatchHeartbeat':
      return Array.isArray(raw['watchIds']) && raw['watchIds'].every(isWatchId) ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiserverStatus':
      return typeof raw['ready'] === 'boolean' ? (raw as unknown as ApiserverReply) : undefined;
    case 'apiserverAudit':
      return raw['page'] === undefined || (isRecord(raw['page']) && Array.isArray(raw['page']['events'])) ? (raw as unknown as ApiserverReply) : undefined;
    default:
      return undefined;
  }
}
