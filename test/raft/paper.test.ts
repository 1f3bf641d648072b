/**
 * The Raft paper's rules, one test per rule, after etcd-io/raft's raft_paper_test.go (our own
 * code). Titles cite the section. These nodes run without PreVote and CheckQuorum unless a test says
 * otherwise, start from an empty log at term 0, and are driven by hand: step a message, read the
 * Ready.
 */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { AppendMessage, RaftMessage } from '../../src/raft/messages.js';
import { RaftNode, type RaftConfig, type Role } from '../../src/raft/node.js';
import type { Entry, NodeId } from '../../src/raft/types.js';
import { bytes, RaftTestGroup, drain, outbox } from './harness.js';

const T = 10; // electionTicks

interface NodeSetup {
  readonly peers?: readonly NodeId[];
  readonly terms?: readonly number[];
  readonly term?: number;
  readonly vote?: NodeId;
  readonly commit?: number;
  readonly config?: Partial<RaftConfig>;
  readonly seed?: number;
}

/** Entries 1..n with the given terms. */
function ents(terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: i + 1, type: 'normal', data: bytes(`e${i + 1}`) }));
}

function newNode(id: NodeId, setup: NodeSetup = {}): RaftNode {
  const entries = ents(setup.terms ?? []);
  const lastTerm = entries[entries.length - 1]?.term ?? 0;
  return RaftNode.restore({
    id,
    peers: setup.peers ?? ['n1', 'n2', 'n3'],
    hardState: { term: setup.term ?? lastTerm, vote: setup.vote ?? '', commit: setup.commit ?? 0 },
    entries,
    config: { electionTicks: T, heartbeatTicks: 1, preVote: false, checkQuorum: false, ...setup.config },
    prng: new SeededPrng(setup.seed ?? 1),
    bootstrapEntry: false,
  });
}

function tickUntil(node: RaftNode, done: () => boolean, max = 4 * T): number {
  for (let i = 1; i <= max; i++) {
    node.tick();
    if (done()) return i;
  }
  throw new Error('condition not reached');
}

/** A leader elected by n2's (and for five nodes n3's) vote, with its noop (and outbox) drained. */
function makeLeader(setup: NodeSetup = {}): RaftNode {
  const n = newNode('n1', setup);
  n.campaign();
  for (const from of ['n2', 'n3']) {
    if (n.role === 'candidate') n.step({ type: 'voteResp', from, to: 'n1', term: n.term, reject: false });
  }
  if (n.role !== 'leader') throw new Error('not elected');
  outbox(n);
  return n;
}

function appendMsg(from: NodeId, to: NodeId, term: number, prevIndex: number, prevTerm: number, entries: Entry[], commit: number): AppendMessage {
  return { type: 'append', from, to, term, prevIndex, prevTerm, entries, commit };
}

function appendsTo(msgs: RaftMessage[], to: NodeId): AppendMessage[] {
  return msgs.filter((m): m is AppendMessage => m.type === 'append' && m.to === to);
}

function ack(n: RaftNode, from: NodeId, index: number): void {
  n.step({ type: 'appendResp', from, to: n.id, term: n.term, index, reject: false, hintIndex: 0, hintTerm: 0 });
}

// ------------------------------------------------------------------ §5.1

for (const role of ['follower', 'candidate', 'leader'] as const) {
  test(`§5.1 a ${role} seeing a higher term in a message adopts it and becomes follower`, (t) => {
    const n = role === 'leader' ? makeLeader() : newNode('n1');
    if (role === 'candidate') n.campaign();
    const term = n.term;
    n.step(appendMsg('n2', 'n1', term + 1, 0, 0, [], 0));
    t.is(n.term, term + 1);
    t.is(n.role, 'follower');
    t.is(n.leader, 'n2', 'an append names the leader of the new term');
  });
}

test('§5.1 a message with a stale term is ignored', (t) => {
  const n = newNode('n1', { term: 2 });
  n.step(appendMsg('n2', 'n1', 1, 0, 0, ents([1]), 1));
  t.is(n.lastIndex, 0, 'no entry accepted from a stale leader');
  t.is(n.term, 2);
  t.deepEqual(outbox(n), [], 'no reply without PreVote/CheckQuorum');
});

// ------------------------------------------------------------------ §5.2

test('§5.2 servers start as followers', (t) => {
  const n = newNode('n1');
  t.is(n.role, 'follower');
  t.is(n.term, 0);
  t.is(n.leader, '');
});

