/**
 * Object lifecycle as kube-apiserver's generic registry does it (rest.BeforeCreate/BeforeUpdate,
 * graceful deletion, finalizers). Everything generated — uid, times, resourceVersion, the random
 * suffix of generateName — is passed in by the caller.
 */
import { lookupKind, type ResourceInfo } from './resources.js';
import { parseQuantityValue } from './quantity.js';
import { formatRfc3339, parseRfc3339 } from './time.js';
import {
  asArray, asRecord, asString, deepClone, deepEqual, isRecord, type JsonObject, type ObjectMeta, type OwnerReference,
} from './types.js';

/** Kinds whose metadata.generation tracks spec changes (the ones with a spec a controller observes). */
const generationKinds = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'PodDisruptionBudget', 'HorizontalPodAutoscaler',
  'ReplicationController', 'Ingress', 'NetworkPolicy', 'FlowSchema', 'PriorityLevelConfiguration', 'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration', 'CustomResourceDefinition']);

/** Kinds that keep user-supplied status on create (nodeStrategy: "Nodes allow *all* fields"). */
const keepsStatusOnCreate = new Set(['Node']);

export const maxGenerateNameSuffixChars = 5;
export const maxGeneratedNameBaseChars = 63 - maxGenerateNameSuffixChars;

function metaOfMut(o: JsonObject): JsonObject {
  const m = o['metadata'];
  if (isRecord(m)) return m;
  const created: JsonObject = {};
  o['metadata'] = created;
  return created;
}

export interface CreateParams {
  uid: string;
  nowMs: number;
  resourceVersion: string;
  /** Used only with generateName: 5 characters from the caller's PRNG (Kubernetes' alphabet: bcdfghjklmnpqrstvwxz2456789). */
  nameSuffix?: string;
  /** Set for Services that get a ClusterIP allocated by the caller. */
  clusterIP?: string;
}

