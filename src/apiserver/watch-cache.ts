/**
 * One watch cache per resource: a single KvClient watch on the resource's prefix fans out to every
 * HTTP watcher of that resource, and a bounded ring of recent events serves `resourceVersion=N`
 * without going to etcd. Each event is decoded once and serialised at most once per shape
 * (`lineOf`), whatever the number of watchers.
 *
 * A watcher asking for history older than the ring falls back to its own KvClient watch from N
 * (`directEvents`), which ends with an Expired error when etcd compacted N.
 *
 * When the etcd watch is lost (canceled, or ended: e.g. resumed on a member from a revision since
 * compacted) the cache ends its watchers, the apiserver's mirrors among them; `start()` then begins
 * a new run from the current revision with an empty ring, so a watcher from before that run falls
 * back to etcd (events, or 410 Expired) or is told it is too old, never served a ring with a hole.
 */
import { Observable, type Subscription } from 'rxjs';
import { type JsonObject, type ResourceInfo, storagePrefix } from '../api/index.js';
import type { KvClient, WatchUpdate } from '../client/kv.js';
import type { WatchEvent } from '../store/index.js';
import { kvTimeoutMs, watchCacheCapacityEvents } from './limits.js';
import { decodeObject } from './storage.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, decoded once and shared by every watcher (never mutate `object` or `prev`). */
export class CachedEvent {
  private readonly lines = new Map<string, string>();
  private objectJson: string | undefined;
  private prevJson: string | undefined;

  constructor(
    readonly type: ChangeType,
    readonly revision: number,
    /** The object after the change; for DELETED the last state, with resourceVersion = the delete's revision. */
    readonly object: JsonObject,
    /** The state before the change (MODIFIED), re-stamped with this event's revision, for selector transitions. */
    readonly prev: JsonObject | undefined,
  ) {}

  /** The watch line `{"type":T,"object":...}` for `type`, built on the current or previous object. */
  lineOf(type: ChangeType, usePrev: boolean): string {
    const k = `${type}:${usePrev ? 'p' : 'c'}`;
    let line = this.lines.get(k);
    if (line === undefined) {
      line = `{"type":"${type}","object":${usePrev ? this.prevText() : this.objectText()}}`;
      this.lines.set(k, line);
    }
    return line;
  }

  private objectText(): string {
    this.objectJson ??= JSON.stringify(this.object);
    return this.objectJson;
  }

  private prevText(): string {
    this.prevJson ??= JSON.stringify(this.prev ?? this.object);
    return this.prevJson;
  }
}

function stamp(obj: JsonObject, revision: number): JsonObject {
  const meta = (obj['metadata'] ?? {}) as JsonObject;
  return { ...obj, metadata: { ...meta, resourceVersion: String(revision) } };
}

/** A store event as a Kubernetes change; undefined when the value does not decode (skipped). */
function changeOf(e: WatchEvent): CachedEvent | undefined {
  const revision = e.kv.modRevision;
  const prev = e.prevKv ? decodeObject(e.prevKv.value, e.prevKv.modRevision) : undefined;
  if (e.type === 'delete') {
    return prev === undefined ? undefined : new CachedEvent('DELETED', revision, stamp(prev, revision), undefined);
  }
  const object = decodeObject(e.kv.value, revision);
  if (object === undefined) return undefined;
  const created = e.kv.createRevision === e.kv.modRevision;
  return new CachedEvent(created ? 'ADDED' : 'MODIFIED', revision, object, prev === undefined ? undefined : stamp(prev, revision));
}

export interface CacheWatcher {
  /** Called synchronously for every event after the watcher's start, in revision order. */
  deliver(event: CachedEvent): void;
  /** The cache lost its etcd watch; the watcher must end (the client re-watches). */
  end(reason: string): void;
}

export type Subscribe = { readonly ok: true; readonly unsubscribe: () => void } | { readonly ok: false; readonly reason: 'tooOld' | 'notStarted' };

export class WatchCache {
  private ring: CachedEvent[] = [];
  private head = 0;
  private readonly watchers = new Set<CacheWatcher>();
  private subscription: Subscription | undefined;
  private starting: Promise<boolean> | undefined;
  /** The cache holds every event with revision > oldestCovered up to `revision`. */
  private oldestCovered = 0;
  private current = 0;
  /**
   * Bumps at every run, loss and stop. Callbacks and starts of an older run are ignored: a watch lost
   * and replaced must not feed (or end) the next one.
   */
  private run = 0;
  private runs = 0;
  private runStart = 0;

  constructor(private readonly kv: KvClient, readonly info: ResourceInfo, private readonly capacity = watchCacheCapacityEvents) {}

