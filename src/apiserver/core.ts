/**
 * The apiserver core: answers `ApiRequest`s, independent of the wire (the HTTPS server and the
 * actor protocol are adapters). Per request: size limit → authentication → authorization (Node +
 * RBAC) → discovery / health / REST handler / watch, under a request timeout, counted in metrics.
 */
import { randomInt, randomUUID } from 'node:crypto';
import {
  asRecord, asString, badRequest, formatRfc3339, type JsonObject, lookupResource, requestEntityTooLarge, internalError, timeout,
  tooManyRequests, type ResourceInfo, type Status, serviceUnavailable,
} from '../api/index.js';
// The auth modules one by one, not their index: it also exports the PKI (node-forge, ~350 KB),
// which only composition uses, and would bring it into every apiserver thread.
import type { Authenticator } from './auth/tokens.js';
import { authorize } from './auth/node-authorizer.js';
import type { Decision, RequestAttributes, RbacPolicy } from './auth/rbac-types.js';
import { bootstrapPolicy } from './auth/bootstrap-policy.js';
import { forbiddenStatus, unauthorizedStatus } from './auth/status.js';
import { PodNodeGraph } from './auth/node-graph.js';
import { RbacAuthorizer } from './auth/rbac.js';
import { requestAttributesOf, requestInfoOf } from './auth/request-info.js';
import { type UserInfo, wellKnown } from './auth/user.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchResult } from '../client/api-transport.js';
import type { KvClient } from '../client/kv.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import { discoveryRoot, groupDocument, groupVersionDocument, openApiResponse, pathNotFound, versionInfo } from './discovery.js';
import { OpenApiDocuments } from './openapi.js';
import {
  defaultBookmarkIntervalMs, maxRequestBodyBytes, maxWatchesPerUser, maxWatchesTotal, requestTimeoutMs as defaultRequestTimeoutMs,
  watchCacheCapacityEvents,
} from './limits.js';
import { ApiMetrics } from './metrics.js';
import { answerHealth, type HealthCheck, type HealthEndpoint } from './health.js';
import { Mirror } from './mirror.js';
import { Registry } from './registry.js';
import { isTruthyParam, jsonResponse, statusResponse } from './request.js';
import { handleRest, type PodLogSource, type RestCall } from './rest.js';
import { parseRoute, type ResourceRoute } from './route.js';
import { ObjectStorage } from './storage.js';
import { startWatch } from './watch.js';
import { WatchCache } from './watch-cache.js';
import { bootstrapCluster } from './bootstrap.js';
import { answerReview, isReviewKind } from './access-review.js';
import { answerComputed, isComputedKind } from './computed-kinds.js';
import { ClusterIpAllocator, withNodePorts } from './cluster-ip.js';
import type { TokenIssuerConfig } from './token-request.js';
import { defaultAdmissionConfig, type AdmissionConfig } from './admission.js';
import { AuditLog, auditedVerbs } from './audit.js';
import { CustomResources } from './custom-resources.js';
import type { PodStreamRequest, PodStreamSink, PodStreamSource, PodStreamHandle } from './pod-stream.js';
import { streamOptionsOf } from './remotecommand.js';
import { logWindowOf } from './log-options.js';

