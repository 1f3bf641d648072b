/**
 * The controller-manager's engine (kube-controller-manager's shape): one shared informer per
 * watched kind, kept warm on every instance; the Lease holder runs each registered controller
 * (src/controllers) with its own rate-limited work queue and workers. Watch handlers only map
 * events to keys; `reconcile(key)` reads the caches and returns actions, performed by execute.ts.
 *
 * Fencing (DESIGN §7): leadership lapses renewDeadline after the last successful renew was sent;
 * from that instant no write is sent (every call asks `mayWrite`), the queues shut down and
 * in-flight reconciles finish with their remaining calls refused. Each term is recorded as an
 * active interval, so "at most one active instance at any moment" is checkable from evidence.
 */
import type { KubeObject } from '../../src/api/index.js';
import type { KubeClient } from '../../src/client/client.js';
import { runController, type RunningController } from '../../src/client/controller.js';
import { Informer, isTombstone } from '../../src/client/informer.js';
import { LeaderElector, type LeaderElectionTiming } from '../../src/client/leader-election.js';
import { WorkQueue } from '../../src/client/workqueue.js';
import {
  Expectations, IndexedCacheView, kindKey, mergeIndexers,
  type CacheView, type ControllerDefinition, type KindRef, type WatchEvent,
} from '../../src/controllers/framework/index.js';
import type { ActionCounts } from '../../src/controllers/messages.js';
import { ActiveIntervalLog, type IntervalRecord } from '../../src/client/active-intervals.js';
import type { Clock } from '../../src/primitives/clock.js';
import type { Prng } from '../../src/primitives/prng.js';
import { executeResult, type ActionOutcome } from './execute.js';
import type { CriAsk } from '../../src/cri/kill.js';
import { EventRecorder } from '../../src/client/events.js';

export interface ElectionConfig extends LeaderElectionTiming {
  readonly lease: { readonly namespace: string; readonly name: string };
}

export interface ControllerManagerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly prng: Prng;
  /** The Lease holder identity (`master-1/controller-manager`); also the Events' reporting instance. */
  readonly identity: string;
  readonly controllers: readonly ControllerDefinition[];
  /** Absent: this instance is always active (a single instance, or tests). */
  readonly election?: ElectionConfig;
  readonly onAction?: (controller: string, key: string, outcome: ActionOutcome) => void;
  /** How killContainer actions reach a node's container runtime. */
  readonly cri?: CriAsk;
  readonly onError?: (error: unknown, context: string) => void;
  /** Where terms are recorded (default: in memory). */
  readonly intervals?: ActiveIntervalLog;
  /** The clock terms are recorded on (ActorContext.observerWallNow: one clock for every instance; default clock.wallNow). */
  readonly observerWallNow?: () => number;
}

interface Term {
  readonly id: number;
  readonly running: RunningController[];
  readonly queues: Map<string, WorkQueue<string>>;
  readonly expectations: Map<string, Expectations>;
  /** Leadership valid until (monotonic ms); refreshed on every successful renew. */
  validUntil: () => number;
}

export class ControllerManager {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly view: CacheView;
  private readonly elector: LeaderElector | undefined;
  private readonly events: EventRecorder;
  private term: Term | undefined;
  private terms = 0;
  private readonly intervals: ActiveIntervalLog;

  /** Now on the clock terms are recorded on (one clock for every instance, unskewed). */
  private termNow(): number {
    return (this.o.observerWallNow ?? (() => this.o.clock.wallNow()))();
  }
  private stopped = false;
  private readonly counts = { ok: 0, failed: 0, fenced: 0, skipped: 0 };

  constructor(private readonly o: ControllerManagerOptions) {
    this.intervals = o.intervals ?? new ActiveIntervalLog(o.identity);
    const specs = o.controllers.flatMap((c) => c.watches);
    for (const [key, indexers] of mergeIndexers(specs)) {
      const kind = specs.find((s) => kindKey(s.kind) === key)!.kind;
      const informer = new Informer<KubeObject>({
        client: o.client, resource: kind, indexers,
        onError: (error, context) => o.onError?.(error, `informer ${key}: ${context}`),
      });
      informer.addEventHandler({
        onAdd: (obj) => this.dispatch(kind, { type: 'add', obj }),
        onUpdate: (oldObj, newObj) => this.dispatch(kind, { type: 'update', oldObj, newObj }),
        onDelete: (obj) => this.dispatch(kind, { type: 'delete', obj: isTombstone(obj) ? obj.obj : obj }),
      });
      this.informers.set(key, informer);
    }
    this.view = informerView(this.informers);
    this.events = new EventRecorder({ client: o.client, clock: o.clock, component: 'controller-manager', instance: o.identity,
      mayWrite: () => this.mayWrite(), onError: (e) => o.onError?.(e, 'event') });
    this.elector = o.election === undefined ? undefined : new LeaderElector({
      ...o.election, client: o.client, clock: o.clock, prng: o.prng, identity: o.identity,
      callbacks: { onStartedLeading: () => this.startTerm(), onStoppedLeading: () => void this.endTerm() },
      onError: (e) => o.onError?.(e, 'leader election'),
    });
  }

