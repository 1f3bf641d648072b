import type { Clock } from '../primitives/clock.js';
import type { Logger } from './actor.js';

/**
 * A warning logger that writes at most `maxPerMinute` lines per minute: a partition makes every
 * informer, reconcile and binding fail at once, and a log that floods hides the first cause.
 */
export function rateLimitedWarn(log: Logger, clock: Clock, maxPerMinute = 60): (error: unknown, where: string) => void {
  let windowStartMs = -Infinity;
  let inWindow = 0;
  return (error, where) => {
    const now = clock.now();
    if (now - windowStartMs > 60_000) {
      windowStartMs = now;
      inWindow = 0;
    }
    if (++inWindow > maxPerMinute) return;
    log.warn(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  };
}
