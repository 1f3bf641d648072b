/**
 * The scheduler engine (upstream pkg/scheduler: Scheduler, eventhandlers.go, schedule_one.go):
 * shared informers for pods, nodes, namespaces and PodDisruptionBudgets, kept warm on every
 * instance and fed into the pure core (queue, cache, profiles); the Lease holder pops pods, runs
 * one scheduling cycle each on a fresh snapshot and performs the binding cycle asynchronously
 * through `pods/binding`, so the next cycle starts while the binding is on the wire (the pod is
 * assumed in the cache meanwhile, as upstream).
 *
 * Fencing (DESIGN §7, as the controller-manager): leadership lapses renewDeadline after the last
 * successful renew was sent, and from that instant no binding, status patch, preemption or Event
 * is sent. Each term is recorded as an active interval. A new term starts only when the pod cache
 * has caught up with a quorum read made after winning the Lease, so pods the previous leader bound
 * are counted before this one places any (no node over-committed across a failover).
 *
 * Time comes from the injected clock (timers, backoff), randomness from the injected PRNG (ties).
 * Used by the scheduler actor on each master, and directly by a program that runs its own
 * scheduler (a second schedulerName) against a cluster through a KubeClient.
 */
import { formatRfc3339, type JsonObject, type KubeObject } from '../api/index.js';
import { ActiveIntervalLog, type IntervalRecord } from '../client/active-intervals.js';
import type { KubeClient } from '../client/client.js';
import { isConflict, isNotFound } from '../client/errors.js';
import { EventRecorder, type EventRecord } from '../client/events.js';
import { Informer, isTombstone } from '../client/informer.js';
import { LeaderElector, type LeaderElectionTiming } from '../client/leader-election.js';
import { assert } from '../primitives/assert.js';
import { sleep, type Clock, type TimerId } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import { SchedulerCache, Snapshot } from './cache.js';
import { buildProfiles, defaultSchedulerConfiguration, queueOptionsFor, type ConfigResult, type SchedulerConfiguration } from './config.js';
import { DecisionLog } from './explain.js';
import { WaitingPods, type CycleState, type Decision, type PdbInfo, type PodInfo, type Profile, type Registry, type Status } from './framework.js';
import { newPodInfo, pdbInfo } from './podinfo.js';
import { inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue, type PodLocation, type QueuedPodInfo } from './queue.js';

export const schedulerLease = { namespace: 'kube-system', name: 'kube-scheduler' } as const;

const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;
const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;
const namespacesRef = { apiVersion: 'v1', kind: 'Namespace' } as const;
const pdbsRef = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' } as const;

/** Scheduling cycles per turn of the event loop: informer events and replies get in between. */
const maxCyclesPerTurn = 256;
/** A turn also ends after this long (wall clock), whatever the count. */
const maxTurnMs = 20;
/**
 * Pod status patches (PodScheduled=False, nominatedNodeName) in flight at most; the rest wait,
 * latest per pod. Few: thousands of rejected pods must not crowd out the Lease renewals and
 * bindings on the same apiservers (kube-scheduler's client is rate-limited for the same reason).
 */
const maxStatusWritesInFlight = 4;
/** Pods per page of a new leader's catch-up list (client-go's default page size). */
const catchUpPageSize = 500;
/** A new leader's catch-up list is retried after this long when it fails. */
const catchUpRetryMs = 50;

export interface SchedulerElection extends LeaderElectionTiming {
  /** Default kube-system/kube-scheduler; a second scheduler takes its own. */
  readonly lease?: { readonly namespace: string; readonly name: string };
}

export interface SchedulerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly prng: Prng;
  /** The Lease holder identity (`master-1/scheduler`); also the Events' reporting instance. */
  readonly identity: string;
  /** The default configuration (profile default-scheduler, upstream's plugins) when absent. */
  readonly config?: SchedulerConfiguration;
  /** Out-of-tree plugins, merged with the built-in ones: a user's plugin runs like a built-in one. */
  readonly registry?: Registry;
  /** Absent: always active (a single instance, tests, a user's own scheduler). */
  readonly election?: SchedulerElection;
  /** Scales pod backoff and the unschedulable pool's maximum stay (the `fast` profile's 0.1). */
  readonly backoffScale?: number;
  /** Bindings on the wire at most; scheduling pauses while this many are (default 256). */
  readonly maxBindingsInFlight?: number;
  readonly onError?: (error: unknown, where: string) => void;
  /** Where terms are recorded (default: in memory). */
  readonly intervals?: ActiveIntervalLog;
  /** The clock terms are recorded on (ActorContext.observerWallNow: one clock for every instance; default clock.wallNow). */
  readonly observerWallNow?: () => number;
  /** Broken on purpose (a chaos sabotage): do not assume a pod onto its node before its binding is confirmed. */
  readonly unsafeSkipAssume?: boolean;
}

