/**
 * The kubelet core: registers its Node and renews its Lease, watches the pods bound to it, and
 * converges each pod on the container runtime through the CRI (pod workers, one sync at a time
 * per pod), with probes, crash-loop backoff, volumes, graceful termination and status reports.
 * Level-triggered like a controller: every informer event and runtime event only marks a pod
 * dirty; `syncPod` reads the state and converges. Time, randomness, the runtime, the network and
 * the disk are injected (see services.ts), so the core runs under the test kit and simulation.
 */
import { formatRfc3339Micro } from '../api/time.js';

import { asRecord, type KubeObject } from '../api/types.js';
import { EventRecorder, type EventRecord } from '../client/events.js';
import { Informer, isTombstone } from '../client/informer.js';
import type { KubeClient } from '../client/client.js';
import { isAlreadyExists, isNotFound } from '../client/errors.js';
import type { ContainerEvent, ContainerStatus } from '../cri/messages.js';
import type { Address } from '../primitives/address.js';
import { logLineText } from '../cri/logs.js';
import type { Clock, TimerId } from '../primitives/clock.js';
import { nodeObject, nodeStatus, conditionsOf, conditionSummary, type NodeHealth, type NodeIdentity } from './node-status.js';
import { PodSyncer, type PodSyncerTiming } from './pod-sync.js';
import type { Prober, RuntimeService, VolumeHost } from './services.js';
import { podKey, podSpec } from './pod-spec.js';
import { criLabels } from './pod-actions.js';
import type { KubeletLogs, KubeletLogsRequest, KubeletStreamRequest } from './messages.js';
import { ResourceMetrics } from './metrics.js';
import { sinceMsOf } from '../apiserver/log-options.js';

const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;
const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;
const leasesRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const servicesRef = { apiVersion: 'v1', kind: 'Service' } as const;

/** Upstream's nodeLeaseDurationSeconds default. */
const nodeLeaseDurationSeconds = 40;
/** Pod syncs in flight at most (upstream runs one goroutine per pod; a bound keeps the API calm). */
const syncsInFlightMax = 16;

export interface KubeletTiming extends PodSyncerTiming {
  readonly nodeLeaseRenewMs: number;
  /** How often node status is computed; posted when it changed or after nodeStatusReportMs. */
  readonly nodeStatusUpdateMs: number;
  readonly nodeStatusReportMs: number;
  /** PLEG relist period: catches runtime events lost on the way. */
  readonly relistMs: number;
  /** How often PodMetrics and NodeMetrics are written (metrics.ts). */
  readonly metricsResolutionMs: number;
}

export interface KubeletOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly node: NodeIdentity;
  readonly runtime: RuntimeService;
  readonly prober: Prober;
  readonly volumes: VolumeHost;
  readonly timing: KubeletTiming;
  /** Cluster DNS server(s) for ClusterFirst pods, and the cluster domain. */
  readonly clusterDns: readonly string[];
  readonly clusterDomain: string;
  readonly onError: (error: unknown, context: string) => void;
}

export interface KubeletStatus {
  readonly node: string;
  readonly registered: boolean;
  readonly podCidr?: string;
  readonly pods: number;
  readonly syncs: number;
  readonly syncErrors: number;
  readonly leaseRenewals: number;
}

export class Kubelet {
  private readonly pods: Informer<KubeObject>;
  private readonly nodes: Informer<KubeObject>;
  private readonly services: Informer<KubeObject>;
  private readonly syncer: PodSyncer;
  private readonly recorder: EventRecorder;
  private readonly metrics: ResourceMetrics;
  /** Pods (by uid) that need a sync; value: their "namespace/name". */
  private readonly dirty = new Map<string, string>();
  private readonly syncing = new Set<string>();
  private readonly resyncTimers = new Map<string, TimerId>();
  private readonly timers: TimerId[] = [];
  private registered = false;
  private stopped = false;
  private lease: KubeObject | undefined;
  private lastStatusPostMs = -Infinity;
  private lastStatusSummary = '';
  private podCidrApplied: string | undefined;
  private counts = { syncs: 0, syncErrors: 0, leaseRenewals: 0 };

