/**
 * Learners (non-voting members), after the dissertation's §4.2.1 "catching up new servers" and
 * etcd 3.4's `member add --learner` / `member promote`: a new server first receives the log
 * without counting for anything, and is promoted to voter once it has caught up. Scenarios run on
 * the checked harness (every step verifies the Figure 3 properties).
 */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { RaftMessage } from '../../src/raft/messages.js';
import { RaftNode, type RaftConfig } from '../../src/raft/node.js';
import type { Snapshot } from '../../src/raft/types.js';
import { bytes, RaftTestGroup, drain, elect, proposeN, sum, sweepSeeds } from './harness.js';

const base: Partial<RaftConfig> = { electionTicks: 10, heartbeatTicks: 1 };

function cluster(config: Partial<RaftConfig> = {}, seed = 21): RaftTestGroup {
  return new RaftTestGroup({ ids: ['n1', 'n2', 'n3'], seed, config: { ...base, ...config } });
}

/** n1 leads n1..n3; n4 is a fresh process added as a learner and caught up. */
function withLearner(config: Partial<RaftConfig> = {}): RaftTestGroup {
  const c = cluster(config);
  elect(c, 'n1');
  proposeN(c, 'n1', 5);
  c.join('n4');
  const added = c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n4' });
  if (added.kind !== 'appended') throw new Error(`addLearner: ${JSON.stringify(added)}`);
  c.tick(3);
  c.stabilize();
  return c;
}

test('§4.2.1 a learner receives, persists and applies the log, and every member knows it as a learner', (t) => {
  const c = withLearner();
  for (const id of ['n1', 'n2', 'n3', 'n4']) {
    t.deepEqual(c.node(id).confState(), { voters: ['n1', 'n2', 'n3'], learners: ['n4'] }, `${id}'s membership`);
  }
  proposeN(c, 'n1', 3, 'later');
  t.is(c.machines.get('n4')!.index, c.machines.get('n1')!.index, 'the learner applied everything');
  const status = c.node('n1').status();
  t.deepEqual(status.learners, ['n4']);
  t.is(status.progress['n4']?.match, c.node('n1').lastIndex, 'the leader tracks the learner\'s progress');
});

test('§4.2.1 a learner never counts toward a commit: 3 voters + 1 learner with 2 voters down commit nothing', (t) => {
  const c = withLearner({ checkQuorum: false });
  const lead = c.node('n1');
  c.crash('n2');
  c.crash('n3');
  const before = lead.commitIndex;
  const res = lead.propose(bytes('needs-a-voter'));
  t.is(res.kind, 'appended');
  c.tick(20);
  t.is(c.node('n4').lastIndex, lead.lastIndex, 'the learner stored the entry');
  t.is(lead.commitIndex, before, 'leader + learner are no quorum of 3 voters');
  c.restart('n2');
  c.tick(5);
  t.true(lead.commitIndex > before, 'a second voter commits it');
});

test('§4.2.1 a crashed learner costs nothing: commits continue without it', (t) => {
  const c = withLearner();
  c.crash('n4');
  c.crash('n3');
  const before = c.node('n1').commitIndex;
  proposeN(c, 'n1', 3, 'no-learner');
  t.is(c.node('n1').commitIndex, before + 3);
  c.restart('n4');
  c.tick(5);
  t.is(c.machines.get('n4')!.index, c.machines.get('n1')!.index, 'the restarted learner catches up');
});

test('§4.2.1 CheckQuorum and ReadIndex ignore a learner: a leader with only a learner steps down and serves no read', (t) => {
  const c = withLearner();
  const lead = c.node('n1');
  c.isolate('n2');
  c.isolate('n3');
  t.is(c.read('n1', 'r-learner-only').kind, 'started');
  c.tick(25);
  t.false(c.readStates.some((r) => r.ctx === 'r-learner-only'), 'heartbeat acks of a learner confirm no leadership');
  t.not(lead.role, 'leader', 'CheckQuorum: the learner\'s answers are no quorum');
});

