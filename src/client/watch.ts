/**
 * Watches over the API, in two sizes:
 * - `watchRequest`: one watch request as a cold Observable of typed signals (subscribe opens it,
 *   unsubscribe closes it); a 410 (a response, or an ERROR event with reason Expired/Gone)
 *   becomes EXPIRED and ends it, any other refusal or ERROR event fails it with the ApiError.
 * - `watchObservable`: a resuming watch (client-go's RetryWatcher), a watch-only Reflector over
 *   `watchRequest`: it re-watches from the last resourceVersion it saw (object or BOOKMARK) when a
 *   stream ends or breaks, so no event is lost or repeated. When the resume point is gone it emits
 *   EXPIRED and completes, and the caller (who can list) re-lists; errors that retrying cannot
 *   cure (401, 403, 404...) end it with the ApiError.
 */
import { Observable } from 'rxjs';
import { asRecord, asString, isStatus, statusFailure, type KubeObject, type Status } from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { ApiWatchEvent, ApiWatchResult } from './api-transport.js';
import { ApiError, apiErrorFromResponse, asTransportError, isGone, isRetriable } from './errors.js';
import { Reflector, type ReflectorSignal } from './reflector.js';

export type WatchSignal<T> = ReflectorSignal<T>;

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

export function watchObservable<T extends KubeObject>(options: ResumingWatchOptions): Observable<WatchSignal<T>> {
  return new Observable<WatchSignal<T>>((subscriber) => {
    const reflector = new Reflector<T>({
      watch: (resourceVersion) => watchRequest<T>(() => options.open(resourceVersion)),
      clock: options.clock,
      backoff: { initialMs: options.retryInitialMs ?? 200, maxMs: options.retryMaxMs ?? 30_000, jitter: 0.2, ...(options.prng ? { prng: options.prng } : {}) },
      resourceVersion: options.resourceVersion,
      isFatal: (error) => !isRetriable(error),
      handler: {
        event: (event) => subscriber.next(event),
        ended: (end) => {
          switch (end.kind) {
            case 'expired':
              subscriber.next({ type: 'EXPIRED', status: end.status });
              subscriber.complete();
              return;
            case 'failed':
              subscriber.error(end.error);
              return;
            default: {
              const never: never = end;
              throw new Error(`unexpected reflector end ${JSON.stringify(never)}`);
            }
          }
        },
      },
    });
    reflector.start();
    return () => reflector.stop();
  });
}

/** One watch request as typed signals: completes when the server ends it, errors when it fails. */
export function watchRequest<T extends KubeObject>(open: () => Promise<ApiWatchResult>): Observable<WatchSignal<T>> {
  return new Observable<WatchSignal<T>>((subscriber) => {
    let closed = false;
    let release: (() => void) | undefined;
    const expire = (status: Status): void => {
      subscriber.next({ type: 'EXPIRED', status });
      subscriber.complete();
    };
    open().then((result) => {
      if (closed) {
        // Opened after we were stopped: subscribe-and-release frees the stream (an HTTPS socket).
        if (result.kind === 'stream') result.events.subscribe().unsubscribe();
        return;
      }
      if (result.kind === 'response') {
        const error = apiErrorFromResponse(result.response.status, result.response.body);
        if (isGone(error)) expire(error.status);
        else subscriber.error(error);
        return;
      }
      const inner = result.events.subscribe({
        next: (event) => {
          const signal = decodeEvent<T>(event);
          if (!(signal instanceof ApiError)) subscriber.next(signal);
          else if (isGone(signal)) expire(signal.status);
          else subscriber.error(signal);
        },
        error: (error: unknown) => subscriber.error(asTransportError(error)),
        complete: () => subscriber.complete(),
      });
      if (closed) inner.unsubscribe();
      else release = () => inner.unsubscribe();
    }, (error: unknown) => {
      if (!closed) subscriber.error(error instanceof Error ? error : asTransportError(error));
    });
    return () => {
      closed = true;
      release?.();
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
