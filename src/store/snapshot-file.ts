/**
 * Snapshot files over the injected `Storage`, and full recovery (snapshot file + WAL).
 *
 * File: "PKSNAP01" | length u32 LE | crc32(payload) u32 LE | payload (msgpack {metadata, data}),
 * named `snap-<term>-<index>.snap` (16 hex digits each) and written with `writeAtomic`, so a file
 * is either whole or absent; the checksum catches later damage. Loading picks the newest file that
 * checks and that the WAL has a marker for (etcd's ValidSnapshotEntries): a snapshot saved just
 * before a crash, with no marker yet, is not trusted.
 */
import { pack, unpack } from 'msgpackr';
import type { Storage } from '../runtime/storage.js';
import type { Entry, HardState, Snapshot, SnapshotMetadata } from '../raft/types.js';
import { crc32 } from './crc32.js';
import { Wal, type WalError, type WalOptions, type WalResult } from './wal.js';

const magic = new TextEncoder().encode('PKSNAP01');
const headerBytes = magic.length + 8;
const snapPattern = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

function snapshotFileName(metadata: SnapshotMetadata): string {
  return `snap-${metadata.term.toString(16).padStart(16, '0')}-${metadata.index.toString(16).padStart(16, '0')}.snap`;
}

function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const body = pack({ metadata: snapshot.metadata, data: snapshot.data });
  const out = new Uint8Array(headerBytes + body.length);
  out.set(magic, 0);
  const view = new DataView(out.buffer);
  view.setUint32(magic.length, body.length, true);
  view.setUint32(magic.length + 4, crc32(body), true);
  out.set(body, headerBytes);
  return out;
}

/** Writes the snapshot durably and atomically; returns the file name. */
export function saveSnapshotFile(storage: Storage, snapshot: Snapshot): string {
  const name = snapshotFileName(snapshot.metadata);
  storage.writeAtomic(name, encodeSnapshotFile(snapshot));
  return name;
}

function decodeSnapshotFile(bytes: Uint8Array): { ok: true; snapshot: Snapshot } | { ok: false; reason: string } {
  if (bytes.length < headerBytes) return { ok: false, reason: 'too short' };
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return { ok: false, reason: 'bad magic' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(magic.length, true);
  if (headerBytes + length !== bytes.length) return { ok: false, reason: 'bad length' };
  if (crc32(bytes, headerBytes) !== view.getUint32(magic.length + 4, true)) return { ok: false, reason: 'bad crc' };
  let body: unknown;
  try {
    body = unpack(bytes.subarray(headerBytes));
  } catch {
    return { ok: false, reason: 'undecodable' };
  }
  if (!isSnapshot(body)) return { ok: false, reason: 'bad shape' };
  return { ok: true, snapshot: body };
}

function isSnapshot(value: unknown): value is Snapshot {
  if (typeof value !== 'object' || value === null) return false;
  const { metadata, data } = value as { metadata?: unknown; data?: unknown };
  if (!(data instanceof Uint8Array) || typeof metadata !== 'object' || metadata === null) return false;
  const m = metadata as { index?: unknown; term?: unknown; conf?: unknown };
  return typeof m.index === 'number' && typeof m.term === 'number' && typeof m.conf === 'object' && m.conf !== null;
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot | undefined;
  /** Files passed over: damaged, or not acceptable. */
  readonly skipped: { readonly name: string; readonly reason: string }[];
}

/** The newest snapshot file that decodes and that `accept` allows (by default, any). */
export function loadNewestSnapshot(storage: Storage, accept: (metadata: SnapshotMetadata) => boolean = () => true): LoadedSnapshot {
  const skipped: { name: string; reason: string }[] = [];
  for (const name of snapshotFileNames(storage).reverse()) {
    const bytes = storage.read(name);
    const decoded = bytes ? decodeSnapshotFile(bytes) : { ok: false as const, reason: 'missing' };
    if (!decoded.ok) skipped.push({ name, reason: decoded.reason });
    else if (!accept(decoded.snapshot.metadata)) skipped.push({ name, reason: 'no WAL marker' });
    else return { snapshot: decoded.snapshot, skipped };
  }
  return { snapshot: undefined, skipped };
}

/** Snapshot file names, oldest (lowest index) first. */
function snapshotFileNames(storage: Storage): string[] {
  const index = (name: string): number => parseInt(snapPattern.exec(name)![2]!, 16);
  return storage.list().filter((name) => snapPattern.test(name)).sort((a, b) => index(a) - index(b) || a.localeCompare(b));
}

/** Keeps the newest `keep` snapshot files; returns the names removed. */
export function pruneSnapshotFiles(storage: Storage, keep: number): string[] {
  const names = snapshotFileNames(storage);
  const removed = names.slice(0, Math.max(0, names.length - keep));
  for (const name of removed) storage.remove(name);
  return removed;
}

export interface Recovered {
  readonly wal: Wal;
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  /** Entries after the snapshot, contiguous from snapshot.index + 1. */
  readonly entries: Entry[];
  readonly droppedTailBytes: number;
  readonly skippedSnapshots: { readonly name: string; readonly reason: string }[];
}

/**
 * Everything a restarting member needs: the newest trustworthy snapshot and the WAL entries
 * after it. Missing entries between them are a typed error (`walGap`).
 */
export function recover(storage: Storage, options: WalOptions = {}): WalResult<Recovered> {
  const opened = Wal.open(storage, options);
  if (!opened.ok) return opened;
  const { wal, hardState, entries, snapshots, droppedTailBytes } = opened.value;
  const marked = new Set(snapshots.map((m) => `${m.term}/${m.index}`));
  const loaded = loadNewestSnapshot(storage, (m) => marked.has(`${m.term}/${m.index}`));
  const base = loaded.snapshot?.metadata.index ?? 0;
  const after = entries.filter((entry) => entry.index > base);
  const first = after[0];
  // Entries that do not continue the snapshot (or, without one, do not start the log) would be
  // applied onto the wrong state: refuse, never guess.
  if (first && first.index !== base + 1) {
    const error: WalError = { code: 'walGap', segment: wal.segmentNames[0] ?? '', expectedIndex: base + 1, foundIndex: first.index };
    return { ok: false, error };
  }
  return { ok: true, value: { wal, hardState, snapshot: loaded.snapshot, entries: after, droppedTailBytes, skippedSnapshots: loaded.skipped } };
}
