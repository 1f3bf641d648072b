/**
 * The generic registry (kube-apiserver's genericregistry.Store): the write pipeline every kind goes
 * through — defaulting, identity, validation, managed fields, optimistic concurrency, graceful
 * deletion and finalizers. Kind-specific behaviour is data in src/api (defaults, validation,
 * tables) or the small tables below, never a branch per handler.
 */
import {
  applyDefaults, asRecord, asString, badRequest, checkPreconditions, conflict, deepEqual, forbidden,
  formatRfc3339, generateJobSelector, invalidStatus, isRecord, joinApiVersion, type JsonObject, notFound,
  lookupResource, prepareForCreate, prepareForDelete, prepareForUpdate, recordUpdate, type ResourceInfo,
  resourceVersionMatches, shouldRemoveAfterUpdate, type UpdateTarget, validateCreate, validateUpdate,
} from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import { admit, defaultAdmissionConfig, validateAdmission, type AdmissionConfig } from './admission.js';
import { maxGenerateNameAttempts, maxUpdateRetries } from './limits.js';
import { failOf, groupResource, type ObjectStorage, okOf, type Outcome, type Stored } from './storage.js';

export interface RegistryDeps {
  readonly storage: ObjectStorage;
  readonly clock: Clock;
  readonly newUid: () => string;
  /** 5 characters for generateName. */
  readonly nameSuffix: () => string;
  /** A free Service ClusterIP. */
  readonly allocateClusterIp: () => Promise<string>;
  /** Fills the nodePorts a NodePort Service asks the apiserver to choose. */
  readonly allocateNodePorts: (service: JsonObject) => Promise<JsonObject>;
  readonly admission?: AdmissionConfig;
  /** Kind work that needs more than the object (CRDs' status, custom resources' schemas): after defaulting, before validation. */
  readonly prepare?: (info: ResourceInfo, obj: JsonObject, old: JsonObject | undefined) => Promise<Outcome<JsonObject>>;
}

export interface WriteOptions {
  readonly dryRun: boolean;
  readonly manager: string;
  readonly subresource?: string;
  /** Server-side apply already recorded managedFields (operation Apply): do not add an Update entry. */
  readonly apply?: boolean;
}

/** Kinds that a PUT may create (their strategies' AllowCreateOnUpdate). */
const createOnUpdateKinds = new Set(['Lease', 'Endpoints', 'EndpointSlice']);
const namespaceInfo = lookupResource('', 'v1', 'namespaces')!;

const nameOf = (o: JsonObject): string => asString(asRecord(o['metadata'])?.['name']) ?? '';

function metaMut(o: JsonObject): JsonObject {
  if (!isRecord(o['metadata'])) o['metadata'] = {};
  return o['metadata'] as JsonObject;
}

export class Registry {
  constructor(private readonly d: RegistryDeps) {}

  get storage(): ObjectStorage {
    return this.d.storage;
  }

  /** Five random characters (generateName's alphabet), for names admission plugins make up. */
  randomSuffix(): string {
    return this.d.nameSuffix();
  }

