/**
 * The write-ahead log over the injected `Storage`: Raft's HardState, entry batches and snapshot
 * markers as checksummed records in numbered segment files.
 *
 * Record: [length u32 LE][~length u32 LE][crc32(payload) u32 LE][payload: msgpack]. The inverted
 * length makes a random position almost never parse as a record header, so the check "does any
 * valid record follow this bad one?" is cheap. `save` appends without syncing; `sync` makes every
 * save since the last sync durable with one fsync (group commit).
 *
 * Recovery (`Wal.open`): a bad record (bad header, truncated, bad CRC) at the end of the last
 * segment is a torn write: it and everything after it are cut off (storage.truncate) and the
 * dropped byte count is reported. A bad record followed by a valid one, or a bad record in an
 * older (rotated, hence synced) segment, is corruption: a typed error, never skipped. An entry
 * batch that starts at or below the last index overwrites that suffix (a new leader's entries win,
 * as in etcd's WAL read). Segments roll over at `segmentSizeBytes`; each new segment starts with
 * the latest HardState and snapshot marker, so segments wholly covered by a snapshot can be
 * released without losing them.
 */
import { pack, unpack } from 'msgpackr';
import type { Storage } from '../runtime/storage.js';
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { crc32 } from './crc32.js';
import { assertNever, invariant } from './types.js';

export const segmentSizeBytes = 64 * 1024 * 1024;
/** A length field above this is a corrupt header, not a record. */
export const maxRecordBytes = 128 * 1024 * 1024;
const headerBytes = 12;
const segmentPattern = /^wal-([0-9a-f]{16})-([0-9a-f]{16})\.log$/;

export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
}

export type WalError =
  | { readonly code: 'walCorrupt'; readonly segment: string; readonly offset: number; readonly reason: string }
  | { readonly code: 'walGap'; readonly segment: string; readonly expectedIndex: number; readonly foundIndex: number };

export type WalResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WalError };

export interface WalRecovery {
  readonly wal: Wal;
  /** The last HardState saved, or undefined for a fresh log. */
  readonly hardState: HardState | undefined;
  /** Contiguous, after conflict resolution; may begin at or below the latest snapshot marker. */
  readonly entries: Entry[];
  /** Snapshot markers in the order written. */
  readonly snapshots: SnapshotMarker[];
  /** Bytes cut from a torn tail (0 when the log ended cleanly). */
  readonly droppedTailBytes: number;
}

export interface WalOptions {
  readonly segmentSizeBytes?: number;
}

type RecordPayload =
  | { readonly k: 'h'; readonly t: number; readonly v: string; readonly c: number }
  | { readonly k: 'e'; readonly e: [number, number, number, Uint8Array][] }
  | { readonly k: 's'; readonly i: number; readonly t: number };

const entryTypes: readonly EntryType[] = ['normal', 'confChange', 'noop'];

interface Segment {
  readonly name: string;
  readonly seq: number;
  size: number;
  /** Highest entry index written into this segment (0 if none). */
  maxIndex: number;
}

// ---- record encoding ----

function encodeRecord(payload: RecordPayload): Uint8Array {
  const body = pack(payload);
  const out = new Uint8Array(headerBytes + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, true);
  view.setUint32(4, ~body.length >>> 0, true);
  view.setUint32(8, crc32(body), true);
  out.set(body, headerBytes);
  return out;
}

type Parse = { readonly ok: true; readonly payload: RecordPayload; readonly end: number } | { readonly ok: false; readonly reason: string };

/** Parses the record at `offset`: its header, length and CRC must all check. */
function parseRecord(bytes: Uint8Array, view: DataView, offset: number): Parse {
  if (offset + headerBytes > bytes.length) return { ok: false, reason: 'truncated header' };
  const length = view.getUint32(offset, true);
  if ((length ^ view.getUint32(offset + 4, true)) !== -1 || length === 0 || length > maxRecordBytes) {
    return { ok: false, reason: 'bad header' };
  }
  const start = offset + headerBytes;
  if (start + length > bytes.length) return { ok: false, reason: 'truncated record' };
  if (crc32(bytes, start, start + length) !== view.getUint32(offset + 8, true)) return { ok: false, reason: 'bad crc' };
  let payload: unknown;
  try {
    payload = unpack(bytes.subarray(start, start + length));
  } catch {
    return { ok: false, reason: 'undecodable payload' };
  }
  if (!isPayload(payload)) return { ok: false, reason: 'unknown record kind' };
  return { ok: true, payload, end: start + length };
}

function isPayload(value: unknown): value is RecordPayload {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { k?: unknown }).k;
  return kind === 'h' || kind === 'e' || kind === 's';
}

