/**
 * Server-Side Apply and managedFields bookkeeping (structured-merge-diff, reduced to what this
 * project's kinds need).
 *
 * Simplifications (documented on purpose):
 * - List semantics come from patch.ts's `listStrategy` (the SMP merge keys); container and service
 *   ports are keyed by (port, protocol) with protocol defaulting to TCP, like the OpenAPI list-map keys.
 * - Entries of the applying manager's own name (e.g. its earlier Update entry) never conflict with it.
 * - Applied list items are kept in live order, new items appended (upstream orders by the config).
 * - No type conversion between API versions: entries record the apiVersion they were written with.
 */
import { listStrategy } from './patch.js';
import { statusFailure, type Status, type StatusCause } from './status.js';
import { asArray, asRecord, asString, deepClone, deepEqual, isRecord, type JsonObject, type ManagedFieldsEntry } from './types.js';

/** A path as fieldsV1 element strings: "f:spec", "k:{\"name\":\"x\"}", "v:\"a\"", "." for the item itself. */
export type FieldPath = readonly string[];

/** A set of leaf paths (encoded with JSON.stringify for Set identity). */
export type FieldSet = Set<string>;

const enc = (p: FieldPath): string => JSON.stringify(p);
const dec = (s: string): string[] => JSON.parse(s) as string[];

/** Fields never tracked (structured-merge-diff's stripped set). */
const strippedMeta = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

function keyFields(schemaPath: readonly string[]): string[] | undefined {
  const s = listStrategy(schemaPath);
  if (s.type !== 'merge') return undefined;
  if (s.key === 'containerPort' || s.key === 'port') return [s.key, 'protocol'];
  return [s.key];
}

function itemKey(item: JsonObject, fields: readonly string[]): string {
  const key: JsonObject = {};
  for (const f of [...fields].sort()) key[f] = item[f] ?? (f === 'protocol' ? 'TCP' : null);
  return `k:${JSON.stringify(key)}`;
}

function walk(value: unknown, schemaPath: string[], prefix: string[], out: FieldSet, top: boolean): void {
  if (isRecord(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix.length > 0) out.add(enc(prefix));
    for (const [k, v] of entries) {
      if (top && (k === 'apiVersion' || k === 'kind')) continue;
      if (prefix.length === 1 && prefix[0] === 'f:metadata' && strippedMeta.has(k)) continue;
      walk(v, [...schemaPath, k], [...prefix, `f:${k}`], out, false);
    }
    return;
  }
  if (Array.isArray(value)) {
    const strategy = listStrategy(schemaPath);
    const keys = keyFields(schemaPath);
    if (strategy.type === 'set') {
      for (const item of value) out.add(enc([...prefix, `v:${JSON.stringify(item)}`]));
    } else if (keys !== undefined && value.length > 0 && value.every(isRecord)) {
      for (const item of value as JsonObject[]) {
        const ip = [...prefix, itemKey(item, keys)];
        out.add(enc([...ip, '.']));
        for (const [k, v] of Object.entries(item)) walk(v, [...schemaPath, k], [...ip, `f:${k}`], out, false);
      }
    } else {
      out.add(enc(prefix));
    }
    return;
  }
  if (prefix.length > 0) out.add(enc(prefix));
}

/** The leaf field set an object (or apply configuration) sets. */
export function fieldSetOf(obj: JsonObject): FieldSet {
  const out: FieldSet = new Set();
  walk(obj, [], [], out, true);
  return out;
}

