/**
 * The watch hub: etcd's watchable store, pure. The MVCC change log is the only event source, and
 * each watcher keeps the next revision it owes (`next`), so delivery is ordered, unique and
 * gapless by construction: a poll hands out changes from `next` on and moves `next` past them.
 *
 * - atomic: a response holds whole revisions; a revision is never split across responses.
 * - resumable: a watcher started at r sees every matching change with modRevision >= r,
 *   replayed from history and then live; `header.revision` of an event response is the revision
 *   through which the watcher is complete.
 * - bookmarkable: `progress` answers only watchers that have everything up to the current
 *   revision, with that revision.
 * - compaction: a watcher whose `next` falls below the compaction revision is cancelled with
 *   `compactRevision` (its start is gone; the client must re-list).
 * - bounded: `maxUnackedEvents` per watcher. Events handed to the shell count as unacked until
 *   the shell calls `ack` (when the client consumed them). A watcher catching up from history is
 *   simply paused when its window is full (history is the buffer). A live watcher that cannot take
 *   the new events is cancelled with reason 'slowWatcher' and the revision it is complete to, so
 *   the client can resume there; it is never silently gapped.
 *
 * The shell calls `poll` after applying entries, delivers the responses, and calls `ack`.
 */
import { type MvccStore, type Revisioned, bounds, toEvent } from './mvcc.js';
import { type KeySelector, type ResponseHeader, type Result, type WatchEvent, fail, ok } from './types.js';
import { assert } from '../primitives/assert.js';

export interface WatchOptions {
  readonly maxWatchers: number;
  /** Events handed out but not yet acknowledged, per watcher. */
  readonly maxUnackedEvents: number;
  /** Soft cap on events in one response (a single larger revision still goes whole). */
  readonly maxEventsPerResponse: number;
}

export const defaultWatchOptions: WatchOptions = { maxWatchers: 10_000, maxUnackedEvents: 10_000, maxEventsPerResponse: 1_000 };

export interface WatchRequest extends KeySelector {
  /** Inclusive; 0 or absent: only changes after the current revision. */
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** Include this watcher in `progress()` bookmarks. */
  readonly progressNotify?: boolean;
}

export type WatchCancelReason = 'compacted' | 'slowWatcher' | 'canceled';

/** One watch response: whole revisions only; `revision` is how far the watcher is complete. */
export type WatchUpdate =
  | { readonly kind: 'events'; readonly revision: number; readonly events: readonly WatchEvent[] }
  | { readonly kind: 'progress'; readonly revision: number }
  /** The watch ended; `compactRevision` set when the start revision was compacted (re-list). */
  | { readonly kind: 'canceled'; readonly reason: string; readonly compactRevision?: number };

export interface WatchResponse {
  readonly watchId: number;
  readonly header: ResponseHeader;
  readonly events: WatchEvent[];
  readonly created?: true;
  readonly canceled?: true;
  readonly cancelReason?: WatchCancelReason;
  /** Set when cancelled because the requested history was compacted. */
  readonly compactRevision?: number;
}

interface Watcher {
  readonly id: number;
  readonly from: string;
  readonly to: string | undefined;
  readonly single: boolean;
  readonly prevKv: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly progressNotify: boolean;
  /** The next revision this watcher is owed. */
  next: number;
  unacked: number;
  /** Caught up at least once: from then on it is live and overflow cancels it. */
  live: boolean;
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private nextId = 1;

  constructor(private store: MvccStore, private readonly options: WatchOptions = defaultWatchOptions) {
    assert(options.maxUnackedEvents > 0 && options.maxEventsPerResponse > 0, 'watch limits must be positive');
  }

