/**
 * `?watch=true`: initial state (resourceVersion unset or "0"), then every change after the start
 * revision, filtered per watcher with Kubernetes' selector transitions (an object that stops
 * matching is DELETED for this watcher, one that starts matching is ADDED), bookmarks, timeout,
 * and 410 Expired as an ERROR event when the start revision is gone.
 */
import { Observable, type Subscriber } from 'rxjs';
import {
  asRecord, badRequest, bookmarkObject, expired, type JsonObject, parseIncludeObject, tableFor, wantsTable, type IncludeObject,
} from '../api/index.js';
import type { ApiWatchEvent, ApiWatchResult } from '../client/api-transport.js';
import type { KvClient } from '../client/kv.js';
import type { Clock, TimerId } from '../primitives/clock.js';
import { defaultWatchTimeoutSeconds, maxWatchTimeoutSeconds } from './limits.js';
import { filterOf, isTruthyParam, type ObjectFilter, statusResponse } from './request.js';
import type { RestCall } from './rest.js';
import type { ObjectStorage } from './storage.js';
import { type CachedEvent, type ChangeType, directEvents, type WatchCache } from './watch-cache.js';

/** The serialised line of an event shared by many watchers (the HTTPS adapter writes it as is). */
const encodedLine: unique symbol = Symbol('pocketkube.encodedWatchLine');

export type EncodedWatchEvent = ApiWatchEvent & { readonly [encodedLine]?: string };

export function watchLineOf(e: ApiWatchEvent): string {
  return (e as EncodedWatchEvent)[encodedLine] ?? JSON.stringify({ type: e.type, object: e.object });
}

export interface WatchDeps {
  readonly kv: KvClient;
  readonly storage: ObjectStorage;
  readonly cache: WatchCache;
  readonly clock: Clock;
  readonly bookmarkIntervalMs: number;
  /** Called once when the stream ends, for watcher accounting. */
  readonly onEnd: () => void;
  /** Sabotage: the changes whose revision is a multiple of this are never delivered (a watch with gaps). */
  readonly unsafeSkipEvery?: number;
}

interface WatchParams {
  readonly filter: ObjectFilter;
  readonly startRv: number | undefined;
  readonly timeoutMs: number;
  readonly bookmarks: boolean;
  readonly table: IncludeObject | undefined;
}

function paramsOf(c: RestCall): { ok: true; value: WatchParams } | { ok: false; response: ApiWatchResult } {
  const refuse = (message: string): { ok: false; response: ApiWatchResult } => ({ ok: false, response: { kind: 'response', response: statusResponse(badRequest(message)) } });
  const filter = filterOf(c.route.info, c.query);
  if (!filter.ok) return { ok: false, response: { kind: 'response', response: statusResponse(filter.status) } };
  const rv = c.query['resourceVersion'];
  if (rv !== undefined && rv !== '' && !/^[0-9]{1,16}$/.test(rv)) return refuse(`invalid resource version "${rv}"`);
  const t = c.query['timeoutSeconds'];
  const seconds = t === undefined || t === '' ? defaultWatchTimeoutSeconds : Number(t);
  if (!Number.isFinite(seconds) || seconds < 0) return refuse(`invalid timeoutSeconds "${t ?? ''}"`);
  let table: IncludeObject | undefined;
  if (wantsTable(c.headers['accept'])) {
    table = parseIncludeObject(c.query['includeObject']);
    if (table === undefined) return refuse(`includeObject: Unsupported value: "${c.query['includeObject'] ?? ''}"`);
  }
  const name = c.route.name;
  const nameFilter: ObjectFilter = name === undefined ? filter.value : (o) => asRecord(o['metadata'])?.['name'] === name && filter.value(o);
  const namespace = c.route.namespace;
  const scoped: ObjectFilter = namespace === undefined ? nameFilter : (o) => asRecord(o['metadata'])?.['namespace'] === namespace && nameFilter(o);
  return { ok: true, value: {
    filter: scoped, startRv: rv === undefined || rv === '' || rv === '0' ? undefined : Number(rv),
    timeoutMs: Math.min(seconds === 0 ? defaultWatchTimeoutSeconds : seconds, maxWatchTimeoutSeconds) * 1000,
    bookmarks: isTruthyParam(c.query['allowWatchBookmarks']), table,
  } };
}

