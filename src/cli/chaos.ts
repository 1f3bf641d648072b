import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toJsonl, type CheckStatus } from '../chaos/check/index.js';
import { DEFAULT_EXPERIMENT, experiments, findExperiment, type ExperimentResult, type Placement } from '../chaos/experiments.js';
import type { ExperimentSpec } from '../chaos/experiment/define.js';
import { writeExperimentFile } from '../chaos/experiment/file-write.js';
import { describeFault } from '../chaos/experiment/schedule.js';
import type { ExperimentRunResult } from '../chaos/experiment/report.js';
import { runExperiment as runEngineExperiment } from '../chaos/experiment/run.js';
import { listOf, pinSchedule } from '../chaos/experiment/shrink.js';
import { MAX_SWEEP_RUNS, runSweep, shrinkRun, shrinkTarget, sweepStatus, sweepSummary, type RunOutcome, type SweepRun } from '../chaos/experiment/sweep.js';
import type { ChaosOutcome } from '../chaos/outcome.js';

export { DEFAULT_EXPERIMENT };

/** Names of every experiment, including those plugins registered (load plugins first). */
export function experimentNames(): string[] {
  return experiments().map((e) => e.name);
}

export interface ChaosRunFlags {
  readonly seed: number;
  readonly placement: Placement;
  readonly out: string;
  /** Experiments with silentKill only (kill-serving-master): kill without connection resets. */
  readonly silentKill?: boolean;
}

/**
 * Exit codes of `pocketkube chaos run`: the verdict is the worst check (fail > unknown > pass),
 * and a run with an unknown check is not a pass.
 */
export const EXIT_CODES: Readonly<Record<CheckStatus | 'usage' | 'error', number>> = { pass: 0, fail: 1, error: 1, usage: 2, unknown: 3 };

/** Why `flags` do not fit experiment `name`, or undefined when they do. */
export function flagProblem(name: string, flags: Pick<ChaosRunFlags, 'placement' | 'silentKill'>): string | undefined {
  const experiment = findExperiment(name);
  if (experiment === undefined) return `unknown experiment "${name}". Run "pocketkube chaos list" to see the experiments.`;
  if (flags.silentKill && !experiment.silentKill) return `--silent-kill applies to kill-serving-master only; drop it for ${name} (etcd-* experiments kill silently in half their seeds).`;
  if (!experiment.placements.includes(flags.placement)) return `${name} runs with --placement ${experiment.placements.join(' or ')} only.`;
  return undefined;
}

async function runExperiment(name: string, flags: ChaosRunFlags, dir: string): Promise<ExperimentResult> {
  const problem = flagProblem(name, flags);
  if (problem !== undefined) throw new Error(problem);
  return findExperiment(name)!.run({ seed: flags.seed, placement: flags.placement, outDir: dir, log: (line) => console.log(line), ...(flags.silentKill ? { silentKill: true } : {}) });
}

function reportMarkdown(name: string, seed: number, result: ExperimentResult): string {
  const rows = result.verdict.results.map((r) => `| ${r.name} | ${r.status.toUpperCase()} | ${r.detail.replace(/\n/g, ' ').replace(/\|/g, '\\|').slice(0, 400)} |`);
  return [
    `# pocketkube chaos report: ${name} (seed ${seed})`,
    '',
    `**Verdict: ${result.verdict.status.toUpperCase()}**`,
    '',
    result.description,
    '',
    '## Timeline',
    ...result.notes.map((note) => `- ${note}`),
    '',
    '## Checks',
    '| check | status | detail |',
    '| --- | --- | --- |',
    ...rows,
    '',
    '## Numbers',
    `- operations: ${result.ops}`,
    `- acknowledged writes: ${result.ackedWrites}`,
    `- acknowledged writes lost: ${result.lostAckedWrites}`,
    ...('recoveryMs' in result ? [`- recovery (fault to the first acknowledged write issued after it): ${result.recoveryMs === undefined ? 'none within the budget' : `${Math.round(result.recoveryMs)} ms`}`] : []),
    `- run time: ${Math.round(result.runMs)} ms`,
    '',
    'The history (one JSON operation per line: process, type invoke|ok|fail|info, f, key, value, time) is in `history.jsonl`.',
    '',
  ].join('\n');
}

/** Runs one experiment and writes its report into `dir` (what the experiment did not write itself) and verdict.json. */
async function runAndReport(name: string, flags: ChaosRunFlags, dir: string): Promise<ExperimentResult> {
  const result = await runExperiment(name, flags, dir);
  mkdirSync(dir, { recursive: true });
  // Engine experiments wrote report.json, history.jsonl, report.md and report.html themselves (and printed their timeline live).
  if (result.files === undefined) {
    writeFileSync(join(dir, 'history.jsonl'), toJsonl(result.history));
    writeFileSync(join(dir, 'report.md'), reportMarkdown(name, flags.seed, result));
    for (const note of result.notes) console.log(`  - ${note}`);
  }
  writeVerdict(dir, name, flags.seed, result);
  return result;
}