/** Kubernetes' pod QoS class from container requests and limits. */
export function podQosClass(pod: JsonObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const spec = asRecord(pod['spec']) ?? {};
  const containers = [...asArray(spec['containers']), ...asArray(spec['initContainers'])].filter(isRecord);
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const res = asRecord(c['resources']) ?? {};
    const req = asRecord(res['requests']) ?? {};
    const lim = asRecord(res['limits']) ?? {};
    const nonZero = (m: JsonObject, k: string): boolean => {
      const q = parseQuantityValue(m[k]);
      return q.ok && q.quantity.nanos > 0n;
    };
    for (const k of ['cpu', 'memory']) {
      if (nonZero(req, k) || nonZero(lim, k)) any = true;
      const l = parseQuantityValue(lim[k]);
      const r = req[k] === undefined ? l : parseQuantityValue(req[k]);
      if (!l.ok || !r.ok || l.quantity.nanos !== r.quantity.nanos || l.quantity.nanos === 0n) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function initialStatus(o: JsonObject, kind: string): unknown {
  switch (kind) {
    case 'Pod': return { phase: 'Pending', qosClass: podQosClass(o) };
    case 'Namespace': return { phase: 'Active' };
    case 'Service': return { loadBalancer: {} };
    // No binder runs here, so a volume or a claim stays Pending until something writes its status.
    case 'PersistentVolume': case 'PersistentVolumeClaim': return { phase: 'Pending' };
    default: return {};
  }
}

/**
 * Prepares a (defaulted) object for its first write: identity, timestamps, generation, and the
 * status reset Kubernetes does for kinds with a status subresource.
 */
export function prepareForCreate(input: JsonObject, info: ResourceInfo, p: CreateParams): JsonObject {
  const o = deepClone(input);
  const m = metaOfMut(o);
  const name = asString(m['name']) ?? '';
  if (name === '' && typeof m['generateName'] === 'string' && m['generateName'] !== '') {
    if (p.nameSuffix === undefined) throw new Error('generateName needs a nameSuffix from the caller');
    m['name'] = m['generateName'].slice(0, maxGeneratedNameBaseChars) + p.nameSuffix;
  }
  o['apiVersion'] = info.group === '' ? info.version : `${info.group}/${info.version}`;
  o['kind'] = info.kind;
  m['uid'] = p.uid;
  m['creationTimestamp'] = formatRfc3339(p.nowMs);
  m['resourceVersion'] = p.resourceVersion;
  delete m['deletionTimestamp'];
  delete m['deletionGracePeriodSeconds'];
  delete m['selfLink'];
  if (generationKinds.has(info.kind) || info.custom !== undefined) m['generation'] = 1;
  else delete m['generation'];
  // A custom resource with a status subresource starts without one (apiextensions' PrepareForCreate).
  if (info.custom !== undefined && info.hasStatus) delete o['status'];
  else if (info.hasStatus && !keepsStatusOnCreate.has(info.kind)) o['status'] = initialStatus(o, info.kind);
  if (info.kind === 'Service' && p.clusterIP !== undefined) {
    const spec = asRecord(o['spec']) ?? {};
    spec['clusterIP'] = p.clusterIP;
    spec['clusterIPs'] = [p.clusterIP];
    if (p.clusterIP !== 'None') {
      spec['ipFamilies'] ??= [p.clusterIP.includes(':') ? 'IPv6' : 'IPv4'];
      spec['ipFamilyPolicy'] ??= 'SingleStack';
    }
    o['spec'] = spec;
  }
  return o;
}

/** `approval`: certificatesigningrequests/approval, which may change only status.conditions. */
export type UpdateTarget = 'main' | 'status' | 'approval';

function sameSecond(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const [x, y] = [parseRfc3339(a), parseRfc3339(b)];
  return x !== undefined && y !== undefined && Math.floor(x / 1000) === Math.floor(y / 1000);
}

/**
 * Prepares an update. `main`: status is kept from the old object for kinds with a status
 * subresource, generation bumps when spec changes. `status`: only status (and labels/annotations)
 * may change. Immutable metadata the client omitted is carried over so validation sees real changes only.
 */
export function prepareForUpdate(input: JsonObject, old: JsonObject, info: ResourceInfo, target: UpdateTarget, resourceVersion: string): JsonObject {
  const o = deepClone(input);
  const m = metaOfMut(o);
  const om = asRecord(old['metadata']) ?? {};
  for (const k of ['uid', 'creationTimestamp', 'namespace', 'name']) {
    if (m[k] === undefined || m[k] === null || m[k] === '') {
      if (om[k] !== undefined) m[k] = om[k];
      else delete m[k];
    }
  }
  // Times are compared as times at second precision, as metav1.Time is: the official Python client
  // sends back `2026-01-02T03:04:05+00:00` for the `...05Z` it read.
  if (sameSecond(m['creationTimestamp'], om['creationTimestamp'])) m['creationTimestamp'] = om['creationTimestamp'];
  for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds']) {
    if (om[k] === undefined) delete m[k];
    else m[k] = om[k];
  }
  o['apiVersion'] = old['apiVersion'];
  o['kind'] = old['kind'];
  m['resourceVersion'] = resourceVersion;
  if (target === 'approval') {
    // csrApprovalStrategy: everything but the conditions is the old object's.
    const conditions = asRecord(o['status'])?.['conditions'];
    o['status'] = { ...(asRecord(old['status']) ?? {}), ...(conditions === undefined ? {} : { conditions: deepClone(conditions) }) };
  }
  if (target === 'status' || target === 'approval') {
    if (old['spec'] === undefined) delete o['spec'];
    else o['spec'] = deepClone(old['spec']);
    if (om['ownerReferences'] === undefined) delete m['ownerReferences'];
    else m['ownerReferences'] = deepClone(om['ownerReferences']);
    copyGeneration(m, om);
    return o;
  }
  if (info.hasStatus) {
    if (old['status'] === undefined) delete o['status'];
    else o['status'] = deepClone(old['status']);
  }
  if (info.kind === 'Service') keepAllocatedServiceValues(o, old);
  copyGeneration(m, om);
  const bumps = info.custom !== undefined
    // A custom resource's generation follows everything but metadata (and status, when that is a subresource).
    ? !deepEqual(withoutMetadata(o, info.hasStatus), withoutMetadata(old, info.hasStatus))
    : generationKinds.has(info.kind) && !deepEqual(o['spec'], old['spec']);
  if (bumps) m['generation'] = (typeof om['generation'] === 'number' ? om['generation'] : 0) + 1;
  return o;
}

/**
 * A PUT that omits what the apiserver allocated (clusterIP, node ports) keeps the allocation, as
 * kube-apiserver's service REST does (patchAllocatedValues), as long as the type allows it.
 */
function keepAllocatedServiceValues(o: JsonObject, old: JsonObject): void {
  const spec = asRecord(o['spec']);
  const os = asRecord(old['spec']);
  if (spec === undefined || os === undefined) return;
  const type = spec['type'] ?? 'ClusterIP';
  const oldType = os['type'] ?? 'ClusterIP';
  if (type !== 'ExternalName' && oldType !== 'ExternalName') {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
      if ((spec[k] === undefined || spec[k] === '') && os[k] !== undefined) spec[k] = deepClone(os[k]);
    }
  }
  if (type === 'NodePort' || type === 'LoadBalancer') {
    const oldPorts = asArray(os['ports']).filter(isRecord);
    for (const p of asArray(spec['ports']).filter(isRecord)) {
      if (p['nodePort'] !== undefined && p['nodePort'] !== 0) continue;
      const match = oldPorts.find((q) => q['port'] === p['port'] && (q['protocol'] ?? 'TCP') === (p['protocol'] ?? 'TCP'));
      if (match?.['nodePort'] !== undefined) p['nodePort'] = match['nodePort'];
    }
    if (spec['healthCheckNodePort'] === undefined && os['healthCheckNodePort'] !== undefined) spec['healthCheckNodePort'] = os['healthCheckNodePort'];
  }
}