test('§4.2.1 a learner never campaigns, even after a long silence or a timeoutNow, and cannot be made leader', (t) => {
  const c = withLearner();
  t.like(c.node('n1').transferLeadership('n4'), { kind: 'dropped', reason: 'notVoter' });
  const fromLearner: RaftMessage[] = [];
  c.observer = (m) => {
    if (m.from === 'n4') fromLearner.push(m);
  };
  const term = c.node('n4').term;
  c.crash('n1');
  c.crash('n2');
  c.crash('n3');
  c.node('n4').campaign();
  c.node('n4').step({ type: 'timeoutNow', from: 'n1', to: 'n4', term });
  c.tick(200);
  t.is(c.node('n4').role, 'follower');
  t.is(c.node('n4').term, term, 'no election, so no term bump');
  t.deepEqual(fromLearner.filter((m) => m.type === 'vote' || m.type === 'preVote'), []);
  c.restart('n2');
  c.restart('n3');
  c.tick(60);
  t.truthy(c.leader(), 'the voters elect a leader');
  t.not(c.leader()!.id, 'n4');
});

test('§4.2.1 a candidate ignores a learner\'s vote (only voters are polled)', (t) => {
  const snap: Snapshot = { metadata: { index: 5, term: 1, conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } }, data: bytes('{}') };
  const n = RaftNode.restore({ id: 'n1', snapshot: snap, hardState: { term: 1, vote: '', commit: 5 }, prng: new SeededPrng(3), config: { ...base, preVote: false } });
  n.campaign();
  const votes = drain(n)!.messages;
  t.deepEqual(votes.map((m) => m.to).sort(), ['n2', 'n3'], 'vote requests go to voters only');
  n.step({ type: 'voteResp', from: 'n4', to: 'n1', term: n.term, reject: false });
  t.is(n.role, 'candidate', 'a learner\'s grant does not make a quorum of 2 of 3');
  n.step({ type: 'voteResp', from: 'n2', to: 'n1', term: n.term, reject: false });
  t.is(n.role, 'leader');
});

test('§4.2.1 a learner still answers vote requests (it may have been promoted without knowing it yet)', (t) => {
  const c = withLearner();
  const learner = c.node('n4');
  learner.step({ type: 'vote', from: 'n2', to: 'n4', term: learner.term + 1, lastIndex: learner.lastIndex, lastTerm: learner.termAt(learner.lastIndex)!, force: true });
  const reply = drain(learner)!.messages.find((m) => m.type === 'voteResp');
  t.like(reply, { type: 'voteResp', to: 'n2', reject: false });
});

test('§4.2.1 promotion is refused while the learner lags and accepted once it caught up; then it counts for quorum', (t) => {
  const c = cluster();
  elect(c, 'n1');
  const lead = c.node('n1');
  c.join('n4');
  c.cut.add('n1->n4');
  t.like(lead.proposeConfChange({ type: 'addLearner', nodeId: 'n4' }), { kind: 'appended' });
  c.tick(3);
  proposeN(c, 'n1', 30);
  t.deepEqual(lead.confState().learners, ['n4']);
  t.like(lead.proposeConfChange({ type: 'promoteLearner', nodeId: 'n4' }), { kind: 'dropped', reason: 'learnerLagging' });
  t.deepEqual(lead.confState(), { voters: ['n1', 'n2', 'n3'], learners: ['n4'] }, 'a refused promotion changes nothing');
  c.heal();
  c.tick(20);
  t.true(lead.progressOf('n4')!.match * 10 >= lead.lastIndex * 9, 'caught up to etcd\'s 90% rule');
  t.like(lead.proposeConfChange({ type: 'promoteLearner', nodeId: 'n4' }), { kind: 'appended' });
  c.tick(3);
  for (const id of ['n1', 'n2', 'n3', 'n4']) {
    t.deepEqual(c.node(id).confState(), { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] }, `${id} sees n4 as a voter`);
  }
  // 4 voters need 3: with n2 down, a commit needs n4's acknowledgement.
  c.crash('n2');
  let before = lead.commitIndex;
  proposeN(c, 'n1', 1, 'with-n4');
  t.is(lead.commitIndex, before + 1, 'n1 + n3 + n4 commit');
  c.crash('n4');
  before = lead.commitIndex;
  lead.propose(bytes('without-n4'));
  c.tick(5);
  t.is(lead.commitIndex, before, 'n1 + n3 are no quorum of 4 once n4 votes');
});

test('§4.2.1 the promotion guard also applies to a promotion forwarded by a follower', (t) => {
  const c = cluster();
  elect(c, 'n1');
  c.join('n4');
  c.cut.add('n1->n4');
  c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n4' });
  c.tick(3);
  proposeN(c, 'n1', 30);
  t.like(c.node('n2').proposeConfChange({ type: 'promoteLearner', nodeId: 'n4' }), { kind: 'forwarded', leader: 'n1' });
  c.tick(5);
  t.deepEqual(c.node('n1').confState().learners, ['n4'], 'the leader refused the lagging learner\'s promotion');
});

