/**
 * An in-memory apiserver for client tests: an ApiTransport with one global resourceVersion
 * counter, a bounded event history (watching from before it gives 410 Expired), bookmarks, and
 * fault injection (dropped or broken watch streams, failing or hanging requests, latency on a
 * VirtualClock, per-connection cuts). Not a validator: it stores what it is given.
 */
import { Observable, Subject } from 'rxjs';
import {
  alreadyExists, applyJsonPatch, applyMergePatch, applyStrategicMergePatch, badRequest, bookmarkObject, conflict,
  deepClone, deepEqual, expired, formatRfc3339, isRecord, listOf, lookupResource, matchesFields, matchesLabels, notFound,
  parseFieldSelector, parseLabelSelector, statusFailure, type JsonObject, type KubeObject, type PatchResult, type ResourceInfo, type Status,
} from '../../src/api/index.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchEvent, ApiWatchResult } from '../../src/client/api-transport.js';
import { TransportError } from '../../src/client/errors.js';
import type { Clock } from '../../src/primitives/clock.js';
import type { Prng } from '../../src/primitives/prng.js';

export type Fault =
  | { readonly kind: 'status'; readonly status: Status }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unreachable' }
  /** Never answers (the client's deadline must catch it). */
  | { readonly kind: 'hang' };

interface Parsed {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

interface HistoryEvent {
  readonly rv: number;
  readonly info: ResourceInfo;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

interface Watcher {
  readonly parsed: Parsed;
  readonly match: (obj: KubeObject) => boolean;
  readonly bookmarks: boolean;
  readonly subject: Subject<ApiWatchEvent>;
}

export interface FakeApiServerOptions {
  /** Events kept for watch resumption (default 1000). */
  readonly historyLimit?: number;
  /** With `latency`: requests take [minMs, maxMs) to arrive and as long to come back. */
  readonly clock?: Clock;
  readonly latency?: { readonly prng: Prng; readonly minMs: number; readonly maxMs: number };
  /** How a too-old watch is refused (default 'event': a 200 stream with one ERROR event). */
  readonly expiredAs?: 'event' | 'response';
}

const decoder = new TextDecoder();
const json = (status: number, body: unknown): ApiResponse => ({ status, contentType: 'application/json', body });
const fail = (s: Status): ApiResponse => json(s.code, s);
const gr = (info: ResourceInfo): { group: string; resource: string } => ({ group: info.group, resource: info.resource });

export class FakeApiServer implements ApiTransport {
  private rv = 1;
  private uidSeq = 0;
  private readonly objects = new Map<string, KubeObject>();
  private history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly faults: Array<{ fault: Fault; match: (r: ApiRequest) => boolean; remaining: number }> = [];
  readonly requests: ApiRequest[] = [];
  watchRequests = 0;
  /** Watch streams ever subscribed (a transport frees a stream's connection only when it is). */
  watchSubscriptions = 0;

  constructor(private readonly options: FakeApiServerOptions = {}) {}

  get resourceVersion(): string {
    return String(this.rv);
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  // ---- fault injection ----

  /** The next `count` requests matching `match` (default: all) fail with `fault`. */
  failNext(fault: Fault, count = 1, match: (r: ApiRequest) => boolean = () => true): void {
    this.faults.push({ fault, match, remaining: count });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Ends every open watch stream normally (server timeout, failover). */
  dropWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.subject.complete();
    }
  }

  /** Breaks every open watch stream (connection reset). */
  breakWatches(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.subject.error(new TransportError('broken', 'connection reset'));
    }
  }

  /** Forgets the event history: any watch from an older resourceVersion now gets 410. */
  compact(): void {
    this.history = [];
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watcher that allowed them. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (w.bookmarks) w.subject.next({ type: 'BOOKMARK', object: bookmarkObject(w.parsed.info, this.resourceVersion) });
    }
  }

  /** Sends an ERROR event with `status` to every watcher (it keeps the stream open). */
  sendWatchError(status: Status): void {
    for (const w of this.watchers) w.subject.next({ type: 'ERROR', object: status as unknown as JsonObject });
  }

  /** A connection whose link can be cut, for one client among many. */
  connection(): FakeConnection {
    return new FakeConnection(this);
  }

  // ---- direct access for test setup ----

  seed(info: ResourceInfo, obj: KubeObject): KubeObject {
    const res = this.create(this.parsedFor(info, obj), deepClone(obj));
    if (res.status >= 300) throw new Error(`seed failed: ${JSON.stringify(res.body)}`);
    return res.body as KubeObject;
  }

