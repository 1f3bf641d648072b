import test from 'ava';
import { VirtualClock } from '../../src/primitives/clock.js';
import { WorkQueue } from '../../src/client/workqueue.js';
import { advance, flush } from './virtual-time.js';

const noBucket = { baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 1e9, burst: 1e9 };

function queue(options: Partial<ConstructorParameters<typeof WorkQueue>[0]> = {}): { clock: VirtualClock; q: WorkQueue<string> } {
  const clock = new VirtualClock();
  return { clock, q: new WorkQueue<string>({ clock, rateLimiter: noBucket, ...options }) };
}

test('a key is queued at most once, in FIFO order', async (t) => {
  const { q } = queue();
  t.is(q.add('a'), 'queued');
  t.is(q.add('b'), 'queued');
  t.is(q.add('a'), 'merged');
  t.is(q.length, 2);
  t.is(await q.get(), 'a');
  t.is(await q.get(), 'b');
  t.is(q.length, 0);
});

test('a key in process is not handed to a second worker; re-added, it comes back after done', async (t) => {
  const { q } = queue();
  q.add('a');
  const key = await q.get();
  t.is(key, 'a');
  t.is(q.add('a'), 'processing');
  t.is(q.add('a'), 'merged');
  t.is(q.length, 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((k) => { second = k; });
  await flush();
  t.is(second, undefined);
  q.done('a');
  await flush();
  t.is(second, 'a');
  t.throws(() => q.done('zzz'));
});

test('get() waits for a key; waiting workers are served in order', async (t) => {
  const { q } = queue();
  const got: Array<string | undefined> = [];
  void q.get().then((k) => got.push(k));
  void q.get().then((k) => got.push(k));
  await flush();
  t.deepEqual(got, []);
  q.add('x');
  q.add('y');
  await flush();
  t.deepEqual(got, ['x', 'y']);
  t.is(q.processingCount, 2);
});

test('addRateLimited: per-key exponential backoff from base, capped; forget resets', async (t) => {
  const { q, clock } = queue({ rateLimiter: { ...noBucket, baseDelayMs: 5, maxDelayMs: 40 } });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) delays.push(q.whenMs('k'));
  t.deepEqual(delays, [5, 10, 20, 40, 40, 40]);
  t.is(q.numRequeues('k'), 6);
  q.forget('k');
  t.is(q.numRequeues('k'), 0);

  q.addRateLimited('a'); // 5 ms
  q.addRateLimited('a'); // would be 10 ms: the earlier pending add wins
  t.is(q.delayedCount, 1);
  await advance(clock, 4);
  t.is(q.length, 0);
  await advance(clock, 1);
  t.is(q.length, 1);
  t.is(q.numRequeues('a'), 2);
});

test('the token bucket limits the overall rate after the burst', (t) => {
  const { q, clock } = queue({ rateLimiter: { baseDelayMs: 0, maxDelayMs: 0, qps: 10, burst: 3 } });
  const delays = [1, 2, 3, 4, 5].map((i) => q.whenMs(`k${i}`));
  t.deepEqual(delays, [0, 0, 0, 100, 200]);
  clock.advance(1_000); // refills up to the burst only
  t.deepEqual([6, 7, 8, 9].map((i) => q.whenMs(`k${i}`)), [0, 0, 0, 100]);
});

test('kubernetes defaults: 5 ms base, 1000 s cap, 10 qps burst 100', (t) => {
  const clock = new VirtualClock();
  const q = new WorkQueue<string>({ clock });
  const delays: number[] = [];
  for (let i = 0; i < 30; i++) delays.push(q.whenMs('k'));
  t.is(delays[0], 5);
  t.is(delays[10], 5 * 1024);
  t.is(delays[29], 1_000_000);
});

test('addAfter uses the clock; the earliest pending time wins', async (t) => {
  const { q, clock } = queue();
  q.addAfter('a', 100);
  q.addAfter('a', 50);
  q.addAfter('a', 500);
  await advance(clock, 49);
  t.is(q.length, 0);
  await advance(clock, 1);
  t.is(q.length, 1);
  await advance(clock, 1_000);
  t.is(q.length, 1, 'the superseded timers did not add it again');
  t.is(q.addAfter('b', 0), 'queued');
});

test('limits: queued and delayed keys are bounded; refusals are counted', (t) => {
  const { q } = queue({ maxQueuedKeys: 2, maxDelayedKeys: 1 });
  t.is(q.add('a'), 'queued');
  t.is(q.add('b'), 'queued');
  t.is(q.add('c'), 'full');
  t.is(q.addAfter('d', 10), 'queued');
  t.is(q.addAfter('e', 10), 'full');
  t.is(q.droppedCount, 2);
});

test('shutDown: no new adds, queued keys still handed out, then get() resolves undefined; drain waits for done', async (t) => {
  const { q, clock } = queue();
  q.add('a');
  q.add('b');
  q.addAfter('later', 10);
  const inFlight = await q.get();
  let drained = false;
  const drain = q.shutDownWithDrain().then(() => { drained = true; });
  t.is(q.add('c'), 'shutdown');
  t.is(await q.get(), 'b');
  await advance(clock, 100);
  t.is(q.length, 0, 'delayed adds are cancelled');
  t.is(await q.get(), undefined, 'empty and shutting down: workers exit (as client-go)');
  q.done(inFlight!);
  await flush();
  t.false(drained);
  q.done('b');
  await drain;
  t.true(drained);
  t.is(await q.get(), undefined);
});

test('during shutdown a key re-added while in process is still handed out after done', async (t) => {
  const { q } = queue();
  q.add('a');
  const a = await q.get();
  q.add('a');
  q.shutDown();
  q.done(a!);
  t.is(await q.get(), 'a');
  q.done('a');
  t.is(await q.get(), undefined);
});
