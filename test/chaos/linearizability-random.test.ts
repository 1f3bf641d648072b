import test from 'ava';
import { checkLinearizability } from '../../src/chaos/check/linearizability.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { pairOperations, toJsonl } from '../../src/chaos/check/history.js';
import { bruteForceLinearizable, history, randomLinearizableHistory, randomTinyHistory, type Spec } from './helpers.js';

const seeds = Array.from({ length: 20 }, (_, i) => 1000 + i);

test('random linearizable histories are accepted', (t) => {
  for (const seed of seeds) {
    const { history: h } = randomLinearizableHistory(seed, { ops: 600, keys: 3, processes: 6, infoRate: 0.05, failRate: 0.05 });
    const r = checkLinearizability(h);
    t.is(r.valid, true, `seed ${seed}: ${JSON.stringify(r).slice(0, 2000)}`);
  }
});

test('random histories with long, heavily overlapping ops are accepted', (t) => {
  for (const seed of seeds.slice(0, 10)) {
    const { history: h } = randomLinearizableHistory(seed, { ops: 400, keys: 2, processes: 8, maxDurationMs: 200, infoRate: 0.03 });
    t.is(checkLinearizability(h).valid, true, `seed ${seed}`);
  }
});

function okReads(specs: readonly Spec[]): number[] {
  return specs.flatMap((s, i) => (s.f === 'read' && (s.type ?? 'ok') === 'ok' ? [i] : []));
}

test('a read of a never-written value is rejected, and the witness names that read', (t) => {
  for (const seed of seeds) {
    const { ops } = randomLinearizableHistory(seed, { ops: 600, keys: 3, processes: 6, infoRate: 0.05, failRate: 0.05 });
    const specs = ops.map((o) => o.spec);
    const prng = new SeededPrng(seed).fork('mutate');
    const reads = okReads(specs);
    const victim = reads[prng.int(reads.length)]!;
    specs[victim] = { ...specs[victim]!, value: 'never-written' };
    const r = checkLinearizability(history(specs));
    if (r.valid !== false) {
      t.fail(`seed ${seed}: mutation not caught: ${JSON.stringify(r)}`);
      continue;
    }
    t.is(r.key, specs[victim]!.key ?? 'x');
    t.is(r.witness.failingOp.value, 'never-written');
    t.true(r.witness.minimal);
  }
});

test('a read of a failed write\'s value is rejected', (t) => {
  let mutated = 0;
  for (const seed of seeds) {
    const { ops } = randomLinearizableHistory(seed, { ops: 600, keys: 3, processes: 6, failRate: 0.1 });
    const specs = ops.map((o) => o.spec);
    const failedWrite = specs.find((s) => s.f === 'write' && s.type === 'fail');
    const victim = okReads(specs).find((i) => specs[i]!.key === failedWrite?.key);
    if (failedWrite === undefined || victim === undefined) continue;
    specs[victim] = { ...specs[victim]!, value: failedWrite.value! };
    const r = checkLinearizability(history(specs));
    t.is(r.valid, false, `seed ${seed}`);
    mutated++;
  }
  t.true(mutated >= 20);
});

test('a read moved to see an overwritten value is rejected', (t) => {
  // Take a read that returned a value written by a write that was acknowledged, then overwritten by
  // another acknowledged write that completed before the read was invoked: make it return the older one.
  let mutated = 0;
  for (const seed of seeds) {
    const { ops } = randomLinearizableHistory(seed, { ops: 600, keys: 3, processes: 6, infoRate: 0, failRate: 0 });
    const specs = ops.map((o) => o.spec);
    for (const i of okReads(specs)) {
      const read = specs[i]!;
      const writes = specs.filter((s) => s.key === read.key && s.f === 'write' && s.end! < read.start);
      const newest = writes.reduce<Spec | undefined>((best, w) => (best === undefined || w.end! > best.end! ? w : best), undefined);
      if (newest === undefined) continue;
      // Older, acknowledged, and certainly overwritten by `newest` before the read began.
      const stale = writes.find((w) => w.end! < newest.start);
      if (stale === undefined || stale.value === read.value) continue;
      specs[i] = { ...read, value: stale.value! };
      const r = checkLinearizability(history(specs));
      t.is(r.valid, false, `seed ${seed}`);
      mutated++;
      break;
    }
  }
  t.true(mutated >= 20);
});

