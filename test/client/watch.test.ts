import test from 'ava';
import { take, type Subscription } from 'rxjs';
import { SeededPrng } from '../../src/primitives/prng.js';
import { expired, statusFailure, type KubeObject } from '../../src/api/index.js';
import { isForbidden } from '../../src/client/errors.js';
import type { WatchSignal } from '../../src/client/watch.js';
import { watches } from './faulty-api.js';
import { advance, flush, pod, podRef, setup } from './helpers.js';

function collect(source: { subscribe: (o: object) => Subscription }): { signals: Array<WatchSignal<KubeObject>>; done: { completed: boolean; error: unknown }; sub: Subscription } {
  const signals: Array<WatchSignal<KubeObject>> = [];
  const done = { completed: false, error: undefined as unknown };
  const sub = source.subscribe({
    next: (s: WatchSignal<KubeObject>) => signals.push(s),
    complete: () => { done.completed = true; },
    error: (e: unknown) => { done.error = e; },
  });
  return { signals, done, sub };
}

const names = (signals: ReadonlyArray<WatchSignal<KubeObject>>): string[] =>
  signals.map((s) => (s.type === 'BOOKMARK' || s.type === 'EXPIRED' ? s.type : `${s.type}:${s.object.metadata?.name ?? ''}`));

const watchRvs = (server: Awaited<ReturnType<typeof setup>>['server']): Array<string | undefined> =>
  server.requests.filter(watches).map((r) => r.query['resourceVersion']);

test('subscribe starts, events are typed, unsubscribe stops the server watch', async (t) => {
  const { client, server, api } = await setup();
  await api.put(podRef, pod('a'));
  const { signals, sub } = collect(client.watch(podRef, {}));
  await flush();
  t.is(server.openWatches, 1);
  await api.put(podRef, pod('b'));
  await api.remove(podRef, 'default', 'a');
  t.deepEqual(names(signals), ['ADDED:a', 'ADDED:b', 'DELETED:a']);
  t.is(watchRvs(server)[0], undefined, 'no resourceVersion: synthetic ADDED first');
  sub.unsubscribe();
  t.is(server.openWatches, 0);
  t.is(api.core.watcherCount, 0, 'the apiserver let go of the watch');
});

test('a stream that ends normally is resumed from the last seen resourceVersion, without loss or repeats', async (t) => {
  const { client, server, api } = await setup();
  const rv0 = api.resourceVersion;
  const { signals } = collect(client.watch(podRef, { resourceVersion: rv0 }));
  await flush();
  const a = await api.put(podRef, pod('a'));
  server.dropWatches();
  await api.put(podRef, pod('b')); // written while no watch is open
  await flush();
  t.deepEqual(watchRvs(server), [rv0, a.metadata?.resourceVersion]);
  t.deepEqual(names(signals), ['ADDED:a', 'ADDED:b']);
  t.is(server.openWatches, 1);
});

test('bookmarks advance the resume point', async (t) => {
  const { client, server, api, clock } = await setup({ bookmarkIntervalMs: 1_000 });
  await api.namespace('elsewhere');
  const { signals } = collect(client.watch(podRef, { resourceVersion: api.resourceVersion, namespace: 'default' }));
  await flush();
  await api.put(podRef, pod('x', { namespace: 'elsewhere' })); // not ours: only a bookmark reveals the new RV
  await advance(clock, 1_000);
  t.deepEqual(names(signals), ['BOOKMARK']);
  const bookmarkRv = signals[0]!.type === 'BOOKMARK' ? signals[0]!.resourceVersion : '';
  t.is(bookmarkRv, api.resourceVersion);
  server.dropWatches();
  await flush();
  t.is(watchRvs(server).at(-1), bookmarkRv);
  t.is(server.requests[0]!.query['allowWatchBookmarks'], 'true');
});