test('§5.2 a leader sends heartbeats to every follower each heartbeat interval', (t) => {
  const n = makeLeader();
  n.tick();
  const hb = outbox(n).filter((m) => m.type === 'heartbeat');
  t.deepEqual(hb.map((m) => [m.to, m.term]).sort(), [['n2', n.term], ['n3', n.term]]);
});

for (const role of ['follower', 'candidate'] as const) {
  test(`§5.2 a ${role} that times out starts an election: new term, votes for itself, asks everyone`, (t) => {
    const n = newNode('n1');
    if (role === 'candidate') n.campaign();
    outbox(n);
    const term = n.term;
    tickUntil(n, () => n.term === term + 1);
    t.is(n.role, 'candidate');
    t.is(n.vote, 'n1');
    const votes = outbox(n).filter((m) => m.type === 'vote');
    t.deepEqual(votes.map((m) => m.to).sort(), ['n2', 'n3']);
    t.true(votes.every((m) => m.term === term + 1));
  });
}

const oneRound: { size: number; votes: Record<string, boolean>; want: Role }[] = [
  { size: 1, votes: {}, want: 'leader' },
  { size: 3, votes: { n2: true, n3: true }, want: 'leader' },
  { size: 3, votes: { n2: true }, want: 'leader' },
  { size: 5, votes: { n2: true, n3: true, n4: true, n5: true }, want: 'leader' },
  { size: 5, votes: { n2: true, n3: true, n4: true }, want: 'leader' },
  { size: 5, votes: { n2: true, n3: true }, want: 'leader' },
  { size: 3, votes: { n2: false, n3: false }, want: 'follower' },
  { size: 5, votes: { n2: false, n3: false, n4: false }, want: 'follower' },
  { size: 5, votes: { n2: true, n3: false, n4: false, n5: false }, want: 'follower' },
  { size: 3, votes: {}, want: 'candidate' },
  { size: 5, votes: { n2: true }, want: 'candidate' },
  { size: 5, votes: { n2: false, n3: false }, want: 'candidate' },
  { size: 5, votes: {}, want: 'candidate' },
];

test('§5.2 elections in one round: a majority wins, a majority of rejections loses (1, 3, 5 nodes)', (t) => {
  for (const c of oneRound) {
    const peers = Array.from({ length: c.size }, (_, i) => `n${i + 1}`);
    const n = newNode('n1', { peers });
    n.campaign();
    for (const [from, granted] of Object.entries(c.votes)) {
      n.step({ type: 'voteResp', from, to: 'n1', term: 1, reject: !granted });
    }
    t.is(n.role, c.want, `${c.size} nodes, votes ${JSON.stringify(c.votes)}`);
    t.is(n.term, 1);
  }
});

test('§5.2 each server votes for at most one candidate per term, first come first served', (t) => {
  for (const [vote, from, granted] of [['', 'n2', true], ['', 'n3', true], ['n2', 'n2', true], ['n3', 'n3', true], ['n2', 'n3', false], ['n3', 'n2', false]] as const) {
    const n = newNode('n1', { term: 1, vote });
    n.step({ type: 'vote', from, to: 'n1', term: 1, lastIndex: 0, lastTerm: 0, force: false });
    const resp = outbox(n).find((m) => m.type === 'voteResp');
    t.truthy(resp);
    t.is(resp?.type === 'voteResp' && !resp.reject, granted, `voted for '${vote}', request from ${from}`);
  }
});

test('§5.2 a candidate hearing from a leader of its term or a newer one returns to follower', (t) => {
  for (const delta of [0, 1]) {
    const n = newNode('n1');
    n.campaign();
    n.step(appendMsg('n2', 'n1', n.term + delta, 0, 0, [], 0));
    t.is(n.role, 'follower');
    t.is(n.leader, 'n2');
  }
});

test('§5.2 election timeouts are randomised over [T, 2T) and cover the range', (t) => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 400; seed++) {
    const n = newNode('n1', { seed });
    const ticks = tickUntil(n, () => n.role === 'candidate');
    t.true(ticks >= T && ticks < 2 * T, `timeout ${ticks} outside [${T}, ${2 * T})`);
    seen.add(ticks);
  }
  t.is(seen.size, T, 'every timeout in [T, 2T) occurs');
});

test('§5.2 randomised timeouts rarely conflict: two followers seldom time out on the same tick', (t) => {
  let conflicts = 0;
  const trials = 500;
  for (let seed = 1; seed <= trials; seed++) {
    const a = newNode('n1', { seed: seed * 2 });
    const b = newNode('n2', { seed: seed * 2 + 1 });
    const ta = tickUntil(a, () => a.role === 'candidate');
    const tb = tickUntil(b, () => b.role === 'candidate');
    if (ta === tb) conflicts++;
  }
  t.true(conflicts / trials < 0.2, `conflict rate ${conflicts / trials}`);
});