  constructor(private readonly o: KubeletOptions) {
    const onError = (what: string) => (e: unknown) => o.onError(e, what);
    this.pods = new Informer({ client: o.client, resource: podsRef, fieldSelector: `spec.nodeName=${o.node.nodeName}`, onError: onError('pods') });
    this.nodes = new Informer({ client: o.client, resource: nodesRef, fieldSelector: `metadata.name=${o.node.nodeName}`, onError: onError('node') });
    this.services = new Informer({ client: o.client, resource: servicesRef, onError: onError('services') });
    this.recorder = new EventRecorder({ client: o.client, clock: o.clock, component: 'kubelet', instance: o.node.nodeName, mayWrite: () => !this.stopped, onError: onError('events') });
    this.syncer = new PodSyncer({
      client: o.client, clock: o.clock, runtime: o.runtime, prober: o.prober, volumes: o.volumes, node: o.node, timing: o.timing,
      clusterDns: o.clusterDns, clusterDomain: o.clusterDomain,
      services: (namespace) => this.services.list().filter((s) => s.metadata?.namespace === namespace || (s.metadata?.namespace === 'default' && s.metadata.name === 'kubernetes')),
      admittedPods: () => this.pods.list(),
      record: (pod, event) => this.event(pod, event),
      resyncAt: (uid, key, atMs) => this.resyncAt(uid, key, atMs),
      markDirty: (uid) => this.markDirtyByUid(uid),
      onError: o.onError,
    });
    this.metrics = new ResourceMetrics({
      client: o.client, clock: o.clock, runtime: o.runtime, nodeName: o.node.nodeName, pods: () => this.pods.list(),
      resolutionMs: o.timing.metricsResolutionMs, mayWrite: () => !this.stopped,
    });
    const enqueue = (pod: KubeObject) => { if (pod.metadata?.uid !== undefined) this.markDirty(pod.metadata.uid, podKey(pod)); };
    this.pods.addEventHandler({ onAdd: enqueue, onUpdate: (_, pod) => enqueue(pod), onDelete: (pod) => enqueue(isTombstone(pod) ? pod.obj : pod) });
    this.nodes.addEventHandler({ onAdd: (n) => this.onNode(n), onUpdate: (_, n) => this.onNode(n) });
  }

