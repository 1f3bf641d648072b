/**
 * The MVCC key-value state machine (etcd's mvcc package, in memory, without Raft).
 *
 * Layout: every change of a key is a `Revisioned` record; a key's records sit in an ascending
 * array (binary-searched for historical reads); keys sit in an ordered index for range scans;
 * all records since the compaction point also sit in one revision-ordered change log, which feeds
 * watchers (replay without scanning every key) and is cut at compaction. A record is shared by
 * the three structures, so a put allocates one record and never copies the store.
 *
 * Revisions: the store starts at revision 1 (as etcd does); each write request (put, delete that
 * deleted something, txn with at least one change) takes the next revision; the changes inside
 * one request are ordered by `sub`. Compact(r) keeps every record at or after r plus, for each
 * key, its last record before r when that record is a live value, so reads at any revision >= r
 * and watch replays from r are exact; reads below r fail with `compacted`.
 *
 * Physical compaction is incremental: `compact` only moves the logical floor and queues the keys
 * touched by the discarded log prefix; `compactionStep(maxKeys)` prunes a bounded number of them
 * (`compact` runs one step of `compactionStepKeys` at once). Reads are exact while keys wait.
 */
import { crc32Final, crc32Init, crc32Update } from './crc32.js';
import { SortedKeys } from './sorted-keys.js';
import {
  type Compare, type CompactResponse, type DeleteRangeRequest, type DeleteRangeResponse, type KeySelector,
  type KeyValue, type PutRequest, type PutResponse, type RangeRequest, type RangeResponse, type RequestOp,
  type ResponseOp, type Result, type TxnRequest, type TxnResponse, type WatchEvent,
  fail, ok,
} from './types.js';
import { assert, assertNever } from '../primitives/assert.js';

/** Keys pruned by the step that `compact` runs itself; the rest wait for `compactionStep`. */
const compactionStepKeys = 10_000;

const emptyValue = new Uint8Array(0);

/** One change of one key. Shared between the key's history, the key index and the change log. */
export interface Revisioned {
  readonly key: string;
  readonly modRevision: number;
  /** Order of this change inside its revision. */
  readonly sub: number;
  /** 0 for a tombstone. */
  readonly createRevision: number;
  /** 0 for a tombstone. */
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: number;
  readonly tombstone: boolean;
  /** The key's live value just before this change (prevKv), while it is still retained. */
  readonly prev: Revisioned | undefined;
}

interface Rec extends Revisioned {
  prev: Rec | undefined;
}

/** What the store needs from the lessor: existence checks and key attachment bookkeeping. */
export interface LeaseIndex {
  has(lease: number): boolean;
  attach(lease: number, key: string): void;
  detach(lease: number, key: string): void;
}

const noLeases: LeaseIndex = {
  has: () => false,
  attach: () => assert(false, 'attach without a lessor'),
  detach: () => assert(false, 'detach without a lessor'),
};

/** One write in progress: every change gets `revision` and the next `sub`. */
interface WriteTxn {
  readonly revision: number;
  sub: number;
}

/** Resolved key bounds: [from, to); `to` undefined = unbounded; `single` = exactly one key. */
interface Bounds {
  readonly from: string;
  readonly to: string | undefined;
  readonly single: boolean;
}

export interface HashKvResult {
  readonly hash: number;
  readonly revision: number;
  readonly compactRevision: number;
}

/** The serialisable form of a store (see snapshot.ts). Records per key, ascending. */
export interface MvccState {
  readonly revision: number;
  readonly compactRevision: number;
  /** [key, records]; a record is [modRevision, sub, createRevision, version, lease, value | null (tombstone)]. */
  readonly keys: [string, [number, number, number, number, number, Uint8Array | null][]][];
}

export class MvccStore {
  private readonly history = new Map<string, Rec[]>();
  private readonly index = new SortedKeys();
  /** Change log since the compaction point, ordered by (modRevision, sub); starts at `logHead`. */
  private log: Rec[] = [];
  private logHead = 0;
  private revision = 1;
  private compacted = 0;
  private readonly pendingCompaction = new Set<string>();

  constructor(private readonly leases: LeaseIndex = noLeases) {}

  get currentRevision(): number {
    return this.revision;
  }

  /** Reads below this revision fail with `compacted`; 0 before any compaction. */
  get compactRevision(): number {
    return this.compacted;
  }

  /** Keys that have a live value at the current revision or retained history. */
  get indexedKeys(): number {
    return this.index.size;
  }

  get pendingCompactionKeys(): number {
    return this.pendingCompaction.size;
  }

