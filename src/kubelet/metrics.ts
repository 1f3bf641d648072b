/**
 * Resource metrics: what metrics-server does for a real cluster, done by each kubelet for its own
 * node. Every resolution period it reads the runtime's container stats (cumulative CPU time and
 * working set), turns two samples into a CPU rate, and writes `metrics.k8s.io/v1beta1` PodMetrics
 * for its running pods and NodeMetrics for its node, in metrics-server's units (CPU in nanocores,
 * memory in Ki). `kubectl top` and the HPA then read real figures through the API. PodMetrics of
 * a pod that stopped running here are deleted. Writes are unconditional updates (no
 * resourceVersion: the newest sample wins), created on first sight.
 */
import type { KubeObject } from '../api/types.js';
import type { KubeClient } from '../client/client.js';
import { isNotFound } from '../client/errors.js';
import type { ContainerStats, ContainerStatus } from '../cri/messages.js';
import type { Clock } from '../primitives/clock.js';
import { criLabels } from './pod-actions.js';
import type { RuntimeService } from './services.js';

const podMetricsRef = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' } as const;
const nodeMetricsRef = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics' } as const;

/** Samples kept per container: the previous one, to take a rate against. */
interface Sample {
  readonly timestampMs: number;
  readonly cpuCoreNanoSeconds: number;
}

export interface ContainerUsage {
  readonly name: string;
  readonly cpuNanoCores: number;
  readonly memoryBytes: number;
}

/** CPU rate between two cumulative samples, in nanocores; undefined without a usable earlier sample. */
function cpuNanoCores(before: Sample | undefined, now: Sample): number | undefined {
  if (before === undefined || now.timestampMs <= before.timestampMs) return undefined;
  const used = now.cpuCoreNanoSeconds - before.cpuCoreNanoSeconds;
  if (used < 0) return undefined; // a restarted container's counter: start over
  return Math.round((used / (now.timestampMs - before.timestampMs)) * 1_000);
}

const formatCpu = (nanoCores: number): string => `${Math.max(0, Math.round(nanoCores))}n`;
const formatMemory = (bytes: number): string => `${Math.max(0, Math.round(bytes / 1024))}Ki`;

export interface ResourceMetricsOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly runtime: RuntimeService;
  readonly nodeName: string;
  /** The pods bound to this node (the kubelet's informer). */
  readonly pods: () => readonly KubeObject[];
  readonly resolutionMs: number;
  readonly mayWrite: () => boolean;
}

export class ResourceMetrics {
  private readonly samples = new Map<string, Sample>();
  /** "namespace/name" of the PodMetrics this kubelet wrote and has not deleted. */
  private readonly published = new Set<string>();

  constructor(private readonly o: ResourceMetricsOptions) {}

  /** One round: sample the runtime, write what has a rate, delete what stopped. */
  async publish(): Promise<void> {
    const [listed, stats] = await Promise.all([
      this.o.runtime.call({ type: 'listContainers' }),
      this.o.runtime.call({ type: 'listContainerStats' }),
    ]);
    const { usage, runningPodUids } = this.usageByPod(listed.containers, stats.stats);
    const windowS = `${Math.round(this.o.resolutionMs / 1000)}s`;
    const timestamp = new Date(this.o.clock.wallNow()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const running = new Set<string>();
    for (const pod of this.o.pods()) {
      const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
      if (!runningPodUids.has(pod.metadata?.uid ?? '')) continue;
      running.add(key);
      // A container seen for the first time (or restarted) has no rate yet: keep last round's figures.
      const containers = usage.get(pod.metadata?.uid ?? '');
      if (containers === undefined) continue;
      if (!this.o.mayWrite()) return;
      await this.write(podMetricsRef, pod.metadata!.namespace, {
        apiVersion: podMetricsRef.apiVersion, kind: podMetricsRef.kind,
        metadata: { name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, labels: { ...(pod.metadata?.labels ?? {}) } },
        timestamp, window: windowS,
        containers: containers.map((c) => ({ name: c.name, usage: { cpu: formatCpu(c.cpuNanoCores), memory: formatMemory(c.memoryBytes) } })),
      });
      this.published.add(key);
    }
    await this.deleteGone(running);
    if (!this.o.mayWrite()) return;
    const all = [...usage.values()].flat();
    await this.write(nodeMetricsRef, undefined, {
      apiVersion: nodeMetricsRef.apiVersion, kind: nodeMetricsRef.kind,
      metadata: { name: this.o.nodeName, labels: {} }, timestamp, window: windowS,
      usage: { cpu: formatCpu(all.reduce((n, c) => n + c.cpuNanoCores, 0)), memory: formatMemory(all.reduce((n, c) => n + c.memoryBytes, 0)) },
    });
  }

  /** Running containers with a rate, grouped by pod uid, and the pods with any running container; remembers this round's samples. */
  private usageByPod(containers: readonly ContainerStatus[], stats: readonly ContainerStats[]): { usage: Map<string, ContainerUsage[]>; runningPodUids: Set<string> } {
    const byId = new Map(stats.map((s) => [s.containerId, s]));
    const out = new Map<string, ContainerUsage[]>();
    const runningPodUids = new Set<string>();
    const seen = new Set<string>();
    for (const c of containers) {
      const s = byId.get(c.id);
      if (c.state !== 'CONTAINER_RUNNING' || s === undefined) continue;
      seen.add(c.id);
      const uid = c.labels[criLabels.podUid] ?? '';
      runningPodUids.add(uid);
      const now = { timestampMs: s.timestampMs, cpuCoreNanoSeconds: s.cpuUsageCoreNanoSeconds };
      const rate = cpuNanoCores(this.samples.get(c.id), now);
      this.samples.set(c.id, now);
      if (rate === undefined) continue;
      const list = out.get(uid) ?? [];
      list.push({ name: c.labels[criLabels.containerName] ?? c.metadata.name, cpuNanoCores: rate, memoryBytes: s.memoryWorkingSetBytes });
      out.set(uid, list);
    }
    for (const id of [...this.samples.keys()]) if (!seen.has(id)) this.samples.delete(id);
    return { usage: out, runningPodUids };
  }

  private async deleteGone(running: ReadonlySet<string>): Promise<void> {
    for (const key of [...this.published]) {
      if (running.has(key) || !this.o.mayWrite()) continue;
      const [namespace, name] = key.split('/') as [string, string];
      try {
        await this.o.client.delete(podMetricsRef, namespace, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      this.published.delete(key);
    }
  }

  private async write(ref: typeof podMetricsRef | typeof nodeMetricsRef, namespace: string | undefined, obj: KubeObject): Promise<void> {
    try {
      await this.o.client.update(ref, obj);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.o.client.create(ref, obj, namespace === undefined ? {} : { namespace });
    }
  }
}