function copyGeneration(m: JsonObject, om: JsonObject): void {
  if (om['generation'] === undefined) delete m['generation'];
  else m['generation'] = om['generation'];
}

/** Optimistic concurrency: a client-supplied resourceVersion must equal the stored one. */
export function resourceVersionMatches(input: JsonObject, current: JsonObject): boolean {
  const rv = asString(asRecord(input['metadata'])?.['resourceVersion']);
  return rv === undefined || rv === '' || rv === asString(asRecord(current['metadata'])?.['resourceVersion']);
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/** DeleteOptions.preconditions; returns the Conflict reason text or undefined when satisfied. */
export function checkPreconditions(obj: JsonObject, pre: Preconditions | undefined): string | undefined {
  const m = asRecord(obj['metadata']) ?? {};
  if (pre?.uid !== undefined && pre.uid !== m['uid']) {
    return `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(m['uid'] ?? '')}`;
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== m['resourceVersion']) {
    return `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(m['resourceVersion'] ?? '')}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Deletion

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

export interface DeleteParams {
  nowMs: number;
  /** DeleteOptions.gracePeriodSeconds, if the client sent one. */
  gracePeriodSeconds?: number;
  /** DeleteOptions.propagationPolicy; Orphan and Foreground hand the object to the garbage collector via a finalizer. */
  propagationPolicy?: PropagationPolicy;
  resourceVersion: string;
}

export const orphanFinalizer = 'orphan';
export const foregroundDeletionFinalizer = 'foregroundDeletion';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  preconditions?: Preconditions;
  dryRun: boolean;
}

export type DeleteOptionsResult = { ok: true; options: DeleteOptions } | { ok: false; message: string };

/**
 * DeleteOptions from a DELETE body (kubectl sends `{"propagationPolicy":"Background"}`) merged
 * with query parameters (`gracePeriodSeconds`, `propagationPolicy`, `dryRun`); the query wins.
 */
export function decodeDeleteOptions(body: unknown, query: Readonly<Record<string, string | undefined>>): DeleteOptionsResult {
  const b = asRecord(body) ?? {};
  const opts: DeleteOptions = { dryRun: false };
  const grace = query['gracePeriodSeconds'] ?? b['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null) {
    const n = typeof grace === 'number' ? grace : Number(grace);
    if (!Number.isInteger(n)) return { ok: false, message: `gracePeriodSeconds: Invalid value: ${JSON.stringify(grace)}: must be an integer` };
    opts.gracePeriodSeconds = n;
  }
  const policy = query['propagationPolicy'] ?? b['propagationPolicy'];
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      return { ok: false, message: `propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"` };
    }
    opts.propagationPolicy = policy;
  }
  if (b['orphanDependents'] === true && opts.propagationPolicy === undefined) opts.propagationPolicy = 'Orphan';
  const pre = asRecord(b['preconditions']);
  if (pre !== undefined) {
    opts.preconditions = {};
    const uid = asString(pre['uid']);
    const rv = asString(pre['resourceVersion']);
    if (uid !== undefined) opts.preconditions.uid = uid;
    if (rv !== undefined) opts.preconditions.resourceVersion = rv;
  }
  const dry = query['dryRun'] ?? (Array.isArray(b['dryRun']) ? b['dryRun'].join(',') : undefined);
  if (dry !== undefined && dry !== '') {
    if (dry !== 'All') return { ok: false, message: `dryRun: Unsupported value: ${JSON.stringify(dry)}: supported values: "All"` };
    opts.dryRun = true;
  }
  return { ok: true, options: opts };
}

