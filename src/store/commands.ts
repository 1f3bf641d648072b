/**
 * The commands that travel through the Raft log, their validation, and the replicated state
 * machine that applies them (MVCC store + lessor), with the whole-machine snapshot.
 *
 * `apply` is deterministic: the same commands at the same indexes give the same state and
 * results on every member. Bad user input (unknown command, wrong field types, sizes over the
 * limits) becomes a typed error result; only broken invariants throw.
 */
import { pack, unpack } from 'msgpackr';
import { type SessionLimits, SessionTable } from '../raft/sessions.js';
import { Lessor, type LeaseState, maxLeaseId, maxLeaseTtlSeconds } from './lease.js';
import { type HashKvResult, type MvccState, MvccStore } from './mvcc.js';
import {
  type CompactResponse, type DeleteRangeRequest, type DeleteRangeResponse, type PutRequest, type PutResponse,
  type RangeRequest, type RangeResponse, type ResponseHeader, type Result, type TxnRequest, type TxnResponse, fail, ok,
} from './types.js';
import { assert, assertNever } from '../primitives/assert.js';

/** etcd's --max-request-bytes default. */
export const maxRequestBytes = 1.5 * 1024 * 1024;
/** etcd's --max-txn-ops default (per compare list and per branch). */
export const maxTxnOps = 128;
/** Longer than any Kubernetes key (`/registry/` + resource + 63-char namespace + 253-char name). */
export const maxKeyBytes = 1536;
const maxValueBytes = maxRequestBytes;
/** Leases named in one checkpoint command. */
const maxCheckpointsPerCommand = 1000;
const maxClientIdLength = 256;

/** Client de-duplication metadata (Raft paper §8): a retried command carries the same pair. */
export interface CommandMeta {
  readonly clientId: string;
  readonly seq: number;
}

export type Command = (
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly revision: number }
  /** id 0: the state machine picks one deterministically from the log index. */
  | { readonly type: 'leaseGrant'; readonly id: number; readonly ttlSeconds: number }
  | { readonly type: 'leaseRevoke'; readonly id: number }
  /** Replicated remaining TTLs: [leaseId, remainingSeconds] (0 clears a checkpoint). */
  | { readonly type: 'leaseCheckpoint'; readonly checkpoints: readonly (readonly [number, number])[] }
) & { readonly meta?: CommandMeta };

export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: number;
  readonly ttlSeconds: number;
}

export type CommandResponse =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse }
  | { readonly type: 'compact'; readonly response: CompactResponse }
  | { readonly type: 'leaseGrant'; readonly response: LeaseGrantResponse }
  | { readonly type: 'leaseRevoke'; readonly response: { readonly header: ResponseHeader; readonly deleted: number } }
  | { readonly type: 'leaseCheckpoint'; readonly response: { readonly header: ResponseHeader } };

export type ApplyResult = Result<CommandResponse>;

export interface StateMachineOptions {
  /** Monotonic milliseconds (the injected Clock's `now`); used only for local lease deadlines. */
  readonly now: () => number;
  readonly minLeaseTtlSeconds: number;
  /**
   * Exactly-once commands: with limits, the machine keeps a replicated SessionTable
   * (src/raft/sessions.ts) and a write command carrying `meta` already applied returns its first
   * result. Reads (`range`) are not de-duplicated: running them twice is harmless.
   */
  readonly sessionLimits?: SessionLimits;
}

// ---- encoding and validation ----

export function encodeCommand(command: Command): Uint8Array {
  // pack() returns a view into a reused buffer: copy it.
  return Uint8Array.from(pack(command));
}

export function decodeCommand(data: Uint8Array): Result<Command> {
  let raw: unknown;
  try {
    raw = unpack(data);
  } catch (error) {
    return malformed(`undecodable command: ${error instanceof Error ? error.message : String(error)}`);
  }
  return validateCommand(raw);
}

function malformed<T>(reason: string): Result<T> {
  return fail({ code: 'malformed', reason });
}

type Fields = Record<string, unknown>;

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

const isBool = (v: unknown): boolean => typeof v === 'boolean';

/** UTF-8 length without encoding (keys are checked on every command). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c < 0xdc00) { bytes += 2; i++; } // a surrogate pair: 4 bytes for 2 units
    else bytes += 2;
  }
  return bytes;
}

/** Checks a decoded value is a well-formed command within the limits. Never throws. */
export function validateCommand(raw: unknown): Result<Command> {
  if (!isRecord(raw)) return malformed('command is not an object');
  if (!optional(raw['meta'], (m) => isRecord(m) && typeof m['clientId'] === 'string'
    && m['clientId'].length <= maxClientIdLength && isCount(m['seq']))) return malformed('bad meta');
  const size = { bytes: 0 };
  const checked = validateBody(raw, size);
  if (!checked.ok) return checked;
  if (size.bytes > maxRequestBytes) return fail({ code: 'requestTooLarge', sizeBytes: size.bytes, limit: maxRequestBytes });
  return ok(raw as unknown as Command);
}

