import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runEtcdChaos } from '../chaos/etcd/run.js';
import { ETCD_FAULTS, type EtcdFault } from '../chaos/etcd/faults.js';
import { runControlPlaneChaos } from '../chaos/cluster/run.js';
import { toJsonl } from '../chaos/check/index.js';
import type { ChaosOutcome } from '../chaos/outcome.js';

/** The default: the whole HA control plane, the master serving the API is killed. */
export const DEFAULT_EXPERIMENT = 'kill-serving-master';
export const EXPERIMENTS: readonly string[] = [DEFAULT_EXPERIMENT, 'isolate-serving-master', ...ETCD_FAULTS.map((fault) => `etcd-${fault}`)];

export interface ChaosRunFlags {
  readonly seed: number;
  readonly placement: 'threads' | 'simulated';
  readonly out: string;
  /** kill-serving-master only: kill without connection resets (a power loss). */
  readonly silentKill?: boolean;
}

interface ExperimentResult extends ChaosOutcome {
  readonly description: string;
}

export function isExperiment(name: string): boolean {
  return EXPERIMENTS.includes(name);
}

async function runExperiment(name: string, flags: ChaosRunFlags): Promise<ExperimentResult> {
  if (name === DEFAULT_EXPERIMENT || name === 'isolate-serving-master') {
    if (flags.placement !== 'threads') throw new Error(`${name} runs on real threads only (it serves HTTPS): drop --placement`);
    if (flags.silentKill && name !== DEFAULT_EXPERIMENT) throw new Error(`--silent-kill applies to ${DEFAULT_EXPERIMENT} only`);
    const silentKill = flags.silentKill ?? false;
    const result = await runControlPlaneChaos({ experiment: name, seed: flags.seed, silentKill });
    const fate = name === 'isolate-serving-master'
      ? 'was cut off from the other masters for 3 s (clients could still reach its apiserver), then the partition healed'
      : silentKill ? 'lost power (no connection resets: the others had to time out), then came back' : 'was killed (its connections reset, as when a process dies), then came back';
    return {
      ...result,
      description: `A 3-master control plane on real threads: etcd (Raft, data on disk with fsync) and an apiserver on each master, behind a front door. Four clients applied and read ConfigMaps over HTTPS through the front door while the master whose apiserver served the last request ${fate}.`,
    };
  }
  if (flags.silentKill) throw new Error(`--silent-kill applies to ${DEFAULT_EXPERIMENT} only (etcd-* experiments kill silently in half their seeds)`);
  const fault = name.slice('etcd-'.length) as EtcdFault;
  const result = await runEtcdChaos({ fault, seed: flags.seed, placement: flags.placement });
  return {
    ...result,
    description: `A 3-member etcd (Raft) on ${result.placement === 'threads' ? 'real worker threads, data on disk with fsync' : 'simulated placement (virtual time)'}; six clients read, wrote, compare-and-set and deleted 10 keys while the fault "${fault}" was injected and healed.`,
  };
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
    `- run time: ${Math.round(result.runMs)} ms`,
    '',
    'The history (one JSON operation per line: process, type invoke|ok|fail|info, f, key, value, time) is in `history.jsonl`.',
    '',
  ].join('\n');
}

/** `pocketkube chaos run [EXPERIMENT]`: one experiment, a verdict on the terminal, a report on disk. */
export async function runChaosExperiment(name: string, flags: ChaosRunFlags): Promise<boolean> {
  console.log(`experiment ${name}, seed ${flags.seed}`);
  const result = await runExperiment(name, flags);
  const dir = resolve(flags.out, `${name}-seed${flags.seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.jsonl'), toJsonl(result.history));
  writeFileSync(join(dir, 'verdict.json'), JSON.stringify({ experiment: name, seed: flags.seed, status: result.verdict.status, checks: result.verdict.results, notes: result.notes }, null, 2));
  writeFileSync(join(dir, 'report.md'), reportMarkdown(name, flags.seed, result));
  for (const note of result.notes) console.log(`  - ${note}`);
  for (const check of result.verdict.results) console.log(`  ${check.status.toUpperCase().padEnd(7)} ${check.name}: ${check.detail.split('\n')[0]}`);
  console.log(`${result.ops} operations, ${result.ackedWrites} acknowledged writes, ${result.lostAckedWrites} lost`);
  console.log(`verdict: ${result.verdict.status.toUpperCase()}`);
  console.log(`report: ${join(dir, 'report.md')}`);
  return result.verdict.status === 'pass';
}
