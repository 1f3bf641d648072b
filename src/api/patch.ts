/**
 * The four PATCH flavours kube-apiserver accepts: JSON Patch (RFC 6902), JSON Merge Patch
 * (RFC 7386), Strategic Merge Patch (Kubernetes' list-aware merge), and — in apply.ts — Server-Side
 * Apply. Inputs are never mutated.
 */
import { badRequest, statusFailure, type Status } from './status.js';
import { deepClone, deepEqual, isRecord, type JsonObject } from './types.js';

export type PatchErrorKind = 'BadRequest' | 'Unprocessable';

export interface PatchError {
  /** BadRequest: the patch document itself is malformed. Unprocessable: it cannot apply to this object. */
  kind: PatchErrorKind;
  message: string;
}

export type PatchResult = { ok: true; value: unknown } | { ok: false; error: PatchError };

/** Same limit as kube-apiserver's maxJSONPatchOperations. */
export const maxJsonPatchOperations = 10_000;
/** Nesting bound: deeper documents are rejected rather than risking stack exhaustion. */
export const maxPatchDepth = 100;

class PatchFailure extends Error {
  constructor(readonly kind: PatchErrorKind, message: string) {
    super(message);
  }
}

function run(fn: () => unknown): PatchResult {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof PatchFailure) return { ok: false, error: { kind: e.kind, message: e.message } };
    throw e;
  }
}

const bad = (m: string): PatchFailure => new PatchFailure('BadRequest', m);
const unprocessable = (m: string): PatchFailure => new PatchFailure('Unprocessable', m);