export interface ApiServerCoreOptions {
  readonly kv: KvClient;
  readonly clock: Clock;
  /** This apiserver's name (`master-1/apiserver`): prefixes its audit IDs. */
  readonly identity?: string;
  /** Absent: every request acts as the cluster admin (unit tests, prototyping without TLS). */
  readonly authenticator?: Authenticator;
  /** host:port advertised in /api (serverAddressByClientCIDRs). */
  readonly serverAddress?: string;
  /** Source of uids, generateName suffixes and ClusterIPs (default: node:crypto). */
  readonly prng?: Prng;
  readonly bookmarkIntervalMs?: number;
  /** Sabotage (chaos acceptance runs only): watches skip the changes whose revision is a multiple of this. */
  readonly unsafeWatchSkipEvery?: number;
  readonly requestTimeoutMs?: number;
  /** The `kubernetes` Service's ClusterIP (DESIGN §5). */
  readonly kubernetesServiceIp?: string;
  /** Where ClusterIPs are allocated: the first two octets of a /16 (DESIGN §5: 127.96). */
  readonly serviceIpPrefix?: string;
  readonly maxWatchesPerUser?: number;
  /** Events each resource's watch cache keeps (default `watchCacheCapacityEvents`). */
  readonly watchCacheCapacity?: number;
  /** Serves pods/log once kubelets exist; absent: pods/log answers 503 "logs not available yet". */
  readonly podLogs?: PodLogSource;
  /** Serves exec, attach and `logs -f` streams once kubelets exist; absent: those answer 503. */
  readonly podStreams?: PodStreamSource;
  /** Admission plugin settings (each absent one: upstream's). */
  readonly admission?: Partial<AdmissionConfig>;
  /** Issues serviceaccounts/token (TokenRequest); absent: that subresource answers 404. */
  readonly tokenIssuer?: TokenIssuerConfig;
  /** Store members reported by componentstatuses (etcd-0..n-1; default 3, DESIGN's masters). */
  readonly etcdMembers?: number;
}

const defaultEtcdMembers = 3;

const admin: UserInfo = { username: wellKnown.adminUser, groups: [wellKnown.mastersGroup, wellKnown.authenticatedGroup] };
const nameSuffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * What `connect` answers: a refusal as a response (before any upgrade), or a stream the adapter
 * opens once it has upgraded the connection (WebSocket) or sent its headers (`logs -f`).
 */
export type ConnectResult =
  | { readonly kind: 'response'; readonly response: ApiResponse }
  | {
    readonly kind: 'stream';
    readonly request: PodStreamRequest;
    open(sink: PodStreamSink): Promise<{ readonly ok: true; readonly handle: PodStreamHandle } | { readonly ok: false; readonly status: Status }>;
  };

/** The pod subresources that stream. */
const streamingSubresources: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward', 'log']);

/** A refusal carries the user when authentication succeeded (403): the audit log names them. */
type Gate = { ok: true; user: UserInfo } | { ok: false; response: ApiResponse; user?: UserInfo };

/** Who the audit log names when a request was refused before (or without) authentication. */
const unauthenticated = { username: 'system:anonymous', groups: ['system:unauthenticated'] } as const;

export class ApiServerCore implements ApiTransport {
  readonly metrics = new ApiMetrics();
  /** Every write this apiserver answered: who, what, when (audit.ts). */
  readonly audit: AuditLog;
  readonly storage: ObjectStorage;
  readonly registry: Registry;
  /** The custom resources of the established CRDs, learnt from the store. */
  readonly customResources: CustomResources;
  /** The OpenAPI documents, rebuilt when the served custom resources change. */
  private readonly openApi = new OpenApiDocuments(() => ({ key: this.customResources.version, custom: this.customResources.served() }));
  private readonly caches = new Map<string, WatchCache>();
  private readonly rbac = new RbacAuthorizer();
  private readonly nodeGraph = new PodNodeGraph();
  private readonly mirrors: Mirror[] = [];
  private readonly watchesByUser = new Map<string, number>();
  private watchesTotal = 0;
  private stopped = false;

  private readonly startedIso: string;

