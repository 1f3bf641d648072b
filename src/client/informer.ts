/**
 * Informers (client-go's SharedIndexInformer): a Reflector (reflector.ts) lists, then watches from
 * the list's resourceVersion, resuming dropped watches; the informer keeps a local cache of frozen
 * objects and tells handlers about adds, updates and deletes.
 * - On 410 (the watch fell too far behind) it re-lists and turns the difference between the cache
 *   and the new list into events; objects that vanished meanwhile are delivered to onDelete as
 *   `DeletedFinalStateUnknown` tombstones (their final state was never seen).
 * - Periodic resync re-delivers every cached object as an update (same old and new), so
 *   level-triggered controllers revisit everything even if they dropped a key.
 * - Each handler has its own bounded notification queue. A handler that falls more than
 *   `maxPendingNotifications` behind loses its queue and instead gets the difference between
 *   what it was last told and the cache (adds, updates, tombstones): it converges, skipping
 *   intermediate states, which level-triggered handlers never need.
 */
import type { KubeObject } from '../api/index.js';
import type { TimerId } from '../primitives/clock.js';
import { deepFreeze, IndexedCache, objectKey, resourceVersionOf, type IndexFunc } from './cache.js';
import { resolveResource, type KubeClient, type ResourceRef } from './client.js';
import { isGone } from './errors.js';
import { Reflector } from './reflector.js';

export interface DeletedFinalStateUnknown<T> {
  readonly kind: 'DeletedFinalStateUnknown';
  readonly key: string;
  /** The last state the cache knew. */
  readonly obj: T;
}

export function isTombstone<T>(value: T | DeletedFinalStateUnknown<T>): value is DeletedFinalStateUnknown<T> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'DeletedFinalStateUnknown'
    && 'key' in value && 'obj' in value;
}

/** Handlers should only enqueue keys (DESIGN §2); they run outside the informer's own loop. */
export interface EventHandler<T> {
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

export interface HandlerOptions {
  /** Re-deliver the cache as updates this often (0: never; default the informer's). */
  readonly resyncPeriodMs?: number;
}

export interface HandlerRegistration {
  /** True once this handler has been told about every object of the first list. */
  hasSynced(): boolean;
  remove(): void;
}

export interface InformerOptions<T> {
  readonly client: KubeClient;
  readonly resource: ResourceRef;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Default resync period of handlers (0 or absent: no resync). */
  readonly resyncPeriodMs?: number;
  /** List page size (default 500, as client-go). */
  readonly pageSize?: number;
  /** Per handler (default 10,000). */
  readonly maxPendingNotifications?: number;
  readonly indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** Backoff between failed list/watch cycles (default 800 ms doubling to 30 s, as the reflector). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /** Told about list/watch failures and handler exceptions (the informer carries on). */
  readonly onError?: (error: unknown, context: string) => void;
}

type Notification<T> =
  | { readonly type: 'add'; readonly obj: T; readonly initial: boolean }
  | { readonly type: 'update'; readonly oldObj: T; readonly newObj: T }
  | { readonly type: 'delete'; readonly obj: T | DeletedFinalStateUnknown<T> }
  | { readonly type: 'synced' };

/** One handler's delivery state: its bounded queue and what it was last told per key. */
class Listener<T extends KubeObject> {
  private readonly queue: Array<Notification<T>> = [];
  private readonly told = new Map<string, T>();
  private overflowed = false;
  private draining = false;
  synced = false;
  resyncTimer: TimerId | undefined;
  removed = false;

  constructor(
    readonly handler: EventHandler<T>,
    readonly resyncPeriodMs: number,
    private readonly maxPending: number,
    private readonly cache: IndexedCache<T>,
    private readonly report: (error: unknown, context: string) => void,
  ) {}

