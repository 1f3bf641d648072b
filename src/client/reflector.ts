/**
 * The reflector (client-go's Reflector): list, then watch from the list's resourceVersion, and keep
 * following the resource however the watch ends. It is the one watch-resume loop of the project:
 * informers (src/client/informer.ts), the resuming watch `KubeClient.watch` (src/client/watch.ts)
 * and the apiserver's mirrors (src/apiserver/mirror.ts) all run on it.
 *
 * - A watch that ends normally (server timeout, failover) or fails (connection reset, 5xx) is
 *   resumed from the last resourceVersion seen, an event's or a BOOKMARK's, so nothing is lost or
 *   repeated and nothing is re-listed.
 * - A watch told that its resourceVersion is gone (410 Expired / Gone, "too old resource
 *   version") re-lists, then watches from the new list. Without a `list` (a watch-only reflector,
 *   client-go's RetryWatcher) it ends with `expired`: the caller must re-list.
 * - Between failures it waits an exponential backoff with a cap on the injected clock. A watch that
 *   made progress (delivered an event or bookmark) or stayed open `backoffResetMs` starts the
 *   backoff over; a stream that keeps ending empty is re-opened with growing delays, never in a
 *   hot loop.
 * - `stop()` ends it at once: the open watch is unsubscribed, a pending wait is cancelled, and
 *   nothing is delivered after.
 */
import type { Observable, Subscription } from 'rxjs';
import type { Status } from '../api/index.js';
import { sleep, type Clock } from '../primitives/clock.js';
import { Backoff, type BackoffOptions } from './timing.js';

/** A change, or a bookmark: each carries the resourceVersion to resume from after it. */
export type ReflectorEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T; readonly resourceVersion: string }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

/** What one watch stream carries. EXPIRED (the resume point is gone) is its last signal. */
export type ReflectorSignal<T> = ReflectorEvent<T> | { readonly type: 'EXPIRED'; readonly status: Status };

export interface ListResult<T> {
  readonly items: readonly T[];
  readonly resourceVersion: string;
}

/** Why a reflector ended by itself (never said after `stop()`). */
export type ReflectorEnd =
  | { readonly kind: 'expired'; readonly status: Status }
  | { readonly kind: 'failed'; readonly error: unknown };

export interface ReflectorHandler<T> {
  /** A (re-)list: the complete state at `resourceVersion`. Watch events after it follow. */
  list?(items: readonly T[], resourceVersion: string): void;
  event(event: ReflectorEvent<T>): void;
  /** A watch is open (after a list, a resume or a retry). */
  watching?(): void;
  /** The watch's resourceVersion is gone (410): a re-list follows. */
  expired?(status: Status): void;
  /** A failure that is retried after `retryInMs`. */
  error?(error: unknown, phase: 'list' | 'watch', retryInMs: number): void;
  /** The reflector ended by itself: a fatal error, or a watch-only reflector's resume point expired. */
  ended?(end: ReflectorEnd): void;
}

export interface ReflectorOptions<T> {
  /** The full state and its resourceVersion. Absent: watch only, from `resourceVersion`. */
  readonly list?: (signal: AbortSignal) => Promise<ListResult<T>>;
  /**
   * One watch from `resourceVersion` (undefined: from now). Cold: subscribing opens it and
   * unsubscribing closes it. It completes when the server ends it, errors when it fails, and
   * emits EXPIRED then completes when the resourceVersion is too old.
   */
  readonly watch: (resourceVersion: string | undefined) => Observable<ReflectorSignal<T>>;
  readonly clock: Clock;
  readonly backoff: BackoffOptions;
  /** A watch open this long was healthy: the wait after its end starts over (default 2 minutes, as client-go). */
  readonly backoffResetMs?: number;
  /** Where a watch-only reflector starts. */
  readonly resourceVersion?: string;
  /** Errors that end the reflector instead of being retried (default: none; everything is retried). */
  readonly isFatal?: (error: unknown) => boolean;
  readonly handler: ReflectorHandler<T>;
}

export type ReflectorState = 'idle' | 'listing' | 'watching' | 'waiting' | 'stopped';

type StreamEnd =
  | { readonly kind: 'ended'; readonly delivered: number; readonly healthy: boolean }
  | { readonly kind: 'expired'; readonly status: Status; readonly delivered: number }
  | { readonly kind: 'failed'; readonly error: unknown; readonly delivered: number; readonly healthy: boolean }
  | { readonly kind: 'stopped' };

/** Where the loop goes next: a list, or a watch (`fresh`: opened straight from a list's resourceVersion). */
type Next = { readonly kind: 'list' } | { readonly kind: 'watch'; readonly fresh: boolean };

const defaultBackoffResetMs = 120_000;

export class Reflector<T> {
  private abort: AbortController | undefined;
  private stream: Subscription | undefined;
  private current: ReflectorState = 'idle';
  private resourceVersion: string | undefined;
  private readonly backoff: Backoff;
  /** Counters, for tests and metrics: list attempts, watch requests, re-lists after an expiry. */
  readonly stats = { lists: 0, watches: 0, relists: 0 };

  constructor(private readonly options: ReflectorOptions<T>) {
    this.backoff = new Backoff(options.backoff);
    this.resourceVersion = options.resourceVersion;
  }

  get state(): ReflectorState {
    return this.current;
  }

  /** The resourceVersion the handler has been told everything up to ('' before the first list). */
  get lastSyncResourceVersion(): string {
    return this.resourceVersion ?? '';
  }

