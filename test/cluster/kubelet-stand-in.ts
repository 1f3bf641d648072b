/**
 * Test stand-ins for the scheduler and the kubelets until they exist, shared by the cluster tests
 * and the controllers benchmark:
 * - `KubeletStandIn` watches every pod (an Informer): binds an unbound pod to a node, reports a
 *   bound pod Running and Ready (or Succeeded, for pods owned by a Job), and finishes the deletion
 *   of a terminating pod (grace period 0), as a kubelet would once its containers stopped.
 *   It also registers its nodes and renews their Leases, so the node lifecycle controller sees
 *   them alive.
 * - `PodHistory` records every pod watch event in the order the apiservers sent them (etcd
 *   revision order), so a test can compute what existed at every moment of a rollout.
 */
import { formatRfc3339Micro, type KubeObject } from '../../src/api/index.js';
import { isAlreadyExists, type KubeClient } from '../../src/client/index.js';
import { Informer, isTombstone } from '../../src/client/informer.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

export const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;
const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;
const leasesRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
/** The fast profile's node lease renew interval (DESIGN §4). */
const nodeLeaseRenewMs = 500;

/** What a stand-in kubelet makes of a bound pod's containers. */
export type PodOutcome = 'Running' | 'Succeeded' | 'Failed' | 'Pending';

export interface KubeletStandInOptions {
  readonly client: KubeClient;
  /** Nodes this stand-in registers (Ready) and keeps alive through their kube-node-lease Leases; default `node-a`. */
  readonly nodes?: readonly string[];
  /** The node a pending pod is bound to (the scheduler's decision); default `node-a`. */
  readonly nodeFor?: (pod: KubeObject) => string;
  /** Default: pods owned by a Job succeed, every other pod runs and is Ready. */
  readonly outcome?: (pod: KubeObject) => PodOutcome;
  /** Writes in flight at most (default 8). */
  readonly concurrency?: number;
  /** Retry delay after a failed write (default 200 ms). */
  readonly retryMs?: number;
}

const ownedByJob = (pod: KubeObject) => (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.controller === true);

/** RFC 3339 at second precision, as the apiserver stores times. */
export const nowRfc3339 = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class KubeletStandIn {
  private readonly informer: Informer<KubeObject>;
  private readonly pending = new Set<string>();
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private stopped = false;
  private nextIp = 1;
  /** Writes performed, by kind. */
  readonly stats = { bound: 0, running: 0, succeeded: 0, failed: 0, deleted: 0, errors: 0 };

  constructor(private readonly o: KubeletStandInOptions) {
    this.informer = new Informer<KubeObject>({ client: o.client, resource: podsRef });
    const enqueue = (obj: KubeObject) => this.enqueue(`${obj.metadata!.namespace}/${obj.metadata!.name}`);
    this.informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, obj) => enqueue(obj), onDelete: (obj) => enqueue(isTombstone(obj) ? obj.obj : obj) });
  }

  async start(): Promise<void> {
    for (const name of this.o.nodes ?? ['node-a']) {
      await this.o.client.create(nodesRef, { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })
        .catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
      void this.heartbeat(name);
    }
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
      await sleep(wallClock, nodeLeaseRenewMs);
    }
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
      } else if (spec.nodeName === undefined) {
        await this.o.client.bindPod(ns, name, this.o.nodeFor?.(pod) ?? 'node-a');
        this.stats.bound++;
      } else if (phase === undefined || phase === 'Pending') {
        const outcome = this.o.outcome?.(pod) ?? (ownedByJob(pod) ? 'Succeeded' : 'Running');
        if (outcome === 'Pending') return;
        await this.o.client.updateStatus(podsRef, { ...pod, status: this.statusFor(outcome) });
        if (outcome === 'Running') this.stats.running++;
        else if (outcome === 'Succeeded') this.stats.succeeded++;
        else this.stats.failed++;
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

export type PodEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface PodEvent {
  readonly type: PodEventType;
  readonly atMs: number;
  readonly pod: KubeObject;
  /** Part of the informer's first list (the state when recording began), not a change. */
  readonly initial: boolean;
}

/** Every pod watch event (optionally of one namespace), in the order they arrived. */
export class PodHistory {
  private readonly informer: Informer<KubeObject>;
  readonly events: PodEvent[] = [];

  constructor(client: KubeClient, namespace?: string) {
    this.informer = new Informer<KubeObject>({ client, resource: podsRef, ...(namespace === undefined ? {} : { namespace }) });
    const push = (type: PodEventType, pod: KubeObject, initial = false) => this.events.push({ type, atMs: Date.now(), pod, initial });
    this.informer.addEventHandler({
      onAdd: (pod, initial) => push('ADDED', pod, initial),
      onUpdate: (_, pod) => push('MODIFIED', pod),
      onDelete: (pod) => push('DELETED', isTombstone(pod) ? pod.obj : pod),
    });
  }

  async start(): Promise<void> {
    this.informer.start();
    if (!(await this.informer.waitForSync())) throw new Error('pod history: the informer did not sync');
  }

  stop(): void {
    this.informer.stop();
  }

  /** Relists (410) replace intermediate states by differences: a history with none is complete. */
  get complete(): boolean {
    return this.informer.stats.relistsOnExpired === 0;
  }
}

export const isPodReady = (pod: KubeObject) => ((pod['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [])
  .some((c) => c.type === 'Ready' && c.status === 'True');

export const podImage = (pod: KubeObject) => (pod['spec'] as { containers: { image: string }[] }).containers[0]?.image;

/**
 * Replays a history, calling `observe` with the live pods after each event (in revision order,
 * so each call is one moment of the cluster). Terminating pods (deletionTimestamp set) are
 * passed too; callers decide whether they count. The first list is one moment (observed once,
 * after its last object), not one per object.
 */
export function replay(events: readonly PodEvent[], observe: (live: ReadonlyMap<string, KubeObject>, event: PodEvent | undefined) => void): void {
  const live = new Map<string, KubeObject>();
  let listed = false;
  for (const e of events) {
    if (!e.initial && !listed) {
      listed = true;
      observe(live, undefined);
    }
    const key = `${e.pod.metadata!.namespace}/${e.pod.metadata!.name}`;
    if (e.type === 'DELETED') live.delete(key);
    else live.set(key, e.pod);
    if (!e.initial) observe(live, e);
  }
  if (!listed) observe(live, undefined);
}

/** Polls `probe` every 100 ms until it returns a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(wallClock, 100);
  }
}
