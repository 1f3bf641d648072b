/**
 * Convergence harness: the real ApiServerCore over LocalKv under a VirtualClock, with a tiny
 * controller-manager stand-in that does what the shell will do — keep caches (re-listed after
 * every round, the difference turned into watch events), map events to keys and expectation
 * observations, reconcile every queued key, set expectations, and perform the action steps
 * through a KubeClient with their execution semantics. A kubelet stand-in binds pods to nodes,
 * marks them Running and Ready, and finishes graceful deletions.
 */
import { ApiServerCore } from '../../src/apiserver/core.js';
import { deepEqual, formatRfc3339, type KubeObject } from '../../src/api/index.js';
import { deepFreeze, IndexedCache, objectKey } from '../../src/client/cache.js';
import { KubeClient } from '../../src/client/client.js';
import { executeResult } from '../../actors/controller-manager/execute.js';
import { LocalKv } from '../../src/client/local-kv.js';
import {
  Expectations, IndexedCacheView, kindKey, mergeIndexers,
  type ApiAction, type ControllerDefinition, type KindRef, type ReconcileResult, type WatchEvent,
} from '../../src/controllers/framework/index.js';
import { daemonPodNode } from '../../src/controllers/daemonset.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';

export interface ActionLog {
  readonly controller: string;
  readonly key: string;
  readonly action: ApiAction;
  readonly ok: boolean;
  readonly error?: string;
  /** Wall-clock ms when performed. */
  readonly atMs: number;
}

interface ControllerState {
  readonly def: ControllerDefinition;
  readonly expectations: Expectations;
  /** key → due time (virtual ms); 0 means now. */
  readonly queue: Map<string, number>;
}

export class Sim {
  readonly clock = new VirtualClock();
  readonly kv = new LocalKv({ clock: this.clock });
  readonly core = new ApiServerCore({ kv: this.kv, clock: this.clock, prng: new SeededPrng(11) });
  readonly client = new KubeClient({ transport: this.core, clock: this.clock });
  readonly log: ActionLog[] = [];
  private readonly controllers: ControllerState[];
  private readonly caches = new Map<string, IndexedCache<KubeObject>>();
  private readonly kindsByKey = new Map<string, KindRef>();
  readonly view: IndexedCacheView;
  /** Called after every round with the fresh cache (invariant checks). */
  onRound: ((sim: Sim) => void) | undefined;

  constructor(defs: readonly ControllerDefinition[], extraKinds: readonly KindRef[] = []) {
    this.controllers = defs.map((def) => ({ def, expectations: new Expectations(), queue: new Map() }));
    const specs = [...defs.flatMap((d) => d.watches), ...extraKinds.map((kind) => ({ kind }))];
    for (const [k, idx] of mergeIndexers(specs)) this.caches.set(k, new IndexedCache<KubeObject>(idx));
    for (const s of specs) this.kindsByKey.set(kindKey(s.kind), s.kind);
    this.view = new IndexedCacheView(this.caches);
  }

  static async start(defs: readonly ControllerDefinition[], extraKinds: readonly KindRef[] = []): Promise<Sim> {
    const sim = new Sim(defs, extraKinds);
    await sim.core.start();
    await sim.refresh();
    return sim;
  }

  get nowMs(): number {
    return this.clock.wallNow();
  }

  expectationsOf(name: string): Expectations {
    const c = this.controllers.find((x) => x.def.name === name);
    if (c === undefined) throw new Error(`no controller ${name}`);
    return c.expectations;
  }

  list(kind: KindRef, namespace?: string): readonly KubeObject[] {
    return this.view.list(kind, namespace);
  }

