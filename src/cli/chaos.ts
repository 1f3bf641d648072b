import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toJsonl, type CheckStatus } from '../chaos/check/index.js';
import { DEFAULT_EXPERIMENT, experiments, findExperiment, type ExperimentResult, type Placement } from '../chaos/experiments.js';

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

/** `pocketkube chaos run [EXPERIMENT]`: one experiment, a verdict on the terminal, a report on disk. */
export async function runChaosExperiment(name: string, flags: ChaosRunFlags): Promise<CheckStatus> {
  console.log(`experiment ${name}, seed ${flags.seed}`);
  const dir = resolve(flags.out, `${name}-seed${flags.seed}`);
  const result = await runExperiment(name, flags, dir);
  mkdirSync(dir, { recursive: true });
  // Engine experiments wrote report.json, history.jsonl, report.md and report.html themselves (and printed their timeline live).
  if (result.files === undefined) {
    writeFileSync(join(dir, 'history.jsonl'), toJsonl(result.history));
    writeFileSync(join(dir, 'report.md'), reportMarkdown(name, flags.seed, result));
    for (const note of result.notes) console.log(`  - ${note}`);
  }
  writeFileSync(join(dir, 'verdict.json'), JSON.stringify({ experiment: name, seed: flags.seed, status: result.verdict.status, checks: result.verdict.results, notes: result.notes }, null, 2));
  for (const check of result.verdict.results) console.log(`  ${check.status.toUpperCase().padEnd(7)} ${check.name}: ${check.detail.split('\n')[0]}`);
  console.log(`${result.ops} operations, ${result.ackedWrites} acknowledged writes, ${result.lostAckedWrites} lost`);
  if ('recoveryMs' in result) console.log(`recovery: ${result.recoveryMs === undefined ? 'no write issued after the fault was acknowledged within the budget' : `${Math.round(result.recoveryMs)} ms from the fault to the first acknowledged write issued after it`}`);
  console.log(`verdict: ${result.verdict.status.toUpperCase()}`);
  console.log(`report: ${join(dir, 'report.md')}${result.files === undefined ? '' : ` (and report.json, history.jsonl, report.html)`}`);
  return result.verdict.status;
}
