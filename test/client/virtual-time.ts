/** Light helpers (no API imports) for driving promises under a VirtualClock. */
import { setImmediate as turn } from 'node:timers/promises';
import type { VirtualClock } from '../../src/primitives/clock.js';

/** Lets every pending promise callback run (the fake answers through microtasks). */
export async function flush(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}

/** Advances virtual time by `ms`, firing due timers one by one and letting promises run between them. */
export async function advance(clock: VirtualClock, ms: number, turns = 3): Promise<void> {
  const until = clock.now() + ms;
  await flush(turns);
  for (;;) {
    const due = clock.nextDueMs();
    if (due === undefined || due > until) break;
    clock.runNext();
    await flush(turns);
  }
  clock.advance(until - clock.now());
  await flush(turns);
}