  /**
   * Follows a store rebuilt from a snapshot (a member that fell behind). Watchers keep their
   * position: the new store's history since its compaction point serves them, and a watcher
   * owed revisions older than that is cancelled as compacted at the next poll. The new store must
   * not be behind the old one.
   */
  rebind(store: MvccStore): void {
    assert(store.currentRevision >= this.store.currentRevision, `rebind to an older store (${store.currentRevision} < ${this.store.currentRevision})`);
    this.store = store;
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Creates a watcher: a `created` response, followed by a cancel when the start is compacted. */
  watch(request: WatchRequest): Result<WatchResponse[]> {
    if (this.watchers.size >= this.options.maxWatchers) return fail({ code: 'tooManyWatchers', limit: this.options.maxWatchers });
    const b = bounds(request);
    const current = this.store.currentRevision;
    const start = request.startRevision && request.startRevision > 0 ? request.startRevision : current + 1;
    const watcher: Watcher = {
      id: this.nextId++, from: b.from, to: b.to, single: b.single, prevKv: request.prevKv === true,
      noPut: request.noPut === true, noDelete: request.noDelete === true, progressNotify: request.progressNotify === true,
      next: start, unacked: 0, live: false,
    };
    const created: WatchResponse = { watchId: watcher.id, header: { revision: current }, events: [], created: true };
    if (start < this.store.compactRevision) {
      return ok([created, { watchId: watcher.id, header: { revision: current }, events: [], canceled: true, cancelReason: 'compacted', compactRevision: this.store.compactRevision }]);
    }
    this.watchers.set(watcher.id, watcher);
    return ok([created]);
  }

  /** Client cancel; undefined when no such watcher. */
  cancel(watchId: number): WatchResponse | undefined {
    const watcher = this.watchers.get(watchId);
    if (!watcher) return undefined;
    return this.cancelled(watcher, 'canceled');
  }

  /** The client consumed `events` events of this watcher. */
  ack(watchId: number, events: number): void {
    const watcher = this.watchers.get(watchId);
    if (!watcher || !(events > 0)) return;
    // Acks come from clients over the network (late, duplicated, after a re-create): an ack beyond
    // what is outstanding frees everything, it is not a broken invariant of this process.
    watcher.unacked -= Math.min(events, watcher.unacked);
  }

  /** The next revision a watcher is owed (for tests and metrics). */
  nextRevision(watchId: number): number | undefined {
    return this.watchers.get(watchId)?.next;
  }

  /** Responses due to every watcher for changes up to the current revision. */
  poll(): WatchResponse[] {
    const out: WatchResponse[] = [];
    for (const watcher of [...this.watchers.values()]) this.pollOne(watcher, out);
    return out;
  }

  /**
   * Bookmarks: for every watcher in `watchIds` (default: those that asked for progress notify)
   * that is owed nothing, an empty response at the current revision.
   */
  progress(watchIds?: readonly number[]): WatchResponse[] {
    const current = this.store.currentRevision;
    const ids = watchIds ?? [...this.watchers.values()].filter((w) => w.progressNotify).map((w) => w.id);
    const out: WatchResponse[] = [];
    for (const id of ids) {
      const watcher = this.watchers.get(id);
      if (watcher && watcher.next > current) out.push({ watchId: id, header: { revision: current }, events: [] });
    }
    return out;
  }

  private pollOne(watcher: Watcher, out: WatchResponse[]): void {
    const current = this.store.currentRevision;
    if (watcher.next < this.store.compactRevision) {
      out.push({ ...this.cancelled(watcher, 'compacted'), compactRevision: this.store.compactRevision });
      return;
    }
    if (watcher.next > current) return;
    let batch: WatchEvent[] = [];
    let pending: Revisioned[] = [];
    let pendingRevision = 0;
    let full = false;
    // Take whole revisions: `pending` collects one revision's matches until the next revision starts.
    const flushRevision = (): boolean => {
      const fits = watcher.unacked === 0 || watcher.unacked + pending.length <= this.options.maxUnackedEvents;
      if (!fits) return false;
      for (const rec of pending) batch.push(toEvent(rec, watcher.prevKv));
      watcher.unacked += pending.length;
      watcher.next = pendingRevision + 1;
      pending = [];
      if (batch.length >= this.options.maxEventsPerResponse) {
        out.push({ watchId: watcher.id, header: { revision: watcher.next - 1 }, events: batch });
        batch = [];
      }
      return true;
    };
    this.store.changes(watcher.next, current, (rec) => {
      if (rec.modRevision !== pendingRevision && pending.length > 0 && !flushRevision()) {
        full = true;
        return false;
      }
      pendingRevision = rec.modRevision;
      if (this.matches(watcher, rec)) pending.push(rec);
    });
    if (!full && pending.length > 0 && !flushRevision()) full = true;
    if (!full) watcher.next = current + 1;
    if (batch.length > 0) out.push({ watchId: watcher.id, header: { revision: watcher.next - 1 }, events: batch });
    if (full && watcher.live) {
      out.push(this.cancelled(watcher, 'slowWatcher'));
      return;
    }
    if (!full) watcher.live = true;
  }

  private matches(watcher: Watcher, rec: Revisioned): boolean {
    if (rec.tombstone ? watcher.noDelete : watcher.noPut) return false;
    if (watcher.single) return rec.key === watcher.from;
    return rec.key >= watcher.from && (watcher.to === undefined || rec.key < watcher.to);
  }

  private cancelled(watcher: Watcher, reason: WatchCancelReason): WatchResponse {
    this.watchers.delete(watcher.id);
    // The revision through which the watcher is complete: resume at header.revision + 1.
    return { watchId: watcher.id, header: { revision: watcher.next - 1 }, events: [], canceled: true, cancelReason: reason };
  }
}
