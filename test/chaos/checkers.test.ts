import test from 'ava';
import { checkAckedWritesPresent } from '../../src/chaos/check/acked-writes.js';
import { checkHashesEqual } from '../../src/chaos/check/hashes.js';
import { checkLinearizability } from '../../src/chaos/check/linearizability.js';
import { checkRevisionsMonotonic, revisionObservations } from '../../src/chaos/check/revisions.js';
import { checkRun } from '../../src/chaos/check/run.js';
import { aggregate, linearizabilityCheckResult, toCheckResult } from '../../src/chaos/check/verdict.js';
import { history, randomLinearizableHistory } from './helpers.js';

const finals = (entries: [string, string | number | null][]) => new Map(entries);

test('acked writes: the last acknowledged write is the final value', (t) => {
  const h = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 1, f: 'write', value: 'b', start: 20, end: 30 },
  ]);
  const v = checkAckedWritesPresent(h, finals([['x', 'b']]));
  t.is(v.status, 'pass', v.explanation);
  t.is(v.ackedWrites, 2);
});

test('acked writes: a lost write is caught, naming the op', (t) => {
  const h = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 1, f: 'write', value: 'b', start: 20, end: 30 },
  ]);
  const v = checkAckedWritesPresent(h, finals([['x', 'a']]));
  t.is(v.status, 'fail');
  t.is(v.lostCount, 1);
  t.is(v.lost[0]!.op?.value, 'b');
  t.regex(v.explanation, /process 1 write "x" "b"/);
});

test('acked writes: a concurrent or indefinite write may be the one that won', (t) => {
  const concurrent = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 30 },
    { p: 2, f: 'write', value: 'b', start: 10, end: 20 },
  ]);
  t.is(checkAckedWritesPresent(concurrent, finals([['x', 'a']])).status, 'pass');
  t.is(checkAckedWritesPresent(concurrent, finals([['x', 'b']])).status, 'pass');
  const indefinite = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 2, f: 'write', value: 'late', start: 0, end: 5, type: 'info' },
  ]);
  t.is(checkAckedWritesPresent(indefinite, finals([['x', 'late']])).status, 'pass');
  // An indefinite delete explains an absent key; a failed one does not.
  const deleted = (type: 'info' | 'fail') => history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 2, f: 'delete', start: 20, end: 30, type },
  ]);
  t.is(checkAckedWritesPresent(deleted('info'), finals([['x', null]])).status, 'pass');
  t.is(checkAckedWritesPresent(deleted('fail'), finals([['x', null]])).status, 'fail');
});

test('acked writes: a final value written only by a failed op, or never, is unexplained', (t) => {
  const h = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 1, f: 'write', value: 'b', start: 20, end: 30, type: 'fail' },
  ]);
  const v = checkAckedWritesPresent(h, finals([['x', 'b'], ['y', 'ghost']]));
  t.is(v.status, 'fail');
  t.deepEqual(v.lost.map((l) => l.key), ['x', 'x', 'y']);
  t.regex(v.explanation, /final value "ghost" was never written/);
});

test('acked writes: revisions catch a rollback even when the value matches', (t) => {
  const h = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10, revision: 5 },
    { p: 1, f: 'write', value: 'a', start: 20, end: 30, revision: 9 },
  ]);
  t.is(checkAckedWritesPresent(h, finals([['x', 'a']]), { finalModRevisions: new Map([['x', 9]]) }).status, 'pass');
  const v = checkAckedWritesPresent(h, finals([['x', 'a']]), { finalModRevisions: new Map([['x', 5]]) });
  t.is(v.status, 'fail');
  t.regex(v.explanation, /final mod revision 5 is older than the acknowledged write's revision 9/);
});

test('acked writes: missing final values or no writes give unknown', (t) => {
  const h = history([{ p: 1, f: 'write', value: 'a', start: 0, end: 10 }]);
  const v = checkAckedWritesPresent(h, new Map());
  t.is(v.status, 'unknown');
  t.deepEqual(v.unobservedKeys, ['x']);
  t.is(checkAckedWritesPresent([], new Map()).status, 'unknown');
});

test('acked writes: random linearizable histories pass against their true final state', (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { history: h, ops } = randomLinearizableHistory(seed, { ops: 500, keys: 4, infoRate: 0.05, failRate: 0.05 });
    const v = checkAckedWritesPresent(h, trueFinalState(ops));
    t.is(v.status, 'pass', `seed ${seed}: ${v.explanation}`);
  }
});

function trueFinalState(ops: ReturnType<typeof randomLinearizableHistory>['ops']): Map<string, string | number | null> {
  const state = new Map<string, string | number | null>();
  for (const op of [...ops].filter((o) => o.effectAt !== undefined).sort((a, b) => a.effectAt! - b.effectAt!)) {
    const key = op.spec.key!;
    if (op.spec.f === 'write') state.set(key, op.spec.value as string);
    if (op.spec.f === 'cas') state.set(key, (op.spec.value as [unknown, string])[1]);
    if (op.spec.f === 'delete') state.set(key, null);
  }
  return state;
}

