import test from 'ava';
import { checkSingleActive } from '../../src/chaos/check/index.js';

const base = { component: 'controller-manager', nowMs: 10_000 };

test('single-active passes on terms that hand over, and fails on two instances active at once', (t) => {
  const handover = checkSingleActive({ ...base, intervals: [
    { identity: 'm1', startMs: 0, endMs: 1000 }, { identity: 'm2', startMs: 2500, endMs: 4000 }, { identity: 'm1', startMs: 5000 },
  ] });
  t.is(handover.status, 'pass', handover.explanation);
  const overlap = checkSingleActive({ ...base, intervals: [{ identity: 'm1', startMs: 0, endMs: 3000 }, { identity: 'm2', startMs: 2500 }] });
  t.is(overlap.status, 'fail');
  t.regex(overlap.explanation, /m1 \(from 0\) and m2 \(from 2500\) were both active for 500 ms/);
  // An open term overlaps everything started after it.
  t.is(checkSingleActive({ ...base, intervals: [{ identity: 'm1', startMs: 0 }, { identity: 'm2', startMs: 9000 }] }).status, 'fail');
});

test('a crashed term without a known death is unknown when it could overlap; a known death settles it', (t) => {
  const intervals = [{ identity: 'm1', startMs: 0, crashedBeforeMs: 6000 }, { identity: 'm2', startMs: 2000, endMs: 5000 }];
  const unsure = checkSingleActive({ ...base, intervals });
  t.is(unsure.status, 'unknown');
  t.regex(unsure.explanation, /if the crashed term lasted until its restart/);
  t.is(checkSingleActive({ ...base, intervals, deathsMs: new Map([['m1', [1000]]]) }).status, 'pass');
  t.is(checkSingleActive({ ...base, intervals, deathsMs: new Map([['m1', [3000]]]) }).status, 'fail');
});

test('missing records or no terms at all are unknown, never a pass', (t) => {
  const missing = checkSingleActive({ ...base, intervals: [{ identity: 'm1', startMs: 0 }], missing: ['m3'] });
  t.is(missing.status, 'unknown');
  t.regex(missing.explanation, /m3 could not be read/);
  t.is(checkSingleActive({ ...base, intervals: [] }).status, 'unknown');
});
