/**
 * The write-ahead log over the injected `Storage`: Raft's HardState, entry batches and snapshot
 * markers as checksummed records in numbered segment files.
 *
 * Record: [length u32 LE][~length u32 LE][crc32(payload) u32 LE][payload]. The inverted
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
 *
 * Payloads are hand-packed binary (kind byte first; numbers as float64 so any safe integer fits):
 *   1 HardState: term, commit, vote length u16, vote UTF-8
 *   2 entries:   count u32, then per entry: term, index, type u8, data length u32, data
 *   3 snapshot marker: index, term
 * Entry data is written once, straight into the record buffer (no intermediate encoding).
 */
import { concatBytes, type Storage } from '../runtime/storage.js';
import type { Entry, EntryType, HardState } from '../raft/types.js';
import { crc32 } from './crc32.js';
import { assert, assertNever } from '../primitives/assert.js';

const segmentSizeBytes = 64 * 1024 * 1024;
/** A length field above this is a corrupt header, not a record. */
const maxRecordBytes = 128 * 1024 * 1024;
const headerBytes = 12;
/** Snapshot markers repeated in each new segment (covers every snapshot file a shell keeps). */
const markersPerSegmentHeader = 5;
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
  /** The last snapshot marker (the snapshot file to load, see snapshot-file.ts `recover`). */
  readonly snapshotMeta: SnapshotMarker | undefined;
  /** Bytes cut from a torn tail (0 when the log ended cleanly). */
  readonly droppedTailBytes: number;
}

export interface WalOptions {
  readonly segmentSizeBytes?: number;
}

type RecordPayload =
  | { readonly k: 'h'; readonly hardState: HardState }
  | { readonly k: 'e'; readonly entries: Entry[] }
  | { readonly k: 's'; readonly marker: SnapshotMarker };

const kindHardState = 1;
const kindEntries = 2;
const kindSnapshot = 3;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

const entryTypes: readonly EntryType[] = ['normal', 'confChange', 'noop'];

interface Segment {
  readonly name: string;
  readonly seq: number;
  size: number;
  /** Highest entry index written into this segment (0 if none). */
  maxIndex: number;
}

// ---- record encoding ----

/** A record buffer with room for the header; `finish` fills the header once the payload is written. */
function allocRecord(payloadBytes: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(headerBytes + payloadBytes);
  return { out, view: new DataView(out.buffer) };
}

function finishRecord(out: Uint8Array, view: DataView): Uint8Array {
  const length = out.length - headerBytes;
  assert(length <= maxRecordBytes, `WAL record of ${length} bytes is over the limit`);
  view.setUint32(0, length, true);
  view.setUint32(4, ~length >>> 0, true);
  view.setUint32(8, crc32(out, headerBytes), true);
  return out;
}

function encodeHardState(hs: HardState): Uint8Array {
  const vote = utf8.encode(hs.vote);
  assert(vote.length <= 0xffff, 'vote id too long');
  const { out, view } = allocRecord(1 + 16 + 2 + vote.length);
  let p = headerBytes;
  out[p++] = kindHardState;
  view.setFloat64(p, hs.term, true); p += 8;
  view.setFloat64(p, hs.commit, true); p += 8;
  view.setUint16(p, vote.length, true); p += 2;
  out.set(vote, p);
  return finishRecord(out, view);
}

function encodeEntries(entries: readonly Entry[]): Uint8Array {
  let size = 1 + 4;
  for (const entry of entries) size += 8 + 8 + 1 + 4 + entry.data.length;
  const { out, view } = allocRecord(size);
  let p = headerBytes;
  out[p++] = kindEntries;
  view.setUint32(p, entries.length, true); p += 4;
  for (const entry of entries) {
    view.setFloat64(p, entry.term, true); p += 8;
    view.setFloat64(p, entry.index, true); p += 8;
    out[p++] = entryTypeCode(entry.type);
    view.setUint32(p, entry.data.length, true); p += 4;
    out.set(entry.data, p); p += entry.data.length;
  }
  return finishRecord(out, view);
}

function encodeMarker(marker: SnapshotMarker): Uint8Array {
  const { out, view } = allocRecord(1 + 16);
  out[headerBytes] = kindSnapshot;
  view.setFloat64(headerBytes + 1, marker.index, true);
  view.setFloat64(headerBytes + 9, marker.term, true);
  return finishRecord(out, view);
}