function validateBody(raw: Fields, size: { bytes: number }): Result<true> {
  const type = raw['type'];
  switch (type) {
    case 'range': return validateRange(raw['request'], size);
    case 'put': return validatePut(raw['request'], size);
    case 'deleteRange': return validateDelete(raw['request'], size);
    case 'txn': return validateTxn(raw['request'], size);
    case 'compact':
      return isCount(raw['revision']) && raw['revision'] > 0 ? ok(true) : malformed('compact needs a positive revision');
    case 'leaseGrant':
      if (!isCount(raw['id']) || raw['id'] > maxLeaseId) return malformed('bad lease id');
      if (!isCount(raw['ttlSeconds'])) return malformed('bad lease ttl');
      if (raw['ttlSeconds'] > maxLeaseTtlSeconds) return fail({ code: 'leaseTtlTooLarge', ttlSeconds: raw['ttlSeconds'], limit: maxLeaseTtlSeconds });
      return ok(true);
    case 'leaseRevoke':
      return isCount(raw['id']) && raw['id'] > 0 ? ok(true) : malformed('bad lease id');
    case 'leaseCheckpoint': {
      const list = raw['checkpoints'];
      if (!Array.isArray(list) || list.length > maxCheckpointsPerCommand) return malformed('bad checkpoints');
      const good = list.every((c: unknown) => Array.isArray(c) && c.length === 2 && isCount(c[0]) && isCount(c[1]));
      return good ? ok(true) : malformed('bad checkpoint entry');
    }
    default:
      return malformed(`unknown command type ${JSON.stringify(type)}`);
  }
}

function validateSelector(raw: Fields, size: { bytes: number }): Result<true> {
  const key = raw['key'];
  if (typeof key !== 'string') return malformed('key must be a string');
  if (!optional(raw['rangeEnd'], (v) => typeof v === 'string') || !optional(raw['prefix'], isBool)) return malformed('bad range end');
  if (key === '' && !raw['prefix'] && raw['rangeEnd'] !== '\0') return fail({ code: 'emptyKey' });
  const keyBytes = utf8Length(key);
  if (keyBytes > maxKeyBytes) return fail({ code: 'keyTooLarge', sizeBytes: keyBytes, limit: maxKeyBytes });
  size.bytes += keyBytes + (typeof raw['rangeEnd'] === 'string' ? utf8Length(raw['rangeEnd']) : 0);
  return ok(true);
}

function validateRange(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('range request is not an object');
  if (!optional(raw['limit'], isCount) || !optional(raw['revision'], isCount)) return malformed('bad limit or revision');
  if (!optional(raw['countOnly'], isBool) || !optional(raw['keysOnly'], isBool)) return malformed('bad range flags');
  return validateSelector(raw, size);
}

function validatePut(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('put request is not an object');
  if (typeof raw['key'] !== 'string') return malformed('key must be a string');
  if (raw['key'] === '') return fail({ code: 'emptyKey' });
  const keyBytes = utf8Length(raw['key']);
  if (keyBytes > maxKeyBytes) return fail({ code: 'keyTooLarge', sizeBytes: keyBytes, limit: maxKeyBytes });
  const value = raw['value'];
  if (!(value instanceof Uint8Array)) return malformed('value must be bytes');
  if (value.length > maxValueBytes) return fail({ code: 'valueTooLarge', sizeBytes: value.length, limit: maxValueBytes });
  if (!optional(raw['lease'], (v) => isCount(v) && v <= maxLeaseId)) return malformed('bad lease');
  for (const flag of ['prevKv', 'ignoreValue', 'ignoreLease']) if (!optional(raw[flag], isBool)) return malformed(`bad ${flag}`);
  // etcd: "value is provided" / "lease is provided" alongside the matching ignore flag.
  if (raw['ignoreValue'] && value.length > 0) return malformed('value given with ignoreValue');
  if (raw['ignoreLease'] && raw['lease']) return malformed('lease given with ignoreLease');
  size.bytes += keyBytes + value.length;
  return ok(true);
}

function validateDelete(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('deleteRange request is not an object');
  if (!optional(raw['prevKv'], isBool)) return malformed('bad prevKv');
  return validateSelector(raw, size);
}

const compareTargets = new Set(['version', 'createRevision', 'modRevision', 'value', 'lease']);
const compareResults = new Set(['=', '>', '<', '!=']);