/** Resolves a path in an object: `found` false when absent. */
export function valueAt(obj: unknown, path: FieldPath): { found: boolean; value: unknown } {
  let cur: unknown = obj;
  const schemaPath: string[] = [];
  for (const el of path) {
    if (el === '.') continue;
    if (el.startsWith('f:')) {
      const k = el.slice(2);
      if (!isRecord(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return { found: false, value: undefined };
      cur = cur[k];
      schemaPath.push(k);
    } else if (el.startsWith('k:')) {
      const keys = keyFields(schemaPath) ?? [];
      const item = asArray(cur).find((x) => isRecord(x) && itemKey(x, keys) === el);
      if (item === undefined) return { found: false, value: undefined };
      cur = item;
    } else if (el.startsWith('v:')) {
      const v = JSON.parse(el.slice(2)) as unknown;
      if (!asArray(cur).some((x) => deepEqual(x, v))) return { found: false, value: undefined };
      cur = v;
    } else {
      throw new Error(`unsupported field path element ${el}`);
    }
  }
  return { found: true, value: cur };
}

// ---------------------------------------------------------------------------------------------
// fieldsV1 encoding

export function fieldSetToFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  for (const s of [...set].sort()) {
    let node = root;
    for (const el of dec(s)) {
      const next = asRecord(node[el]) ?? {};
      node[el] = next;
      node = next;
    }
  }
  return root;
}

export function fieldsV1ToFieldSet(tree: unknown): FieldSet {
  const out: FieldSet = new Set();
  const rec = (node: unknown, prefix: string[]): void => {
    const entries = Object.entries(asRecord(node) ?? {});
    if (entries.length === 0 && prefix.length > 0) out.add(enc(prefix));
    for (const [k, v] of entries) rec(v, [...prefix, k]);
  };
  rec(tree, []);
  return out;
}

/** fieldpath.Path.String(): `.spec.containers[name="nginx"].image`. */
export function fieldPathString(path: FieldPath): string {
  return path.filter((el) => el !== '.').map((el) => {
    if (el.startsWith('f:')) return `.${el.slice(2)}`;
    if (el.startsWith('v:')) return `[=${el.slice(2)}]`;
    if (el.startsWith('k:')) {
      const key = JSON.parse(el.slice(2)) as JsonObject;
      return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
    }
    return el;
  }).join('');
}

// ---------------------------------------------------------------------------------------------
// Managed fields entries

interface Owner {
  entry: ManagedFieldsEntry;
  fields: FieldSet;
}

function ownersOf(obj: JsonObject): Owner[] {
  return asArray(asRecord(obj['metadata'])?.['managedFields']).filter(isRecord).map((e) => ({
    entry: e as unknown as ManagedFieldsEntry,
    fields: fieldsV1ToFieldSet(e['fieldsV1']),
  }));
}

const sameIdentity = (e: ManagedFieldsEntry, manager: string, operation: string, subresource: string | undefined): boolean =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

function writeOwners(obj: JsonObject, owners: Owner[]): void {
  const meta = asRecord(obj['metadata']) ?? {};
  obj['metadata'] = meta;
  const entries = owners.filter((o) => o.fields.size > 0).map((o) => {
    const e: ManagedFieldsEntry = { ...o.entry, fieldsType: 'FieldsV1', fieldsV1: fieldSetToFieldsV1(o.fields) };
    return e;
  });
  if (entries.length === 0) delete meta['managedFields'];
  else meta['managedFields'] = entries;
}

function upsertOwner(owners: Owner[], manager: string, operation: 'Apply' | 'Update', apiVersion: string, time: string, subresource?: string): Owner {
  let o = owners.find((x) => sameIdentity(x.entry, manager, operation, subresource));
  if (o === undefined) {
    o = { entry: { manager, operation, apiVersion, time, fieldsType: 'FieldsV1', fieldsV1: {} }, fields: new Set() };
    if (subresource !== undefined) o.entry.subresource = subresource;
    owners.push(o);
  }
  o.entry.apiVersion = apiVersion;
  o.entry.time = time;
  return o;
}

/**
 * Records ownership for a non-apply write (create, PUT, any PATCH) by `manager`: it takes every
 * field it set or changed, fields that disappeared lose all owners.
 */
export function recordUpdate(old: JsonObject | undefined, next: JsonObject, manager: string, apiVersion: string, time: string, subresource?: string): JsonObject {
  const out = deepClone(next);
  const owners = ownersOf(old ?? {});
  const before = old === undefined ? new Set<string>() : fieldSetOf(old);
  const after = fieldSetOf(out);
  // An item's "." is only taken by whoever adds the item; edits inside it take the edited leaves.
  const changed = [...after].filter((p) => !before.has(p) ||
    (!p.endsWith('"."]') && !deepEqual(valueAt(old, dec(p)).value, valueAt(out, dec(p)).value)));
  const removed = [...before].filter((p) => !after.has(p));
  for (const o of owners) for (const p of [...changed, ...removed]) o.fields.delete(p);
  if (changed.length > 0) {
    const me = upsertOwner(owners, manager, 'Update', apiVersion, time, subresource);
    for (const p of changed) me.fields.add(p);
  }
  writeOwners(out, owners);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Apply

export interface ApplyParams {
  manager: string;
  /** The apiVersion the configuration was written in (recorded on the entry). */
  apiVersion: string;
  force: boolean;
  /** RFC 3339, recorded as the entry's time. */
  time: string;
  /**
   * Top-level fields the endpoint resets (strategy GetResetFields): dropped from the configuration
   * and never owned. Default ['status'] for the main resource; use ['spec'] for status applies.
   */
  resetFields?: readonly string[];
}

export interface ApplyConflict {
  manager: string;
  /** printManager() form: `"name" using apps/v1 at <time>` for Update entries. */
  managerDescription: string;
  path: string;
}

export type ApplyResult = { ok: true; object: JsonObject } | { ok: false; conflicts: ApplyConflict[]; status: Status };

function describeManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource !== undefined && e.subresource !== '') s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += e.time === undefined ? ` using ${e.apiVersion}` : ` using ${e.apiVersion} at ${e.time}`;
  return s;
}