/** Whether some valid record starts after `offset` (distinguishes a torn tail from corruption). */
function validRecordAfter(bytes: Uint8Array, view: DataView, offset: number): boolean {
  for (let p = offset + 1; p + headerBytes <= bytes.length; p++) {
    const length = view.getUint32(p, true);
    if ((length ^ view.getUint32(p + 4, true)) !== -1 || length === 0 || p + headerBytes + length > bytes.length) continue;
    if (parseRecord(bytes, view, p).ok) return true;
  }
  return false;
}

function entryTypeCode(type: EntryType): number {
  const code = entryTypes.indexOf(type);
  invariant(code >= 0, `entry type ${type} has no WAL code`);
  return code;
}

function segmentName(seq: number, firstIndex: number): string {
  return `wal-${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.log`;
}

function toEntry(raw: [number, number, number, Uint8Array]): Entry {
  const [term, index, typeCode, data] = raw;
  const type = entryTypes[typeCode];
  invariant(type !== undefined, `entry type code ${typeCode}`);
  return { term, index, type, data };
}

// ---- replay state ----

class Replay {
  hardState: HardState | undefined;
  entries: Entry[] = [];
  snapshots: SnapshotMarker[] = [];
  /** The next index a batch may start at without leaving a gap; undefined before anything is known. */
  private nextIndex: number | undefined;

  apply(payload: RecordPayload, segment: Segment): WalError | undefined {
    switch (payload.k) {
      case 'h':
        this.hardState = { term: payload.t, vote: payload.v, commit: payload.c };
        return undefined;
      case 's':
        this.snapshots.push({ index: payload.i, term: payload.t });
        // Entries wholly covered by a newer snapshot are replaced by it (a snapshot install). With
        // no entries seen yet (a fresh log, or a segment header after older segments were released)
        // the next batch may start anywhere above the marker.
        if (this.nextIndex !== undefined && payload.i >= this.nextIndex) {
          this.entries = [];
          this.nextIndex = payload.i + 1;
        }
        return undefined;
      case 'e':
        return this.appendBatch(payload.e.map(toEntry), segment);
      default:
        return assertNever(payload, 'record kind');
    }
  }

  private appendBatch(batch: Entry[], segment: Segment): WalError | undefined {
    const first = batch[0];
    if (!first) return undefined;
    for (let i = 1; i < batch.length; i++) {
      if (batch[i]!.index !== first.index + i) return { code: 'walGap', segment: segment.name, expectedIndex: first.index + i, foundIndex: batch[i]!.index };
    }
    if (this.nextIndex !== undefined && first.index > this.nextIndex) {
      return { code: 'walGap', segment: segment.name, expectedIndex: this.nextIndex, foundIndex: first.index };
    }
    // Last write wins for an index: drop our suffix from `first.index` on.
    const head = this.entries[0];
    if (head && first.index <= this.entries[this.entries.length - 1]!.index) {
      this.entries.length = Math.max(0, first.index - head.index);
    }
    for (const entry of batch) this.entries.push(entry);
    const last = batch[batch.length - 1]!;
    this.nextIndex = last.index + 1;
    segment.maxIndex = Math.max(segment.maxIndex, last.index);
    return undefined;
  }
}

// ---- the log ----

export class Wal {
  private lastHardState: HardState | undefined;
  private lastSnapshot: SnapshotMarker | undefined;
  private lastIndex: number;

  private constructor(
    private readonly storage: Storage,
    private readonly segments: Segment[],
    replay: Replay,
    private readonly segmentLimitBytes: number,
  ) {
    this.lastHardState = replay.hardState;
    this.lastSnapshot = replay.snapshots[replay.snapshots.length - 1];
    this.lastIndex = replay.entries[replay.entries.length - 1]?.index ?? this.lastSnapshot?.index ?? 0;
  }

