/**
 * Beyond the basic paper rules, after etcd-io/raft's raft_test.go (our own code): dueling
 * candidates, stale messages, CheckQuorum, PreVote, leader transfer, snapshots, ReadIndex,
 * membership changes, flow control and the Ready contract. Scenarios run on the checked harness
 * (every step verifies the Figure 3 properties). Titles cite the paper / dissertation section.
 */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { RaftLog } from '../../src/raft/log.js';
import type { AppendMessage } from '../../src/raft/messages.js';
import { RaftNode, type RaftConfig } from '../../src/raft/node.js';
import type { Entry } from '../../src/raft/types.js';
import { bytes, RaftTestGroup, drain, elect, outbox, proposeN } from './harness.js';

const base: Partial<RaftConfig> = { electionTicks: 10, heartbeatTicks: 1 };
const ids3 = ['n1', 'n2', 'n3'];

function cluster(config: Partial<RaftConfig> = {}, ids = ids3, seed = 11): RaftTestGroup {
  return new RaftTestGroup({ ids, seed, config: { ...base, ...config } });
}

test('§5.2 dueling candidates: a split vote is resolved, and a candidate with a stale log cannot win', (t) => {
  const c = cluster({ preVote: false, checkQuorum: false });
  c.partition([['n1', 'n2'], ['n3']]);
  c.node('n1').campaign();
  c.node('n3').campaign();
  c.stabilize();
  t.is(c.node('n1').role, 'leader');
  t.is(c.node('n3').role, 'candidate', 'n3 cannot reach a majority');
  proposeN(c, 'n1', 1);
  c.heal();
  c.node('n3').campaign(); // term 3 > n1's term 2: n1 steps down, but n3's log lacks the committed entries
  c.stabilize();
  t.not(c.node('n3').role, 'leader', 'a candidate missing committed entries is refused (§5.4.1)');
  t.is(c.leader(), undefined);
  c.tick(40);
  const lead = c.leader();
  t.truthy(lead);
  t.not(lead?.id, 'n3');
});

test('§5.1 stale messages from a deposed leader are ignored and cannot change the log', (t) => {
  const c = cluster({ preVote: false, checkQuorum: false });
  elect(c, 'n1');
  proposeN(c, 'n1', 2);
  const oldTerm = c.node('n1').term;
  elect(c, 'n2');
  const n3 = c.node('n3');
  const last = n3.lastIndex;
  const stale: AppendMessage = {
    type: 'append', from: 'n1', to: 'n3', term: oldTerm, prevIndex: last, prevTerm: n3.termAt(last)!,
    entries: [{ term: oldTerm, index: last + 1, type: 'normal', data: bytes('stale') }], commit: last + 1,
  };
  n3.step(stale);
  t.is(n3.lastIndex, last);
  t.is(n3.leader, 'n2');
  c.stabilize();
});

test('§6 CheckQuorum: a leader that stops hearing from a quorum steps down within an election timeout', (t) => {
  for (const checkQuorum of [true, false]) {
    const c = cluster({ checkQuorum, preVote: true });
    elect(c, 'n1');
    c.isolate('n1');
    c.tick(21);
    t.is(c.node('n1').role, checkQuorum ? 'follower' : 'leader', `checkQuorum ${checkQuorum}`);
  }
});

test('§9.6 PreVote: a partitioned node does not raise its term and cannot disrupt the leader on return', (t) => {
  for (const preVote of [true, false]) {
    const c = cluster({ preVote, checkQuorum: false });
    elect(c, 'n1');
    const term = c.node('n1').term;
    c.isolate('n3');
    c.tick(100);
    t.is(c.node('n3').term > term, !preVote, `preVote ${preVote}: isolated node's term`);
    c.heal();
    c.tick(5);
    const lead = c.leader();
    if (preVote) {
      t.is(lead?.id, 'n1', 'the leader is undisturbed');
      t.is(lead?.term, term);
    } else {
      t.true(c.node('n1').term > term, 'without PreVote the returning node forces a new term');
    }
  }
});