test('acked writes: rolling a key back to an older, certainly overwritten value is caught', (t) => {
  let mutated = 0;
  for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
    const { history: h, ops } = randomLinearizableHistory(seed, { ops: 300, keys: 3, infoRate: 0, failRate: 0 });
    const state = trueFinalState(ops);
    // The last acknowledged write of a key, and an older one that completed before it began.
    const writes = ops.map((o) => o.spec).filter((s) => s.f === 'write' && s.key === 'k0');
    const last = writes.reduce((a, b) => (b.start > a.start ? b : a));
    const older = writes.find((w) => w.end! < last.start && w.value !== state.get('k0'));
    const laterMutations = ops.map((o) => o.spec).filter((s) => s.key === 'k0' && s.f !== 'read' && s.end! >= (older?.start ?? Infinity) && s !== older);
    if (older === undefined || laterMutations.some((s) => s.f === 'write' && s.value === older.value)) continue;
    state.set('k0', older.value as string);
    t.is(checkAckedWritesPresent(h, state).status, 'fail', `seed ${seed}`);
    mutated++;
  }
  t.true(mutated >= 6);
});

test('checkRun: a clean run passes every provided check; a lost write fails it', (t) => {
  const { history: h, ops } = randomLinearizableHistory(21, { ops: 500, keys: 4, infoRate: 0.05, failRate: 0.05 });
  const finalState = trueFinalState(ops);
  const clean = checkRun({ history: h, finalState, memberHashes: [{ member: 'm1', revision: 9, hash: 1 }, { member: 'm2', revision: 9, hash: 1 }] });
  t.is(clean.status, 'pass', clean.summary);
  t.deepEqual(clean.results.map((r) => r.name), ['linearizability', 'acked-writes-present', 'member-hashes-equal']);
  const broken = checkRun({ history: h, finalState: new Map([...finalState].map(([k]) => [k, 'lost'])) });
  t.is(broken.status, 'fail');
  t.is(broken.results.find((r) => r.name === 'acked-writes-present')!.status, 'fail');
});

test('revisions: per-client regressions are caught; interleaving across clients is fine', (t) => {
  t.is(checkRevisionsMonotonic([
    { client: 1, revision: 5 }, { client: 2, revision: 3 }, { client: 1, revision: 5 }, { client: 2, revision: 4 },
  ]).status, 'pass');
  const v = checkRevisionsMonotonic([
    { client: 1, revision: 5 }, { client: 1, revision: 7, label: 'read k' }, { client: 1, revision: 6, time: 40, label: 'read k' },
  ]);
  t.is(v.status, 'fail');
  t.is(v.regressions[0]!.position, 2);
  t.regex(v.explanation, /client 1 saw revision 6 \(read k\) at 40 ms after revision 7 \(read k\)/);
  t.is(checkRevisionsMonotonic([]).status, 'unknown');
});

test('revisions: observations come from ok completions of a history', (t) => {
  const h = history([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10, revision: 4 },
    { p: 1, f: 'read', value: 'a', start: 20, end: 30, revision: 3 },
    { p: 2, f: 'write', value: 'b', start: 0, end: 10, type: 'info' },
  ]);
  const obs = revisionObservations(h);
  t.deepEqual(obs.map((o) => o.revision), [4, 3]);
  t.is(checkRevisionsMonotonic(obs).status, 'fail');
});

test('hashes: equal at a common revision passes; a divergent member fails', (t) => {
  t.is(checkHashesEqual([
    { member: 'm1', revision: 10, hash: 'abc' }, { member: 'm2', revision: 10, hash: 'abc' }, { member: 'm3', revision: 10, hash: 'abc' },
  ]).status, 'pass');
  const v = checkHashesEqual([
    { member: 'm1', revision: 10, hash: 1 }, { member: 'm2', revision: 10, hash: 1 }, { member: 'm3', revision: 10, hash: 2 },
  ]);
  t.is(v.status, 'fail');
  t.regex(v.explanation, /m3=2/);
});

test('hashes: different revisions or compactions are not comparable', (t) => {
  const v = checkHashesEqual([{ member: 'm1', revision: 10, hash: 1 }, { member: 'm2', revision: 11, hash: 2 }]);
  t.is(v.status, 'unknown');
  t.is(checkHashesEqual([
    { member: 'm1', revision: 10, hash: 1, compactRevision: 3 }, { member: 'm2', revision: 10, hash: 2, compactRevision: 5 },
  ]).status, 'unknown');
  t.is(checkHashesEqual([{ member: 'm1', revision: 10, hash: 1 }]).status, 'unknown');
  // A later common revision makes the verdict.
  t.is(checkHashesEqual([
    { member: 'm1', revision: 10, hash: 1 }, { member: 'm2', revision: 11, hash: 2 }, { member: 'm1', revision: 11, hash: 2 },
  ]).status, 'pass');
});

test('verdict: worst status wins; empty is unknown; summary lists failures first', (t) => {
  const lin = linearizabilityCheckResult(checkLinearizability(history([{ p: 1, f: 'read', value: 'ghost', start: 0, end: 1 }])));
  t.is(lin.status, 'fail');
  const hashes = toCheckResult('hashes', checkHashesEqual([{ member: 'm1', revision: 1, hash: 1 }]));
  const revs = toCheckResult('revisions', checkRevisionsMonotonic([{ client: 1, revision: 1 }]));
  const v = aggregate([revs, hashes, lin]);
  t.is(v.status, 'fail');
  t.deepEqual(v.summary.split('\n').slice(0, 2).map((l) => l.split(' ')[0]), ['FAIL:', 'FAIL']);
  t.regex(v.summary, /1 failed, 1 unknown, 1 passed of 3 checks/);
  t.is(aggregate([revs, hashes]).status, 'unknown');
  t.is(aggregate([revs]).status, 'pass');
  t.is(aggregate([]).status, 'unknown');
});
