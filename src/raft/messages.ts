/**
 * The Raft peer protocol: one discriminated union, plain data only (numbers, strings, booleans,
 * Uint8Array, arrays) so that msgpack carries it unchanged. `validateRaftMessage` is the gate at the
 * actor boundary: anything that is not exactly one of these shapes is rejected with a reason, never
 * thrown, so a corrupt or hostile peer cannot crash the etcd actor.
 *
 * Messages of type `propose`, `readIndex` and `transferLeader` are forwarded requests from a
 * follower to its leader; they carry term 0 and are exempt from term checks (as in etcd-io/raft).
 */
import type { Entry, EntryType, NodeId, Snapshot } from './types.js';

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (§5.2). `force` marks a leader-transfer election, which ignores the leader lease. */
export interface VoteMessage extends Envelope {
  readonly type: 'vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly force: boolean;
}

/** PreVote (dissertation §9.6): `term` is the term the sender would campaign in; nobody adopts it. */
export interface PreVoteMessage extends Envelope {
  readonly type: 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
}

export interface VoteRespMessage extends Envelope {
  readonly type: 'voteResp' | 'preVoteResp';
  readonly reject: boolean;
}

/** AppendEntries (§5.3). `commit` is the leader's commit index. */
export interface AppendMessage extends Envelope {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Reply to append or snapshot. On success `index` is the follower's last index known to match the
 * leader. On reject, `index` echoes the rejected prevIndex and (hintIndex, hintTerm) is the
 * follower's last entry that could still match, for one-round-trip back-off (§5.3, last paragraph).
 */
export interface AppendRespMessage extends Envelope {
  readonly type: 'appendResp';
  readonly index: number;
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** `commit` is min(follower's match, leader commit) so a follower never commits what it lacks. */
export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** ReadIndex context being confirmed by this round, or ''. */
  readonly ctx: string;
}

export interface HeartbeatRespMessage extends Envelope {
  readonly type: 'heartbeatResp';
  readonly ctx: string;
}

/** InstallSnapshot (§7), sent whole: the state machine snapshot is small in pocketkube. */
export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

export interface ProposedEntry {
  readonly type: 'normal' | 'confChange';
  readonly data: Uint8Array;
}

/** A follower forwarding client proposals to its leader (term 0). */
export interface ProposeMessage extends Envelope {
  readonly type: 'propose';
  readonly entries: readonly ProposedEntry[];
}

/** A follower forwarding a ReadIndex request to its leader (term 0). */
export interface ReadIndexMessage extends Envelope {
  readonly type: 'readIndex';
  readonly ctx: string;
}

/** The leader's answer: reads for `ctx` are linearizable once the follower has applied `index`. */
export interface ReadIndexRespMessage extends Envelope {
  readonly type: 'readIndexResp';
  readonly ctx: string;
  readonly index: number;
}

/** Leader transfer (dissertation §3.10): the target starts an election at once. */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeoutNow';
}

/** A follower forwarding a leader-transfer request to its leader (term 0). */
export interface TransferLeaderMessage extends Envelope {
  readonly type: 'transferLeader';
  readonly target: NodeId;
}

export type RaftMessage =
  | VoteMessage
  | PreVoteMessage
  | VoteRespMessage
  | AppendMessage
  | AppendRespMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | SnapshotMessage
  | ProposeMessage
  | ReadIndexMessage
  | ReadIndexRespMessage
  | TimeoutNowMessage
  | TransferLeaderMessage;

export type RaftMessageType = RaftMessage['type'];

/** Forwarded requests: carry term 0 and skip term handling. */
export function isTermless(type: RaftMessageType): boolean {
  return type === 'propose' || type === 'readIndex' || type === 'transferLeader';
}

// ---- validation at the actor boundary ----

export const maxNodeIdLength = 256;
export const maxReadCtxLength = 1024;
const maxEntriesPerMessage = 65_536;
export const maxVotersInConf = 64;

type Fields = Record<string, unknown>;

class Invalid extends Error {}

function fail(reason: string): never {
  throw new Invalid(reason);
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function index(o: Fields, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${key} must be a non-negative integer`);
  return v;
}

function str(o: Fields, key: string, maxLength: number, allowEmpty: boolean): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${key} must be a string`);
  if (v.length > maxLength) fail(`${key} longer than ${maxLength}`);
  if (!allowEmpty && v.length === 0) fail(`${key} must not be empty`);
  return v;
}

function bool(o: Fields, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(`${key} must be a boolean`);
  return v;
}

function bytes(o: Fields, key: string): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array)) fail(`${key} must be bytes`);
  return v;
}

const entryTypes: ReadonlySet<string> = new Set<EntryType>(['normal', 'confChange', 'noop']);