  range(request: RangeRequest): Result<RangeResponse> {
    const checked = this.checkReadRevision(request.revision ?? 0, this.revision);
    if (!checked.ok) return checked;
    return ok(this.rangeAt(request, checked.value, this.revision));
  }

  put(request: PutRequest): Result<PutResponse> {
    const checked = this.checkPut(request);
    if (!checked.ok) return checked;
    const w = this.begin();
    const prev = this.applyPut(w, request);
    this.end(w);
    return ok(putResponse(this.revision, request, prev));
  }

  deleteRange(request: DeleteRangeRequest): Result<DeleteRangeResponse> {
    const w = this.begin();
    const response = this.applyDeleteRange(w, request);
    this.end(w);
    return ok({ ...response, header: { revision: this.revision } });
  }

  /** Compares, then one branch of operations, all under one revision. */
  txn(request: TxnRequest): Result<TxnResponse> {
    for (const branch of [request.success, request.failure]) {
      const duplicate = findDuplicateKey(branch);
      if (duplicate !== undefined) return fail({ code: 'duplicateKey', key: duplicate });
    }
    for (const compare of request.compare) {
      if ((compare.target === 'value') !== (compare.operand instanceof Uint8Array)) {
        return fail({ code: 'malformed', reason: `compare on ${compare.target} needs a ${compare.target === 'value' ? 'byte' : 'number'} operand` });
      }
    }
    const succeeded = request.compare.every((compare) => this.evaluate(compare));
    const ops = succeeded ? request.success : request.failure;
    const checked = this.checkOps(ops);
    if (!checked.ok) return checked;
    const w = this.begin();
    const responses = ops.map((op) => this.applyOp(w, op));
    this.end(w);
    return ok({ header: { revision: this.revision }, succeeded, responses });
  }

  compact(revision: number): Result<CompactResponse> {
    if (revision <= this.compacted) return fail({ code: 'compacted', compactRevision: this.compacted });
    if (revision > this.revision) return fail({ code: 'futureRevision', currentRevision: this.revision });
    this.compacted = revision;
    let head = this.logHead;
    while (head < this.log.length && this.log[head]!.modRevision < revision) {
      this.pendingCompaction.add(this.log[head]!.key);
      head++;
    }
    this.logHead = head;
    // Cut the consumed prefix only when it dominates, so that the cost stays amortised O(1) per record.
    if (head > 1024 && head * 2 > this.log.length) {
      this.log = this.log.slice(head);
      this.logHead = 0;
    }
    this.compactionStep(compactionStepKeys);
    return ok({ header: { revision: this.revision } });
  }

  /** Prunes the history of at most `maxKeys` queued keys; returns how many keys still wait. */
  compactionStep(maxKeys: number): number {
    let done = 0;
    for (const key of this.pendingCompaction) {
      if (done >= maxKeys) break;
      this.pendingCompaction.delete(key);
      this.prune(key);
      done++;
    }
    return this.pendingCompaction.size;
  }

  /**
   * Deletes every key attached to a lease set (etcd's lease revoke): one revision for all of them,
   * none if no key is live. Returns the number deleted.
   */
  deleteKeys(keys: Iterable<string>): { deleted: number; revision: number } {
    const w = this.begin();
    let deleted = 0;
    for (const key of [...keys].sort()) if (this.applyDelete(w, key)) deleted++;
    this.end(w);
    return { deleted, revision: this.revision };
  }

  /** The live value of `key` now, if any. */
  get(key: string): KeyValue | undefined {
    const rec = this.liveAt(key, this.revision);
    return rec ? toKeyValue(rec, false) : undefined;
  }

  /**
   * Visits the changes with modRevision in [fromRevision, toRevision] in (revision, sub) order.
   * `fromRevision` must be >= the compaction revision (the caller checks). Stop by returning false.
   */
  changes(fromRevision: number, toRevision: number, visit: (change: Revisioned) => boolean | void): void {
    assert(fromRevision >= this.compacted, `changes from ${fromRevision} below compaction ${this.compacted}`);
    for (let i = this.logPosition(fromRevision); i < this.log.length; i++) {
      const rec = this.log[i]!;
      if (rec.modRevision > toRevision) return;
      if (visit(rec) === false) return;
    }
  }

  /** Every live key with its lease (to rebuild a lessor's attachments after a restore). */
  forEachLive(visit: (key: string, lease: number) => void): void {
    this.index.scan('', undefined, (key) => {
      const rec = this.liveAt(key, this.revision);
      if (rec) visit(key, rec.lease);
    });
  }