function writeVerdict(dir: string, name: string, seed: number, result: ChaosOutcome): void {
  writeFileSync(join(dir, 'verdict.json'), JSON.stringify({ experiment: name, seed, status: result.verdict.status, checks: result.verdict.results, notes: result.notes }, null, 2));
}

/** `pocketkube chaos run [EXPERIMENT]`: one experiment, a verdict on the terminal, a report on disk. */
export async function runChaosExperiment(name: string, flags: ChaosRunFlags): Promise<CheckStatus> {
  console.log(`experiment ${name}, seed ${flags.seed}`);
  const dir = resolve(flags.out, `${name}-seed${flags.seed}`);
  const result = await runAndReport(name, flags, dir);
  for (const check of result.verdict.results) console.log(`  ${check.status.toUpperCase().padEnd(7)} ${check.name}: ${check.detail.split('\n')[0]}`);
  console.log(`${result.ops} operations, ${result.ackedWrites} acknowledged writes, ${result.lostAckedWrites} lost`);
  if ('recoveryMs' in result) console.log(`recovery: ${result.recoveryMs === undefined ? 'no write issued after the fault was acknowledged within the budget' : `${Math.round(result.recoveryMs)} ms from the fault to the first acknowledged write issued after it`}`);
  console.log(`verdict: ${result.verdict.status.toUpperCase()}`);
  console.log(`report: ${join(dir, 'report.md')}${result.files === undefined ? '' : ` (and report.json, history.jsonl, report.html)`}`);
  return result.verdict.status;
}

const MAX_SHRINK_RUNS = 200;

/** A whole-number flag from its text, or the problem naming the flag and its range. */
function wholeNumberFlag(flag: string, text: string, min: number, max: number, meaning: string): { readonly value: number } | { readonly problem: string } {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= min && value <= max) return { value };
  return { problem: `${flag} must be a whole number from ${min} to ${max} (${meaning}), not "${text}"` };
}

export const parseRuns = (text: string) => wholeNumberFlag('--runs', text, 1, MAX_SWEEP_RUNS, 'the sweep runs seeds seed .. seed+N-1');
export const parseShrinkMaxRuns = (text: string) => wholeNumberFlag('--shrink-max-runs', text, 1, MAX_SHRINK_RUNS, 'each re-run starts a whole cluster');

export interface SweepFlags extends ChaosRunFlags {
  readonly runs: number;
  readonly shrink: boolean;
  readonly shrinkMaxRuns: number;
  /** The experiment as it was given (a name or a file's path): the reproduce commands repeat it. */
  readonly argument: string;
  readonly plugins: readonly string[];
}

/** Why the sweep flags do not fit experiment `name` (after flagProblem), or undefined. */
export function sweepFlagProblem(name: string, flags: Pick<SweepFlags, 'shrink'>): string | undefined {
  if (flags.shrink && findExperiment(name)?.spec === undefined) {
    return `--shrink needs an experiment with a fault schedule (cluster-under-fire or an experiment file); ${name} has none to shrink: drop --shrink.`;
  }
  return undefined;
}