test('§4.2.1 snapshots carry the learner set: a learner caught up by snapshot, and restarts from a snapshot, keep it', (t) => {
  const c = withLearner();
  proposeN(c, 'n1', 20);
  for (const id of ['n1', 'n2', 'n3', 'n4']) c.compact(id, c.node(id).appliedIndex);
  t.deepEqual(c.node('n1').latestSnapshot()!.metadata.conf, { voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
  c.join('n5');
  t.like(c.node('n1').proposeConfChange({ type: 'addLearner', nodeId: 'n5' }), { kind: 'appended' });
  c.tick(10);
  t.truthy(c.disks.get('n5')!.snapshot, 'n5 caught up by snapshot');
  t.deepEqual(c.node('n5').confState(), { voters: ['n1', 'n2', 'n3'], learners: ['n4', 'n5'] });
  for (const id of ['n4', 'n2']) {
    c.crash(id);
    c.restart(id);
    t.deepEqual(c.node(id).confState(), { voters: ['n1', 'n2', 'n3'], learners: ['n4', 'n5'] }, `${id} after restart from its snapshot`);
  }
  c.tick(5);
  t.is(c.machines.get('n5')!.index, c.machines.get('n1')!.index);
});

test('§4.2.1 a snapshot written before learners existed (no learners field) means no learners', (t) => {
  const conf = { voters: ['n1', 'n2', 'n3'] } as unknown as Snapshot['metadata']['conf'];
  const snap: Snapshot = { metadata: { index: 7, term: 2, conf }, data: bytes('{}') };
  const n = RaftNode.restore({ id: 'n2', snapshot: snap, hardState: { term: 2, vote: '', commit: 7 }, prng: new SeededPrng(5) });
  t.deepEqual(n.confState(), { voters: ['n1', 'n2', 'n3'], learners: [] });
  t.deepEqual(n.status().learners, []);
});

test('§4.2.1 invalid membership changes are refused with typed results', (t) => {
  const c = withLearner();
  const lead = c.node('n1');
  const invalid = { kind: 'dropped', reason: 'invalidConfChange' };
  t.like(lead.proposeConfChange({ type: 'addLearner', nodeId: 'n2' }), invalid, 'a voter cannot also be a learner');
  t.like(lead.proposeConfChange({ type: 'addLearner', nodeId: 'n4' }), invalid, 'already a learner');
  t.like(lead.proposeConfChange({ type: 'addVoter', nodeId: 'n4' }), invalid, 'a learner becomes a voter only by promotion');
  t.like(lead.proposeConfChange({ type: 'promoteLearner', nodeId: 'n2' }), invalid, 'a voter is no learner');
  t.like(lead.proposeConfChange({ type: 'promoteLearner', nodeId: 'n9' }), invalid, 'an unknown node is no learner');
  t.like(lead.proposeConfChange({ type: 'removeVoter', nodeId: 'n9' }), invalid, 'not a member');
  t.like(lead.propose(bytes('still-fine')), { kind: 'appended' }, 'refusals left nothing pending');
  // removeVoter also removes a learner, which then hears nothing more.
  t.like(lead.proposeConfChange({ type: 'removeVoter', nodeId: 'n4' }), { kind: 'appended' });
  t.like(lead.proposeConfChange({ type: 'addLearner', nodeId: 'n5' }), { kind: 'dropped', reason: 'confChangePending' }, 'one change at a time');
  c.stabilize();
  t.deepEqual(lead.confState(), { voters: ['n1', 'n2', 'n3'], learners: [] });
  t.is(lead.progressOf('n4'), undefined, 'the leader dropped the removed learner\'s progress');
  const applied = c.machines.get('n4')!.index;
  proposeN(c, 'n1', 3, 'after-removal');
  c.tick(3);
  t.is(c.machines.get('n4')!.index, applied, 'a removed learner receives no more entries');
});

/**
 * Replaces wiped voters the safe way under chaos: remove the old id, add the new one as a learner,
 * promote it once the leader allows it. Checked every tick on top of Figure 3: a node that knows
 * itself to be a learner is never a candidate or a leader.
 */
class LearnerReplacer {
  private phase: { kind: 'idle' } | { kind: 'removing' | 'adding' | 'promoting'; id: string } = { kind: 'idle' };
  private next = 0;
  replaced = 0;
  lagRefusals = 0;

  constructor(private readonly c: RaftTestGroup, private readonly prng: SeededPrng) {}

  step(): void {
    const lead = this.c.leader();
    if (!lead) return;
    const conf = lead.confState();
    switch (this.phase.kind) {
      case 'idle': {
        if (this.prng.next() > 0.005) return;
        const victim = conf.voters[this.prng.int(conf.voters.length)]!;
        if (!this.c.disks.has(victim)) return;
        this.c.wipe(victim);
        this.phase = { kind: 'removing', id: victim };
        return;
      }
      case 'removing':
        if (conf.voters.includes(this.phase.id)) {
          lead.proposeConfChange({ type: 'removeVoter', nodeId: this.phase.id });
          return;
        }
        this.phase = { kind: 'adding', id: `m${++this.next}` };
        this.c.join(this.phase.id);
        return;
      case 'adding':
        if (conf.learners.includes(this.phase.id)) this.phase = { kind: 'promoting', id: this.phase.id };
        else lead.proposeConfChange({ type: 'addLearner', nodeId: this.phase.id });
        return;
      case 'promoting': {
        const fresh = this.c.nodes.get(this.phase.id);
        if (fresh?.confState().voters.includes(this.phase.id)) {
          this.phase = { kind: 'idle' };
          this.replaced++;
        } else if (!conf.voters.includes(this.phase.id)) {
          const res = lead.proposeConfChange({ type: 'promoteLearner', nodeId: this.phase.id });
          if (res.kind === 'dropped' && res.reason === 'learnerLagging') this.lagRefusals++;
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

function learnerChaos(seed: number): { replaced: number; lagRefusals: number; applied: number } {
  const prng = new SeededPrng(seed * 104_729 + 7);
  const c = new RaftTestGroup({
    ids: seed % 2 === 0 ? ['n1', 'n2', 'n3'] : ['n1', 'n2', 'n3', 'n4', 'n5'],
    seed: 10_000 + seed,
    config: { electionTicks: 10, heartbeatTicks: 1, maxInflightAppends: 1 + (seed % 3), maxEntriesPerAppend: 2, maxAppendBytes: 64, preVote: seed % 3 !== 0, checkQuorum: seed % 4 !== 0 },
  });
  c.dropRate = (seed % 3) * 0.04;
  c.duplicateRate = 0.02;
  c.reorderRate = 0.05;
  c.delayRate = 0.02;
  c.asyncReady = seed % 4 === 1;
  const replacer = new LearnerReplacer(c, prng);
  const pick = <T>(items: readonly T[]): T => items[prng.int(items.length)]!;
  let proposals = 0;
  let reads = 0;
  for (let r = 0; r < 1500; r++) {
    const ids = [...c.disks.keys()];
    const x = prng.next();
    if (x < 0.01) c.heal();
    else if (x < 0.016) c.isolate(pick(ids));
    c.crashOrRestartAtRandom(prng);
    const someone = c.alive();
    if (someone.length > 0) {
      if (prng.next() < 0.3) c.node(pick(someone)).propose(bytes(`l${seed}-p${proposals++}`));
      if (prng.next() < 0.02) {
        const id = pick(someone);
        c.read(id, `${id}/r${reads++}`);
      }
      if (prng.next() < 0.003) c.node(pick(someone)).transferLeadership(pick(ids));
    }
    replacer.step();
    if (r % 40 === 0) c.compactAll(20, 3);
    c.tick();
    for (const [id, n] of c.nodes) {
      if (n.role !== 'follower' && n.confState().learners.includes(id)) c.fail(`learner ${id} became ${n.role} in term ${n.term}`);
    }
  }
  c.settleAndWrite(600, `final-${seed}`);
  return { replaced: replacer.replaced, lagRefusals: replacer.lagRefusals, applied: c.maxApplied };
}

test('§4.2.1 Figure 3 safety + liveness under chaos while wiped voters are replaced through learners (40 seeds)', (t) => {
  const { failures, results } = sweepSeeds(40, learnerChaos);
  const replaced = sum(results.map((r) => r.replaced));
  const lagRefusals = sum(results.map((r) => r.lagRefusals));
  const applied = sum(results.map((r) => r.applied));
  t.deepEqual(failures, [], `failing seeds:\n${failures.join('\n')}`);
  t.true(replaced >= 20, `replacements through a learner completed: ${replaced}`);
  t.true(lagRefusals > 0, `the promotion guard refused lagging learners: ${lagRefusals}`);
  t.true(applied > 40 * 100, `progress: ${applied}`);
  t.log(`replaced ${replaced} members through learners, ${lagRefusals} early promotions refused, ${applied} entries applied`);
});