function validateCompare(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('compare is not an object');
  const target = raw['target'];
  if (typeof target !== 'string' || !compareTargets.has(target)) return malformed('bad compare target');
  if (typeof raw['result'] !== 'string' || !compareResults.has(raw['result'])) return malformed('bad compare result');
  const operand = raw['operand'];
  if (target === 'value') {
    if (!(operand instanceof Uint8Array)) return malformed('value compare needs bytes');
    size.bytes += operand.length;
  } else if (typeof operand !== 'number' || !Number.isSafeInteger(operand)) return malformed('compare needs an integer');
  return validateSelector(raw, size);
}

function validateOp(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('op is not an object');
  switch (raw['type']) {
    case 'range': return validateRange(raw['request'], size);
    case 'put': return validatePut(raw['request'], size);
    case 'deleteRange': return validateDelete(raw['request'], size);
    default: return malformed(`unknown txn op ${JSON.stringify(raw['type'])}`);
  }
}

function validateTxn(raw: unknown, size: { bytes: number }): Result<true> {
  if (!isRecord(raw)) return malformed('txn request is not an object');
  const lists = [raw['compare'], raw['success'], raw['failure']];
  for (const list of lists) {
    if (!Array.isArray(list)) return malformed('txn needs compare, success and failure lists');
    if (list.length > maxTxnOps) return fail({ code: 'tooManyOps', limit: maxTxnOps });
  }
  for (const item of lists[0] as unknown[]) {
    const checked = validateCompare(item, size);
    if (!checked.ok) return checked;
  }
  for (const list of [lists[1], lists[2]] as unknown[][]) {
    for (const item of list) {
      const checked = validateOp(item, size);
      if (!checked.ok) return checked;
    }
  }
  return ok(true);
}

// ---- the state machine ----

const snapshotVersion = 1;

interface SnapshotBody {
  readonly v: number;
  readonly appliedIndex: number;
  readonly mvcc: MvccState;
  readonly leases: LeaseState;
  /** SessionTable.toPlain(), or null without sessions. */
  readonly sessions: unknown;
  /** An opaque blob the shell stores alongside. */
  readonly extra: Uint8Array | null;
}

export class StoreStateMachine {
  readonly lessor: Lessor;
  readonly mvcc: MvccStore;
  /** Present when `sessionLimits` was given; the shell calls `acknowledge` on it through commands only. */
  readonly sessions: SessionTable<ApplyResult> | undefined;
  private applied = 0;

  constructor(private readonly options: StateMachineOptions, restored?: { body: SnapshotBody }) {
    this.lessor = new Lessor({ minTtlSeconds: options.minLeaseTtlSeconds });
    if (restored) {
      this.lessor.importState(restored.body.leases);
      this.mvcc = MvccStore.fromState(restored.body.mvcc, this.lessor);
      this.mvcc.forEachLive((key, lease) => { if (lease !== 0) this.lessor.attach(lease, key); });
      this.applied = restored.body.appliedIndex;
    } else {
      this.mvcc = new MvccStore(this.lessor);
    }
    const plainSessions = restored?.body.sessions;
    if (options.sessionLimits) {
      this.sessions = plainSessions ? SessionTable.fromPlain<ApplyResult>(plainSessions, options.sessionLimits) : new SessionTable(options.sessionLimits);
    }
  }

  /** Index of the last log entry applied (or covered by the restored snapshot). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Applies entry data: decode, validate, apply. Undecodable data is a typed error, still consuming the index. */
  applyEntryData(data: Uint8Array, index: number): ApplyResult {
    const decoded = decodeCommand(data);
    if (!decoded.ok) {
      this.advance(index);
      return decoded;
    }
    return this.apply(decoded.value, index);
  }

  /** Applies one validated command at log `index` (strictly above the last applied index). */
  apply(command: Command, index: number): ApplyResult {
    this.advance(index);
    const meta = command.meta;
    if (!meta || !this.sessions || command.type === 'range') return this.execute(command, index);
    const seen = this.sessions.lookup(meta.clientId, meta.seq);
    switch (seen.kind) {
      case 'duplicate': return seen.result;
      case 'stale': return fail({ code: 'staleSequence', clientId: meta.clientId, seq: meta.seq });
      case 'new': {
        const result = this.execute(command, index);
        this.sessions.record(meta.clientId, meta.seq, result, index);
        return result;
      }
      default: return assertNever(seen, 'session lookup');
    }
  }

  /** Applies a no-op or configuration entry: only the applied index moves. */
  skip(index: number): void {
    this.advance(index);
  }

  hashKv(revision?: number): Result<HashKvResult> {
    return this.mvcc.hashKv(revision);
  }

  /** The whole replicated state (history since compaction, leases, applied index, sessions) as bytes. */
  snapshot(extra?: Uint8Array): Uint8Array {
    const body: SnapshotBody = {
      v: snapshotVersion, appliedIndex: this.applied, mvcc: this.mvcc.exportState(),
      leases: this.lessor.exportState(), sessions: this.sessions?.toPlain() ?? null, extra: extra ?? null,
    };
    return Uint8Array.from(pack(body));
  }

