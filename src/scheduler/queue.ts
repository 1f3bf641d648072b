/**
 * The scheduling queue (upstream internal/queue.PriorityQueue): activeQ ordered by the QueueSort
 * plugin; backoffQ ordered by backoff expiry, with per-pod exponential backoff; the unschedulable
 * pool, left by cluster events whose QueueingHints say a rejecting plugin may now pass, or after a
 * maximum stay; gated pods held out by PreEnqueue. Events that arrive while a pod is being
 * scheduled are remembered and checked against its rejectors when it comes back, so a pod is not
 * parked on information that is already stale (upstream's in-flight events). Pure: time comes in
 * as `nowMs`; the shell calls `flush(nowMs)` at `nextWakeMs()`.
 */
import { assert } from '../primitives/assert.js';
import type { ClusterEventInfo, ClusterEventWithHint, PodInfo, QueuedPodView, Status } from './types.js';

export interface QueuedPodInfo {
  pod: PodInfo;
  /** When it last entered a queue: QueueSort's tie-break and the start of its backoff. */
  timestampMs: number;
  /** First time it was popped (latency metrics). */
  initialAttemptMs: number | undefined;
  attempts: number;
  /** Plugins that rejected it in its last attempt: only their events requeue it. */
  unschedulablePlugins: Set<string>;
  /** The PreEnqueue plugin holding it out of activeQ, if any. */
  gatingPlugin: string | undefined;
}

export interface QueueOptions {
  less(a: QueuedPodView, b: QueuedPodView): boolean;
  /** The pod's profile's PreEnqueue (chosen by spec.schedulerName). */
  preEnqueue(pod: PodInfo): Status;
  /** The events (with hints) that may help a pod `plugin` rejected, in the pod's profile. */
  eventsFor(pod: PodInfo, plugin: string): readonly ClusterEventWithHint[];
  /** Upstream defaults: 1 s, 10 s, 5 min. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxUnschedulableMs?: number;
  /** Scales the three durations (the `fast` profile compresses time). */
  timeScale?: number;
  maxPods?: number;
}

export type PodLocation = 'active' | 'backoff' | 'unschedulable' | 'gated' | 'inFlight';

/** A binary heap with removal by key (activeQ and backoffQ). */
class KeyedHeap<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly less: (a: T, b: T) => boolean, private readonly keyOf: (t: T) => string) {}

  get size(): number { return this.items.length; }
  has(key: string): boolean { return this.index.has(key); }
  get(key: string): T | undefined { const i = this.index.get(key); return i === undefined ? undefined : this.items[i]; }
  peek(): T | undefined { return this.items[0]; }
  values(): readonly T[] { return this.items; }

  push(t: T): void {
    const key = this.keyOf(t);
    assert(!this.index.has(key), `heap: ${key} pushed twice`);
    this.items.push(t);
    this.index.set(key, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0]!;
    this.removeAt(0);
    return top;
  }

  remove(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const t = this.items[i]!;
    this.removeAt(i);
    return t;
  }

  /** Re-sorts after the item's ordering fields changed. */
  fix(key: string): void {
    const i = this.index.get(key);
    if (i === undefined) return;
    this.up(i);
    this.down(this.index.get(key)!);
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    this.index.delete(this.keyOf(this.items[i]!));
    if (i !== last) {
      this.items[i] = this.items[last]!;
      this.index.set(this.keyOf(this.items[i]), i);
    }
    this.items.pop();
    if (i < this.items.length) { this.up(i); this.down(this.index.get(this.keyOf(this.items[i]!))!); }
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!; const b = this.items[j]!;
    this.items[i] = b; this.items[j] = a;
    this.index.set(this.keyOf(b), i); this.index.set(this.keyOf(a), j);
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[p]!)) return;
      this.swap(i, p); i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1; const r = l + 1;
      let m = i;
      if (l < n && this.less(this.items[l]!, this.items[m]!)) m = l;
      if (r < n && this.less(this.items[r]!, this.items[m]!)) m = r;
      if (m === i) return;
      this.swap(i, m); i = m;
    }
  }
}

