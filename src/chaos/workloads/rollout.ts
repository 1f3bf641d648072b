/**
 * The rollout workload: every `everyMs` it sets the next image of a Deployment's container, as
 * `kubectl set image deployment/NAME CONTAINER=IMAGE` does (a strategic-merge PATCH of the pod
 * template), and records each set as a history write of key `rollout:<namespace>/<name>`. After the
 * run, `converged` says whether the Deployment ended on the last image it acknowledged, every
 * replica updated and available (the rollout finished despite the faults).
 */
import type { KubeClient } from '../../client/index.js';
import type { KubeObject } from '../../api/index.js';
import type { CheckResult, HistoryOp } from '../check/index.js';

const DEPLOYMENTS = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;
const MAX_OPS = 100_000;
const POLL_MS = 250;

export interface RolloutWorkloadOptions {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** The container whose image changes (default the template's first). */
  readonly container?: string;
  /** Set in turn, from the first; at least two. */
  readonly images: readonly string[];
  readonly everyMs: number;
  /** The history's time origin (as the other workloads'). */
  readonly began: number;
}

interface DeploymentView {
  readonly generation: number;
  readonly observedGeneration: number;
  readonly replicas: number;
  readonly updated: number;
  readonly available: number;
  readonly total: number;
  readonly image: string | undefined;
}

function view(d: KubeObject, container: string | undefined): DeploymentView {
  const spec = d['spec'] as { replicas?: number; template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined;
  const status = (d['status'] ?? {}) as { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number };
  const containers = spec?.template?.spec?.containers ?? [];
  return {
    generation: (d.metadata as { generation?: number } | undefined)?.generation ?? 0, observedGeneration: status.observedGeneration ?? 0,
    replicas: spec?.replicas ?? 1, updated: status.updatedReplicas ?? 0, available: status.availableReplicas ?? 0, total: status.replicas ?? 0,
    image: (container === undefined ? containers[0] : containers.find((c) => c.name === container))?.image,
  };
}

export class RolloutWorkload {
  readonly history: HistoryOp[] = [];
  private running = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastAcked: string | undefined;

  constructor(private readonly o: RolloutWorkloadOptions) {
    if (o.images.length < 2) throw new Error(`a rollout needs at least two images to switch between, got ${o.images.length}`);
  }

  private get key(): string {
    return `rollout:${this.o.namespace}/${this.o.name}`;
  }

  private now(): number {
    return performance.now() - this.o.began;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const container = this.o.container ?? (await this.firstContainer());
    for (let i = 1; this.running && this.history.length < MAX_OPS; i++) {
      await new Promise<void>((resolve) => { const timer = setTimeout(resolve, this.o.everyMs); this.wake = () => { clearTimeout(timer); resolve(); }; });
      if (!this.running) break;
      await this.setImage(container, this.o.images[i % this.o.images.length]!);
    }
  }

  private async firstContainer(): Promise<string | undefined> {
    const d = await this.o.kube.get(DEPLOYMENTS, this.o.namespace, this.o.name).catch(() => undefined);
    return (d?.['spec'] as { template?: { spec?: { containers?: { name: string }[] } } } | undefined)?.template?.spec?.containers?.[0]?.name;
  }

  private async setImage(container: string | undefined, image: string): Promise<void> {
    const process = `rollout-${this.o.name}`;
    this.history.push({ process, type: 'invoke', f: 'write', key: this.key, value: image, time: this.now() });
    if (container === undefined) {
      this.history.push({ process, type: 'fail', f: 'write', key: this.key, value: image, time: this.now(), error: `deployment ${this.o.namespace}/${this.o.name} (or its container) could not be read` });
      return;
    }
    try {
      await this.o.kube.patch(DEPLOYMENTS, this.o.namespace, this.o.name, { spec: { template: { spec: { containers: [{ name: container, image }] } } } }, { type: 'strategic' });
      this.lastAcked = image;
      this.history.push({ process, type: 'ok', f: 'write', key: this.key, value: image, time: this.now() });
    } catch (error) {
      // A timeout may still have taken effect: indeterminate (info), as the checkers expect.
      const message = error instanceof Error ? error.message : String(error);
      const type = /timed out|timeout|ECONNRESET|socket hang up/i.test(message) ? 'info' : 'fail';
      this.history.push({ process, type, f: 'write', key: this.key, value: image, time: this.now(), error: message });
    }
  }

  /** Waits up to `withinMs` for the Deployment to run its last acknowledged image on every replica, available. */
  async converged(withinMs: number): Promise<CheckResult> {
    const name = `rollout-converged ${this.o.namespace}/${this.o.name}`;
    const acked = this.history.filter((op) => op.type === 'ok').length;
    if (this.lastAcked === undefined) return { name, status: 'unknown', detail: `no image set was acknowledged (${this.history.filter((op) => op.type === 'invoke').length} tried), so there is no rollout to check` };
    const deadline = performance.now() + withinMs;
    let last: DeploymentView | undefined;
    for (;;) {
      const d = await this.o.kube.get(DEPLOYMENTS, this.o.namespace, this.o.name).catch(() => undefined);
      if (d !== undefined) last = view(d, this.o.container);
      // Another writer's image (or an indeterminate set that landed later) is fine if it is what runs everywhere.
      const done = last !== undefined && last.observedGeneration >= last.generation && last.updated === last.replicas && last.available === last.replicas && last.total === last.replicas;
      if (done) {
        const image = last!.image;
        return image === this.lastAcked || this.history.some((op) => op.type === 'info' && op.value === image)
          ? { name, status: 'pass', detail: `${acked} image sets acknowledged; all ${last!.replicas} replicas run ${image}, updated and available` }
          : { name, status: 'fail', detail: `the rollout finished on ${image}, but the last acknowledged set was ${this.lastAcked} (no later set was indeterminate)` };
      }
      if (performance.now() > deadline) {
        return { name, status: 'fail', detail: `not converged within ${withinMs} ms of the check: ${last === undefined ? 'the Deployment could not be read' : `generation ${last.generation} observed ${last.observedGeneration}, ${last.updated}/${last.replicas} updated, ${last.available} available, ${last.total} pods, image ${last.image}`}` };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
