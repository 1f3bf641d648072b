/** Watch semantics through the core: replay, resume, 410, bookmarks, selector transitions, timeouts, tables, fan-out. */
import test from 'ava';
import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import { watchLineOf } from '../../src/apiserver/watch.js';
import { body, cm, events, harness, takeEvents } from './helpers.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { advance } from '../client/virtual-time.js';

const cms = '/api/v1/namespaces/default/configmaps';
const summary = (es: { type: string; object: Record<string, any> }[]) => es.map((e) => `${e.type} ${e.object['metadata']?.name ?? ''}`); // eslint-disable-line @typescript-eslint/no-explicit-any

test('no resourceVersion: ADDED for the current state, then live events', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await h.call('POST', cms, cm('a'));
  const w = await h.watch(cms);
  const got = takeEvents(w, 4);
  await h.call('POST', cms, cm('b'));
  await h.call('PUT', `${cms}/b`, cm('b', { x: '1' }));
  await h.call('DELETE', `${cms}/a`);
  const es = await got;
  t.deepEqual(summary(es), ['ADDED a', 'ADDED b', 'MODIFIED b', 'DELETED a']);
  const del = es[3]!.object as { metadata: { resourceVersion: string } };
  t.is(Number(del.metadata.resourceVersion), h.kv.machine.mvcc.currentRevision, 'a DELETED carries the delete revision');
});

test('resourceVersion=N: every event after N, from the cache or (older) from the store; compacted → 410 ERROR', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const a = body(await h.call('POST', cms, cm('a')));
  await h.call('POST', cms, cm('b'));
  // The cache starts now: revisions before it come from a direct store watch.
  const replay = await takeEvents(await h.watch(cms, { query: { resourceVersion: a.metadata.resourceVersion } }), 1);
  t.deepEqual(summary(replay), ['ADDED b']);
  const rv = String(h.kv.machine.mvcc.currentRevision);
  await h.call('POST', cms, cm('c'));
  const fromCache = await takeEvents(await h.watch(cms, { query: { resourceVersion: rv } }), 1);
  t.deepEqual(summary(fromCache), ['ADDED c']);
  await h.kv.compact(h.kv.machine.mvcc.currentRevision);
  const old = await takeEvents(await h.watch(cms, { query: { resourceVersion: a.metadata.resourceVersion } }), 1);
  t.is(old[0]!.type, 'ERROR');
  t.like(old[0]!.object, { kind: 'Status', code: 410, reason: 'Expired' });
});