  start(): void {
    void this.register().then(() => {
      if (this.stopped) return;
      this.pods.start();
      this.nodes.start();
      this.services.start();
      this.every(this.o.timing.nodeLeaseRenewMs, () => this.renewLease());
      this.every(this.o.timing.nodeStatusUpdateMs, () => this.postStatus(false));
      this.every(this.o.timing.relistMs, () => this.relist());
      this.every(this.o.timing.metricsResolutionMs, () => this.metrics.publish());
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.o.clock.clearTimer(t);
    for (const t of this.resyncTimers.values()) this.o.clock.clearTimer(t);
    this.pods.stop();
    this.nodes.stop();
    this.services.stop();
    this.syncer.stop();
  }

  /** A runtime event (PLEG): the container's pod syncs again. */
  onContainerEvent(event: ContainerEvent): void {
    const uid = this.syncer.podUidOfSandbox(event.podSandboxId);
    if (uid !== undefined) this.markDirtyByUid(uid);
  }

  /** pods/log: the named (or only) container's current or previous attempt, from the runtime's log. */
  async logs(request: KubeletLogsRequest): Promise<KubeletLogs> {
    const found = await this.findContainer(request);
    if (!found.ok) return { type: 'kubeletLogs', ok: false, code: found.code, message: found.message };
    const sinceMs = sinceMsOf(request, this.o.clock.wallNow());
    const reply = await this.o.runtime.call({
      type: 'readContainerLog', containerId: found.container.id, timestamps: request.timestamps === true,
      ...(request.tailLines === undefined ? {} : { tailLines: request.tailLines }),
      ...(sinceMs === undefined ? {} : { sinceMs }), ...(request.limitBytes === undefined ? {} : { limitBytes: request.limitBytes }),
    });
    // The runtime keeps lines without their newline (CRI's log format); kubectl prints them one per line.
    const text = reply.lines.map((l) => logLineText(l, request.timestamps === true)).join('');
    return { type: 'kubeletLogs', ok: true, text };
  }

  /**
   * exec, attach and `logs -f`: finds the container and asks the runtime to stream to `peer` (the
   * asking apiserver) under the apiserver's stream id. The shell adds the runtime's address.
   */
  async stream(request: KubeletStreamRequest, peer: Address): Promise<{ readonly ok: true } | { readonly ok: false; readonly code: 400 | 404 | 503; readonly message: string }> {
    const r = request.request;
    const found = await this.findContainer({ namespace: request.namespace, name: request.name, uid: request.uid, ...(r.container === '' ? {} : { container: r.container }) });
    if (!found.ok) return found;
    const c = found.container;
    if (r.kind === 'log') {
      const sinceMs = sinceMsOf(r, this.o.clock.wallNow());
      await this.o.runtime.call({
        type: 'followContainerLog', containerId: c.id, streamId: request.streamId, peer, timestamps: r.timestamps,
        ...(r.tailLines === undefined ? {} : { tailLines: r.tailLines }), ...(sinceMs === undefined ? {} : { sinceMs }),
      });
      return { ok: true };
    }
    if (c.state !== 'CONTAINER_RUNNING') {
      const name = c.labels[criLabels.containerName] ?? c.metadata.name;
      return { ok: false, code: 400, message: `container ${name} in pod ${request.name} is not running (${c.state === 'CONTAINER_EXITED' ? `it exited with code ${c.exitCode}` : c.state}): ${r.kind} needs a running container` };
    }
    const io = { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr, tty: r.tty };
    if (r.kind === 'exec') await this.o.runtime.call({ type: 'exec', containerId: c.id, cmd: r.command, ...io, streamId: request.streamId, peer });
    else await this.o.runtime.call({ type: 'attach', containerId: c.id, ...io, streamId: request.streamId, peer });
    return { ok: true };
  }

  /** The container a logs/exec request names: its newest attempt (or the one before, for `previous`). */
  private async findContainer(request: { readonly namespace: string; readonly name: string; readonly uid: string; readonly container?: string; readonly previous?: boolean }): Promise<{ readonly ok: true; readonly container: ContainerStatus } | { readonly ok: false; readonly code: 400 | 404 | 503; readonly message: string }> {
    const fail = (code: 400 | 404 | 503, message: string) => ({ ok: false, code, message }) as const;
    const pod = this.pods.get(request.namespace, request.name);
    if (pod === undefined || pod.metadata?.uid !== request.uid) return fail(404, `pod ${request.namespace}/${request.name} is not on node ${this.o.node.nodeName}`);
    const spec = podSpec(pod);
    const names = [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.name);
    const name = request.container ?? (spec.containers.length === 1 ? spec.containers[0]!.name : undefined);
    if (name === undefined) return fail(400, `a container name must be specified for pod ${request.name}, choose one of: [${spec.containers.map((c) => c.name).join(' ')}]`);
    if (!names.includes(name)) return fail(400, `container ${name} is not valid for pod ${request.name}`);
    const attempts = (await this.syncer.runtimeView(request.uid)).containers
      .filter((c) => (c.labels[criLabels.containerName] ?? c.metadata.name) === name).sort((a, b) => b.metadata.attempt - a.metadata.attempt);
    const target = request.previous === true ? attempts[1] : attempts[0];
    if (target === undefined) {
      return request.previous === true
        ? fail(400, `previous terminated container "${name}" in pod "${request.name}" not found`)
        : fail(400, `container "${name}" in pod "${request.name}" is waiting to start: ContainerCreating`);
    }
    return { ok: true, container: target };
  }

  status(): KubeletStatus {
    return { node: this.o.node.nodeName, registered: this.registered, ...(this.podCidrApplied === undefined ? {} : { podCidr: this.podCidrApplied }), pods: this.pods.keys().length, ...this.counts };
  }

  private every(periodMs: number, task: () => Promise<void>): void {
    const tick = (): void => {
      if (this.stopped) return;
      void task().catch((e: unknown) => this.o.onError(e, 'periodic task')).finally(() => { if (!this.stopped) this.timers.push(this.o.clock.setTimer(periodMs, tick)); });
    };
    tick();
  }

  private async health(): Promise<NodeHealth> {
    try {
      const status = await this.o.runtime.call({ type: 'status' }, 2_000);
      const runtime = status.conditions.find((c) => c.type === 'RuntimeReady');
      return { runtimeReady: runtime?.status ?? false, runtimeMessage: runtime?.message ?? '', networkReady: this.podCidrApplied !== undefined };
    } catch (error) {
      return { runtimeReady: false, runtimeMessage: error instanceof Error ? error.message : String(error), networkReady: this.podCidrApplied !== undefined };
    }
  }

  /** Registers the Node, retrying until the apiserver takes it (an existing Node is this kubelet's, re-registering after a restart). */
  private async register(): Promise<void> {
    while (!this.stopped && !this.registered) {
      try {
        await this.o.client.create(nodesRef, nodeObject(this.o.node, await this.health(), this.o.clock.wallNow()));
        this.registered = true;
      } catch (error) {
        if (isAlreadyExists(error)) {
          this.registered = true;
          await this.postStatus(true);
        } else {
          this.o.onError(error, 'node registration');
          await new Promise<void>((r) => this.o.clock.setTimer(this.o.timing.nodeLeaseRenewMs, r));
        }
      }
    }
  }

  private async renewLease(): Promise<void> {
    const spec = { holderIdentity: this.o.node.nodeName, leaseDurationSeconds: nodeLeaseDurationSeconds, renewTime: formatRfc3339Micro(this.o.clock.wallNow()) };
    try {
      this.lease = this.lease === undefined
        ? await this.o.client.create(leasesRef, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.node.nodeName, namespace: 'kube-node-lease' }, spec })
        : await this.o.client.update(leasesRef, { ...this.lease, spec });
      this.counts.leaseRenewals++;
    } catch (error) {
      // AlreadyExists (after a restart) or a conflict: renew the current one next time.
      this.lease = await this.o.client.get(leasesRef, 'kube-node-lease', this.o.node.nodeName).catch(() => undefined);
      if (!isAlreadyExists(error) && !isNotFound(error)) this.o.onError(error, 'node lease');
    }
  }