export type DeleteDecision =
  /** Remove the object from storage now. */
  | { action: 'delete' }
  /** Store this object (deletionTimestamp set): finalizers or a graceful pod termination remain. */
  | { action: 'update'; object: JsonObject };

function finalizersOf(o: JsonObject): unknown[] {
  const kind = asString(o['kind']);
  const own = asArray(asRecord(o['metadata'])?.['finalizers']);
  // Namespaces also wait for spec.finalizers (the namespace controller empties the namespace first).
  return kind === 'Namespace' ? [...own, ...asArray(asRecord(o['spec'])?.['finalizers'])] : own;
}

function podGracePeriod(o: JsonObject, requested: number | undefined): number {
  const spec = asRecord(o['spec']) ?? {};
  const phase = asString(asRecord(o['status'])?.['phase']);
  // Unscheduled or finished pods have nothing to stop: delete at once (registry/core/pod strategy).
  if (asString(spec['nodeName']) === undefined || spec['nodeName'] === '' || phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  const tgps = spec['terminationGracePeriodSeconds'];
  return typeof tgps === 'number' && tgps >= 0 ? tgps : 30;
}

/** What a DELETE does to this object. */
export function prepareForDelete(current: JsonObject, p: DeleteParams): DeleteDecision {
  const kind = asString(current['kind']) ?? '';
  const m = asRecord(current['metadata']) ?? {};
  const gcFinalizer = p.propagationPolicy === 'Orphan' ? orphanFinalizer : p.propagationPolicy === 'Foreground' ? foregroundDeletionFinalizer : undefined;
  const withGc = gcFinalizer === undefined || asArray(m['finalizers']).includes(gcFinalizer) ? current : addFinalizer(current, gcFinalizer);
  const hasFinalizers = finalizersOf(withGc).length > 0;
  const grace = kind === 'Pod' ? podGracePeriod(current, p.gracePeriodSeconds) : 0;
  const existingTs = asString(m['deletionTimestamp']);
  if (grace === 0 && !hasFinalizers) return { action: 'delete' };
  if (withGc !== current) return prepareForDelete(withGc, { ...p, propagationPolicy: 'Background' });
  if (existingTs !== undefined) {
    // Already terminating: a DELETE may only shorten the grace period.
    const existingGrace = typeof m['deletionGracePeriodSeconds'] === 'number' ? m['deletionGracePeriodSeconds'] : 0;
    if (grace >= existingGrace) return { action: 'update', object: withResourceVersion(current, p.resourceVersion, false) };
  }
  const o = withResourceVersion(current, p.resourceVersion, true);
  const om = metaOfMut(o);
  om['deletionTimestamp'] = formatRfc3339(p.nowMs + grace * 1000);
  om['deletionGracePeriodSeconds'] = grace;
  if (kind === 'Namespace') o['status'] = { ...(asRecord(o['status']) ?? {}), phase: 'Terminating' };
  return { action: 'update', object: o };
}

function withResourceVersion(o: JsonObject, rv: string, bump: boolean): JsonObject {
  const c = deepClone(o);
  if (bump) metaOfMut(c)['resourceVersion'] = rv;
  return c;
}

/**
 * After an update of a terminating object: once no finalizers remain and the grace period is zero
 * (kubelet confirmed the pod stopped by deleting with grace 0), the object is removed.
 */
export function shouldRemoveAfterUpdate(o: JsonObject): boolean {
  const m = asRecord(o['metadata']) ?? {};
  if (m['deletionTimestamp'] === undefined) return false;
  if (finalizersOf(o).length > 0) return false;
  return asString(o['kind']) !== 'Pod' || m['deletionGracePeriodSeconds'] === 0;
}

/** Seconds left before a terminating object's grace period ends (negative once overdue). */
export function graceRemainingSeconds(o: JsonObject, nowMs: number): number | undefined {
  const ts = asString(asRecord(o['metadata'])?.['deletionTimestamp']);
  const t = ts === undefined ? undefined : parseRfc3339(ts);
  return t === undefined ? undefined : (t - nowMs) / 1000;
}

export function addFinalizer(o: JsonObject, finalizer: string): JsonObject {
  const c = deepClone(o);
  const m = metaOfMut(c);
  const cur = asArray(m['finalizers']);
  if (!cur.includes(finalizer)) m['finalizers'] = [...cur, finalizer];
  return c;
}

export function removeFinalizer(o: JsonObject, finalizer: string): JsonObject {
  const c = deepClone(o);
  const m = metaOfMut(c);
  const rest = asArray(m['finalizers']).filter((f) => f !== finalizer);
  if (rest.length === 0) delete m['finalizers'];
  else m['finalizers'] = rest;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Owner references

export function ownerReferencesOf(o: JsonObject): OwnerReference[] {
  return asArray(asRecord(o['metadata'])?.['ownerReferences']).filter(isRecord) as unknown as OwnerReference[];
}

export function controllerRefOf(o: JsonObject): OwnerReference | undefined {
  return ownerReferencesOf(o).find((r) => r.controller === true);
}

export function isOwnedBy(o: JsonObject, ownerUid: string): boolean {
  return ownerReferencesOf(o).some((r) => r.uid === ownerUid);
}

/** The reference a controller puts on what it creates (controller + blockOwnerDeletion). */
export function newControllerRef(owner: JsonObject): OwnerReference {
  const m = (asRecord(owner['metadata']) ?? {}) as ObjectMeta;
  const apiVersion = asString(owner['apiVersion']);
  const kind = asString(owner['kind']);
  if (apiVersion === undefined || kind === undefined || m.name === undefined || m.uid === undefined) {
    throw new Error('newControllerRef: owner needs apiVersion, kind, metadata.name and metadata.uid');
  }
  if (lookupKind(apiVersion, kind) === undefined) throw new Error(`newControllerRef: unknown kind ${apiVersion}/${kind}`);
  return { apiVersion, kind, name: m.name, uid: m.uid, controller: true, blockOwnerDeletion: true };
}

export function setOwnerReference(o: JsonObject, ref: OwnerReference): JsonObject {
  const c = deepClone(o);
  const m = metaOfMut(c);
  const refs = ownerReferencesOf(c).filter((r) => r.uid !== ref.uid);
  m['ownerReferences'] = [...refs, ref];
  return c;
}

export function removeOwnerReference(o: JsonObject, uid: string): JsonObject {
  const c = deepClone(o);
  const m = metaOfMut(c);
  const refs = ownerReferencesOf(c).filter((r) => r.uid !== uid);
  if (refs.length === 0) delete m['ownerReferences'];
  else m['ownerReferences'] = refs;
  return c;
}

function withoutMetadata(o: JsonObject, dropStatus: boolean): JsonObject {
  const { metadata: _m, ...rest } = o;
  if (dropStatus) delete rest['status'];
  return rest;
}