  /** Rebuilds a machine from `snapshot` bytes; a malformed snapshot is a typed error. */
  static restore(data: Uint8Array, options: StateMachineOptions): Result<{ machine: StoreStateMachine; extra: Uint8Array | undefined }> {
    let body: unknown;
    try {
      body = unpack(data);
    } catch (error) {
      return malformed(`undecodable snapshot: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isSnapshotBody(body)) return malformed('snapshot has the wrong shape or version');
    let machine: StoreStateMachine;
    try {
      machine = new StoreStateMachine(options, { body });
    } catch (error) {
      // Checksummed snapshot bytes that do not rebuild are damage we report, not a crash loop.
      return malformed(`snapshot does not restore: ${error instanceof Error ? error.message : String(error)}`);
    }
    return ok({ machine, extra: body.extra ?? undefined });
  }

  private advance(index: number): void {
    assert(Number.isSafeInteger(index) && index > this.applied, `apply index ${index} after ${this.applied}`);
    this.applied = index;
  }

  private execute(command: Command, index: number): ApplyResult {
    switch (command.type) {
      case 'range': return wrap('range', this.mvcc.range(command.request));
      case 'put': return wrap('put', this.mvcc.put(command.request));
      case 'deleteRange': return wrap('deleteRange', this.mvcc.deleteRange(command.request));
      case 'txn': return wrap('txn', this.mvcc.txn(command.request));
      case 'compact': return wrap('compact', this.mvcc.compact(command.revision));
      case 'leaseGrant': return this.grant(command.id, command.ttlSeconds, index);
      case 'leaseRevoke': return this.revoke(command.id);
      case 'leaseCheckpoint':
        for (const [id, remaining] of command.checkpoints) this.lessor.checkpoint(id, remaining);
        return ok({ type: 'leaseCheckpoint', response: { header: this.header() } });
      default: return assertNever(command, 'command');
    }
  }

  private grant(requestedId: number, ttlSeconds: number, index: number): ApplyResult {
    let id = requestedId;
    // The same choice on every member: derived from the log index, skipping ids in use.
    if (id === 0) for (id = index; this.lessor.has(id); id++);
    const granted = this.lessor.grant(id, ttlSeconds, this.options.now());
    if (!granted.ok) return granted;
    return ok({ type: 'leaseGrant', response: { header: this.header(), ...granted.value } });
  }

  private revoke(id: number): ApplyResult {
    const keys = this.lessor.keysOf(id);
    if (!keys.ok) return keys;
    const { deleted } = this.mvcc.deleteKeys(keys.value);
    this.lessor.remove(id);
    return ok({ type: 'leaseRevoke', response: { header: this.header(), deleted } });
  }

  private header(): ResponseHeader {
    return { revision: this.mvcc.currentRevision };
  }
}

function wrap<T extends CommandResponse['type']>(
  type: T, result: Result<Extract<CommandResponse, { type: T }>['response']>,
): ApplyResult {
  if (!result.ok) return result;
  return ok({ type, response: result.value } as CommandResponse);
}

function isSnapshotBody(body: unknown): body is SnapshotBody {
  if (!isRecord(body) || body['v'] !== snapshotVersion || !isCount(body['appliedIndex'])) return false;
  const mvcc = body['mvcc'];
  return isRecord(mvcc) && isCount(mvcc['revision']) && isCount(mvcc['compactRevision']) && Array.isArray(mvcc['keys'])
    && Array.isArray(body['leases']) && (body['extra'] === null || body['extra'] instanceof Uint8Array);
}

/** Convenience constructors for callers building commands. */
export const commands = {
  put: (request: PutRequest, meta?: CommandMeta): Command => ({ type: 'put', request, ...(meta ? { meta } : {}) }),
  range: (request: RangeRequest): Command => ({ type: 'range', request }),
  deleteRange: (request: DeleteRangeRequest, meta?: CommandMeta): Command => ({ type: 'deleteRange', request, ...(meta ? { meta } : {}) }),
  txn: (request: TxnRequest, meta?: CommandMeta): Command => ({ type: 'txn', request, ...(meta ? { meta } : {}) }),
  compact: (revision: number): Command => ({ type: 'compact', revision }),
  leaseGrant: (ttlSeconds: number, id = 0): Command => ({ type: 'leaseGrant', id, ttlSeconds }),
  leaseRevoke: (id: number): Command => ({ type: 'leaseRevoke', id }),
  leaseCheckpoint: (checkpoints: readonly (readonly [number, number])[]): Command => ({ type: 'leaseCheckpoint', checkpoints }),
};
