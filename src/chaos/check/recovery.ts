/**
 * "The API is back within its budget": recovery time is from the fault to the first acknowledged
 * write that was *issued after* the fault. A write sent before the fault and acknowledged after it
 * says nothing about recovery (it may have been committed before the fault and merely answered
 * late), so it does not count.
 */
import type { CheckerVerdict } from './verdict.js';

export interface TimedWrite {
  readonly issuedAtMs: number;
  /** Undefined when the write was not acknowledged (failed, timed out, or still open). */
  readonly ackedAtMs?: number;
}

export interface RecoveryVerdict extends CheckerVerdict {
  /** Fault to the first acknowledged post-fault write; undefined when there was none. */
  readonly recoveryMs: number | undefined;
  readonly budgetMs: number;
}

/**
 * `observedUntilMs`: until when acknowledgements were collected. With no post-fault ack, the check
 * fails only if the whole budget was observed; otherwise it could not decide (unknown).
 */
export function checkRecovery(writes: readonly TimedWrite[], faultAtMs: number, budgetMs: number, observedUntilMs: number): RecoveryVerdict {
  if (!(budgetMs > 0)) throw new Error(`budgetMs must be positive, got ${budgetMs}`);
  let firstAck: number | undefined;
  let issuedAfter = 0;
  for (const w of writes) {
    if (w.issuedAtMs < faultAtMs) continue;
    issuedAfter++;
    if (w.ackedAtMs === undefined || w.ackedAtMs > observedUntilMs) continue;
    if (w.ackedAtMs < w.issuedAtMs) throw new Error(`a write acknowledged at ${w.ackedAtMs} ms before it was issued at ${w.issuedAtMs} ms`);
    if (firstAck === undefined || w.ackedAtMs < firstAck) firstAck = w.ackedAtMs;
  }
  if (firstAck !== undefined) {
    const recoveryMs = firstAck - faultAtMs;
    const status = recoveryMs <= budgetMs ? 'pass' : 'fail';
    return { status, recoveryMs, budgetMs, explanation: `first write issued after the fault was acknowledged ${Math.round(recoveryMs)} ms after it (budget ${budgetMs} ms${status === 'fail' ? ': too slow' : ''})` };
  }
  if (observedUntilMs - faultAtMs >= budgetMs) {
    return { status: 'fail', recoveryMs: undefined, budgetMs, explanation: `none of ${issuedAfter} writes issued after the fault was acknowledged within the ${budgetMs} ms budget` };
  }
  return { status: 'unknown', recoveryMs: undefined, budgetMs, explanation: `no write issued after the fault was acknowledged, but only ${Math.round(observedUntilMs - faultAtMs)} ms of the ${budgetMs} ms budget were observed` };
}