function validateEntry(raw: unknown): Entry {
  if (!isRecord(raw)) fail('entry must be an object');
  index(raw, 'term');
  if (index(raw, 'index') < 1) fail('entry index must be >= 1');
  if (typeof raw.type !== 'string' || !entryTypes.has(raw.type)) fail('entry type unknown');
  bytes(raw, 'data');
  return raw as unknown as Entry;
}

function array(o: Fields, key: string, max: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${key} must be an array`);
  if (v.length > max) fail(`${key} has more than ${max} items`);
  return v;
}

function validateAppend(o: Fields, term: number): void {
  const prevIndex = index(o, 'prevIndex');
  let lastTerm = index(o, 'prevTerm');
  index(o, 'commit');
  const entries = array(o, 'entries', maxEntriesPerMessage);
  for (let i = 0; i < entries.length; i++) {
    const e = validateEntry(entries[i]);
    // The consistency check and the follower's truncation rely on these; a peer breaking them is corrupt.
    if (e.index !== prevIndex + 1 + i) fail('append entries not contiguous after prevIndex');
    if (e.term < lastTerm || e.term > term) fail('append entry terms out of order');
    lastTerm = e.term;
  }
  if (lastTerm > term) fail('prevTerm above message term');
}

function validateSnapshot(o: Fields): void {
  const snap = o.snapshot;
  if (!isRecord(snap)) fail('snapshot must be an object');
  bytes(snap, 'data');
  const meta = snap.metadata;
  if (!isRecord(meta)) fail('snapshot metadata must be an object');
  if (index(meta, 'index') < 1) fail('snapshot index must be >= 1');
  index(meta, 'term');
  const conf = meta.conf;
  if (!isRecord(conf)) fail('snapshot conf must be an object');
  for (const key of ['voters', 'learners']) {
    for (const id of array(conf, key, maxVotersInConf)) {
      if (typeof id !== 'string' || id.length === 0 || id.length > maxNodeIdLength) fail(`conf ${key} must be node ids`);
    }
  }
}

function validateProposed(raw: unknown): void {
  if (!isRecord(raw)) fail('proposed entry must be an object');
  if (raw.type !== 'normal' && raw.type !== 'confChange') fail('proposed entry type unknown');
  bytes(raw, 'data');
}

function validateBody(o: Fields, type: RaftMessageType, term: number): void {
  switch (type) {
    case 'vote':
      index(o, 'lastIndex');
      index(o, 'lastTerm');
      bool(o, 'force');
      return;
    case 'preVote':
      index(o, 'lastIndex');
      index(o, 'lastTerm');
      return;
    case 'voteResp':
    case 'preVoteResp':
      bool(o, 'reject');
      return;
    case 'append':
      validateAppend(o, term);
      return;
    case 'appendResp':
      index(o, 'index');
      bool(o, 'reject');
      index(o, 'hintIndex');
      index(o, 'hintTerm');
      return;
    case 'heartbeat':
      index(o, 'commit');
      str(o, 'ctx', maxReadCtxLength, true);
      return;
    case 'heartbeatResp':
      str(o, 'ctx', maxReadCtxLength, true);
      return;
    case 'snapshot':
      validateSnapshot(o);
      return;
    case 'propose':
      for (const e of array(o, 'entries', maxEntriesPerMessage)) validateProposed(e);
      return;
    case 'readIndex':
      str(o, 'ctx', maxReadCtxLength, false);
      return;
    case 'readIndexResp':
      str(o, 'ctx', maxReadCtxLength, false);
      index(o, 'index');
      return;
    case 'timeoutNow':
      return;
    case 'transferLeader':
      str(o, 'target', maxNodeIdLength, false);
      return;
    default: {
      const unreachable: never = type;
      fail(`unknown type ${String(unreachable)}`);
    }
  }
}

const messageTypes: ReadonlySet<string> = new Set<RaftMessageType>([
  'vote', 'preVote', 'voteResp', 'preVoteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp',
  'snapshot', 'propose', 'readIndex', 'readIndexResp', 'timeoutNow', 'transferLeader',
]);

/**
 * Checks a decoded value field by field. On success returns the same object (no copy: appends can
 * carry thousands of entries), typed; extra fields are tolerated and ignored.
 */
export function validateRaftMessage(raw: unknown): RaftMessage | { readonly error: string } {
  try {
    if (!isRecord(raw)) fail('message must be an object');
    const type = raw.type;
    if (typeof type !== 'string' || !messageTypes.has(type)) fail('unknown message type');
    str(raw, 'from', maxNodeIdLength, false);
    str(raw, 'to', maxNodeIdLength, false);
    const term = index(raw, 'term');
    if (isTermless(type as RaftMessageType) !== (term === 0)) fail('term must be 0 exactly for forwarded requests');
    validateBody(raw, type as RaftMessageType, term);
    return raw as unknown as RaftMessage;
  } catch (err) {
    if (err instanceof Invalid) return { error: `invalid raft message: ${err.message}` };
    throw err;
  }
}
