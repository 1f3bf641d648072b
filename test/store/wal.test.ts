import test from 'ava';
import { MemoryStorage } from '../../src/runtime/storage.js';
import type { Entry, HardState } from '../../src/raft/types.js';
import { Wal, type WalRecovery } from '../../src/store/wal.js';
import { loadNewestSnapshot, pruneSnapshotFiles, recover, saveSnapshotFile } from '../../src/store/snapshot-file.js';
import { crc32, crc32Final, crc32Init, crc32Update } from '../../src/store/crc32.js';
import { SeededPrng } from '../../src/primitives/prng.js';

function entry(index: number, term = 1, text = `cmd-${index}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

function openOk(storage: MemoryStorage, segmentSizeBytes?: number): WalRecovery {
  const opened = Wal.open(storage, segmentSizeBytes ? { segmentSizeBytes } : {});
  if (!opened.ok) throw new Error(`open failed: ${JSON.stringify(opened.error)}`);
  return opened.value;
}

const plain = (entries: readonly Entry[]) => entries.map((e) => [e.index, e.term, e.type, [...e.data]]);
const hs = (term: number, commit: number): HardState => ({ term, vote: 'n1', commit });

function onlySegment(storage: MemoryStorage): string {
  const names = storage.list().filter((n) => n.startsWith('wal-'));
  if (names.length !== 1) throw new Error(`expected one segment, got ${names.join()}`);
  return names[0]!;
}

/**
 * A segment holding a synced prefix (entries 1 and 2) and then one more synced save: the bytes of
 * the whole segment and where that last save begins, for damaging the tail.
 */
function segmentWithLastSave(saveLast: (wal: Wal) => void): { name: string; prefixLength: number; full: Uint8Array } {
  const base = new MemoryStorage();
  const { wal } = openOk(base);
  wal.save(hs(1, 0), [entry(1), entry(2)]);
  wal.sync();
  const name = onlySegment(base);
  const prefixLength = base.read(name)!.length;
  saveLast(wal);
  wal.sync();
  return { name, prefixLength, full: base.read(name)! };
}

/** Fresh storage whose only file is `name` with `bytes`, synced. */
function storageWith(name: string, bytes: Uint8Array): MemoryStorage {
  const storage = new MemoryStorage();
  storage.append(name, bytes);
  storage.sync(name);
  return storage;
}

test('round trip: hard state and entries survive a restart; group commit syncs once', (t) => {
  const storage = new MemoryStorage();
  const { wal, hardState, entries } = openOk(storage);
  t.is(hardState, undefined);
  t.deepEqual(entries, []);
  for (let i = 1; i <= 10; i++) wal.save(hs(1, i - 1), [entry(i)]);
  const syncsBefore = storage.stats.syncs;
  wal.sync();
  t.is(storage.stats.syncs - syncsBefore, 1);
  storage.crash({ loseUnsynced: true });
  const recovered = openOk(storage);
  t.deepEqual(recovered.hardState, hs(1, 9));
  t.deepEqual(plain(recovered.entries), plain(Array.from({ length: 10 }, (_, i) => entry(i + 1))));
  t.is(recovered.droppedTailBytes, 0);
});

test('a crash loses exactly the unsynced saves', (t) => {
  const storage = new MemoryStorage();
  const { wal } = openOk(storage);
  wal.save(hs(1, 0), [entry(1), entry(2)]);
  wal.sync();
  wal.save(hs(2, 2), [entry(3, 2)]);
  storage.crash({ loseUnsynced: true });
  const recovered = openOk(storage);
  t.deepEqual(recovered.hardState, hs(1, 0));
  t.deepEqual(recovered.entries.map((e) => e.index), [1, 2]);
  // Without losing the tail, everything is there.
  recovered.wal.save(hs(2, 2), [entry(3, 2)]);
  storage.crash({ loseUnsynced: false });
  t.deepEqual(openOk(storage).entries.map((e) => e.index), [1, 2, 3]);
});

test('torn tail: cutting the last record at every byte offset recovers the prefix and truncates', (t) => {
  const { name, prefixLength, full } = segmentWithLastSave((wal) => wal.save(hs(1, 2), [entry(3, 1, 'the last record, long enough to be cut in many places')]));
  t.true(full.length > prefixLength + 40);
  for (let cut = prefixLength; cut < full.length; cut++) {
    const storage = storageWith(name, full.slice(0, cut));
    const recovered = openOk(storage);
    // The last save wrote an entries record and a hard-state record: a cut inside the second keeps entry 3.
    const ids = recovered.entries.map((e) => e.index);
    t.true(ids.join() === '1,2' || ids.join() === '1,2,3', `cut ${cut}`);
    const kept = storage.read(name)!.length;
    t.is(recovered.droppedTailBytes, cut - kept, `cut ${cut}`);
    t.true(kept >= prefixLength && kept <= cut);
    // After truncation the log appends cleanly and a second open sees no damage.
    recovered.wal.save(hs(2, 2), [entry(3, 2)]);
    recovered.wal.sync();
    const again = openOk(storage);
    t.is(again.droppedTailBytes, 0);
    t.deepEqual(again.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2]]);
  }
});

test('a bit flip anywhere in the last record is a torn tail: truncated, prefix kept', (t) => {
  const { name, prefixLength, full } = segmentWithLastSave((wal) => wal.save(undefined, [entry(3)]));
  for (let at = prefixLength; at < full.length; at++) {
    for (const bit of [0, 3, 7]) {
      const damaged = full.slice();
      damaged[at]! ^= 1 << bit;
      const storage = storageWith(name, damaged);
      const recovered = openOk(storage);
      t.deepEqual(recovered.entries.map((e) => e.index), [1, 2], `byte ${at} bit ${bit}`);
      t.is(storage.read(name)!.length, prefixLength);
      t.is(recovered.droppedTailBytes, full.length - prefixLength);
    }
  }
});

test('corruption followed by valid records is a hard error, not skipped', (t) => {
  const storage = new MemoryStorage();
  const { wal } = openOk(storage);
  for (let i = 1; i <= 5; i++) wal.save(hs(1, i), [entry(i)]);
  wal.sync();
  const name = onlySegment(storage);
  const bytes = storage.read(name)!;
  bytes[20]! ^= 0x10; // inside the first record's payload
  storage.writeAtomic(name, bytes);
  const opened = Wal.open(storage);
  t.false(opened.ok);
  if (!opened.ok) t.like(opened.error, { code: 'walCorrupt', segment: name, offset: 0, reason: 'bad crc' });
  t.is(storage.read(name)!.length, bytes.length, 'nothing was truncated');
});

test('entries at an existing index overwrite the suffix (last write wins)', (t) => {
  const storage = new MemoryStorage();
  const { wal } = openOk(storage);
  wal.save(hs(1, 2), [entry(1), entry(2), entry(3), entry(4), entry(5)]);
  wal.save(hs(2, 2), [entry(4, 2, 'new'), entry(5, 2, 'new'), entry(6, 2, 'new')]);
  wal.save(hs(3, 2), [entry(3, 3, 'newer')]);
  wal.sync();
  const recovered = openOk(storage);
  t.deepEqual(recovered.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 3]]);
  t.deepEqual(recovered.hardState, hs(3, 2));
});

test('an index gap in the log is a typed error', (t) => {
  const storage = new MemoryStorage();
  const { wal } = openOk(storage);
  wal.save(hs(1, 0), [entry(1), entry(2)]);
  wal.save(undefined, [entry(5)]);
  wal.sync();
  const opened = Wal.open(storage);
  t.false(opened.ok);
  if (!opened.ok) t.like(opened.error, { code: 'walGap', expectedIndex: 3, foundIndex: 5 });
});

test('segments roll over, recover in order, and old ones are released after a snapshot', (t) => {
  const storage = new MemoryStorage();
  const { wal } = openOk(storage, 300);
  for (let i = 1; i <= 60; i++) {
    wal.save(hs(1, i - 1), [entry(i)]);
    if (i % 7 === 0) wal.sync();
  }
  wal.sync();
  t.true(wal.segmentNames.length > 5, `${wal.segmentNames.length} segments`);
  const recovered = openOk(storage, 300);
  t.deepEqual(recovered.entries.map((e) => e.index), Array.from({ length: 60 }, (_, i) => i + 1));
  recovered.wal.saveSnapshot({ index: 40, term: 1 });
  const removed = recovered.wal.releaseTo(40);
  t.true(removed.length > 0);
  const after = openOk(storage, 300);
  t.deepEqual(after.hardState, hs(1, 59));
  t.deepEqual(after.snapshotMeta, { index: 40, term: 1 });
  const indexes = after.entries.map((e) => e.index);
  t.true(indexes[0]! <= 41 && indexes.at(-1) === 60);
  t.deepEqual(indexes, Array.from({ length: 61 - indexes[0]! }, (_, i) => i + indexes[0]!));
  // A corrupt record in an older, rotated segment is a hard error even at its end.
  const first = after.wal.segmentNames[0]!;
  const bytes = storage.read(first)!;
  bytes[bytes.length - 1]! ^= 1;
  storage.writeAtomic(first, bytes);
  const broken = Wal.open(storage, { segmentSizeBytes: 300 });
  t.false(broken.ok);
});

test('snapshot files: newest valid wins, damaged ones are skipped, pruning keeps the newest', (t) => {
  const storage = new MemoryStorage();
  const conf = { voters: ['a', 'b', 'c'], learners: [] };
  for (const index of [10, 20, 30]) saveSnapshotFile(storage, { metadata: { index, term: 2, conf }, data: Uint8Array.of(index) });
  t.is(loadNewestSnapshot(storage).snapshot?.metadata.index, 30);
  const newest = storage.list().filter((n) => n.startsWith('snap-')).at(-1)!;
  const bytes = storage.read(newest)!;
  bytes[bytes.length - 1]! ^= 0xff;
  storage.writeAtomic(newest, bytes);
  const loaded = loadNewestSnapshot(storage);
  t.is(loaded.snapshot?.metadata.index, 20);
  t.deepEqual([...loaded.snapshot!.data], [20]);
  t.deepEqual(loaded.skipped, [{ name: newest, reason: 'bad crc' }]);
  t.deepEqual(loaded.snapshot!.metadata.conf, conf);
  t.is(pruneSnapshotFiles(storage, 1).length, 2);
  t.is(storage.list().filter((n) => n.startsWith('snap-')).length, 1);
});

test('recover: snapshot with a WAL marker plus the entries after it; an unmarked snapshot is ignored', (t) => {
  const storage = new MemoryStorage();
  const conf = { voters: ['a'], learners: [] };
  const { wal } = openOk(storage);
  for (let i = 1; i <= 30; i++) wal.save(hs(1, i), [entry(i)]);
  wal.sync();
  saveSnapshotFile(storage, { metadata: { index: 20, term: 1, conf }, data: Uint8Array.of(1) });
  wal.saveSnapshot({ index: 20, term: 1 });
  // Saved, but the crash came before its marker.
  saveSnapshotFile(storage, { metadata: { index: 25, term: 1, conf }, data: Uint8Array.of(2) });
  storage.crash({ loseUnsynced: true });
  const recovered = recover(storage);
  if (!recovered.ok) return t.fail(JSON.stringify(recovered.error));
  t.is(recovered.value.snapshot?.metadata.index, 20);
  t.deepEqual(recovered.value.entries.map((e) => e.index), Array.from({ length: 10 }, (_, i) => 21 + i));
  t.deepEqual(recovered.value.skippedSnapshots.map((s) => s.reason), ['no WAL marker']);
});

/** The textbook bit-at-a-time CRC-32, as the reference. */
function slowCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

test('crc32 matches the check value and the bitwise reference, whole or in pieces', (t) => {
  t.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  t.is(crc32(new Uint8Array(0)), 0);
  const prng = new SeededPrng(5);
  for (let length = 0; length < 70; length++) {
    const data = Uint8Array.from({ length }, () => prng.int(256));
    t.is(crc32(data), slowCrc32(data), `length ${length}`);
    const cut = prng.int(length + 1);
    t.is(crc32Final(crc32Update(crc32Update(crc32Init, data, 0, cut), data, cut)), slowCrc32(data));
    if (length > 3) t.is(crc32(data, 1, length - 2), slowCrc32(data.subarray(1, length - 2)));
  }
});

test('a damaged newest snapshot falls back to the older one when the WAL was released only to it; otherwise a typed gap', (t) => {
  const conf = { voters: ['a'], learners: [] };
  for (const releaseToOldest of [true, false]) {
    const storage = new MemoryStorage();
    const { wal } = openOk(storage, 256);
    const snapshotAt = (index: number) => {
      saveSnapshotFile(storage, { metadata: { index, term: 1, conf }, data: Uint8Array.of(index) });
      wal.saveSnapshot({ index, term: 1 });
    };
    for (let i = 1; i <= 40; i++) {
      wal.save(hs(1, i), [entry(i)]);
      if (i === 15) snapshotAt(15);
      if (i === 30) snapshotAt(30);
    }
    wal.sync();
    wal.releaseTo(releaseToOldest ? 15 : 30);
    // More segments, so the markers must come from segment headers.
    for (let i = 41; i <= 60; i++) wal.save(hs(1, i), [entry(i)]);
    wal.sync();
    const newest = storage.list().filter((n) => n.startsWith('snap-')).at(-1)!;
    storage.writeAtomic(newest, Uint8Array.of(1, 2, 3));
    const recovered = recover(storage, { segmentSizeBytes: 256 });
    if (releaseToOldest) {
      if (!recovered.ok) return t.fail(JSON.stringify(recovered.error));
      t.is(recovered.value.snapshot?.metadata.index, 15);
      t.deepEqual(recovered.value.entries.map((e) => e.index), Array.from({ length: 45 }, (_, i) => 16 + i));
    } else {
      t.false(recovered.ok);
      if (!recovered.ok) t.like(recovered.error, { code: 'walGap', expectedIndex: 16 });
    }
  }
});
