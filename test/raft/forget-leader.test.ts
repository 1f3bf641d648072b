/**
 * peerDown: an external failure detector (the runtime's connection reset when a host is killed)
 * lets followers forget a dead leader, as etcd-raft's MsgForgetLeader does, so that a new leader
 * is elected within a few ticks instead of an election timeout (§5.2's timeouts stay the only
 * detector for a leader that is merely unreachable). Safety must not depend on the report being
 * true: every scenario runs on the checked harness (Figure 3 properties after every step).
 */
import test from 'ava';
import type { RaftConfig } from '../../src/raft/node.js';
import { bytes, RaftTestGroup, elect, proposeN } from './harness.js';

const config: Partial<RaftConfig> = { electionTicks: 10, heartbeatTicks: 1, forgetStaggerTicks: 2 };

function elected(seed: number, ids = ['n1', 'n2', 'n3']): RaftTestGroup {
  const c = new RaftTestGroup({ ids, seed, config });
  elect(c, 'n1');
  proposeN(c, 'n1', 3);
  return c;
}

test('§5.2 + peerDown: survivors told the leader died elect the first-ranked of them within one tick, one term later', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = elected(seed);
    const term = c.node('n1').term;
    c.crash('n1');
    c.node('n2').peerDown('n1');
    c.node('n3').peerDown('n1');
    c.tick(1);
    c.stabilize();
    t.is(c.leader()?.id, 'n2', `seed ${seed}: n2 ranks first among the survivors`);
    t.is(c.leader()?.term, term + 1, `seed ${seed}: no split vote`);
  }
});

test('§5.2 without the report the survivors wait out the election timeout', (t) => {
  const c = elected(3);
  c.crash('n1');
  c.tick(9);
  t.is(c.leader(), undefined, 'nobody campaigns before electionTicks');
  c.tick(11);
  t.truthy(c.leader());
});

test('§5.4.1 a first-ranked survivor missing committed entries is refused; the next one wins a stagger later', (t) => {
  const c = elected(5);
  c.partition([['n1', 'n3'], ['n2']]);
  for (let i = 0; i < 3; i++) c.node('n1').propose(bytes(`late${i}`));
  c.stabilize();
  const committed = c.node('n1').commitIndex;
  t.true(committed > c.node('n2').lastIndex, 'n2 lags behind the commit');
  c.crash('n1');
  c.heal();
  c.node('n2').peerDown('n1');
  c.node('n3').peerDown('n1');
  c.tick(1);
  c.stabilize();
  t.is(c.leader(), undefined, 'n2 campaigned and lost: its log is not up to date');
  c.tick(2);
  c.stabilize();
  t.is(c.leader()?.id, 'n3');
  t.true(c.node('n3').commitIndex >= committed, 'nothing committed is lost');
});

test('a wrong report to one follower costs nothing: the leader keeps its lease and term', (t) => {
  const c = elected(7);
  const term = c.node('n1').term;
  c.node('n2').peerDown('n1');
  t.is(c.node('n2').leader, '', 'n2 forgets its leader');
  c.tick(1);
  c.stabilize();
  t.is(c.leader()?.id, 'n1', 'n3 still hears n1 and refuses the pre-vote');
  t.is(c.node('n1').term, term, 'PreVote: no term was raised');
  c.tick(40);
  t.is(c.leader()?.id, 'n1');
  t.is(c.node('n1').term, term, 'n2 went back to a full election timeout once it heard n1 again');
});

test('a wrong report to a quorum costs at most one election and no committed entry', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = elected(seed);
    const term = c.node('n1').term;
    const committed = c.node('n1').commitIndex;
    c.node('n2').peerDown('n1');
    c.node('n3').peerDown('n1');
    c.tick(1);
    c.stabilize();
    const lead = c.leader();
    t.truthy(lead, `seed ${seed}`);
    t.true(lead!.term <= term + 1, `seed ${seed}: at most one election (term ${lead!.term})`);
    lead!.propose(bytes('after'));
    c.stabilize();
    c.tick(2);
    for (const id of ['n1', 'n2', 'n3']) t.true(c.node(id).commitIndex > committed, `seed ${seed}: ${id} commits on`);
  }
});

test('peerDown of a follower, or at a node that follows someone else, changes no role', (t) => {
  const c = elected(11, ['n1', 'n2', 'n3', 'n4', 'n5']);
  c.node('n1').peerDown('n4');
  c.node('n2').peerDown('n4');
  c.tick(5);
  t.is(c.leader()?.id, 'n1');
  t.is(c.node('n2').leader, 'n1');
  c.crash('n1');
  for (const id of ['n2', 'n3', 'n4', 'n5']) c.node(id).peerDown('n1');
  c.tick(1);
  c.stabilize();
  t.is(c.leader()?.id, 'n2', 'five members: the lowest-ranked survivor wins');
});

test('config: forgetStaggerTicks must be below electionTicks', (t) => {
  t.throws(() => new RaftTestGroup({ ids: ['n1'], seed: 1, config: { electionTicks: 10, heartbeatTicks: 1, forgetStaggerTicks: 10 } }), { message: /forgetStaggerTicks/ });
});
