// Each checker made to fail on data built to break it (the ones not covered by checkers.test.ts,
// linearizability*.test.ts and watch.test.ts), and missing data made 'unknown', never a pass.
import test from 'ava';
import { checkElectionSafety } from '../../src/chaos/check/election.js';
import { checkHashesEqual } from '../../src/chaos/check/hashes.js';
import { checkRecovery } from '../../src/chaos/check/recovery.js';
import { checkRun } from '../../src/chaos/check/run.js';
import { history } from './helpers.js';

test('election safety: two leaders in one term fail, naming the term and both members', (t) => {
  const v = checkElectionSafety([
    { member: 'm1', term: 2, role: 'leader' }, { member: 'm2', term: 2, role: 'follower' },
    { member: 'm1', term: 3, role: 'follower' }, { member: 'm2', term: 3, role: 'leader' }, { member: 'm3', term: 3, role: 'leader' },
  ]);
  t.is(v.status, 'fail');
  t.deepEqual(v.violations, [{ term: 3, leaders: ['m2', 'm3'] }]);
  t.regex(v.explanation, /term 3: m2 and m3 were leaders/);
});

test('election safety: one leader per term (re-elected or succeeded) passes; no leader seen is unknown', (t) => {
  t.is(checkElectionSafety([
    { member: 'm1', term: 2, role: 'leader' }, { member: 'm1', term: 2, role: 'leader' }, { member: 'm2', term: 3, role: 'leader' }, { member: 'm1', term: 3, role: 'follower' },
  ]).status, 'pass');
  t.is(checkElectionSafety([{ member: 'm1', term: 1, role: 'candidate' }]).status, 'unknown');
  t.is(checkElectionSafety([]).status, 'unknown');
});

test('recovery: slower than the budget fails with the measured time', (t) => {
  const v = checkRecovery([{ issuedAtMs: 1_100, ackedAtMs: 7_200 }], 1_000, 5_000, 8_000);
  t.is(v.status, 'fail');
  t.is(v.recoveryMs, 6_200);
  t.regex(v.explanation, /6200 ms after it \(budget 5000 ms: too slow\)/);
});

test('recovery: a write sent before the fault and acknowledged after it does not count', (t) => {
  // The old check counted this ack (sent at 900, acked at 1,200) as recovery after 200 ms.
  const writes = [{ issuedAtMs: 900, ackedAtMs: 1_200 }, { issuedAtMs: 1_050 }, { issuedAtMs: 3_000 }];
  const v = checkRecovery(writes, 1_000, 5_000, 6_500);
  t.is(v.status, 'fail');
  t.is(v.recoveryMs, undefined);
  t.regex(v.explanation, /none of 2 writes issued after the fault was acknowledged within the 5000 ms budget/);
});

test('recovery: the first post-fault ack within the budget passes; an unobserved budget is unknown', (t) => {
  const writes = [{ issuedAtMs: 1_500, ackedAtMs: 3_400 }, { issuedAtMs: 2_000, ackedAtMs: 2_900 }];
  const v = checkRecovery(writes, 1_000, 5_000, 4_000);
  t.is(v.status, 'pass');
  t.is(v.recoveryMs, 1_900);
  t.is(checkRecovery([{ issuedAtMs: 1_500 }], 1_000, 5_000, 3_000).status, 'unknown');
  // An ack after the observation ended was not seen in time.
  t.is(checkRecovery([{ issuedAtMs: 1_500, ackedAtMs: 9_000 }], 1_000, 5_000, 6_000).status, 'fail');
});

test('hashes: equal hashes from 2 of 3 members are unknown, not a pass; diverging ones fail', (t) => {
  const members = ['m1', 'm2', 'm3'];
  const two = checkHashesEqual([{ member: 'm1', revision: 9, hash: 7 }, { member: 'm2', revision: 9, hash: 7 }], members);
  t.is(two.status, 'unknown');
  t.regex(two.explanation, /no revision at which all 3 members reported/);
  t.is(checkHashesEqual([{ member: 'm1', revision: 9, hash: 7 }, { member: 'm2', revision: 9, hash: 7 }, { member: 'm3', revision: 9, hash: 7 }], members).status, 'pass');
  t.is(checkHashesEqual([{ member: 'm1', revision: 9, hash: 7 }, { member: 'm2', revision: 9, hash: 8 }], members).status, 'fail');
  t.is(checkHashesEqual([], members).status, 'unknown');
});

test('checkRun: data a run could not collect is an unknown row with its reason, and the run is not a pass', (t) => {
  const h = history([{ p: 1, f: 'write', value: 'a', start: 0, end: 10, revision: 2 }, { p: 1, f: 'read', value: 'a', start: 20, end: 30, revision: 2 }]);
  const v = checkRun({
    history: h,
    watch: { unavailable: 'the reference watch did not deliver' },
    memberHashes: { unavailable: 'm3 unreachable' },
    roles: [{ member: 'm1', term: 1, role: 'leader' }],
  });
  t.is(v.status, 'unknown');
  t.deepEqual(v.results.map((r) => [r.name, r.status]), [
    ['linearizability', 'pass'], ['revisions-monotonic', 'pass'], ['watch-guarantees', 'unknown'], ['member-hashes-equal', 'unknown'], ['election-safety', 'pass'],
  ]);
  t.regex(v.results.find((r) => r.name === 'member-hashes-equal')!.detail, /could not run: m3 unreachable/);
  // Fail still outranks unknown.
  const failed = checkRun({ history: h, memberHashes: { unavailable: 'm3 unreachable' }, roles: [{ member: 'm1', term: 1, role: 'leader' }, { member: 'm2', term: 1, role: 'leader' }] });
  t.is(failed.status, 'fail');
  // Hashes from 2 of 3 members, the third expected: unknown.
  const partial = checkRun({ history: h, members: ['m1', 'm2', 'm3'], memberHashes: [{ member: 'm1', revision: 2, hash: 1 }, { member: 'm2', revision: 2, hash: 1 }] });
  t.is(partial.results.find((r) => r.name === 'member-hashes-equal')!.status, 'unknown');
  t.is(partial.status, 'unknown');
});
