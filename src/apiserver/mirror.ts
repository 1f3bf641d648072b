/**
 * A resource kept in memory from list + watch-cache events (an informer inside the apiserver): the
 * RBAC objects the authorizer reads and the pods the Node authorizer's graph follows. Entries only
 * move forward in revision, so a list and events may arrive in any order.
 *
 * Like client-go's reflector, a mirror survives a lost watch: when its watch cache goes blind it
 * starts the cache again and re-lists (dropping what was deleted meanwhile), retrying with capped
 * exponential backoff on the injected clock until it succeeds or is stopped.
 */
import type { JsonObject, ResourceInfo } from '../api/index.js';
import type { Clock, TimerId } from '../primitives/clock.js';
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
  /** undefined: a tombstone, kept only while a list is in flight. */
  readonly object: JsonObject | undefined;
  readonly revision: number;
}

/** idle: not started (or the first start failed); waiting: a retry timer is set. */
type Phase = 'idle' | 'syncing' | 'synced' | 'waiting' | 'stopped';

export class Mirror {
  private readonly entries = new Map<string, Entry>();
  private changes = 0;
  private stopListening: (() => void) | undefined;
  private phase: Phase = 'idle';
  private timer: TimerId | undefined;
  private retryMs = 0;
  private syncedAtMs = 0;
  private listing = 0;
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
    return this.phase === 'synced';
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
  async start(): Promise<boolean> {
    if (this.phase !== 'idle') throw new Error(`mirror ${this.info.resource}: start while ${this.phase}`);
    this.stopListening ??= this.o.cache.listen({
      event: (e) => this.set(keyOf(e.object), e.type === 'DELETED' ? undefined : e.object, e.revision),
      lost: () => this.onLost(),
    });
    this.phase = 'syncing';
    const ok = this.holds(await this.sync());
    if (this.phase !== 'syncing') return false;
    this.phase = ok ? 'synced' : 'idle';
    if (ok) this.syncedAtMs = this.o.clock.now();
    return ok;
  }

  stop(): void {
    this.phase = 'stopped';
    if (this.timer !== undefined) this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.stopListening?.();
    this.stopListening = undefined;
  }

  values(): JsonObject[] {
    const out: JsonObject[] = [];
    for (const e of this.entries.values()) if (e.object !== undefined) out.push(e.object);
    return out;
  }

  private onLost(): void {
    // While syncing, the attempt in flight notices the cache's new generation and fails into a retry.
    if (this.phase !== 'synced') return;
    const healthy = this.o.clock.now() - this.syncedAtMs >= mirrorBackoffResetMs;
    this.retryLater(healthy ? 0 : this.retryMs);
  }

  /** Waits the backoff step after `previousMs` (the initial one after 0), then re-lists. */
  private retryLater(previousMs: number): void {
    this.retryMs = previousMs === 0 ? mirrorRetryInitialMs : Math.min(previousMs * 2, mirrorRetryMaxMs);
    this.phase = 'waiting';
    this.timer = this.o.clock.setTimer(this.retryMs, () => {
      this.timer = undefined;
      void this.resync();
    });
  }

  private async resync(): Promise<void> {
    if (this.phase !== 'waiting') return;
    this.phase = 'syncing';
    const ok = this.holds(await this.sync());
    if (this.phase !== 'syncing') return;
    if (!ok) {
      this.failures++;
      this.retryLater(this.retryMs);
      return;
    }
    this.phase = 'synced';
    this.syncedAtMs = this.o.clock.now();
    this.resyncs++;
  }

  /**
   * Whether the cache run a sync applied its list for is still the one running. A loss between the
   * sync's last check and now reached `onLost` while syncing (and was left to this check).
   */
  private holds(generation: number | undefined): boolean {
    return generation !== undefined && this.o.cache.started && this.o.cache.generation === generation;
  }

  /** Starts the cache (if it is not running) and applies a list taken after it began: the cache generation, or undefined on failure. */
  private async sync(): Promise<number | undefined> {
    this.listing++;
    try {
      if (!(await this.o.cache.start())) return undefined;
      const generation = this.o.cache.generation;
      const listed = await this.o.storage.list(this.info, undefined);
      // Lost again while listing, or a list older than the watch's start: changes in between would be missed.
      if (!listed.ok || !this.holds(generation) || listed.value.revision < this.o.cache.startRevision) return undefined;
      this.applyList(listed.value.items, listed.value.revision);
      return generation;
    } catch {
      // A rejected store call is one more failed attempt; the mirror must outlive it.
      return undefined;
    } finally {
      if (--this.listing === 0) this.dropTombstones();
    }
  }

  private applyList(items: readonly { readonly object: JsonObject; readonly modRevision: number }[], revision: number): void {
    const seen = new Set<string>();
    for (const s of items) {
      seen.add(keyOf(s.object));
      this.set(keyOf(s.object), s.object, s.modRevision);
    }
    // A list at the cap may be truncated: what it lacks may still exist, so nothing is pruned.
    if (items.length >= maxListItems) return;
    // Entries newer than the list came from events after it; older ones missing from it were deleted.
    for (const [k, e] of this.entries) if (!seen.has(k) && e.object !== undefined && e.revision <= revision) this.set(k, undefined, revision);
  }

  private set(key: string, object: JsonObject | undefined, revision: number): void {
    const cur = this.entries.get(key);
    if (cur !== undefined && cur.revision >= revision) return;
    const existed = cur?.object !== undefined;
    if (object !== undefined) {
      this.entries.set(key, { object, revision });
    } else {
      // Deleted keys are forgotten (bounded memory), except while a list read before the delete could bring them back.
      if (this.listing > 0) this.entries.set(key, { object: undefined, revision });
      else this.entries.delete(key);
      if (!existed) return;
    }
    this.changes++;
    this.o.onChange?.(key, object);
  }

  private dropTombstones(): void {
    for (const [k, e] of this.entries) if (e.object === undefined) this.entries.delete(k);
  }
}

function keyOf(o: JsonObject): string {
  const m = (o['metadata'] ?? {}) as Record<string, unknown>;
  return `${String(m['namespace'] ?? '')}/${String(m['name'] ?? '')}`;
}
