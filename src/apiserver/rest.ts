/**
 * REST handlers for every served kind, dispatched from one table on (method, target) where the
 * target is the collection, the object, or a subresource. A new kind is a row in src/api's resource
 * table; a new subresource is a row here.
 */
import {
  applyJsonPatch, applyMergePatch, applyScaleFor, applyStrategicMergePatch, asRecord, asString, badRequest, conflict,
  deepClone, findSubresource, invalid, isRecord, joinApiVersion, type JsonObject, listOf,
  methodNotAllowed, type PatchResult, patchTypeFor, scaleFor, serverSideApply, serviceUnavailable, type Status,
  type ResourceInfo, statusFailure, tableFor, type UpdateTarget, unsupportedMediaType, wantsTable, parseIncludeObject, expired,
} from '../api/index.js';
import type { ApiMethod, ApiResponse } from '../client/api-transport.js';
import { maxListLimit } from './limits.js';
import { deleteOptionsOf, type Registry, type WriteOptions } from './registry.js';
import {
  checkTypeAndIdentity, decodeAnyBody, decodeObjectBody, dryRunOf, filterOf, jsonResponse, managerOf,
  statusResponse, strictCheck, successStatus,
} from './request.js';
import type { ResourceRoute } from './route.js';
import { postEviction } from './eviction.js';
import { postToken, type TokenIssuerConfig } from './token-request.js';
import type { UserInfo } from './auth/index.js';
import { failOf, groupResource, okOf, type Outcome, type Stored } from './storage.js';
import { logWindowOf, type LogWindow } from './log-options.js';

export interface RestCall {
  readonly route: ResourceRoute;
  readonly method: ApiMethod;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  readonly nowMs: number;
  readonly podLogs?: PodLogSource;
  /** Absent: serviceaccounts/token answers 404 (no signing key). */
  readonly tokenIssuer?: TokenIssuerConfig;
  /** Who is asking (recorded where a kind keeps it: a CertificateSigningRequest's requester). */
  readonly user?: UserInfo;
}

/** csrStrategy.PrepareForCreate: the requester is whoever created the request, whatever the body says. */
function withRequester(csr: JsonObject, user: UserInfo | undefined): JsonObject {
  const spec: JsonObject = { ...(asRecord(csr['spec']) ?? {}) };
  for (const k of ['username', 'uid', 'groups', 'extra']) delete spec[k];
  if (user !== undefined) {
    spec['username'] = user.username;
    if (user.uid !== undefined && user.uid !== '') spec['uid'] = user.uid;
    if (user.groups.length > 0) spec['groups'] = [...user.groups];
    if (user.extra !== undefined && Object.keys(user.extra).length > 0) spec['extra'] = user.extra;
  }
  return { ...csr, spec };
}

type Handler = (r: Registry, c: RestCall) => Promise<ApiResponse>;

const respond = <T>(o: Outcome<T>, code: number, body: (v: T) => unknown): ApiResponse =>
  o.ok ? jsonResponse(code, body(o.value)) : statusResponse(o.status);

/** Table or plain JSON for reads, by the Accept header. */
export function render(c: RestCall, objects: JsonObject[], single: boolean, resourceVersion: string, continueToken?: string): Outcome<unknown> {
  const info = c.route.info;
  if (wantsTable(c.headers['accept'])) {
    const includeObject = parseIncludeObject(c.query['includeObject']);
    if (includeObject === undefined) return failOf(badRequest(`includeObject: Unsupported value: "${c.query['includeObject'] ?? ''}"`));
    const table = tableFor(info, objects, { nowMs: c.nowMs, resourceVersion, includeObject });
    if (continueToken !== undefined) (table['metadata'] as JsonObject)['continue'] = continueToken;
    return okOf(table);
  }
  return okOf(single ? objects[0] : listOf(info, objects, resourceVersion, continueToken));
}

function writeOptions(c: RestCall, subresource?: string, apply = false): Outcome<WriteOptions> {
  const dryRun = dryRunOf(c.query);
  if (!dryRun.ok) return dryRun;
  const manager = managerOf(c.query, c.headers);
  if (!manager.ok) return manager;
  return okOf({ dryRun: dryRun.value, manager: manager.value, ...(subresource ? { subresource } : {}), ...(apply ? { apply } : {}) });
}