  /** Posts node status when a condition changed, when the node lifecycle controller overwrote Ready, or every nodeStatusReportMs. */
  private async postStatus(force: boolean): Promise<void> {
    if (!this.registered) return;
    const node = this.nodes.get(undefined, this.o.node.nodeName);
    const previous = conditionsOf(node);
    const status = nodeStatus(this.o.node, previous, await this.health(), this.o.clock.wallNow());
    const summary = conditionSummary(status['conditions'] as never);
    const now = this.o.clock.now();
    const stale = conditionSummary(previous) !== summary;
    if (!force && !stale && summary === this.lastStatusSummary && now - this.lastStatusPostMs < this.o.timing.nodeStatusReportMs) return;
    await this.o.client.patch(nodesRef, undefined, this.o.node.nodeName, { status }, { type: 'strategic', subresource: 'status' });
    this.lastStatusPostMs = now;
    this.lastStatusSummary = summary;
  }

  /** spec.podCIDR arrives from the node IPAM controller: hand it to the runtime, then pods can get addresses. */
  private onNode(node: KubeObject): void {
    const cidr = asRecord(node['spec'])?.['podCIDR'];
    if (typeof cidr !== 'string' || cidr === this.podCidrApplied) return;
    void this.o.runtime.call({ type: 'updateRuntimeConfig', podCidr: cidr }).then(() => {
      this.podCidrApplied = cidr;
      this.syncer.setPodCidr(cidr);
      void this.postStatus(true).catch((e: unknown) => this.o.onError(e, 'node status'));
      for (const pod of this.pods.list()) this.markDirty(pod.metadata!.uid!, podKey(pod));
    }, (e: unknown) => this.o.onError(e, 'updateRuntimeConfig'));
  }

  /** PLEG relist: every pod the runtime holds or the API binds here syncs, which also reaps orphans. */
  private async relist(): Promise<void> {
    if (!this.pods.hasSynced()) return;
    const orphans = await this.syncer.runtimePodUids();
    const known = new Set<string>();
    for (const pod of this.pods.list()) {
      known.add(pod.metadata!.uid!);
      this.markDirty(pod.metadata!.uid!, podKey(pod));
    }
    for (const uid of orphans) if (!known.has(uid)) this.markDirty(uid, '');
  }

  private markDirtyByUid(uid: string): void {
    const pod = this.pods.list().find((p) => p.metadata?.uid === uid);
    this.markDirty(uid, pod === undefined ? '' : podKey(pod));
  }

  private markDirty(uid: string, key: string): void {
    if (this.stopped) return;
    this.dirty.set(uid, key);
    this.pump();
  }

  private resyncAt(uid: string, key: string, atMs: number): void {
    const existing = this.resyncTimers.get(uid);
    if (existing !== undefined) this.o.clock.clearTimer(existing);
    this.resyncTimers.set(uid, this.o.clock.setTimer(Math.max(0, atMs - this.o.clock.now()), () => {
      this.resyncTimers.delete(uid);
      this.markDirty(uid, key);
    }));
  }

  private pump(): void {
    for (const [uid, key] of this.dirty) {
      if (this.syncing.size >= syncsInFlightMax) return;
      if (this.syncing.has(uid)) continue;
      this.dirty.delete(uid);
      this.syncing.add(uid);
      const pod = key === '' ? undefined : this.pods.getByKey(key);
      const current = pod?.metadata?.uid === uid ? pod : undefined;
      this.counts.syncs++;
      void this.syncer.sync(uid, current, this.podCidrApplied !== undefined)
        .catch((error: unknown) => {
          this.counts.syncErrors++;
          this.o.onError(error, `sync pod ${key || uid}`);
          this.resyncAt(uid, key, this.o.clock.now() + this.o.timing.crashLoopBackoffStartMs * 5);
        })
        .finally(() => {
          this.syncing.delete(uid);
          this.pump();
        });
    }
  }

  private event(pod: KubeObject, event: Omit<EventRecord, 'involvedObject'> & { readonly fieldPath?: string }): void {
    const m = pod.metadata ?? {};
    this.recorder.record({
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: m.namespace ?? 'default', name: m.name ?? '', ...(m.uid === undefined ? {} : { uid: m.uid }) },
      type: event.type, reason: event.reason, message: event.message,
    }, undefined);
  }
}
