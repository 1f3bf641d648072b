import type { HistoryOp, Verdict } from './check/index.js';

/** What every chaos run hands back: the verdict, the recorded history, and its counts. */
export interface ChaosOutcome {
  readonly verdict: Verdict;
  readonly history: readonly HistoryOp[];
  readonly ops: number;
  readonly ackedWrites: number;
  readonly lostAckedWrites: number;
  readonly notes: readonly string[];
  /** Virtual (simulated) or wall-clock milliseconds the run took. */
  readonly runMs: number;
}
