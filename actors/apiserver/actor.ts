import { Subject, type Subscription } from 'rxjs';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import { address, isAddress, type Address } from '../../src/primitives/address.js';
import { peerDownReceived, type InboxMessage } from '../../src/runtime/client-actor.js';
import { badRequest, serviceUnavailable, type JsonObject, type Status } from '../../src/api/index.js';
import type { PodLogOptions } from '../../src/apiserver/rest.js';
import type { KubeletLogs, KubeletLogsRequest, KubeletStream, KubeletStreamRequest } from '../../src/kubelet/messages.js';
import { PodStreamClient, type NodeOpenResult } from '../../src/apiserver/pod-stream-client.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { Compactor, type CompactionOutcome, maxCompactionIntervalMs, type WakeUp } from '../../src/apiserver/compactor.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import { EndpointReconciler } from '../../src/apiserver/endpoint-reconciler.js';
import { KubeClient } from '../../src/client/client.js';
import { wellKnown } from '../../src/apiserver/auth/user.js';
// Not the auth index: it also exports the PKI (node-forge), which no apiserver thread needs.
import { Authenticator, type StaticTokenEntry } from '../../src/apiserver/auth/tokens.js';
import { ServiceAccountTokenVerifier } from '../../src/apiserver/auth/service-account-tokens.js';
import { statusResponse } from '../../src/apiserver/request.js';
import { contextPort } from '../../src/client/actor-port.js';
import { EtcdClient } from '../../src/client/etcd-client.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchResult } from '../../src/client/api-transport.js';
import { profile } from '../../src/runtime/profiles.js';
import {
  defaultApiserverHostOf, validateApiserverMessage, type ApiserverConfig, type ApiserverMessage, type ApiserverReply,
} from '../../src/apiserver/messages.js';

const DEFAULT_HEARTBEAT_MS = 500;
const DEFAULT_START_BACKOFF_INITIAL_MS = 50;
const DEFAULT_START_BACKOFF_MAX_MS = 2_000;
const DEFAULT_MAX_WATCHES_PER_CLIENT = 1_000;
const DEFAULT_PORT = 6443;

/** How long pods/log waits for the kubelet. */
const kubeletLogsTimeoutMs = 10_000;
/** How long opening an exec, attach or log follow waits for the kubelet (and its runtime). */
const kubeletStreamTimeoutMs = 10_000;

export const apiserverActor = defineActor<ApiserverMessage, ApiserverConfig>({
  kind: 'apiserver',
  validate: validateApiserverMessage,
  create: (context, config) => ApiserverBehaviour.create(context, config),
});

/**
 * The HTTPS face before the core has started (etcd unreachable at boot): alive, not ready, and
 * every API request a 503, so the front door's health check keeps traffic away.
 */
class GatedTransport implements ApiTransport {
  constructor(private readonly core: () => ApiServerCore | undefined) {}

  request(request: ApiRequest): Promise<ApiResponse> {
    const core = this.core();
    if (core) return core.request(request);
    if (request.path === '/healthz' || request.path === '/livez') return Promise.resolve(text(200, 'ok'));
    if (request.path === '/readyz') return Promise.resolve(text(500, '[-]etcd failed: apiserver not started\nreadyz check failed'));
    return Promise.resolve(notReady());
  }

  watch(request: ApiRequest): Promise<ApiWatchResult> {
    const core = this.core();
    return core ? core.watch(request) : Promise.resolve({ kind: 'response', response: notReady() });
  }
}

function text(status: number, body: string): ApiResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body: new TextEncoder().encode(body) };
}

function notReady(): ApiResponse {
  return statusResponse(serviceUnavailable('the apiserver is starting: its storage (etcd) is not reachable yet'));
}

/**
 * One apiserver: an etcd client over the actor network, the API core over it, the HTTPS listener
 * kubectl reaches through the front door, and the same API as actor messages for in-cluster
 * components. The core starts in the background with backoff, so an apiserver whose etcd has no
 * quorum yet stays up (alive, not ready) instead of crash-looping.
 */