  constructor(private readonly o: ApiServerCoreOptions) {
    this.startedIso = formatRfc3339(o.clock.wallNow());
    this.audit = new AuditLog(o.identity ?? 'apiserver');
    this.storage = new ObjectStorage(o.kv);
    this.customResources = new CustomResources({
      storage: this.storage, clock: o.clock, cacheFor: (info) => this.cacheFor(info), dropCache: (info) => this.dropCache(info),
    });
    const allocator = new ClusterIpAllocator(this.storage, o.serviceIpPrefix ?? '127.96', (n) => this.randomInt(n));
    this.registry = new Registry({
      storage: this.storage, clock: o.clock, newUid: () => this.uid(),
      nameSuffix: () => Array.from({ length: 5 }, () => nameSuffixAlphabet[this.randomInt(nameSuffixAlphabet.length)]).join(''),
      allocateClusterIp: () => allocator.allocate(),
      allocateNodePorts: (service) => withNodePorts(this.storage, service, (n) => this.randomInt(n)),
      prepare: (info, obj, old) => this.customResources.prepare(info, obj, old),
      admission: { ...defaultAdmissionConfig, ...o.admission },
    });
  }

  /** Writes the bootstrap objects (namespaces, `kubernetes` Service, RBAC defaults) and primes the authorizer's caches. */
  async start(): Promise<void> {
    await bootstrapCluster(this.registry, {
      kubernetesServiceIp: this.o.kubernetesServiceIp ?? '127.96.0.1', policy: bootstrapPolicy(),
    });
    if (!(await this.customResources.start(this.registry))) throw new Error('apiserver: cannot load customresourcedefinitions from the store');
    if (this.o.authenticator === undefined) return;
    const rbacResources = ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'];
    const mirrorOf = (info: ResourceInfo, onChange?: (key: string, object: JsonObject | undefined) => void): Mirror =>
      new Mirror({ cache: this.cacheFor(info), storage: this.storage, clock: this.o.clock, ...(onChange ? { onChange } : {}) });
    for (const r of rbacResources) this.mirrors.push(mirrorOf(lookupResource('rbac.authorization.k8s.io', 'v1', r)!));
    this.mirrors.push(mirrorOf(lookupResource('', 'v1', 'pods')!, (key, pod) => {
      const [ns, name] = key.split('/') as [string, string];
      if (pod === undefined) this.nodeGraph.deletePod(ns, name);
      else this.nodeGraph.upsertPod(pod);
    }));
    // Each mirror re-lists by itself after its cache loses the etcd watch; only the first load must
    // succeed here. The loads are independent: together they take one round trip, not five.
    const loaded = await Promise.all(this.mirrors.map(async (m) => ({ m, ok: await m.start() })));
    const failed = loaded.find((l) => !l.ok);
    if (failed) throw new Error(`apiserver: cannot load ${failed.m.info.resource} from the store`);
  }

  stop(): void {
    this.stopped = true;
    this.customResources.stop();
    for (const m of this.mirrors) m.stop();
    for (const c of this.caches.values()) c.stop();
  }

  get watcherCount(): number {
    return this.watchesTotal;
  }

  /** The authorizer's mirrors: re-lists after lost watches, failed attempts, and whether all follow the store now. */
  get mirrorStatus(): { readonly restarts: number; readonly failedAttempts: number; readonly synced: boolean } {
    return {
      restarts: this.mirrors.reduce((n, m) => n + m.restarts, 0),
      failedAttempts: this.mirrors.reduce((n, m) => n + m.failedAttempts, 0),
      synced: this.mirrors.every((m) => m.synced),
    };
  }

  async request(req: ApiRequest): Promise<ApiResponse> {
    const started = this.o.clock.now();
    const receivedMs = this.o.clock.wallNow();
    const info = requestInfoOf(req.method, req.path, new URLSearchParams(req.query));
    let user: UserInfo | undefined;
    let response: ApiResponse;
    try {
      response = await this.withTimeout(this.serve(req, (u) => { user = u; }));
    } catch (error) {
      response = statusResponse(internalError(error instanceof Error ? error.message : String(error)));
    }
    this.metrics.observe(info.verb.toUpperCase(), info.resource || info.path, response.status, (this.o.clock.now() - started) / 1000);
    if (auditedVerbs.has(info.verb)) {
      const query = new URLSearchParams(req.query).toString();
      this.audit.record({
        info, requestURI: query === '' ? req.path : `${req.path}?${query}`,
        user: user === undefined ? unauthenticated : { username: user.username, groups: user.groups },
        userAgent: req.headers['user-agent'] ?? '', code: response.status, receivedMs, completedMs: this.o.clock.wallNow(),
      });
    }
    return response;
  }