  /** Re-lists every kind; differences become watch events for the controllers. */
  async refresh(): Promise<void> {
    for (const [k, cache] of this.caches) {
      const kind = this.kindsByKey.get(k)!;
      const list = await this.client.list(kind);
      const seen = new Set<string>();
      for (const item of list.items) {
        const obj = deepFreeze({ ...item, apiVersion: kind.apiVersion, kind: kind.kind }) as KubeObject;
        const key = objectKey(obj);
        seen.add(key);
        const old = cache.get(key);
        if (old !== undefined && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
        cache.set(key, obj);
        this.dispatch(kind, old === undefined ? { type: 'add', obj } : { type: 'update', oldObj: old, newObj: obj });
      }
      for (const key of cache.keys()) {
        if (seen.has(key)) continue;
        const old = cache.delete(key)!;
        this.dispatch(kind, { type: 'delete', obj: old });
      }
    }
  }

  private dispatch(kind: KindRef, event: WatchEvent): void {
    for (const c of this.controllers) {
      for (const w of c.def.watches) {
        if (kindKey(w.kind) !== kindKey(kind)) continue;
        const m = w.map(event, this.view);
        for (const o of m.observed ?? []) c.expectations.observe(o);
        for (const e of m.enqueue) this.enqueue(c, e.key, e.afterMs ?? 0);
      }
    }
  }

  private enqueue(c: ControllerState, key: string, afterMs: number): void {
    const due = this.clock.now() + afterMs;
    const cur = c.queue.get(key);
    if (cur === undefined || due < cur) c.queue.set(key, due);
  }

  /** One round: every due key of every controller reconciled once and its actions performed. */
  async round(): Promise<number> {
    let performed = 0;
    for (const c of this.controllers) {
      const due = [...c.queue].filter(([, at]) => at <= this.clock.now()).map(([k]) => k).sort();
      for (const key of due) {
        c.queue.delete(key);
        const result = c.def.reconcile(key, this.view, { nowMs: this.nowMs, expectations: c.expectations });
        performed += await this.perform(c, key, result);
      }
    }
    await this.refresh();
    this.onRound?.(this);
    return performed;
  }

  /** Rounds until nothing is due and a round performs nothing; throws after `maxRounds`. */
  async settle(maxRounds = 200, kubelet?: Kubelet): Promise<number> {
    for (let i = 0; i < maxRounds; i++) {
      const kubeletActs = kubelet === undefined ? 0 : await kubelet.tick();
      if (kubeletActs > 0) await this.refresh();
      const n = await this.round();
      const anyDue = this.controllers.some((c) => [...c.queue.values()].some((at) => at <= this.clock.now()));
      if (n === 0 && kubeletActs === 0 && !anyDue) return i;
    }
    throw new Error(`not stable after ${maxRounds} rounds`);
  }

  /** Moves virtual time on (delayed keys become due). */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  private async perform(c: ControllerState, key: string, result: ReconcileResult): Promise<number> {
    let count = 0;
    const ok = await executeResult(result, {
      client: this.client, expectations: c.expectations, nowMs: this.nowMs, mayWrite: () => true,
      onAction: (o) => {
        if (o.result === 'fenced') throw new Error('the Sim never fences');
        count++;
        this.log.push({
          controller: c.def.name, key, action: o.action, ok: o.result !== 'failed', atMs: this.nowMs,
          ...(o.result === 'skipped' ? { error: 'skipped: still present' } : o.result === 'failed' ? { error: String(o.error) } : {}),
        });
      },
    });
    if (!ok) this.enqueue(c, key, 5);
    else if (result.requeueAfterMs !== undefined) this.enqueue(c, key, result.requeueAfterMs);
    return count;
  }
}

/**
 * The kubelet stand-in: binds unassigned pods round-robin to `nodes`, then each tick moves a pod
 * one step (Pending → Running+Ready) and removes terminating pods (delete with grace 0).
 * `hold` keeps a pod from becoming ready (a stuck rollout).
 */
export class Kubelet {
  private next = 0;
  hold: (pod: KubeObject) => boolean = () => false;
  /** A running pod's end, if it should end (Job pods). */
  finish: (pod: KubeObject) => 'Succeeded' | 'Failed' | undefined = () => undefined;
  /** At most this many pods change per tick (a slow kubelet makes rollouts take several steps). */
  perTick = Number.POSITIVE_INFINITY;

  constructor(private readonly sim: Sim, private readonly nodes: readonly string[] = ['node-a', 'node-b', 'node-c']) {}

  async tick(): Promise<number> {
    let acts = 0;
    const pods = this.sim.list({ apiVersion: 'v1', kind: 'Pod' });
    for (const pod of pods) {
      if (acts >= this.perTick) break;
      const ns = pod.metadata!.namespace!;
      const name = pod.metadata!.name!;
      const spec = pod['spec'] as Record<string, unknown>;
      if (pod.metadata?.deletionTimestamp !== undefined) {
        await this.sim.client.delete({ apiVersion: 'v1', kind: 'Pod' }, ns, name, { gracePeriodSeconds: 0 }).catch(() => undefined);
        acts++;
      } else if (spec['nodeName'] === undefined) {
        // Acting as the scheduler too: a pod pinned by node affinity on metadata.name goes there.
        const pinned = daemonPodNode(pod);
        await this.sim.client.bindPod(ns, name, pinned ?? this.nodes[this.next++ % this.nodes.length]!);
        acts++;
      } else if (deepEqual((pod['status'] as Record<string, unknown> | undefined)?.['phase'], 'Running') && this.finish(pod) !== undefined) {
        const t = formatRfc3339(this.sim.nowMs);
        const fresh = await this.sim.client.get({ apiVersion: 'v1', kind: 'Pod' }, ns, name);
        const status = { phase: this.finish(pod), conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t }], containerStatuses: [{ name: 'c', ready: false, restartCount: 0, state: { terminated: { exitCode: this.finish(pod) === 'Succeeded' ? 0 : 1, finishedAt: t } } }] };
        await this.sim.client.updateStatus({ apiVersion: 'v1', kind: 'Pod' }, { ...fresh, status });
        acts++;
      } else if (!this.hold(pod) && (pod['status'] as Record<string, unknown> | undefined)?.['phase'] === undefined || (!this.hold(pod) && deepEqual((pod['status'] as Record<string, unknown> | undefined)?.['phase'], 'Pending'))) {
        const t = formatRfc3339(this.sim.nowMs);
        const status = {
          phase: 'Running', podIP: '127.244.0.1', startTime: t,
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }, { type: 'ContainersReady', status: 'True', lastTransitionTime: t }],
        };
        const fresh = await this.sim.client.get({ apiVersion: 'v1', kind: 'Pod' }, ns, name);
        await this.sim.client.updateStatus({ apiVersion: 'v1', kind: 'Pod' }, { ...fresh, status });
        acts++;
      }
    }
    return acts;
  }
}