class ApiserverBehaviour implements ActorBehaviour<ApiserverMessage> {
  private readonly incoming = new Subject<InboxMessage>();
  private readonly kv: EtcdClient;
  private core: ApiServerCore | undefined;
  private starting = false;
  private startAttempts = 0;
  private backoffMs: number;
  private https: ApiHttpsServer | undefined;
  private stopped = false;
  private readonly compactionIntervalMs: number;
  private compactor: Compactor | undefined;
  /** What the pending `compact` timer message runs (the compactor's wake-up). */
  private compactFire: (() => void) | undefined;
  /** exec, attach and `logs -f` streams to the nodes' runtimes. */
  private readonly streams: PodStreamClient;
  /** Open in-cluster watches by client, then by the client's watch id. */
  private readonly watches = new Map<Address, Map<number, Subscription>>();

  private constructor(private readonly context: ActorContext, private readonly config: ApiserverConfig) {
    if (config.etcdMembers.length === 0) throw new Error('apiserver: no etcd members configured');
    this.kv = new EtcdClient(contextPort(context, this.incoming.asObservable()), { members: config.etcdMembers, // The boot time keeps the id new across restarts of the whole process from a data directory
    // (incarnation restarts at 0 there), whose etcd still holds the old sessions.
    clientId: `${context.self}@${context.incarnation}@${context.clock.wallNow()}` });
    this.streams = new PodStreamClient({
      send: (to, tell) => context.send(to, tell),
      openAtNode: (nodeName, streamId, pod, request) => this.openAtNode(nodeName, streamId, pod, request),
      newStreamId: () => Array.from({ length: 32 }, () => context.random.int(16).toString(16)).join(''),
    });
    this.backoffMs = config.startBackoffInitialMs ?? DEFAULT_START_BACKOFF_INITIAL_MS;
    this.compactionIntervalMs = config.compactionIntervalMs ?? profile(config.profile ?? 'fast').apiserverCompactionIntervalMs;
    if (!(Number.isSafeInteger(this.compactionIntervalMs) && this.compactionIntervalMs >= 0 && this.compactionIntervalMs <= maxCompactionIntervalMs)) {
      throw new Error(`apiserver: compactionIntervalMs must be 0 (off) or 1..${maxCompactionIntervalMs}, got ${this.compactionIntervalMs}`);
    }
  }

  static async create(context: ActorContext, config: ApiserverConfig): Promise<ApiserverBehaviour> {
    const self = new ApiserverBehaviour(context, config);
    if (config.https) {
      self.https = await ApiHttpsServer.listen({
        transport: new GatedTransport(() => self.core), certPem: config.https.certPem, keyPem: config.https.keyPem,
        connect: async (request, params) => (self.core ? self.core.connect(request, params) : { kind: 'response', response: notReady() }),
        host: config.https.host ?? defaultApiserverHostOf(context.host), port: config.https.port ?? DEFAULT_PORT,
      });
      context.log.info('serving HTTPS', { url: self.https.url });
    }
    context.setTimer('startCore', 0, { type: 'startCore' });
    context.setTimer('heartbeat', config.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, { type: 'heartbeat' });
    return self;
  }

  /** An etcd member's host was killed: the etcd client stops waiting on it (see EtcdClient). */
  onPeerDown(host: string): void {
    this.streams.peerDown(host);
    this.incoming.next(peerDownReceived(host));
  }