// ---------------------------------------------------------------------------------------------
// RFC 6901 pointers and RFC 6902 JSON Patch

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw bad(`JSON pointer must be empty or start with "/": ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((t) => {
    if (/~[^01]|~$/.test(t)) throw bad(`invalid JSON pointer escape in ${JSON.stringify(pointer)}`);
    return t.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw unprocessable(`invalid array index ${JSON.stringify(token)} in ${pointer}`);
  const i = Number(token);
  if (i > length || (!allowEnd && i === length)) throw unprocessable(`array index ${i} out of bounds in ${pointer}`);
  return i;
}

/** The container holding the last token, for a document that is already a private copy. */
function parentOf(doc: unknown, tokens: string[], pointer: string): unknown {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false, pointer)];
    else if (isRecord(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw unprocessable(`path ${pointer} does not exist`);
  }
  return cur;
}

function getAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent.length, false, pointer)];
  if (isRecord(parent) && Object.prototype.hasOwnProperty.call(parent, last)) return parent[last];
  throw unprocessable(`path ${pointer} does not exist`);
}

/** Returns the new document (root replacement is possible). */
function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true, pointer), 0, value);
  else if (isRecord(parent)) parent[last] = value;
  else throw unprocessable(`path ${pointer}: parent is not a container`);
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw unprocessable('cannot remove the document root');
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1] ?? '';
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false, pointer);
    const [v] = parent.splice(i, 1);
    return v;
  }
  if (isRecord(parent) && Object.prototype.hasOwnProperty.call(parent, last)) {
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw unprocessable(`path ${pointer} does not exist`);
}

export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

function decodeOp(raw: unknown, i: number): JsonPatchOp {
  if (!isRecord(raw)) throw bad(`json patch operation ${i} is not an object`);
  const op = raw['op'];
  const path = raw['path'];
  if (typeof path !== 'string') throw bad(`json patch operation ${i}: missing or invalid "path"`);
  switch (op) {
    case 'add': case 'replace': case 'test':
      if (!Object.prototype.hasOwnProperty.call(raw, 'value')) throw bad(`json patch operation ${i} (${op}): missing "value"`);
      return { op, path, value: raw['value'] };
    case 'remove':
      return { op, path };
    case 'move': case 'copy': {
      const from = raw['from'];
      if (typeof from !== 'string') throw bad(`json patch operation ${i} (${op}): missing or invalid "from"`);
      return { op, from, path };
    }
    default:
      throw bad(`Unexpected kind: ${JSON.stringify(op)}`);
  }
}

function applyOp(doc: unknown, op: JsonPatchOp): unknown {
  switch (op.op) {
    case 'add':
      return addAt(doc, op.path, deepClone(op.value));
    case 'remove':
      removeAt(doc, op.path);
      return doc;
    case 'replace': {
      const tokens = parsePointer(op.path);
      if (tokens.length === 0) return deepClone(op.value);
      // Like evanphx/json-patch v4 (kube-apiserver's), replacing a missing key of an existing object sets it.
      const parent = parentOf(doc, tokens, op.path);
      if (!isRecord(parent)) removeAt(doc, op.path);
      return addAt(doc, op.path, deepClone(op.value));
    }
    case 'move': {
      if (op.path.startsWith(`${op.from}/`)) throw unprocessable(`cannot move ${op.from} into its own child ${op.path}`);
      if (op.from === op.path) return doc;
      const v = removeAt(doc, op.from);
      return addAt(doc, op.path, v);
    }
    case 'copy':
      return addAt(doc, op.path, deepClone(getAt(doc, op.from)));
    case 'test': {
      const actual = getAt(doc, op.path);
      if (!deepEqual(actual, op.value)) throw unprocessable(`testing value ${op.path} failed`);
      return doc;
    }
    default: {
      const never: never = op;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

/** RFC 6902. The patch is the parsed request body (an array of operations). */
export function applyJsonPatch(doc: unknown, patch: unknown): PatchResult {
  return run(() => {
    if (!Array.isArray(patch)) throw bad('json patch must be an array of operations');
    if (patch.length > maxJsonPatchOperations) {
      throw new PatchFailure('Unprocessable', `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`);
    }
    const ops = patch.map(decodeOp);
    let cur = deepClone(doc);
    for (const op of ops) cur = applyOp(cur, op);
    return cur;
  });
}

// ---------------------------------------------------------------------------------------------
// RFC 7386 JSON Merge Patch

function mergePatchValue(target: unknown, patch: unknown, depth: number): unknown {
  if (depth > maxPatchDepth) throw bad('patch nesting too deep');
  if (!isRecord(patch)) return deepClone(patch);
  const out: JsonObject = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatchValue(out[k], v, depth + 1);
  }
  return out;
}

export function applyMergePatch(doc: unknown, patch: unknown): PatchResult {
  return run(() => deepClone(mergePatchValue(doc, patch, 0)));
}

/** The merge patch that turns `original` into `modified` (null for deletions). */
export function createMergePatch(original: unknown, modified: unknown): unknown {
  if (!isRecord(original) || !isRecord(modified)) return deepClone(modified);
  const out: JsonObject = {};
  for (const k of Object.keys(original)) if (!Object.prototype.hasOwnProperty.call(modified, k)) out[k] = null;
  for (const [k, v] of Object.entries(modified)) {
    const o = original[k];
    if (!Object.prototype.hasOwnProperty.call(original, k)) out[k] = deepClone(v);
    else if (!deepEqual(o, v)) out[k] = isRecord(o) && isRecord(v) ? createMergePatch(o, v) : deepClone(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch

export type ListStrategy =
  | { type: 'merge'; key: string }
  | { type: 'set' }
  | { type: 'atomic' };

const nameKeyed = new Set(['containers', 'initContainers', 'ephemeralContainers', 'env', 'volumes', 'imagePullSecrets', 'resourceClaims', 'schedulingGates']);
const containerLists = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * The patch strategy of the list at `path` (field names from the object root, list indices
 * omitted), transcribed from the `patchStrategy`/`patchMergeKey` tags of the Kubernetes types this
 * project serves. Lists not named here are atomic (replaced whole), as in Kubernetes.
 */
export function listStrategy(path: readonly string[]): ListStrategy {
  const last = path[path.length - 1] ?? '';
  const prev = path[path.length - 2] ?? '';
  if (nameKeyed.has(last)) return { type: 'merge', key: 'name' };
  if (last === 'ports') {
    if (containerLists.has(prev)) return { type: 'merge', key: 'containerPort' };
    if (path.length === 2 && prev === 'spec') return { type: 'merge', key: 'port' };
  }
  switch (last) {
    case 'volumeMounts': return { type: 'merge', key: 'mountPath' };
    case 'volumeDevices': return { type: 'merge', key: 'devicePath' };
    case 'ownerReferences': return { type: 'merge', key: 'uid' };
    case 'conditions': return { type: 'merge', key: 'type' };
    case 'hostAliases': case 'podIPs': case 'hostIPs': return { type: 'merge', key: 'ip' };
    case 'topologySpreadConstraints': return { type: 'merge', key: 'topologyKey' };
    case 'addresses': return path.length === 2 && prev === 'status' ? { type: 'merge', key: 'type' } : { type: 'atomic' };
    // ObjectMeta.finalizers wherever an ObjectMeta is (a pod template's too), as upstream's tag says.
    case 'finalizers': return prev === 'metadata' ? { type: 'set' } : { type: 'atomic' };
    // Mutating/ValidatingWebhookConfiguration.webhooks (the only root-level `webhooks` served).
    case 'webhooks': return path.length === 1 ? { type: 'merge', key: 'name' } : { type: 'atomic' };
    default: return { type: 'atomic' };
  }
}

const directiveKey = '$patch';
const retainKeysKey = '$retainKeys';
const setOrderPrefix = '$setElementOrder/';
const deletePrimitivePrefix = '$deleteFromPrimitiveList/';

function smpMap(original: JsonObject, patch: JsonObject, path: string[]): JsonObject {
  if (path.length > maxPatchDepth) throw bad('patch nesting too deep');
  const directive = patch[directiveKey];
  if (directive !== undefined) {
    // Like strategicpatch's handleDirectiveInMergeMap: "delete" leaves an empty map behind.
    if (directive === 'delete') return {};
    if (directive === 'replace') return stripDirectives(patch, path) as JsonObject;
    if (directive !== 'merge') throw bad(`Unknown patch type: ${String(directive)} in map`);
  }
  let out: JsonObject = { ...original };
  const retain = patch[retainKeysKey];
  if (retain !== undefined) {
    if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) throw bad('$retainKeys must be a list of strings');
    const keep = new Set(retain as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(deletePrimitivePrefix)) {
      const field = k.slice(deletePrimitivePrefix.length);
      if (!Array.isArray(v)) throw bad(`${k} must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
    }
  }
  const orderOf = (field: string): unknown[] | undefined => {
    const order = patch[setOrderPrefix + field];
    if (order === undefined) return undefined;
    if (!Array.isArray(order)) throw bad(`${setOrderPrefix}${field} must be a list`);
    return order;
  };
  for (const [k, v] of Object.entries(patch)) {
    if (k === directiveKey || k === retainKeysKey || k.startsWith(deletePrimitivePrefix) || k.startsWith(setOrderPrefix)) continue;
    const childPath = [...path, k];
    if (v === null) {
      delete out[k];
    } else if (isRecord(v)) {
      out[k] = smpMap(isRecord(out[k]) ? (out[k] as JsonObject) : {}, v, childPath);
    } else if (Array.isArray(v)) {
      out[k] = Array.isArray(out[k]) ? smpList(out[k] as unknown[], v, childPath, orderOf(k)) : stripDirectives(v, childPath);
    } else {
      out[k] = v;
    }
  }
  // An order directive without a patch list for that field only reorders.
  for (const k of Object.keys(patch)) {
    if (!k.startsWith(setOrderPrefix)) continue;
    const field = k.slice(setOrderPrefix.length);
    const cur = out[field];
    if (Object.prototype.hasOwnProperty.call(patch, field) || !Array.isArray(cur)) continue;
    out[field] = normalizeOrder(cur, orderOf(field) ?? [], cur, identityFn(listStrategy([...path, field])));
  }
  return out;
}