/** Quotes a word for a POSIX shell when it needs it. */
const shellWord = (word: string) => (/^[\w./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/** The command that replays `seed` of the sweep alone. */
export function reproduceCommand(flags: Pick<SweepFlags, 'argument' | 'placement' | 'plugins' | 'silentKill'>, seed: number, argument = flags.argument): string {
  return ['npx pocketkube chaos run', shellWord(argument), '--seed', String(seed),
    ...(flags.placement === 'threads' ? [] : ['--placement', flags.placement]), ...(flags.silentKill ? ['--silent-kill'] : []),
    ...flags.plugins.flatMap((p) => ['--plugin', shellWord(p)])].join(' ');
}

/** What a sweep needs from the world (injected in tests: no cluster). */
export interface SweepDeps {
  run(seed: number, dir: string): Promise<RunOutcome>;
  /** Runs a pinned (shrink candidate) experiment with the failing run's seed. */
  runPinned(spec: ExperimentSpec, seed: number, dir: string): Promise<RunOutcome>;
  log(line: string): void;
  now(): number;
}

function engineOutcome(dir: string, result: ExperimentRunResult): RunOutcome {
  writeVerdict(dir, result.experiment, result.seed, result);
  return { status: result.verdict.status, checks: result.verdict.results, pinned: pinSchedule(result.schedule, result.faults) };
}

/** The real runs: engine experiments through the engine (the schedule they ran comes back for --shrink), others as `chaos run` runs them. */
function sweepDeps(name: string, flags: ChaosRunFlags): SweepDeps {
  const log = (line: string) => console.log(line);
  const spec = findExperiment(name)?.spec;
  return {
    async run(seed, dir) {
      if (spec !== undefined) return engineOutcome(dir, await runEngineExperiment(spec, { seed, out: dir, log }));
      const result = await runAndReport(name, { ...flags, seed }, dir);
      return { status: result.verdict.status, checks: result.verdict.results };
    },
    async runPinned(pinned, seed, dir) {
      return engineOutcome(dir, await runEngineExperiment(pinned, { seed, out: dir, log }));
    },
    log,
    now: () => performance.now(),
  };
}

const summaryOf = (r: SweepRun) => (r.outcome === 'error'
  ? { seed: r.seed, status: 'error', error: r.error, runMs: Math.round(r.runMs) }
  : { seed: r.seed, status: r.status, checks: r.checks.map((c) => ({ name: c.name, status: c.status })), runMs: Math.round(r.runMs) });

/**
 * `pocketkube chaos run [EXPERIMENT] --runs N [--shrink]`: seeds seed .. seed+N-1 in turn, reports
 * under OUT/seed-S/, a summary with the command replaying each failed seed; with --shrink the
 * first failure's schedule shrunk and written as OUT/shrunk.yaml. The status is the sweep's.
 */
export async function runChaosSweep(name: string, flags: SweepFlags, deps: SweepDeps = sweepDeps(name, flags)): Promise<CheckStatus> {
  const out = resolve(flags.out);
  deps.log(`experiment ${name}: ${flags.runs} run${flags.runs === 1 ? '' : 's'}, seeds ${flags.seed}..${flags.seed + flags.runs - 1}, one after another`);
  const runs = await runSweep({ firstSeed: flags.seed, runs: flags.runs, run: (seed) => deps.run(seed, join(out, `seed-${seed}`)), log: deps.log, now: deps.now });
  const summary = sweepSummary(runs, (seed) => reproduceCommand(flags, seed));
  for (const line of summary) deps.log(line);
  mkdirSync(out, { recursive: true });
  const sweepFile = { experiment: name, firstSeed: flags.seed, runs: runs.map(summaryOf), status: sweepStatus(runs), shrunk: undefined as string | undefined };
  const target = flags.shrink ? shrinkTarget(runs) : undefined;
  const spec = findExperiment(name)?.spec;
  if (flags.shrink && target === undefined) deps.log('shrink: no run failed a check, nothing to shrink');
  if (target !== undefined && spec !== undefined) {
    const shrunk = await shrinkRun({
      spec, target, maxRuns: flags.shrinkMaxRuns, log: deps.log,
      runPinned: (pinned, attempt) => deps.runPinned(pinned, target.seed, join(out, 'shrink', `run-${attempt}`)),
    });
    if (!shrunk.result.reproduced || shrunk.spec === undefined) {
      deps.log(`shrink: seed ${target.seed}'s pinned schedule did not fail ${target.check} again, so the failure depends on more than the schedule (timing, the cluster's state); no shrunk.yaml written`);
    } else {
      const file = join(out, 'shrunk.yaml');
      const replay = reproduceCommand(flags, target.seed, join(flags.out, 'shrunk.yaml'));
      writeExperimentFile(shrunk.spec, file, [`The smallest schedule found that still makes ${target.check} ${target.status} (seed ${target.seed} of ${name}, ${shrunk.result.runs} runs). Replay:`, `  ${replay}`]);
      sweepFile.shrunk = file;
      deps.log(`shrunk: ${shrunk.result.steps.length} of ${target.pinned.length} steps (${listOf(shrunk.result.kept)} of seed ${target.seed}) still make ${target.check} ${target.status}, after ${shrunk.result.runs} runs${shrunk.result.exhausted ? ` (stopped at --shrink-max-runs ${flags.shrinkMaxRuns}: it may shrink further)` : ''}`);
      for (const step of shrunk.spec.method) deps.log(`  after ${String(step.afterMs)} ms, for ${String(step.durationMs)} ms: ${describeFault(step.fault)}`);
      deps.log(`written: ${file}; replay: ${replay}`);
    }
  }
  writeFileSync(join(out, 'sweep.json'), JSON.stringify(sweepFile, null, 2));
  deps.log(`verdict: ${sweepFile.status.toUpperCase()}`);
  deps.log(`reports: ${join(out, 'seed-S')}/ (S = ${flags.seed}..${flags.seed + flags.runs - 1}), summary ${join(out, 'sweep.json')}`);
  return sweepFile.status;
}
