/**
 * The reconcile loop of kubernetes/sample-controller: workers take keys from a rate-limited
 * queue; `reconcile(key)` reads the informer cache and converges (DESIGN §2: level-triggered).
 * Success forgets the key's backoff; an error requeues it rate-limited; `{ requeueAfterMs }`
 * asks to look again later (polling an external condition) without counting as a failure.
 */
import type { WorkQueue } from './workqueue.js';

export type ReconcileResult = 'done' | { readonly requeueAfterMs: number };

export interface ControllerOptions<K> {
  readonly queue: WorkQueue<K>;
  /** Concurrent reconciles; one key is never reconciled by two workers at once. */
  readonly workers: number;
  readonly reconcile: (key: K) => Promise<ReconcileResult>;
  /** Told about every failed reconcile; `dropped` when maxRetries was reached. */
  readonly onError?: (key: K, error: unknown, info: { readonly requeues: number; readonly dropped: boolean }) => void;
  /** Give up on a key after this many consecutive failures (default: never, like most controllers). */
  readonly maxRetries?: number;
}

export interface RunningController {
  /** Resolves when every worker has exited (after `queue.shutDown()` and the queue is empty). */
  readonly finished: Promise<void>;
  /** Shuts the queue down, lets in-flight reconciles finish, and waits for the workers. */
  stop(): Promise<void>;
}

export const maxControllerWorkers = 1024;

export function runController<K>(options: ControllerOptions<K>): RunningController {
  if (!(options.workers >= 1 && options.workers <= maxControllerWorkers)) {
    throw new Error(`workers must be in 1..${maxControllerWorkers}, got ${options.workers}`);
  }
  const workers: Array<Promise<void>> = [];
  for (let i = 0; i < options.workers; i++) workers.push(worker(options));
  const finished = Promise.all(workers).then(() => undefined);
  return {
    finished,
    stop: async () => {
      options.queue.shutDown();
      await finished;
    },
  };
}

async function worker<K>(options: ControllerOptions<K>): Promise<void> {
  for (;;) {
    const key = await options.queue.get();
    if (key === undefined) return;
    try {
      await processOne(options, key);
    } finally {
      options.queue.done(key);
    }
  }
}

async function processOne<K>(options: ControllerOptions<K>, key: K): Promise<void> {
  const { queue } = options;
  let result: ReconcileResult;
  try {
    result = await options.reconcile(key);
  } catch (error) {
    const requeues = queue.numRequeues(key);
    const dropped = options.maxRetries !== undefined && requeues >= options.maxRetries;
    reportError(options, key, error, { requeues, dropped });
    if (dropped) queue.forget(key);
    else queue.addRateLimited(key);
    return;
  }
  queue.forget(key);
  if (result !== 'done') queue.addAfter(key, result.requeueAfterMs);
}

function reportError<K>(options: ControllerOptions<K>, key: K, error: unknown, info: { requeues: number; dropped: boolean }): void {
  try {
    options.onError?.(key, error, info);
  } catch {
    // A failing error reporter must not stop the worker: the key is requeued regardless.
  }
}
