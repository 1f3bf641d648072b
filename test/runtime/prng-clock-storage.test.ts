import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { VirtualClock } from '../../src/primitives/clock.js';
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