  /** Waits on the injected clock (admission's lookups of an object about to appear). */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => { this.d.clock.setTimer(delayMs, resolve); });
  }

  nowIso(): string {
    return formatRfc3339(this.d.clock.wallNow());
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<Outcome<Stored>> {
    const r = await this.d.storage.get(this.d.storage.key(info, namespace, name));
    if (!r.ok) return r;
    return r.value ? okOf(r.value) : failOf(notFound(groupResource(info), name));
  }

  /** Create (POST, or apply/PUT of a missing object). `input` is the decoded, kind-checked body. */
  async create(info: ResourceInfo, namespace: string | undefined, input: JsonObject, opts: WriteOptions): Promise<Outcome<JsonObject>> {
    const body = applyDefaults(input);
    if (info.namespaced) metaMut(body)['namespace'] = namespace;
    if (info.namespaced) {
      const ns = await this.namespaceWritable(namespace ?? '');
      if (!ns.ok) return ns;
    }
    const admitted = await admit({ info, namespace, object: body, input }, this, this.d.admission ?? defaultAdmissionConfig);
    if (!admitted.ok) return admitted;
    const generated = nameOf(body) === '' && typeof asRecord(body['metadata'])?.['generateName'] === 'string';
    for (let attempt = 0; ; attempt++) {
      const prepared = await this.prepareCreate(info, body, opts);
      if (!prepared.ok) return prepared;
      const obj = prepared.value;
      const validated = await validateAdmission({ info, namespace, object: obj, input, dryRun: opts.dryRun }, this, this.d.admission ?? defaultAdmissionConfig);
      if (!validated.ok) return validated;
      if (opts.dryRun) return okOf(obj);
      const name = nameOf(obj);
      const created = await this.d.storage.create(info, this.d.storage.key(info, namespace, name), obj, name);
      if (created.ok || !generated || created.status.reason !== 'AlreadyExists' || attempt >= maxGenerateNameAttempts) return created;
    }
  }

  private async prepareCreate(info: ResourceInfo, input: JsonObject, opts: WriteOptions): Promise<Outcome<JsonObject>> {
    const uid = this.d.newUid();
    const body = info.kind === 'Service' ? await this.d.allocateNodePorts(input) : input;
    const clusterIP = info.kind === 'Service' ? await this.clusterIpFor(body) : undefined;
    let obj = prepareForCreate(body, info, {
      uid, nowMs: this.d.clock.wallNow(), resourceVersion: '', nameSuffix: this.d.nameSuffix(),
      ...(clusterIP === undefined ? {} : { clusterIP }),
    });
    if (info.kind === 'Job') obj = generateJobSelector(obj, uid);
    if (this.d.prepare !== undefined) {
      const prepared = await this.d.prepare(info, obj, undefined);
      if (!prepared.ok) return prepared;
      obj = prepared.value;
    }
    if (nameOf(obj) === '') return failOf(invalidStatus(obj, [{ type: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' }]));
    const causes = validateCreate(obj);
    if (causes.length > 0) return failOf(invalidStatus(obj, causes));
    if (opts.apply !== true) obj = recordUpdate(undefined, obj, opts.manager, joinApiVersion(info.group, info.version), this.nowIso(), opts.subresource);
    delete metaMut(obj)['resourceVersion'];
    return okOf(obj);
  }

  private async clusterIpFor(body: JsonObject): Promise<string | undefined> {
    const spec = asRecord(body['spec']) ?? {};
    if (spec['type'] === 'ExternalName') return undefined;
    const ip = asString(spec['clusterIP']);
    if (ip !== undefined && ip !== '') return ip;
    return this.d.allocateClusterIp();
  }

  /** 404 when the namespace is missing, 403 while it terminates (as the NamespaceLifecycle admission plugin). */
  private async namespaceWritable(namespace: string): Promise<Outcome<true>> {
    const ns = await this.get(namespaceInfo, undefined, namespace);
    if (!ns.ok) return ns;
    if (asRecord(ns.value.object['metadata'])?.['deletionTimestamp'] !== undefined) {
      return failOf(forbidden({ group: '', resource: 'namespaces' }, namespace,
        `unable to create new content in namespace ${namespace} because it is being terminated`));
    }
    return okOf(true);
  }

  /**
   * Update `current` to `input` (a full object: PUT body or a patch result). A stale
   * metadata.resourceVersion in `input` is a Conflict; an unchanged object is not written.
   */
  async update(info: ResourceInfo, current: Stored, input: JsonObject, target: UpdateTarget, opts: WriteOptions): Promise<Outcome<JsonObject>> {
    const name = nameOf(current.object);
    if (!resourceVersionMatches(input, current.object)) return failOf(conflict(groupResource(info), name));
    let obj = prepareForUpdate(applyDefaults(input), current.object, info, target, String(current.modRevision));
    if (this.d.prepare !== undefined) {
      const prepared = await this.d.prepare(info, obj, current.object);
      if (!prepared.ok) return prepared;
      obj = prepared.value;
    }
    const causes = validateUpdate(obj, current.object);
    if (causes.length > 0) return failOf(invalidStatus(obj, causes));
    if (opts.apply !== true) obj = recordUpdate(current.object, obj, opts.manager, joinApiVersion(info.group, info.version), this.nowIso(), opts.subresource);
    if (sameIgnoringManagedTimes(obj, current.object) || opts.dryRun) return okOf(opts.dryRun ? obj : current.object);
    const written = await this.d.storage.update(info, current.key, obj, current.modRevision, name);
    if (!written.ok || !shouldRemoveAfterUpdate(written.value)) return written;
    const rv = Number(asRecord(written.value['metadata'])?.['resourceVersion']);
    const removed = await this.d.storage.remove(info, current.key, rv, name);
    return removed.ok ? written : removed;
  }

  /** PUT: update, or create for kinds that allow create-on-update. */
  async put(info: ResourceInfo, namespace: string | undefined, name: string, input: JsonObject, target: UpdateTarget, opts: WriteOptions):
    Promise<Outcome<{ object: JsonObject; created: boolean }>> {
    const cur = await this.d.storage.get(this.d.storage.key(info, namespace, name));
    if (!cur.ok) return cur;
    if (cur.value === undefined) {
      if (!createOnUpdateKinds.has(info.kind) || target !== 'main') return failOf(notFound(groupResource(info), name));
      const created = await this.create(info, namespace, input, opts);
      return created.ok ? okOf({ object: created.value, created: true }) : created;
    }
    const updated = await this.update(info, cur.value, input, target, opts);
    return updated.ok ? okOf({ object: updated.value, created: false }) : updated;
  }

  /**
   * Read-modify-write with retries on conflict (GuaranteedUpdate): `mutate` gets the current object
   * and returns the desired one (or a failure). A resourceVersion the mutation itself carries is
   * honoured: then a conflict is the client's and is not retried.
   */
  async guaranteedUpdate(info: ResourceInfo, namespace: string | undefined, name: string, target: UpdateTarget, opts: WriteOptions,
    mutate: (current: Stored) => Outcome<JsonObject> | Promise<Outcome<JsonObject>>): Promise<Outcome<JsonObject>> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.get(info, namespace, name);
      if (!cur.ok) return cur;
      const desired = await mutate(cur.value);
      if (!desired.ok) return desired;
      const pinned = asString(asRecord(desired.value['metadata'])?.['resourceVersion']);
      const clientPinned = pinned !== undefined && pinned !== '' && pinned !== String(cur.value.modRevision);
      const r = await this.update(info, cur.value, desired.value, target, opts);
      if (r.ok || r.status.reason !== 'Conflict' || clientPinned || attempt >= maxUpdateRetries) return r;
    }
  }

  /** DELETE of one object: immediate, or graceful / finalizer-held (then the object is returned updated). */
  async delete(info: ResourceInfo, namespace: string | undefined, name: string, options: DeleteOptions, dryRun: boolean):
    Promise<Outcome<{ object: JsonObject; deleted: boolean }>> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.get(info, namespace, name);
      if (!cur.ok) return cur;
      const why = checkPreconditions(cur.value.object, options.preconditions);
      if (why !== undefined) return failOf(conflict(groupResource(info), name, why));
      const r = await this.deleteOnce(info, cur.value, options, dryRun);
      if (r.ok || r.status.reason !== 'Conflict' || attempt >= maxUpdateRetries) return r;
    }
  }

  private async deleteOnce(info: ResourceInfo, cur: Stored, options: DeleteOptions, dryRun: boolean):
    Promise<Outcome<{ object: JsonObject; deleted: boolean }>> {
    const name = nameOf(cur.object);
    const withPolicy = withPropagationFinalizer(cur.object, options.propagationPolicy);
    const decision = prepareForDelete(withPolicy, {
      nowMs: this.d.clock.wallNow(), resourceVersion: String(cur.modRevision),
      ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
    });
    if (dryRun) return okOf({ object: cur.object, deleted: decision.action === 'delete' });
    if (decision.action === 'delete') {
      const removed = await this.d.storage.remove(info, cur.key, cur.modRevision, name);
      return removed.ok ? okOf({ object: cur.object, deleted: true }) : removed;
    }
    if (deepEqual(decision.object, cur.object)) return okOf({ object: cur.object, deleted: false });
    const written = await this.d.storage.update(info, cur.key, decision.object, cur.modRevision, name);
    return written.ok ? okOf({ object: written.value, deleted: false }) : written;
  }
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

/** DeleteOptions from a body and the query (query wins, as kube-apiserver merges them). */
export function deleteOptionsOf(body: unknown, query: Readonly<Record<string, string>>): Outcome<DeleteOptions> {
  const b = isRecord(body) ? body : {};
  const out: { -readonly [K in keyof DeleteOptions]: DeleteOptions[K] } = {};
  const grace = query['gracePeriodSeconds'] ?? b['gracePeriodSeconds'];
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n)) return failOf(badRequest(`invalid gracePeriodSeconds ${JSON.stringify(grace)}`));
    out.gracePeriodSeconds = n;
  }
  const policy = query['propagationPolicy'] ?? b['propagationPolicy'];
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      return failOf(badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(policy)}`));
    }
    out.propagationPolicy = policy;
  } else if (b['orphanDependents'] === true) {
    out.propagationPolicy = 'Orphan';
  }
  const pre = asRecord(b['preconditions']);
  if (pre !== undefined) {
    const p: { uid?: string; resourceVersion?: string } = {};
    const uid = asString(pre['uid']);
    const rv = asString(pre['resourceVersion']);
    if (uid !== undefined) p.uid = uid;
    if (rv !== undefined) p.resourceVersion = rv;
    out.preconditions = p;
  }
  return okOf(out);
}

/** Foreground and Orphan deletion are recorded as Kubernetes does: a finalizer the garbage collector acts on. */
function withPropagationFinalizer(o: JsonObject, policy: DeleteOptions['propagationPolicy']): JsonObject {
  const finalizer = policy === 'Foreground' ? 'foregroundDeletion' : policy === 'Orphan' ? 'orphan' : undefined;
  if (finalizer === undefined) return o;
  const meta = asRecord(o['metadata']) ?? {};
  const list = Array.isArray(meta['finalizers']) ? (meta['finalizers'] as unknown[]) : [];
  if (list.includes(finalizer)) return o;
  return { ...o, metadata: { ...meta, finalizers: [...list, finalizer] } };
}

/** Equal but for the time stamps in managedFields: such an update is a no-op (no new revision). */
function sameIgnoringManagedTimes(a: JsonObject, b: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const m = asRecord(o['metadata']) ?? {};
    const mf = Array.isArray(m['managedFields'])
      ? (m['managedFields'] as unknown[]).map((e) => (isRecord(e) ? { ...e, time: undefined } : e)) : undefined;
    return { ...o, metadata: { ...m, managedFields: mf, resourceVersion: undefined } };
  };
  return deepEqual(JSON.parse(JSON.stringify(strip(a))), JSON.parse(JSON.stringify(strip(b))));
}
