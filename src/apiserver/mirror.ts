/**
 * A resource kept in memory from list + watch-cache events (an informer inside the apiserver): the
 * RBAC objects the authorizer reads and the pods the Node authorizer's graph follows.
 *
 * It runs on the client's Reflector (src/client/reflector.ts): list from the store, then follow
 * the resource's watch cache from the list's revision. When the cache goes blind (it lost its etcd
 * watch) the mirror's watch fails; after a backoff it finds the cache stopped or restarted past its
 * resume point (410) and re-lists, which starts the cache again and drops what was deleted
 * meanwhile. Failed attempts back off exponentially with a cap on the injected clock until one
 * succeeds or the mirror is stopped.
 */
import { Observable } from 'rxjs';
import { expired, type JsonObject, type ResourceInfo } from '../api/index.js';
import { Reflector, type ListResult, type ReflectorSignal } from '../client/reflector.js';
import type { Clock } from '../primitives/clock.js';
import { maxListItems } from './limits.js';
import type { ObjectStorage } from './storage.js';
import type { WatchCache } from './watch-cache.js';

/** Wait before the first re-list after a loss (and after a first failed attempt). */
export const mirrorRetryInitialMs = 100;
/** The backoff doubles up to this. */
export const mirrorRetryMaxMs = 5_000;
/** A sync that held this long was healthy: the next loss starts the backoff over (client-go resets after stable runs). */
export const mirrorBackoffResetMs = 60_000;

export interface MirrorOptions {
  readonly cache: WatchCache;
  readonly storage: ObjectStorage;
  readonly clock: Clock;
  /** Every change of an object (undefined: deleted), in the order the mirror applies them. Never mutate the object. */
  readonly onChange?: (key: string, object: JsonObject | undefined) => void;
}

interface Entry {
  readonly object: JsonObject;
  readonly revision: number;
}

/** idle: not started (or the first start failed). */
type Phase = 'idle' | 'starting' | 'running' | 'stopped';

export class Mirror {
  private readonly entries = new Map<string, Entry>();
  private changes = 0;
  private phase: Phase = 'idle';
  private reflector: Reflector<JsonObject> | undefined;
  /** A re-list happened since the last watch opened: the next open is a restart. */
  private relisted = false;
  private resyncs = 0;
  private failures = 0;

  constructor(private readonly o: MirrorOptions) {}

  get info(): ResourceInfo {
    return this.o.cache.info;
  }

  /** Bumps on every change: a cheap version for consumers that rebuild derived state. */
  get version(): number {
    return this.changes;
  }

  /** Whether the mirror follows the store now (false while it is blind after a loss, until the re-list succeeds). */
  get synced(): boolean {
    return this.phase === 'running' && this.reflector?.state === 'watching';
  }

  /** Re-lists that succeeded after a lost watch. */
  get restarts(): number {
    return this.resyncs;
  }

  /** Re-list attempts that failed (each one followed by a backoff). */
  get failedAttempts(): number {
    return this.failures;
  }

  /** The first list + watch, one attempt; once it succeeded, the mirror recovers from losses by itself. */
  start(): Promise<boolean> {
    if (this.phase !== 'idle') throw new Error(`mirror ${this.info.resource}: start while ${this.phase}`);
    this.phase = 'starting';
    return new Promise<boolean>((resolve) => {
      const firstAttempt = (ok: boolean): boolean => {
        if (this.phase !== 'starting') return false;
        if (ok) {
          this.phase = 'running';
        } else {
          this.reflector?.stop();
          this.reflector = undefined;
          this.phase = 'idle';
        }
        resolve(ok);
        return true;
      };
      this.reflector = new Reflector<JsonObject>({
        list: () => this.list(),
        watch: (resourceVersion) => this.watch(resourceVersion),
        clock: this.o.clock,
        backoff: { initialMs: mirrorRetryInitialMs, maxMs: mirrorRetryMaxMs },
        backoffResetMs: mirrorBackoffResetMs,
        handler: {
          list: (items, resourceVersion) => {
            this.applyList(items, Number(resourceVersion));
            this.relisted = this.phase === 'running';
          },
          event: (e) => {
            if (e.type === 'BOOKMARK') return;
            this.set(keyOf(e.object), e.type === 'DELETED' ? undefined : e.object, Number(e.resourceVersion));
          },
          watching: () => {
            if (firstAttempt(true)) return;
            if (this.relisted) this.resyncs++;
            this.relisted = false;
          },
          expired: () => { firstAttempt(false); },
          error: (_error, phase) => {
            if (firstAttempt(false)) return;
            if (phase === 'list') this.failures++;
          },
        },
      });
      this.reflector.start();
    });
  }