test('§4.2.3 leader lease: with CheckQuorum, followers with a live leader ignore a disruptive vote request', (t) => {
  const c = cluster({ preVote: false, checkQuorum: true });
  elect(c, 'n1');
  const term = c.node('n1').term;
  c.node('n2').step({ type: 'vote', from: 'n3', to: 'n2', term: term + 5, lastIndex: 100, lastTerm: term + 4, force: false });
  t.is(c.node('n2').term, term);
  t.is(c.node('n2').leader, 'n1');
});

test('§3.10 leader transfer: the target catches up, times out at once, and wins; proposals wait meanwhile', (t) => {
  const c = cluster();
  elect(c, 'n1');
  c.isolate('n3');
  proposeN(c, 'n1', 5);
  c.heal();
  const result = c.node('n1').transferLeadership('n3');
  t.deepEqual(result, { kind: 'started' });
  t.like(c.node('n1').propose(bytes('during')), { kind: 'dropped', reason: 'transferring' });
  c.tick(12); // the stalled stream to n3 is re-probed, n3 catches up, then gets TimeoutNow
  t.is(c.node('n3').role, 'leader');
  t.is(c.node('n1').role, 'follower');
  t.is(c.node('n3').commitIndex, c.node('n3').lastIndex);
  t.like(c.node('n3').status(), { role: 'leader', leader: 'n3', voters: ids3, leadTransferee: '' });
  t.deepEqual(Object.keys(c.node('n3').status().progress).sort(), ['n1', 'n2']);
});

test('§3.10 a follower forwards a transfer request; a transfer to a dead node is abandoned after an election timeout', (t) => {
  const c = cluster();
  elect(c, 'n1');
  t.like(c.node('n2').transferLeadership('n2'), { kind: 'forwarded', leader: 'n1' });
  c.stabilize();
  t.is(c.leader()?.id, 'n2');
  c.crash('n3');
  c.node('n2').transferLeadership('n3');
  c.node('n2').propose(bytes('x'));
  c.tick(3);
  t.like(c.node('n2').propose(bytes('y')), { kind: 'dropped', reason: 'transferring' });
  c.tick(12);
  t.is(c.leader()?.id, 'n2');
  t.like(c.node('n2').propose(bytes('z')), { kind: 'appended' });
});

test('§7 snapshot catch-up: a follower behind the compacted log receives and installs the snapshot', (t) => {
  const c = cluster({ maxEntriesPerAppend: 4 });
  elect(c, 'n1');
  c.crash('n3');
  for (let i = 0; i < 5; i++) proposeN(c, 'n1', 10, `b${i}-`);
  c.compact('n1', c.node('n1').appliedIndex - 2);
  c.compact('n2', c.node('n2').appliedIndex - 2);
  t.true(c.node('n1').firstIndex > 10);
  c.restart('n3');
  c.tick(15);
  const snap = c.disks.get('n3')!.snapshot;
  t.truthy(snap, 'n3 persisted the leader\'s snapshot');
  t.is(c.machines.get('n3')!.index, c.machines.get('n1')!.index);
  t.is(c.node('n3').commitIndex, c.node('n1').commitIndex);
  proposeN(c, 'n1', 3, 'after');
  t.is(c.machines.get('n3')!.index, c.machines.get('n1')!.index, 'replication resumes after the snapshot');
});

test('§7 a lost snapshot is sent again', (t) => {
  const c = cluster();
  elect(c, 'n1');
  c.crash('n3');
  proposeN(c, 'n1', 20);
  c.compact('n1', c.node('n1').appliedIndex);
  c.restart('n3');
  c.cut.add('n1->n3');
  c.tick(3); // the snapshot goes out and is lost
  c.heal();
  c.tick(25);
  t.is(c.machines.get('n3')!.index, c.machines.get('n1')!.index);
});

test('§8 ReadIndex on the leader waits for its first commit, then confirms leadership with a quorum', (t) => {
  const c = cluster();
  c.node('n1').campaign();
  // Run elections messages until n1 is leader but before its noop commits.
  for (let i = 0; i < 10 && c.node('n1').role !== 'leader'; i++) c.round();
  t.is(c.node('n1').role, 'leader');
  t.deepEqual(c.read('n1', 'r1'), { kind: 'started' });
  t.deepEqual(c.read('n1', 'r1'), { kind: 'dropped', reason: 'duplicate' });
  c.stabilize();
  const rs = c.readStates.find((r) => r.ctx === 'r1');
  t.truthy(rs);
  t.true(rs!.index >= c.node('n1').firstIndex && c.node('n1').termAt(rs!.index) === c.node('n1').term, 'read index is at least the noop');
});