// ------------------------------------------------------------------ §5.3

test('§5.3 the leader appends a proposal to its log and replicates it to every follower', (t) => {
  const n = makeLeader();
  ack(n, 'n2', n.lastIndex);
  ack(n, 'n3', n.lastIndex);
  outbox(n);
  const res = n.propose(bytes('x'));
  t.like(res, { kind: 'appended', index: 2, term: 1 });
  const rd = drain(n)!;
  t.deepEqual(rd.entries.map((e) => [e.index, e.term]), [[2, 1]], 'the new entry is to be persisted');
  for (const to of ['n2', 'n3']) {
    const [m] = appendsTo([...rd.messages], to);
    t.like(m, { prevIndex: 1, prevTerm: 1, commit: 1 });
    t.deepEqual(m?.entries.map((e) => e.index), [2]);
  }
});

test('§5.3 the leader commits an entry once a majority stores it, and tells followers', (t) => {
  const n = makeLeader({ peers: ['n1', 'n2', 'n3', 'n4', 'n5'] });
  for (const f of ['n2', 'n3', 'n4', 'n5']) ack(n, f, 1);
  outbox(n);
  n.propose(bytes('x'));
  outbox(n);
  ack(n, 'n2', 2);
  t.is(n.commitIndex, 1, 'two of five is not a majority');
  ack(n, 'n3', 2);
  t.is(n.commitIndex, 2);
  const rd = drain(n)!;
  t.deepEqual(rd.committedEntries.map((e) => e.index), [2]);
  t.true(appendsTo([...rd.messages], 'n4').some((m) => m.commit === 2), 'followers learn the new commit index');
});

test('§5.3 committing an entry commits all preceding entries, including earlier terms', (t) => {
  const n = makeLeader({ terms: [1, 1, 2], term: 2 });
  t.is(n.term, 3);
  outbox(n);
  ack(n, 'n2', n.lastIndex);
  t.is(n.commitIndex, 4);
  const rd = drain(n)!;
  t.deepEqual(rd.committedEntries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2], [4, 3]]);
});

test('§5.3 a follower commits up to the leader commit index it learns, limited to what it has', (t) => {
  const n = newNode('n1', { term: 1 });
  n.step(appendMsg('n2', 'n1', 1, 0, 0, ents([1, 1, 1]), 2));
  t.is(n.commitIndex, 2);
  let rd = drain(n)!;
  t.deepEqual(rd.committedEntries.map((e) => e.index), [1, 2]);
  n.step(appendMsg('n2', 'n1', 1, 3, 1, [], 10));
  t.is(n.commitIndex, 3, 'commit is capped at the last entry known to match the leader');
  rd = drain(n)!;
  t.deepEqual(rd.committedEntries.map((e) => e.index), [3]);
});

test('§5.3 consistency check: a follower rejects an append whose previous entry it lacks, with a back-off hint', (t) => {
  const cases: { prevIndex: number; prevTerm: number; reject: boolean; hint?: [number, number] }[] = [
    { prevIndex: 0, prevTerm: 0, reject: false },
    { prevIndex: 2, prevTerm: 2, reject: false },
    { prevIndex: 2, prevTerm: 3, reject: true, hint: [2, 2] },
    { prevIndex: 3, prevTerm: 3, reject: true, hint: [2, 2] },
    { prevIndex: 1, prevTerm: 2, reject: true, hint: [1, 1] },
  ];
  for (const c of cases) {
    const n = newNode('n1', { terms: [1, 2], term: 3 });
    n.step(appendMsg('n2', 'n1', 3, c.prevIndex, c.prevTerm, [], 0));
    const resp = outbox(n).find((m) => m.type === 'appendResp');
    t.true(resp?.type === 'appendResp' && resp.reject === c.reject, JSON.stringify(c));
    if (c.hint && resp?.type === 'appendResp') t.deepEqual([resp.hintIndex, resp.hintTerm], c.hint, JSON.stringify(c));
  }
});