/** Removes SMP directives and nulls from a value that is being inserted rather than merged. */
function stripDirectives(v: unknown, path: string[]): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isRecord(x) && x[directiveKey] !== undefined && Object.keys(x).length === 1)).map((x) => stripDirectives(x, path));
  if (!isRecord(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === directiveKey || k === retainKeysKey || k.startsWith(setOrderPrefix) || k.startsWith(deletePrimitivePrefix) || x === null) continue;
    out[k] = stripDirectives(x, [...path, k]);
  }
  return out;
}

function identityFn(strategy: ListStrategy): (x: unknown) => unknown {
  return strategy.type === 'merge' ? (x) => (isRecord(x) ? x[strategy.key] : x) : (x) => x;
}

function smpList(original: unknown[], patch: unknown[], path: string[], order: unknown[] | undefined): unknown[] {
  const strategy = listStrategy(path);
  const replaceAll = patch.some((x) => isRecord(x) && x[directiveKey] === 'replace');
  if (replaceAll) return stripDirectives(patch.filter((x) => !(isRecord(x) && x[directiveKey] === 'replace')), path) as unknown[];
  let merged: unknown[];
  switch (strategy.type) {
    case 'atomic':
      for (const x of patch) if (isRecord(x) && x[directiveKey] !== undefined) {
        throw bad(`$patch: ${String(x[directiveKey])} is not allowed in a list without a merge key (${path.join('.')})`);
      }
      return stripDirectives(patch, path) as unknown[];
    case 'set':
      merged = [...original];
      for (const x of patch) if (!merged.some((o) => deepEqual(o, x))) merged.push(x);
      break;
    case 'merge':
      merged = mergeKeyedList(original, patch, path, strategy.key);
      break;
    default: {
      const never: never = strategy;
      throw new Error(`strategy ${JSON.stringify(never)}`);
    }
  }
  const patchOrder = order ?? patch.filter((x) => !(isRecord(x) && x[directiveKey] !== undefined));
  return normalizeOrder(merged, patchOrder, original, identityFn(strategy));
}