  stored(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(this.key(info, namespace, name));
    return obj === undefined ? undefined : deepClone(obj);
  }

  /** Every stored object of a resource (all namespaces). */
  storedAll(info: ResourceInfo): KubeObject[] {
    const prefix = `${info.group}/${info.resource}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, o]) => deepClone(o));
  }

  /** Server-side write helpers for tests (emit watch events like API writes). */
  put(info: ResourceInfo, obj: KubeObject): KubeObject {
    const parsed = this.parsedFor(info, obj);
    const exists = this.objects.has(this.key(info, parsed.namespace, parsed.name ?? ''));
    const res = exists ? this.update(parsed, deepClone(obj), false) : this.create(parsed, deepClone(obj));
    if (res.status >= 300) throw new Error(`put failed: ${JSON.stringify(res.body)}`);
    return res.body as KubeObject;
  }

  remove(info: ResourceInfo, namespace: string | undefined, name: string): void {
    const res = this.delete({ info, namespace, name, subresource: undefined }, undefined);
    if (res.status >= 300) throw new Error(`remove failed: ${JSON.stringify(res.body)}`);
  }

  // ---- ApiTransport ----

  async request(request: ApiRequest): Promise<ApiResponse> {
    this.requests.push(request);
    await this.delay();
    const fault = this.takeFault(request);
    if (fault !== undefined) return await this.applyFault(fault);
    const response = this.handle(request);
    await this.delay();
    return response;
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    this.requests.push(request);
    this.watchRequests++;
    if (request.query['watch'] !== 'true' && request.query['watch'] !== '1') throw new Error('watch() without watch=true');
    await this.delay();
    const fault = this.takeFault(request);
    if (fault !== undefined) return { kind: 'response', response: await this.applyFault(fault) };
    const parsed = this.parse(request.path);
    if ('code' in parsed) return { kind: 'response', response: fail(parsed) };
    const match = this.matcher(parsed, request.query);
    if ('code' in match) return { kind: 'response', response: fail(match) };
    return this.startWatch(parsed, match, request.query);
  }

  // ---- internals ----

  private async delay(): Promise<void> {
    const { clock, latency } = this.options;
    if (clock === undefined || latency === undefined) return;
    const ms = latency.prng.between(latency.minMs, latency.maxMs);
    await new Promise<void>((resolve) => clock.setTimer(ms, resolve));
  }

  private takeFault(request: ApiRequest): Fault | undefined {
    const entry = this.faults.find((f) => f.remaining > 0 && f.match(request));
    if (entry === undefined) return undefined;
    entry.remaining--;
    return entry.fault;
  }

  private async applyFault(fault: Fault): Promise<ApiResponse> {
    switch (fault.kind) {
      case 'status': return fail(fault.status);
      case 'timeout': throw new TransportError('timeout', 'injected timeout');
      case 'unreachable': throw new TransportError('unreachable', 'injected: connection refused');
      case 'hang': return await new Promise<ApiResponse>(() => undefined);
      default: {
        const never: never = fault;
        throw new Error(`unknown fault ${JSON.stringify(never)}`);
      }
    }
  }

  private parse(path: string): Parsed | Status {
    const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) [group, version, rest] = ['', segs[1]!, segs.slice(2)];
    else if (segs[0] === 'apis' && segs.length >= 3) [group, version, rest] = [segs[1]!, segs[2]!, segs.slice(3)];
    else return statusFailure(404, 'NotFound', `no route for ${path}`);
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const info = lookupResource(group, version, rest[0] ?? '');
    if (info === undefined || rest.length > 3) return statusFailure(404, 'NotFound', `the server could not find the requested resource (${path})`);
    return { info, namespace, name: rest[1], subresource: rest[2] };
  }

  private parsedFor(info: ResourceInfo, obj: KubeObject): Parsed {
    return { info, namespace: info.namespaced ? obj.metadata?.namespace ?? 'default' : undefined, name: obj.metadata?.name, subresource: undefined };
  }

  private key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return `${info.group}/${info.resource}/${namespace ?? ''}/${name}`;
  }

  private handle(request: ApiRequest): ApiResponse {
    const parsed = this.parse(request.path);
    if ('code' in parsed) return fail(parsed);
    let body: unknown;
    if (request.body !== undefined) {
      try {
        body = JSON.parse(decoder.decode(request.body)) as unknown;
      } catch {
        return fail(badRequest('body is not JSON'));
      }
    }
    const obj = isRecord(body) ? (body as KubeObject) : undefined;
    switch (request.method) {
      case 'GET':
        return parsed.name === undefined ? this.list(parsed, request.query) : this.get(parsed);
      case 'POST':
        if (obj === undefined) return fail(badRequest('body must be an object'));
        if (parsed.subresource === 'binding') return this.bind(parsed, obj);
        if (parsed.subresource === 'eviction') return this.evict(parsed);
        return this.create(parsed, obj);
      case 'PUT':
        if (obj === undefined) return fail(badRequest('body must be an object'));
        return this.update(parsed, obj, true);
      case 'PATCH':
        return this.patch(parsed, body, request.headers['content-type'] ?? '');
      case 'DELETE':
        return parsed.name === undefined ? this.deleteCollection(parsed, request.query) : this.delete(parsed, obj);
      default: {
        const never: never = request.method;
        throw new Error(`method ${String(never)}`);
      }
    }
  }

  private get(p: Parsed): ApiResponse {
    const obj = this.objects.get(this.key(p.info, p.namespace, p.name!));
    if (obj === undefined) return fail(notFound(gr(p.info), p.name!));
    if (p.subresource === 'scale') return json(200, scaleOf(obj));
    return json(200, deepClone(obj));
  }

  private matcher(p: Parsed, query: Readonly<Record<string, string>>): ((obj: KubeObject) => boolean) | Status {
    const labels = parseLabelSelector(query['labelSelector'] ?? '');
    if (!labels.ok) return badRequest(labels.error);
    const fields = parseFieldSelector(query['fieldSelector'] ?? '', p.info.resource);
    if (!fields.ok) return badRequest(fields.error);
    return (obj) => (p.namespace === undefined || obj.metadata?.namespace === p.namespace)
      && matchesLabels(labels.value, obj.metadata?.labels) && matchesFields(fields.value, p.info.resource, obj);
  }

  private matching(p: Parsed, match: (obj: KubeObject) => boolean): Array<[string, KubeObject]> {
    const prefix = `${p.info.group}/${p.info.resource}/`;
    return [...this.objects.entries()].filter(([k, o]) => k.startsWith(prefix) && match(o)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private list(p: Parsed, query: Readonly<Record<string, string>>): ApiResponse {
    const match = this.matcher(p, query);
    if ('code' in match) return fail(match);
    let entries = this.matching(p, match);
    const cont = query['continue'];
    if (cont !== undefined && cont !== '') {
      const [rv, after] = [cont.slice(0, cont.indexOf(':')), cont.slice(cont.indexOf(':') + 1)];
      if (Number(rv) < this.oldestRetainedRv()) return fail(statusFailure(410, 'Expired', 'The provided continue parameter is too old'));
      entries = entries.filter(([k]) => k > after);
    }
    const limit = Number(query['limit'] ?? '0');
    let token: string | undefined;
    if (limit > 0 && entries.length > limit) {
      entries = entries.slice(0, limit);
      token = `${this.rv}:${entries[entries.length - 1]![0]}`;
    }
    return json(200, listOf(p.info, entries.map(([, o]) => deepClone(o)), this.resourceVersion, token));
  }

  private oldestRetainedRv(): number {
    return this.history[0]?.rv ?? this.rv + 1;
  }

  private create(p: Parsed, input: KubeObject): ApiResponse {
    const obj = deepClone(input);
    const meta = { ...(obj.metadata ?? {}) };
    if ((meta.name === undefined || meta.name === '') && meta.generateName !== undefined) meta.name = `${meta.generateName}${++this.uidSeq}`;
    if (meta.name === undefined || meta.name === '') return fail(statusFailure(422, 'Invalid', 'metadata.name: Required value'));
    if (p.info.namespaced) meta.namespace = p.namespace ?? meta.namespace ?? 'default';
    const key = this.key(p.info, meta.namespace, meta.name);
    if (this.objects.has(key)) return fail(alreadyExists(gr(p.info), meta.name));
    meta.uid = `uid-${++this.uidSeq}`;
    meta.generation = 1;
    meta.creationTimestamp = formatRfc3339(this.options.clock?.wallNow() ?? 0);
    obj.metadata = meta;
    obj.apiVersion = p.info.group === '' ? p.info.version : `${p.info.group}/${p.info.version}`;
    obj.kind = p.info.kind;
    return json(201, this.commit(p.info, key, 'ADDED', obj));
  }

  private update(p: Parsed, input: KubeObject, checkRv: boolean): ApiResponse {
    const name = p.name ?? input.metadata?.name ?? '';
    const key = this.key(p.info, p.namespace, name);
    const old = this.objects.get(key);
    if (old === undefined) return fail(notFound(gr(p.info), name));
    const sentRv = input.metadata?.resourceVersion;
    if (checkRv && sentRv !== undefined && sentRv !== '' && sentRv !== old.metadata?.resourceVersion) return fail(conflict(gr(p.info), name));
    let next: KubeObject;
    if (p.subresource === 'status') next = { ...deepClone(old), status: deepClone(input['status']) };
    else if (p.subresource === 'scale') next = withReplicas(old, input);
    else {
      next = deepClone(input);
      if (p.info.hasStatus) next['status'] = deepClone(old['status']);
    }
    next.metadata = { ...deepClone(next.metadata ?? {}), uid: old.metadata?.uid, creationTimestamp: old.metadata?.creationTimestamp,
      namespace: old.metadata?.namespace, name, generation: (old.metadata?.generation ?? 1) + (deepEqual(old['spec'], next['spec']) ? 0 : 1) };
    next.apiVersion = old.apiVersion;
    next.kind = old.kind;
    const stored = this.commit(p.info, key, 'MODIFIED', next);
    return json(200, p.subresource === 'scale' ? scaleOf(stored) : stored);
  }

  private patch(p: Parsed, patch: unknown, contentType: string): ApiResponse {
    const name = p.name ?? '';
    const old = this.objects.get(this.key(p.info, p.namespace, name));
    if (old === undefined) {
      if (contentType.startsWith('application/apply-patch') && isRecord(patch)) return this.create(p, patch as KubeObject);
      return fail(notFound(gr(p.info), name));
    }
    const base = p.subresource === 'scale' ? scaleOf(old) : deepClone(old);
    let result: PatchResult;
    if (contentType.startsWith('application/json-patch')) result = applyJsonPatch(base, patch);
    else if (contentType.startsWith('application/strategic-merge-patch')) result = applyStrategicMergePatch(base, patch);
    else if (contentType.startsWith('application/merge-patch') || contentType.startsWith('application/apply-patch')) result = applyMergePatch(base, patch);
    else return fail(statusFailure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${contentType}`));
    if (!result.ok) return fail(statusFailure(result.error.kind === 'BadRequest' ? 400 : 422, result.error.kind === 'BadRequest' ? 'BadRequest' : 'Invalid', result.error.message));
    const next = result.value as KubeObject;
    return this.update({ ...p, subresource: p.subresource === 'scale' ? 'scale' : p.subresource === 'status' ? 'status' : undefined },
      { ...next, metadata: { ...(next.metadata ?? {}), resourceVersion: undefined } } as KubeObject, false);
  }

  private delete(p: Parsed, options: KubeObject | undefined): ApiResponse {
    const name = p.name ?? '';
    const key = this.key(p.info, p.namespace, name);
    const old = this.objects.get(key);
    if (old === undefined) return fail(notFound(gr(p.info), name));
    const pre = isRecord(options?.['preconditions']) ? options['preconditions'] : {};
    if ((pre['uid'] !== undefined && pre['uid'] !== old.metadata?.uid)
      || (pre['resourceVersion'] !== undefined && pre['resourceVersion'] !== old.metadata?.resourceVersion)) {
      return fail(conflict(gr(p.info), name, 'Precondition failed'));
    }
    this.commit(p.info, key, 'DELETED', deepClone(old));
    return json(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: p.info.resource } });
  }

  private deleteCollection(p: Parsed, query: Readonly<Record<string, string>>): ApiResponse {
    const match = this.matcher(p, query);
    if ('code' in match) return fail(match);
    for (const [key, obj] of this.matching(p, match)) this.commit(p.info, key, 'DELETED', deepClone(obj));
    return json(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  }

  private bind(p: Parsed, binding: KubeObject): ApiResponse {
    const key = this.key(p.info, p.namespace, p.name ?? '');
    const pod = this.objects.get(key);
    if (pod === undefined) return fail(notFound(gr(p.info), p.name ?? ''));
    const spec = isRecord(pod['spec']) ? pod['spec'] : {};
    if (typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '') return fail(conflict(gr(p.info), p.name ?? '', `pod ${p.name ?? ''} is already assigned to node "${spec['nodeName']}"`));
    const target = isRecord(binding['target']) ? binding['target'] : {};
    this.commit(p.info, key, 'MODIFIED', { ...deepClone(pod), spec: { ...deepClone(spec), nodeName: target['name'] } });
    return json(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  }

  private evict(p: Parsed): ApiResponse {
    const res = this.delete({ ...p, subresource: undefined }, undefined);
    return res.status === 200 ? json(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }) : res;
  }

  /** Stores (or deletes) at a new resourceVersion and tells the watchers. */
  private commit(info: ResourceInfo, key: string, type: HistoryEvent['type'], obj: KubeObject): KubeObject {
    const rv = ++this.rv;
    obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(rv) };
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, obj);
    const event: HistoryEvent = { rv, info, type, object: obj };
    this.history.push(event);
    const limit = this.options.historyLimit ?? 1000;
    if (this.history.length > limit) this.history.splice(0, this.history.length - limit);
    for (const w of this.watchers) this.deliver(w, event);
    return deepClone(obj);
  }

  private deliver(w: Watcher, e: HistoryEvent): void {
    if (e.info !== w.parsed.info || !w.match(e.object)) return;
    w.subject.next({ type: e.type, object: deepClone(e.object) });
  }

  private startWatch(p: Parsed, match: (obj: KubeObject) => boolean, query: Readonly<Record<string, string>>): ApiWatchResult {
    const rvText = query['resourceVersion'];
    const fromRv = rvText === undefined || rvText === '' || rvText === '0' ? undefined : Number(rvText);
    if (fromRv !== undefined && fromRv < this.rv && fromRv < this.oldestRetainedRv() - 1) {
      const status = expired(String(fromRv), String(this.oldestRetainedRv()));
      if (this.options.expiredAs === 'response') return { kind: 'response', response: fail(status) };
      return { kind: 'stream', events: streamOf(() => [{ type: 'ERROR', object: status as unknown as JsonObject }]) };
    }
    const watcher: Watcher = { parsed: p, match, bookmarks: query['allowWatchBookmarks'] === 'true', subject: new Subject<ApiWatchEvent>() };
    // Computed at subscribe time, so that writes between the reply and the subscription are not lost.
    const initial = (): ApiWatchEvent[] => (fromRv === undefined
      ? this.matching(p, match).map(([, o]) => ({ type: 'ADDED', object: deepClone(o) }))
      : this.history.filter((e) => e.rv > fromRv && e.info === p.info && match(e.object)).map((e) => ({ type: e.type, object: deepClone(e.object) })));
    return {
      kind: 'stream',
      events: streamOf(initial, { subject: watcher.subject, onStart: () => { this.watchSubscriptions++; this.watchers.add(watcher); }, onStop: () => this.watchers.delete(watcher) }),
    };
  }
}