/** k8s.io/apiserver fieldmanager's conflict Status (409, reason Conflict, FieldManagerConflict causes). */
export function applyConflictStatus(conflicts: readonly ApplyConflict[]): Status {
  const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.managerDescription}`, field: c.path }));
  let message: string;
  const first = conflicts[0];
  if (conflicts.length === 1 && first !== undefined) {
    message = `Apply failed with 1 conflict: conflict with ${first.managerDescription}: ${first.path}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.managerDescription, [...(byManager.get(c.managerDescription) ?? []), c.path]);
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}`);
      for (const p of byManager.get(m) ?? []) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return statusFailure(409, 'Conflict', message, { causes });
}

function mergeApplied(live: unknown, config: unknown, schemaPath: string[]): unknown {
  if (isRecord(config)) {
    const out: JsonObject = isRecord(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(config)) {
      if (v === null) delete out[k];
      else out[k] = mergeApplied(out[k], v, [...schemaPath, k]);
    }
    return out;
  }
  if (Array.isArray(config)) {
    const strategy = listStrategy(schemaPath);
    const keys = keyFields(schemaPath);
    const liveList = Array.isArray(live) ? [...live] : [];
    if (strategy.type === 'set') return [...liveList, ...config.filter((x) => !liveList.some((l) => deepEqual(l, x)))];
    if (keys === undefined || !config.every(isRecord)) return deepClone(config);
    for (const item of config as JsonObject[]) {
      const k = itemKey(item, keys);
      const i = liveList.findIndex((l) => isRecord(l) && itemKey(l, keys) === k);
      if (i < 0) liveList.push(deepClone(item));
      else liveList[i] = mergeApplied(liveList[i], item, schemaPath);
    }
    return liveList;
  }
  return config;
}

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((e, i) => path[i] === e);
}

/** Removes a leaf (or a whole list item for "." paths) from `obj` in place. */
function removePath(obj: JsonObject, path: FieldPath): void {
  const target = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  const parentPath = target.slice(0, -1);
  const last = target[target.length - 1];
  if (last === undefined) return;
  const parentEl = parentPath[parentPath.length - 1];
  // Key fields identify a surviving item; they go only with the item itself.
  if (last.startsWith('f:') && parentEl?.startsWith('k:') === true && last.slice(2) in (JSON.parse(parentEl.slice(2)) as JsonObject)) return;
  const parent = valueAt(obj, parentPath);
  if (!parent.found) return;
  if (last.startsWith('f:') && isRecord(parent.value)) {
    delete parent.value[last.slice(2)];
  } else if (Array.isArray(parent.value)) {
    const list = parent.value;
    const schemaPath = parentPath.filter((e) => e.startsWith('f:')).map((e) => e.slice(2));
    const keys = keyFields(schemaPath) ?? [];
    const idx = list.findIndex((x) => (last.startsWith('k:') ? isRecord(x) && itemKey(x, keys) === last : deepEqual(x, JSON.parse(last.slice(2)))));
    if (idx >= 0) list.splice(idx, 1);
  }
  // A map or list emptied by the removal goes too (but never a top-level section like spec).
  const emptied = Array.isArray(parent.value) ? parent.value.length === 0 : isRecord(parent.value) && Object.keys(parent.value).length === 0;
  if (emptied && parentPath.length >= 2 && parentPath[parentPath.length - 1]?.startsWith('f:') === true) removePath(obj, parentPath);
}

/**
 * Applies `config` as `p.manager` to `live` (undefined: the object does not exist yet).
 * Fields other managers own with a different value conflict unless `force`; fields this manager
 * applied before but left out now are removed unless someone else also owns them.
 */
export function serverSideApply(live: JsonObject | undefined, config: JsonObject, p: ApplyParams): ApplyResult {
  const owners = ownersOf(live ?? {});
  const cfg = deepClone(config);
  const cfgMeta = asRecord(cfg['metadata']);
  if (cfgMeta !== undefined) delete cfgMeta['managedFields'];
  for (const k of p.resetFields ?? ['status']) delete cfg[k];
  const configFields = fieldSetOf(cfg);
  const mine = owners.find((o) => sameIdentity(o.entry, p.manager, 'Apply', undefined));
  const others = owners.filter((o) => o !== mine && o.entry.manager !== p.manager);

  const conflicts: ApplyConflict[] = [];
  const conflicted = new Map<Owner, string[]>();
  if (live !== undefined) {
    for (const path of configFields) {
      const want = valueAt(cfg, dec(path));
      const have = valueAt(live, dec(path));
      // Wanting a list item to exist never conflicts; only differing leaf values do.
      if (have.found && (path.endsWith('"."]') || deepEqual(want.value, have.value))) continue;
      for (const o of others) {
        if (!o.fields.has(path)) continue;
        conflicts.push({ manager: o.entry.manager, managerDescription: describeManager(o.entry), path: fieldPathString(dec(path)) });
        conflicted.set(o, [...(conflicted.get(o) ?? []), path]);
      }
    }
  }
  if (conflicts.length > 0 && !p.force) return { ok: false, conflicts, status: applyConflictStatus(conflicts) };
  for (const [o, paths] of conflicted) for (const path of paths) o.fields.delete(path);

  let result: JsonObject = live === undefined ? {} : deepClone(live);
  if (mine !== undefined) {
    const othersOwn = (path: string): boolean => {
      const el = dec(path);
      // Dropping a list item is only safe when nobody else owns anything inside it.
      const itemPrefix = el[el.length - 1] === '.' ? el.slice(0, -1) : undefined;
      return owners.some((o) => o !== mine && [...o.fields].some((f) => f === path ||
        (itemPrefix !== undefined && isPrefix(itemPrefix, dec(f)))));
    };
    // Whole items first: their key fields must still be present to find them.
    const dropped = [...mine.fields].filter((f) => !configFields.has(f) && !othersOwn(f))
      .sort((a, b) => Number(!a.endsWith('"."]')) - Number(!b.endsWith('"."]')));
    for (const f of dropped) removePath(result, dec(f));
  }
  result = mergeApplied(result, cfg, []) as JsonObject;
  const me = upsertOwner(owners, p.manager, 'Apply', p.apiVersion, p.time);
  me.fields = configFields;
  writeOwners(result, owners);
  return { ok: true, object: result };
}

/** The managers and their operations, for tests and debugging. */
export function managersOf(obj: JsonObject): Array<{ manager: string; operation: string; fields: string[] }> {
  return ownersOf(obj).map((o) => ({ manager: o.entry.manager, operation: asString(o.entry.operation) ?? '', fields: [...o.fields].map((f) => fieldPathString(dec(f))).sort() }));
}
