/**
 * Shrinking a failing fault schedule (pure; the run is injected): given the pinned steps of a run
 * that failed, find a smaller schedule that still fails — fewer faults (delta debugging, ddmin),
 * then shorter faults (each duration halved while it still fails, down to a floor), then shorter
 * pauses (each pause halved, down to 0). Every candidate costs one run of a whole cluster, so the
 * number of runs is capped and no candidate is run twice. The result has always been seen to fail:
 * the pinned schedule itself is run first, and is what comes back when nothing smaller failed.
 */
import { defineExperiment, type ExperimentSpec, type FaultSpec, type MethodStep, type TargetSpec } from './define.js';
import type { PlannedFault } from './schedule.js';
import type { FaultRecord } from './verdicts.js';

/** A step whose timing is fixed (no ranges): what a run actually did, so a re-run does it again. */
export interface PinnedStep extends MethodStep {
  readonly afterMs: number;
  readonly durationMs: number;
}

export interface ShrinkOptions {
  /** Most runs of `stillFails` (the first, of the pinned schedule itself, included). */
  readonly maxRuns: number;
  /** Durations are not halved below this (a fault of 0 ms tests nothing). */
  readonly minDurationMs: number;
  /** A pause halved below this becomes 0. */
  readonly minPauseMs?: number;
  /** One line per run: what was tried and whether it still failed. */
  readonly log?: (line: string) => void;
}

export type ShrinkResult =
  /** The pinned schedule did not fail when re-run: the failure depends on more than the schedule (timing, the cluster's state). */
  | { readonly reproduced: false; readonly runs: number }
  | {
    readonly reproduced: true;
    /** The smallest schedule seen to fail. */
    readonly steps: readonly PinnedStep[];
    /** Which steps of the input it keeps (indices). */
    readonly kept: readonly number[];
    readonly runs: number;
    /** True when the run limit stopped the search before it was done. */
    readonly exhausted: boolean;
  };

export const DEFAULT_SHRINK_OPTIONS: ShrinkOptions = { maxRuns: 40, minDurationMs: 500, minPauseMs: 100 };

class OutOfRuns extends Error {}

interface Candidate { readonly indices: readonly number[]; readonly steps: readonly PinnedStep[] }

/** Runs candidates, remembering each answer, and stops (OutOfRuns) at the limit. */
class Tester {
  runs = 0;
  private readonly seen = new Map<string, boolean>();

  constructor(private readonly stillFails: (steps: readonly PinnedStep[]) => Promise<boolean>, private readonly options: ShrinkOptions) {}

  async fails(candidate: Candidate, what: string): Promise<boolean> {
    const key = JSON.stringify(candidate.steps);
    const known = this.seen.get(key);
    if (known !== undefined) return known;
    if (this.runs >= this.options.maxRuns) throw new OutOfRuns();
    this.runs++;
    const failed = await this.stillFails(candidate.steps);
    this.seen.set(key, failed);
    this.options.log?.(`shrink run ${this.runs}/${this.options.maxRuns}: ${what}: ${failed ? 'still fails' : 'passes'}`);
    return failed;
  }
}

function chunks<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < n; i++) out.push(items.slice(Math.floor((i * items.length) / n), Math.floor(((i + 1) * items.length) / n)));
  return out.filter((c) => c.length > 0);
}

const stepsOf = (all: readonly PinnedStep[], indices: readonly number[]): Candidate => ({ indices, steps: indices.map((i) => all[i]!) });
export const listOf = (indices: readonly number[]) => `step${indices.length === 1 ? '' : 's'} ${indices.join(', ')}`;