/** A cold stream: `initial` events, then whatever `live` carries (none when absent: it ends). */
function streamOf(initial: () => readonly ApiWatchEvent[], live?: { subject: Subject<ApiWatchEvent>; onStart: () => void; onStop: () => void }): Observable<ApiWatchEvent> {
  return new Observable<ApiWatchEvent>((sub) => {
    for (const e of initial()) sub.next(e);
    if (live === undefined) {
      sub.complete();
      return undefined;
    }
    live.onStart();
    const s = live.subject.subscribe(sub);
    return () => {
      s.unsubscribe();
      live.onStop();
    };
  });
}

function scaleOf(obj: KubeObject): JsonObject {
  const spec = isRecord(obj['spec']) ? obj['spec'] : {};
  const status = isRecord(obj['status']) ? obj['status'] : {};
  return { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace, resourceVersion: obj.metadata?.resourceVersion },
    spec: { replicas: spec['replicas'] ?? 0 }, status: { replicas: status['replicas'] ?? 0 } };
}

function withReplicas(old: KubeObject, scale: KubeObject): KubeObject {
  const spec = isRecord(scale['spec']) ? scale['spec'] : {};
  const next = deepClone(old);
  next['spec'] = { ...(isRecord(old['spec']) ? old['spec'] : {}), replicas: spec['replicas'] };
  return next;
}

/** One client's link to the server: cut it to make that client's requests fail or hang. */
export class FakeConnection implements ApiTransport {
  mode: 'up' | 'unreachable' | 'hang' = 'up';

  constructor(private readonly server: FakeApiServer) {}

  async request(request: ApiRequest): Promise<ApiResponse> {
    await this.check();
    const response = await this.server.request(request);
    await this.check();
    return response;
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    await this.check();
    return await this.server.watch(request);
  }

  private async check(): Promise<void> {
    if (this.mode === 'unreachable') throw new TransportError('unreachable', 'link cut');
    if (this.mode === 'hang') await new Promise<never>(() => undefined);
  }
}
