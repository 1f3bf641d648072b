/**
 * The key-value client contract: what the apiserver (and the library) need from etcd. The
 * Raft-replicated store's client (src/client/etcd-client.ts) implements it over the actor runtime;
 * `LocalKv` (src/client/local-kv.ts) implements it in-process on one state machine, for unit
 * tests of the layers above.
 *
 * Errors say whether the operation certainly did not happen (`definite: true`) or may have
 * happened (`definite: false`: a timeout, a lost leader after the proposal left): callers that
 * retry a write must use the same `CommandMeta` so that it applies at most once.
 */
import type { Observable } from 'rxjs';
import type {
  DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
  StoreError, TxnRequest, TxnResponse, WatchUpdate, LeaseGrantResponse,
} from '../store/index.js';

export type KvError =
  /** The store refused the request (bad input, compacted revision, ...): it did not happen. */
  | { readonly code: 'store'; readonly definite: true; readonly error: StoreError }
  /** No leader / quorum could be reached; `definite` false when the proposal may have been appended. */
  | { readonly code: 'unavailable'; readonly definite: boolean; readonly message: string }
  /** The deadline passed without an answer: the outcome is unknown. */
  | { readonly code: 'timeout'; readonly definite: false; readonly message: string };

export type KvResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: KvError };

export interface KvCallOptions {
  /** Deadline for the whole call including retries (default 5 s). */
  readonly timeoutMs?: number;
}

export interface RangeOptions extends KvCallOptions {
  /** Serve from the local member without a ReadIndex round (may be stale, never undurable). */
  readonly serializable?: boolean;
}

export interface WatchSpec {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly prefix?: boolean;
  /** Inclusive start revision; 0 or absent: changes after the current revision. */
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  /** Ask for periodic progress notifications (bookmarks). */
  readonly progressNotify?: boolean;
}

/** One watch response (defined by the store, src/store/watch.ts; re-exported for the client's callers). */
export type { WatchUpdate };

export interface KvClient {
  range(request: RangeRequest, options?: RangeOptions): Promise<KvResult<RangeResponse>>;
  put(request: PutRequest, options?: KvCallOptions): Promise<KvResult<PutResponse>>;
  deleteRange(request: DeleteRangeRequest, options?: KvCallOptions): Promise<KvResult<DeleteRangeResponse>>;
  txn(request: TxnRequest, options?: KvCallOptions): Promise<KvResult<TxnResponse>>;
  compact(revision: number, options?: KvCallOptions): Promise<KvResult<{ readonly revision: number }>>;
  leaseGrant(ttlSeconds: number, options?: KvCallOptions): Promise<KvResult<LeaseGrantResponse>>;
  leaseRevoke(id: number, options?: KvCallOptions): Promise<KvResult<{ readonly revision: number }>>;
  leaseKeepAlive(id: number, options?: KvCallOptions): Promise<KvResult<{ readonly ttlSeconds: number }>>;
  /**
   * A watch as a cold Observable: subscribing starts it, unsubscribing cancels it. It follows
   * leader changes and member failures by resuming from the last delivered revision + 1, so the
   * stream never repeats or skips a revision; it ends with `canceled` only when it cannot resume.
   */
  watch(spec: WatchSpec): Observable<WatchUpdate>;
  /** The current revision (a linearizable read of the header). */
  currentRevision(options?: KvCallOptions): Promise<KvResult<number>>;
}