  /**
   * A deterministic hash of the retained key-value history up to `revision` (etcd's HashKV):
   * two members that applied the same log and compacted at the same revision agree.
   */
  hashKv(revision = this.revision): Result<HashKvResult> {
    const checked = this.checkReadRevision(revision, this.revision);
    if (!checked.ok) return checked;
    const encoder = new TextEncoder();
    const scratch = new DataView(new ArrayBuffer(8));
    const scratchBytes = new Uint8Array(scratch.buffer);
    let crc = crc32Init;
    const mix = (n: number): void => {
      scratch.setFloat64(0, n);
      crc = crc32Update(crc, scratchBytes);
    };
    this.index.scan('', undefined, (key) => {
      const retained = this.retained(key).filter((rec) => rec.modRevision <= revision);
      if (retained.length === 0) return;
      crc = crc32Update(crc, encoder.encode(key));
      mix(retained.length);
      for (const rec of retained) {
        mix(rec.modRevision); mix(rec.sub); mix(rec.createRevision); mix(rec.version); mix(rec.lease);
        mix(rec.tombstone ? 1 : 0); mix(rec.value.length);
        crc = crc32Update(crc, rec.value);
      }
    });
    return ok({ hash: crc32Final(crc), revision, compactRevision: this.compacted });
  }

  exportState(): MvccState {
    const keys: MvccState['keys'] = [];
    this.index.scan('', undefined, (key) => {
      const records = this.retained(key).map((r): MvccState['keys'][number][1][number] =>
        [r.modRevision, r.sub, r.createRevision, r.version, r.lease, r.tombstone ? null : r.value]);
      if (records.length > 0) keys.push([key, records]);
    });
    return { revision: this.revision, compactRevision: this.compacted, keys };
  }

  /** Rebuilds a store from `exportState` output. Lease attachments are left to the caller. */
  static fromState(state: MvccState, leases: LeaseIndex = noLeases): MvccStore {
    const store = new MvccStore(leases);
    store.revision = state.revision;
    store.compacted = state.compactRevision;
    const log: Rec[] = [];
    for (const [key, records] of state.keys) {
      const history: Rec[] = [];
      let live: Rec | undefined;
      for (const [modRevision, sub, createRevision, version, lease, value] of records) {
        const tombstone = value === null;
        const rec: Rec = { key, modRevision, sub, createRevision, version, lease, tombstone, value: value ?? emptyValue, prev: live };
        assert(history.length === 0 || history[history.length - 1]!.modRevision < modRevision, `history of ${key} not ascending`);
        history.push(rec);
        live = tombstone ? undefined : rec;
        if (modRevision >= state.compactRevision) log.push(rec);
      }
      if (history.length === 0) continue;
      history[0]!.prev = undefined;
      store.history.set(key, history);
      store.index.insert(key);
    }
    log.sort((a, b) => a.modRevision - b.modRevision || a.sub - b.sub);
    store.log = log;
    return store;
  }

  // ---- reads ----

  private checkReadRevision(requested: number, current: number): Result<number> {
    const revision = requested > 0 ? requested : current;
    if (revision > current) return fail({ code: 'futureRevision', currentRevision: current });
    if (revision < this.compacted) return fail({ code: 'compacted', compactRevision: this.compacted });
    return ok(revision);
  }

  private rangeAt(request: RangeRequest, revision: number, headerRevision: number): RangeResponse {
    const limit = request.limit && request.limit > 0 ? request.limit : Infinity;
    const kvs: KeyValue[] = [];
    let count = 0;
    this.forEachLiveIn(bounds(request), revision, (rec) => {
      count++;
      if (!request.countOnly && kvs.length < limit) kvs.push(toKeyValue(rec, request.keysOnly === true));
    });
    return { header: { revision: headerRevision }, kvs, more: count > kvs.length && !request.countOnly, count };
  }

  private forEachLiveIn(b: Bounds, revision: number, visit: (rec: Rec) => void): void {
    if (b.single) {
      const rec = this.liveAt(b.from, revision);
      if (rec) visit(rec);
      return;
    }
    this.index.scan(b.from, b.to, (key) => {
      const rec = this.liveAt(key, revision);
      if (rec) visit(rec);
    });
  }

