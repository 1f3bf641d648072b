/** The store's public surface, for the etcd actor shell and the apiserver. */
export * from './types.js';
export { MvccStore, type LeaseIndex, type Revisioned, type HashKvResult, type MvccState, prefixEnd, bounds, toEvent, toKeyValue, compactionStepKeys } from './mvcc.js';
export { Lessor, type LeaseInfo, type LessorOptions, maxLeaseTtlSeconds, expiredRetryMs } from './lease.js';
export { WatchHub, type WatchOptions, type WatchRequest, type WatchResponse, type WatchCancelReason, defaultWatchOptions } from './watch.js';
export {
  StoreStateMachine, type Command, type CommandMeta, type CommandResponse, type ApplyResult,
  type StateMachineOptions, type LeaseGrantResponse, commands, encodeCommand, decodeCommand, validateCommand,
  maxRequestBytes, maxTxnOps, maxKeyBytes, maxValueBytes,
} from './commands.js';
export { Wal, type WalRecovery, type WalError, type WalResult, type SnapshotMarker, segmentSizeBytes } from './wal.js';
export { recover, type Recovered, saveSnapshotFile, loadNewestSnapshot, pruneSnapshotFiles, snapshotFileName } from './snapshot-file.js';
export * from './keys.js';
