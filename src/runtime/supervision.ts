import type { RestartPolicy } from './actor.js';
import type { CellExit } from './cell.js';

/**
 * Restart intensity, as in OTP supervisors: more than `maxRestarts` restarts within `periodMs`
 * and the supervisor gives up on the actor and reports it failed, instead of looping forever.
 */
export interface RestartIntensity {
  readonly maxRestarts: number;
  readonly periodMs: number;
}

export const DEFAULT_INTENSITY: RestartIntensity = { maxRestarts: 5, periodMs: 10_000 };

export type SupervisorDecision = 'restart' | 'leave-down' | 'give-up';

/** Decides, per actor, what follows an exit. Pure: time is passed in. */
export class RestartTracker {
  private readonly recent: number[] = [];
  restarts = 0;

  constructor(private readonly intensity: RestartIntensity = DEFAULT_INTENSITY) {
    if (!(intensity.maxRestarts >= 0) || !(intensity.periodMs > 0)) {
      throw new Error(`invalid restart intensity ${JSON.stringify(intensity)}`);
    }
  }

  decide(policy: RestartPolicy, exit: CellExit, nowMs: number): SupervisorDecision {
    if (!wantsRestart(policy, exit)) return 'leave-down';
    while (this.recent.length > 0 && this.recent[0]! <= nowMs - this.intensity.periodMs) this.recent.shift();
    if (this.recent.length >= this.intensity.maxRestarts) return 'give-up';
    this.recent.push(nowMs);
    this.restarts++;
    return 'restart';
  }
}

function wantsRestart(policy: RestartPolicy, exit: CellExit): boolean {
  switch (policy) {
    case 'permanent':
      return true;
    case 'transient':
      return exit.kind === 'crash';
    case 'temporary':
      return false;
    default: {
      const unreachable: never = policy;
      throw new Error(`unknown restart policy ${String(unreachable)}`);
    }
  }
}