  push(notification: Notification<T>): void {
    if (this.removed) return;
    if (this.overflowed) return;
    if (this.queue.length >= this.maxPending) {
      this.queue.length = 0;
      this.overflowed = true;
    } else {
      this.queue.push(notification);
    }
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(() => this.drain());
  }

  private drain(): void {
    this.draining = false;
    if (this.removed) return;
    if (this.overflowed) {
      this.overflowed = false;
      this.catchUp();
    }
    // Deliver only what is queued now; handlers may cause more (delivered on the next turn).
    for (const n of this.queue.splice(0)) this.deliver(n);
  }

  /** After an overflow: tell the difference between what this handler knows and the cache. */
  private catchUp(): void {
    for (const [key, old] of this.told) {
      if (this.cache.get(key) === undefined) this.deliver({ type: 'delete', obj: { kind: 'DeletedFinalStateUnknown', key, obj: old } });
    }
    for (const [key, obj] of this.cache.entries()) {
      const old = this.told.get(key);
      if (old === undefined) this.deliver({ type: 'add', obj, initial: !this.synced });
      else if (old !== obj) this.deliver({ type: 'update', oldObj: old, newObj: obj });
    }
    this.synced = true;
  }

  private deliver(n: Notification<T>): void {
    try {
      switch (n.type) {
        case 'add':
          this.told.set(objectKey(n.obj), n.obj);
          this.handler.onAdd?.(n.obj, n.initial);
          break;
        case 'update':
          this.told.set(objectKey(n.newObj), n.newObj);
          this.handler.onUpdate?.(n.oldObj, n.newObj);
          break;
        case 'delete':
          this.told.delete(isTombstone(n.obj) ? n.obj.key : objectKey(n.obj));
          this.handler.onDelete?.(n.obj);
          break;
        case 'synced':
          this.synced = true;
          break;
        default: {
          const never: never = n;
          throw new Error(`unknown notification ${JSON.stringify(never)}`);
        }
      }
    } catch (error) {
      this.report(error, `event handler (${n.type})`);
    }
  }
}

export class Informer<T extends KubeObject = KubeObject> {
  private readonly cache: IndexedCache<T>;
  private readonly listeners = new Set<Listener<T>>();
  private readonly syncWaiters: Array<(synced: boolean) => void> = [];
  private reflector: Reflector<T> | undefined;
  private synced = false;
  private lastResourceVersion = '';
  /** Counters of every start so far, for tests and metrics. */
  private readonly past = { lists: 0, watches: 0, relistsOnExpired: 0 };

  constructor(private readonly options: InformerOptions<T>) {
    this.cache = new IndexedCache<T>(options.indexers ?? {});
  }

  get isRunning(): boolean {
    return this.reflector !== undefined;
  }

  /** List attempts, watch requests, and re-lists after a watch expired (410). */
  get stats(): { readonly lists: number; readonly watches: number; readonly relistsOnExpired: number } {
    const r = this.reflector?.stats ?? { lists: 0, watches: 0, relists: 0 };
    return { lists: this.past.lists + r.lists, watches: this.past.watches + r.watches, relistsOnExpired: this.past.relistsOnExpired + r.relists };
  }

  /** The resourceVersion the cache is complete up to. */
  get lastSyncResourceVersion(): string {
    return this.lastResourceVersion;
  }

  start(): void {
    if (this.reflector !== undefined) return;
    this.reflector = this.newReflector();
    for (const l of this.listeners) this.armResync(l);
    this.reflector.start();
  }

