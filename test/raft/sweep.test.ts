/**
 * Randomised chaos sweep: many seeds, each a few thousand ticks of random partitions, one-way cuts,
 * drops, duplicates, reordering and crash-restarts from persisted state, while clients propose and
 * read. The harness checks the Figure 3 safety properties (§5.2 Election Safety, §5.3 Log Matching
 * and Leader Append-Only, §5.4 Leader Completeness and State Machine Safety) and ReadIndex
 * linearizability (§8) on every step; at the end the network heals and a final write must commit
 * everywhere (liveness). A failure names its seed.
 */
import test from 'ava';
import { SeededPrng } from '../../src/runtime/prng.js';
import { Cluster } from './harness.js';

const seeds = 100;
const rounds = 2000;

function chaos(seed: number): { delivered: number; applied: number } {
  const prng = new SeededPrng(seed * 7919 + 1);
  const ids = seed % 2 === 0 ? ['n1', 'n2', 'n3'] : ['n1', 'n2', 'n3', 'n4', 'n5'];
  const c = new Cluster({
    ids,
    seed,
    config: {
      electionTicks: 10,
      heartbeatTicks: 1,
      maxInflightAppends: 1 + (seed % 4),
      maxEntriesPerAppend: 1 + (seed % 5),
      maxAppendBytes: 64,
      preVote: seed % 3 !== 0,
      checkQuorum: seed % 5 !== 0,
    },
  });
  c.dropRate = (seed % 4) * 0.04;
  c.duplicateRate = 0.02;
  c.reorderRate = 0.05;
  let proposals = 0;
  let reads = 0;
  const pick = <T>(items: readonly T[]): T => items[prng.int(items.length)]!;
  for (let r = 0; r < rounds; r++) {
    const x = prng.next();
    if (x < 0.01) c.heal();
    else if (x < 0.015) c.isolate(pick(ids));
    else if (x < 0.02) {
      const shuffled = [...ids].sort(() => prng.next() - 0.5);
      const cutAt = 1 + prng.int(ids.length - 1);
      c.partition([shuffled.slice(0, cutAt), shuffled.slice(cutAt)]);
    } else if (x < 0.022) {
      c.cut.add(`${pick(ids)}->${pick(ids)}`);
    }
    const alive = c.alive();
    if (prng.next() < 0.006 && alive.length > 0) c.crash(pick(alive));
    const down = ids.filter((id) => !c.nodes.has(id));
    if (down.length > 0 && prng.next() < 0.03) c.restart(pick(down));
    if (alive.length > 0 && prng.next() < 0.3) {
      const id = pick(alive);
      if (c.nodes.has(id)) c.node(id).propose(new TextEncoder().encode(`s${seed}-p${proposals++}`));
    }
    if (alive.length > 0 && prng.next() < 0.03) {
      const id = pick(alive);
      if (c.nodes.has(id)) c.read(id, `${id}/r${reads++}`);
    }
    if (r % 40 === 0) c.compactAll(20, 3);
    c.tick();
  }
  c.settleAndWrite(600, `final-${seed}`);
  return { delivered: c.messagesDelivered, applied: c.maxApplied };
}

test(`Figure 3 safety + liveness under chaos: ${seeds} seeds x ${rounds} ticks (§5.2, §5.3, §5.4, §8)`, (t) => {
  const failures: string[] = [];
  let applied = 0;
  let reads = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    try {
      const result = chaos(seed);
      applied += result.applied;
      reads += result.delivered;
    } catch (err) {
      failures.push(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  t.deepEqual(failures, [], `failing seeds:\n${failures.join('\n')}`);
  t.true(applied > seeds * 100, `little progress under chaos: ${applied} entries applied in total`);
  t.log(`applied ${applied} entries, delivered ${reads} messages`);
});
