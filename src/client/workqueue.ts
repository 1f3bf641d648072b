/**
 * client-go's rate-limited work queue. The guarantees controllers rely on:
 * - a key waits in the queue at most once (adds while queued are merged);
 * - a key being processed (between `get` and `done`) is never handed to a second worker;
 *   re-added meanwhile, it is queued again when `done` is called;
 * - `addRateLimited` delays by the larger of a per-key exponential backoff and an overall token
 *   bucket; `forget` resets the key's backoff after a success.
 * Time is the injected Clock. Everything is bounded: queued keys and delayed keys.
 */
import type { Clock, TimerId } from '../primitives/clock.js';

export interface RateLimiterOptions {
  /** Per-key backoff: base * 2^failures, capped (kubernetes: 5 ms and 1000 s). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Overall bucket (kubernetes: 10 qps, burst 100). */
  readonly qps: number;
  readonly burst: number;
}

export const defaultRateLimiter: RateLimiterOptions = { baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 10, burst: 100 };

export interface WorkQueueOptions {
  readonly clock: Clock;
  readonly rateLimiter?: RateLimiterOptions;
  /** Keys waiting to be handed out (default 100k); adds beyond it are refused ('full'). */
  readonly maxQueuedKeys?: number;
  /** Keys waiting on a timer (addAfter/addRateLimited; default 100k). */
  readonly maxDelayedKeys?: number;
}

export type AddResult = 'queued' | 'merged' | 'processing' | 'full' | 'shutdown';

/** The token bucket of golang.org/x/time/rate, reservation style: the delay until the token is ours. */
class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly clock: Clock, private readonly qps: number, private readonly burst: number) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`token bucket needs qps > 0 and burst >= 1, got ${qps}/${burst}`);
    this.tokens = burst;
    this.lastMs = clock.now();
  }

  reserveDelayMs(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.qps) / 1000);
    this.lastMs = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }
}

export class WorkQueue<K = string> {
  private readonly queue: K[] = [];
  private head = 0;
  /** Keys that need processing: queued, or re-added while processing. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly delayed = new Map<K, { atMs: number; timer: TimerId }>();
  private readonly failures = new Map<K, number>();
  private readonly waiters: Array<(key: K | undefined) => void> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly bucket: TokenBucket;
  private readonly limiter: RateLimiterOptions;
  private readonly maxQueuedKeys: number;
  private readonly maxDelayedKeys: number;
  private shuttingDown = false;
  /** Adds refused because a limit was reached (a level-triggered resync brings them back). */
  droppedCount = 0;

  constructor(private readonly options: WorkQueueOptions) {
    this.limiter = options.rateLimiter ?? defaultRateLimiter;
    if (!(this.limiter.baseDelayMs >= 0) || !(this.limiter.maxDelayMs >= this.limiter.baseDelayMs)) {
      throw new Error('rate limiter needs 0 <= baseDelayMs <= maxDelayMs');
    }
    this.bucket = new TokenBucket(options.clock, this.limiter.qps, this.limiter.burst);
    this.maxQueuedKeys = options.maxQueuedKeys ?? 100_000;
    this.maxDelayedKeys = options.maxDelayedKeys ?? 100_000;
  }

  /** Keys waiting to be handed out. */
  get length(): number {
    return this.queue.length - this.head;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  get delayedCount(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): AddResult {
    if (this.shuttingDown) return 'shutdown';
    if (this.dirty.has(key)) return 'merged';
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return 'processing';
    }
    if (this.length >= this.maxQueuedKeys) {
      this.droppedCount++;
      return 'full';
    }
    this.dirty.add(key);
    this.push(key);
    return 'queued';
  }

  /** The next key, once one is available; undefined when shut down and empty. */
  get(): Promise<K | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Processing of `key` finished; if it was re-added meanwhile, queue it again. */
  done(key: K): void {
    if (!this.processing.delete(key)) throw new Error(`done() for a key not being processed: ${String(key)}`);
    if (this.dirty.has(key)) {
      if (this.length >= this.maxQueuedKeys) {
        this.dirty.delete(key);
        this.droppedCount++;
      } else {
        this.push(key);
      }
    }
    this.checkDrained();
  }

  /** Adds after `delayMs` of clock time; an earlier pending add for the same key wins. */
  addAfter(key: K, delayMs: number): AddResult {
    if (this.shuttingDown) return 'shutdown';
    if (delayMs <= 0) return this.add(key);
    const atMs = this.options.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.atMs <= atMs) return 'merged';
      this.options.clock.clearTimer(pending.timer);
    } else if (this.delayed.size >= this.maxDelayedKeys) {
      this.droppedCount++;
      return 'full';
    }
    const timer = this.options.clock.setTimer(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { atMs, timer });
    return 'queued';
  }

  /** Adds after the key's backoff (base * 2^requeues, capped) or the bucket's delay, whichever is longer. */
  addRateLimited(key: K): AddResult {
    return this.addAfter(key, this.whenMs(key));
  }

  /** The delay addRateLimited would use now, counting one more failure for `key`. */
  whenMs(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const itemMs = Math.min(this.limiter.maxDelayMs, this.limiter.baseDelayMs * 2 ** failures);
    return Math.max(itemMs, this.bucket.reserveDelayMs());
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Refuses new adds; queued keys are still handed out; `get` resolves undefined once empty. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.options.clock.clearTimer(timer);
    this.delayed.clear();
    if (this.length === 0) this.releaseWaiters();
    this.checkDrained();
  }

  /** shutDown, then resolves when every queued and in-process key is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private push(key: K): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  private take(): K | undefined {
    if (this.length === 0) return undefined;
    const key = this.queue[this.head] as K;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    if (this.shuttingDown && this.length === 0) this.releaseWaiters();
    return key;
  }

  private releaseWaiters(): void {
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private isDrained(): boolean {
    return this.length === 0 && this.processing.size === 0;
  }

  private checkDrained(): void {
    if (!this.shuttingDown || !this.isDrained()) return;
    this.releaseWaiters();
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
