/**
 * A stand-in for the kubelets until they exist, shared by the cluster tests and the controllers
 * benchmark (it lives under tools/ because tools may not import test helpers):
 * - `KubeletStandIn` registers its nodes (Ready, with allocatable resources the scheduler fits
 *   pods into) and renews their Leases, so the node lifecycle controller sees them alive.
 * - It watches every pod (an Informer): reports a pod bound to one of its nodes (by the real
 *   scheduler) Running and Ready (or Succeeded, for pods owned by a Job), reports it Ready again
 *   when the node lifecycle controller marked it not Ready, and finishes the
 *   deletion of a terminating pod (grace period 0), as a kubelet would once its containers stopped.
 */
import { formatRfc3339Micro, type KubeObject } from '../../src/api/index.js';
import { isAlreadyExists, type KubeClient } from '../../src/client/index.js';
import { Informer, isTombstone } from '../../src/client/informer.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

export const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;

function podReady(pod: KubeObject): boolean {
  return ((pod['status'] as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;
const leasesRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
/** The fast profile's node lease renew interval (DESIGN §4). */
const nodeLeaseRenewMs = 500;

const defaultAllocatable: Readonly<Record<string, string>> = { cpu: '16', memory: '64Gi', pods: '110' };

/** What a stand-in kubelet makes of a bound pod's containers. */
export type PodOutcome = 'Running' | 'Succeeded' | 'Failed' | 'Pending';

export interface KubeletStandInOptions {
  readonly client: KubeClient;
  /** Nodes this stand-in registers (Ready) and keeps alive through their kube-node-lease Leases; default `node-a`. */
  readonly nodes?: readonly string[];
  /** Each node's allocatable resources (default 16 CPUs, 64Gi, 110 pods: upstream's default max pods). */
  readonly allocatable?: Readonly<Record<string, string>>;
  /** Default: pods owned by a Job succeed, every other pod runs and is Ready. */
  readonly outcome?: (pod: KubeObject) => PodOutcome;
  /** Writes in flight at most (default 8). */
  readonly concurrency?: number;
  /** Retry delay after a failed write (default 200 ms). */
  readonly retryMs?: number;
}

const ownedByJob = (pod: KubeObject) => (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.controller === true);

/** The first container's image. */
export const podImage = (pod: KubeObject) => (pod['spec'] as { containers: { image: string }[] }).containers[0]?.image;

/** RFC 3339 at second precision, as the apiserver stores times. */
const nowRfc3339 = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class KubeletStandIn {
  private readonly informer: Informer<KubeObject>;
  private readonly pending = new Set<string>();
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private stopped = false;
  private registered = false;
  private nextIp = 1;
  private readonly nodes: ReadonlySet<string>;
  /** Writes performed, by kind. */
  readonly stats = { running: 0, succeeded: 0, failed: 0, deleted: 0, errors: 0 };

  constructor(private readonly o: KubeletStandInOptions) {
    this.nodes = new Set(o.nodes ?? ['node-a']);
    this.informer = new Informer<KubeObject>({ client: o.client, resource: podsRef });
    const enqueue = (obj: KubeObject) => this.enqueue(`${obj.metadata!.namespace}/${obj.metadata!.name}`);
    this.informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, obj) => enqueue(obj), onDelete: (obj) => enqueue(isTombstone(obj) ? obj.obj : obj) });
  }

  /** Registers the nodes and starts their heartbeats (once; `start` does it too). */
  async registerNodes(): Promise<void> {
    if (this.registered) return;
    this.registered = true;
    for (const name of this.o.nodes ?? ['node-a']) {
      const allocatable = this.o.allocatable ?? defaultAllocatable;
      const status = { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] };
      await this.o.client.create(nodesRef, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, status })
        .catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
      void this.heartbeat(name);
    }
  }

  /** Registers the nodes, then acts on every pod, those that exist first. */
  async start(): Promise<void> {
    await this.registerNodes();
    this.informer.start();
    if (!(await this.informer.waitForSync())) throw new Error('kubelet stand-in: the pod informer did not sync');
  }

  stop(): void {
    this.stopped = true;
    this.informer.stop();
  }

  /** The kubelet's node Lease: created, then renewed every nodeLeaseRenewMs while running. */
  private async heartbeat(node: string): Promise<void> {
    let lease: KubeObject | undefined;
    while (!this.stopped) {
      const spec = { holderIdentity: node, leaseDurationSeconds: 40, renewTime: formatRfc3339Micro(Date.now()) };
      try {
        lease = lease === undefined
          ? await this.o.client.create(leasesRef, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node, namespace: 'kube-node-lease' }, spec })
          : await this.o.client.update(leasesRef, { ...lease, spec });
      } catch {
        // AlreadyExists or a conflict: read the current one and renew it next time.
        lease = await this.o.client.get(leasesRef, 'kube-node-lease', node).catch(() => undefined);
      }
      await this.reportReady(node).catch(() => undefined);
      await sleep(wallClock, nodeLeaseRenewMs);
    }
  }

  /**
   * As the kubelet's node status update: when the node lifecycle controller marked the node
   * NotReady or Unknown (its Lease was not renewed for a while: a partition, say), the next
   * heartbeat reports Ready again, so the controller lifts its not-ready/unreachable taints.
   */
  private async reportReady(node: string): Promise<void> {
    const current = await this.o.client.get(nodesRef, undefined, node);
    const conditions = ((current['status'] as { conditions?: Array<{ type?: string; status?: string }> } | undefined)?.conditions ?? []);
    if (conditions.find((c) => c.type === 'Ready')?.status === 'True') return;
    const now = nowRfc3339();
    await this.o.client.patch(nodesRef, undefined, node, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }] } }, { type: 'strategic', subresource: 'status' });
  }

  /** Looks at every cached pod again (after `outcome` changed its mind about pods it left Pending). */
  resync(): void {
    for (const key of this.informer.keys()) this.enqueue(key);
  }

  /** True when no pod awaits an action of this stand-in. */
  get idle(): boolean {
    return this.pending.size === 0 && this.inFlight === 0;
  }

  private enqueue(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.pump();
  }

  private pump(): void {
    const limit = this.o.concurrency ?? 8;
    for (const key of this.pending) {
      if (this.inFlight >= limit) return;
      if (this.busy.has(key)) continue;
      this.pending.delete(key);
      this.busy.add(key);
      this.inFlight++;
      void this.act(key).finally(() => {
        this.inFlight--;
        this.busy.delete(key);
        this.pump();
      });
    }
  }

  private async act(key: string): Promise<void> {
    const pod = this.informer.getByKey(key);
    if (pod === undefined || this.stopped) return;
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const spec = pod['spec'] as { nodeName?: string };
    const phase = (pod['status'] as { phase?: string } | undefined)?.phase;
    try {
      if (pod.metadata?.deletionTimestamp !== undefined) {
        // Finalizers (foreground deletion) keep the object; the kubelet's part is done at grace 0.
        if ((pod.metadata.deletionGracePeriodSeconds ?? 0) === 0) return;
        await this.o.client.delete(podsRef, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid! } });
        this.stats.deleted++;
      } else if (spec.nodeName !== undefined && this.nodes.has(spec.nodeName) && (phase === undefined || phase === 'Pending')) {
        const outcome = this.o.outcome?.(pod) ?? (ownedByJob(pod) ? 'Succeeded' : 'Running');
        if (outcome === 'Pending') return;
        await this.o.client.updateStatus(podsRef, { ...pod, status: this.statusFor(outcome) });
        if (outcome === 'Running') this.stats.running++;
        else if (outcome === 'Succeeded') this.stats.succeeded++;
        else this.stats.failed++;
      } else if (spec.nodeName !== undefined && this.nodes.has(spec.nodeName) && phase === 'Running' && !podReady(pod) && (this.o.outcome?.(pod) ?? 'Running') === 'Running') {
        // The node lifecycle controller marked it not Ready (its node looked silent for a while):
        // the kubelet's next status sync reports the running container Ready again.
        const status = pod['status'] as { conditions?: Array<{ type: string; status: string }> };
        const now = nowRfc3339();
        const conditions = (status.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'True', lastTransitionTime: now } : c));
        await this.o.client.updateStatus(podsRef, { ...pod, status: { ...status, conditions } });
      }
    } catch {
      // Usually a conflict with a newer version (whose event re-queues the pod) or a pod gone;
      // retry later in case it was a timeout.
      this.stats.errors++;
      await sleep(wallClock, this.o.retryMs ?? 200);
      if (!this.stopped) this.pending.add(key);
    }
  }

  private statusFor(outcome: 'Running' | 'Succeeded' | 'Failed'): Record<string, unknown> {
    const now = nowRfc3339();
    const ip = this.nextIp++;
    const podIP = `127.244.${(ip >> 8) & 255}.${ip & 255}`;
    const ready = outcome === 'Running' ? 'True' : 'False';
    return {
      phase: outcome, podIP, podIPs: [{ ip: podIP }], hostIP: '127.0.0.1', startTime: now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: ready, lastTransitionTime: now },
        { type: 'Ready', status: ready, lastTransitionTime: now },
      ],
    };
  }
}
