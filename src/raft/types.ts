/**
 * The Raft data every layer agrees on: the core (src/raft) produces them, the WAL and snapshot
 * files (src/store/wal.ts) persist them, the etcd actor carries them. The core may add fields;
 * changing these shapes means changing the WAL format too.
 */

/** A member's id: stable for the life of one incarnation of a member (a wiped member gets a new id). */
export type NodeId = string;

export type EntryType = 'normal' | 'confChange' | 'noop';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque command bytes (normal), an encoded ConfChange (confChange), empty (noop). */
  readonly data: Uint8Array;
}

/** What Figure 2 says must be on stable storage before answering any RPC. */
export interface HardState {
  readonly term: number;
  /** Voted-for in `term`, or '' for none. */
  readonly vote: NodeId;
  /** Highest index known committed (persisted so restart need not wait for a leader to re-learn it). */
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The state machine's serialised state at `metadata.index` (opaque to Raft). */
  readonly data: Uint8Array;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };
