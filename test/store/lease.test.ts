import test from 'ava';
import { Lessor, expiredRetryMs, maxLeaseTtlSeconds } from '../../src/store/lease.js';
import { StoreStateMachine, commands } from '../../src/store/commands.js';
import { WatchHub } from '../../src/store/watch.js';
import { b, errorCode, must } from './helpers.js';

function machine(clock: { now: number }) {
  return new StoreStateMachine({ now: () => clock.now, minLeaseTtlSeconds: 3 });
}

test('grant raises short TTLs to the minimum and rejects duplicates and huge TTLs', (t) => {
  const lessor = new Lessor({ minTtlSeconds: 3 });
  t.deepEqual(must(lessor.grant(1, 1, 0)), { id: 1, ttlSeconds: 3 });
  t.deepEqual(must(lessor.grant(2, 60, 0)), { id: 2, ttlSeconds: 60 });
  t.is(errorCode(lessor.grant(1, 10, 0)), 'leaseExists');
  t.is(errorCode(lessor.grant(3, maxLeaseTtlSeconds + 1, 0)), 'leaseTtlTooLarge');
  t.deepEqual(lessor.list(), [1, 2]);
  t.is(errorCode(lessor.timeToLive(9, 0)), 'leaseNotFound');
});

test('only the primary expires leases; keepAlive pushes the deadline; expired leases are reported once per retry', (t) => {
  const lessor = new Lessor({ minTtlSeconds: 1 });
  must(lessor.grant(1, 10, 0));
  t.deepEqual(lessor.expired(1_000_000), [], 'a follower never expires leases');
  lessor.promote(0, 0);
  must(lessor.grant(2, 5, 0));
  t.deepEqual(lessor.expired(4_999), []);
  t.deepEqual(lessor.expired(5_000), [2]);
  t.deepEqual(lessor.expired(5_001), [], 'not proposed twice while the revoke is in flight');
  t.deepEqual(lessor.expired(5_000 + expiredRetryMs), [2], 'reported again if the revoke got lost');
  t.deepEqual(must(lessor.keepAlive(1, 9_000)), { ttlSeconds: 10, checkpointReset: false });
  t.deepEqual(lessor.expired(10_500), [], 'lease 1 was kept alive; lease 2 was reported at 8 s');
  t.deepEqual(lessor.expired(11_000), [2]);
  t.is(must(lessor.timeToLive(1, 10_500)).remainingSeconds, 9);
  t.is(errorCode(lessor.keepAlive(2, 11_000)), 'leaseNotFound', 'an expired lease cannot be kept alive');
  t.deepEqual(lessor.expired(19_000, 10), [2, 1], 'earliest deadline first');
  lessor.demote();
  t.deepEqual(lessor.expired(100_000), []);
});

test('promote extends remaining TTLs so an election never expires a lease early; checkpoints are honoured', (t) => {
  const lessor = new Lessor({ minTtlSeconds: 1 });
  must(lessor.grant(1, 10, 0));
  must(lessor.grant(2, 100, 0));
  lessor.checkpoint(2, 30);
  // Long after the grants (a follower has no deadlines), a new leader takes over at t = 50 s.
  lessor.promote(50_000, 1_000);
  t.deepEqual(lessor.expired(60_999), []);
  t.deepEqual(lessor.expired(61_000), [1]);
  t.deepEqual(lessor.expired(80_999), [1], 'lease 2 is still alive (lease 1 is re-reported after the retry delay)');
  t.deepEqual(lessor.expired(81_000), [2], 'the checkpointed remaining TTL, not the full 100 s');
  t.deepEqual(must(lessor.keepAlive(2, 70_000)), { ttlSeconds: 100, checkpointReset: true });
  const checkpoints = lessor.checkpoints(100_000);
  t.deepEqual(checkpoints, [[2, 70]]);
});