test('a typical chaos run (10k ops, 10 keys, 8 processes) is checked within a small state budget', (t) => {
  const { history: h } = randomLinearizableHistory(7, { ops: 10_000, keys: 10, processes: 8, infoRate: 0.02, failRate: 0.02 });
  const r = checkLinearizability(h);
  if (r.valid !== true) {
    t.fail(JSON.stringify(r).slice(0, 2000));
    return;
  }
  t.is(r.ops, 10_000);
  t.is(r.keys, 10);
  // Near-linear search: about one new state per op (the cache absorbs the few backtracks).
  t.true(r.exploredStates < 30_000, `explored ${r.exploredStates}`);
});

test('budget exhaustion gives unknown, not a verdict', (t) => {
  const { history: h } = randomLinearizableHistory(3, { ops: 400, keys: 2 });
  const r = checkLinearizability(h, { maxStatesPerKey: 50 });
  t.is(r.valid, 'unknown');
  if (r.valid === 'unknown') {
    t.regex(r.reason, /budget of 50/);
    t.deepEqual([...r.unknownKeys], ['k0', 'k1']);
  }
});

test('a passed deadline gives unknown; the clock is injected', (t) => {
  const { history: h } = randomLinearizableHistory(4, { ops: 4000, keys: 1 });
  let calls = 0;
  const r = checkLinearizability(h, { deadline: { now: () => ++calls, atMs: 1 } });
  t.is(r.valid, 'unknown');
  if (r.valid === 'unknown') t.regex(r.reason, /deadline/);
  t.true(calls >= 1);
});

test('a violation on another key is still reported when one key is unknown', (t) => {
  const specs: Spec[] = [];
  for (let i = 0; i < 200; i++) specs.push({ p: i % 4, f: 'write', key: 'big', value: i, start: i * 10, end: i * 10 + 5 });
  specs.push({ p: 9, f: 'read', key: 'small', value: 'ghost', start: 0, end: 1 });
  const r = checkLinearizability(history(specs), { maxStatesPerKey: 100 });
  t.is(r.valid, false);
  if (r.valid === false) t.is(r.key, 'small');
});

test('agrees with an exhaustive search on thousands of tiny random histories', (t) => {
  const prng = new SeededPrng(99);
  let linearizable = 0;
  let total = 0;
  // The second half is heavy in indefinite ops, which is where the search prunes most.
  for (let i = 0; i < 4000; i++) {
    const h = history(randomTinyHistory(prng, 8, i < 2000 ? 0.15 : 0.5));
    const expected = bruteForceLinearizable(pairOperations(h));
    const r = checkLinearizability(h);
    if (r.valid !== expected) {
      t.fail(`case ${i}: checker says ${String(r.valid)}, exhaustive search says ${String(expected)}\n${toJsonl(h)}`);
      return;
    }
    total++;
    if (expected) linearizable++;
  }
  // Both verdicts are well represented.
  t.true(linearizable > total / 5 && linearizable < (total * 4) / 5, `${linearizable} of ${total}`);
});

test('many open-ended deletes do not blow up a failing search', (t) => {
  // 40 timed-out deletes stay pending to the end; a bad read near the end forces a full search.
  const specs: Spec[] = [];
  for (let i = 0; i < 40; i++) specs.push({ p: 100 + i, f: 'delete', start: i * 10, end: i * 10 + 5, type: 'info' });
  for (let i = 0; i < 200; i++) {
    specs.push({ p: 1, f: 'write', value: i, start: i * 10, end: i * 10 + 3 });
    specs.push({ p: 2, f: 'read', value: i, start: i * 10 + 4, end: i * 10 + 6 });
  }
  specs.push({ p: 3, f: 'read', value: 5, start: 5000, end: 5001 });
  const r = checkLinearizability(history(specs), { maxStatesPerKey: 100_000 });
  t.is(r.valid, false);
});