  /** The key's live record at `revision`, or undefined when absent or deleted then. */
  private liveAt(key: string, revision: number): Rec | undefined {
    const history = this.history.get(key);
    if (!history) return undefined;
    let lo = 0;
    let hi = history.length;
    if (history[hi - 1]!.modRevision <= revision) {
      lo = hi;
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (history[mid]!.modRevision <= revision) lo = mid + 1;
        else hi = mid;
      }
    }
    const rec = history[lo - 1];
    return rec && !rec.tombstone ? rec : undefined;
  }

  private evaluate(compare: Compare): boolean {
    const matches: Rec[] = [];
    this.forEachLiveIn(bounds(compare), this.revision, (rec) => { matches.push(rec); });
    // etcd: a missing key compares as all-zero, except that a value compare is false.
    if (matches.length === 0) return compare.target !== 'value' && compareOne(undefined, compare);
    return matches.every((rec) => compareOne(rec, compare));
  }

  // ---- writes ----

  private begin(): WriteTxn {
    return { revision: this.revision + 1, sub: 0 };
  }

  private end(w: WriteTxn): void {
    if (w.sub > 0) this.revision = w.revision;
  }

  private checkPut(request: PutRequest): Result<true> {
    const live = this.liveAt(request.key, this.revision);
    if ((request.ignoreValue || request.ignoreLease) && !live) return fail({ code: 'keyNotFound', key: request.key });
    const lease = request.lease ?? 0;
    if (lease !== 0 && !request.ignoreLease && !this.leases.has(lease)) return fail({ code: 'leaseNotFound', lease });
    return ok(true);
  }

  /** Everything that could fail is checked before the first change, so a txn never half-applies. */
  private checkOps(ops: readonly RequestOp[]): Result<true> {
    for (const op of ops) {
      if (op.type === 'put') {
        const checked = this.checkPut(op.request);
        if (!checked.ok) return checked;
      } else if (op.type === 'range') {
        const checked = this.checkReadRevision(op.request.revision ?? 0, this.revision);
        if (!checked.ok) return checked;
      }
    }
    return ok(true);
  }

  private applyOp(w: WriteTxn, op: RequestOp): ResponseOp {
    switch (op.type) {
      case 'range': {
        // Reads after this txn's own writes see them (as in etcd).
        const current = w.sub > 0 ? w.revision : this.revision;
        const revision = op.request.revision && op.request.revision > 0 ? op.request.revision : current;
        return { type: 'range', response: this.rangeAt(op.request, revision, current) };
      }
      case 'put': {
        const prev = this.applyPut(w, op.request);
        return { type: 'put', response: putResponse(w.revision, op.request, prev) };
      }
      case 'deleteRange':
        return { type: 'deleteRange', response: { ...this.applyDeleteRange(w, op.request), header: { revision: w.revision } } };
      default:
        return assertNever(op, 'request op');
    }
  }

  private applyPut(w: WriteTxn, request: PutRequest): Rec | undefined {
    const history = this.history.get(request.key);
    const last = history?.[history.length - 1];
    assert(!last || last.modRevision < w.revision, `key ${request.key} changed twice in revision ${w.revision}`);
    const live = last && !last.tombstone ? last : undefined;
    const value = request.ignoreValue ? live!.value : request.value;
    const lease = request.ignoreLease ? live!.lease : request.lease ?? 0;
    const rec: Rec = {
      key: request.key, modRevision: w.revision, sub: w.sub++, createRevision: live ? live.createRevision : w.revision,
      version: live ? live.version + 1 : 1, value, lease, tombstone: false, prev: live,
    };
    if (history) history.push(rec);
    else {
      this.history.set(request.key, [rec]);
      this.index.insert(request.key);
    }
    if (live && live.lease !== 0 && live.lease !== lease) this.leases.detach(live.lease, request.key);
    if (lease !== 0 && live?.lease !== lease) this.leases.attach(lease, request.key);
    this.log.push(rec);
    return live;
  }

  private applyDeleteRange(w: WriteTxn, request: DeleteRangeRequest): { deleted: number; prevKvs?: KeyValue[] } {
    const keys: string[] = [];
    // Reading at the txn's own revision sees its earlier changes (records at it exist only if made here).
    this.forEachLiveIn(bounds(request), w.revision, (rec) => { keys.push(rec.key); });
    const prevKvs: KeyValue[] = [];
    for (const key of keys) {
      const prev = this.applyDelete(w, key);
      if (prev && request.prevKv) prevKvs.push(toKeyValue(prev, false));
    }
    return request.prevKv ? { deleted: keys.length, prevKvs } : { deleted: keys.length };
  }

  /** Deletes `key` if live; returns the deleted record. */
  private applyDelete(w: WriteTxn, key: string): Rec | undefined {
    const history = this.history.get(key);
    const last = history?.[history.length - 1];
    if (!history || !last || last.tombstone) return undefined;
    assert(last.modRevision < w.revision, `key ${key} changed twice in revision ${w.revision}`);
    const rec: Rec = {
      key, modRevision: w.revision, sub: w.sub++, createRevision: 0, version: 0, value: emptyValue, lease: 0,
      tombstone: true, prev: last,
    };
    history.push(rec);
    if (last.lease !== 0) this.leases.detach(last.lease, key);
    this.log.push(rec);
    return last;
  }

  // ---- compaction ----

  /** The records of `key` that compaction keeps (all of them once the key is pruned). */
  private retained(key: string): Rec[] {
    const history = this.history.get(key) ?? [];
    const firstKept = this.firstRetained(history);
    return firstKept === 0 ? history : history.slice(firstKept);
  }

  private firstRetained(history: readonly Rec[]): number {
    let i = 0;
    while (i < history.length && history[i]!.modRevision < this.compacted) i++;
    // i = first record at or after the floor; keep the one before it if it is a live value.
    if (i > 0 && !history[i - 1]!.tombstone) return i - 1;
    return i;
  }

  private prune(key: string): void {
    const history = this.history.get(key);
    if (!history) return;
    const firstKept = this.firstRetained(history);
    if (firstKept === 0) return;
    history.splice(0, firstKept);
    if (history.length === 0) {
      this.history.delete(key);
      this.index.delete(key);
      return;
    }
    const first = history[0]!;
    if (first.modRevision < this.compacted) first.prev = undefined;
  }

  /** Position in `log` of the first change at or after `revision`. */
  private logPosition(revision: number): number {
    let lo = this.logHead;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.log[mid]!.modRevision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---- helpers ----

function toKeyValue(rec: Revisioned, keysOnly: boolean): KeyValue {
  return {
    key: rec.key, value: keysOnly ? emptyValue : rec.value, createRevision: rec.createRevision,
    modRevision: rec.modRevision, version: rec.version, lease: rec.lease,
  };
}

export function toEvent(rec: Revisioned, withPrevKv: boolean): WatchEvent {
  const kv = toKeyValue(rec, false);
  const type = rec.tombstone ? 'delete' : 'put';
  return withPrevKv && rec.prev ? { type, kv, prevKv: toKeyValue(rec.prev, false) } : { type, kv };
}

function putResponse(revision: number, request: PutRequest, prev: Rec | undefined): PutResponse {
  return request.prevKv && prev ? { header: { revision }, prevKv: toKeyValue(prev, false) } : { header: { revision } };
}

/**
 * The end of the range of keys starting with `prefix` (etcd's GetPrefixRangeEnd): the prefix
 * with its last code unit incremented; undefined = no upper bound.
 */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix;
  while (end.length > 0) {
    const last = end.charCodeAt(end.length - 1);
    if (last < 0xffff) return end.slice(0, -1) + String.fromCharCode(last + 1);
    end = end.slice(0, -1);
  }
  return undefined;
}