/** Zeller's ddmin over the step indices; a method needs one step, so the empty schedule is never tried. */
async function dropSteps(all: readonly PinnedStep[], tester: Tester, best: { current: Candidate }): Promise<void> {
  let n = 2;
  while (best.current.indices.length >= 2) {
    const current = best.current.indices;
    const parts = chunks(current, Math.min(n, current.length));
    let reduced = false;
    for (const part of parts) {
      if (await tester.fails(stepsOf(all, part), `only ${listOf(part)}`)) {
        best.current = stepsOf(all, part);
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && parts.length > 2) {
      for (const part of parts) {
        const rest = current.filter((i) => !part.includes(i));
        if (await tester.fails(stepsOf(all, rest), `without ${listOf(part)}`)) {
          best.current = stepsOf(all, rest);
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= current.length) return;
      n = Math.min(n * 2, current.length);
    }
  }
}

/** Halves one timing field of each kept step while the schedule still fails. */
async function halveEach(field: 'durationMs' | 'afterMs', floorMs: number, snapBelowMs: number, tester: Tester, best: { current: Candidate }): Promise<void> {
  for (let at = 0; at < best.current.steps.length; at++) {
    for (;;) {
      const step = best.current.steps[at]!;
      const half = Math.round(step[field] / 2);
      const next = Math.max(floorMs, half < snapBelowMs ? floorMs : half);
      if (next >= step[field]) break;
      const steps = best.current.steps.map((s, i) => (i === at ? { ...s, [field]: next } : s));
      const candidate = { indices: best.current.indices, steps };
      if (!(await tester.fails(candidate, `step ${best.current.indices[at]} ${field === 'durationMs' ? 'lasting' : 'after a pause of'} ${next} ms`))) break;
      best.current = candidate;
    }
  }
}

export async function shrinkSchedule(pinned: readonly PinnedStep[], stillFails: (steps: readonly PinnedStep[]) => Promise<boolean>, options: ShrinkOptions = DEFAULT_SHRINK_OPTIONS): Promise<ShrinkResult> {
  if (pinned.length === 0) throw new Error('shrinkSchedule needs at least one step');
  if (!(options.maxRuns >= 1)) throw new Error(`maxRuns must be at least 1 (the pinned schedule is run first), not ${options.maxRuns}`);
  const tester = new Tester(stillFails, options);
  const everything = stepsOf(pinned, pinned.map((_, i) => i));
  if (!(await tester.fails(everything, `the pinned schedule (${pinned.length} steps)`))) return { reproduced: false, runs: tester.runs };
  const best = { current: everything };
  let exhausted = false;
  try {
    await dropSteps(pinned, tester, best);
    await halveEach('durationMs', options.minDurationMs, options.minDurationMs, tester, best);
    await halveEach('afterMs', 0, options.minPauseMs ?? 100, tester, best);
  } catch (error) {
    if (!(error instanceof OutOfRuns)) throw error;
    exhausted = true;
  }
  return { reproduced: true, steps: best.current.steps, kept: best.current.indices, runs: tester.runs, exhausted };
}

/**
 * The schedule a run actually followed, pinned: each step's drawn pause and duration as fixed
 * numbers, and its target as the host (or hosts) it hit, so a re-run (any seed) injects the same
 * faults in the same places. Kept as they were: a step that hit nothing (its failure to resolve is
 * the point), a pod target (a pod fault needs a pod; the pod is picked again when it comes), and a
 * fault that names its own hosts (partition-groups, majorities-ring).
 */
export function pinSchedule(schedule: readonly PlannedFault[], faults: readonly FaultRecord[]): PinnedStep[] {
  return schedule.map((planned) => {
    const hit = faults.find((f) => f.step === planned.step)?.host;
    const fault = hit === undefined ? planned.fault : pinTarget(planned.fault, hit.split(','));
    return {
      fault, afterMs: planned.pauseMs, durationMs: planned.durationMs,
      ...(planned.detectionMs === 0 ? {} : { detectionMs: planned.detectionMs }), ...(planned.background ? { background: true } : {}),
    };
  });
}

function pinTarget(fault: FaultSpec, hosts: readonly string[]): FaultSpec {
  if (!('target' in fault) || fault.target.kind === 'pod' || hosts.length === 0) return fault;
  const target: TargetSpec = hosts.length === 1 && fault.target.kind !== 'hosts' ? { kind: 'host', host: hosts[0]! } : { kind: 'hosts', hosts };
  return { ...fault, target };
}

/** `spec` with `steps` as its method, under a name of its own (a file may not reuse a built-in's title). */
export function pinnedExperiment(spec: ExperimentSpec, steps: readonly PinnedStep[], why: string): ExperimentSpec {
  const name = spec.name.endsWith('-shrunk') ? spec.name : `${spec.name.slice(0, 63 - '-shrunk'.length)}-shrunk`;
  return defineExperiment({ ...spec, name, description: `${spec.description} ${why}`.trim(), method: steps });
}
