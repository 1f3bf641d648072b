/**
 * The typed Kubernetes client over an `ApiTransport` (client-go's dynamic client, typed by a
 * generic parameter): CRUD, patch, delete options, selectors, paging, subresources and watch.
 * Reads (GET, LIST) are retried with backoff on transport failures and 429/5xx; writes never are,
 * since their outcome after a failure is unknown (the caller decides, usually by re-reading).
 */
import type { Observable } from 'rxjs';
import {
  joinApiVersion, lookupKind, lookupResource, splitApiVersion, type JsonObject, type KubeObject, type ResourceInfo,
} from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiTransport, ApiWatchResult } from './api-transport.js';
import { ApiError, apiErrorFromResponse, asTransportError, isRetriable, TransportError } from './errors.js';
import { Backoff, withDeadline } from './timing.js';
import { sleep } from '../primitives/clock.js';
import { watchObservable, watchRequest, type WatchSignal } from './watch.js';

/**
 * Which resource: an apiVersion plus its kind ("Pod") or plural resource name ("pods"). A kind the
 * client does not know (a CustomResourceDefinition's) also names its plural and scope: a
 * `CustomResourceRef`, since the client does no discovery.
 */
export type ResourceRef =
  | { readonly apiVersion: string; readonly kind: string }
  | { readonly apiVersion: string; readonly resource: string }
  | CustomResourceRef;

/** A custom resource as its CRD serves it: `{ apiVersion: 'example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true }`. */
export interface CustomResourceRef {
  readonly apiVersion: string;
  readonly kind: string;
  /** The plural (the CRD's spec.names.plural). */
  readonly resource: string;
  readonly namespaced: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface ListOptions {
  /** Absent for a namespaced resource: all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  readonly limit?: number;
  readonly continue?: string;
}

export interface WatchOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Watch from here ("" or absent: synthetic ADDED for every current object first). */
  readonly resourceVersion?: string;
  /** Default true: bookmarks keep the resume point fresh. */
  readonly allowWatchBookmarks?: boolean;
  /** Server-side end of each watch request; the observable re-watches after it. */
  readonly timeoutSeconds?: number;
}

export interface ObjectList<T> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly resourceVersion: string; readonly continue?: string; readonly remainingItemCount?: number };
  readonly items: T[];
}

export interface WriteOptions {
  readonly fieldManager?: string;
  readonly dryRun?: boolean;
}

export interface PatchOptions extends WriteOptions {
  readonly type: PatchType;
  /** Server-side apply only: take ownership of conflicting fields. */
  readonly force?: boolean;
  readonly subresource?: string;
}

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy;
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: Preconditions;
  readonly dryRun?: boolean;
}

export interface KubeClientOptions {
  readonly transport: ApiTransport;
  readonly clock: Clock;
  /** Jitter for retry backoff (none without it). */
  readonly prng?: Prng;
  /** Deadline of one request attempt (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Attempts for a GET or LIST, including the first (default 5). */
  readonly maxReadAttempts?: number;
  /** Read retry backoff (default 100 ms doubling to 5 s). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  readonly userAgent?: string;
  /** Applied to writes that do not name one. */
  readonly defaultFieldManager?: string;
}

const patchContentTypes: Readonly<Record<PatchType, string>> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** A server's Retry-After is honoured up to this much. */
export const maxRetryAfterMs = 60_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function resolveResource(ref: ResourceRef): ResourceInfo {
  const info = 'kind' in ref
    ? lookupKind(ref.apiVersion, ref.kind) ?? customResourceInfo(ref)
    : (() => { const gv = splitApiVersion(ref.apiVersion); return lookupResource(gv.group, gv.version, ref.resource); })();
  if (info === undefined) {
    throw new Error(`unknown resource ${JSON.stringify(ref)}: a custom resource names its plural and scope, e.g. { apiVersion: 'example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true }`);
  }
  return info;
}

