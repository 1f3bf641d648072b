import test from 'ava';
import { HistoryRecorder, pairOperations, parseHistory, toJsonl, validateHistory, type HistoryOp } from '../../src/chaos/check/history.js';

const lines = (...objects: object[]): string => objects.map((o) => JSON.stringify(o)).join('\n') + '\n';

test('recorder output round-trips through JSONL, field order fixed', (t) => {
  const rec = new HistoryRecorder();
  const w = rec.invoke(1, 'write', 'k', 'v1', 0);
  const r = rec.invoke('client-b', 'read', 'k', null, 1);
  w.ok(5, { revision: 7 });
  r.ok(6, { value: 'v1', revision: 7 });
  const c = rec.invoke(1, 'cas', 'k', ['v1', 'v2'], 7);
  c.fail(9, 'compare failed');
  const d = rec.invoke(1, 'delete', 'k', null, 10);
  d.info(210, 'timeout');
  rec.invoke(2, 'read', 'k', null, 300);
  const text = rec.toJsonl();
  t.is(text.split('\n')[0], '{"process":1,"type":"invoke","f":"write","key":"k","value":"v1","time":0}');
  t.true(text.includes('{"process":1,"type":"fail","f":"cas","key":"k","value":["v1","v2"],"time":9,"error":"compare failed"}'));
  const parsed = parseHistory(text);
  if (!parsed.ok) {
    t.fail(parsed.message);
    return;
  }
  t.deepEqual(parsed.ops, [...rec.ops]);
  t.is(toJsonl(parsed.ops), text);
  t.deepEqual(rec.outstanding(), [2]);
});

test('pairing: completions join invokes; never-completed invokes become info', (t) => {
  const rec = new HistoryRecorder();
  const a = rec.invoke(1, 'write', 'k', 1, 0);
  const b = rec.invoke(2, 'read', 'k', null, 1);
  b.ok(3, { value: null });
  a.info(4);
  rec.invoke(3, 'cas', 'k', [null, 2], 5);
  const ops = pairOperations(rec.ops);
  t.is(ops.length, 3);
  t.like(ops[0], { index: 0, f: 'write', outcome: 'info', invokeTime: 0, completeTime: Infinity, value: 1 });
  t.like(ops[1], { index: 1, f: 'read', outcome: 'ok', completeTime: 3, value: null });
  t.like(ops[2], { f: 'cas', outcome: 'info', completeTime: Infinity });
});

test('recorder enforces one outstanding op per process and sane completions', (t) => {
  const rec = new HistoryRecorder();
  const h = rec.invoke(1, 'read', 'k', null, 10);
  t.throws(() => rec.invoke(1, 'write', 'k', 'x', 11), { message: /already has an outstanding op/ });
  t.throws(() => h.ok(12), { message: /must carry the value read/ });
  t.throws(() => h.ok(5, { value: 'x' }), { message: /before invoke time/ });
  h.ok(12, { value: 'x' });
  t.throws(() => h.fail(13), { message: /completed twice/ });
  const w = rec.invoke(1, 'write', 'k', 'y', 14);
  t.throws(() => w.ok(15, { value: 'z' }), { message: /carries no value/ });
  w.info(15);
  // After an info the process may go on.
  t.notThrows(() => rec.invoke(1, 'delete', 'k', null, 16));
  t.throws(() => new HistoryRecorder(1).invoke(1, 'read', 'k', null, 0).ok(1, { value: null }), { message: /full/ });
});

test('parser errors name the line', (t) => {
  const ok = { process: 1, type: 'invoke', f: 'write', key: 'k', value: 'a', time: 0 };
  const cases: [string, RegExp][] = [
    ['{"process":1,\n', /^line 1: invalid JSON/],
    [lines(ok, { ...ok, type: 'ok', time: 1 }, { ...ok, type: 'bogus' }), /^line 3: type must be one of/],
    ['\n\n' + lines({ ...ok, f: 'append' }), /^line 3: f must be one of/],
    [lines({ ...ok, time: 'soon' }), /^line 1: time must be a finite number/],
    [lines({ ...ok, value: null }), /^line 1: write value must be a string or a finite number/],
    [lines({ ...ok, f: 'cas', value: ['a'] }), /^line 1: cas value must be \[expected, new\]/],
    [lines({ ...ok, f: 'read', value: 'x' }), /^line 1: read invoke value must be null/],
    [lines({ ...ok, f: 'delete', value: 'x' }), /^line 1: delete value must be null/],
    [lines({ ...ok, key: 3 }), /^line 1: key must be a string/],
    [lines({ ...ok, process: null }), /^line 1: process must be a number or a string/],
    [lines({ ...ok, revision: -1 }), /^line 1: revision must be a non-negative integer/],
    [lines([1, 2]), /^line 1: not a JSON object/],
    [lines({ process: 1, type: 'invoke', f: 'write', key: 'k', time: 0 }), /^line 1: value is missing/],
    [lines(ok, ok), /^line 2: process 1 invoked a new op while its op from line 1 is outstanding/],
    [lines({ ...ok, type: 'ok' }), /^line 1: process 1 completed \(ok\) an op it never invoked/],
    ['\n' + lines(ok, { ...ok, type: 'ok', key: 'other' }), /^line 3: completion write "other" does not match the invoke at line 2/],
    [lines(ok, { ...ok, type: 'ok', value: 'b' }), /^line 2: completion value "b" differs from the invoke at line 1/],
    [lines({ ...ok, time: 5 }, { ...ok, type: 'ok', time: 4 }), /^line 2: completion time 4 is before its invoke time 5/],
  ];
  for (const [text, expected] of cases) {
    const result = parseHistory(text);
    if (result.ok) {
      t.fail(`accepted: ${text}`);
      continue;
    }
    t.regex(result.message, expected);
    t.is(result.message.startsWith(`line ${result.line}:`), true);
  }
});

test('parser accepts extra fields (ignored) and read results of any kind', (t) => {
  const text = lines(
    { process: 'p', type: 'invoke', f: 'read', key: 'k', value: null, time: 0, node: 'master-1' },
    { process: 'p', type: 'ok', f: 'read', key: 'k', value: 42, time: 1, revision: 3 },
  );
  const result = parseHistory(text);
  t.true(result.ok);
  if (result.ok) t.deepEqual(result.ops[1], { process: 'p', type: 'ok', f: 'read', key: 'k', value: 42, time: 1, revision: 3 });
});

test('validateHistory reports positions for in-memory histories', (t) => {
  const ops: HistoryOp[] = [{ process: 1, type: 'ok', f: 'delete', key: 'k', value: null, time: 0 }];
  t.deepEqual(validateHistory(ops), { position: 0, message: 'process 1 completed (ok) an op it never invoked' });
  t.throws(() => pairOperations(ops), { message: /op #0/ });
});