  async watch(req: ApiRequest): Promise<ApiWatchResult> {
    const gate = this.gate(req);
    const refused = (response: ApiResponse): ApiWatchResult => {
      this.metrics.observe('WATCH', '', response.status, 0);
      return { kind: 'response', response };
    };
    if (!gate.ok) return refused(gate.response);
    const route = this.route(req.path);
    if (route.kind !== 'resource' || route.subresource !== undefined || req.method !== 'GET' || !route.info.verbs.includes('watch')) {
      return refused(pathNotFound());
    }
    const user = gate.user.username;
    const mine = this.watchesByUser.get(user) ?? 0;
    if (mine >= (this.o.maxWatchesPerUser ?? maxWatchesPerUser) || this.watchesTotal >= maxWatchesTotal) {
      return refused(statusResponse(tooManyRequests(`too many watches (limit ${this.o.maxWatchesPerUser ?? maxWatchesPerUser} per user)`, 1)));
    }
    this.countWatch(user, +1);
    this.metrics.observe('WATCH', route.info.resource, 200, 0);
    return startWatch({
      kv: this.o.kv, storage: this.storage, cache: this.cacheFor(route.info), clock: this.o.clock,
      bookmarkIntervalMs: this.o.bookmarkIntervalMs ?? defaultBookmarkIntervalMs, onEnd: () => this.countWatch(user, -1),
      ...(this.o.unsafeWatchSkipEvery === undefined ? {} : { unsafeSkipEvery: this.o.unsafeWatchSkipEvery }),
    }, this.restCall(req, route));
  }