export interface SchedulerCounts {
  /** Scheduling cycles run. */
  readonly attempts: number;
  /** Bindings the apiserver accepted. */
  readonly bound: number;
  readonly unschedulable: number;
  readonly errors: number;
  /** Bindings refused or failed (the pod went back to the queue). */
  readonly bindingFailures: number;
  /** Writes not sent: leadership had lapsed (the fence). */
  readonly fenced: number;
  /** Pods deleted as preemption victims. */
  readonly preempted: number;
}

export interface SchedulerStatusView {
  readonly identity: string;
  readonly active: boolean;
  readonly leader?: string;
  readonly profiles: readonly string[];
  readonly intervals: IntervalRecord;
  readonly counts: SchedulerCounts;
  readonly queue: Readonly<Record<PodLocation, number>>;
  readonly bindingsInFlight: number;
  /** How long the latest term start waited for its catch-up list (ms; absent before the first term). */
  readonly lastCatchUpMs?: number;
  readonly nodes: number;
  readonly eventsDropped: number;
}

interface Term { readonly id: number; readonly validUntil: () => number }
interface Parked { readonly info: QueuedPodInfo; readonly profile: Profile; readonly state: CycleState; readonly nodeName: string }

const isAssigned = (pod: KubeObject): boolean => {
  const spec = pod['spec'] as { nodeName?: unknown } | undefined;
  return typeof spec?.nodeName === 'string' && spec.nodeName !== '';
};
const isTerminating = (pod: KubeObject): boolean => pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
const podRef = (p: PodInfo): EventRecord['involvedObject'] => ({ apiVersion: 'v1', kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid });

export class Scheduler {
  private readonly profiles: ReadonlyMap<string, Profile>;
  private readonly queue: SchedulingQueue;
  private readonly cache = new SchedulerCache(0);
  private readonly snapshot = new Snapshot();
  private readonly waitingPods: WaitingPods;
  private readonly parked = new Map<string, Parked>();
  private readonly decisions = new DecisionLog();
  private readonly pods: Informer<KubeObject>;
  private readonly nodes: Informer<KubeObject>;
  private readonly namespaces: Informer<KubeObject>;
  private readonly pdbs: Informer<KubeObject>;
  private pdbList: PdbInfo[] | undefined;
  private readonly elector: LeaderElector | undefined;
  /** One recorder per profile: an Event's reporting component is the pod's scheduler name, as upstream. */
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly intervals: ActiveIntervalLog;

  /** Now on the clock terms are recorded on (one clock for every instance, unskewed). */
  private termNow(): number {
    return (this.o.observerWallNow ?? (() => this.o.clock.wallNow()))();
  }
  private term: Term | undefined;
  /** A term being started (caches syncing, catching up); cleared when leadership is lost first. */
  private starting: Term | undefined;
  private terms = 0;
  /** How long the latest term's catch-up list took: part of every failover. */
  private lastCatchUpMs: number | undefined;
  private stopped = false;
  private turnScheduled = false;
  private wakeTimer: { readonly id: TimerId; readonly atMs: number } | undefined;
  private bindingsInFlight = 0;
  private readonly maxBindingsInFlight: number;
  private readonly statusWrites = new Map<string, { readonly pod: PodInfo; readonly patch: JsonObject }>();
  private statusWritesInFlight = 0;
  private readonly counts = { attempts: 0, bound: 0, unschedulable: 0, errors: 0, bindingFailures: 0, fenced: 0, preempted: 0 };

  /** Builds the profiles first: an unknown plugin or bad args is refused here, with every problem named. */
  static create(options: SchedulerOptions): ConfigResult<Scheduler> {
    const config = options.config ?? defaultSchedulerConfiguration();
    const waitingPods = new WaitingPods();
    const registry = options.registry === undefined ? inTreeRegistry() : inTreeRegistry().merge(options.registry);
    const built = buildProfiles(config, { prng: options.prng, waitingPods, registry });
    if (!built.ok) return built;
    return { ok: true, value: new Scheduler(options, config, built.value, waitingPods) };
  }

