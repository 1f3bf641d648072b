import type { Clock, TimerId } from '../primitives/clock.js';

/** The wall clock, for actors on real threads. */
export class RealClock implements Clock {
  private readonly timers = new Map<TimerId, NodeJS.Timeout>();
  private nextId = 1;

  now(): number {
    return performance.now();
  }

  /** Epoch milliseconds with sub-millisecond resolution, comparable across threads. */
  wallNow(): number {
    return performance.timeOrigin + performance.now();
  }

  setTimer(delayMs: number, fire: () => void): TimerId {
    const id = this.nextId++;
    const handle = setTimeout(() => {
      this.timers.delete(id);
      fire();
    }, delayMs);
    this.timers.set(id, handle);
    return id;
  }

  clearTimer(id: TimerId): void {
    const handle = this.timers.get(id);
    if (handle !== undefined) {
      clearTimeout(handle);
      this.timers.delete(id);
    }
  }

  /** Cancel every pending timer (an actor being stopped or killed). */
  clearAll(): void {
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
  }
}

/** The wall clock for code that is not an actor (composition, the CLI, tests): `sleep(wallClock, ms)`. */
export const wallClock: Clock = new RealClock();