test('§5.3 a follower deletes a conflicting suffix and appends the new entries, keeping what matches', (t) => {
  const cases: { prevIndex: number; prevTerm: number; terms: number[]; want: number[] }[] = [
    { prevIndex: 2, prevTerm: 2, terms: [3], want: [1, 2, 3] },
    { prevIndex: 1, prevTerm: 1, terms: [3, 4], want: [1, 3, 4] },
    { prevIndex: 0, prevTerm: 0, terms: [1], want: [1, 2] },
    { prevIndex: 0, prevTerm: 0, terms: [3], want: [3] },
  ];
  for (const c of cases) {
    const n = newNode('n1', { terms: [1, 2], term: 4 });
    const sent = c.terms.map((term, i): Entry => ({ term, index: c.prevIndex + 1 + i, type: 'normal', data: bytes('new') }));
    n.step(appendMsg('n2', 'n1', 4, c.prevIndex, c.prevTerm, sent, 0));
    const log = Array.from({ length: n.lastIndex }, (_, i) => n.termAt(i + 1));
    t.deepEqual(log, c.want, JSON.stringify(c));
    const rd = drain(n)!;
    const firstNew = c.want.findIndex((term, i) => term !== [1, 2][i]) + 1;
    if (firstNew > 0) t.is(rd.entries[0]?.index, firstNew, 'the Ready asks to persist from the first changed index');
  }
});

test('§5.3 Figure 7: a new leader brings six divergent follower logs in line with its own', (t) => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };
  for (const [name, terms] of Object.entries(followers)) {
    const c = new RaftTestGroup({
      ids: ['n1', 'n2', 'n3'],
      seed: 7,
      bootstrapEntry: false,
      config: { electionTicks: 1000, heartbeatTicks: 1, preVote: false, checkQuorum: false, maxEntriesPerAppend: 2 },
      initial: {
        n1: { hardState: { term: 7, vote: '', commit: 0 }, entries: ents(leaderTerms) },
        n2: { hardState: { term: 7, vote: '', commit: 0 }, entries: ents(terms) },
        n3: { hardState: { term: 7, vote: '', commit: 0 }, entries: [] },
      },
    });
    c.node('n1').campaign();
    c.stabilize();
    t.is(c.node('n1').role, 'leader', name);
    t.is(c.node('n1').term, 8);
    c.node('n1').propose(bytes('after'));
    c.stabilize();
    const lead = c.node('n1');
    const follower = c.node('n2');
    t.is(follower.lastIndex, lead.lastIndex, `follower (${name}) last index`);
    for (let i = 1; i <= lead.lastIndex; i++) t.is(follower.termAt(i), lead.termAt(i), `follower (${name}) entry ${i}`);
    t.is(follower.commitIndex, lead.lastIndex);
  }
});

// ------------------------------------------------------------------ §5.4

test('§5.4.1 a vote request carries the candidate\'s last log index and term', (t) => {
  for (const terms of [[], [1], [1, 2], [1, 1, 3]]) {
    const n = newNode('n1', { terms, term: 3 });
    n.campaign();
    const votes = outbox(n).filter((m) => m.type === 'vote');
    t.is(votes.length, 2);
    for (const m of votes) t.like(m, { lastIndex: terms.length, lastTerm: terms[terms.length - 1] ?? 0, term: 4 });
  }
});

test('§5.4.1 a voter denies its vote to a candidate whose log is less up to date', (t) => {
  const cases: { terms: number[]; lastIndex: number; lastTerm: number; granted: boolean }[] = [
    { terms: [1, 1], lastIndex: 2, lastTerm: 1, granted: true }, // same
    { terms: [1, 1], lastIndex: 3, lastTerm: 1, granted: true }, // longer
    { terms: [1, 1], lastIndex: 1, lastTerm: 1, granted: false }, // shorter
    { terms: [1, 1], lastIndex: 1, lastTerm: 2, granted: true }, // newer last term wins even if shorter
    { terms: [1, 2], lastIndex: 3, lastTerm: 1, granted: false }, // older last term loses even if longer
    { terms: [1, 2], lastIndex: 2, lastTerm: 2, granted: true },
  ];
  for (const c of cases) {
    const n = newNode('n1', { terms: c.terms, term: 2 });
    n.step({ type: 'vote', from: 'n2', to: 'n1', term: 3, lastIndex: c.lastIndex, lastTerm: c.lastTerm, force: false });
    const resp = outbox(n).find((m) => m.type === 'voteResp');
    t.true(resp?.type === 'voteResp' && resp.reject === !c.granted, JSON.stringify(c));
  }
});

test('§5.4.2 Figure 8: a leader never commits an entry of an earlier term by counting replicas', (t) => {
  // The leader of term 3 holds (1,1),(2,2) uncommitted; its noop is (3,3).
  const n = makeLeader({ terms: [1, 2], term: 2, peers: ['n1', 'n2', 'n3'] });
  t.is(n.term, 3);
  ack(n, 'n2', 1);
  ack(n, 'n3', 2);
  t.is(n.commitIndex, 0, 'majority holds index 2, but it is from term 2');
  ack(n, 'n2', 3);
  t.is(n.commitIndex, 3, 'committing its own term\'s entry commits everything before it');
});