  /**
   * pods/exec, pods/attach, pods/portforward (WebSocket upgrades) and pods/log with follow: checks
   * everything a refusal can be about before the adapter commits to a stream. `params` is the
   * whole query (`command` repeats, which `req.query` cannot hold).
   */
  async connect(req: ApiRequest, params: URLSearchParams): Promise<ConnectResult> {
    const refused = (response: ApiResponse): ConnectResult => {
      this.metrics.observe('CONNECT', 'pods', response.status, 0);
      return { kind: 'response', response };
    };
    const route = this.route(req.path);
    if (route.kind !== 'resource' || route.info.group !== '' || route.info.resource !== 'pods' || route.name === undefined || route.namespace === undefined
      || route.subresource === undefined || !streamingSubresources.has(route.subresource)) return refused(pathNotFound());
    const sub = route.subresource;
    // Upstream authorizes a WebSocket GET on these as `create` (AuthorizePodWebsocketUpgradeCreatePermission, on since 1.31): get alone must not run commands.
    const gate = this.gate(sub === 'log' ? req : { ...req, method: 'POST' });
    if (!gate.ok) return refused(gate.response);
    const got = await this.registry.get(route.info, route.namespace, route.name);
    if (!got.ok) return refused(statusResponse(got.status));
    const pod = got.value.object;
    const spec = asRecord(pod['spec']) ?? {};
    const names = (key: string): string[] => (Array.isArray(spec[key]) ? spec[key] as unknown[] : []).map((c) => asString(asRecord(c)?.['name']) ?? '');
    const containers = names('containers');
    const initContainers = names('initContainers');
    const name = route.name;
    if (sub === 'portforward') {
      return refused(statusResponse(badRequest('port-forward is not implemented by pocketkube yet (kubectl 1.32 tunnels SPDY over WebSocket, which pocketkube does not speak); reach the pod at its IP (pods bind real loopback addresses) or through a Service instead')));
    }
    let container = params.get('container') ?? '';
    if (sub !== 'log') {
      if (container === '') {
        if (containers.length !== 1) {
          const also = initContainers.length > 0 ? ` or one of the init containers: [${initContainers.join(' ')}]` : '';
          return refused(statusResponse(badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${also}`)));
        }
        container = containers[0]!;
      } else if (![...containers, ...initContainers, ...names('ephemeralContainers')].includes(container)) {
        return refused(statusResponse(badRequest(`container ${container} is not valid for pod ${name}`)));
      }
    }
    if ((asString(spec['nodeName']) ?? '') === '') return refused(statusResponse(badRequest(`pod ${name} does not have a host assigned`)));
    const phase = asString(asRecord(pod['status'])?.['phase']);
    if (sub !== 'log' && (phase === 'Succeeded' || phase === 'Failed')) {
      return refused(statusResponse(badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`)));
    }
    let request: PodStreamRequest;
    if (sub === 'log') {
      const tail = params.get('tailLines');
      if (tail !== null && !/^[0-9]{1,9}$/.test(tail)) return refused(statusResponse(badRequest(`invalid tailLines "${tail}"`)));
      const window = logWindowOf((name) => params.get(name) ?? undefined);
      if (!window.ok) return refused(statusResponse(window.status));
      request = { kind: 'log', container, timestamps: params.get('timestamps') === 'true', ...(tail === null ? {} : { tailLines: Number(tail) }), ...window.value };
    } else {
      const options = streamOptionsOf(sub === 'exec' ? 'exec' : 'attach', params, container);
      if (!options.ok) return refused(statusResponse(options.status));
      request = options.value;
    }
    const source = this.o.podStreams;
    if (source === undefined) return refused(statusResponse(serviceUnavailable(`streams not available yet: no kubelet serves pod "${name}"`)));
    this.metrics.observe('CONNECT', `pods/${sub}`, 101, 0);
    return { kind: 'stream', request, open: (sink) => source(pod, request, sink) };
  }

  /**
   * exec/attach/portforward without a WebSocket upgrade: kubectl falls back to SPDY (a POST) when
   * the WebSocket attempt was refused, so this answers the same refusal it got there, or says why
   * SPDY does not work.
   */
  private async connectWithoutUpgrade(req: ApiRequest): Promise<ApiResponse> {
    const result = await this.connect(req, new URLSearchParams(req.query));
    if (result.kind === 'response') return result.response;
    return statusResponse(badRequest('pocketkube streams exec and attach over WebSocket only (v5.channel.k8s.io or v4.channel.k8s.io), not SPDY: use kubectl 1.30 or newer, or a client that upgrades to WebSocket'));
  }

  private countWatch(user: string, delta: number): void {
    const n = (this.watchesByUser.get(user) ?? 0) + delta;
    if (n <= 0) this.watchesByUser.delete(user);
    else this.watchesByUser.set(user, n);
    this.watchesTotal += delta;
    this.metrics.registeredWatchers = this.watchesTotal;
  }

  private async serve(req: ApiRequest, authenticated: (user: UserInfo) => void): Promise<ApiResponse> {
    const gate = this.gate(req);
    if (gate.user !== undefined) authenticated(gate.user);
    if (!gate.ok) return gate.response;
    const route = this.route(req.path);
    switch (route.kind) {
      case 'resource':
        if (isReviewKind(route.info)) return this.review(req, route, gate.user);
        if (isComputedKind(route.info) && req.method === 'GET') {
          return answerComputed(this.restCall(req, route), {
            etcdMembers: this.o.etcdMembers ?? defaultEtcdMembers, startedIso: this.startedIso, storeHealth: () => this.storeHealth(),
          });
        }
        if (req.method === 'GET' && route.name === undefined && isTruthyParam(req.query['watch'])) {
          return statusResponse(badRequest('watch requests must use the watch entry point (ApiTransport.watch)'));
        }
        if (route.info.group === '' && route.info.resource === 'pods' && (route.subresource === 'exec' || route.subresource === 'attach' || route.subresource === 'portforward')) {
          return this.connectWithoutUpgrade(req);
        }
        return handleRest(this.registry, this.restCall(req, route, gate.user));
      case 'group': return req.method === 'GET' ? groupDocument(route.group, this.customResources.served()) : pathNotFound();
      case 'groupVersion': return req.method === 'GET' ? groupVersionDocument(route.group, route.version, this.customResources.served()) : pathNotFound();
      case 'notFound': return pathNotFound();
      case 'other': return req.method === 'GET' ? this.nonResource(req) : pathNotFound();
      default: {
        const never: never = route;
        throw new Error(`route ${JSON.stringify(never)}`);
      }
    }
  }

  private async nonResource(req: ApiRequest): Promise<ApiResponse> {
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    const health = await answerHealth(path, req.query, (endpoint) => this.healthChecks(endpoint));
    if (health !== undefined) return health;
    if (path.startsWith('/openapi/v3/')) return openApiResponse(path, req.headers['accept'], this.openApi);
    switch (path) {
      case '/api': case '/apis': return discoveryRoot(path, req.headers['accept'], this.o.serverAddress ?? '127.0.0.1:6443', this.customResources.served());
      case '/version': return jsonResponse(200, versionInfo());
      case '/openapi/v2': case '/openapi/v3': return openApiResponse(path, req.headers['accept'], this.openApi);
      case '/metrics': return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: new TextEncoder().encode(this.metrics.render()) };
      default: return pathNotFound();
    }
  }