  stop(): void {
    this.phase = 'stopped';
    this.reflector?.stop();
    this.reflector = undefined;
  }

  values(): JsonObject[] {
    return [...this.entries.values()].map((e) => e.object);
  }

  /** Starts the cache (if it is not running) and lists the store after it began. */
  private async list(): Promise<ListResult<JsonObject>> {
    const resource = this.info.resource;
    if (!(await this.o.cache.start())) throw new Error(`mirror ${resource}: the watch cache cannot start`);
    const generation = this.o.cache.generation;
    const listed = await this.o.storage.list(this.info, undefined);
    if (!listed.ok) throw new Error(`mirror ${resource}: list failed: ${listed.status.message}`);
    // Lost again while listing, or a list older than the cache's run: a watch from it would miss changes.
    if (!this.o.cache.started || this.o.cache.generation !== generation || listed.value.revision < this.o.cache.startRevision) {
      throw new Error(`mirror ${resource}: the watch cache restarted during the list`);
    }
    return { items: listed.value.items.map((s) => s.object), resourceVersion: String(listed.value.revision) };
  }

  /** The watch cache's events after `resourceVersion`; EXPIRED when the cache cannot serve them (stopped, or restarted after it). */
  private watch(resourceVersion: string | undefined): Observable<ReflectorSignal<JsonObject>> {
    return new Observable<ReflectorSignal<JsonObject>>((sub) => {
      const since = Number(resourceVersion ?? '0');
      const subscribed = this.o.cache.subscribe(since, {
        deliver: (e) => sub.next({ type: e.type, object: e.object, resourceVersion: String(e.revision) }),
        end: (reason) => sub.error(new Error(`mirror ${this.info.resource}: the watch cache lost its etcd watch (${reason})`)),
      });
      if (!subscribed.ok) {
        sub.next({ type: 'EXPIRED', status: expired(String(since), String(this.o.cache.startRevision)) });
        sub.complete();
        return undefined;
      }
      return subscribed.unsubscribe;
    });
  }

  private applyList(items: readonly JsonObject[], revision: number): void {
    const seen = new Set<string>();
    for (const o of items) {
      const key = keyOf(o);
      seen.add(key);
      this.set(key, o, revisionOf(o));
    }
    // A list at the cap may be truncated: what it lacks may still exist, so nothing is pruned.
    if (items.length >= maxListItems) return;
    // What the list lacks was deleted while the mirror was blind.
    for (const [k, e] of this.entries) if (!seen.has(k) && e.revision <= revision) this.set(k, undefined, revision);
  }

  /** Entries only move forward in revision: an older state never replaces a newer one. */
  private set(key: string, object: JsonObject | undefined, revision: number): void {
    const cur = this.entries.get(key);
    if (cur !== undefined && cur.revision >= revision) return;
    if (object !== undefined) {
      this.entries.set(key, { object, revision });
    } else {
      if (cur === undefined) return;
      this.entries.delete(key);
    }
    this.changes++;
    this.o.onChange?.(key, object);
  }
}

function keyOf(o: JsonObject): string {
  const m = (o['metadata'] ?? {}) as Record<string, unknown>;
  return `${String(m['namespace'] ?? '')}/${String(m['name'] ?? '')}`;
}

function revisionOf(o: JsonObject): number {
  return Number(((o['metadata'] ?? {}) as Record<string, unknown>)['resourceVersion'] ?? 0);
}
