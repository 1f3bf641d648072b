/**
 * Client sessions (Raft paper §8, dissertation §6.3): a retried (clientId, seq) must return the
 * cached result instead of applying twice; the table is bounded and travels in snapshots.
 */
import test from 'ava';
import { SessionTable } from '../../src/raft/sessions.js';
import { bytes, RaftTestGroup, text } from './harness.js';

test('§8 a retried command returns the cached result and is not applied twice', (t) => {
  const table = new SessionTable<string>();
  let applied = 0;
  const run = () => `r${++applied}`;
  t.deepEqual(table.apply('c1', 1, 10, run), { result: 'r1', duplicate: false });
  t.deepEqual(table.apply('c1', 1, 11, run), { result: 'r1', duplicate: true });
  t.deepEqual(table.apply('c2', 1, 12, run), { result: 'r2', duplicate: false }, 'sessions are per client');
  t.deepEqual(table.apply('c1', 2, 13, run), { result: 'r3', duplicate: false });
  t.is(applied, 3);
});

test('§8 pipelined results are kept per session up to a limit; older sequence numbers become stale', (t) => {
  const table = new SessionTable<number>({ maxSessions: 10, maxResultsPerSession: 2 });
  table.record('c', 1, 100, 1);
  table.record('c', 2, 200, 2);
  table.record('c', 3, 300, 3);
  t.deepEqual(table.lookup('c', 1), { kind: 'stale' }, 'evicted result: refuse rather than re-apply');
  t.deepEqual(table.lookup('c', 2), { kind: 'duplicate', result: 200 });
  t.deepEqual(table.lookup('c', 4), { kind: 'new' });
  table.acknowledge('c', 2);
  t.deepEqual(table.lookup('c', 2), { kind: 'stale' });
  t.deepEqual(table.lookup('c', 3), { kind: 'duplicate', result: 300 });
});

test('§8 the table is bounded: the session idle longest (by log index) is evicted first', (t) => {
  const table = new SessionTable<number>({ maxSessions: 2, maxResultsPerSession: 4 });
  table.record('a', 1, 1, 1);
  table.record('b', 1, 1, 2);
  table.record('a', 2, 2, 3); // a is now the most recent
  table.record('c', 1, 1, 4); // evicts b
  t.is(table.size, 2);
  t.deepEqual(table.lookup('b', 1), { kind: 'new' });
  t.deepEqual(table.lookup('a', 2), { kind: 'duplicate', result: 2 });
  t.throws(() => table.record('a', 3, 3, 2), { message: /went back/ }, 'apply order is log order');
});

test('§8 sessions survive a snapshot round trip through plain data', (t) => {
  const table = new SessionTable<{ rev: number }>({ maxSessions: 3, maxResultsPerSession: 3 });
  table.record('a', 1, { rev: 1 }, 1);
  table.record('b', 5, { rev: 2 }, 2);
  table.record('a', 2, { rev: 3 }, 3);
  const wire = JSON.parse(JSON.stringify(table.toPlain())) as unknown;
  const restored = SessionTable.fromPlain<{ rev: number }>(wire, { maxSessions: 3, maxResultsPerSession: 3 });
  t.deepEqual(restored.toPlain(), table.toPlain());
  t.deepEqual(restored.lookup('b', 5), { kind: 'duplicate', result: { rev: 2 } });
  restored.record('c', 1, { rev: 4 }, 4);
  restored.record('d', 1, { rev: 5 }, 5);
  t.deepEqual(restored.lookup('b', 5), { kind: 'new' }, 'eviction order (b idle longest) was preserved');
  t.throws(() => SessionTable.fromPlain({ sessions: [{ clientId: 1 }] }), { message: /malformed/ });
  t.throws(() => SessionTable.fromPlain(null), { message: /must be an array/ });
});

test('§8 a command retried after a leader change is committed twice but applied once on every member', (t) => {
  const c = new RaftTestGroup({ ids: ['n1', 'n2', 'n3'], seed: 9, config: { electionTicks: 10, heartbeatTicks: 1 } });
  const counters = new Map<string, number>();
  const tables = new Map<string, SessionTable<number>>();
  c.onApply = (id, e) => {
    if (e.type !== 'normal') return;
    const [clientId, seq] = text(e.data).split(':');
    const table = tables.get(id) ?? new SessionTable<number>();
    tables.set(id, table);
    table.apply(clientId!, Number(seq), e.index, () => {
      const value = (counters.get(id) ?? 0) + 1;
      counters.set(id, value);
      return value;
    });
  };
  c.node('n1').campaign();
  c.stabilize();
  c.node('n1').propose(bytes('client-a:1'));
  c.stabilize();
  // The client never saw the reply (say the leader crashed), so it retries on the new leader.
  c.crash('n1');
  c.tick(30);
  const lead = c.leader();
  t.truthy(lead);
  lead!.propose(bytes('client-a:1'));
  lead!.propose(bytes('client-a:2'));
  c.restart('n1'); // its state machine (counter and sessions) is rebuilt by replaying the log
  counters.delete('n1');
  tables.delete('n1');
  c.tick(10);
  for (const id of ['n1', 'n2', 'n3']) t.is(counters.get(id), 2, `${id}: two distinct commands applied, the retry was not`);
  t.is(c.machines.get('n2')!.applied.filter((d) => d === 'client-a:1').length, 2, 'the retry itself was committed');
});
