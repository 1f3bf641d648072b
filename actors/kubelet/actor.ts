import { mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { Subject } from 'rxjs';
import { ActorApiTransport, whenApiserverReady } from '../../src/apiserver/actor-transport.js';
import { contextPort } from '../../src/client/actor-port.js';
import { KubeClient } from '../../src/client/client.js';
import type { CriRequest, CriResponse, ResponseOf } from '../../src/cri/messages.js';
import { Kubelet } from '../../src/kubelet/kubelet.js';
import { defaultNodeCapacity, validateKubeletMessage, type KubeletConfig, type KubeletLogs, type KubeletMessage, type KubeletStream, type KubeletStatusReply } from '../../src/kubelet/messages.js';
import { CriCallError, type Prober, type ProbeOutcome, type RuntimeService, type VolumeHost } from '../../src/kubelet/services.js';
import { address, type Address } from '../../src/primitives/address.js';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import type { InboxMessage } from '../../src/runtime/client-actor.js';
import { profile } from '../../src/runtime/profiles.js';
import { rateLimitedWarn } from '../../src/runtime/rate-limited-log.js';

const userAgent = 'kubelet/v1.32.0 (pocketkube)';
/** How long a CRI call may take unless the request says otherwise. */
const criTimeoutMs = 10_000;
/** The runtime subscription is renewed this often: a restarted runtime forgot its subscribers. */
const subscribeEveryMs = 2_000;
/** Probe output kept (upstream reads at most 10 KiB of a probe's body). */
const probeBodyBytesMax = 10 * 1024;

export const kubeletActor = defineActor<KubeletMessage, KubeletConfig>({
  kind: 'kubelet',
  validate: validateKubeletMessage,
  create: (context, config) => new KubeletBehaviour(context, config),
});

/** One kubelet: the core of src/kubelet wired to the apiservers, its node's runtime, real probes and the node's disk. */
class KubeletBehaviour implements ActorBehaviour<KubeletMessage> {
  private readonly incoming = new Subject<InboxMessage>();
  private readonly kubelet: Kubelet;
  private readonly runtimeAddress: Address;
  private stopped = false;

  constructor(private readonly context: ActorContext, config: KubeletConfig) {
    const timing = profile(config.profile ?? 'fast');
    this.runtimeAddress = address(context.host, 'container-runtime');
    // Upstream's heartbeat client times out within the status update period and then drops its
    // connections, so a kubelet whose apiserver hangs (partitioned from etcd) moves to another
    // before its Lease lapses. Two renew periods per attempt keeps a renewal inside the node
    // grace period (fast: 1 s attempts, 500 ms renewals, 3 s grace).
    const transport = new ActorApiTransport(contextPort(context, this.incoming), {
      servers: config.apiservers, ...(config.token === undefined ? {} : { token: config.token }),
      attemptTimeoutMs: Math.max(1_000, 2 * timing.nodeLeaseRenewMs),
    });
    this.kubelet = new Kubelet({
      client: new KubeClient({ transport, clock: context.clock, prng: context.random, userAgent: `${userAgent} ${context.self}` }),
      clock: context.clock,
      node: {
        nodeName: config.nodeName, nodeIp: config.nodeIp, capacity: config.capacity ?? defaultNodeCapacity,
        labels: config.labels ?? {}, taints: config.taints ?? [], kubeletPort: 10250,
      },
      runtime: this.runtimeService(), prober: realProber, volumes: diskVolumes(config.podsDir),
      timing: {
        nodeLeaseRenewMs: timing.nodeLeaseRenewMs, nodeStatusUpdateMs: timing.nodeStatusUpdateMs, nodeStatusReportMs: timing.nodeStatusReportMs,
        relistMs: timing.plegRelistMs, metricsResolutionMs: timing.metricsResolutionMs, crashLoopBackoffStartMs: timing.crashLoopBackoffStartMs, crashLoopBackoffMaxMs: timing.crashLoopBackoffMaxMs,
      },
      clusterDns: config.clusterDns ?? ['127.96.0.10'], clusterDomain: config.clusterDomain ?? 'cluster.local',
      onError: rateLimitedWarn(context.log, context.clock),
    });
    this.subscribe();
    void whenApiserverReady(transport, context.clock, () => this.stopped).then((ready) => { if (ready) this.kubelet.start(); });
  }

  receive(message: KubeletMessage, incoming: Incoming): void {
    switch (message.type) {
      case 'kubeletStatusRequest':
        incoming.reply?.({ type: 'kubeletStatus', ...this.kubelet.status() } satisfies KubeletStatusReply);
        return;
      case 'kubeletLogsRequest': {
        const reply = incoming.reply;
        void this.kubelet.logs(message).then(
          (logs) => reply?.(logs),
          (error: unknown) => reply?.({ type: 'kubeletLogs', ok: false, code: 503, message: `kubelet ${this.context.host}: ${error instanceof Error ? error.message : String(error)}` } satisfies KubeletLogs),
        );
        return;
      }
      case 'kubeletStreamRequest': {
        const reply = incoming.reply;
        void this.kubelet.stream(message, incoming.from).then(
          (opened) => reply?.(opened.ok ? { type: 'kubeletStream', ok: true, runtime: this.runtimeAddress } : { type: 'kubeletStream', ...opened } satisfies KubeletStream),
          (error: unknown) => reply?.({ type: 'kubeletStream', ok: false, code: error instanceof CriCallError && error.code === 'InvalidArgument' ? 400 : error instanceof CriCallError && error.code === 'NotFound' ? 404 : 503, message: `kubelet ${this.context.host}: ${error instanceof Error ? error.message : String(error)}` } satisfies KubeletStream),
        );
        return;
      }
      case 'containerEvent':
        this.kubelet.onContainerEvent(message);
        return;
      case 'apiWatchEvent':
      case 'apiWatchEnd':
      case 'apiWatchHeartbeat':
        this.incoming.next({ from: incoming.from, message });
        return;
      default: {
        const never: never = message;
        throw new Error(`kubelet: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    return { ...this.kubelet.status() };
  }

  stop(): void {
    this.stopped = true;
    void this.kubelet.stop();
    this.incoming.complete();
  }

  /** Asks the runtime for container events (the evented PLEG), again every few seconds. */
  private subscribe(): void {
    if (this.stopped) return;
    void this.context.ask(this.runtimeAddress, { type: 'getContainerEvents' }, { timeoutMs: subscribeEveryMs }).catch(() => undefined);
    this.context.clock.setTimer(subscribeEveryMs, () => this.subscribe());
  }

  private runtimeService(): RuntimeService {
    return {
      call: async <R extends CriRequest>(request: R, timeoutMs = criTimeoutMs): Promise<ResponseOf<R>> => {
        let reply: CriResponse;
        try {
          reply = await this.context.ask<CriResponse>(this.runtimeAddress, request, { timeoutMs });
        } catch (error) {
          throw new CriCallError('Unreachable', `container runtime ${this.runtimeAddress}: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (reply.type === 'criError') throw new CriCallError(reply.code, reply.message);
        if (reply.type !== `${request.type}Response`) throw new CriCallError('Internal', `container runtime answered ${request.type} with ${reply.type}`);
        return reply as ResponseOf<R>;
      },
    };
  }
}

/** Probes over real loopback sockets: httpGet succeeds on 200–399, tcpSocket on a connection. */
const realProber: Prober = {
  http: (t) => new Promise<ProbeOutcome>((resolve) => {
    const request = (t.scheme === 'HTTPS' ? httpsRequest : httpRequest)({
      host: t.host, port: t.port, path: t.path, method: 'GET', timeout: t.timeoutMs, rejectUnauthorized: false,
      headers: { 'User-Agent': 'kube-probe/1.32', Accept: '*/*', ...t.headers },
    }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => { if (body.length < probeBodyBytesMax) body += chunk; });
      response.on('end', () => {
        const code = response.statusCode ?? 0;
        resolve({ success: code >= 200 && code < 400, message: code >= 200 && code < 400 ? '' : `HTTP probe failed with statuscode: ${code}` });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`Get "http://${t.host}:${t.port}${t.path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    request.on('error', (error) => resolve({ success: false, message: error.message }));
    request.end();
  }),
  tcp: (t) => new Promise<ProbeOutcome>((resolve) => {
    const socket = connect({ host: t.host, port: t.port, timeout: t.timeoutMs });
    socket.once('connect', () => { socket.destroy(); resolve({ success: true, message: '' }); });
    socket.once('timeout', () => { socket.destroy(); resolve({ success: false, message: `dial tcp ${t.host}:${t.port}: i/o timeout` }); });
    socket.once('error', (error) => resolve({ success: false, message: `dial tcp ${t.host}:${t.port}: ${error.message}` }));
  }),
};

/** Pod volumes as directories under `<podsDir>/<uid>/volumes/<name>`. */
function diskVolumes(podsDir: string): VolumeHost {
  const dir = (uid: string, volume: string) => join(podsDir, uid, 'volumes', volume);
  return {
    ensureDir: async (uid, volume) => {
      const path = dir(uid, volume);
      await mkdir(path, { recursive: true });
      return path;
    },
    writeFiles: async (uid, volume, files) => {
      const root = dir(uid, volume);
      await mkdir(root, { recursive: true });
      const wanted = new Set<string>();
      for (const [relative, content] of Object.entries(files)) {
        const path = normalize(join(root, relative));
        if (!path.startsWith(`${root}/`)) throw new Error(`volume ${volume}: path ${relative} leaves the volume`);
        wanted.add(path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
      }
      // Keys removed from the source disappear from the volume (top level; nested paths are rewritten).
      for (const entry of await readdir(root)) if (!wanted.has(join(root, entry)) && ![...wanted].some((w) => w.startsWith(`${join(root, entry)}/`))) await rm(join(root, entry), { recursive: true, force: true });
      return root;
    },
    removePod: async (uid) => {
      await rm(join(podsDir, uid), { recursive: true, force: true });
    },
  };
}
