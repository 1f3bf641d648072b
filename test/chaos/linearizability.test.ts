import test from 'ava';
import { checkLinearizability, type LinearizabilityResult } from '../../src/chaos/check/linearizability.js';
import { history, type Spec } from './helpers.js';

function check(specs: readonly Spec[], options = {}): LinearizabilityResult {
  return checkLinearizability(history(specs), options);
}

function failing(t: { fail: (m: string) => void }, result: LinearizabilityResult) {
  if (result.valid !== false) {
    t.fail(`expected a violation, got ${JSON.stringify(result)}`);
    throw new Error('unreachable');
  }
  return result;
}

test('sequential write then read is linearizable', (t) => {
  const r = check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'read', value: 1, start: 20, end: 30 },
  ]);
  t.is(r.valid, true);
});

test('stale read after an acknowledged write is rejected, naming the read', (t) => {
  const r = failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 1, f: 'write', value: 2, start: 20, end: 30 },
    { p: 2, f: 'read', value: 1, start: 40, end: 50 },
  ]));
  t.is(r.key, 'x');
  t.is(r.witness.failingOp.f, 'read');
  t.is(r.witness.failingOp.value, 1);
  t.true(r.witness.minimal);
  t.is(r.witness.prefixOps, 3);
  t.is(r.witness.valueAfterLongest, 2);
  t.regex(r.explanation, /not linearizable/);
  t.regex(r.explanation, /process 2 read "x" 1/);
});

test('lost write: read of the initial value after an acknowledged write is rejected', (t) => {
  const r = failing(t, check([
    { p: 1, f: 'write', value: 'a', start: 0, end: 10 },
    { p: 2, f: 'read', value: null, start: 20, end: 30 },
  ]));
  t.is(r.witness.failingOp.process, 2);
});

test('reads overlapping a write may see either value, in a consistent order', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 100 },
    { p: 2, f: 'read', value: null, start: 10, end: 20 },
    { p: 3, f: 'read', value: 1, start: 15, end: 60 },
    { p: 2, f: 'read', value: 1, start: 30, end: 40 },
  ]).valid, true);
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 100 },
    { p: 2, f: 'read', value: 1, start: 10, end: 50 },
    { p: 3, f: 'read', value: null, start: 20, end: 30 },
  ]).valid, true);
  // Once a reader has seen the new value, a later reader cannot see the old one.
  const r = failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 100 },
    { p: 2, f: 'read', value: 1, start: 10, end: 20 },
    { p: 3, f: 'read', value: null, start: 30, end: 40 },
  ]));
  t.is(r.witness.failingOp.process, 3);
  t.true(r.witness.concurrentOps.some((op) => op.f === 'write'));
});

test('ops whose return and call share a timestamp count as concurrent', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'read', value: null, start: 10, end: 20 },
  ]).valid, true);
});

test('cas: success requires the expected value; two cas on one value cannot both win', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [1, 2], start: 20, end: 30 },
    { p: 3, f: 'read', value: 2, start: 40, end: 50 },
  ]).valid, true);
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [1, 2], start: 20, end: 30 },
    { p: 3, f: 'cas', value: [1, 3], start: 40, end: 50 },
  ]));
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [1, 2], start: 20, end: 60 },
    { p: 3, f: 'cas', value: [1, 3], start: 30, end: 50 },
  ]));
  // Create-if-absent (expected null) twice on the same key.
  failing(t, check([
    { p: 1, f: 'cas', value: [null, 'a'], start: 0, end: 10 },
    { p: 2, f: 'cas', value: [null, 'b'], start: 20, end: 30 },
  ]));
  // A failed cas (compare mismatch) has no effect.
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [5, 6], start: 20, end: 30, type: 'fail' },
    { p: 3, f: 'read', value: 1, start: 40, end: 50 },
  ]).valid, true);
});

test('delete makes the key absent; reading the old value afterwards is rejected', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 1, f: 'delete', start: 20, end: 30 },
    { p: 2, f: 'read', value: null, start: 40, end: 50 },
  ]).valid, true);
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 1, f: 'delete', start: 20, end: 30 },
    { p: 2, f: 'read', value: 1, start: 40, end: 50 },
  ]));
});