  /** The create-only reviews, answered by this apiserver's authenticator and authorizer. */
  private review(req: ApiRequest, route: ResourceRoute, user: UserInfo): ApiResponse {
    const authn = this.o.authenticator;
    const nowSeconds = Math.floor(this.o.clock.wallNow() / 1000);
    return answerReview(route, req.method, req.body, req.headers['content-type'], {
      user, decide: (attrs) => this.decide(attrs), nowIso: formatRfc3339(this.o.clock.wallNow()),
      ...(authn === undefined ? {} : {
        authenticateToken: (token: string) => authn.authenticate(`Bearer ${token}`, nowSeconds),
        rulesFor: (u: UserInfo, namespace: string) => {
          this.rbac.setPolicy(this.policyVersion(), () => this.policy());
          return this.rbac.rulesFor(u, namespace);
        },
      }),
    });
  }

  private async storeHealth(): Promise<string | undefined> {
    const rev = await this.storage.currentRevision();
    return rev.ok ? undefined : `etcd answered ${rev.error.code}`;
  }

  /** kube-apiserver's checks, less those of parts this one lacks (log, post-start hooks). */
  private healthChecks(endpoint: HealthEndpoint): HealthCheck[] {
    const ping: HealthCheck = { name: 'ping', run: async () => undefined };
    const etcd: HealthCheck = { name: 'etcd', run: () => this.storeHealth() };
    if (endpoint !== 'readyz') return [ping, etcd];
    const shutdown: HealthCheck = { name: 'shutdown', run: async () => (this.stopped ? 'the apiserver is shutting down' : undefined) };
    return [ping, etcd, shutdown];
  }

  private restCall(req: ApiRequest, route: ResourceRoute, user?: UserInfo): RestCall {
    return {
      ...(user ? { user } : {}),
      route, method: req.method, query: req.query, headers: req.headers, body: req.body, nowMs: this.o.clock.wallNow(),
      ...(this.o.podLogs ? { podLogs: this.o.podLogs } : {}),
      ...(this.o.tokenIssuer ? { tokenIssuer: this.o.tokenIssuer } : {}),
    };
  }

