/**
 * The store's public surface, for the etcd actor shell and the apiserver.
 *
 * How a shell drives it (one member):
 * - Start: `recover(storage)` → newest snapshot with a WAL marker + entries after it + HardState.
 *   Machine: `StoreStateMachine.restore(snapshot.data, opts)` or `new StoreStateMachine(opts)`;
 *   Raft gets the HardState, the snapshot metadata and the entries.
 * - Each Raft Ready: `wal.save(hardState, entries)` (many times), one `wal.sync()` if Raft says it
 *   must, then send; committed normal entries go to `machine.applyEntryData(data, index)`, others
 *   to `machine.skip(index)`; then `hub.poll()` → deliver; `hub.ack(watchId, n)` as clients consume.
 * - Snapshot every N entries: `saveSnapshotFile(storage, { metadata, data: machine.snapshot() })`,
 *   then `wal.saveSnapshot({ index, term })`, `pruneSnapshotFiles(storage, keep)` and
 *   `wal.releaseTo(index of the OLDEST snapshot kept)` so a damaged newest file can fall back.
 *   Installing a leader's snapshot: same file + marker, a restored machine, `hub.rebind(machine.mvcc)`.
 * - Leader only: on election `machine.lessor.promote(now, electionTimeoutMs)`, on losing it
 *   `demote()`; on ticks propose `leaseRevoke` for `lessor.expired(now)` and now and then
 *   `leaseCheckpoint` of `lessor.checkpoints(now)`; answer keep-alives with `lessor.keepAlive`
 *   (propose a `[[id, 0]]` checkpoint when it says `checkpointReset`).
 * - Someone must propose `compact` (kube-apiserver does every 5 minutes); history grows until then.
 *   `machine.mvcc.compactionStep(n)` finishes physical compaction in idle time.
 * - Reads: linearizable ones after ReadIndex straight from `machine.mvcc.range`; writes as commands.
 */
export * from './types.js';
export { WatchHub, type WatchOptions, type WatchRequest, type WatchResponse, type WatchUpdate, defaultWatchOptions } from './watch.js';
export {
  StoreStateMachine, type Command, type CommandMeta, type CommandResponse, type ApplyResult,
  type StateMachineOptions, type LeaseGrantResponse, encodeCommand, decodeCommand, validateCommand,
} from './commands.js';
export { Wal } from './wal.js';
export { recover, saveSnapshotFile, pruneSnapshotFiles } from './snapshot-file.js';
export * from './keys.js';
