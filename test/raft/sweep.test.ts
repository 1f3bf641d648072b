/**
 * Randomised chaos sweep: many seeds, each a few thousand ticks of random partitions, one-way cuts,
 * drops, duplicates, reordering, delays and crash-restarts from persisted state, while clients propose and
 * read, leadership is transferred and wiped members are replaced by new ids. The harness checks the Figure 3 safety properties (§5.2 Election Safety, §5.3 Log Matching
 * and Leader Append-Only, §5.4 Leader Completeness and State Machine Safety) and ReadIndex
 * linearizability (§8) on every step; at the end the network heals and a final write must commit
 * everywhere (liveness). A failure names its seed.
 */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { RaftTestGroup, sum, sweepSeeds } from './harness.js';

const seeds = 100;
const rounds = 2000;

/**
 * Replaces a member now and then: wipe a voter, remove it, then add a fresh id that must catch up
 * (by snapshot when the log was compacted). One step per call, retried until it sticks.
 */
class Replacer {
  private phase: { kind: 'idle' } | { kind: 'removing'; id: string } | { kind: 'adding'; id: string } = { kind: 'idle' };
  private next = 0;
  replaced = 0;

  constructor(private readonly c: RaftTestGroup, private readonly prng: SeededPrng) {}

  step(): void {
    const lead = this.c.leader();
    if (!lead) return;
    const voters = lead.confState().voters;
    switch (this.phase.kind) {
      case 'idle': {
        if (this.prng.next() > 0.004) return;
        const victim = voters[this.prng.int(voters.length)]!;
        if (!this.c.disks.has(victim)) return;
        this.c.wipe(victim);
        this.phase = { kind: 'removing', id: victim };
        return;
      }
      case 'removing':
        if (!voters.includes(this.phase.id)) {
          const id = `m${++this.next}`;
          this.c.join(id);
          this.phase = { kind: 'adding', id };
        } else {
          lead.proposeConfChange({ type: 'removeVoter', nodeId: this.phase.id });
        }
        return;
      case 'adding': {
        // Like an operator, wait until the new member has caught up (it knows it is a voter and
        // has applied the leader's commit) before the next replacement: until then the cluster is
        // one failure away from losing its quorum, as in etcd.
        const fresh = this.c.nodes.get(this.phase.id);
        const caughtUp = fresh !== undefined && fresh.confState().voters.includes(this.phase.id)
          && (this.c.machines.get(this.phase.id)?.index ?? 0) >= lead.commitIndex;
        if (caughtUp) {
          this.phase = { kind: 'idle' };
          this.replaced++;
        } else if (!voters.includes(this.phase.id)) {
          lead.proposeConfChange({ type: 'addVoter', nodeId: this.phase.id });
        }
        return;
      }
      default: {
        const unreachable: never = this.phase;
        throw new Error(`unknown phase ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

function chaos(seed: number): { delivered: number; applied: number; replaced: number; reads: number } {
  const prng = new SeededPrng(seed * 7919 + 1);
  const c = new RaftTestGroup({
    ids: seed % 2 === 0 ? ['n1', 'n2', 'n3'] : ['n1', 'n2', 'n3', 'n4', 'n5'],
    seed,
    config: {
      electionTicks: 10,
      heartbeatTicks: 1 + (seed % 6 === 5 ? 2 : 0),
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
  c.asyncReady = seed % 4 === 3;
  c.delayRate = seed % 7 === 2 ? 0.1 : 0.01;
  const replacer = seed % 3 === 1 ? new Replacer(c, prng) : undefined;
  let proposals = 0;
  let reads = 0;
  const pick = <T>(items: readonly T[]): T => items[prng.int(items.length)]!;
  for (let r = 0; r < rounds; r++) {
    const ids = [...c.disks.keys()];
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
    c.crashOrRestartAtRandom(prng);
    const someone = c.alive();
    if (someone.length > 0) {
      if (prng.next() < 0.3) c.node(pick(someone)).propose(new TextEncoder().encode(`s${seed}-p${proposals++}`));
      if (prng.next() < 0.03) {
        const id = pick(someone);
        c.read(id, `${id}/r${reads++}`);
      }
      if (prng.next() < 0.003) c.node(pick(someone)).transferLeadership(pick(ids));
    }
    replacer?.step();
    if (r % 40 === 0) c.compactAll(20, 3);
    c.tick();
  }
  c.settleAndWrite(600, `final-${seed}`);
  return { delivered: c.messagesDelivered, applied: c.maxApplied, replaced: replacer?.replaced ?? 0, reads: c.readStates.length };
}

test(`Figure 3 safety + liveness under chaos: ${seeds} seeds x ${rounds} ticks (§5.2, §5.3, §5.4, §4.1, §8)`, (t) => {
  const { failures, results } = sweepSeeds(seeds, chaos);
  const applied = sum(results.map((r) => r.applied));
  const delivered = sum(results.map((r) => r.delivered));
  const replaced = sum(results.map((r) => r.replaced));
  const reads = sum(results.map((r) => r.reads));
  t.deepEqual(failures, [], `failing seeds:\n${failures.join('\n')}`);
  t.true(applied > seeds * 100, `little progress under chaos: ${applied} entries applied in total`);
  t.true(replaced >= 10, `membership replacements completed: ${replaced}`);
  t.true(reads >= seeds, `linearizable reads served: ${reads}`);
  t.log(`applied ${applied} entries, served ${reads} reads, delivered ${delivered} messages, replaced ${replaced} members`);
});

test('a seed replays exactly: the core is deterministic given its PRNG', (t) => {
  t.deepEqual(chaos(42), chaos(42));
  t.notDeepEqual(chaos(42), chaos(44));
});
