import test from 'ava';
import { runEtcdChaos } from '../../src/chaos/etcd/run.js';
import type { EtcdFault } from '../../src/chaos/etcd/faults.js';

/** 200 seeded runs in all (11 faults), more with CHAOS_SEEDS; failing seeds are named. */
const SEEDS_PER_FAULT = Number(process.env['CHAOS_SEEDS'] ?? 18);

export function sweep(faults: readonly EtcdFault[]): void {
  for (const fault of faults) {
    test.serial(`etcd chaos sweep: ${fault} over ${SEEDS_PER_FAULT} seeds (simulated, recorded history checked)`, async (t) => {
      const failing: string[] = [];
      let ops = 0;
      let acked = 0;
      let lost = 0;
      for (let seed = 1; seed <= SEEDS_PER_FAULT; seed++) {
        const result = await runEtcdChaos({ fault, seed });
        ops += result.ops;
        acked += result.ackedWrites;
        lost += result.lostAckedWrites;
        if (result.verdict.status !== 'pass') failing.push(`seed ${seed}: ${result.verdict.summary.split('\n').slice(0, 3).join(' | ')}`);
      }
      t.log(`${ops} ops, ${acked} acknowledged writes, ${lost} lost`);
      t.deepEqual(failing, [], `failing seeds for ${fault}:\n${failing.join('\n')}`);
      t.is(lost, 0);
    });
  }
}