  /** Body limit, authentication and authorization. */
  private gate(req: ApiRequest): Gate {
    if (req.body !== undefined && req.body.length > maxRequestBodyBytes) return refuse(requestEntityTooLarge(maxRequestBodyBytes));
    const authn = this.o.authenticator;
    if (authn === undefined) return { ok: true, user: admin };
    const who = authn.authenticate(req.headers['authorization'], Math.floor(this.o.clock.wallNow() / 1000));
    if (!who.ok) return refuse(unauthorizedStatus() as unknown as Status);
    const info = requestInfoOf(req.method, req.path, new URLSearchParams(req.query));
    const named = info.verb === 'create' && info.name === '' ? { ...info, name: bodyName(req.body) } : info;
    const attrs = requestAttributesOf(who.user, named);
    const decision = this.decide(attrs);
    return decision.allowed ? { ok: true, user: who.user } : { ...refuse(forbiddenStatus(attrs, decision.reason) as unknown as Status), user: who.user };
  }

  /** The authorizer chain (Node, RBAC) over the current policy; everything is allowed without authentication configured. */
  private decide(attrs: RequestAttributes): Decision {
    if (this.o.authenticator === undefined) return { allowed: true, reason: '' };
    this.rbac.setPolicy(this.policyVersion(), () => this.policy());
    return authorize(attrs, { rbac: this.rbac, nodeGraph: this.nodeGraph });
  }

  private policyVersion(): number {
    // Each mirror's version only grows, so the sum changes whenever any RBAC object does.
    return this.mirrors.slice(0, 4).reduce((sum, m) => sum + m.version, 0);
  }

  private policy(): RbacPolicy {
    const [roles, clusterRoles, roleBindings, clusterRoleBindings] = this.mirrors.slice(0, 4).map((m) => m.values());
    return {
      roles: (roles ?? []) as never[], clusterRoles: (clusterRoles ?? []) as never[],
      roleBindings: (roleBindings ?? []) as never[], clusterRoleBindings: (clusterRoleBindings ?? []) as never[],
    };
  }

  /** The route of a path over the built-in resources and this apiserver's custom ones. */
  private route(path: string): ReturnType<typeof parseRoute> {
    return parseRoute(path, (g, v, r) => lookupResource(g, v, r) ?? this.customResources.lookup(g, v, r));
  }

  /** Stops a resource's watch cache (its CRD is gone): its watchers end, a later CRD of the same name starts afresh. */
  private dropCache(info: ResourceInfo): void {
    const key = `${info.group}/${info.resource}`;
    this.caches.get(key)?.stop();
    this.caches.delete(key);
  }

  cacheFor(info: ResourceInfo): WatchCache {
    const key = `${info.group}/${info.resource}`;
    let cache = this.caches.get(key);
    if (cache === undefined) {
      cache = new WatchCache(this.o.kv, info, this.o.watchCacheCapacity ?? watchCacheCapacityEvents);
      this.caches.set(key, cache);
    }
    return cache;
  }

  private async withTimeout(p: Promise<ApiResponse>): Promise<ApiResponse> {
    let timer: number | undefined;
    const limit = new Promise<ApiResponse>((resolve) => {
      timer = this.o.clock.setTimer(this.o.requestTimeoutMs ?? defaultRequestTimeoutMs, () => resolve(statusResponse(timeout())));
    });
    try {
      return await Promise.race([p, limit]);
    } finally {
      if (timer !== undefined) this.o.clock.clearTimer(timer);
    }
  }

  private randomInt(n: number): number {
    return this.o.prng ? this.o.prng.int(n) : randomInt(n);
  }

  private uid(): string {
    if (!this.o.prng) return randomUUID();
    const hex = Array.from({ length: 32 }, () => this.o.prng!.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[this.o.prng.int(4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

function refuse(s: Status): Gate {
  return { ok: false, response: statusResponse(s) };
}

/** metadata.name of a create body, for the Node authorizer (kubelets may create only their own Node and Lease). */
function bodyName(body: Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return '';
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(body));
    return asString(asRecord(asRecord(parsed)?.['metadata'])?.['name']) ?? '';
  } catch {
    return '';
  }
}

;
;