/** Resolves a selector: `prefix`, else `rangeEnd` ('\0' = every key >= key), else one key. */
export function bounds(selector: KeySelector): Bounds {
  if (selector.prefix) return { from: selector.key, to: prefixEnd(selector.key), single: false };
  if (selector.rangeEnd === undefined || selector.rangeEnd === '') return { from: selector.key, to: undefined, single: true };
  if (selector.rangeEnd === '\0') return { from: selector.key, to: undefined, single: false };
  return { from: selector.key, to: selector.rangeEnd, single: false };
}

function selectorContains(selector: KeySelector, key: string): boolean {
  const b = bounds(selector);
  if (b.single) return key === b.from;
  return key >= b.from && (b.to === undefined || key < b.to);
}

function compareOne(rec: Rec | undefined, compare: Compare): boolean {
  let order: number;
  if (compare.target === 'value') {
    order = compareBytes(rec?.value ?? emptyValue, compare.operand as Uint8Array);
  } else {
    const actual = rec === undefined ? 0 : rec[compare.target];
    order = Math.sign(actual - (compare.operand as number));
  }
  switch (compare.result) {
    case '=': return order === 0;
    case '!=': return order !== 0;
    case '>': return order > 0;
    case '<': return order < 0;
    default: return assertNever(compare.result, 'compare result');
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return Math.sign(a.length - b.length);
}

/**
 * etcd's checkIntervals: in one branch a key may be put at most once and may not be put inside
 * a range the same branch deletes. Returns the offending key.
 */
function findDuplicateKey(ops: readonly RequestOp[]): string | undefined {
  const puts = new Set<string>();
  const deletes: KeySelector[] = [];
  for (const op of ops) {
    if (op.type === 'put') {
      if (puts.has(op.request.key)) return op.request.key;
      puts.add(op.request.key);
    } else if (op.type === 'deleteRange') deletes.push(op.request);
  }
  for (const key of puts) if (deletes.some((selector) => selectorContains(selector, key))) return key;
  return undefined;
}