test('§8 ReadIndex from a follower is forwarded; a partitioned old leader cannot answer reads', (t) => {
  const c = cluster({ checkQuorum: false });
  elect(c, 'n1');
  proposeN(c, 'n1', 3);
  t.like(c.read('n2', 'f1'), { kind: 'forwarded', leader: 'n1' });
  c.stabilize();
  const rs = c.readStates.find((r) => r.ctx === 'f1');
  t.is(rs?.node, 'n2');
  t.is(rs?.index, c.node('n1').commitIndex);

  c.isolate('n1');
  c.tick(30);
  const lead = c.leader();
  t.truthy(lead && lead.id !== 'n1');
  proposeN(c, lead!.id, 2, 'new');
  t.is(c.node('n1').role, 'leader', 'without CheckQuorum the old leader still believes it leads');
  t.deepEqual(c.read('n1', 'stale'), { kind: 'started' });
  c.tick(20);
  t.falsy(c.readStates.find((r) => r.ctx === 'stale'), 'no quorum confirms the old leader, so no read is served');
  c.read(lead!.id, 'fresh');
  c.stabilize();
  t.true(c.readStates.find((r) => r.ctx === 'fresh')!.index >= lead!.commitIndex);
});

test('§4.1 membership: a wiped member is removed and replaced by a new id that catches up by snapshot', (t) => {
  const c = cluster();
  elect(c, 'n1');
  proposeN(c, 'n1', 20);
  c.compact('n1', c.node('n1').appliedIndex);
  c.compact('n2', c.node('n2').appliedIndex);
  c.wipe('n3');
  const lead = c.node('n1');
  t.like(lead.proposeConfChange({ type: 'removeVoter', nodeId: 'n3' }), { kind: 'appended' });
  t.like(lead.proposeConfChange({ type: 'addVoter', nodeId: 'n4' }), { kind: 'dropped', reason: 'confChangePending' }, 'one change at a time');
  c.stabilize();
  t.deepEqual(lead.confState().voters, ['n1', 'n2']);
  c.join('n4');
  t.like(lead.proposeConfChange({ type: 'addVoter', nodeId: 'n4' }), { kind: 'appended' });
  c.tick(10);
  t.deepEqual(c.node('n4').confState().voters, ['n1', 'n2', 'n4'], 'the new member learned the membership');
  t.truthy(c.disks.get('n4')!.snapshot, 'it caught up by snapshot');
  t.is(c.machines.get('n4')!.index, c.machines.get('n1')!.index);
  // n4 now counts: with n1 gone, n2 and n4 form a quorum.
  c.crash('n1');
  c.tick(40);
  const next = c.leader();
  t.truthy(next && next.id !== 'n1');
  proposeN(c, next!.id, 1, 'after');
  t.is(c.machines.get('n4')!.index, c.machines.get('n2')!.index);
});

test('§4.1 a new member replays the membership from the log when no snapshot exists; invalid changes are refused', (t) => {
  const c = cluster();
  elect(c, 'n1');
  const lead = c.node('n1');
  t.like(lead.proposeConfChange({ type: 'addVoter', nodeId: 'n2' }), { kind: 'dropped', reason: 'invalidConfChange' });
  c.join('n4');
  lead.proposeConfChange({ type: 'addVoter', nodeId: 'n4' });
  c.tick(5);
  t.deepEqual(c.node('n4').confState().voters, ['n1', 'n2', 'n3', 'n4']);
  t.falsy(c.disks.get('n4')!.snapshot);
  t.is(c.node('n4').commitIndex, lead.commitIndex);
  c.crash('n4');
  c.restart('n4');
  t.deepEqual(c.node('n4').confState().voters, ['n1', 'n2', 'n3', 'n4'], 'restart rebuilds membership from the log');
});