/** What the client needs of a CRD's resource: its path; the rest as a CRD with a status subresource has it. */
function customResourceInfo(ref: { readonly apiVersion: string; readonly kind: string; readonly resource?: unknown; readonly namespaced?: unknown }): ResourceInfo | undefined {
  if (typeof ref.resource !== 'string' || !/^[a-z][a-z0-9-]*$/.test(ref.resource) || typeof ref.namespaced !== 'boolean') return undefined;
  const { group, version } = splitApiVersion(ref.apiVersion);
  // Only a group's resources: the core group and the built-in groups are the static table's.
  if (group === '' || version === '') return undefined;
  return {
    group, version, kind: ref.kind, listKind: `${ref.kind}List`, resource: ref.resource, singular: ref.kind.toLowerCase(),
    namespaced: ref.namespaced, shortNames: [], categories: [], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    hasStatus: true, subresources: [{ name: 'status', group, version, kind: ref.kind, verbs: ['get', 'patch', 'update'] }],
  };
}

/** `/api/v1/namespaces/ns/pods/name/status`: each part present only when given. */
export function resourcePath(info: ResourceInfo, namespace: string | undefined, name?: string, subresource?: string): string {
  const root = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  if (!info.namespaced && namespace !== undefined) throw new Error(`${info.resource} is cluster-scoped; got namespace ${namespace}`);
  if (subresource !== undefined && name === undefined) throw new Error('a subresource needs an object name');
  let path = root;
  if (info.namespaced && namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${info.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

function decodeBody(response: ApiResponse): unknown {
  const body = response.body;
  if (!(body instanceof Uint8Array)) return body;
  const text = decoder.decode(body);
  if (!response.contentType.includes('json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TransportError('protocol', `response is not valid JSON (${response.status})`);
  }
}

function setIf(query: Record<string, string>, key: string, value: string | number | boolean | undefined): void {
  if (value !== undefined && value !== '') query[key] = String(value);
}

function nameOf(obj: KubeObject): { namespace: string | undefined; name: string } {
  const name = obj.metadata?.name;
  if (name === undefined || name === '') throw new Error('object has no metadata.name');
  return { namespace: obj.metadata?.namespace, name };
}

export class KubeClient {
  private readonly requestTimeoutMs: number;
  private readonly maxReadAttempts: number;

  constructor(private readonly options: KubeClientOptions) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxReadAttempts = options.maxReadAttempts ?? 5;
    if (!(this.maxReadAttempts >= 1)) throw new Error('maxReadAttempts must be >= 1');
  }

  get clock(): Clock {
    return this.options.clock;
  }

  async get<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string, subresource?: string): Promise<T> {
    const info = resolveResource(ref);
    return await this.send<T>('GET', resourcePath(info, scoped(info, namespace), name, subresource), {});
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<ObjectList<T>> {
    const info = resolveResource(ref);
    const query: Record<string, string> = {};
    setIf(query, 'labelSelector', options.labelSelector);
    setIf(query, 'fieldSelector', options.fieldSelector);
    setIf(query, 'resourceVersion', options.resourceVersion);
    setIf(query, 'resourceVersionMatch', options.resourceVersionMatch);
    setIf(query, 'limit', options.limit);
    setIf(query, 'continue', options.continue);
    const list = await this.send<ObjectList<T>>('GET', resourcePath(info, listScope(info, options.namespace)), query);
    if (!Array.isArray(list.items)) throw new TransportError('protocol', 'list reply without items');
    return list;
  }

  async create<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T, options: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const info = resolveResource(ref);
    const namespace = scoped(info, options.namespace ?? obj.metadata?.namespace);
    return await this.send<T>('POST', resourcePath(info, namespace), this.writeQuery(options), obj);
  }

  /** PUT: optimistic concurrency through the object's metadata.resourceVersion (409 Conflict). */
  async update<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T, options: WriteOptions & { subresource?: string } = {}): Promise<T> {
    const info = resolveResource(ref);
    const { namespace, name } = nameOf(obj);
    return await this.send<T>('PUT', resourcePath(info, scoped(info, namespace), name, options.subresource), this.writeQuery(options), obj);
  }

  async updateStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, obj: T, options: WriteOptions = {}): Promise<T> {
    return await this.update(ref, obj, { ...options, subresource: 'status' });
  }

  async patch<T extends KubeObject = KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string, patch: unknown, options: PatchOptions): Promise<T> {
    const info = resolveResource(ref);
    const query = this.writeQuery(options);
    if (options.type === 'apply' && query['fieldManager'] === undefined) throw new Error('server-side apply needs a fieldManager');
    if (options.force === true) {
      if (options.type !== 'apply') throw new Error('force applies only to server-side apply');
      query['force'] = 'true';
    }
    const path = resourcePath(info, scoped(info, namespace), name, options.subresource);
    return await this.send<T>('PATCH', path, query, patch, patchContentTypes[options.type]);
  }

  /** Returns the object (when deletion is deferred by finalizers or grace) or the Status. */
  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<JsonObject> {
    const info = resolveResource(ref);
    const query: Record<string, string> = {};
    if (options.dryRun === true) query['dryRun'] = 'All';
    return await this.send<JsonObject>('DELETE', resourcePath(info, scoped(info, namespace), name), query, deleteBody(options));
  }

  async deleteCollection(ref: ResourceRef, options: DeleteOptions & ListOptions = {}): Promise<JsonObject> {
    const info = resolveResource(ref);
    const query: Record<string, string> = {};
    setIf(query, 'labelSelector', options.labelSelector);
    setIf(query, 'fieldSelector', options.fieldSelector);
    if (options.dryRun === true) query['dryRun'] = 'All';
    return await this.send<JsonObject>('DELETE', resourcePath(info, listScope(info, options.namespace)), query, deleteBody(options));
  }

  /** POST to a subresource (pods/binding, pods/eviction). */
  async createSubresource<T extends JsonObject = JsonObject>(ref: ResourceRef, namespace: string | undefined, name: string, subresource: string, body: JsonObject, options: WriteOptions = {}): Promise<T> {
    const info = resolveResource(ref);
    return await this.send<T>('POST', resourcePath(info, scoped(info, namespace), name, subresource), this.writeQuery(options), body);
  }

  /** Binds a pod to a node, as the scheduler does (pods/binding). */
  async bindPod(namespace: string, podName: string, nodeName: string, options: WriteOptions = {}): Promise<JsonObject> {
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: podName, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } };
    return await this.createSubresource({ apiVersion: 'v1', kind: 'Pod' }, namespace, podName, 'binding', binding, options);
  }

  /** Evicts a pod (pods/eviction); 429 when a PodDisruptionBudget forbids it. */
  async evictPod(namespace: string, podName: string, deleteOptions: DeleteOptions = {}): Promise<JsonObject> {
    const eviction: JsonObject = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace } };
    if (Object.keys(deleteOptions).length > 0) eviction['deleteOptions'] = deleteBody(deleteOptions);
    return await this.createSubresource({ apiVersion: 'v1', kind: 'Pod' }, namespace, podName, 'eviction', eviction);
  }

  async getScale(ref: ResourceRef, namespace: string, name: string): Promise<KubeObject> {
    return await this.get(ref, namespace, name, 'scale');
  }

  async scale(ref: ResourceRef, namespace: string, name: string, replicas: number): Promise<KubeObject> {
    return await this.patch(ref, namespace, name, { spec: { replicas } }, { type: 'merge', subresource: 'scale' });
  }

  /**
   * A resuming watch (see watch.ts): re-watches from the last seen resourceVersion when a stream
   * ends, and emits EXPIRED then completes when the server says the version is too old.
   */
  watch<T extends KubeObject = KubeObject>(ref: ResourceRef, options: WatchOptions = {}): Observable<WatchSignal<T>> {
    const info = resolveResource(ref);
    return watchObservable<T>({
      open: (resourceVersion) => this.openWatch(info, { ...options, resourceVersion }),
      clock: this.options.clock,
      prng: this.options.prng,
      resourceVersion: options.resourceVersion,
    });
  }

  /** One watch request as typed signals, no resumption (a Reflector resumes it; see reflector.ts). */
  watchOnce<T extends KubeObject = KubeObject>(ref: ResourceRef, options: WatchOptions = {}): Observable<WatchSignal<T>> {
    const info = resolveResource(ref);
    return watchRequest<T>(() => this.openWatch(info, options));
  }

  /** One watch request, no resumption; transport failures reject with a TransportError. */
  async openWatch(info: ResourceInfo, options: WatchOptions): Promise<ApiWatchResult> {
    const query: Record<string, string> = { watch: 'true' };
    setIf(query, 'labelSelector', options.labelSelector);
    setIf(query, 'fieldSelector', options.fieldSelector);
    setIf(query, 'resourceVersion', options.resourceVersion);
    setIf(query, 'timeoutSeconds', options.timeoutSeconds);
    if (options.allowWatchBookmarks ?? true) query['allowWatchBookmarks'] = 'true';
    const request = this.request('GET', resourcePath(info, listScope(info, options.namespace)), query);
    try {
      return await withDeadline(this.options.clock, this.options.transport.watch(request), this.requestTimeoutMs, `watch ${request.path}`);
    } catch (error) {
      throw asTransportError(error);
    }
  }

  private writeQuery(options: WriteOptions): Record<string, string> {
    const query: Record<string, string> = {};
    setIf(query, 'fieldManager', options.fieldManager ?? this.options.defaultFieldManager);
    if (options.dryRun === true) query['dryRun'] = 'All';
    return query;
  }

  private request(method: ApiMethod, path: string, query: Record<string, string>, body?: unknown, contentType = 'application/json'): ApiRequest {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.options.userAgent ?? 'pocketkube-client' };
    if (body === undefined) return { method, path, query, headers };
    headers['content-type'] = contentType;
    return { method, path, query, headers, body: encoder.encode(JSON.stringify(body)) };
  }

  private async send<T>(method: ApiMethod, path: string, query: Record<string, string>, body?: unknown, contentType?: string): Promise<T> {
    const request = this.request(method, path, query, body, contentType);
    const attempts = method === 'GET' ? this.maxReadAttempts : 1;
    const backoff = new Backoff({
      initialMs: this.options.retryInitialMs ?? 100, maxMs: this.options.retryMaxMs ?? 5_000, jitter: 0.2, prng: this.options.prng,
    });
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(request);
      if (!(outcome instanceof Error)) return outcome.value as T;
      if (attempt >= attempts || !isRetriable(outcome)) throw outcome;
      const serverHintMs = outcome instanceof ApiError && outcome.retryAfterSeconds !== undefined ? outcome.retryAfterSeconds * 1000 : 0;
      await sleep(this.options.clock, Math.max(Math.min(serverHintMs, maxRetryAfterMs), backoff.next()));
    }
  }

  /** One attempt: the decoded body, or the error (ApiError or TransportError) to decide on. */
  private async attempt(request: ApiRequest): Promise<{ value: unknown } | ApiError | TransportError> {
    let response: ApiResponse;
    try {
      response = await withDeadline(this.options.clock, this.options.transport.request(request), this.requestTimeoutMs, `${request.method} ${request.path}`);
    } catch (error) {
      return asTransportError(error);
    }
    let body: unknown;
    try {
      body = decodeBody(response);
    } catch (error) {
      return asTransportError(error);
    }
    if (response.status >= 200 && response.status < 300) return { value: body };
    return apiErrorFromResponse(response.status, body);
  }
}

function scoped(info: ResourceInfo, namespace: string | undefined): string | undefined {
  if (!info.namespaced) return undefined;
  if (namespace === undefined || namespace === '') throw new Error(`${info.resource} is namespaced: a namespace is required`);
  return namespace;
}

function listScope(info: ResourceInfo, namespace: string | undefined): string | undefined {
  return info.namespaced && namespace !== undefined && namespace !== '' ? namespace : undefined;
}

function deleteBody(options: DeleteOptions): JsonObject {
  const body: JsonObject = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (options.propagationPolicy !== undefined) body['propagationPolicy'] = options.propagationPolicy;
  if (options.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = options.gracePeriodSeconds;
  if (options.preconditions !== undefined) body['preconditions'] = { ...options.preconditions };
  if (options.dryRun === true) body['dryRun'] = ['All'];
  return body;
}

/** The apiVersion string of a resource, for building objects. */
export function apiVersionOf(info: ResourceInfo): string {
  return joinApiVersion(info.group, info.version);
}