  start(): void {
    for (const informer of this.informers.values()) informer.start();
    if (this.elector === undefined) this.startTerm();
    else this.elector.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.elector !== undefined) await this.elector.stop();
    await this.endTerm();
    for (const informer of this.informers.values()) informer.stop();
  }

  get active(): boolean {
    return this.term !== undefined;
  }

  /** Every recorded term, the current one open (no endMs); wall-clock ms of this instance's clock. */
  activeIntervals(): IntervalRecord {
    return this.intervals.snapshot();
  }

  /** Calls performed since start, by outcome. */
  actionCounts(): ActionCounts {
    return { ...this.counts };
  }

  leader(): string | undefined {
    return this.elector === undefined ? this.o.identity : this.elector.getLeader();
  }

  /** The fence: true only while this instance leads and its leadership has not lapsed. */
  mayWrite(): boolean {
    const term = this.term;
    if (term === undefined || this.stopped) return false;
    return this.o.clock.now() < term.validUntil();
  }

  private startTerm(): void {
    if (this.term !== undefined || this.stopped) return;
    this.intervals.begin(this.termNow());
    const elector = this.elector;
    const term: Term = {
      id: ++this.terms, running: [], queues: new Map(), expectations: new Map(),
      validUntil: () => (elector === undefined ? Infinity : elector.leadingUntilMs() ?? -Infinity),
    };
    this.term = term;
    for (const def of this.o.controllers) void this.startController(term, def);
  }

  private async startController(term: Term, def: ControllerDefinition): Promise<void> {
    const watched = def.watches.map((w) => this.informers.get(kindKey(w.kind))!);
    // WaitForCacheSync: a controller acting on a partial cache would create what already exists.
    for (const informer of watched) if (!(await informer.waitForSync())) return;
    if (this.term !== term) return;
    const queue = new WorkQueue<string>({ clock: this.o.clock });
    const expectations = new Expectations();
    term.queues.set(def.name, queue);
    term.expectations.set(def.name, expectations);
    term.running.push(runController({
      queue, workers: def.workers,
      reconcile: async (key) => {
        const result = def.reconcile(key, this.view, { nowMs: this.o.clock.wallNow(), expectations });
        const ok = await executeResult(result, {
          client: this.o.client, expectations, nowMs: this.o.clock.wallNow(), mayWrite: () => this.term === term && this.mayWrite(),
          onAction: (outcome) => {
            this.counts[outcome.result]++;
            this.o.onAction?.(def.name, key, outcome);
          },
          recordEvent: (event, name) => this.events.record(event, name),
          ...(this.o.cri === undefined ? {} : { cri: this.o.cri }),
        });
        if (!ok) throw new Error(`${def.name} ${key}: an action failed`);
        return result.requeueAfterMs === undefined ? 'done' : { requeueAfterMs: result.requeueAfterMs };
      },
      onError: (key, error) => this.o.onError?.(error, `${def.name} ${key}`),
    }));
    // Everything cached is looked at once: events seen while standing by were not queued.
    for (const w of def.watches) {
      for (const obj of this.informers.get(kindKey(w.kind))!.list()) this.route(def, w.kind, { type: 'add', obj }, term);
    }
  }

  private async endTerm(): Promise<void> {
    const term = this.term;
    if (term === undefined) return;
    this.term = undefined;
    this.intervals.end(this.termNow());
    await Promise.all(term.running.map((r) => r.stop()));
  }

  private dispatch(kind: KindRef, event: WatchEvent): void {
    const term = this.term;
    if (term === undefined) return;
    for (const def of this.o.controllers) {
      if (def.watches.some((w) => kindKey(w.kind) === kindKey(kind))) this.route(def, kind, event, term);
    }
  }

  private route(def: ControllerDefinition, kind: KindRef, event: WatchEvent, term: Term): void {
    const queue = term.queues.get(def.name);
    const expectations = term.expectations.get(def.name);
    if (queue === undefined || expectations === undefined) return;
    for (const w of def.watches) {
      if (kindKey(w.kind) !== kindKey(kind)) continue;
      const mapped = w.map(event, this.view);
      for (const o of mapped.observed ?? []) expectations.observe(o);
      for (const e of mapped.enqueue) {
        if (e.afterMs === undefined || e.afterMs <= 0) queue.add(e.key);
        else queue.addAfter(e.key, e.afterMs);
      }
    }
  }
}

/** The CacheView controllers read: the informers' caches. */
function informerView(informers: ReadonlyMap<string, Informer<KubeObject>>): CacheView {
  const sources = new Map([...informers].map(([key, informer]) => [key, {
    get: (k: string) => informer.getByKey(k),
    values: () => informer.list(),
    byIndex: (name: string, value: string) => informer.byIndex(name, value),
  }] as const));
  return new IndexedCacheView(sources, (kind) => informers.get(kindKey(kind))?.hasSynced() ?? false);
}