test('§5.3 flow control: probe sends one append, replicate streams batches up to the in-flight limit', (t) => {
  const n = RaftNode.restore({
    id: 'n1', peers: ids3, prng: new SeededPrng(1), bootstrapEntry: false,
    config: { ...base, preVote: false, maxInflightAppends: 2, maxEntriesPerAppend: 3 },
  });
  n.campaign();
  n.step({ type: 'voteResp', from: 'n2', to: 'n1', term: 1, reject: false });
  for (let i = 0; i < 20; i++) n.propose(bytes(`p${i}`));
  let sent = outbox(n).filter((m): m is AppendMessage => m.type === 'append' && m.to === 'n2');
  t.is(sent.length, 1, 'probe: a single append until the follower answers');
  t.is(sent[0]!.entries.length, 3, 'batched up to maxEntriesPerAppend');
  n.step({ type: 'appendResp', from: 'n2', to: 'n1', term: 1, index: 3, reject: false, hintIndex: 0, hintTerm: 0 });
  t.is(n.progressOf('n2')?.state, 'replicate');
  sent = outbox(n).filter((m): m is AppendMessage => m.type === 'append' && m.to === 'n2');
  t.deepEqual(sent.map((m) => m.entries.map((e) => e.index)), [[4, 5, 6], [7, 8, 9]], 'two in flight, then paused');
  n.step({ type: 'appendResp', from: 'n2', to: 'n1', term: 1, index: 6, reject: false, hintIndex: 0, hintTerm: 0 });
  sent = outbox(n).filter((m): m is AppendMessage => m.type === 'append' && m.to === 'n2');
  t.deepEqual(sent.map((m) => m.entries.map((e) => e.index)), [[10, 11, 12]]);
});

test('§5.3 fast back-off: the conflict hint skips a whole divergent term per round trip', (t) => {
  const log = (terms: number[]): Entry[] => terms.map((term, i): Entry => ({ term, index: i + 1, type: 'normal', data: bytes(`t${term}`) }));
  const leaderLog = log([1, ...Array<number>(100).fill(4)]);
  const followerLog = log([1, ...Array<number>(50).fill(2), ...Array<number>(50).fill(3)]);
  const c = new RaftTestGroup({
    ids: ids3, seed: 3, bootstrapEntry: false, config: { ...base, preVote: false, checkQuorum: false, maxEntriesPerAppend: 1000 },
    initial: {
      n1: { hardState: { term: 4, vote: '', commit: 1 }, entries: leaderLog },
      n2: { hardState: { term: 4, vote: '', commit: 1 }, entries: followerLog },
      n3: { hardState: { term: 4, vote: '', commit: 1 }, entries: leaderLog.slice(0, 1) },
    },
  });
  let rejections = 0;
  c.observer = (m) => {
    if (m.type === 'appendResp' && m.from === 'n2' && m.reject) rejections++;
  };
  c.node('n1').campaign();
  c.stabilize();
  t.is(c.node('n1').role, 'leader');
  t.is(c.node('n2').lastIndex, c.node('n1').lastIndex);
  t.is(c.node('n2').termAt(101), 4);
  t.true(rejections <= 2, `${rejections} rejections: one round trip per divergent term, not per entry`);
});

test('Ready contract: nothing is sent before ready(), vote is persisted with its messages, advance is required', (t) => {
  const n = RaftNode.restore({ id: 'n1', peers: ids3, prng: new SeededPrng(2), config: { ...base, preVote: false } });
  const first = drain(n)!;
  t.deepEqual(first.entries.map((e) => [e.index, e.term, e.type]), [[1, 1, 'confChange']], 'bootstrap entry');
  t.deepEqual(first.confState?.voters, ids3);
  t.deepEqual(first.committedEntries.map((e) => e.index), [1]);
  n.campaign();
  t.true(n.hasReady());
  const rd = n.ready();
  t.like(rd.hardState, { term: 2, vote: 'n1' });
  t.true(rd.mustSync);
  t.is(rd.messages.filter((m) => m.type === 'vote').length, 2);
  t.false(n.hasReady(), 'nothing new while a Ready is outstanding');
  t.throws(() => n.ready(), { message: /before advance/ });
  n.advance(rd);
  t.false(n.hasReady());
  t.throws(() => n.advance(rd), { message: /without an outstanding/ });
});