  /** Reads every segment, cuts a torn tail, and returns what was durable. */
  static open(storage: Storage, options: WalOptions = {}): WalResult<WalRecovery> {
    const names = storage.list().filter((name) => segmentPattern.test(name));
    const segments: Segment[] = names
      .map((name) => ({ name, seq: parseInt(segmentPattern.exec(name)![1]!, 16), size: 0, maxIndex: 0 }))
      .sort((a, b) => a.seq - b.seq);
    const replay = new Replay();
    let droppedTailBytes = 0;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const bytes = storage.read(segment.name) ?? new Uint8Array(0);
      const scanned = scanSegment(bytes, segment, replay, i === segments.length - 1);
      if (!scanned.ok) return scanned;
      if (scanned.value < bytes.length) {
        storage.truncate(segment.name, scanned.value);
        droppedTailBytes = bytes.length - scanned.value;
      }
      segment.size = scanned.value;
    }
    const wal = new Wal(storage, segments, replay, options.segmentSizeBytes ?? segmentSizeBytes);
    return {
      ok: true,
      value: { wal, hardState: replay.hardState, entries: replay.entries, snapshots: replay.snapshots, droppedTailBytes },
    };
  }

  get segmentNames(): string[] {
    return this.segments.map((segment) => segment.name);
  }

  /** Appends a HardState and/or entries (entries first, so a commit index never outruns them). Not durable until `sync`. */
  save(hardState: HardState | undefined, entries: readonly Entry[]): void {
    if (entries.length === 0 && hardState === undefined) return;
    const records: Uint8Array[] = [];
    if (entries.length > 0) {
      records.push(encodeRecord({ k: 'e', e: entries.map((e) => [e.term, e.index, entryTypeCode(e.type), e.data]) }));
    }
    if (hardState !== undefined) records.push(encodeRecord({ k: 'h', t: hardState.term, v: hardState.vote, c: hardState.commit }));
    const bytes = records.length === 1 ? records[0]! : concat(records);
    const segment = this.segmentFor(bytes.length);
    this.storage.append(segment.name, bytes);
    segment.size += bytes.length;
    if (entries.length > 0) {
      const last = entries[entries.length - 1]!.index;
      segment.maxIndex = Math.max(segment.maxIndex, last);
      this.lastIndex = last;
    }
    if (hardState !== undefined) this.lastHardState = hardState;
  }

  /** One fsync for every save since the last one. */
  sync(): void {
    const current = this.segments[this.segments.length - 1];
    if (current) this.storage.sync(current.name);
  }

  /** Records that a snapshot at `marker` is saved (call after the snapshot file is durable); synced. */
  saveSnapshot(marker: SnapshotMarker): void {
    const bytes = encodeRecord({ k: 's', i: marker.index, t: marker.term });
    const segment = this.segmentFor(bytes.length);
    this.storage.append(segment.name, bytes);
    segment.size += bytes.length;
    this.lastSnapshot = marker;
    if (marker.index > this.lastIndex) this.lastIndex = marker.index;
    this.sync();
  }

  /**
   * Removes old segments whose entries are all at or below `index` (a snapshot's index). The last
   * segment always stays. Returns the names removed.
   */
  releaseTo(index: number): string[] {
    const removed: string[] = [];
    while (this.releasable(index)) {
      const segment = this.segments.shift()!;
      this.storage.remove(segment.name);
      removed.push(segment.name);
    }
    return removed;
  }

  /** The oldest segment may go when it is not the last and holds no entry above `index`. */
  private releasable(index: number): boolean {
    return this.segments.length > 1 && this.segments[0]!.maxIndex <= index;
  }

  private segmentFor(incomingBytes: number): Segment {
    const current = this.segments[this.segments.length - 1];
    if (current && current.size + incomingBytes <= this.segmentLimitBytes) return current;
    if (current && current.size === 0) return current;
    // Rotate: the old segment is complete and durable before the new one exists.
    if (current) this.storage.sync(current.name);
    const segment: Segment = { name: segmentName((current?.seq ?? -1) + 1, this.lastIndex + 1), seq: (current?.seq ?? -1) + 1, size: 0, maxIndex: 0 };
    this.segments.push(segment);
    const header: Uint8Array[] = [];
    const hs = this.lastHardState;
    if (hs) header.push(encodeRecord({ k: 'h', t: hs.term, v: hs.vote, c: hs.commit }));
    if (this.lastSnapshot) header.push(encodeRecord({ k: 's', i: this.lastSnapshot.index, t: this.lastSnapshot.term }));
    const bytes = concat(header);
    // Even an empty header creates the file, so an empty segment is visible after a restart.
    this.storage.append(segment.name, bytes);
    segment.size = bytes.length;
    return segment;
  }
}

/** Replays one segment's records; returns the byte length to keep, or a corruption error. */
function scanSegment(bytes: Uint8Array, segment: Segment, replay: Replay, last: boolean): WalResult<number> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.length) {
    const parsed = parseRecord(bytes, view, offset);
    if (!parsed.ok) {
      if (!last || validRecordAfter(bytes, view, offset)) {
        return { ok: false, error: { code: 'walCorrupt', segment: segment.name, offset, reason: parsed.reason } };
      }
      return { ok: true, value: offset };
    }
    const error = replay.apply(parsed.payload, segment);
    if (error) return { ok: false, error };
    offset = parsed.end;
  }
  return { ok: true, value: offset };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
