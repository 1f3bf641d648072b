/**
 * Shapes shared by the store's modules: key-values, events, requests, responses and the typed
 * errors a request can end in (operating errors; broken invariants throw instead).
 *
 * Representation (chosen once for the whole store): keys are JavaScript strings and values are
 * Uint8Array. Keys order by UTF-16 code units, which equals etcd's byte order for ASCII keys (all
 * Kubernetes keys); non-ASCII keys work but may order differently from etcd. The store keeps the
 * value arrays it is given without copying: callers hand them over and must not mutate them, and
 * values returned from reads must be treated as read-only.
 */

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  /** Revision of the put that created the key's current generation. */
  readonly createRevision: number;
  /** Revision of the last change. */
  readonly modRevision: number;
  /** Number of puts since creation (1 on create); 0 never appears on a live key. */
  readonly version: number;
  /** Attached lease id, or 0. */
  readonly lease: number;
}

export type EventType = 'put' | 'delete';

export interface WatchEvent {
  readonly type: EventType;
  /** For a delete: key, modRevision = the delete's revision, empty value, version 0. */
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface ResponseHeader {
  readonly revision: number;
}

/** Selects keys: one key, `[key, rangeEnd)`, all keys >= key (rangeEnd '\0'), or a prefix. */
export interface KeySelector {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly prefix?: boolean;
}

export interface RangeRequest extends KeySelector {
  /** 0 or absent: no limit. */
  readonly limit?: number;
  /** 0 or absent: the current revision. */
  readonly revision?: number;
  readonly countOnly?: boolean;
  readonly keysOnly?: boolean;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: KeyValue[];
  /** True when `limit` cut the result. */
  readonly more: boolean;
  /** Number of keys in the range (ignoring limit). */
  readonly count: number;
}

export interface PutRequest {
  readonly key: string;
  readonly value: Uint8Array;
  readonly lease?: number;
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest extends KeySelector {
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  readonly prevKvs?: KeyValue[];
}

export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
export type CompareResult = '=' | '>' | '<' | '!=';

export interface Compare extends KeySelector {
  readonly target: CompareTarget;
  readonly result: CompareResult;
  /** A number for version/createRevision/modRevision/lease, bytes for value. */
  readonly operand: number | Uint8Array;
}

export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'deleteRange'; readonly request: DeleteRangeRequest };

export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'deleteRange'; readonly response: DeleteRangeResponse };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface CompactResponse {
  readonly header: ResponseHeader;
}

/** Operating errors, named after etcd's (message text in comments). */
export type StoreError =
  /** mvcc: required revision has been compacted */
  | { readonly code: 'compacted'; readonly compactRevision: number }
  /** mvcc: required revision is a future revision */
  | { readonly code: 'futureRevision'; readonly currentRevision: number }
  /** etcdserver: duplicate key given in txn request */
  | { readonly code: 'duplicateKey'; readonly key: string }
  /** etcdserver: too many operations in txn request */
  | { readonly code: 'tooManyOps'; readonly limit: number }
  /** etcdserver: request is too large */
  | { readonly code: 'requestTooLarge'; readonly sizeBytes: number; readonly limit: number }
  | { readonly code: 'keyTooLarge'; readonly sizeBytes: number; readonly limit: number }
  | { readonly code: 'valueTooLarge'; readonly sizeBytes: number; readonly limit: number }
  /** etcdserver: key is not provided */
  | { readonly code: 'emptyKey' }
  /** etcdserver: key not found (ignoreValue / ignoreLease on a missing key) */
  | { readonly code: 'keyNotFound'; readonly key: string }
  /** etcdserver: requested lease not found */
  | { readonly code: 'leaseNotFound'; readonly lease: number }
  /** etcdserver: lease already exists */
  | { readonly code: 'leaseExists'; readonly lease: number }
  /** etcdserver: too large lease TTL */
  | { readonly code: 'leaseTtlTooLarge'; readonly ttlSeconds: number; readonly limit: number }
  /** A retried command older than the session's cached window: it may or may not have applied. */
  | { readonly code: 'staleSequence'; readonly clientId: string; readonly seq: number }
  /** The watch hub is at its watcher limit. */
  | { readonly code: 'tooManyWatchers'; readonly limit: number }
  /** A command that failed validation (unknown type, wrong field types, bad numbers). */
  | { readonly code: 'malformed'; readonly reason: string };

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: StoreError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(error: StoreError): Result<T> {
  return { ok: false, error };
}