interface InFlight { readonly info: QueuedPodInfo; readonly eventSeq: number }

const defaultInitialBackoffMs = 1000;
const defaultMaxBackoffMs = 10_000;
const defaultMaxUnschedulableMs = 5 * 60 * 1000;

/**
 * Upstream skips pods gated by this plugin in every move, the max-stay flush included (only an
 * update of the pod can lift its gates); pods held by any other PreEnqueue plugin are asked again.
 */
const schedulingGatesPlugin = 'SchedulingGates';

const noPods: readonly PodInfo[] = Object.freeze([]);

export class SchedulingQueue {
  private readonly active: KeyedHeap<QueuedPodInfo>;
  private readonly backoff: KeyedHeap<QueuedPodInfo>;
  /** Insertion order is timestamp order (entries are re-inserted when their timestamp moves). */
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly gated = new Map<string, QueuedPodInfo>();
  private readonly inFlight = new Map<string, InFlight>();
  /** Events seen while some pod was in flight, with sequence numbers. */
  private inFlightEvents: Array<{ readonly seq: number; readonly ev: ClusterEventInfo }> = [];
  private eventSeq = 0;
  private cycle = 0;
  private readonly nominated = new Map<string, { pod: PodInfo; nodeName: string }>();
  private readonly byNode = new Map<string, Set<string>>();
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxUnschedulableMs: number;
  private readonly maxPods: number;

  constructor(private readonly opts: QueueOptions) {
    const scale = opts.timeScale ?? 1;
    assert(scale > 0, 'queue timeScale must be positive');
    this.initialBackoffMs = (opts.initialBackoffMs ?? defaultInitialBackoffMs) * scale;
    this.maxBackoffMs = (opts.maxBackoffMs ?? defaultMaxBackoffMs) * scale;
    this.maxUnschedulableMs = (opts.maxUnschedulableMs ?? defaultMaxUnschedulableMs) * scale;
    assert(this.initialBackoffMs > 0 && this.maxBackoffMs >= this.initialBackoffMs, 'queue backoff: 0 < initial <= max');
    this.maxPods = opts.maxPods ?? 1_000_000;
    this.active = new KeyedHeap((a, b) => opts.less(a, b), (q) => q.pod.uid);
    this.backoff = new KeyedHeap((a, b) => this.backoffExpiryMs(a) < this.backoffExpiryMs(b), (q) => q.pod.uid);
  }

