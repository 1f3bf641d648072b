import test from 'ava';
import { ActiveIntervalLog, maxRecordedIntervals } from '../../src/client/active-intervals.js';
import { MemoryStorage } from '../../src/runtime/storage.js';

test('terms are recorded durably: a power cut keeps them, and a term that never ended is closed as crashed', (t) => {
  const storage = new MemoryStorage();
  const log = new ActiveIntervalLog('m1/cm', storage, 0);
  log.begin(100);
  log.end(200);
  log.begin(300);
  t.true(log.active);
  storage.crash({ loseUnsynced: true });
  const after = new ActiveIntervalLog('m1/cm', storage, 900);
  t.false(after.active);
  t.deepEqual(after.snapshot().intervals, [
    { identity: 'm1/cm', startMs: 100, endMs: 200 },
    { identity: 'm1/cm', startMs: 300, crashedBeforeMs: 900 },
  ]);
  after.begin(1000);
  // Read again: the crashed term is bounded by the next start, whatever the later restart time.
  const again = new ActiveIntervalLog('m1/cm', storage, 5000);
  t.deepEqual(again.snapshot().intervals.slice(1), [
    { identity: 'm1/cm', startMs: 300, crashedBeforeMs: 1000 },
    { identity: 'm1/cm', startMs: 1000, crashedBeforeMs: 5000 },
  ]);
});

test('a torn last line is skipped; the record is bounded and the file rewritten', (t) => {
  const storage = new MemoryStorage();
  storage.append('active-intervals.jsonl', new TextEncoder().encode('{"s":1}\n{"e":2}\n{"s":3'));
  storage.sync('active-intervals.jsonl');
  const log = new ActiveIntervalLog('x', storage, 10);
  t.deepEqual(log.snapshot().intervals, [{ identity: 'x', startMs: 1, endMs: 2 }]);
  for (let i = 0; i < 3 * maxRecordedIntervals; i++) {
    log.begin(100 + 2 * i);
    log.end(101 + 2 * i);
  }
  t.is(log.snapshot().intervals.length, maxRecordedIntervals);
  t.true(log.snapshot().dropped > 0);
  const reread = new ActiveIntervalLog('x', storage, 1e9);
  t.true(reread.snapshot().intervals.length <= maxRecordedIntervals);
  t.deepEqual(reread.snapshot().intervals.at(-1), log.snapshot().intervals.at(-1));
  t.throws(() => { log.begin(1); log.begin(2); }, { message: /a term began while one is open/ });
});
