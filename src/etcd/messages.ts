import type { Address } from '../primitives/address.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import { maxNodeIdLength, validateConfChange, validateRaftMessage, type ConfChange, type NodeId, type RaftConfig, type RaftMessage, type RaftStatus } from '../raft/index.js';
import type { ProfileName } from '../runtime/profiles.js';
import { validateCommand, type Command, type CommandResponse, type StoreError, type WatchRequest, type RangeRequest } from '../store/index.js';
import type { WatchUpdate } from '../store/index.js';

/**
 * The etcd actor's protocol: Raft traffic between members, and the client API (KV, watch, leases,
 * maintenance). Clients ask any member; a member that cannot serve says why, and whether the
 * request certainly did not happen (`definite`).
 */
export type EtcdMessage =
  /** Peer traffic: every Raft message of one Ready for one member, in one envelope. */
  | { readonly type: 'raft'; readonly messages: readonly RaftMessage[] }
  /** Ask: a write (put, deleteRange, txn, compact, lease grant/revoke) through the log. */
  | { readonly type: 'propose'; readonly command: Command; readonly timeoutMs?: number }
  /** Ask: a read; linearizable (ReadIndex) unless `serializable`. */
  | { readonly type: 'range'; readonly request: RangeRequest; readonly serializable?: boolean; readonly timeoutMs?: number }
  /** Tell: open a watch; updates come back as `watchUpdate` tells to the sender. */
  | { readonly type: 'watchCreate'; readonly watchId: number; readonly request: WatchRequest }
  | { readonly type: 'watchCancel'; readonly watchId: number }
  /** Tell: the watcher consumed `events` events (frees its buffer). */
  | { readonly type: 'watchAck'; readonly watchId: number; readonly events: number }
  /** Ask (leader only): refresh a lease's deadline. */
  | { readonly type: 'leaseKeepAlive'; readonly id: number }
  | { readonly type: 'status' }
  | { readonly type: 'hashKv'; readonly revision?: number }
  /** Ask (leader): hand leadership to another member. */
  | { readonly type: 'transferLeadership'; readonly to: NodeId }
  /**
   * Ask (leader): one membership change (addVoter, addLearner, promoteLearner, removeVoter);
   * answered `done` once it is applied. A refusal is `unavailable` with `definite: true` and the
   * core's reason, e.g. 'learnerLagging' while a learner to promote has not caught up (retry).
   */
  | { readonly type: 'confChange'; readonly change: ConfChange }
  /** Timers to self. */
  | { readonly type: 'tick' }
  | { readonly type: 'housekeeping' };

/** Replies and notifications an etcd member sends. */
export type EtcdReply =
  | { readonly type: 'ok'; readonly response: CommandResponse }
  | { readonly type: 'storeError'; readonly error: StoreError }
  /** This member cannot serve it: try `leader` (may be ''). The request did not happen. */
  | { readonly type: 'notLeader'; readonly leader: NodeId }
  /** Not served; `definite` false when a proposal may still commit. */
  | { readonly type: 'unavailable'; readonly definite: boolean; readonly reason: string }
  | { readonly type: 'keepAliveOk'; readonly ttlSeconds: number }
  | { readonly type: 'statusReply'; readonly status: MemberStatus }
  | { readonly type: 'hashReply'; readonly revision: number; readonly compactRevision: number; readonly hash: number }
  | { readonly type: 'done' }
  /** `seq` numbers a watcher's updates 1, 2, 3...: a gap means one was lost on the way (absent on a refused create). */
  | { readonly type: 'watchUpdate'; readonly watchId: number; readonly update: WatchUpdate; readonly seq?: number };

/** What `status` answers: the Raft core's view of membership and log, plus the store's revisions. */
export type MemberStatus = Pick<RaftStatus, 'id' | 'role' | 'term' | 'leader' | 'commit' | 'applied' | 'firstIndex' | 'lastIndex' | 'voters' | 'learners'> & {
  readonly revision: number;
  readonly compactRevision: number;
  readonly snapshotIndex: number;
};

/** What an etcd member is spawned with (the actor's config). */
export interface EtcdConfig {
  /** This member's id (`master-1/etcd~1`, see memberId). */
  readonly id: NodeId;
  /** Founding voters; used only when the member starts with an empty data directory. */
  readonly peers: readonly NodeId[];
  readonly profile?: ProfileName;
  /** Snapshot and compact the Raft log every this many applied entries (etcd: 10,000). */
  readonly snapshotEveryEntries?: number;
  readonly raft?: Partial<RaftConfig>;
  /**
   * Elect a new leader as soon as the runtime reports the leader's host killed (`onPeerDown`,
   * etcd-raft's ForgetLeader driven by that report). Default true; false waits out the election
   * timeout, as etcd does (the benchmark measures both).
   */
  readonly forgetDeadLeader?: boolean;
  /** Broken on purpose (a chaos sabotage): never fsync the WAL, yet acknowledge as if it were durable. */
  readonly unsafeSkipFsync?: boolean;
}

