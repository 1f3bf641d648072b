/**
 * The registry's storage: objects as JSON bytes in the KvClient under
 * `/registry/<resource>/[<namespace>/]<name>`. resourceVersion is never stored: it is the key's
 * modRevision, set on every read (as kube-apiserver's etcd3 store does), so a write never needs
 * to know its own revision in advance. Creates compare createRevision = 0; updates and deletes
 * compare modRevision with what the caller read (optimistic concurrency).
 */
import {
  alreadyExists, conflict, expired, type GroupResource, internalError, isRecord, type JsonObject, notFound,
  type ResourceInfo, serviceUnavailable, type Status, storageKey, storagePrefix, timeout,
} from '../api/index.js';
import type { KvClient, KvError, KvResult } from '../client/kv.js';
import type { KeyValue } from '../store/index.js';
import { kvTimeoutMs, maxListItems } from './limits.js';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: Status };

export const okOf = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failOf = <T>(status: Status): Outcome<T> => ({ ok: false, status });

/** An object as read from storage, with its revision. */
export interface Stored {
  readonly key: string;
  readonly object: JsonObject;
  readonly modRevision: number;
}

export interface Listed {
  readonly items: Stored[];
  readonly revision: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeObject(obj: JsonObject): Uint8Array {
  const meta = obj['metadata'];
  if (!isRecord(meta) || meta['resourceVersion'] === undefined) return encoder.encode(JSON.stringify(obj));
  const { resourceVersion: _rv, ...rest } = meta;
  return encoder.encode(JSON.stringify({ ...obj, metadata: rest }));
}

/** Decodes stored bytes and stamps resourceVersion; a corrupt value is an internal error. */
export function decodeObject(value: Uint8Array, modRevision: number): JsonObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const meta = isRecord(parsed['metadata']) ? parsed['metadata'] : {};
  parsed['metadata'] = { ...meta, resourceVersion: String(modRevision) };
  return parsed;
}

export function groupResource(info: ResourceInfo): GroupResource {
  return { group: info.group, resource: info.resource };
}

/** A KvClient error as the Status a client sees. */
function kvErrorStatus(error: KvError, requestedRv?: string): Status {
  switch (error.code) {
    case 'store':
      if (error.error.code === 'compacted') return expired(requestedRv ?? '', String(error.error.compactRevision));
      if (error.error.code === 'requestTooLarge' || error.error.code === 'valueTooLarge') {
        return { ...internalError('etcdserver: request is too large'), code: 413, reason: 'RequestEntityTooLarge' };
      }
      return internalError(`etcd: ${error.error.code}`);
    case 'unavailable': return serviceUnavailable(`etcd unavailable: ${error.message}`);
    case 'timeout': return timeout(`Timeout: etcd did not answer: ${error.message}`);
    default: {
      const never: never = error;
      throw new Error(`kv error ${JSON.stringify(never)}`);
    }
  }
}

function lift<T, U>(r: KvResult<T>, f: (v: T) => Outcome<U>): Outcome<U> {
  return r.ok ? f(r.value) : failOf(kvErrorStatus(r.error));
}

function storedOf(kv: KeyValue): Stored | undefined {
  const object = decodeObject(kv.value, kv.modRevision);
  return object === undefined ? undefined : { key: kv.key, object, modRevision: kv.modRevision };
}

export class ObjectStorage {
  constructor(private readonly kv: KvClient) {}

  key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return storageKey(info, info.namespaced ? namespace : undefined, name);
  }

  async get(key: string): Promise<Outcome<Stored | undefined>> {
    const r = await this.kv.range({ key }, { timeoutMs: kvTimeoutMs });
    return lift(r, (v) => {
      const kv = v.kvs[0];
      if (kv === undefined) return okOf(undefined);
      const stored = storedOf(kv);
      return stored ? okOf(stored) : failOf(internalError(`undecodable object at ${key}`));
    });
  }

  /** Every object under the collection's prefix at `revision` (0: current). */
  async list(info: ResourceInfo, namespace: string | undefined, revision = 0, requestedRv?: string): Promise<Outcome<Listed>> {
    const prefix = storagePrefix(info, namespace);
    const r = await this.kv.range({ key: prefix, prefix: true, limit: maxListItems, ...(revision > 0 ? { revision } : {}) }, { timeoutMs: kvTimeoutMs });
    if (!r.ok) return failOf(kvErrorStatus(r.error, requestedRv));
    const items: Stored[] = [];
    for (const kv of r.value.kvs) {
      const stored = storedOf(kv);
      if (stored) items.push(stored);
    }
    return okOf({ items, revision: revision > 0 ? revision : r.value.header.revision });
  }

  /** Create-if-absent; the result carries the new resourceVersion. */
  async create(info: ResourceInfo, key: string, object: JsonObject, name: string): Promise<Outcome<JsonObject>> {
    const r = await this.kv.txn({
      compare: [{ key, target: 'createRevision', result: '=', operand: 0 }],
      success: [{ type: 'put', request: { key, value: encodeObject(object) } }],
      failure: [],
    }, { timeoutMs: kvTimeoutMs });
    return lift(r, (v) => v.succeeded ? okOf(withRv(object, v.header.revision)) : failOf(alreadyExists(groupResource(info), name)));
  }

  /** Write `object` only if the key is still at `modRevision`. */
  async update(info: ResourceInfo, key: string, object: JsonObject, modRevision: number, name: string): Promise<Outcome<JsonObject>> {
    const r = await this.kv.txn({
      compare: [{ key, target: 'modRevision', result: '=', operand: modRevision }],
      success: [{ type: 'put', request: { key, value: encodeObject(object) } }],
      failure: [{ type: 'range', request: { key, countOnly: true } }],
    }, { timeoutMs: kvTimeoutMs });
    return lift(r, (v) => {
      if (v.succeeded) return okOf(withRv(object, v.header.revision));
      const gone = v.responses[0]?.type === 'range' && v.responses[0].response.count === 0;
      return failOf(gone ? notFound(groupResource(info), name) : conflict(groupResource(info), name));
    });
  }

  /** Remove the key only if it is still at `modRevision`; returns the delete's revision. */
  async remove(info: ResourceInfo, key: string, modRevision: number, name: string): Promise<Outcome<number>> {
    const r = await this.kv.txn({
      compare: [{ key, target: 'modRevision', result: '=', operand: modRevision }],
      success: [{ type: 'deleteRange', request: { key } }],
      failure: [{ type: 'range', request: { key, countOnly: true } }],
    }, { timeoutMs: kvTimeoutMs });
    return lift(r, (v) => {
      if (v.succeeded) return okOf(v.header.revision);
      const gone = v.responses[0]?.type === 'range' && v.responses[0].response.count === 0;
      return failOf(gone ? notFound(groupResource(info), name) : conflict(groupResource(info), name));
    });
  }

  async currentRevision(): Promise<KvResult<number>> {
    return this.kv.currentRevision({ timeoutMs: kvTimeoutMs });
  }
}

function withRv(object: JsonObject, revision: number): JsonObject {
  const meta = isRecord(object['metadata']) ? object['metadata'] : {};
  return { ...object, metadata: { ...meta, resourceVersion: String(revision) } };
}
