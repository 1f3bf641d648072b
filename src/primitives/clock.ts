/**
 * Time, injected. Actors and cores read time and set timers only through a `Clock`, so the same
 * code runs on the wall clock (threads) and under virtual time (simulated placement, test kit).
 */
export type TimerId = number;

export interface Clock {
  /** Milliseconds, monotonic, arbitrary origin. */
  now(): number;
  /** Milliseconds since the Unix epoch, for timestamps users see (creationTimestamp, logs). */
  wallNow(): number;
  setTimer(delayMs: number, fire: () => void): TimerId;
  clearTimer(id: TimerId): void;
}

/** The one sleep: resolves after `delayMs` of the clock's time (virtual under simulation), or at once (resolving) when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimer(id);
      resolve();
    };
    const id = clock.setTimer(Math.max(0, delayMs), () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface ScheduledTimer {
  readonly id: TimerId;
  readonly atMs: number;
  readonly seq: number;
  readonly fire: () => void;
}

/**
 * Virtual time: nothing happens until the owner advances it. Timers due at the same instant fire in
 * the order they were set (ties broken by a sequence number), which keeps simulated runs
 * deterministic.
 */
export class VirtualClock implements Clock {
  private nowMs = 0;
  private seq = 0;
  private nextId = 1;
  private readonly heap: ScheduledTimer[] = [];
  private readonly cancelled = new Set<TimerId>();

  // 2026-01-01T00:00:00Z: a fixed origin so simulated timestamps replay exactly.
  constructor(private readonly epochMs = 1_767_225_600_000) {}

  now(): number {
    return this.nowMs;
  }

  wallNow(): number {
    return this.epochMs + this.nowMs;
  }

  setTimer(delayMs: number, fire: () => void): TimerId {
    if (!(delayMs >= 0)) throw new Error(`setTimer: delay must be >= 0 ms, got ${delayMs}`);
    const id = this.nextId++;
    this.push({ id, atMs: this.nowMs + delayMs, seq: this.seq++, fire });
    return id;
  }

  clearTimer(id: TimerId): void {
    this.cancelled.add(id);
  }

  /** Time of the next pending timer, or undefined when idle. */
  nextDueMs(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.atMs;
  }

  pendingTimers(): number {
    return this.heap.length - this.cancelled.size;
  }

  /** Fire the earliest timer (moving time to it). Returns false when there is none. */
  runNext(): boolean {
    this.dropCancelledHead();
    const timer = this.pop();
    if (!timer) return false;
    this.nowMs = Math.max(this.nowMs, timer.atMs);
    timer.fire();
    return true;
  }

  /** Fire every timer due up to now + ms, then set time to now + ms. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      const due = this.nextDueMs();
      if (due === undefined || due > until) break;
      this.runNext();
    }
    this.nowMs = until;
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.cancelled.has(this.heap[0]!.id)) {
      this.cancelled.delete(this.heap[0]!.id);
      this.pop();
    }
  }

  private less(x: ScheduledTimer, y: ScheduledTimer): boolean {
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.seq < y.seq);
  }

  private push(timer: ScheduledTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): ScheduledTimer | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && this.less(heap[l]!, heap[smallest]!)) smallest = l;
        if (r < heap.length && this.less(heap[r]!, heap[smallest]!)) smallest = r;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

/** How one actor's clock is off: its rate (2 runs twice as fast, 0.5 half) and a step of its wall clock. */
export interface ClockSkew {
  /** Added to the wall clock (a clock set wrong, an NTP step); the monotonic clock never jumps. */
  readonly offsetMs: number;
  /** Clock rate against real time, in (0, 10]: both clocks and timers run at it. */
  readonly rate: number;
}

export const NO_SKEW: ClockSkew = { offsetMs: 0, rate: 1 };
export const MAX_CLOCK_RATE = 10;
export const MAX_CLOCK_OFFSET_MS = 86_400_000;

/**
 * One actor's view of a shared clock, skewable (clock-skew faults): `now()` runs at `rate` from
 * the moment of the skew and never jumps; `wallNow()` is the base wall clock plus `offsetMs` plus
 * the drift the rate caused since the skew (a heal with NO_SKEW sets the wall clock right again,
 * as NTP would). Timers set while skewed wait `delayMs / rate` of base time. Unskewed, it is the
 * base clock exactly (the same numbers: simulated runs replay).
 */
export class SkewedClock implements Clock {
  private skew: ClockSkew = NO_SKEW;
  private anchorBaseMs = 0;
  private anchorLocalMs = 0;
  /** Whether this clock ever left the base (its `now()` is then its own). */
  private drifted = false;

  constructor(private readonly base: Clock) {}

  set(skew: ClockSkew): void {
    if (!(skew.rate > 0 && skew.rate <= MAX_CLOCK_RATE)) throw new Error(`clock rate must be in (0, ${MAX_CLOCK_RATE}], got ${skew.rate}`);
    if (!(Math.abs(skew.offsetMs) <= MAX_CLOCK_OFFSET_MS)) throw new Error(`clock offset must be within ±${MAX_CLOCK_OFFSET_MS} ms, got ${skew.offsetMs}`);
    const local = this.now();
    this.anchorBaseMs = this.base.now();
    this.anchorLocalMs = local;
    this.skew = skew.rate === 1 && skew.offsetMs === 0 ? NO_SKEW : skew;
    this.drifted ||= skew.rate !== 1;
  }

  current(): ClockSkew {
    return this.skew;
  }

  now(): number {
    if (!this.drifted) return this.base.now();
    return this.anchorLocalMs + (this.base.now() - this.anchorBaseMs) * this.skew.rate;
  }

  wallNow(): number {
    if (this.skew === NO_SKEW) return this.base.wallNow();
    return this.base.wallNow() + this.skew.offsetMs + (this.base.now() - this.anchorBaseMs) * (this.skew.rate - 1);
  }

  setTimer(delayMs: number, fire: () => void): TimerId {
    return this.base.setTimer(delayMs / this.skew.rate, fire);
  }

  clearTimer(id: TimerId): void {
    this.base.clearTimer(id);
  }
}

/** One SkewedClock per key (an actor's address) over one base clock, made on first use and kept (a restarted actor keeps its skew). */
export class SkewedClocks<K> {
  private readonly clocks = new Map<K, SkewedClock>();

  constructor(private readonly base: Clock) {}

  of(key: K): SkewedClock {
    let clock = this.clocks.get(key);
    if (clock === undefined) {
      clock = new SkewedClock(this.base);
      this.clocks.set(key, clock);
    }
    return clock;
  }
}