  private constructor(private readonly o: SchedulerOptions, config: SchedulerConfiguration, profiles: Map<string, Profile>, waitingPods: WaitingPods) {
    this.profiles = profiles;
    this.waitingPods = waitingPods;
    this.queue = new SchedulingQueue(queueOptionsFor(config, profiles, o.backoffScale ?? 1));
    this.maxBindingsInFlight = o.maxBindingsInFlight ?? 256;
    assert(this.maxBindingsInFlight > 0, 'maxBindingsInFlight must be positive');
    this.intervals = o.intervals ?? new ActiveIntervalLog(o.identity);
    const onError = (what: string) => (error: unknown, context: string) => o.onError?.(error, `informer ${what}: ${context}`);
    // Terminal pods hold no resources: upstream's informer leaves them out the same way.
    this.pods = new Informer({ client: o.client, resource: podsRef, fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', onError: onError('pods') });
    this.nodes = new Informer({ client: o.client, resource: nodesRef, onError: onError('nodes') });
    this.namespaces = new Informer({ client: o.client, resource: namespacesRef, onError: onError('namespaces') });
    this.pdbs = new Informer({ client: o.client, resource: pdbsRef, onError: onError('poddisruptionbudgets') });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (oldPod, newPod) => this.podUpdated(oldPod, newPod),
      onDelete: (pod) => this.podDeleted(isTombstone(pod) ? pod.obj : pod),
    });
    this.nodes.addEventHandler({
      onAdd: (node) => this.clusterEvent(() => this.cache.addNode(node), { kind: 'NodeAdd', obj: node }),
      onUpdate: (old, node) => this.clusterEvent(() => this.cache.updateNode(node), { kind: 'NodeUpdate', old, obj: node }),
      onDelete: (node) => {
        const obj = isTombstone(node) ? node.obj : node;
        this.clusterEvent(() => this.cache.removeNode(obj.metadata?.name ?? ''), { kind: 'NodeDelete', old: obj });
      },
    });
    const namespaceChanged = (ns: KubeObject, gone: boolean) => this.cache.setNamespace(ns.metadata?.name ?? '', gone ? undefined : ns.metadata?.labels ?? {});
    this.namespaces.addEventHandler({
      onAdd: (ns) => namespaceChanged(ns, false),
      onUpdate: (_old, ns) => namespaceChanged(ns, false),
      onDelete: (ns) => namespaceChanged(isTombstone(ns) ? ns.obj : ns, true),
    });
    const pdbsChanged = () => { this.pdbList = undefined; };
    this.pdbs.addEventHandler({ onAdd: pdbsChanged, onUpdate: pdbsChanged, onDelete: pdbsChanged });
    for (const name of profiles.keys()) {
      this.recorders.set(name, new EventRecorder({
        client: o.client, clock: o.clock, component: name, instance: o.identity,
        mayWrite: () => this.mayWrite(), onError: (e) => o.onError?.(e, 'event'),
      }));
    }
    this.elector = o.election === undefined ? undefined : new LeaderElector({
      ...o.election, lease: o.election.lease ?? schedulerLease, client: o.client, clock: o.clock, prng: o.prng, identity: o.identity,
      callbacks: { onStartedLeading: () => void this.startTerm(), onStoppedLeading: () => this.endTerm() },
      onError: (e) => o.onError?.(e, 'leader election'),
    });
  }

