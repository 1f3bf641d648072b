import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runEtcdChaos, type EtcdChaosResult } from '../chaos/etcd/run.js';
import { ETCD_FAULTS, type EtcdFault } from '../chaos/etcd/faults.js';
import { toJsonl } from '../chaos/check/index.js';

export const DEFAULT_EXPERIMENT: EtcdFault = 'kill-leader';

export interface ChaosRunFlags {
  readonly seed: number;
  readonly placement: 'threads' | 'simulated';
  readonly out: string;
}

export function isExperiment(name: string): name is EtcdFault {
  return (ETCD_FAULTS as readonly string[]).includes(name);
}

function reportMarkdown(result: EtcdChaosResult): string {
  const rows = result.verdict.results.map((r) => `| ${r.name} | ${r.status.toUpperCase()} | ${r.detail.replace(/\n/g, ' ').replace(/\|/g, '\\|').slice(0, 400)} |`);
  return [
    `# pocketkube chaos report: ${result.fault} (seed ${result.seed})`,
    '',
    `**Verdict: ${result.verdict.status.toUpperCase()}**`,
    '',
    `A 3-member etcd (Raft) control plane on ${result.placement === 'threads' ? 'real worker threads, data on disk with fsync' : 'simulated placement (virtual time)'};`,
    `concurrent clients read, wrote, compare-and-set and deleted 10 keys while the fault was injected and healed.`,
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
export async function runChaosExperiment(experiment: EtcdFault, flags: ChaosRunFlags): Promise<boolean> {
  console.log(`experiment ${experiment}, seed ${flags.seed}, ${flags.placement === 'threads' ? '3 masters on real threads' : 'simulated placement'}`);
  const result = await runEtcdChaos({ fault: experiment, seed: flags.seed, placement: flags.placement });
  const dir = resolve(flags.out, `${experiment}-seed${flags.seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.jsonl'), toJsonl(result.history));
  writeFileSync(join(dir, 'verdict.json'), JSON.stringify({ experiment, seed: flags.seed, placement: result.placement, status: result.verdict.status, checks: result.verdict.results, notes: result.notes }, null, 2));
  writeFileSync(join(dir, 'report.md'), reportMarkdown(result));
  for (const note of result.notes) console.log(`  - ${note}`);
  for (const check of result.verdict.results) console.log(`  ${check.status.toUpperCase().padEnd(7)} ${check.name}: ${check.detail.split('\n')[0]}`);
  console.log(`${result.ops} operations, ${result.ackedWrites} acknowledged writes, ${result.lostAckedWrites} lost`);
  console.log(`verdict: ${result.verdict.status.toUpperCase()}`);
  console.log(`report: ${join(dir, 'report.md')}`);
  return result.verdict.status === 'pass';
}