  get revision(): number {
    return this.current;
  }

  /** The revision the current run began at: history at or before it is not in the ring (watchers older get 'tooOld'). */
  get startRevision(): number {
    return this.runStart;
  }

  /** How many times the cache began an etcd watch (the first start and every restart after a loss). */
  get generation(): number {
    return this.runs;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get started(): boolean {
    return this.subscription !== undefined;
  }

  /** Starts the etcd watch (again, after a loss or stop) from the current revision; true when running. */
  start(): Promise<boolean> {
    if (this.subscription) return Promise.resolve(true);
    this.starting ??= this.begin().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  stop(): void {
    this.run++;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.endWatchers('apiserver stopping');
  }

  /** Registers `watcher` for every event with revision > `since`, replaying what the ring holds. */
  subscribe(since: number, watcher: CacheWatcher): Subscribe {
    if (!this.subscription) return { ok: false, reason: 'notStarted' };
    if (since < this.oldestCovered) return { ok: false, reason: 'tooOld' };
    for (const e of this.eventsAfter(since)) watcher.deliver(e);
    this.watchers.add(watcher);
    return { ok: true, unsubscribe: () => { this.watchers.delete(watcher); } };
  }

  private *eventsAfter(since: number): Generator<CachedEvent> {
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const e = this.ring[(this.head + i) % n]!;
      if (e.revision > since) yield e;
    }
  }

  private async begin(): Promise<boolean> {
    const before = this.run;
    const rev = await this.kv.currentRevision({ timeoutMs: kvTimeoutMs });
    // Stopped while asking: this start is stale.
    if (!rev.ok || before !== this.run) return false;
    if (this.subscription) return true;
    const mine = ++this.run;
    this.runs++;
    // A new run covers only what follows its start: older history is etcd's (directEvents), never a silent gap.
    this.ring = [];
    this.head = 0;
    this.oldestCovered = rev.value;
    this.current = rev.value;
    this.runStart = rev.value;
    const subscription = this.kv.watch({ key: storagePrefix(this.info), prefix: true, startRevision: rev.value + 1, prevKv: true })
      .subscribe({ next: (u) => this.onUpdate(mine, u), complete: () => this.onLost(mine, 'etcd watch ended') });
    if (mine !== this.run) {
      // Canceled while subscribing (the store is unavailable): not running.
      subscription.unsubscribe();
      return false;
    }
    this.subscription = subscription;
    return true;
  }

  private onUpdate(run: number, update: WatchUpdate): void {
    if (run !== this.run) return;
    switch (update.kind) {
      case 'events':
        for (const raw of update.events) {
          const e = changeOf(raw);
          if (e === undefined) continue;
          this.push(e);
          for (const w of this.watchers) w.deliver(e);
        }
        this.current = Math.max(this.current, update.revision);
        return;
      case 'progress':
        this.current = Math.max(this.current, update.revision);
        return;
      case 'canceled':
        this.onLost(run, `etcd watch canceled: ${update.reason}`);
        return;
      default: {
        const never: never = update;
        throw new Error(`watch update ${JSON.stringify(never)}`);
      }
    }
  }

  private push(e: CachedEvent): void {
    if (this.ring.length < this.capacity) {
      this.ring.push(e);
    } else {
      this.oldestCovered = this.ring[this.head]!.revision;
      this.ring[this.head] = e;
      this.head = (this.head + 1) % this.capacity;
    }
  }

  private onLost(run: number, reason: string): void {
    if (run !== this.run) return;
    this.run++;
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.endWatchers(reason);
  }

  private endWatchers(reason: string): void {
    const ending = [...this.watchers];
    this.watchers.clear();
    for (const w of ending) w.end(reason);
  }
}

/** A dedicated etcd watch from `since` + 1, for watchers older than the cache's ring. */
export function directEvents(kv: KvClient, info: ResourceInfo, since: number):
  Observable<{ kind: 'event'; event: CachedEvent } | { kind: 'expired'; compactRevision: number } | { kind: 'ended' }> {
  return new Observable((sub) => {
    const s = kv.watch({ key: storagePrefix(info), prefix: true, startRevision: since + 1, prevKv: true }).subscribe({
      next: (u) => {
        if (u.kind === 'events') {
          for (const raw of u.events) {
            const e = changeOf(raw);
            if (e) sub.next({ kind: 'event', event: e });
          }
        } else if (u.kind === 'canceled') {
          sub.next(u.compactRevision !== undefined ? { kind: 'expired', compactRevision: u.compactRevision } : { kind: 'ended' });
          sub.complete();
        }
      },
      complete: () => sub.complete(),
    });
    return () => s.unsubscribe();
  });
}
