/**
 * Shapes served by subresources and collections: autoscaling/v1 Scale, policy/v1 Eviction, lists
 * and watch events.
 */
import type { ResourceInfo } from './resources.js';
import { labelSelectorFromObject, labelSelectorToString } from './selectors.js';
import { asRecord, asString, deepClone, isRecord, joinApiVersion, type JsonObject } from './types.js';

const scalableKinds = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']);

/** GET .../scale: the Scale view of a Deployment, ReplicaSet or StatefulSet. */
export function scaleOf(obj: JsonObject): JsonObject {
  const kind = asString(obj['kind']) ?? '';
  if (!scalableKinds.has(kind)) throw new Error(`${kind} has no scale subresource`);
  const m = asRecord(obj['metadata']) ?? {};
  const metadata: JsonObject = {};
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) if (m[k] !== undefined) metadata[k] = m[k];
  const rawSelector = asRecord(obj['spec'])?.['selector'];
  // A ReplicationController's selector is a plain label map, not a LabelSelector.
  const sel = labelSelectorFromObject(kind === 'ReplicationController' ? { matchLabels: rawSelector ?? {} } : rawSelector);
  const selector = sel.ok && sel.value !== 'nothing' ? labelSelectorToString(sel.value) : '';
  const status: JsonObject = { replicas: asRecord(obj['status'])?.['replicas'] ?? 0 };
  if (selector !== '') status['selector'] = selector;
  return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata, spec: { replicas: asRecord(obj['spec'])?.['replicas'] ?? 0 }, status };
}

export type ScaleUpdate = { ok: true; object: JsonObject } | { ok: false; field: string; message: string };

/**
 * PUT/PATCH .../scale: the (patched) Scale's spec.replicas goes into the parent object; anything
 * else in the Scale is ignored, as in Kubernetes. The caller checks the resourceVersion.
 */
export function applyScale(obj: JsonObject, scale: unknown): ScaleUpdate {
  const replicas = asRecord(asRecord(scale)?.['spec'])?.['replicas'];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) return { ok: false, field: 'spec.replicas', message: 'Required value' };
  if (replicas < 0) return { ok: false, field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` };
  const o = deepClone(obj);
  const spec = asRecord(o['spec']) ?? {};
  spec['replicas'] = replicas;
  o['spec'] = spec;
  return { ok: true, object: o };
}

export interface EvictionRequest {
  name: string;
  namespace?: string;
  /** DeleteOptions carried by the eviction (gracePeriodSeconds, preconditions...). */
  deleteOptions?: JsonObject;
}

/** Decodes a POST pods/<name>/eviction body (policy/v1 or v1beta1 Eviction). */
export function decodeEviction(body: unknown): EvictionRequest | { error: string } {
  if (!isRecord(body) || body['kind'] !== 'Eviction') return { error: 'expected an Eviction object' };
  const m = asRecord(body['metadata']) ?? {};
  const name = asString(m['name']);
  if (name === undefined || name === '') return { error: 'metadata.name: Required value' };
  const r: EvictionRequest = { name };
  const ns = asString(m['namespace']);
  if (ns !== undefined) r.namespace = ns;
  const opts = asRecord(body['deleteOptions']);
  if (opts !== undefined) r.deleteOptions = opts;
  return r;
}

/** A `<Kind>List` reply. `items` is always an array, never null (kubectl relies on it). */
export function listOf(info: ResourceInfo, items: readonly JsonObject[], resourceVersion: string, continueToken?: string): JsonObject {
  const metadata: JsonObject = { resourceVersion };
  if (continueToken !== undefined && continueToken !== '') metadata['continue'] = continueToken;
  return { kind: info.listKind, apiVersion: joinApiVersion(info.group, info.version), metadata, items: [...items] };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One watch line (the caller appends "\n"). */
export function watchEvent(type: WatchEventType, object: JsonObject): string {
  return JSON.stringify({ type, object });
}

/** The BOOKMARK event object: only kind, apiVersion and metadata.resourceVersion. */
export function bookmarkObject(info: ResourceInfo, resourceVersion: string): JsonObject {
  return { kind: info.kind, apiVersion: joinApiVersion(info.group, info.version), metadata: { resourceVersion } };
}

/** A dotted path of a CRD's scale subresource (".spec.replicas") as keys. */
function pathKeys(path: string): string[] {
  return path.split('.').filter((k) => k !== '');
}

function readPath(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of pathKeys(path)) cur = asRecord(cur)?.[k];
  return cur;
}

/** The autoscaling/v1 Scale of any scalable object: a custom resource's by its CRD's paths. */
export function scaleFor(info: ResourceInfo, obj: JsonObject): JsonObject {
  const paths = info.custom?.scale;
  if (paths === undefined) return scaleOf(obj);
  const m = asRecord(obj['metadata']) ?? {};
  const metadata: JsonObject = {};
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) if (m[k] !== undefined) metadata[k] = m[k];
  const status: JsonObject = { replicas: readPath(obj, paths.statusReplicasPath) ?? 0 };
  const selector = paths.labelSelectorPath === undefined ? undefined : readPath(obj, paths.labelSelectorPath);
  if (typeof selector === 'string' && selector !== '') status['selector'] = selector;
  return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata, spec: { replicas: readPath(obj, paths.specReplicasPath) ?? 0 }, status };
}

/** Sets the replicas a Scale asks for, at a custom resource's specReplicasPath or a built-in kind's spec.replicas. */
export function applyScaleFor(info: ResourceInfo, obj: JsonObject, scale: unknown): ScaleUpdate {
  const paths = info.custom?.scale;
  if (paths === undefined) return applyScale(obj, scale);
  const replicas = asRecord(asRecord(scale)?.['spec'])?.['replicas'];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) return { ok: false, field: 'spec.replicas', message: 'Required value' };
  if (replicas < 0) return { ok: false, field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` };
  const o = deepClone(obj);
  const keys = pathKeys(paths.specReplicasPath);
  let cur: JsonObject = o;
  for (const k of keys.slice(0, -1)) {
    const next = asRecord(cur[k]) ?? {};
    cur[k] = next;
    cur = next;
  }
  const last = keys[keys.length - 1];
  if (last === undefined) throw new Error(`invalid specReplicasPath ${JSON.stringify(paths.specReplicasPath)}`);
  cur[last] = replicas;
  return { ok: true, object: o };
}