function mergeKeyedList(original: unknown[], patch: unknown[], path: string[], key: string): unknown[] {
  const out = [...original];
  const indexOf = (k: unknown): number => out.findIndex((o) => isRecord(o) && deepEqual(o[key], k));
  for (const item of patch) {
    if (!isRecord(item)) {
      // A list of scalars where the schema expects maps: Kubernetes errors; so do we.
      throw bad(`expected a map in list ${path.join('.')} (merge key ${key}), got ${JSON.stringify(item)}`);
    }
    if (!Object.prototype.hasOwnProperty.call(item, key)) throw bad(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const i = indexOf(item[key]);
    if (item[directiveKey] === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i < 0) out.push(stripDirectives(item, path));
    else out[i] = smpMap(out[i] as JsonObject, item, path);
  }
  return out;
}

/**
 * strategicpatch's normalizeElementOrder + mergeSortedSlice: items named by the patch (or by
 * `$setElementOrder`) take the patch's order, server-only items keep theirs, and the two are
 * interleaved using the original order where both are known; new items go before.
 */
function normalizeOrder(merged: unknown[], patchOrder: unknown[], serverOrder: unknown[], id: (x: unknown) => unknown): unknown[] {
  const indexIn = (list: unknown[], x: unknown): number => list.findIndex((y) => deepEqual(id(y), id(x)));
  const byIndex = (list: unknown[]) => (a: unknown, b: unknown): number => indexIn(list, a) - indexIn(list, b);
  const patchItems = merged.filter((x) => indexIn(patchOrder, x) >= 0).sort(byIndex(patchOrder));
  const serverOnly = merged.filter((x) => indexIn(patchOrder, x) < 0).sort(byIndex(serverOrder));
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    const l = serverOnly[i];
    const r = patchItems[j];
    if (j >= patchItems.length) { out.push(l); i++; continue; }
    if (i >= serverOnly.length) { out.push(r); j++; continue; }
    const li = indexIn(serverOrder, l);
    const ri = indexIn(serverOrder, r);
    if (li >= 0 && ri >= 0 && li < ri) { out.push(l); i++; } else { out.push(r); j++; }
  }
  return out;
}

/** Strategic merge patch for the built-in kinds this project serves. */
export function applyStrategicMergePatch(doc: unknown, patch: unknown): PatchResult {
  return run(() => {
    if (!isRecord(patch)) throw bad('strategic merge patch must be a JSON object');
    if (patch[directiveKey] === 'delete') throw unprocessable('$patch: delete of the whole object is not allowed');
    return deepClone(smpMap(isRecord(doc) ? doc : {}, patch, []));
  });
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const patchContentTypes: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** Maps a request Content-Type (parameters ignored) to a patch type, or undefined (→ 415). */
export function patchTypeFor(contentType: string | undefined): PatchType | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return Object.prototype.hasOwnProperty.call(patchContentTypes, base) ? patchContentTypes[base] : undefined;
}

/**
 * The reply for a failed patch, as kube-apiserver's patcher: malformed patches are 400 BadRequest;
 * patches that do not apply are 422 via NewGenericServerResponse (generic message, the detail as
 * an UnexpectedServerResponse cause).
 */
export function patchErrorStatus(err: PatchError): Status {
  switch (err.kind) {
    case 'BadRequest':
      return badRequest(err.message);
    case 'Unprocessable':
      return statusFailure(422, 'Invalid', 'the server rejected our request due to an error in our request',
        { causes: [{ reason: 'UnexpectedServerResponse', message: err.message }] });
    default: {
      const never: never = err.kind;
      throw new Error(`patch error kind ${String(never)}`);
    }
  }
}
