import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { NO_SKEW, SkewedClock, VirtualClock } from '../../src/primitives/clock.js';
import { MemoryStorage } from '../../src/runtime/storage.js';

test('same seed gives the same sequence; forks are independent of parent use', (t) => {
  const a = new SeededPrng(42);
  const b = new SeededPrng(42);
  const seqA = Array.from({ length: 5 }, () => a.next());
  const seqB = Array.from({ length: 5 }, () => b.next());
  t.deepEqual(seqA, seqB);
  t.notDeepEqual(seqA, Array.from({ length: 5 }, () => new SeededPrng(43).next()));
  const forkBefore = new SeededPrng(7).fork('net').next();
  const used = new SeededPrng(7);
  used.next();
  t.is(used.fork('net').next(), forkBefore);
});

test('virtual clock fires timers in time order, ties in setting order, skips cancelled', (t) => {
  const clock = new VirtualClock();
  const fired: string[] = [];
  clock.setTimer(10, () => fired.push('b'));
  clock.setTimer(5, () => fired.push('a'));
  clock.setTimer(10, () => fired.push('c'));
  const cancelled = clock.setTimer(7, () => fired.push('x'));
  clock.clearTimer(cancelled);
  clock.advance(9);
  t.deepEqual(fired, ['a']);
  t.is(clock.now(), 9);
  clock.advance(1);
  t.deepEqual(fired, ['a', 'b', 'c']);
});

test('memory storage loses only unsynced appends on a crash', (t) => {
  const storage = new MemoryStorage();
  storage.append('wal', Uint8Array.of(1, 2));
  storage.sync('wal');
  storage.append('wal', Uint8Array.of(3));
  t.deepEqual([...storage.read('wal')!], [1, 2, 3]);
  storage.crash({ loseUnsynced: true });
  t.deepEqual([...storage.read('wal')!], [1, 2]);
  t.throws(() => storage.append('../etc', Uint8Array.of(0)), { message: /invalid file name/ });
});

test('SkewedClock: unskewed it is the base clock; a rate runs now() and timers at that rate without a jump; an offset steps only the wall clock; the heal sets the wall clock right and keeps now() monotonic', (t) => {
  const base = new VirtualClock();
  const clock = new SkewedClock(base);
  base.advance(1_000);
  t.is(clock.now(), base.now());
  t.is(clock.wallNow(), base.wallNow());
  clock.set({ offsetMs: 5_000, rate: 0.5 });
  t.is(clock.now(), 1_000, 'no jump at the skew');
  t.is(clock.wallNow(), base.wallNow() + 5_000);
  base.advance(1_000);
  t.is(clock.now(), 1_500, 'half speed');
  t.is(clock.wallNow(), base.wallNow() + 5_000 - 500);
  let fired = -1;
  clock.setTimer(100, () => { fired = base.now(); });
  base.advance(199);
  t.is(fired, -1);
  base.advance(1);
  t.is(fired, 2_200, '100 ms of the slow clock are 200 ms of real time');
  clock.set(NO_SKEW);
  t.is(clock.wallNow(), base.wallNow(), 'the wall clock set right');
  const before = clock.now();
  base.advance(100);
  t.is(clock.now(), before + 100, 'monotonic: no jump back, real rate again');
  t.throws(() => clock.set({ offsetMs: 0, rate: 0 }), { message: /clock rate must be in \(0, 10\]/ });
  t.throws(() => clock.set({ offsetMs: 1e12, rate: 1 }), { message: /clock offset must be within/ });
});
