/**
 * Sweeps and shrinks (the loops, with the run injected): `--runs N` runs seeds seed .. seed+N-1
 * one after another (each run is a whole cluster) and sums them up with the command that replays
 * each seed that did not pass; `--shrink` takes the first failing run's schedule, pinned, and
 * shrinks it (shrink.ts) while the same check still gives the same status. A run that throws is a
 * failed seed (it could not complete), never a pass; the sweep goes on to the next seed.
 */
import type { CheckResult, CheckStatus } from '../check/index.js';
import type { ExperimentSpec } from './define.js';
import { DEFAULT_SHRINK_OPTIONS, pinnedExperiment, shrinkSchedule, type PinnedStep, type ShrinkResult } from './shrink.js';

export const MAX_SWEEP_RUNS = 1000;

/** What one run hands the sweep. */
export interface RunOutcome {
  readonly status: CheckStatus;
  readonly checks: readonly CheckResult[];
  /** The schedule as it ran, pinned to the hosts it hit (engine experiments only): where --shrink starts. */
  readonly pinned?: readonly PinnedStep[];
}

export type SweepRun =
  | ({ readonly seed: number; readonly runMs: number; readonly outcome: 'done' } & RunOutcome)
  | { readonly seed: number; readonly runMs: number; readonly outcome: 'error'; readonly error: string };

export interface SweepOptions {
  readonly firstSeed: number;
  readonly runs: number;
  run(seed: number): Promise<RunOutcome>;
  /** Progress and the one-line result of each run. */
  log(line: string): void;
  /** Wall-clock ms (injected so the test's lines are stable). */
  now(): number;
}

/** Why `runs` is not a sweep length, or undefined. */
function runsProblem(runs: number): string | undefined {
  if (Number.isSafeInteger(runs) && runs >= 1 && runs <= MAX_SWEEP_RUNS) return undefined;
  return `--runs must be a whole number from 1 to ${MAX_SWEEP_RUNS} (the sweep runs seeds seed .. seed+N-1), not ${Number.isNaN(runs) ? 'that' : runs}`;
}

/** A run that did not pass: error and fail count as failed, unknown on its own. */
const failed = (run: SweepRun): boolean => run.outcome === 'error' || run.status === 'fail';
const unknown = (run: SweepRun): boolean => run.outcome === 'done' && run.status === 'unknown';

function runLine(run: SweepRun): string {
  const seconds = `${(run.runMs / 1000).toFixed(1)} s`;
  if (run.outcome === 'error') return `seed ${run.seed}: ERROR in ${seconds}: the run could not complete: ${run.error}`;
  const bad = run.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name} ${c.status}`);
  return `seed ${run.seed}: ${run.status.toUpperCase()} in ${seconds}${bad.length === 0 ? '' : ` (${bad.join(', ')})`}`;
}

export async function runSweep(options: SweepOptions): Promise<SweepRun[]> {
  const problem = runsProblem(options.runs);
  if (problem !== undefined) throw new Error(problem);
  const results: SweepRun[] = [];
  for (let i = 0; i < options.runs; i++) {
    const seed = options.firstSeed + i;
    options.log(`run ${i + 1} of ${options.runs}: seed ${seed}`);
    const began = options.now();
    let run: SweepRun;
    try {
      run = { seed, outcome: 'done', ...(await options.run(seed)), runMs: options.now() - began };
    } catch (error) {
      run = { seed, outcome: 'error', error: error instanceof Error ? error.message : String(error), runMs: options.now() - began };
    }
    results.push(run);
    options.log(runLine(run));
  }
  return results;
}

/** The sweep's verdict: fail when a seed failed, else unknown when one was unknown, else pass. */
export function sweepStatus(runs: readonly SweepRun[]): CheckStatus {
  if (runs.some(failed)) return 'fail';
  return runs.some(unknown) ? 'unknown' : 'pass';
}

/** "k of N seeds failed" and the command that replays each seed that did not pass. */
export function sweepSummary(runs: readonly SweepRun[], reproduce: (seed: number) => string): string[] {
  const bad = runs.filter(failed);
  const undecided = runs.filter(unknown);
  return [
    `${bad.length} of ${runs.length} seeds failed`,
    ...bad.map((r) => `  seed ${r.seed}: ${reproduce(r.seed)}`),
    ...(undecided.length === 0 ? [] : [`${undecided.length} of ${runs.length} seeds unknown (a check could not run: not a pass)`, ...undecided.map((r) => `  seed ${r.seed}: ${reproduce(r.seed)}`)]),
  ];
}

/** The check a shrink keeps failing: the run's first failed check, else its first unknown one. */
export interface ShrinkTarget { readonly seed: number; readonly check: string; readonly status: 'fail' | 'unknown'; readonly pinned: readonly PinnedStep[] }

export function shrinkTarget(runs: readonly SweepRun[]): ShrinkTarget | undefined {
  for (const status of ['fail', 'unknown'] as const) {
    for (const run of runs) {
      if (run.outcome !== 'done' || run.pinned === undefined || run.pinned.length === 0) continue;
      const check = run.checks.find((c) => c.status === status);
      if (check !== undefined) return { seed: run.seed, check: check.name, status, pinned: run.pinned };
    }
  }
  return undefined;
}

export interface ShrinkRunOptions {
  readonly spec: ExperimentSpec;
  readonly target: ShrinkTarget;
  /** Runs the pinned experiment (its seed is the failing run's: the workloads draw from it too). */
  runPinned(spec: ExperimentSpec, attempt: number): Promise<RunOutcome>;
  readonly maxRuns?: number;
  readonly minDurationMs?: number;
  log(line: string): void;
}

export interface ShrinkRunResult {
  readonly result: ShrinkResult;
  /** The smallest experiment seen to fail the same way (undefined when the pinned schedule did not reproduce). */
  readonly spec?: ExperimentSpec;
}

export async function shrinkRun(o: ShrinkRunOptions): Promise<ShrinkRunResult> {
  const { spec, target } = o;
  const why = (steps: readonly PinnedStep[]) => `(Shrunk by "pocketkube chaos run --shrink" from seed ${target.seed} of ${spec.name}: ${steps.length} of ${target.pinned.length} steps, pinned to the hosts they hit; ${target.check} ${target.status}.)`;
  let attempt = 0;
  const stillFails = async (steps: readonly PinnedStep[]): Promise<boolean> => {
    attempt++;
    try {
      const outcome = await o.runPinned(pinnedExperiment(spec, steps, why(steps)), attempt);
      return outcome.checks.some((c) => c.name === target.check && c.status === target.status);
    } catch (error) {
      // A run that could not complete did not show the same failure.
      o.log(`shrink run ${attempt} could not complete: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
  };
  o.log(`shrinking seed ${target.seed}'s ${target.pinned.length}-step schedule while ${target.check} is still ${target.status}`);
  const result = await shrinkSchedule(target.pinned, stillFails, {
    ...DEFAULT_SHRINK_OPTIONS, ...(o.maxRuns === undefined ? {} : { maxRuns: o.maxRuns }), ...(o.minDurationMs === undefined ? {} : { minDurationMs: o.minDurationMs }), log: o.log,
  });
  return result.reproduced ? { result, spec: pinnedExperiment(spec, result.steps, why(result.steps)) } : { result };
}