// ---- reads ----

const getObject: Handler = async (r, c) => {
  const got = await r.get(c.route.info, c.route.namespace, c.route.name!);
  if (!got.ok) return statusResponse(got.status);
  const out = render(c, [got.value.object], true, String(got.value.modRevision));
  return respond(out, 200, (v) => v);
};

interface ContinueToken { rv: number; start: string }

function parseContinue(token: string | undefined): Outcome<ContinueToken | undefined> {
  if (token === undefined || token === '') return okOf(undefined);
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isRecord(t) && typeof t['rv'] === 'number' && typeof t['start'] === 'string') return okOf({ rv: t['rv'], start: t['start'] });
  } catch {
    // fall through
  }
  return failOf(badRequest('continue key is not valid: invalid continue token'));
}

const listObjects: Handler = async (r, c) => {
  const info = c.route.info;
  const filter = filterOf(info, c.query);
  if (!filter.ok) return statusResponse(filter.status);
  const cont = parseContinue(c.query['continue']);
  if (!cont.ok) return statusResponse(cont.status);
  const limit = Number(c.query['limit'] ?? '0');
  if (!Number.isInteger(limit) || limit < 0) return statusResponse(badRequest(`invalid limit ${JSON.stringify(c.query['limit'])}`));
  const listed = await r.storage.list(info, c.route.namespace, cont.value?.rv ?? 0, c.query['continue']);
  if (!listed.ok) {
    const s = listed.status.reason === 'Expired' ? expired(c.query['continue'] ?? '', '') : listed.status;
    return statusResponse({ ...s, message: s.reason === 'Expired' ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.' : s.message });
  }
  const start = cont.value?.start;
  const matching = listed.value.items.filter((s) => (start === undefined || s.key > start) && filter.value(s.object));
  const pageSize = limit === 0 ? matching.length : Math.min(limit, maxListLimit);
  const page = matching.slice(0, pageSize);
  const more = matching.length > page.length && page.length > 0;
  const token = more ? Buffer.from(JSON.stringify({ rv: listed.value.revision, start: page[page.length - 1]!.key })).toString('base64url') : undefined;
  return respond(render(c, page.map((s) => s.object), false, String(listed.value.revision), token), 200, (v) => v);
};

// ---- writes ----

const createObject: Handler = async (r, c) => {
  const info = c.route.info;
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const typed = checkTypeAndIdentity(info, body.value, { ...(c.route.namespace ? { namespace: c.route.namespace } : {}) });
  if (!typed.ok) return statusResponse(typed.status);
  const strict = strictCheck(c.query, typed.value, info);
  if (!strict.ok) return statusResponse(strict.status);
  const opts = writeOptions(c);
  if (!opts.ok) return statusResponse(opts.status);
  const object = info.kind === 'CertificateSigningRequest' ? withRequester(typed.value, c.user) : typed.value;
  return respond(await r.create(info, c.route.namespace, object, opts.value), 201, (v) => v);
};

const putObject = (target: UpdateTarget): Handler => async (r, c) => {
  const info = c.route.info;
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const typed = checkTypeAndIdentity(info, body.value, { name: c.route.name!, ...(c.route.namespace ? { namespace: c.route.namespace } : {}) });
  if (!typed.ok) return statusResponse(typed.status);
  const strict = strictCheck(c.query, typed.value, info);
  if (!strict.ok) return statusResponse(strict.status);
  const opts = writeOptions(c, target === 'main' ? undefined : target);
  if (!opts.ok) return statusResponse(opts.status);
  const put = await r.put(info, c.route.namespace, c.route.name!, typed.value, target, opts.value);
  return put.ok ? jsonResponse(put.value.created ? 201 : 200, put.value.object) : statusResponse(put.status);
};

function patchFailure(res: PatchResult & { ok: false }): Status {
  return res.error.kind === 'BadRequest' ? badRequest(res.error.message) : statusFailure(422, 'Invalid', res.error.message);
}

function applyPatchDoc(type: 'json' | 'merge' | 'strategic', current: JsonObject, patch: unknown): Outcome<JsonObject> {
  const res = type === 'json' ? applyJsonPatch(current, patch) : type === 'merge' ? applyMergePatch(current, patch) : applyStrategicMergePatch(current, patch);
  if (!res.ok) return failOf(patchFailure(res));
  return isRecord(res.value) ? okOf(res.value) : failOf(badRequest('the patch result is not an object'));
}

const patchObject = (target: UpdateTarget): Handler => async (r, c) => {
  const type = patchTypeFor(c.headers['content-type']);
  if (type === undefined) {
    return statusResponse(unsupportedMediaType(c.headers['content-type'] ?? '', ['application/json-patch+json', 'application/merge-patch+json',
      'application/strategic-merge-patch+json', 'application/apply-patch+yaml']));
  }
  if (type === 'apply') return applyObject(r, c, target);
  // Custom resources have no patch strategies: upstream refuses strategic merge for them.
  if (type === 'strategic' && c.route.info.custom !== undefined) {
    return statusResponse(unsupportedMediaType(c.headers['content-type'] ?? '', ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']));
  }
  const patch = decodeAnyBody(c.body, c.headers['content-type']);
  if (!patch.ok) return statusResponse(patch.status);
  if (patch.value === undefined) return statusResponse(badRequest('the patch body is empty'));
  const opts = writeOptions(c, target === 'main' ? undefined : target);
  if (!opts.ok) return statusResponse(opts.status);
  const info = c.route.info;
  const url = { name: c.route.name!, ...(c.route.namespace ? { namespace: c.route.namespace } : {}) };
  const out = await r.guaranteedUpdate(info, c.route.namespace, c.route.name!, target, opts.value, (cur) => {
    const patched = applyPatchDoc(type, cur.object, patch.value);
    if (!patched.ok) return patched;
    const typed = checkTypeAndIdentity(info, patched.value, url);
    if (!typed.ok) return typed;
    const strict = strictCheck(c.query, strictSubject(type, typed.value, patch.value), info);
    return strict.ok ? typed : strict;
  });
  return respond(out, 200, (v) => v);
};

/**
 * What Strict field validation looks at: for merge and strategic patches the fields the patch sets
 * (so fields stored earlier without Strict do not fail later patches; `$` directives and deletions are not fields),
 * for JSON patches the result.
 */
function strictSubject(type: 'json' | 'merge' | 'strategic', result: JsonObject, patch: unknown): JsonObject {
  if (type === 'json' || !isRecord(patch)) return result;
  const withoutDirectives = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(withoutDirectives);
    if (!isRecord(v)) return v;
    // A null deletes the field: it sets nothing, so it is not an unknown field.
    return Object.fromEntries(Object.entries(v).filter(([k, x]) => !k.startsWith('$') && x !== null).map(([k, x]) => [k, withoutDirectives(x)]));
  };
  return { ...(withoutDirectives(patch) as JsonObject), apiVersion: result['apiVersion'], kind: result['kind'] };
}

/** Server-side apply: create if missing (201), conflicts without force → 409. */
async function applyObject(r: Registry, c: RestCall, target: UpdateTarget): Promise<ApiResponse> {
  const info = c.route.info;
  if (c.query['fieldManager'] === undefined || c.query['fieldManager'] === '') {
    return statusResponse(badRequest('PATCH requests with apply content-type require the fieldManager query param'));
  }
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  if (body.value['apiVersion'] === undefined || body.value['kind'] === undefined) return statusResponse(badRequest('apiVersion and kind must be set in an apply configuration'));
  const typed = checkTypeAndIdentity(info, body.value, { name: c.route.name!, ...(c.route.namespace ? { namespace: c.route.namespace } : {}) });
  if (!typed.ok) return statusResponse(typed.status);
  const strict = strictCheck(c.query, typed.value, info);
  if (!strict.ok) return statusResponse(strict.status);
  const opts = writeOptions(c, target === 'main' ? undefined : target, true);
  if (!opts.ok) return statusResponse(opts.status);
  const params = { manager: opts.value.manager, apiVersion: joinApiVersion(info.group, info.version), force: c.query['force'] === 'true', time: r.nowIso() };
  const existing = await r.storage.get(r.storage.key(info, c.route.namespace, c.route.name!));
  if (!existing.ok) return statusResponse(existing.status);
  if (existing.value === undefined) {
    if (target !== 'main') return statusResponse(groupNotFound(c));
    const applied = serverSideApply(undefined, typed.value, params);
    if (!applied.ok) return statusResponse(applied.status);
    return respond(await r.create(info, c.route.namespace, applied.object, opts.value), 201, (v) => v);
  }
  const out = await r.guaranteedUpdate(info, c.route.namespace, c.route.name!, target, opts.value, (cur) => {
    const applied = serverSideApply(cur.object, typed.value, params);
    return applied.ok ? okOf(applied.object) : failOf(applied.status);
  });
  return respond(out, 200, (v) => v);
}

function groupNotFound(c: RestCall): Status {
  return statusFailure(404, 'NotFound', `${c.route.info.resource} "${c.route.name ?? ''}" not found`,
    { kind: c.route.info.resource, name: c.route.name ?? '', ...(c.route.info.group ? { group: c.route.info.group } : {}) });
}

/** DeleteOptions from the body (any content type) and query, plus dryRun: shared by both delete verbs. */
function deleteRequestOf(c: Parameters<Handler>[1]) {
  const body = decodeAnyBody(c.body, c.headers['content-type']);
  if (!body.ok) return body;
  const options = deleteOptionsOf(body.value, c.query);
  if (!options.ok) return options;
  const dryRun = dryRunOf(c.query);
  if (!dryRun.ok) return dryRun;
  return { ok: true as const, options: options.value, dryRun: dryRun.value };
}

const deleteObject: Handler = async (r, c) => {
  const request = deleteRequestOf(c);
  if (!request.ok) return statusResponse(request.status);
  const out = await r.delete(c.route.info, c.route.namespace, c.route.name!, request.options, request.dryRun);
  return out.ok ? jsonResponse(out.value.deleted ? 200 : 202, out.value.object) : statusResponse(out.status);
};

const deleteCollection: Handler = async (r, c) => {
  const info = c.route.info;
  const filter = filterOf(info, c.query);
  if (!filter.ok) return statusResponse(filter.status);
  const request = deleteRequestOf(c);
  if (!request.ok) return statusResponse(request.status);
  const listed = await r.storage.list(info, c.route.namespace);
  if (!listed.ok) return statusResponse(listed.status);
  const deleted: JsonObject[] = [];
  for (const s of listed.value.items.filter((i) => filter.value(i.object))) {
    const m = asRecord(s.object['metadata']) ?? {};
    const out = await r.delete(info, asString(m['namespace']), asString(m['name']) ?? '', request.options, request.dryRun);
    if (out.ok) deleted.push(out.value.object);
    else if (out.status.reason !== 'NotFound') return statusResponse(out.status);
  }
  return jsonResponse(200, listOf(info, deleted, String(listed.value.revision)));
};

// ---- subresources ----

const getScale: Handler = async (r, c) => {
  const got = await r.get(c.route.info, c.route.namespace, c.route.name!);
  return respond(got, 200, (v) => scaleFor(c.route.info, v.object));
};

function scaleInto(info: ResourceInfo, cur: Stored, scale: unknown): Outcome<JsonObject> {
  const applied = applyScaleFor(info, cur.object, scale);
  if (!applied.ok) {
    const name = asString(asRecord(cur.object['metadata'])?.['name']) ?? '';
    return failOf(invalid('autoscaling', 'Scale', name, [{ type: 'FieldValueInvalid', field: applied.field, message: applied.message }]));
  }
  const rv = asString(asRecord(asRecord(scale)?.['metadata'])?.['resourceVersion']);
  if (rv !== undefined && rv !== '' && rv !== String(cur.modRevision)) (applied.object['metadata'] as JsonObject)['resourceVersion'] = rv;
  return okOf(applied.object);
}

const putScale: Handler = async (r, c) => {
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const typed = checkTypeAndIdentity(c.route.info, body.value, { name: c.route.name! }, 'Scale', 'autoscaling/v1');
  if (!typed.ok) return statusResponse(typed.status);
  const opts = writeOptions(c, 'scale');
  if (!opts.ok) return statusResponse(opts.status);
  const out = await r.guaranteedUpdate(c.route.info, c.route.namespace, c.route.name!, 'main', opts.value, (cur) => scaleInto(c.route.info, cur, typed.value));
  return respond(out, 200, (o) => scaleFor(c.route.info, o));
};

const patchScale: Handler = async (r, c) => {
  const type = patchTypeFor(c.headers['content-type']);
  if (type === undefined || type === 'apply' || (type === 'strategic' && c.route.info.custom !== undefined)) {
    return statusResponse(unsupportedMediaType(c.headers['content-type'] ?? '', ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json']));
  }
  const patch = decodeAnyBody(c.body, c.headers['content-type']);
  if (!patch.ok) return statusResponse(patch.status);
  const opts = writeOptions(c, 'scale');
  if (!opts.ok) return statusResponse(opts.status);
  const out = await r.guaranteedUpdate(c.route.info, c.route.namespace, c.route.name!, 'main', opts.value, (cur) => {
    const patched = applyPatchDoc(type, scaleFor(c.route.info, cur.object), patch.value);
    return patched.ok ? scaleInto(c.route.info, cur, patched.value) : patched;
  });
  return respond(out, 200, (o) => scaleFor(c.route.info, o));
};

/** pods/binding: the scheduler's write; spec.nodeName is otherwise immutable, so this bypasses validation. */
const postBinding: Handler = async (r, c) => {
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const node = asString(asRecord(body.value['target'])?.['name']);
  if (node === undefined || node === '') return statusResponse(invalid('', 'Binding', c.route.name!, [{ type: 'FieldValueRequired', field: 'target.name', message: 'Required value' }]));
  const info = c.route.info;
  const got = await r.get(info, c.route.namespace, c.route.name!);
  if (!got.ok) return statusResponse(got.status);
  const pod = deepClone(got.value.object);
  const spec = asRecord(pod['spec']) ?? {};
  const assigned = asString(spec['nodeName']);
  if (assigned !== undefined && assigned !== '') {
    return statusResponse(conflict(groupResource(info), c.route.name!, `pod ${c.route.name!} is already assigned to node "${assigned}"`));
  }
  if (asRecord(pod['metadata'])?.['deletionTimestamp'] !== undefined) return statusResponse(conflict(groupResource(info), c.route.name!, 'pod is being deleted, cannot be assigned to a host'));
  pod['spec'] = { ...spec, nodeName: node };
  const status = asRecord(pod['status']) ?? {};
  const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []).filter((x) => asRecord(x)?.['type'] !== 'PodScheduled');
  pod['status'] = { ...status, conditions: [...conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: r.nowIso() }] };
  const dryRun = dryRunOf(c.query);
  if (!dryRun.ok) return statusResponse(dryRun.status);
  if (dryRun.value) return jsonResponse(201, successStatus(201));
  const written = await r.storage.update(info, got.value.key, pod, got.value.modRevision, c.route.name!);
  return written.ok ? jsonResponse(201, successStatus(201)) : statusResponse(written.status);
};

/**
 * namespaces/{name}/finalize: only spec.finalizers changes (the namespace controller removes
 * `kubernetes` once the namespace is empty; with none left a terminating namespace is removed).
 */
const putFinalize: Handler = async (r, c) => {
  const body = decodeObjectBody(c.body, c.headers['content-type']);
  if (!body.ok) return statusResponse(body.status);
  const typed = checkTypeAndIdentity(c.route.info, body.value, { name: c.route.name! });
  if (!typed.ok) return statusResponse(typed.status);
  const opts = writeOptions(c, 'finalize');
  if (!opts.ok) return statusResponse(opts.status);
  const finalizers = asRecord(typed.value['spec'])?.['finalizers'] ?? [];
  const rv = asString(asRecord(typed.value['metadata'])?.['resourceVersion']);
  const out = await r.guaranteedUpdate(c.route.info, undefined, c.route.name!, 'main', opts.value, (cur) => {
    const o = deepClone(cur.object);
    o['spec'] = { ...(asRecord(o['spec']) ?? {}), finalizers };
    if (rv !== undefined && rv !== '') (o['metadata'] as JsonObject)['resourceVersion'] = rv;
    return okOf(o);
  });
  return out.ok ? jsonResponse(200, out.value) : statusResponse(out.status);
};

/** Where pod logs come from once kubelets exist (the integrator plugs it in); text or a Status. */
export interface PodLogOptions extends LogWindow {
  readonly container?: string;
  readonly tailLines?: number;
  readonly previous: boolean;
  readonly timestamps: boolean;
}

export type PodLogSource = (pod: JsonObject, options: PodLogOptions) => Promise<{ ok: true; text: string } | { ok: false; status: Status }>;

function logOptionsOf(q: Readonly<Record<string, string>>): Outcome<PodLogOptions> {
  const tail = q['tailLines'];
  if (tail !== undefined && !/^[0-9]{1,9}$/.test(tail)) return failOf(badRequest(`invalid tailLines "${tail}"`));
  const window = logWindowOf((name) => q[name]);
  if (!window.ok) return window;
  return okOf({
    ...window.value,
    ...(q['container'] ? { container: q['container'] } : {}), ...(tail !== undefined ? { tailLines: Number(tail) } : {}),
    previous: q['previous'] === 'true', timestamps: q['timestamps'] === 'true',
  });
}

/** pods/log: text/plain from the PodLogSource; without one (no kubelets yet) a 503 that says so. `follow` is not streamed. */
const getLog: Handler = async (r, c) => {
  const got = await r.get(c.route.info, c.route.namespace, c.route.name!);
  if (!got.ok) return statusResponse(got.status);
  const options = logOptionsOf(c.query);
  if (!options.ok) return statusResponse(options.status);
  if (c.podLogs === undefined) return statusResponse(serviceUnavailable(`logs not available yet: no kubelet serves the logs of pod "${c.route.name!}"`));
  const logs = await c.podLogs(got.value.object, options.value);
  if (!logs.ok) return statusResponse(logs.status);
  return { status: 200, contentType: 'text/plain', body: new TextEncoder().encode(logs.text) };
};

/** (method, target) → handler; target is `collection`, `object` or a subresource name. */
const handlers: Readonly<Record<string, Handler>> = {
  'GET collection': listObjects,
  'POST collection': createObject,
  'DELETE collection': deleteCollection,
  'GET object': getObject,
  'PUT object': putObject('main'),
  'PATCH object': patchObject('main'),
  'DELETE object': deleteObject,
  'GET status': getObject,
  'PUT status': putObject('status'),
  'PATCH status': patchObject('status'),
  'GET scale': getScale,
  'PUT scale': putScale,
  'PATCH scale': patchScale,
  'POST binding': postBinding,
  'POST eviction': postEviction,
  'GET log': getLog,
  'PUT finalize': putFinalize,
  'GET approval': getObject,
  'PUT approval': putObject('approval'),
  'PATCH approval': patchObject('approval'),
  'POST token': postToken,
};

/** The Kubernetes verb a (method, target) pair needs to be advertised. */
const verbOf: Readonly<Record<string, string>> = {
  'GET collection': 'list', 'POST collection': 'create', 'DELETE collection': 'deletecollection', 'GET object': 'get',
  'PUT object': 'update', 'PATCH object': 'patch', 'DELETE object': 'delete',
};

function targetOf(route: ResourceRoute): string {
  if (route.name === undefined) return 'collection';
  return route.subresource ?? 'object';
}

export async function handleRest(r: Registry, c: RestCall): Promise<ApiResponse> {
  const target = targetOf(c.route);
  const key = `${c.method} ${target}`;
  const handler = handlers[key];
  const info = c.route.info;
  if (handler === undefined) return statusResponse(c.route.subresource !== undefined && !findSubresource(info, c.route.subresource) ? groupNotFound(c) : methodNotAllowed());
  if (c.route.subresource !== undefined && findSubresource(info, c.route.subresource) === undefined) return statusResponse(groupNotFound(c));
  // A namespaced kind's all-namespaces path only lists and watches.
  if (info.namespaced && c.route.namespace === undefined && c.method !== 'GET') return statusResponse(methodNotAllowed());
  const verb = verbOf[key];
  if (verb !== undefined && !info.verbs.includes(verb as never)) return statusResponse(methodNotAllowed());
  return handler(r, c);
}