  stop(): void {
    const r = this.reflector;
    if (r !== undefined) {
      r.stop();
      Object.assign(this.past, this.stats);
      this.reflector = undefined;
    }
    for (const l of this.listeners) this.disarmResync(l);
    for (const resolve of this.syncWaiters.splice(0)) resolve(false);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once the first list is in the cache, false if stopped (or `signal` aborts) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(false), { once: true });
    });
  }

  addEventHandler(handler: EventHandler<T>, options: HandlerOptions = {}): HandlerRegistration {
    const listener = new Listener<T>(
      handler, options.resyncPeriodMs ?? this.options.resyncPeriodMs ?? 0, this.options.maxPendingNotifications ?? 10_000,
      this.cache, (e, c) => this.report(e, c),
    );
    this.listeners.add(listener);
    if (this.synced) {
      for (const obj of this.cache.values()) listener.push({ type: 'add', obj, initial: true });
      listener.push({ type: 'synced' });
    }
    if (this.reflector !== undefined) this.armResync(listener);
    return {
      hasSynced: () => listener.synced,
      remove: () => {
        listener.removed = true;
        this.disarmResync(listener);
        this.listeners.delete(listener);
      },
    };
  }

  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    this.cache.addIndexers(indexers);
  }

  // The lister: read-only views of frozen objects.
  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? this.cache.values() : this.cache.byIndex('namespace', namespace);
  }

  keys(): string[] {
    return this.cache.keys();
  }

  byIndex(indexName: string, value: string): T[] {
    return this.cache.byIndex(indexName, value);
  }

  /** The reflector of one start(): list, then watch from the list, resuming and re-listing (reflector.ts). */
  private newReflector(): Reflector<T> {
    const scope = { namespace: this.options.namespace, labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
    return new Reflector<T>({
      list: (signal) => this.listAll(signal),
      watch: (resourceVersion) => this.options.client.watchOnce<T>(this.options.resource, { ...scope, resourceVersion, allowWatchBookmarks: true }),
      clock: this.options.client.clock,
      backoff: { initialMs: this.options.retryInitialMs ?? 800, maxMs: this.options.retryMaxMs ?? 30_000 },
      handler: {
        list: (items, resourceVersion) => this.replace(items, resourceVersion),
        event: (event) => {
          switch (event.type) {
            case 'ADDED':
            case 'MODIFIED':
              this.upsert(deepFreeze(event.object), event.resourceVersion);
              break;
            case 'DELETED':
              this.remove(deepFreeze(event.object), event.resourceVersion);
              break;
            case 'BOOKMARK':
              this.lastResourceVersion = event.resourceVersion;
              break;
            default: {
              const never: never = event;
              throw new Error(`unknown watch event ${JSON.stringify(never)}`);
            }
          }
        },
        error: (error) => this.report(error, 'list/watch'),
      },
    });
  }

  /** Every page of the list; an expired continue token restarts it as one unpaged list. */
  private async listAll(signal: AbortSignal): Promise<{ items: T[]; resourceVersion: string }> {
    const base = { namespace: this.options.namespace, labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
    const limit = this.options.pageSize ?? 500;
    const items: T[] = [];
    let continueToken: string | undefined;
    for (let page = 0; ; page++) {
      if (signal.aborted) return { items, resourceVersion: '' };
      let list;
      try {
        list = await this.options.client.list<T>(this.options.resource, { ...base, limit, continue: continueToken });
      } catch (error) {
        if (page === 0 || !isGone(error)) throw error;
        const whole = await this.options.client.list<T>(this.options.resource, base);
        return { items: whole.items, resourceVersion: whole.metadata.resourceVersion };
      }
      items.push(...list.items);
      continueToken = list.metadata.continue;
      if (continueToken === undefined || continueToken === '') return { items, resourceVersion: list.metadata.resourceVersion };
    }
  }

  /** A (re-)list: the cache becomes exactly `items`; differences become events. */
  private replace(items: readonly T[], resourceVersion: string): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = deepFreeze(raw);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      if (old !== undefined && resourceVersionOf(old) === resourceVersionOf(obj)) continue;
      this.cache.set(key, obj);
      this.notify(old === undefined ? { type: 'add', obj, initial } : { type: 'update', oldObj: old, newObj: obj });
    }
    for (const key of this.cache.keys()) {
      if (seen.has(key)) continue;
      const old = this.cache.delete(key)!;
      this.notify({ type: 'delete', obj: { kind: 'DeletedFinalStateUnknown', key, obj: old } });
    }
    this.lastResourceVersion = resourceVersion;
    if (initial) {
      this.synced = true;
      this.notify({ type: 'synced' });
      for (const resolve of this.syncWaiters.splice(0)) resolve(true);
    }
  }

  private upsert(obj: T, resourceVersion: string): void {
    const key = objectKey(obj);
    const old = this.cache.set(key, obj);
    this.lastResourceVersion = resourceVersion;
    this.notify(old === undefined ? { type: 'add', obj, initial: false } : { type: 'update', oldObj: old, newObj: obj });
  }

  private remove(obj: T, resourceVersion: string): void {
    const key = objectKey(obj);
    const old = this.cache.delete(key);
    this.lastResourceVersion = resourceVersion;
    if (old !== undefined) this.notify({ type: 'delete', obj });
  }

  private notify(n: Notification<T>): void {
    for (const l of this.listeners) l.push(n);
  }

  private armResync(l: Listener<T>): void {
    if (l.resyncPeriodMs <= 0 || l.resyncTimer !== undefined) return;
    const clock = this.options.client.clock;
    const tick = (): void => {
      l.resyncTimer = clock.setTimer(l.resyncPeriodMs, tick);
      if (!this.synced) return;
      for (const obj of this.cache.values()) l.push({ type: 'update', oldObj: obj, newObj: obj });
    };
    l.resyncTimer = clock.setTimer(l.resyncPeriodMs, tick);
  }

  private disarmResync(l: Listener<T>): void {
    if (l.resyncTimer === undefined) return;
    this.options.client.clock.clearTimer(l.resyncTimer);
    l.resyncTimer = undefined;
  }

  private report(error: unknown, context: string): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // A failing reporter must not stop the informer.
    }
  }
}