test('selectors: an object that stops matching is DELETED for the watcher, one that starts matching is ADDED', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const w = await h.watch(cms, { query: { labelSelector: 'app=web' } });
  const got = takeEvents(w, 3);
  await h.call('POST', cms, cm('x', {}, { app: 'db' }));
  await h.call('PATCH', `${cms}/x`, { metadata: { labels: { app: 'web' } } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  await h.call('PATCH', `${cms}/x`, { data: { k: 'v' } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  await h.call('PATCH', `${cms}/x`, { metadata: { labels: { app: 'db' } } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  const es = await got;
  t.deepEqual(summary(es), ['ADDED x', 'MODIFIED x', 'DELETED x']);
  t.is((es[2]!.object as { metadata: { labels: { app: string } } }).metadata.labels.app, 'web', 'the DELETED shows the last matching state');
});

test('bookmarks carry only the resourceVersion; timeoutSeconds ends the stream', async (t) => {
  // Virtual time: the count of bookmarks in the 1 s stream is exact, however loaded the machine is.
  const clock = new VirtualClock();
  const h = await harness({ bookmarkIntervalMs: 50, clock });
  t.teardown(() => h.close());
  const from = String(h.kv.machine.mvcc.currentRevision);
  await h.call('POST', cms, cm('a'));
  const w = await h.watch(cms, { query: { resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: '1' } });
  const done = firstValueFrom(events(w).pipe(toArray()));
  await advance(clock, 1_000);
  const all = await done;
  const bookmarks = all.filter((e) => e.type === 'BOOKMARK');
  t.is(bookmarks.length, 19, 'one every 50 ms until the stream ends at 1 s (the one due at 1 s loses to the end)');
  t.deepEqual(bookmarks.at(-1)!.object, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(h.kv.machine.mvcc.currentRevision) } });
  t.deepEqual(summary(all.filter((e) => e.type !== 'BOOKMARK')), ['ADDED a']);
});

test('table watches send one-row Tables; bad parameters are refused before streaming', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await h.call('POST', cms, cm('a', { k: 'v' }));
  const w = await h.watch(cms, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
  const [e] = await takeEvents(w, 1);
  t.like(e!.object, { kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
  const rows = (e!.object as { rows: { cells: unknown[]; object: { kind: string } }[] }).rows;
  t.is(rows.length, 1);
  t.is(rows[0]!.cells[0], 'a');
  t.is(rows[0]!.object.kind, 'PartialObjectMetadata');
  for (const query of [{ resourceVersion: 'abc' }, { labelSelector: '==' }, { timeoutSeconds: '-1' }] as Record<string, string>[]) {
    const r = await h.watch(cms, { query });
    t.is(r.kind, 'response');
    if (r.kind === 'response') t.is(r.response.status, 400);
  }
  t.is(h.core.watcherCount, 0, 'refused watches are not counted');
});

test('fan-out: one store watch serves many watchers, each event serialised once', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const before = h.kv.watcherCount;
  const streams = await Promise.all(Array.from({ length: 50 }, () => h.watch(cms, { query: { resourceVersion: String(h.kv.machine.mvcc.currentRevision) } })));
  const all = Promise.all(streams.map((s) => firstValueFrom(events(s).pipe(take(1), timeout(3000)))));
  await h.call('POST', cms, cm('z'));
  const got = await all;
  t.is(h.kv.watcherCount - before, 1);
  const lines = got.map(watchLineOf);
  t.true(lines.every((l) => l === lines[0]));
  t.deepEqual(JSON.parse(lines[0]!).type, 'ADDED');
  t.is(h.core.metrics.registeredWatchers, 0);
});

test('watchers per user are bounded', async (t) => {
  const h = await harness({ maxWatchesPerUser: 2 });
  t.teardown(() => h.close());
  const a = await h.watch(cms);
  const b = await h.watch(cms);
  const sa = events(a).subscribe();
  const sb = events(b).subscribe();
  const c = await h.watch(cms);
  t.is(c.kind === 'response' ? c.response.status : 0, 429);
  sa.unsubscribe();
  t.is((await h.watch(cms)).kind, 'stream');
  sb.unsubscribe();
});

test('a resourceVersion older than the cache ring is served by a direct store watch', async (t) => {
  const h = await harness({ watchCacheCapacity: 3 });
  t.teardown(() => h.close());
  const first = await h.watch(cms);
  const sub = events(first).subscribe();
  t.teardown(() => sub.unsubscribe());
  const start = String(h.kv.machine.mvcc.currentRevision);
  for (let i = 0; i < 6; i++) await h.call('POST', cms, cm(`r${i}`));
  const replay = await takeEvents(await h.watch(cms, { query: { resourceVersion: start } }), 6);
  t.deepEqual(summary(replay), ['ADDED r0', 'ADDED r1', 'ADDED r2', 'ADDED r3', 'ADDED r4', 'ADDED r5']);
  const recent = await takeEvents(await h.watch(cms, { query: { resourceVersion: String(Number(start) + 4) } }), 2);
  t.deepEqual(summary(recent), ['ADDED r4', 'ADDED r5']);
  await h.kv.compact(h.kv.machine.mvcc.currentRevision - 1);
  const expired = await takeEvents(await h.watch(cms, { query: { resourceVersion: start } }), 1);
  t.like(expired[0], { type: 'ERROR', object: { code: 410 } });
});
