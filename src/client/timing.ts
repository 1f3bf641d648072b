/**
 * Waiting under an injected Clock: deadlines and exponential backoff (`sleep` is in
 * src/primitives/clock.ts). Nothing in src/client reads the wall clock or sets a timer except
 * through these (and the HTTPS transport).
 */
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import { TransportError } from './errors.js';

/** Rejects with a TransportError('timeout') when `promise` has not settled within `timeoutMs`. */
export function withDeadline<T>(clock: Clock, promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const id = clock.setTimer(timeoutMs, () => reject(new TransportError('timeout', `${what}: no answer within ${timeoutMs} ms`)));
    promise.then(
      (value) => { clock.clearTimer(id); resolve(value); },
      (error: unknown) => { clock.clearTimer(id); reject(error instanceof Error ? error : new Error(String(error))); },
    );
  });
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per step (default 2). */
  readonly factor?: number;
  /** Adds up to this fraction of the delay at random (needs `prng`; default 0). */
  readonly jitter?: number;
  readonly prng?: Prng;
}

/** Exponential backoff: initial, initial*factor, ... capped at max; `reset()` after a success. */
export class Backoff {
  private steps = 0;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs >= 0) || !(options.maxMs >= options.initialMs)) {
      throw new Error(`Backoff: need 0 <= initialMs <= maxMs, got ${options.initialMs}/${options.maxMs}`);
    }
  }

  next(): number {
    const factor = this.options.factor ?? 2;
    const base = Math.min(this.options.maxMs, this.options.initialMs * factor ** this.steps);
    if (base < this.options.maxMs) this.steps++;
    const jitter = this.options.jitter ?? 0;
    const extra = jitter > 0 && this.options.prng !== undefined ? base * jitter * this.options.prng.next() : 0;
    return base + extra;
  }

  reset(): void {
    this.steps = 0;
  }
}