  start(): void {
    for (const informer of this.informers()) informer.start();
    if (this.elector === undefined) void this.startTerm();
    else this.elector.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.elector !== undefined) await this.elector.stop();
    this.endTerm();
    for (const informer of this.informers()) informer.stop();
    if (this.wakeTimer !== undefined) this.o.clock.clearTimer(this.wakeTimer.id);
  }

  get active(): boolean {
    return this.term !== undefined;
  }

  /** The fence: true only while this instance leads and its leadership has not lapsed. */
  mayWrite(): boolean {
    const term = this.term;
    return term !== undefined && !this.stopped && this.o.clock.now() < term.validUntil();
  }

  leader(): string | undefined {
    return this.elector === undefined ? this.o.identity : this.elector.getLeader();
  }

  /** The last scheduling decision for "namespace/name" (its latest attempt while pending). */
  explain(podKey: string): Decision | undefined {
    return this.decisions.latest(podKey);
  }

  status(): SchedulerStatusView {
    const leader = this.leader();
    return {
      identity: this.o.identity, active: this.active, ...(leader === undefined ? {} : { leader }),
      profiles: [...this.profiles.keys()], intervals: this.intervals.snapshot(), counts: { ...this.counts },
      queue: this.queue.sizes(), bindingsInFlight: this.bindingsInFlight, ...(this.lastCatchUpMs === undefined ? {} : { lastCatchUpMs: this.lastCatchUpMs }), nodes: this.cache.nodeCount(), eventsDropped: [...this.recorders.values()].reduce((n, r) => n + r.dropped, 0),
    };
  }

  private recordEvent(schedulerName: string, event: EventRecord): void {
    this.recorders.get(schedulerName)?.record(event, undefined);
  }

  private informers(): Informer<KubeObject>[] {
    return [this.pods, this.nodes, this.namespaces, this.pdbs];
  }

  // -------------------------------------------------------------------------------------------
  // Event handlers (upstream eventhandlers.go): assigned pods go to the cache, pending pods of
  // this scheduler's profiles to the queue; every change that may help a rejected pod is a
  // cluster event the queue's hints look at.

  private responsibleFor(pod: KubeObject): boolean {
    const name = (pod['spec'] as { schedulerName?: unknown } | undefined)?.schedulerName;
    return this.profiles.has(typeof name === 'string' && name !== '' ? name : 'default-scheduler');
  }

  private podAdded(pod: KubeObject): void {
    if (isAssigned(pod)) {
      this.clusterEvent(() => this.cache.addPod(newPodInfo(pod)), { kind: 'PodAdd', obj: pod });
      return;
    }
    // An assumed pod's pending copy (an event older than its binding) is not pending any more.
    if (!this.responsibleFor(pod) || isTerminating(pod) || this.cache.hasPod(pod.metadata?.uid ?? '')) return;
    this.queue.add(newPodInfo(pod), this.o.clock.now());
    this.wake();
  }

  private podUpdated(oldPod: KubeObject, pod: KubeObject): void {
    const uid = pod.metadata?.uid ?? '';
    if (isAssigned(pod)) {
      if (!isAssigned(oldPod)) {
        // Bound (by us: confirms the assumed pod; by another scheduler: simply placed).
        this.queue.delete(uid);
        this.decisions.forget(uid);
        this.clusterEvent(() => this.cache.addPod(newPodInfo(pod)), { kind: 'PodAdd', obj: pod });
      } else {
        this.clusterEvent(() => this.cache.updatePod(newPodInfo(pod)), { kind: 'PodUpdate', old: oldPod, obj: pod });
      }
      return;
    }
    if (!this.responsibleFor(pod) || isTerminating(pod)) {
      this.forgetPending(uid);
      return;
    }
    // Assumed (its binding on the wire or just accepted): this copy predates the binding (upstream skipPodUpdate).
    if (this.cache.hasPod(uid)) return;
    this.queue.update(newPodInfo(pod), this.o.clock.now());
    this.wake();
  }

  private podDeleted(pod: KubeObject): void {
    const uid = pod.metadata?.uid ?? '';
    if (isAssigned(pod)) {
      this.clusterEvent(() => this.cache.removePod(uid), { kind: 'PodDelete', old: pod });
      return;
    }
    this.forgetPending(uid);
    // An assumed pod deleted before its binding was confirmed frees its node at once.
    if (this.cache.isAssumed(uid)) this.clusterEvent(() => this.cache.forgetPod(uid), { kind: 'PodDelete', old: pod });
  }

  private forgetPending(uid: string): void {
    this.queue.delete(uid);
    this.decisions.forget(uid);
    this.statusWrites.delete(uid);
    if (this.waitingPods.get(uid) !== undefined) this.waitingPods.reject(uid, 'Scheduler', 'the pod was deleted');
  }

  private clusterEvent(apply: () => void, event: Parameters<SchedulingQueue['onEvent']>[0]): void {
    apply();
    if (this.queue.onEvent(event, this.o.clock.now()) > 0) this.wake();
  }

  // -------------------------------------------------------------------------------------------
  // Terms

  private async startTerm(): Promise<void> {
    if (this.term !== undefined || this.starting !== undefined || this.stopped) return;
    const elector = this.elector;
    const term: Term = { id: ++this.terms, validUntil: () => (elector === undefined ? Infinity : elector.leadingUntilMs() ?? -Infinity) };
    this.starting = term;
    for (const informer of this.informers()) if (!(await informer.waitForSync())) return;
    const catchUpStartMs = this.o.clock.now();
    if (!(await this.catchUp(term))) return;
    this.lastCatchUpMs = this.o.clock.now() - catchUpStartMs;
    if (this.starting !== term || this.stopped) return;
    this.starting = undefined;
    this.term = term;
    this.intervals.begin(this.termNow());
    this.wake();
  }

  /**
   * Makes the cache hold every pod bound up to a quorum read made after winning the Lease: the
   * previous leader's last bindings (sent before its lease lapsed) may not have reached this
   * instance's watch yet, and placing pods without them would over-commit their nodes. Bound pods
   * the informer has not shown bound yet are counted from the list (its later events only confirm
   * them). Gives up (false) if leadership is lost meanwhile.
   */
  private async catchUp(term: Term): Promise<boolean> {
    for (;;) {
      if (this.starting !== term || this.stopped) return false;
      try {
        const items = await this.listPodsPaged(term);
        if (items === undefined) return false;
        for (const pod of items) {
          if (!isAssigned(pod) || isTerminating(pod)) continue;
          const seen = this.pods.getByKey(`${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`);
          if (seen !== undefined && isAssigned(seen)) continue;
          this.queue.delete(pod.metadata?.uid ?? '');
          this.cache.addPod(newPodInfo(pod));
        }
        return true;
      } catch (error) {
        this.o.onError?.(error, 'catching up: quorum list of pods');
        await sleep(this.o.clock, catchUpRetryMs);
      }
    }
  }

  /** One consistent list in pages (a continue token keeps the first page's snapshot), as a reflector lists. */
  private async listPodsPaged(term: Term): Promise<KubeObject[] | undefined> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.o.client.list<KubeObject>(podsRef, {
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed', limit: catchUpPageSize, ...(token === undefined ? {} : { continue: token }),
      });
      if (this.starting !== term || this.stopped) return undefined;
      items.push(...page.items);
      token = page.metadata.continue === '' ? undefined : page.metadata.continue;
    } while (token !== undefined);
    return items;
  }

  private endTerm(): void {
    this.starting = undefined;
    const term = this.term;
    if (term === undefined) return;
    this.term = undefined;
    this.intervals.end(this.termNow());
    // Pods parked at Permit go back to the queue: the next leader (maybe this one) decides again.
    for (const w of this.waitingPods.list()) w.reject('Scheduler', 'leadership lost');
    this.settlePermits();
  }

  // -------------------------------------------------------------------------------------------
  // The scheduling loop: bounded turns on the clock's timers, woken by queue changes.

  private wake(): void {
    if (this.turnScheduled || this.term === undefined) return;
    this.turnScheduled = true;
    this.o.clock.setTimer(0, () => {
      this.turnScheduled = false;
      this.turn();
    });
  }

  private turn(): void {
    if (this.term === undefined) return;
    const startMs = this.o.clock.now();
    this.queue.flush(startMs);
    this.waitingPods.expire(startMs);
    this.settlePermits();
    for (let cycles = 0; cycles < maxCyclesPerTurn && this.o.clock.now() - startMs < maxTurnMs; cycles++) {
      if (this.term === undefined || this.bindingsInFlight >= this.maxBindingsInFlight) return;
      const info = this.queue.pop(this.o.clock.now());
      if (info === undefined) break;
      this.scheduleOne(info);
    }
    if (this.queue.sizes().active > 0) this.wake();
    else this.armWakeTimer();
  }

  /** One timer for the earliest backoff expiry, pool flush or Permit deadline. */
  private armWakeTimer(): void {
    const wakes = [this.queue.nextWakeMs(), this.waitingPods.nextDeadlineMs()].filter((t): t is number => t !== undefined);
    if (wakes.length === 0) return;
    const atMs = Math.min(...wakes);
    if (this.wakeTimer !== undefined) {
      if (this.wakeTimer.atMs <= atMs) return;
      this.o.clock.clearTimer(this.wakeTimer.id);
    }
    const id = this.o.clock.setTimer(Math.max(0, atMs - this.o.clock.now()), () => {
      this.wakeTimer = undefined;
      this.wake();
    });
    this.wakeTimer = { id, atMs };
  }

  private pdbInfos(): PdbInfo[] {
    this.pdbList ??= this.pdbs.list().map(pdbInfo);
    return this.pdbList;
  }

  private scheduleOne(info: QueuedPodInfo): void {
    const profile = this.profiles.get(info.pod.schedulerName);
    assert(profile !== undefined, `queued pod ${info.pod.key} has no profile ${info.pod.schedulerName}`);
    const nowMs = this.o.clock.now();
    // Placed meanwhile (the catch-up list, or a binding this queue entry predates): nothing to do (upstream skipPodSchedule).
    if (this.cache.hasPod(info.pod.uid)) {
      this.queue.done(info.pod.uid);
      return;
    }
    this.cache.updateSnapshot(this.snapshot);
    const r = profile.schedulingCycle({
      snapshot: this.snapshot, pod: info.pod, nowMs, ...(this.o.unsafeSkipAssume === true ? {} : { cache: this.cache }),
      nominatedPods: (n) => this.queue.nominatedPodsForNode(n), pdbs: this.pdbInfos(),
    });
    this.counts.attempts++;
    this.decisions.record(r.decision);
    switch (r.kind) {
      case 'assumed':
        void this.bindingCycle(info, profile, r.state, r.nodeName);
        return;
      case 'waiting':
        this.parked.set(info.pod.uid, { info, profile, state: r.state, nodeName: r.nodeName });
        this.armWakeTimer();
        return;
      case 'unschedulable':
        this.counts.unschedulable++;
        for (const victim of r.victims) void this.preempt(victim, info.pod, r.nominatedNodeName ?? '');
        this.failed(info, r.message, 'Unschedulable', r.unschedulablePlugins, r.nominatedNodeName);
        return;
      case 'error':
        this.counts.errors++;
        this.failed(info, r.message, 'SchedulerError', new Set(), undefined);
        return;
      default: {
        const never: never = r;
        throw new Error(`scheduler: unhandled cycle result ${JSON.stringify(never)}`);
      }
    }
  }

  /** Permit outcomes: allowed pods run their binding cycle, rejected ones go back to the queue. */
  private settlePermits(): void {
    for (const outcome of this.waitingPods.drain()) {
      const p = this.parked.get(outcome.pod.uid);
      if (p === undefined) continue;
      this.parked.delete(outcome.pod.uid);
      if (outcome.kind === 'allowed' && this.term !== undefined) {
        void this.bindingCycle(p.info, p.profile, p.state, p.nodeName);
        continue;
      }
      p.profile.unreserve(p.state, p.info.pod, p.nodeName, this.snapshot);
      this.cache.forgetPod(p.info.pod.uid);
      const status: Status = outcome.kind === 'rejected' ? outcome.status : { code: 'Unschedulable', reasons: ['leadership lost'] };
      this.failed(p.info, status.reasons.join(', '), 'Unschedulable', new Set(status.plugin === undefined ? [] : [status.plugin]), undefined);
    }
  }

  /** The binding cycle (upstream bindingCycle): PreBind and Bind plugins, then the API call. */
  private async bindingCycle(info: QueuedPodInfo, profile: Profile, state: CycleState, nodeName: string): Promise<void> {
    const pod = info.pod;
    this.bindingsInFlight++;
    try {
      const planned = profile.bind(state, this.snapshot, pod, nodeName);
      if (!planned.ok) {
        this.bindingFailed(info, profile, state, nodeName, planned.status.reasons.join(', '));
        return;
      }
      if (!this.mayWrite()) {
        this.counts.fenced++;
        this.bindingFailed(info, profile, state, nodeName, 'leadership lapsed before the binding was sent');
        return;
      }
      const action = planned.action;
      try {
        await this.o.client.bindPod(action.namespace, action.name, action.nodeName);
      } catch (error) {
        if (isConflict(error) || isNotFound(error)) {
          // Bound by someone else meanwhile, or deleted: the informer's event settles the cache.
          profile.unreserve(state, pod, nodeName, this.snapshot);
          this.cache.forgetPod(pod.uid);
          this.queue.done(pod.uid);
          this.counts.bindingFailures++;
          return;
        }
        this.bindingFailed(info, profile, state, nodeName, error instanceof Error ? error.message : String(error));
        return;
      }
      this.cache.finishBinding(pod.uid, this.o.clock.now());
      this.queue.done(pod.uid);
      this.queue.clearNomination(pod.uid);
      profile.postBind(state, this.snapshot, pod, nodeName);
      this.counts.bound++;
      this.recordEvent(pod.schedulerName, { involvedObject: podRef(pod), type: 'Normal', reason: 'Scheduled', message: `Successfully assigned ${pod.key} to ${nodeName}` });
    } finally {
      this.bindingsInFlight--;
      this.wake();
    }
  }

  private bindingFailed(info: QueuedPodInfo, profile: Profile, state: CycleState, nodeName: string, why: string): void {
    this.counts.bindingFailures++;
    profile.unreserve(state, info.pod, nodeName, this.snapshot);
    this.cache.forgetPod(info.pod.uid);
    this.failed(info, `Binding rejected: ${why}`, 'SchedulerError', new Set(), undefined);
  }

  /**
   * A failed attempt (upstream handleSchedulingFailure): back to the queue, a FailedScheduling
   * Event, and the pod's PodScheduled condition (and nominatedNodeName after preemption).
   */
  private failed(info: QueuedPodInfo, message: string, reason: 'Unschedulable' | 'SchedulerError', plugins: ReadonlySet<string>, nominatedNodeName: string | undefined): void {
    const pod = info.pod;
    info.unschedulablePlugins = new Set(plugins);
    if (nominatedNodeName === '') this.queue.clearNomination(pod.uid);
    else if (nominatedNodeName !== undefined) this.queue.nominate(pod, nominatedNodeName);
    this.queue.addUnschedulable(info, this.o.clock.now());
    this.armWakeTimer();
    if (!this.mayWrite()) return;
    this.recordEvent(pod.schedulerName, { involvedObject: podRef(pod), type: 'Warning', reason: 'FailedScheduling', message });
    this.writeStatus(pod, reason, message, nominatedNodeName);
  }

  private writeStatus(pod: PodInfo, reason: string, message: string, nominatedNodeName: string | undefined): void {
    const current = this.pods.getByKey(pod.key) ?? pod.pod;
    const status = (current['status'] ?? {}) as { conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>; nominatedNodeName?: string };
    const cond = status.conditions?.find((c) => c.type === 'PodScheduled');
    const sameCondition = cond?.status === 'False' && cond.reason === reason && cond.message === message;
    const sameNomination = nominatedNodeName === undefined || (status.nominatedNodeName ?? '') === nominatedNodeName;
    if (sameCondition && sameNomination) return;
    const patch: JsonObject = {
      status: {
        conditions: [{ type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null, lastTransitionTime: formatRfc3339(this.o.clock.wallNow()) }],
        ...(nominatedNodeName === undefined ? {} : { nominatedNodeName: nominatedNodeName === '' ? null : nominatedNodeName }),
      },
    };
    this.statusWrites.set(pod.uid, { pod, patch });
    this.drainStatusWrites();
  }

  private drainStatusWrites(): void {
    while (this.statusWritesInFlight < maxStatusWritesInFlight && this.statusWrites.size > 0) {
      const [uid, w] = this.statusWrites.entries().next().value!;
      this.statusWrites.delete(uid);
      if (!this.mayWrite()) { this.counts.fenced++; continue; }
      this.statusWritesInFlight++;
      this.o.client.patch(podsRef, w.pod.namespace, w.pod.name, w.patch, { type: 'strategic', subresource: 'status' })
        .catch((error: unknown) => { if (!isNotFound(error)) this.o.onError?.(error, `status of ${w.pod.key}`); })
        .finally(() => {
          this.statusWritesInFlight--;
          this.drainStatusWrites();
        });
    }
  }

  /** Deletes a preemption victim gracefully (its own grace period), as DefaultPreemption does. */
  private async preempt(victim: PodInfo, preemptor: PodInfo, nodeName: string): Promise<void> {
    if (!this.mayWrite()) { this.counts.fenced++; return; }
    this.recordEvent(preemptor.schedulerName, { involvedObject: podRef(victim), type: 'Normal', reason: 'Preempted', message: `Preempted by pod ${preemptor.uid} on node ${nodeName}` });
    try {
      await this.o.client.delete(podsRef, victim.namespace, victim.name, { preconditions: { uid: victim.uid } });
      this.counts.preempted++;
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) this.o.onError?.(error, `preempting ${victim.key}`);
    }
  }
}