  /** Upstream calculateBackoffDuration: initial × 2^(attempts-1), capped. */
  backoffDurationMs(info: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < info.attempts; i++) {
      if (d > this.maxBackoffMs - d) return this.maxBackoffMs;
      d += d;
    }
    return d;
  }

  backoffExpiryMs(info: QueuedPodInfo): number { return info.timestampMs + this.backoffDurationMs(info); }

  private isBackingOff(info: QueuedPodInfo, nowMs: number): boolean { return info.attempts > 0 && this.backoffExpiryMs(info) > nowMs; }

  get schedulingCycle(): number { return this.cycle; }

  where(uid: string): PodLocation | undefined {
    if (this.active.has(uid)) return 'active';
    if (this.backoff.has(uid)) return 'backoff';
    if (this.unschedulable.has(uid)) return 'unschedulable';
    if (this.gated.has(uid)) return 'gated';
    if (this.inFlight.has(uid)) return 'inFlight';
    return undefined;
  }

  sizes(): Record<PodLocation, number> {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, gated: this.gated.size, inFlight: this.inFlight.size };
  }

  private total(): number { return this.active.size + this.backoff.size + this.unschedulable.size + this.gated.size + this.inFlight.size; }

  /**
   * PreEnqueue, then activeQ; a gated pod waits in the gated pool. The timestamp is left alone
   * (upstream sets it only on add and on a failed attempt), so a retried pod keeps its place.
   */
  private toActive(info: QueuedPodInfo): void {
    const s = this.opts.preEnqueue(info.pod);
    if (s.code !== 'Success') {
      info.gatingPlugin = s.plugin ?? 'PreEnqueue';
      this.gated.set(info.pod.uid, info);
      return;
    }
    info.gatingPlugin = undefined;
    this.active.push(info);
  }

  private toUnschedulable(info: QueuedPodInfo): void {
    this.unschedulable.delete(info.pod.uid);
    this.unschedulable.set(info.pod.uid, info);
  }

  /** Takes the pod out of every queue (not out of flight). */
  private detach(uid: string): QueuedPodInfo | undefined {
    const info = this.active.remove(uid) ?? this.backoff.remove(uid) ?? this.unschedulable.get(uid) ?? this.gated.get(uid);
    this.unschedulable.delete(uid);
    this.gated.delete(uid);
    return info;
  }

  /** A new pending pod (informer add). */
  add(pod: PodInfo, nowMs: number): void {
    if (this.where(pod.uid) !== undefined) { this.update(pod, nowMs); return; }
    assert(this.total() < this.maxPods, `scheduling queue: more than ${this.maxPods} pods`);
    this.trackNomination(pod);
    this.toActive({ pod, timestampMs: nowMs, initialAttemptMs: undefined, attempts: 0, unschedulablePlugins: new Set(), gatingPlugin: undefined });
  }

  /**
   * The pod changed. Queued: its info is replaced. Gated: PreEnqueue runs again. Unschedulable: a
   * change to its spec or labels may make it schedulable, so it leaves the pool (upstream isPodUpdated).
   */
  update(pod: PodInfo, nowMs: number): void {
    const uid = pod.uid;
    this.trackNomination(pod);
    const fl = this.inFlight.get(uid);
    if (fl !== undefined) { fl.info.pod = pod; return; }
    if (this.active.has(uid)) { this.active.get(uid)!.pod = pod; this.active.fix(uid); return; }
    if (this.backoff.has(uid)) { this.backoff.get(uid)!.pod = pod; return; }
    const g = this.gated.get(uid);
    if (g !== undefined) { this.gated.delete(uid); g.pod = pod; this.toActive(g); return; }
    const u = this.unschedulable.get(uid);
    if (u !== undefined) {
      const changed = materiallyDifferent(u.pod, pod);
      u.pod = pod;
      if (changed) { this.unschedulable.delete(uid); this.requeue(u, nowMs); }
      return;
    }
    this.add(pod, nowMs);
  }

  /** Deleted, or bound by someone (no longer pending). */
  delete(uid: string): void {
    this.detach(uid);
    this.inFlight.delete(uid);
    this.clearNomination(uid);
    this.trimEvents();
  }

  /** The next pod to schedule (upstream Pop, without blocking). */
  pop(nowMs: number): QueuedPodInfo | undefined {
    const info = this.active.pop();
    if (info === undefined) return undefined;
    info.attempts++;
    info.initialAttemptMs ??= nowMs;
    this.cycle++;
    this.inFlight.set(info.pod.uid, { info, eventSeq: this.eventSeq });
    return info;
  }

  /** The pod's scheduling (and binding) finished: forget its in-flight bookkeeping (upstream Done). */
  done(uid: string): void {
    this.inFlight.delete(uid);
    this.trimEvents();
  }

  /**
   * A failed attempt (upstream AddUnschedulableIfNotPresent): back to backoffQ if an event during
   * its attempt may have helped a rejecting plugin (or nothing rejected it: an error), else the
   * unschedulable pool. A pod deleted meanwhile is dropped.
   */
  addUnschedulable(info: QueuedPodInfo, nowMs: number): void {
    const fl = this.inFlight.get(info.pod.uid);
    if (fl === undefined) return;
    this.inFlight.delete(info.pod.uid);
    info.timestampMs = nowMs;
    const helped = info.unschedulablePlugins.size === 0
      || this.inFlightEvents.some((e) => e.seq > fl.eventSeq && this.worthRequeuing(info, e.ev));
    this.trimEvents();
    if (helped) this.backoff.push(info);
    else this.toUnschedulable(info);
  }

  /** Moves `info` to backoffQ while it backs off, else to activeQ. */
  private requeue(info: QueuedPodInfo, nowMs: number): void {
    if (this.isBackingOff(info, nowMs)) this.backoff.push(info);
    else this.toActive(info);
  }

  private worthRequeuing(info: QueuedPodInfo, ev: ClusterEventInfo): boolean {
    if (info.unschedulablePlugins.size === 0) return true;
    for (const plugin of info.unschedulablePlugins) {
      for (const e of this.opts.eventsFor(info.pod, plugin)) {
        if (e.event !== ev.kind) continue;
        if (e.hint === undefined || e.hint(info.pod, ev) === 'Queue') return true;
      }
    }
    return false;
  }

  /**
   * A cluster event (upstream MoveAllToActiveOrBackoffQueue with QueueingHints): unschedulable
   * pods whose rejectors' hints say Queue move to backoffQ or activeQ. Gated pods are asked again
   * only through their gating plugin's events.
   */
  onEvent(ev: ClusterEventInfo, nowMs: number): number {
    if (this.inFlight.size > 0) this.inFlightEvents.push({ seq: ++this.eventSeq, ev });
    let moved = 0;
    for (const [uid, info] of [...this.unschedulable]) {
      if (!this.worthRequeuing(info, ev)) continue;
      this.unschedulable.delete(uid);
      this.requeue(info, nowMs);
      moved++;
    }
    for (const [uid, info] of [...this.gated]) {
      const gate = info.gatingPlugin;
      if (gate === undefined || !this.opts.eventsFor(info.pod, gate).some((e) => e.event === ev.kind && (e.hint === undefined || e.hint(info.pod, ev) === 'Queue'))) continue;
      this.gated.delete(uid);
      this.toActive(info);
      if (!this.gated.has(uid)) moved++;
    }
    return moved;
  }

  /** Drops in-flight events no in-flight pod can still be affected by. */
  private trimEvents(): void {
    if (this.inFlightEvents.length === 0) return;
    if (this.inFlight.size === 0) { this.inFlightEvents = []; return; }
    let oldest = Number.POSITIVE_INFINITY;
    for (const f of this.inFlight.values()) if (f.eventSeq < oldest) oldest = f.eventSeq;
    const keepFrom = this.inFlightEvents.findIndex((e) => e.seq > oldest);
    this.inFlightEvents = keepFrom < 0 ? [] : this.inFlightEvents.slice(keepFrom);
  }

  /**
   * Timers as data: backoffQ pods whose backoff expired go to activeQ (upstream
   * flushBackoffQCompleted), and pods that stayed unschedulable longer than the maximum leave the
   * pool (flushUnschedulablePodsLeftover). Returns how many moved.
   */
  flush(nowMs: number): number {
    let moved = 0;
    for (let top = this.backoff.peek(); top !== undefined && this.backoffExpiryMs(top) <= nowMs; top = this.backoff.peek()) {
      this.backoff.pop();
      this.toActive(top);
      moved++;
    }
    for (const [uid, info] of [...this.unschedulable]) {
      if (nowMs - info.timestampMs <= this.maxUnschedulableMs) break;
      this.unschedulable.delete(uid);
      this.requeue(info, nowMs);
      moved++;
    }
    // Gated pods sit in upstream's unschedulable pool too, so the max stay applies to them (the
    // UnschedulableTimeout event is a wildcard): PreEnqueue runs again. One still gated gets a
    // fresh timestamp, so it is asked once per max stay rather than at every flush.
    for (const [uid, info] of [...this.gated]) {
      if (info.gatingPlugin === schedulingGatesPlugin || nowMs - info.timestampMs <= this.maxUnschedulableMs) continue;
      this.gated.delete(uid);
      this.toActive(info);
      if (this.gated.has(uid)) info.timestampMs = nowMs;
      else moved++;
    }
    return moved;
  }

  /** When `flush` next has work, if ever (the shell sets one timer for it). */
  nextWakeMs(): number | undefined {
    const top = this.backoff.peek();
    let t = top === undefined ? undefined : this.backoffExpiryMs(top);
    const first = this.unschedulable.values().next();
    if (!first.done) {
      // Strictly more than the maximum stay, as upstream compares with ">".
      const leave = first.value.timestampMs + this.maxUnschedulableMs + 1;
      if (t === undefined || leave < t) t = leave;
    }
    for (const info of this.gated.values()) {
      if (info.gatingPlugin === schedulingGatesPlugin) continue;
      const leave = info.timestampMs + this.maxUnschedulableMs + 1;
      if (t === undefined || leave < t) t = leave;
    }
    return t;
  }

  /** Pods in activeQ in pop order (explain, tests). */
  activePods(): PodInfo[] {
    return [...this.active.values()].sort((a, b) => (this.opts.less(a, b) ? -1 : this.opts.less(b, a) ? 1 : 0)).map((q) => q.pod);
  }

  pendingPods(): Array<{ pod: PodInfo; location: PodLocation }> {
    const out: Array<{ pod: PodInfo; location: PodLocation }> = [];
    for (const q of this.active.values()) out.push({ pod: q.pod, location: 'active' });
    for (const q of this.backoff.values()) out.push({ pod: q.pod, location: 'backoff' });
    for (const q of this.unschedulable.values()) out.push({ pod: q.pod, location: 'unschedulable' });
    for (const q of this.gated.values()) out.push({ pod: q.pod, location: 'gated' });
    for (const f of this.inFlight.values()) out.push({ pod: f.info.pod, location: 'inFlight' });
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Nominator: pods nominated to a node by preemption, which Filter counts for lower-priority pods.

  nominate(pod: PodInfo, nodeName: string): void {
    this.clearNomination(pod.uid);
    if (nodeName === '') return;
    this.nominated.set(pod.uid, { pod, nodeName });
    let set = this.byNode.get(nodeName);
    if (set === undefined) this.byNode.set(nodeName, set = new Set());
    set.add(pod.uid);
  }

  clearNomination(uid: string): void {
    const n = this.nominated.get(uid);
    if (n === undefined) return;
    this.nominated.delete(uid);
    const set = this.byNode.get(n.nodeName);
    set?.delete(uid);
    if (set?.size === 0) this.byNode.delete(n.nodeName);
  }

  /** Filter asks this for every node it evaluates: no nominations, no allocation. */
  nominatedPodsForNode(nodeName: string): readonly PodInfo[] {
    const set = this.byNode.get(nodeName);
    return set === undefined ? noPods : [...set].map((uid) => this.nominated.get(uid)!.pod);
  }

  nominatedNodeFor(uid: string): string | undefined { return this.nominated.get(uid)?.nodeName; }

  /** status.nominatedNodeName from the apiserver is the nomination of record. */
  private trackNomination(pod: PodInfo): void {
    const status = pod.pod['status'];
    const n = typeof status === 'object' && status !== null ? (status as Record<string, unknown>)['nominatedNodeName'] : undefined;
    if (typeof n === 'string' && n !== '') this.nominate(pod, n);
    else if (this.nominated.has(pod.uid)) this.nominated.get(pod.uid)!.pod = pod;
  }
}

/** Spec or labels changed (status, resourceVersion and managedFields do not count). */
function materiallyDifferent(a: PodInfo, b: PodInfo): boolean {
  return JSON.stringify(a.pod['spec']) !== JSON.stringify(b.pod['spec']) || JSON.stringify(a.labels) !== JSON.stringify(b.labels);
}
