import test from 'ava';
import { MemoryStorage } from '../../src/runtime/storage.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { Entry, HardState } from '../../src/raft/types.js';
import { StoreStateMachine, commands, encodeCommand } from '../../src/store/commands.js';
import { pruneSnapshotFiles, recover, saveSnapshotFile } from '../../src/store/snapshot-file.js';
import type { Wal } from '../../src/store/wal.js';
import { b, must } from './helpers.js';

const options = { now: () => 0, minLeaseTtlSeconds: 2, sessionLimits: { maxSessions: 100, maxResultsPerSession: 8 } };
const conf = { voters: ['m1', 'm2', 'm3'], learners: [] };

/** The durable half of a member as the etcd shell drives it: persist, then apply; snapshot now and then. */
class Member {
  machine = new StoreStateMachine(options);
  readonly wal: Wal;

  constructor(readonly storage: MemoryStorage) {
    const recovered = recover(storage, { segmentSizeBytes: 2048 });
    if (!recovered.ok) throw new Error(JSON.stringify(recovered.error));
    this.wal = recovered.value.wal;
    const { snapshot, entries, hardState } = recovered.value;
    if (snapshot) this.machine = must(StoreStateMachine.restore(snapshot.data, options)).machine;
    const commit = hardState?.commit ?? 0;
    for (const entry of entries) if (entry.index <= commit) this.machine.applyEntryData(entry.data, entry.index);
  }

  step(entries: Entry[], hardState: HardState, sync: boolean): void {
    this.wal.save(hardState, entries);
    if (sync) this.wal.sync();
    for (const entry of entries) this.machine.applyEntryData(entry.data, entry.index);
  }

  snapshot(term: number): void {
    this.wal.sync(); // never snapshot state the log does not hold durably
    const index = this.machine.appliedIndex;
    saveSnapshotFile(this.storage, { metadata: { index, term, conf }, data: this.machine.snapshot() });
    this.wal.saveSnapshot({ index, term });
    pruneSnapshotFiles(this.storage, 2);
    this.wal.releaseTo(index);
  }
}

function batches(seed: number, count: number): Entry[][] {
  const prng = new SeededPrng(seed);
  let index = 0;
  return Array.from({ length: count }, () => Array.from({ length: prng.int(4) + 1 }, (): Entry => {
    index++;
    const command = prng.int(10) === 0
      ? commands.deleteRange({ key: `/k/${prng.int(30)}` })
      : commands.put({ key: `/k/${prng.int(30)}`, value: b(`${index}`) }, { clientId: `c${prng.int(3)}`, seq: index });
    return { term: 1, index, type: 'normal', data: encodeCommand(command) };
  }));
}

function referenceUpTo(all: Entry[][], upTo: number): StoreStateMachine {
  const machine = new StoreStateMachine(options);
  for (const entry of all.flat()) if (entry.index <= upTo) machine.applyEntryData(entry.data, entry.index);
  return machine;
}

test('power cuts at random points: recovery from snapshot + WAL gives the synced prefix, and the member converges', (t) => {
  const prng = new SeededPrng(99);
  const all = batches(7, 400);
  const storage = new MemoryStorage();
  let member = new Member(storage);
  let crashes = 0;
  let snapshots = 0;
  let durable = 0;
  for (let cursor = 0; cursor < all.length;) {
    const batch = all[cursor]!;
    const last = batch[batch.length - 1]!.index;
    const sync = prng.int(3) !== 0;
    member.step(batch, { term: 1, vote: 'm1', commit: last }, sync);
    if (sync) durable = last;
    cursor++;
    if (prng.int(40) === 0) {
      member.snapshot(1);
      durable = last;
      snapshots++;
    }
    if (prng.int(20) === 0) {
      storage.crash({ loseUnsynced: true });
      crashes++;
      member = new Member(storage);
      const applied = member.machine.appliedIndex;
      // Rotation syncs a full segment, so a little more than the explicitly synced prefix may survive.
      t.true(applied >= durable && applied <= last, `recovered ${applied}, synced ${durable}, written ${last}`);
      t.deepEqual(must(member.machine.hashKv()), must(referenceUpTo(all, applied).hashKv()), `after crash ${crashes}`);
      // The leader re-sends what this member lost.
      cursor = all.findIndex((b2) => b2[0]!.index === applied + 1);
      if (cursor < 0) cursor = all.length;
      durable = applied;
    }
  }
  t.true(crashes >= 5 && snapshots >= 3, `${crashes} crashes, ${snapshots} snapshots`);
  const final = referenceUpTo(all, Infinity);
  t.deepEqual(must(member.machine.hashKv()), must(final.hashKv()));
  // ~80 KB of log in 2 KiB segments: without releases there would be about 40.
  t.true(member.wal.segmentNames.length <= 20, `old segments are released (${member.wal.segmentNames.length} left)`);
  t.true(storage.list().filter((n) => n.startsWith('snap-')).length <= 2);
});
