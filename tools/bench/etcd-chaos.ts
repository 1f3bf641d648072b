import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEtcdChaos, type EtcdChaosResult } from '../../src/chaos/etcd/run.js';
import { ETCD_FAULTS, type EtcdFault } from '../../src/chaos/etcd/faults.js';
import { toJsonl } from '../../src/chaos/check/index.js';
import { printResult } from './stats.js';

const OUT = 'bench-out/etcd-chaos';

function option(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  return index >= 0 && args[index + 1] !== undefined ? Number(args[index + 1]) : fallback;
}

function save(result: EtcdChaosResult): void {
  const dir = join(OUT, `${result.fault}-${result.placement === 'threads' ? 'threads-' : ''}${result.seed}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'history.jsonl'), toJsonl(result.history));
  writeFileSync(join(dir, 'verdict.json'), JSON.stringify({ fault: result.fault, seed: result.seed, placement: result.placement, status: result.verdict.status, checks: result.verdict.results, notes: result.notes, ops: result.ops, ackedWrites: result.ackedWrites, lostAckedWrites: result.lostAckedWrites, runMs: result.runMs }, null, 2));
}

/**
 * `npm run bench -- etcd-chaos [--seeds N] [--thread-seeds M]`: every fault type over N seeds in
 * simulation and M seeds on real threads; every run's history and verdict under bench-out/.
 */
export async function run(args: string[]): Promise<void> {
  const seeds = option(args, 'seeds', 30);
  const threadSeeds = option(args, 'thread-seeds', 1);
  const totals = { runs: 0, failed: 0, ops: 0, acked: 0, lost: 0 };
  const failing: string[] = [];
  const record = (result: EtcdChaosResult) => {
    save(result);
    totals.runs++;
    totals.ops += result.ops;
    totals.acked += result.ackedWrites;
    totals.lost += result.lostAckedWrites;
    if (result.verdict.status !== 'pass') {
      totals.failed++;
      failing.push(`${result.fault} seed ${result.seed} (${result.placement}): ${result.verdict.summary.split('\n')[0]}`);
    }
  };
  console.log(`etcd chaos: ${ETCD_FAULTS.length} faults x ${seeds} seeds simulated + ${threadSeeds} on threads; histories in ${OUT}/`);
  for (const fault of ETCD_FAULTS as readonly EtcdFault[]) {
    const began = performance.now();
    let failed = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runEtcdChaos({ fault, seed });
      record(result);
      if (result.verdict.status !== 'pass') failed++;
    }
    for (let seed = 1; seed <= threadSeeds; seed++) {
      const result = await runEtcdChaos({ fault, seed, placement: 'threads' });
      record(result);
      if (result.verdict.status !== 'pass') failed++;
    }
    console.log(`  ${fault.padEnd(32)} ${seeds + threadSeeds} runs, ${failed} failed, ${((performance.now() - began) / 1000).toFixed(1)} s`);
  }
  for (const line of failing) console.log(`  FAILED ${line}`);
  console.log(`${totals.runs} runs, ${totals.failed} failed; ${totals.ops} operations, ${totals.acked} acknowledged writes, ${totals.lost} lost`);
  printResult('etcd-chaos', { runs: totals.runs, failed_runs: totals.failed, ops: totals.ops, acked_writes: totals.acked, lost_acked_writes: totals.lost });
}
