/**
 * Pod watch histories for the cluster tests: `PodHistory` records every pod watch event in the
 * order the apiservers sent them (etcd revision order), so a test can compute what existed at
 * every moment of a rollout; plus small pod predicates and a polling `until`.
 */
import type { KubeObject } from '../../src/api/index.js';
import type { KubeClient } from '../../src/client/index.js';
import { Informer, isTombstone } from '../../src/client/informer.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';
import { podsRef } from '../../tools/bench/kubelet-stand-in.js';

type PodEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

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