export {     type IndexFunc } from './cache.js';

export interface InformerScope {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface SharedInformerFactoryOptions {
  readonly client: KubeClient;
  readonly defaultResyncPeriodMs?: number;
  readonly pageSize?: number;
  readonly maxPendingNotifications?: number;
  readonly onError?: (error: unknown, context: string) => void;
  /** Distinct informers (default 256): each holds a watch on the apiserver. */
  readonly maxInformers?: number;
}

/**
 * One informer per (resource, namespace, selectors), shared by every controller that asks, so a
 * controller-manager holds one watch per resource however many controllers read it.
 */
export class SharedInformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private started = false;

  constructor(private readonly options: SharedInformerFactoryOptions) {}

  informerFor<T extends KubeObject = KubeObject>(resource: ResourceRef, scope: InformerScope = {}): Informer<T> {
    const info = resolveResource(resource);
    const key = [info.group, info.version, info.resource, scope.namespace ?? '', scope.labelSelector ?? '', scope.fieldSelector ?? ''].join('|');
    const existing = this.informers.get(key);
    if (existing !== undefined) return existing as unknown as Informer<T>;
    if (this.informers.size >= (this.options.maxInformers ?? 256)) throw new Error('SharedInformerFactory: too many informers');
    const informer = new Informer<KubeObject>({
      client: this.options.client, resource, ...scope,
      resyncPeriodMs: this.options.defaultResyncPeriodMs, pageSize: this.options.pageSize,
      maxPendingNotifications: this.options.maxPendingNotifications, onError: this.options.onError,
    });
    this.informers.set(key, informer);
    if (this.started) informer.start();
    return informer as unknown as Informer<T>;
  }

  /** Starts every informer requested so far, and any requested later. */
  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  /** True when every informer has synced; false if one was stopped (or `signal` aborted) first. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every((r) => r);
  }

  shutdown(): void {
    this.started = false;
    for (const informer of this.informers.values()) informer.stop();
  }

  get size(): number {
    return this.informers.size;
  }
}