test('Restart from persisted state keeps term, vote and commit, and replays committed entries', (t) => {
  const c = cluster();
  elect(c, 'n1');
  proposeN(c, 'n1', 4);
  const before = { term: c.node('n2').term, commit: c.node('n2').commitIndex, applied: c.machines.get('n2')!.index };
  c.crash('n2');
  c.restart('n2');
  const n2 = c.node('n2');
  t.is(n2.term, before.term);
  t.is(n2.commitIndex, before.commit);
  t.is(n2.appliedIndex, 0);
  c.processReady('n2');
  t.is(c.machines.get('n2')!.index, before.applied, 'committed entries are re-applied to the rebuilt state machine');
  const disk = c.disks.get('n2')!;
  const durable = RaftNode.restore({ id: 'n2', hardState: disk.hardState, entries: disk.entries, applied: 3, prng: new SeededPrng(1), config: base });
  t.is(drain(durable)!.committedEntries[0]?.index, 4, 'a self-persisting state machine resumes after its own applied index');
  t.throws(() => RaftNode.restore({ id: 'n2', hardState: disk.hardState, entries: disk.entries, applied: before.commit + 1, prng: new SeededPrng(1) }), { message: /outside/ });
});

test('Invariants: committed entries are never overwritten, commit never decreases, term never decreases', (t) => {
  const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(0) });
  const log = new RaftLog(0, 0, [e(1, 1), e(2, 1), e(3, 1)], 2);
  t.throws(() => log.maybeAppend(1, [e(2, 2)]), { message: /overwrite committed/ });
  t.throws(() => log.commitTo(1), { message: /decreasing/ });
  t.throws(() => log.commitTo(9), { message: /beyond last index/ });
  t.throws(() => RaftNode.restore({ id: 'n1', peers: ids3, prng: new SeededPrng(1), hardState: { term: 1, vote: '', commit: 0 }, entries: [e(1, 2)] }), { message: /below last log term/ });
  const n = RaftNode.restore({ id: 'n1', peers: ids3, prng: new SeededPrng(1), config: base });
  drain(n);
  t.throws(() => n.compact(5, new Uint8Array(0)), { message: /beyond applied/ });
});

test('Limits: oversized proposals and too many reads are refused with typed results', (t) => {
  const n = RaftNode.restore({ id: 'n1', peers: ['n1'], prng: new SeededPrng(1), config: { ...base, maxProposalBytes: 8, maxPendingReads: 1 } });
  drain(n);
  n.campaign();
  t.is(n.role, 'leader', 'a single voter elects itself at once');
  t.like(n.propose(new Uint8Array(9)), { kind: 'dropped', reason: 'tooLarge' });
  t.like(n.propose(new Uint8Array(8)), { kind: 'appended' });
  t.is(n.commitIndex, n.lastIndex, 'a single voter commits at once');
  t.like(n.readIndex(''), { kind: 'dropped', reason: 'invalid' });
  t.like(n.readIndex('a'), { kind: 'started' });
  const rd = drain(n)!;
  t.deepEqual(rd.readStates, [{ ctx: 'a', index: n.commitIndex }]);
  const follower = RaftNode.restore({ id: 'n2', peers: ids3, prng: new SeededPrng(1), config: base });
  t.like(follower.propose(bytes('x')), { kind: 'dropped', reason: 'noLeader' });
});

test('§4.2.2 a leader that removes itself steps down once the change commits, and the rest carry on', (t) => {
  const c = cluster();
  elect(c, 'n1');
  t.like(c.node('n1').proposeConfChange({ type: 'removeVoter', nodeId: 'n1' }), { kind: 'appended' });
  c.stabilize();
  t.is(c.node('n1').role, 'follower');
  t.deepEqual(c.node('n1').confState().voters, ['n2', 'n3']);
  c.tick(40);
  const lead = c.leader();
  t.truthy(lead && lead.id !== 'n1');
  t.deepEqual(lead!.confState().voters, ['n2', 'n3']);
  proposeN(c, lead!.id, 2, 'after');
  t.is(c.machines.get('n2')!.index, c.machines.get('n3')!.index);
  t.is(c.node('n1').role, 'follower', 'a non-member never campaigns');
});