  receive(message: ApiserverMessage, incoming: Incoming): void | Promise<void> {
    switch (message.type) {
      case 'watchUpdate':
        this.incoming.next({ from: incoming.from, message });
        return;
      case 'apiRequest':
        return this.serveRequest(message.request, incoming);
      case 'apiWatch':
        return this.openWatch(message.watchId, message.request, incoming);
      case 'apiWatchCancel':
        this.closeWatch(incoming.from, message.watchId);
        return;
      case 'apiserverStatusRequest':
        incoming.reply?.(this.status());
        return;
      case 'apiserverAuditRequest':
        incoming.reply?.({ type: 'apiserverAudit', ...(this.core === undefined ? {} : { page: this.core.audit.read(message.afterSeq) }) });
        return;
      case 'podStreamData':
      case 'podStreamCloseStdin':
      case 'podStreamResize':
      case 'podStreamEnd':
      case 'podStreamAck':
      case 'podStreamCancel':
        this.streams.receive(incoming.from, message);
        return;
      case 'startCore':
        return this.startCore();
      case 'heartbeat':
        this.heartbeat();
        return;
      case 'compact': {
        const fire = this.compactFire;
        this.compactFire = undefined;
        fire?.();
        return;
      }
      default: {
        const unreachable: never = message;
        throw new Error(`apiserver: unhandled ${JSON.stringify(unreachable)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    const c = this.compactor?.stats;
    const compaction = c ? { compactionRounds: c.rounds, compactions: c.compactions, compactionFailures: c.failures, lastCompactedRevision: c.lastCompactedRevision } : {};
    return { ...this.status(), etcdLeaderHint: this.kv.leaderHint ?? '', ...compaction };
  }

  stop(): void {
    this.stopped = true;
    this.streams.stopAll('the apiserver stopped');
    this.compactor?.stop();
    for (const byId of this.watches.values()) for (const sub of byId.values()) sub.unsubscribe();
    this.watches.clear();
    this.core?.stop();
    void this.https?.close();
    this.incoming.complete();
  }

  private status(): Extract<ApiserverReply, { type: 'apiserverStatus' }> {
    let watches = 0;
    for (const byId of this.watches.values()) watches += byId.size;
    return { type: 'apiserverStatus', ready: this.core !== undefined, startAttempts: this.startAttempts, ...(this.https ? { url: this.https.url } : {}), watches };
  }

  private authenticator(staticTokens: readonly StaticTokenEntry[]): Authenticator {
    const key = this.config.serviceAccountPublicKeyPem;
    return new Authenticator({ staticTokens, ...(key ? { serviceAccounts: new ServiceAccountTokenVerifier({ publicKeys: [key] }) } : {}) });
  }

  /** pods/log: asks the kubelet of the pod's node (upstream's apiserver → kubelet :10250/containerLogs). */
  private async podLogs(pod: JsonObject, options: PodLogOptions): Promise<{ ok: true; text: string } | { ok: false; status: Status }> {
    const meta = (pod['metadata'] ?? {}) as { namespace?: string; name?: string; uid?: string };
    const nodeName = (pod['spec'] as { nodeName?: string } | undefined)?.nodeName;
    if (nodeName === undefined || nodeName === '') return { ok: false, status: badRequest(`pod ${meta.name ?? ''} does not have a host assigned`) };
    const request: KubeletLogsRequest = {
      type: 'kubeletLogsRequest', namespace: meta.namespace ?? 'default', name: meta.name ?? '', uid: meta.uid ?? '',
      ...(options.container === undefined ? {} : { container: options.container }), ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
      previous: options.previous, timestamps: options.timestamps,
      ...(options.sinceSeconds === undefined ? {} : { sinceSeconds: options.sinceSeconds }),
      ...(options.sinceTimeMs === undefined ? {} : { sinceTimeMs: options.sinceTimeMs }),
      ...(options.limitBytes === undefined ? {} : { limitBytes: options.limitBytes }),
    };
    try {
      const reply = await this.context.ask<KubeletLogs>(address(nodeName, 'kubelet'), request, { timeoutMs: kubeletLogsTimeoutMs });
      if (reply.ok) return { ok: true, text: reply.text };
      return { ok: false, status: reply.code === 400 ? badRequest(reply.message) : reply.code === 404 ? { ...badRequest(reply.message), code: 404, reason: 'NotFound' } : serviceUnavailable(reply.message) };
    } catch (error) {
      return { ok: false, status: serviceUnavailable(`the kubelet of node ${nodeName} did not answer: ${error instanceof Error ? error.message : String(error)}`) };
    }
  }

  /** Asks the pod's kubelet to open a stream (it resolves the container and asks its runtime to stream to us). */
  private async openAtNode(nodeName: string, streamId: string, pod: { readonly namespace: string; readonly name: string; readonly uid: string }, request: KubeletStreamRequest['request']): Promise<NodeOpenResult> {
    const ask: KubeletStreamRequest = { type: 'kubeletStreamRequest', streamId, ...pod, request };
    try {
      const reply = await this.context.ask<KubeletStream>(address(nodeName, 'kubelet'), ask, { timeoutMs: kubeletStreamTimeoutMs });
      if (reply.ok) return isAddress(reply.runtime) ? { ok: true, runtime: reply.runtime } : { ok: false, status: serviceUnavailable(`the kubelet of node ${nodeName} answered without a runtime address`) };
      return { ok: false, status: reply.code === 400 ? badRequest(reply.message) : reply.code === 404 ? { ...badRequest(reply.message), code: 404, reason: 'NotFound' } : serviceUnavailable(reply.message) };
    } catch (error) {
      return { ok: false, status: serviceUnavailable(`the kubelet of node ${nodeName} did not answer: ${error instanceof Error ? error.message : String(error)}`) };
    }
  }

  /** One attempt to write the bootstrap objects and prime the caches; on failure, try again later. */
  private async startCore(): Promise<void> {
    if (this.core || this.starting || this.stopped) return;
    this.starting = true;
    this.startAttempts++;
    const core = new ApiServerCore({
      kv: this.kv, clock: this.context.clock, prng: this.context.random, identity: this.context.self,
      serverAddress: this.config.serverAddress ?? '127.0.0.1:6443',
      ...(this.config.unsafeWatchSkipEvery === undefined ? {} : { unsafeWatchSkipEvery: this.config.unsafeWatchSkipEvery }),
      podLogs: (pod, options) => this.podLogs(pod, options),
      podStreams: this.streams.open,
      ...(this.config.serviceIpPrefix === undefined ? {} : { serviceIpPrefix: this.config.serviceIpPrefix, kubernetesServiceIp: `${this.config.serviceIpPrefix}.0.1` }),
      ...(this.config.tokens ? { authenticator: this.authenticator(this.config.tokens) } : {}),
      admission: { defaultTolerationSeconds: Math.round(profile(this.config.profile ?? 'fast').notReadyTolerationMs / 1000) },
      ...(this.config.serviceAccountSigningKeyPem ? { tokenIssuer: { signingKeyPem: this.config.serviceAccountSigningKeyPem } } : {}),
    });
    try {
      await core.start();
      if (this.stopped) core.stop();
      else {
        this.core = core;
        this.startCompactor();
        this.startEndpointReconciler(core);
      }
      this.context.log.info('apiserver ready', { attempts: this.startAttempts });
    } catch (error) {
      core.stop();
      const max = this.config.startBackoffMaxMs ?? DEFAULT_START_BACKOFF_MAX_MS;
      this.context.log.warn('apiserver start failed; retrying', { error: String(error), retryInMs: this.backoffMs });
      this.context.setTimer('startCore', this.backoffMs, { type: 'startCore' });
      this.backoffMs = Math.min(max, this.backoffMs * 2);
    } finally {
      this.starting = false;
    }
  }

  /** Keeps default/kubernetes pointing at the live apiservers (see endpoint-reconciler.ts). */
  private startEndpointReconciler(core: ApiServerCore): void {
    const https = this.config.https;
    if (https?.host === undefined || https.port === undefined || https.port === 0) return;
    const timing = profile(this.config.profile ?? 'fast');
    // Upstream's loopback client is privileged (system:masters); here the same through a static token of that group.
    const privileged = this.config.tokens?.find((t) => t.groups.includes(wellKnown.mastersGroup));
    const transport: ApiTransport = privileged === undefined ? core : {
      request: (request) => core.request({ ...request, headers: { ...request.headers, authorization: `Bearer ${privileged.token}` } }),
      watch: (request) => core.watch({ ...request, headers: { ...request.headers, authorization: `Bearer ${privileged.token}` } }),
    };
    const reconciler = new EndpointReconciler({
      client: new KubeClient({ transport, clock: this.context.clock }), clock: this.context.clock,
      ip: https.host, port: https.port, leaseDurationMs: timing.leaseDurationMs,
    });
    const round = (): void => {
      if (this.stopped) return;
      void reconciler.reconcile()
        .catch((error: unknown) => this.context.log.warn('kubernetes endpoints reconcile failed; retrying', { error: String(error) }))
        .finally(() => { if (!this.stopped) this.context.clock.setTimer(timing.nodeLeaseRenewMs, round); });
    };
    round();
  }

  /** Like kube-apiserver, every apiserver runs a compactor; the claim on compact_rev_key makes one of them compact per interval. */
  private startCompactor(): void {
    const intervalMs = this.compactionIntervalMs;
    if (intervalMs === 0 || this.compactor) return;
    const wakeUp: WakeUp = {
      set: (delayMs, fire) => {
        this.compactFire = fire;
        this.context.setTimer('compact', delayMs, { type: 'compact' });
      },
      cancel: () => {
        this.compactFire = undefined;
        this.context.cancelTimer('compact');
      },
    };
    this.compactor = new Compactor({
      kv: this.kv, intervalMs, wakeUp,
      onOutcome: (outcome) => this.logCompaction(outcome),
      onError: (error) => this.context.log.error('etcd compaction round threw; retrying next interval', { error: String(error) }),
    });
    this.compactor.start();
  }

  private logCompaction(outcome: CompactionOutcome): void {
    switch (outcome.kind) {
      case 'compacted':
        this.context.log.info('compacted etcd', { revision: outcome.revision, nextRevision: outcome.nextRevision });
        return;
      case 'failed':
        this.context.log.warn('etcd compaction failed; retrying next interval', {
          stage: outcome.stage, code: outcome.error.code, definite: outcome.error.definite,
          error: outcome.error.code === 'store' ? outcome.error.error.code : outcome.error.message,
        });
        return;
      case 'alreadyCompacted':
        this.context.log.info('etcd already compacted past this round', { revision: outcome.revision, compactRevision: outcome.compactRevision });
        return;
      case 'claimed':
      case 'observed':
        return;
      default: {
        const never: never = outcome;
        throw new Error(`apiserver: unhandled compaction outcome ${JSON.stringify(never)}`);
      }
    }
  }

  private async serveRequest(request: ApiRequest, incoming: Incoming): Promise<void> {
    const core = this.core;
    if (!core) {
      incoming.reply?.({ type: 'apiUnavailable', reason: `${this.context.self} is starting (etcd not reachable yet)` });
      return;
    }
    const response = await core.request(request);
    incoming.reply?.({ type: 'apiResponse', response });
  }

  private async openWatch(watchId: number, request: ApiRequest, incoming: Incoming): Promise<void> {
    const core = this.core;
    const client = incoming.from;
    const reply = (answer: ApiserverReply): void => incoming.reply?.(answer);
    if (!core) return reply({ type: 'apiUnavailable', reason: `${this.context.self} is starting (etcd not reachable yet)` });
    const byId = this.watches.get(client) ?? new Map<number, Subscription>();
    const limit = this.config.maxWatchesPerClient ?? DEFAULT_MAX_WATCHES_PER_CLIENT;
    if (byId.has(watchId)) return reply({ type: 'apiResponse', response: statusResponse(serviceUnavailable(`watch id ${watchId} is already open`)) });
    if (byId.size >= limit) return reply({ type: 'apiUnavailable', reason: `${client} has ${limit} watches open here (the limit)` });
    const result = await core.watch(request);
    if (result.kind === 'response') return reply({ type: 'apiResponse', response: result.response });
    reply({ type: 'apiWatchStarted', watchId });
    this.watches.set(client, byId);
    // Numbered so the client sees a lost tell (a faulty link) instead of a silent gap in the stream.
    let seq = 0;
    const end = (): void => {
      if (byId.get(watchId) === undefined) return;
      this.forget(client, watchId);
      this.context.send(client, { type: 'apiWatchEnd', watchId, seq: ++seq });
    };
    // Placeholder first: a synchronous replay may end the stream before subscribe() returns.
    byId.set(watchId, EMPTY_SUBSCRIPTION);
    const sub = result.events.subscribe({
      next: (event) => this.context.send(client, { type: 'apiWatchEvent', watchId, event, seq: ++seq }),
      complete: end,
      error: end,
    });
    if (byId.get(watchId) === EMPTY_SUBSCRIPTION) byId.set(watchId, sub);
    else sub.unsubscribe();
  }

  private closeWatch(client: Address, watchId: number): void {
    const sub = this.watches.get(client)?.get(watchId);
    this.forget(client, watchId);
    sub?.unsubscribe();
  }

  private forget(client: Address, watchId: number): void {
    const byId = this.watches.get(client);
    if (!byId) return;
    byId.delete(watchId);
    if (byId.size === 0) this.watches.delete(client);
  }

  /** Tells each watching client which of its watches are still open here. */
  private heartbeat(): void {
    if (this.stopped) return;
    for (const [client, byId] of this.watches) this.context.send(client, { type: 'apiWatchHeartbeat', watchIds: [...byId.keys()] });
    this.context.setTimer('heartbeat', this.config.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, { type: 'heartbeat' });
  }
}

const EMPTY_SUBSCRIPTION: Subscription = new Subject<never>().subscribe();