test('an info write may take effect long after it timed out', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'info' },
    { p: 2, f: 'read', value: null, start: 20, end: 30 },
    { p: 2, f: 'read', value: 1, start: 40, end: 50 },
  ]).valid, true);
  // ...but not be undone.
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'info' },
    { p: 2, f: 'read', value: 1, start: 20, end: 30 },
    { p: 2, f: 'read', value: null, start: 40, end: 50 },
  ]));
  // ...nor before it was invoked.
  failing(t, check([
    { p: 2, f: 'read', value: 1, start: 0, end: 5 },
    { p: 1, f: 'write', value: 1, start: 10, end: 20, type: 'info' },
  ]));
});

test('an info write (or a never-completed invoke) may never take effect', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'info' },
    { p: 3, f: 'write', value: 2, start: 0 },
    { p: 2, f: 'read', value: null, start: 20, end: 30 },
    { p: 2, f: 'read', value: null, start: 40, end: 50 },
  ]).valid, true);
});

test('an info write that was read pins the order of later ops', (t) => {
  // 1 then 2 written; a reader sees 1 (so the info write happened) after the ack of 2: 1 must follow 2.
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'info' },
    { p: 2, f: 'write', value: 2, start: 20, end: 30 },
    { p: 3, f: 'read', value: 1, start: 40, end: 50 },
    { p: 3, f: 'read', value: 1, start: 60, end: 70 },
  ]).valid, true);
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'info' },
    { p: 2, f: 'write', value: 2, start: 20, end: 30 },
    { p: 3, f: 'read', value: 1, start: 40, end: 50 },
    { p: 3, f: 'read', value: 2, start: 60, end: 70 },
  ]));
});

test('info delete and info cas fork the model', (t) => {
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'delete', start: 20, end: 30, type: 'info' },
    { p: 3, f: 'read', value: 1, start: 40, end: 50 },
    { p: 3, f: 'read', value: null, start: 60, end: 70 },
  ]).valid, true);
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'delete', start: 20, end: 30, type: 'info' },
    { p: 3, f: 'read', value: null, start: 40, end: 50 },
    { p: 3, f: 'read', value: 1, start: 60, end: 70 },
  ]));
  t.is(check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [1, 2], start: 20, end: 30, type: 'info' },
    { p: 3, f: 'read', value: 1, start: 40, end: 50 },
    { p: 3, f: 'read', value: 2, start: 60, end: 70 },
  ]).valid, true);
  // An info cas cannot apply when its expected value is never current.
  failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'cas', value: [7, 2], start: 20, end: 30, type: 'info' },
    { p: 3, f: 'read', value: 2, start: 40, end: 50 },
  ]));
});

test('a failed write must never be observed', (t) => {
  const r = failing(t, check([
    { p: 1, f: 'write', value: 1, start: 0, end: 10, type: 'fail' },
    { p: 2, f: 'read', value: 1, start: 20, end: 30 },
  ]));
  t.is(r.witness.failingOp.f, 'read');
  t.is(r.witness.prefixOps, 1);
});

test('keys are checked independently; the first failing key is reported, all are listed', (t) => {
  const r = failing(t, check([
    { p: 1, f: 'write', key: 'b', value: 1, start: 0, end: 10 },
    { p: 1, f: 'write', key: 'a', value: 1, start: 20, end: 30 },
    { p: 2, f: 'read', key: 'b', value: 2, start: 40, end: 50 },
    { p: 2, f: 'read', key: 'a', value: 1, start: 60, end: 70 },
    { p: 2, f: 'read', key: 'c', value: 9, start: 80, end: 90 },
  ]));
  t.is(r.key, 'b');
  t.deepEqual(r.failedKeys, ['b', 'c']);
});

test('initial values are a parameter', (t) => {
  const specs: Spec[] = [{ p: 1, f: 'read', value: 'seed', start: 0, end: 1 }];
  t.is(check(specs).valid, false);
  t.is(check(specs, { initial: new Map([['x', 'seed']]) }).valid, true);
});

test('the minimal failing prefix points at the first bad op, not the last', (t) => {
  const specs: Spec[] = [
    { p: 1, f: 'write', value: 1, start: 0, end: 10 },
    { p: 2, f: 'read', value: 7, start: 20, end: 30 },
  ];
  for (let i = 0; i < 50; i++) specs.push({ p: 3, f: 'write', value: 100 + i, start: 40 + 20 * i, end: 50 + 20 * i });
  const r = failing(t, check(specs));
  t.is(r.witness.failingOp.value, 7);
  t.is(r.witness.prefixOps, 2);
});

test('an empty history is linearizable', (t) => {
  t.deepEqual(checkLinearizability([]), { valid: true, keys: 0, ops: 0, exploredStates: 0 });
});