test('410 as an ERROR event: EXPIRED then complete, no re-watch', async (t) => {
  // A one-event watch cache: a watch from before the last write is served by the store, which compacted it.
  const { client, server, api } = await setup({ watchCacheCapacity: 1 });
  const old = api.resourceVersion;
  await api.put(podRef, pod('a'));
  await api.put(podRef, pod('b'));
  await api.compact();
  const { signals, done } = collect(client.watch(podRef, { resourceVersion: old }));
  await flush();
  t.deepEqual(names(signals), ['EXPIRED']);
  t.true(done.completed);
  t.is(signals[0]!.type === 'EXPIRED' ? signals[0]!.status.code : 0, 410);
  t.is(server.watchRequests, 1);
  t.is(server.openWatches, 0);
});

test('410 as a response and as a later ERROR event on an open stream', async (t) => {
  const { client, server, api } = await setup();
  server.failNext({ kind: 'status', status: expired('1', '9') }, 1, watches);
  const first = collect(client.watch(podRef, { resourceVersion: api.resourceVersion }));
  await flush();
  t.deepEqual(names(first.signals), ['EXPIRED']);
  t.true(first.done.completed);

  const second = collect(client.watch(podRef, { resourceVersion: api.resourceVersion }));
  await flush();
  server.sendWatchError(statusFailure(410, 'Gone', 'watch channel closed'));
  await flush();
  t.deepEqual(names(second.signals), ['EXPIRED']);
  t.true(second.done.completed);
  t.is(server.openWatches, 0);
});

test('a broken stream or failing watch requests are retried with backoff from the last RV', async (t) => {
  const { client, server, clock, api } = await setup();
  const { signals, done } = collect(client.watch(podRef, { resourceVersion: api.resourceVersion }));
  await flush();
  const a = await api.put(podRef, pod('a'));
  server.failNext({ kind: 'status', status: statusFailure(500, 'InternalError', 'boom') }, 2, watches);
  server.breakWatches();
  await flush();
  t.is(server.openWatches, 0, 'waits before re-watching');
  await advance(clock, 60_000);
  t.is(server.openWatches, 1);
  t.deepEqual(watchRvs(server).slice(1), [a.metadata?.resourceVersion, a.metadata?.resourceVersion, a.metadata?.resourceVersion]);
  await api.put(podRef, pod('b'));
  t.deepEqual(names(signals), ['ADDED:a', 'ADDED:b']);
  t.false(done.completed);
  t.is(done.error, undefined);
});

test('a stream that keeps ending empty is re-opened with growing delays, never in a hot loop', async (t) => {
  const { client, server, clock, api } = await setup();
  const { sub } = collect(client.watch(podRef, { resourceVersion: api.resourceVersion }));
  await flush();
  for (let i = 0; i < 20; i++) {
    server.dropWatches();
    await flush();
  }
  t.is(server.watchRequests, 1, 'no re-watch without time passing');
  await advance(clock, 1_000);
  t.true(server.watchRequests >= 2 && server.watchRequests <= 4);
  sub.unsubscribe();
});

test('a 403 ends the observable with the ApiError', async (t) => {
  const { client, server } = await setup();
  server.failNext({ kind: 'status', status: statusFailure(403, 'Forbidden', 'nope') }, 1);
  const { done } = collect(client.watch(podRef));
  await flush();
  t.true(isForbidden(done.error));
});

test('unsubscribing from inside next (take) stops cleanly; a watch opened after stop is released', async (t) => {
  const { client, server, api } = await setup();
  await api.put(podRef, pod('a'));
  await api.put(podRef, pod('b'));
  const { signals, done } = collect(client.watch(podRef).pipe(take(1)));
  await flush();
  t.deepEqual(names(signals), ['ADDED:a']);
  t.true(done.completed);
  t.is(server.openWatches, 0);

  const slow = await setup({ latency: { prng: new SeededPrng(1), minMs: 100, maxMs: 101 } });
  const early = collect(slow.client.watch(podRef));
  early.sub.unsubscribe();
  await advance(slow.clock, 1_000);
  t.is(slow.server.watchRequests, 1);
  t.is(slow.server.watchSubscriptions, 1, 'the late stream was taken and released');
  t.is(slow.server.openWatches, 0);
  t.is(slow.api.core.watcherCount, 0);
});
