/**
 * A resuming watch as a cold RxJS Observable (subscribe starts it, unsubscribe stops it), like
 * client-go's RetryWatcher: when a stream ends (server timeout, apiserver failover, broken
 * connection) it re-watches from the last resourceVersion it saw (object or BOOKMARK), so no
 * event is lost or repeated. When the server answers 410 (a response or an ERROR event with
 * reason Expired/Gone), resuming is impossible: it emits EXPIRED and completes, and the caller
 * (the informer) re-lists.
 */
import { Observable, type Subscription } from 'rxjs';
import { asRecord, asString, isStatus, statusFailure, type KubeObject, type Status } from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { ApiWatchEvent, ApiWatchResult } from './api-transport.js';
import { ApiError, apiErrorFromResponse, asTransportError, isGone, isRetriable } from './errors.js';
import { Backoff } from './timing.js';
import { sleep } from '../primitives/clock.js';

export type WatchSignal<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T; readonly resourceVersion: string }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  /** The resume point is gone (410): re-list. The observable completes right after. */
  | { readonly type: 'EXPIRED'; readonly status: Status };

export interface ResumingWatchOptions {
  /** Opens one watch request from `resourceVersion` (undefined: from now, with synthetic ADDs). */
  readonly open: (resourceVersion: string | undefined) => Promise<ApiWatchResult>;
  readonly clock: Clock;
  readonly prng?: Prng | undefined;
  readonly resourceVersion?: string | undefined;
  /** Delay before re-watching after a failure or an empty stream (default 200 ms doubling to 30 s). */
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
}

type StreamEnd =
  | { readonly kind: 'ended'; readonly delivered: number }
  | { readonly kind: 'expired'; readonly status: Status }
  | { readonly kind: 'failed'; readonly error: Error; readonly delivered: number };

export function watchObservable<T extends KubeObject>(options: ResumingWatchOptions): Observable<WatchSignal<T>> {
  return new Observable<WatchSignal<T>>((subscriber) => {
    const abort = new AbortController();
    let inner: Subscription | undefined;
    let resourceVersion = options.resourceVersion;
    const backoff = new Backoff({
      initialMs: options.retryInitialMs ?? 200, maxMs: options.retryMaxMs ?? 30_000, jitter: 0.2, prng: options.prng,
    });

    const emit = (signal: WatchSignal<T>): void => {
      if (signal.type === 'BOOKMARK' || signal.type === 'ADDED' || signal.type === 'MODIFIED' || signal.type === 'DELETED') {
        resourceVersion = signal.resourceVersion;
      }
      subscriber.next(signal);
    };

    const follow = (events: Observable<ApiWatchEvent>): Promise<StreamEnd> => new Promise((resolve) => {
      let delivered = 0;
      let settled = false;
      const settle = (end: StreamEnd): void => {
        if (settled) return;
        settled = true;
        resolve(end);
      };
      abort.signal.addEventListener('abort', () => settle({ kind: 'ended', delivered }), { once: true });
      inner = events.subscribe({
        next: (event) => {
          if (settled || abort.signal.aborted) return;
          const signal = decodeEvent<T>(event);
          if (signal instanceof ApiError) {
            if (isGone(signal)) settle({ kind: 'expired', status: signal.status });
            else settle({ kind: 'failed', error: signal, delivered });
            inner?.unsubscribe();
            return;
          }
          delivered++;
          emit(signal);
        },
        error: (error: unknown) => settle({ kind: 'failed', error: asTransportError(error), delivered }),
        complete: () => settle({ kind: 'ended', delivered }),
      });
    });

    const run = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        let end: StreamEnd;
        try {
          const result = await options.open(resourceVersion);
          if (abort.signal.aborted) {
            // Opened after we were stopped: subscribe-and-release frees the stream (an HTTPS socket).
            if (result.kind === 'stream') result.events.subscribe().unsubscribe();
            return;
          }
          if (result.kind === 'response') {
            const error = apiErrorFromResponse(result.response.status, result.response.body);
            end = isGone(error) ? { kind: 'expired', status: error.status } : { kind: 'failed', error, delivered: 0 };
          } else {
            end = await follow(result.events);
            inner?.unsubscribe();
            inner = undefined;
          }
        } catch (error) {
          end = { kind: 'failed', error: error instanceof Error ? error : asTransportError(error), delivered: 0 };
        }
        if (abort.signal.aborted) return;
        switch (end.kind) {
          case 'expired':
            subscriber.next({ type: 'EXPIRED', status: end.status });
            subscriber.complete();
            return;
          case 'failed':
            if (!isRetriable(end.error)) {
              subscriber.error(end.error);
              return;
            }
            if (end.delivered > 0) backoff.reset();
            await sleep(options.clock, backoff.next(), abort.signal);
            break;
          case 'ended':
            // A stream that carried events ended normally (timeoutSeconds, failover): resume at
            // once. An empty one may be a server closing immediately: back off, never spin.
            if (end.delivered > 0) backoff.reset();
            else await sleep(options.clock, backoff.next(), abort.signal);
            break;
          default: {
            const never: never = end;
            throw new Error(`unexpected stream end ${JSON.stringify(never)}`);
          }
        }
      }
    };
    run().catch((error: unknown) => subscriber.error(error));
    return () => {
      abort.abort();
      inner?.unsubscribe();
    };
  });
}

/** A typed signal, or the ApiError an ERROR event (or a malformed one) stands for. */
function decodeEvent<T extends KubeObject>(event: ApiWatchEvent): WatchSignal<T> | ApiError {
  const rv = asString(asRecord(event.object['metadata'])?.['resourceVersion']);
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      if (rv === undefined) return new ApiError(statusFailure(500, 'InternalError', `watch ${event.type} event without resourceVersion`));
      return { type: event.type, object: event.object as T, resourceVersion: rv };
    case 'BOOKMARK':
      if (rv === undefined) return new ApiError(statusFailure(500, 'InternalError', 'BOOKMARK without resourceVersion'));
      return { type: 'BOOKMARK', resourceVersion: rv };
    case 'ERROR': {
      const status = event.object;
      if (isStatus(status)) return new ApiError(status as unknown as Status);
      return new ApiError(statusFailure(500, 'InternalError', 'watch ERROR event without a Status'));
    }
    default: {
      const never: never = event.type;
      throw new Error(`unknown watch event type ${String(never)}`);
    }
  }
}