test('revoke deletes every attached key in one revision, with delete events', (t) => {
  const clock = { now: 0 };
  const m = machine(clock);
  const hub = new WatchHub(m.mvcc);
  const grant = must(m.apply(commands.leaseGrant(10), 1));
  t.true(grant.type === 'leaseGrant');
  const id = grant.type === 'leaseGrant' ? grant.response.id : 0;
  t.is(id, 1, 'id chosen from the log index');
  must(m.apply(commands.put({ key: 'x/1', value: b('1'), lease: id }), 2));
  must(m.apply(commands.put({ key: 'x/2', value: b('2'), lease: id }), 3));
  must(m.apply(commands.put({ key: 'y', value: b('3') }), 4));
  t.is(errorCode(m.apply(commands.put({ key: 'z', value: b(''), lease: 999 }), 5)), 'leaseNotFound');
  must(hub.watch({ key: '', prefix: true }));
  const before = m.mvcc.currentRevision;
  const revoked = must(m.apply(commands.leaseRevoke(id), 6));
  t.like(revoked, { type: 'leaseRevoke', response: { deleted: 2, header: { revision: before + 1 } } });
  const events = hub.poll().flatMap((r) => r.events);
  t.deepEqual(events.map((e) => [e.type, e.kv.key, e.kv.modRevision]), [['delete', 'x/1', before + 1], ['delete', 'x/2', before + 1]]);
  t.deepEqual(must(m.mvcc.range({ key: '', prefix: true })).kvs.map((kv) => kv.key), ['y']);
  t.is(errorCode(m.apply(commands.leaseRevoke(id), 7)), 'leaseNotFound');
  // Revoking a lease without keys takes no revision.
  must(m.apply(commands.leaseGrant(10, 77), 8));
  must(m.apply(commands.leaseRevoke(77), 9));
  t.is(m.mvcc.currentRevision, before + 1);
});

test('moving a key to another lease or deleting it detaches it', (t) => {
  const m = machine({ now: 0 });
  must(m.apply(commands.leaseGrant(10, 1), 1));
  must(m.apply(commands.leaseGrant(10, 2), 2));
  must(m.apply(commands.put({ key: 'a', value: b(''), lease: 1 }), 3));
  must(m.apply(commands.put({ key: 'b', value: b(''), lease: 1 }), 4));
  must(m.apply(commands.put({ key: 'a', value: b(''), lease: 2 }), 5));
  must(m.apply(commands.deleteRange({ key: 'b' }), 6));
  t.deepEqual(must(m.lessor.timeToLive(1, 0)).keys, []);
  t.deepEqual(must(m.lessor.timeToLive(2, 0)).keys, ['a']);
});

test('the leader flow: grant on the primary, expire, revoke through the log', (t) => {
  const clock = { now: 1_000 };
  const m = machine(clock);
  m.lessor.promote(clock.now, 0);
  must(m.apply(commands.leaseGrant(5, 42), 1));
  must(m.apply(commands.put({ key: 'ephemeral', value: b(''), lease: 42 }), 2));
  clock.now += 4_999;
  t.deepEqual(m.lessor.expired(clock.now), []);
  clock.now += 1;
  const due = m.lessor.expired(clock.now);
  t.deepEqual(due, [42]);
  let index = 3;
  for (const id of due) must(m.apply(commands.leaseRevoke(id), index++));
  t.is(must(m.mvcc.range({ key: 'ephemeral' })).count, 0);
  t.is(m.lessor.size, 0);
});

test('checkpoints travel through the log: a new leader honours the remaining TTL its predecessor replicated', (t) => {
  const clock = { now: 0 };
  const oldLeader = machine(clock);
  const follower = machine(clock);
  const log = [commands.leaseGrant(600, 5)];
  oldLeader.lessor.promote(0, 0);
  log.forEach((c, i) => { must(oldLeader.apply(c, i + 1)); must(follower.apply(c, i + 1)); });
  clock.now = 500_000; // 100 s left on the old leader
  const checkpoint = commands.leaseCheckpoint(oldLeader.lessor.checkpoints(clock.now));
  t.deepEqual(checkpoint, { type: 'leaseCheckpoint', checkpoints: [[5, 100]] });
  must(oldLeader.apply(checkpoint, 2));
  must(follower.apply(checkpoint, 2));
  // The old leader dies; the follower takes over with a 1 s extension.
  follower.lessor.promote(clock.now, 1_000);
  t.deepEqual(follower.lessor.expired(clock.now + 100_999), []);
  t.deepEqual(follower.lessor.expired(clock.now + 101_000), [5]);
});