  /** Starts (again, after a stop) the loop: list first when there is a `list`, else watch. */
  start(): void {
    if (this.abort !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.run(abort).catch((error: unknown) => this.end(abort, { kind: 'failed', error }));
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.stream?.unsubscribe();
    this.stream = undefined;
    this.current = 'stopped';
  }

  private async run(abort: AbortController): Promise<void> {
    const signal = abort.signal;
    let next: Next = this.options.list !== undefined ? { kind: 'list' } : { kind: 'watch', fresh: false };
    while (!signal.aborted) {
      if (next.kind === 'list') {
        next = await this.relist(this.options.list!, abort);
        continue;
      }
      const end = await this.follow(signal);
      switch (end.kind) {
        case 'stopped':
          return;
        case 'expired':
          if (this.options.list === undefined) {
            this.end(abort, { kind: 'expired', status: end.status });
            return;
          }
          this.stats.relists++;
          this.options.handler.expired?.(end.status);
          // A list's own resourceVersion refused at once would re-list in a hot loop: wait first.
          if (next.fresh && end.delivered === 0) await this.wait(signal);
          next = { kind: 'list' };
          break;
        case 'failed': {
          if (this.options.isFatal?.(end.error) === true) {
            this.end(abort, { kind: 'failed', error: end.error });
            return;
          }
          if (end.delivered > 0 || end.healthy) this.backoff.reset();
          const delayMs = this.backoff.next();
          this.report(end.error, 'watch', delayMs);
          await this.wait(signal, delayMs);
          next = { kind: 'watch', fresh: false };
          break;
        }
        case 'ended':
          // A stream that made progress resumes at once; an empty one may be a server closing
          // immediately, so it waits.
          if (end.delivered > 0 || end.healthy) this.backoff.reset();
          else await this.wait(signal);
          next = { kind: 'watch', fresh: false };
          break;
        default: {
          const never: never = end;
          throw new Error(`unexpected stream end ${JSON.stringify(never)}`);
        }
      }
    }
  }

  private async relist(list: (signal: AbortSignal) => Promise<ListResult<T>>, abort: AbortController): Promise<Next> {
    const signal = abort.signal;
    this.current = 'listing';
    this.stats.lists++;
    let listed: ListResult<T>;
    try {
      listed = await list(signal);
    } catch (error) {
      if (signal.aborted) return { kind: 'list' };
      if (this.options.isFatal?.(error) === true) {
        this.end(abort, { kind: 'failed', error });
        return { kind: 'list' };
      }
      const delayMs = this.backoff.next();
      this.report(error, 'list', delayMs);
      await this.wait(signal, delayMs);
      return { kind: 'list' };
    }
    if (signal.aborted) return { kind: 'list' };
    this.resourceVersion = listed.resourceVersion;
    this.options.handler.list?.(listed.items, listed.resourceVersion);
    return { kind: 'watch', fresh: true };
  }

  /** Follows one watch from the current resourceVersion until it ends (or the reflector stops). */
  private follow(signal: AbortSignal): Promise<StreamEnd> {
    if (signal.aborted) return Promise.resolve({ kind: 'stopped' });
    this.stats.watches++;
    const openedAtMs = this.options.clock.now();
    const healthy = (): boolean => this.options.clock.now() - openedAtMs >= (this.options.backoffResetMs ?? defaultBackoffResetMs);
    let subscription: Subscription | undefined;
    return new Promise<StreamEnd>((resolve) => {
      let delivered = 0;
      let settled = false;
      const settle = (end: StreamEnd): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        // Synchronously, so that `state` says at once that the reflector is no longer watching.
        if (end.kind !== 'stopped' && !signal.aborted) this.current = 'waiting';
        resolve(end);
      };
      const onAbort = (): void => settle({ kind: 'stopped' });
      signal.addEventListener('abort', onAbort, { once: true });
      this.current = 'watching';
      subscription = this.options.watch(this.resourceVersion).subscribe({
        next: (s) => {
          if (settled || signal.aborted) return;
          if (s.type === 'EXPIRED') {
            settle({ kind: 'expired', status: s.status, delivered });
            return;
          }
          try {
            this.options.handler.event(s);
          } catch (error) {
            // The event was not taken: it is not past the resume point, so it comes again.
            settle({ kind: 'failed', error, delivered, healthy: healthy() });
            return;
          }
          delivered++;
          this.resourceVersion = s.resourceVersion;
        },
        error: (error: unknown) => settle({ kind: 'failed', error, delivered, healthy: healthy() }),
        complete: () => settle({ kind: 'ended', delivered, healthy: healthy() }),
      });
      if (settled || signal.aborted) {
        subscription.unsubscribe();
        return;
      }
      this.stream = subscription;
      this.options.handler.watching?.();
    }).then((end) => {
      subscription?.unsubscribe();
      if (this.stream === subscription) this.stream = undefined;
      return end;
    });
  }

  /** Waits `delayMs` (default the next backoff step); a stop cuts the wait short. */
  private async wait(signal: AbortSignal, delayMs = this.backoff.next()): Promise<void> {
    if (signal.aborted) return;
    this.current = 'waiting';
    await sleep(this.options.clock, delayMs, signal);
  }

  private report(error: unknown, phase: 'list' | 'watch', retryInMs: number): void {
    this.options.handler.error?.(error, phase, retryInMs);
  }

  /** Ends the run of `abort` (if still the current one) and says why. */
  private end(abort: AbortController, end: ReflectorEnd): void {
    if (abort !== this.abort || abort.signal.aborted) return;
    this.stop();
    this.options.handler.ended?.(end);
  }
}
