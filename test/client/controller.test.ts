import test from 'ava';
import { VirtualClock } from '../../src/primitives/clock.js';
import { runController, type ReconcileResult } from '../../src/client/controller.js';
import { WorkQueue } from '../../src/client/workqueue.js';
import { advance, flush } from './virtual-time.js';

function setupQueue(): { clock: VirtualClock; queue: WorkQueue<string> } {
  const clock = new VirtualClock();
  return { clock, queue: new WorkQueue<string>({ clock, rateLimiter: { baseDelayMs: 5, maxDelayMs: 1_000, qps: 1e9, burst: 1e9 } }) };
}

test('errors requeue with per-key exponential backoff; success forgets', async (t) => {
  const { clock, queue } = setupQueue();
  const calls: number[] = [];
  const errors: Array<{ key: string; requeues: number }> = [];
  const controller = runController({
    queue, workers: 1,
    reconcile: async () => {
      calls.push(clock.now());
      if (calls.length <= 3) throw new Error('not yet');
      return 'done';
    },
    onError: (key, _e, info) => errors.push({ key, requeues: info.requeues }),
  });
  queue.add('ns/a');
  await advance(clock, 1_000);
  t.deepEqual(calls, [0, 5, 15, 35]);
  t.deepEqual(errors.map((e) => e.requeues), [0, 1, 2]);
  t.is(queue.numRequeues('ns/a'), 0, 'forgotten after success');
  await controller.stop();
});

test('requeueAfterMs looks again later without counting a failure', async (t) => {
  const { clock, queue } = setupQueue();
  const calls: number[] = [];
  const controller = runController({
    queue, workers: 1,
    reconcile: async (): Promise<ReconcileResult> => {
      calls.push(clock.now());
      return calls.length < 3 ? { requeueAfterMs: 250 } : 'done';
    },
  });
  queue.add('k');
  await advance(clock, 2_000);
  t.deepEqual(calls, [0, 250, 500]);
  t.is(queue.numRequeues('k'), 0);
  await controller.stop();
});

test('one key is never reconciled by two workers at once; other keys run in parallel', async (t) => {
  const { clock, queue } = setupQueue();
  const active = new Map<string, number>();
  let maxSameKey = 0;
  let maxParallel = 0;
  let runs = 0;
  const controller = runController({
    queue, workers: 4,
    reconcile: async (key) => {
      runs++;
      active.set(key, (active.get(key) ?? 0) + 1);
      maxSameKey = Math.max(maxSameKey, active.get(key)!);
      maxParallel = Math.max(maxParallel, [...active.values()].reduce((a, b) => a + b, 0));
      await new Promise<void>((resolve) => clock.setTimer(10, resolve));
      active.set(key, active.get(key)! - 1);
      return 'done';
    },
  });
  queue.add('a');
  queue.add('b');
  queue.add('c');
  await flush();
  queue.add('a'); // while 'a' is in process: runs again afterwards, not concurrently
  queue.add('a');
  await advance(clock, 100);
  t.is(maxSameKey, 1);
  t.is(maxParallel, 3);
  t.is(runs, 4);
  await controller.stop();
});

test('maxRetries drops a key and says so', async (t) => {
  const { clock, queue } = setupQueue();
  let calls = 0;
  const dropped: string[] = [];
  const controller = runController({
    queue, workers: 2, maxRetries: 2,
    reconcile: async () => {
      calls++;
      throw new Error('always');
    },
    onError: (key, _e, info) => { if (info.dropped) dropped.push(key); },
  });
  queue.add('x');
  await advance(clock, 10_000);
  t.is(calls, 3);
  t.deepEqual(dropped, ['x']);
  t.is(queue.numRequeues('x'), 0);
  await controller.stop();
});

test('stop lets in-flight reconciles finish, then the workers exit', async (t) => {
  const { clock, queue } = setupQueue();
  let finished = 0;
  const controller = runController({
    queue, workers: 2,
    reconcile: async () => {
      await new Promise<void>((resolve) => clock.setTimer(50, resolve));
      finished++;
      return 'done';
    },
  });
  queue.add('a');
  queue.add('b');
  await flush();
  let stopped = false;
  void controller.stop().then(() => { stopped = true; });
  await flush();
  t.false(stopped);
  await advance(clock, 50);
  t.true(stopped);
  t.is(finished, 2);
  t.throws(() => runController({ queue, workers: 0, reconcile: async () => 'done' }));
});