/** Decodes a CRC-checked payload; a string is the reason it does not decode. */
function decodePayload(bytes: Uint8Array, view: DataView, start: number, end: number): RecordPayload | string {
  let p = start + 1;
  const need = (n: number): boolean => p + n <= end;
  switch (bytes[start]) {
    case kindHardState: {
      if (!need(18)) return 'short hard state';
      const term = view.getFloat64(p, true);
      const commit = view.getFloat64(p + 8, true);
      const voteLength = view.getUint16(p + 16, true);
      p += 18;
      if (p + voteLength !== end) return 'bad hard state length';
      let vote: string;
      try {
        vote = utf8Decoder.decode(bytes.subarray(p, end));
      } catch {
        return 'bad vote encoding';
      }
      return { k: 'h', hardState: { term, vote, commit } };
    }
    case kindEntries: {
      if (!need(4)) return 'short entries';
      const count = view.getUint32(p, true);
      p += 4;
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        if (!need(21)) return 'short entry';
        const term = view.getFloat64(p, true);
        const index = view.getFloat64(p + 8, true);
        const type = entryTypes[bytes[p + 16]!];
        const length = view.getUint32(p + 17, true);
        p += 21;
        if (type === undefined) return 'bad entry type';
        if (!need(length)) return 'short entry data';
        entries.push({ term, index, type, data: bytes.subarray(p, p + length) });
        p += length;
      }
      return p === end ? { k: 'e', entries } : 'trailing bytes after entries';
    }
    case kindSnapshot:
      if (p + 16 !== end) return 'bad snapshot marker length';
      return { k: 's', marker: { index: view.getFloat64(p, true), term: view.getFloat64(p + 8, true) } };
    default:
      return 'unknown record kind';
  }
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
  const payload = decodePayload(bytes, view, start, start + length);
  if (typeof payload === 'string') return { ok: false, reason: payload };
  return { ok: true, payload, end: start + length };
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
  assert(code >= 0, `entry type ${type} has no WAL code`);
  return code;
}

function segmentName(seq: number, firstIndex: number): string {
  return `wal-${seq.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.log`;
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
        this.hardState = payload.hardState;
        return undefined;
      case 's':
        this.snapshots.push(payload.marker);
        // Entries wholly covered by a newer snapshot are replaced by it (a snapshot install). With
        // no entries seen yet (a fresh log, or a segment header after older segments were released)
        // the next batch may start anywhere above the marker.
        if (this.nextIndex !== undefined && payload.marker.index >= this.nextIndex) {
          this.entries = [];
          this.nextIndex = payload.marker.index + 1;
        }
        return undefined;
      case 'e':
        return this.appendBatch(payload.entries, segment);
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
  /** The newest markers (oldest first), repeated at the head of every new segment so that a
   * fallback to an older snapshot file still finds its marker after old segments are released. */
  private recentSnapshots: SnapshotMarker[];
  private lastIndex: number;

  private constructor(
    private readonly storage: Storage,
    private readonly segments: Segment[],
    replay: Replay,
    private readonly segmentLimitBytes: number,
  ) {
    this.lastHardState = replay.hardState;
    this.recentSnapshots = recentMarkers(replay.snapshots);
    this.lastIndex = replay.entries[replay.entries.length - 1]?.index ?? this.recentSnapshots.at(-1)?.index ?? 0;
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
      value: {
        wal, hardState: replay.hardState, entries: replay.entries, snapshots: replay.snapshots,
        snapshotMeta: replay.snapshots[replay.snapshots.length - 1], droppedTailBytes,
      },
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
      records.push(encodeEntries(entries));
    }
    if (hardState !== undefined) records.push(encodeHardState(hardState));
    const bytes = records.length === 1 ? records[0]! : concatBytes(records);
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
    const bytes = encodeMarker(marker);
    const segment = this.segmentFor(bytes.length);
    this.storage.append(segment.name, bytes);
    segment.size += bytes.length;
    this.recentSnapshots = recentMarkers([...this.recentSnapshots, marker]);
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
    if (hs) header.push(encodeHardState(hs));
    for (const marker of this.recentSnapshots) header.push(encodeMarker(marker));
    const bytes = concatBytes(header);
    // Even an empty header creates the file, so an empty segment is visible after a restart.
    this.storage.append(segment.name, bytes);
    segment.size = bytes.length;
    return segment;
  }
}

/** The last `markersPerSegmentHeader` distinct markers, in the order written. */
function recentMarkers(markers: readonly SnapshotMarker[]): SnapshotMarker[] {
  const seen = new Set<string>();
  const out: SnapshotMarker[] = [];
  for (let i = markers.length - 1; i >= 0 && out.length < markersPerSegmentHeader; i--) {
    const marker = markers[i]!;
    const id = `${marker.term}/${marker.index}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.unshift(marker);
    }
  }
  return out;
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