/** `master-1/etcd~1`: the member's actor address and its incarnation (a wiped member gets a new one). */
export function memberId(addr: Address, generation: number): NodeId {
  return `${addr}~${generation}`;
}

export function addressOfMember(id: NodeId): Address {
  const tilde = id.lastIndexOf('~');
  return (tilde < 0 ? id : id.slice(0, tilde)) as Address;
}

const MAX_RAFT_MESSAGES_PER_ENVELOPE = 100_000;
const MAX_WATCH_ID = Number.MAX_SAFE_INTEGER;

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_WATCH_ID;
}

function optionalTimeout(raw: Record<string, unknown>): boolean {
  return raw['timeoutMs'] === undefined || (typeof raw['timeoutMs'] === 'number' && raw['timeoutMs'] > 0 && raw['timeoutMs'] <= 600_000);
}

function isWatchRequest(value: unknown): value is WatchRequest {
  return isRecord(value) && typeof value['key'] === 'string' && (value['startRevision'] === undefined || positiveInt(value['startRevision']));
}

function isRangeRequest(value: unknown): value is RangeRequest {
  return isRecord(value) && typeof value['key'] === 'string';
}

/** A client may ask for a change of one member; `bootstrap` is written only by founding members. */
function memberChange(value: unknown): ConfChange | undefined {
  const checked = validateConfChange(value);
  if ('error' in checked || checked.type === 'bootstrap' || checked.nodeId.length > maxNodeIdLength) return undefined;
  return checked;
}

/** Validates a decoded message; Raft batches and commands are checked field by field. */
export function validateEtcdMessage(raw: unknown): EtcdMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('etcd: message is not an object with a type');
  const m = raw as Record<string, unknown> & { type: string };
  switch (m.type) {
    case 'raft': {
      const list = m['messages'];
      if (!Array.isArray(list) || list.length > MAX_RAFT_MESSAGES_PER_ENVELOPE) return protocolError('etcd: raft.messages must be an array');
      for (const item of list) {
        const checked = validateRaftMessage(item);
        if ('error' in checked) return protocolError(`etcd: bad raft message: ${checked.error}`);
      }
      return m as unknown as EtcdMessage;
    }
    case 'propose': {
      const checked = validateCommand(m['command']);
      if (!checked.ok) return protocolError(`etcd: bad command: ${JSON.stringify(checked.error)}`);
      if (checked.value.type === 'range') return protocolError('etcd: reads go in a "range" message');
      return optionalTimeout(m) ? { type: 'propose', command: checked.value, ...(m['timeoutMs'] === undefined ? {} : { timeoutMs: m['timeoutMs'] as number }) } : protocolError('etcd: bad timeoutMs');
    }
    case 'range':
      if (!isRangeRequest(m['request'])) return protocolError('etcd: range.request must have a string key');
      return optionalTimeout(m) ? (m as unknown as EtcdMessage) : protocolError('etcd: bad timeoutMs');
    case 'watchCreate':
      return positiveInt(m['watchId']) && isWatchRequest(m['request']) ? (m as unknown as EtcdMessage) : protocolError('etcd: watchCreate needs watchId and request');
    case 'watchCancel':
      return positiveInt(m['watchId']) ? (m as unknown as EtcdMessage) : protocolError('etcd: watchCancel needs watchId');
    case 'watchAck':
      return positiveInt(m['watchId']) && positiveInt(m['events']) ? (m as unknown as EtcdMessage) : protocolError('etcd: watchAck needs watchId and events');
    case 'leaseKeepAlive':
      return positiveInt(m['id']) ? (m as unknown as EtcdMessage) : protocolError('etcd: leaseKeepAlive needs id');
    case 'hashKv':
      return m['revision'] === undefined || positiveInt(m['revision']) ? (m as unknown as EtcdMessage) : protocolError('etcd: bad revision');
    case 'transferLeadership':
      return typeof m['to'] === 'string' ? (m as unknown as EtcdMessage) : protocolError('etcd: transferLeadership needs to');
    case 'confChange': {
      const change = memberChange(m['change']);
      return change ? { type: 'confChange', change } : protocolError('etcd: confChange needs addVoter/addLearner/promoteLearner/removeVoter and a nodeId');
    }
    case 'status':
    case 'tick':
    case 'housekeeping':
      return m as unknown as EtcdMessage;
    default:
      return protocolError(`etcd: unknown message type ${JSON.stringify(m.type)}`);
  }
}