/** Sets up a watch; refusals (400, store errors) come back as a response before any streaming. */
export async function startWatch(watchDeps: WatchDeps, c: RestCall): Promise<ApiWatchResult> {
  // The stream is meant to be subscribed once; a second subscription must not un-count the watcher twice.
  let ended = false;
  const deps: WatchDeps = { ...watchDeps, onEnd: () => { if (!ended) { ended = true; watchDeps.onEnd(); } } };
  const p = paramsOf(c);
  if (!p.ok) {
    deps.onEnd();
    return p.response;
  }
  const started = await deps.cache.start();
  let initial: JsonObject[] = [];
  let since = p.value.startRv ?? 0;
  if (p.value.startRv === undefined) {
    const listed = await deps.storage.list(c.route.info, c.route.namespace);
    if (!listed.ok) {
      deps.onEnd();
      return { kind: 'response', response: statusResponse(listed.status) };
    }
    initial = listed.value.items.map((s) => s.object).filter(p.value.filter);
    since = listed.value.revision;
  }
  return { kind: 'stream', events: new Observable((sub) => runWatch(deps, c, p.value, initial, since, started, sub)) };
}

function runWatch(deps: WatchDeps, c: RestCall, p: WatchParams, initial: JsonObject[], since: number, cacheStarted: boolean,
  sub: Subscriber<ApiWatchEvent>): () => void {
  const info = c.route.info;
  let last = since;
  let viaCache = false;
  const emit = (type: ApiWatchEvent['type'], object: JsonObject, rv: number, line?: string): void => {
    if (p.table !== undefined && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      sub.next({ type, object: tableFor(info, [object], { nowMs: c.nowMs, resourceVersion: String(rv), includeObject: p.table }) });
    } else if (line !== undefined) {
      sub.next({ type, object, [encodedLine]: line } as EncodedWatchEvent);
    } else {
      sub.next({ type, object });
    }
  };
  for (const o of initial) emit('ADDED', o, since);
  const deliver = (e: CachedEvent): void => {
    if (e.revision <= last) return;
    last = e.revision;
    if (deps.unsafeSkipEvery !== undefined && e.revision % deps.unsafeSkipEvery === 0) return;
    const t = transition(e, p.filter);
    if (t !== undefined) emit(t.type, t.usePrev ? e.prev! : e.object, e.revision, p.table === undefined ? e.lineOf(t.type, t.usePrev) : undefined);
  };
  const timers: TimerId[] = [];
  let unsubscribe: (() => void) | undefined;
  let ended = false;
  const finish = (): void => {
    if (ended) return;
    ended = true;
    for (const t of timers) deps.clock.clearTimer(t);
    unsubscribe?.();
    deps.onEnd();
  };
  const subscribed = cacheStarted ? deps.cache.subscribe(since, { deliver, end: () => sub.complete() }) : undefined;
  if (subscribed?.ok) {
    viaCache = true;
    unsubscribe = subscribed.unsubscribe;
  } else {
    const s = directEvents(deps.kv, info, since).subscribe((d) => {
      if (d.kind === 'event') deliver(d.event);
      else if (d.kind === 'expired') {
        sub.next({ type: 'ERROR', object: expired(String(since), String(d.compactRevision)) as unknown as JsonObject });
        sub.complete();
      } else sub.complete();
    });
    unsubscribe = () => s.unsubscribe();
  }
  timers.push(deps.clock.setTimer(p.timeoutMs, () => sub.complete()));
  if (p.bookmarks) {
    const tick = (): void => {
      last = viaCache ? Math.max(last, deps.cache.revision) : last;
      sub.next({ type: 'BOOKMARK', object: bookmarkObject(info, String(last)) });
      timers.push(deps.clock.setTimer(deps.bookmarkIntervalMs, tick));
    };
    timers.push(deps.clock.setTimer(deps.bookmarkIntervalMs, tick));
  }
  return finish;
}

/** What this watcher sees of a change, given its filter (Kubernetes' cacheWatcher.convertToWatchEvent). */
function transition(e: CachedEvent, filter: ObjectFilter): { type: ChangeType; usePrev: boolean } | undefined {
  if (e.type === 'DELETED') return filter(e.object) ? { type: 'DELETED', usePrev: false } : undefined;
  const cur = filter(e.object);
  if (e.type === 'ADDED' || e.prev === undefined) return cur ? { type: e.type, usePrev: false } : undefined;
  const prev = filter(e.prev);
  if (cur && prev) return { type: 'MODIFIED', usePrev: false };
  if (cur) return { type: 'ADDED', usePrev: false };
  if (prev) return { type: 'DELETED', usePrev: true };
  return undefined;
}
