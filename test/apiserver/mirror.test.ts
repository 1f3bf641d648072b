/**
 * The apiserver's mirrors (RBAC policy, Node authorizer graph) and watch caches after the etcd watch
 * is lost, over LocalKv under virtual time: the cache restarts with a new run, the mirrors re-list
 * with capped backoff and converge, and clients older than the new run get etcd's history or 410.
 */
import test from 'ava';
import { firstValueFrom, Observable, type Subscriber, take, toArray, timeout } from 'rxjs';
import { lookupResource } from '../../src/api/index.js';
import { Authenticator, wellKnown } from '../../src/apiserver/auth/index.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { Mirror, mirrorBackoffResetMs, mirrorRetryInitialMs, mirrorRetryMaxMs } from '../../src/apiserver/mirror.js';
import { ObjectStorage } from '../../src/apiserver/storage.js';
import { type CachedEvent, WatchCache } from '../../src/apiserver/watch-cache.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiWatchEvent, ApiWatchResult } from '../../src/client/api-transport.js';
import type { KvClient, KvResult, WatchSpec, WatchUpdate } from '../../src/client/kv.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, TxnRequest } from '../../src/store/index.js';
import { advance as advanceClock, flush } from '../client/virtual-time.js';

/**
 * LocalKv with the faults a real client shows: every watch can be lost at once (canceled, as when
 * it resumes on a member from a compacted revision, or just completed), new watches can be refused
 * as they are made, and range answers can be held back to race them against watch events.
 */
class FaultyKv implements KvClient {
  private readonly live = new Set<Subscriber<WatchUpdate>>();
  private held: (() => void)[] = [];
  refuseWatches = false;
  holdRanges = false;

  constructor(readonly local: LocalKv) {}

  range(request: RangeRequest): Promise<KvResult<RangeResponse>> {
    const answer = this.local.range(request);
    if (!this.holdRanges) return answer;
    return new Promise((resolve) => { this.held.push(() => resolve(answer)); });
  }

  releaseRanges(): number {
    const held = this.held;
    this.held = [];
    for (const release of held) release();
    return held.length;
  }

  put(request: PutRequest) { return this.local.put(request); }
  deleteRange(request: DeleteRangeRequest) { return this.local.deleteRange(request); }
  txn(request: TxnRequest) { return this.local.txn(request); }
  compact(revision: number) { return this.local.compact(revision); }
  leaseGrant(ttlSeconds: number) { return this.local.leaseGrant(ttlSeconds); }
  leaseRevoke(id: number) { return this.local.leaseRevoke(id); }
  leaseKeepAlive(id: number) { return this.local.leaseKeepAlive(id); }
  currentRevision() { return this.local.currentRevision(); }

  watch(spec: WatchSpec): Observable<WatchUpdate> {
    return new Observable<WatchUpdate>((sub) => {
      if (this.refuseWatches) {
        sub.next({ kind: 'canceled', reason: 'refused' });
        sub.complete();
        return undefined;
      }
      this.live.add(sub);
      const inner = this.local.watch(spec).subscribe({
        next: (u) => sub.next(u),
        complete: () => { this.live.delete(sub); sub.complete(); },
      });
      return () => { this.live.delete(sub); inner.unsubscribe(); };
    });
  }

  /** Ends every open watch; returns how many there were. */
  loseWatches(how: 'canceled' | 'completed'): number {
    const subs = [...this.live];
    this.live.clear();
    for (const sub of subs) {
      if (how === 'canceled') sub.next({ kind: 'canceled', reason: 'mvcc: required revision has been compacted', compactRevision: this.local.machine.mvcc.currentRevision });
      sub.complete();
    }
    return subs.length;
  }
}

/** Lets every promise chain started by fired timers run to completion (LocalKv answers in microtasks). */
const settle = (): Promise<void> => flush(5);
const advance = (clock: VirtualClock, ms: number): Promise<void> => advanceClock(clock, ms, 5);

const tokens = {
  admin: 'admin-token-xxxxxxxxxxxxxxxx', jane: 'jane-token-xxxxxxxxxxxxxxxxx', bob: 'bob-token-xxxxxxxxxxxxxxxxxx',
  carol: 'carol-token-xxxxxxxxxxxxxxxx', node1: 'node1-token-xxxxxxxxxxxxxxxx',
};

interface MirrorFixture {
  readonly clock: VirtualClock;
  readonly kv: FaultyKv;
  readonly core: ApiServerCore;
  call(as: keyof typeof tokens | undefined, method: ApiMethod, path: string, body?: unknown, query?: Record<string, string>): Promise<ApiResponse>;
  watch(path: string, query: Record<string, string>): Promise<ApiWatchResult>;
  close(): void;
}

async function cluster(authenticated: boolean): Promise<MirrorFixture> {
  const clock = new VirtualClock();
  const local = new LocalKv({ clock });
  const kv = new FaultyKv(local);
  const authenticator = new Authenticator({ staticTokens: [
    { token: tokens.admin, username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] },
    { token: tokens.jane, username: 'jane', groups: [] },
    { token: tokens.bob, username: 'bob', groups: [] },
    { token: tokens.carol, username: 'carol', groups: [] },
    { token: tokens.node1, username: 'system:node:n1', groups: [wellKnown.nodesGroup] },
  ] });
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(11), ...(authenticated ? { authenticator } : {}) });
  await core.start();
  const enc = new TextEncoder();
  const request = (as: keyof typeof tokens | undefined, method: ApiMethod, path: string, body: unknown, query: Record<string, string>): ApiRequest => ({
    method, path, query,
    headers: { 'content-type': 'application/json', ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}) },
    ...(body === undefined ? {} : { body: enc.encode(JSON.stringify(body)) }),
  });
  return {
    clock, kv, core,
    call: (as, method, path, body, query = {}) => core.request(request(as, method, path, body, query)),
    watch: (path, query) => core.watch(request(undefined, 'GET', path, undefined, { watch: 'true', ...query })),
    close: () => { core.stop(); local.close(); },
  };
}

const rolebindings = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings';
const cms = '/api/v1/namespaces/default/configmaps';
const viewBinding = (name: string, user: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }],
});
const cm = (name: string, v = '1') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v } });
const mirrorCount = 5;

async function mustCall(c: MirrorFixture, method: ApiMethod, path: string, body?: unknown, query?: Record<string, string>): Promise<ApiResponse> {
  const r = await c.call('admin', method, path, body, query);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

const canList = async (c: MirrorFixture, who: keyof typeof tokens): Promise<boolean> => {
  const r = await c.call(who, 'GET', cms, undefined);
  if (r.status !== 200 && r.status !== 403) throw new Error(`list as ${who}: ${r.status}`);
  return r.status === 200;
};

for (const how of ['canceled', 'completed'] as const) {
  test(`RBAC: after the etcd watch is ${how}, the mirror re-lists and sees a binding created and one deleted while blind`, async (t) => {
    const c = await cluster(true);
    t.teardown(() => c.close());
    await mustCall(c, 'POST', rolebindings, viewBinding('jane-view', 'jane'));
    t.true(await canList(c, 'jane'));
    t.false(await canList(c, 'bob'));

    t.true(c.kv.loseWatches(how) >= mirrorCount);
    t.false(c.core.mirrorStatus.synced);
    await mustCall(c, 'DELETE', `${rolebindings}/jane-view`);
    await mustCall(c, 'POST', rolebindings, viewBinding('bob-view', 'bob'));
    // Blind: the policy is the one from before the loss until the re-list.
    t.true(await canList(c, 'jane'));
    t.false(await canList(c, 'bob'));

    await advance(c.clock, mirrorRetryInitialMs - 1);
    t.is(c.core.mirrorStatus.restarts, 0, 'the first re-list waits the initial backoff');
    await advance(c.clock, 1);
    t.deepEqual(c.core.mirrorStatus, { restarts: mirrorCount, failedAttempts: 0, synced: true });
    t.false(await canList(c, 'jane'), 'the binding deleted while blind is gone');
    t.true(await canList(c, 'bob'), 'the binding created while blind is in force');

    // And the restarted cache feeds the mirror live again, with no timer in between.
    await mustCall(c, 'POST', rolebindings, viewBinding('carol-view', 'carol'));
    t.true(await canList(c, 'carol'));
    await mustCall(c, 'DELETE', `${rolebindings}/bob-view`);
    t.false(await canList(c, 'bob'));
  });
}

test('Node authorizer: the pod graph converges after a loss (a pod deleted and one created while blind)', async (t) => {
  const c = await cluster(true);
  t.teardown(() => c.close());
  const secrets = '/api/v1/namespaces/default/secrets';
  const pods = '/api/v1/namespaces/default/pods';
  const pod = (name: string, secret: string) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'v', secret: { secretName: secret } }] },
  });
  const kubeletGets = async (name: string): Promise<number> => (await c.call('node1', 'GET', `${secrets}/${name}`, undefined)).status;
  for (const s of ['s1', 's2']) await mustCall(c, 'POST', secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: s } });
  await mustCall(c, 'POST', pods, pod('p1', 's1'));
  t.is(await kubeletGets('s1'), 200);
  t.is(await kubeletGets('s2'), 403);

  c.kv.loseWatches('canceled');
  await mustCall(c, 'DELETE', `${pods}/p1`, undefined, { gracePeriodSeconds: '0' });
  t.is((await c.call('admin', 'GET', `${pods}/p1`, undefined)).status, 404);
  await mustCall(c, 'POST', pods, pod('p2', 's2'));
  t.is(await kubeletGets('s1'), 200, 'blind: the graph still has p1');
  t.is(await kubeletGets('s2'), 403, 'blind: the graph lacks p2');

  await advance(c.clock, mirrorRetryInitialMs);
  t.true(c.core.mirrorStatus.synced);
  t.is(await kubeletGets('s1'), 403);
  t.is(await kubeletGets('s2'), 200);
});

test('re-lists retry with capped exponential backoff while the store is down, then converge; a healthy run resets the backoff', async (t) => {
  const c = await cluster(true);
  t.teardown(() => c.close());
  await mustCall(c, 'POST', rolebindings, viewBinding('jane-view', 'jane'));
  c.kv.loseWatches('canceled');
  await mustCall(c, 'DELETE', `${rolebindings}/jane-view`);
  await mustCall(c, 'POST', rolebindings, viewBinding('bob-view', 'bob'));
  c.kv.local.setAvailable(false);

  // Attempts at 100, 300, 700, 1500, 3100, 6300 ms, then every 5 s (capped).
  const expectedDelaysMs = [100, 200, 400, 800, 1600, 3200, 5000, 5000];
  t.is(expectedDelaysMs[expectedDelaysMs.length - 1], mirrorRetryMaxMs);
  for (const [i, delay] of expectedDelaysMs.entries()) {
    await advance(c.clock, delay - 1);
    t.is(c.core.mirrorStatus.failedAttempts, i * mirrorCount, `no attempt before ${delay} ms`);
    await advance(c.clock, 1);
    t.is(c.core.mirrorStatus.failedAttempts, (i + 1) * mirrorCount, `attempt ${i + 1} after ${delay} ms`);
  }
  t.false(c.core.mirrorStatus.synced);

  c.kv.local.setAvailable(true);
  await advance(c.clock, mirrorRetryMaxMs - 1);
  t.false(c.core.mirrorStatus.synced, 'no attempt before the capped delay');
  await advance(c.clock, 1);
  t.deepEqual(c.core.mirrorStatus, { restarts: mirrorCount, failedAttempts: expectedDelaysMs.length * mirrorCount, synced: true });
  t.false(await canList(c, 'jane'));
  t.true(await canList(c, 'bob'));

  // Lost again soon after: still backing off (no re-list storm on a flapping watch).
  c.kv.loseWatches('canceled');
  await advance(c.clock, mirrorRetryMaxMs - 1);
  t.is(c.core.mirrorStatus.restarts, mirrorCount);
  await advance(c.clock, 1);
  t.is(c.core.mirrorStatus.restarts, 2 * mirrorCount);
  // Lost after a healthy run: back to the initial delay.
  await advance(c.clock, mirrorBackoffResetMs);
  c.kv.loseWatches('completed');
  await advance(c.clock, mirrorRetryInitialMs);
  t.deepEqual(c.core.mirrorStatus, { restarts: 3 * mirrorCount, failedAttempts: expectedDelaysMs.length * mirrorCount, synced: true });
});

test('stop ends the retries: no timer left behind, no store call after', async (t) => {
  const c = await cluster(true);
  t.teardown(() => c.close());
  c.kv.local.setAvailable(false);
  c.kv.loseWatches('canceled');
  await advance(c.clock, mirrorRetryInitialMs);
  t.is(c.core.mirrorStatus.failedAttempts, mirrorCount);
  c.core.stop();
  c.kv.local.setAvailable(true);
  await advance(c.clock, 10 * mirrorRetryMaxMs);
  t.deepEqual(c.core.mirrorStatus, { restarts: 0, failedAttempts: mirrorCount, synced: false });
  t.is(c.kv.local.watcherCount, 0, 'no cache restarted after stop');
});

async function firstEvents(result: ApiWatchResult, n: number): Promise<ApiWatchEvent[]> {
  if (result.kind !== 'stream') throw new Error(`expected a stream, got ${JSON.stringify(result.response)}`);
  return firstValueFrom(result.events.pipe(take(n), toArray(), timeout(3000)));
}

const rvOf = (o: unknown): number => Number((o as { metadata: { resourceVersion: string } }).metadata.resourceVersion);

test('a client re-watching from before the restarted cache gets 410 Expired once etcd compacted, never a gap', async (t) => {
  const c = await cluster(false);
  t.teardown(() => c.close());
  const a = rvOf((await mustCall(c, 'POST', cms, cm('a'))).body);
  const first = await c.watch(cms, { resourceVersion: String(a) });
  const seen = firstEvents(first, 2);
  const b = rvOf((await mustCall(c, 'POST', cms, cm('b'))).body);
  c.kv.loseWatches('canceled');
  // The cache ended the client's stream after b: the client re-watches from b.
  t.deepEqual((await seen).map((e) => `${e.type} ${rvOf(e.object)}`), [`ADDED ${b}`]);

  await mustCall(c, 'PUT', `${cms}/a`, cm('a', '2'));
  const last = rvOf((await mustCall(c, 'POST', cms, cm('c'))).body);
  t.true((await c.kv.local.compact(last)).ok);
  const again = await c.watch(cms, { resourceVersion: String(b) });
  const [error] = await firstEvents(again, 1);
  t.is(error?.type, 'ERROR');
  t.like(error?.object, { kind: 'Status', code: 410, reason: 'Expired' });
  // The client re-lists and watches from the list: served by the restarted cache.
  const listed = rvOf((await mustCall(c, 'GET', cms)).body);
  const fresh = await c.watch(cms, { resourceVersion: String(listed) });
  const next = firstEvents(fresh, 1);
  await mustCall(c, 'DELETE', `${cms}/b`);
  const [deleted] = await next;
  t.like(deleted, { type: 'DELETED', object: { metadata: { name: 'b' } } });
});

test('a client re-watching from before the restarted cache without compaction gets every missed event from etcd', async (t) => {
  const c = await cluster(false);
  t.teardown(() => c.close());
  const a = rvOf((await mustCall(c, 'POST', cms, cm('a'))).body);
  const w = await c.watch(cms, { resourceVersion: String(a) });
  const seen = firstEvents(w, 1);
  await mustCall(c, 'POST', cms, cm('b'));
  const [added] = await seen;
  c.kv.loseWatches('completed');
  await mustCall(c, 'PUT', `${cms}/a`, cm('a', '2'));
  await mustCall(c, 'DELETE', `${cms}/b`);
  const again = await c.watch(cms, { resourceVersion: String(rvOf(added?.object)) });
  const missed = firstEvents(again, 3);
  await mustCall(c, 'POST', cms, cm('c'));
  t.deepEqual((await missed).map((e) => `${e.type} ${(e.object['metadata'] as { name: string }).name}`), ['MODIFIED a', 'DELETED b', 'ADDED c']);
});

const cmInfo = lookupResource('', 'v1', 'configmaps')!;

/** A cache watcher that records what it is given: event revisions and end reasons. */
function recorder(): { revisions: number[]; ends: string[]; watcher: { deliver: (e: CachedEvent) => void; end: (r: string) => void } } {
  const revisions: number[] = [];
  const ends: string[] = [];
  return { revisions, ends, watcher: { deliver: (e) => revisions.push(e.revision), end: (r) => ends.push(r) } };
}

test('WatchCache: a loss ends watchers once, a restart begins a new run, older watchers are tooOld', async (t) => {
  const clock = new VirtualClock();
  const kv = new FaultyKv(new LocalKv({ clock }));
  t.teardown(() => kv.local.close());
  const storage = new ObjectStorage(kv);
  const cache = new WatchCache(kv, cmInfo, 4);
  t.true(await cache.start());
  t.is(cache.generation, 1);
  const put = async (name: string): Promise<number> => {
    const out = await storage.create(cmInfo, `/registry/configmaps/default/${name}`, { ...cm(name), metadata: { name, namespace: 'default' } }, name);
    if (!out.ok) throw new Error(JSON.stringify(out.status));
    return rvOf(out.value);
  };
  const first = await put('a');
  await settle();
  const before = recorder();
  t.true(cache.subscribe(first - 1, before.watcher).ok);

  t.is(kv.loseWatches('canceled'), 1);
  t.deepEqual(before.ends, ['etcd watch canceled: mvcc: required revision has been compacted'], 'canceled then complete: one end');
  t.false(cache.started);
  t.deepEqual(cache.subscribe(first, { deliver: () => undefined, end: () => undefined }), { ok: false, reason: 'notStarted' });

  const blind = await put('b');
  await settle();
  t.deepEqual(before.revisions, [first], 'nothing delivered while blind');
  t.true(await cache.start());
  t.is(cache.generation, 2);
  t.is(cache.startRevision, blind);
  t.deepEqual(cache.subscribe(first, { deliver: () => undefined, end: () => undefined }), { ok: false, reason: 'tooOld' },
    'a watcher from before the run would miss b');
  const after = recorder();
  t.true(cache.subscribe(blind, after.watcher).ok);
  const third = await put('c');
  await settle();
  t.deepEqual(after.revisions, [third]);
  t.deepEqual(before.revisions, [first], 'an ended watcher hears nothing more');

  // A completed watch (no canceled update) is a loss too.
  kv.loseWatches('completed');
  t.deepEqual(after.ends, ['etcd watch ended']);
  t.is(before.ends.length, 1);
});

test('WatchCache: a watch canceled while being made leaves the cache stopped; a later start runs', async (t) => {
  const clock = new VirtualClock();
  const kv = new FaultyKv(new LocalKv({ clock }));
  t.teardown(() => kv.local.close());
  const cache = new WatchCache(kv, cmInfo);
  kv.refuseWatches = true;
  t.false(await cache.start());
  t.false(cache.started);
  t.deepEqual(cache.subscribe(0, { deliver: () => undefined, end: () => undefined }), { ok: false, reason: 'notStarted' });
  kv.refuseWatches = false;
  t.true(await cache.start());
  t.true(cache.started);
  t.is(kv.local.watcherCount, 1);
  const w = recorder();
  t.true(cache.subscribe(cache.revision, w.watcher).ok);
  cache.stop();
  t.is(kv.local.watcherCount, 0);
  t.deepEqual(w.ends, ['apiserver stopping']);
});

const cmKey = (name: string) => `/registry/configmaps/default/${name}`;

/** Creates ConfigMap `name` in `default` through the storage, or throws. */
function configMapCreator(storage: ObjectStorage): (name: string) => Promise<void> {
  return async (name) => {
    const out = await storage.create(cmInfo, cmKey(name), { ...cm(name), metadata: { name, namespace: 'default' } }, name);
    if (!out.ok) throw new Error(JSON.stringify(out.status));
  };
}

test('Mirror: a delete racing the re-list does not resurrect the object', async (t) => {
  const clock = new VirtualClock();
  const kv = new FaultyKv(new LocalKv({ clock }));
  t.teardown(() => kv.local.close());
  const storage = new ObjectStorage(kv);
  const cache = new WatchCache(kv, cmInfo);
  const changes: string[] = [];
  const mirror = new Mirror({ cache, storage, clock, onChange: (k, o) => changes.push(`${o === undefined ? '-' : '+'}${k}`) });
  t.teardown(() => mirror.stop());
  const create = configMapCreator(storage);
  await create('a');
  await create('b');
  t.true(await mirror.start());
  t.deepEqual(mirror.values().map((o) => (o['metadata'] as { name: string }).name).sort(), ['a', 'b']);

  kv.loseWatches('canceled');
  await create('c');
  kv.holdRanges = true;
  await advance(clock, mirrorRetryInitialMs);
  // The re-list read the store (a, b, c) but its answer is held; meanwhile b is deleted and the event arrives.
  const b = await kv.local.range({ key: cmKey('b') });
  t.true(b.ok && b.value.kvs.length === 1);
  kv.holdRanges = false;
  t.true((await kv.local.deleteRange({ key: cmKey('b') })).ok);
  await settle();
  t.is(kv.releaseRanges(), 1);
  await settle();
  t.true(mirror.synced);
  t.is(mirror.restarts, 1);
  t.deepEqual(mirror.values().map((o) => (o['metadata'] as { name: string }).name).sort(), ['a', 'c']);
  // The re-list is applied first, then the watch from its revision replays the delete it missed.
  t.deepEqual(changes, ['+default/a', '+default/b', '+default/c', '-default/b']);
});

test('Mirror: a loss while the re-list is in flight fails that attempt, and the next one converges', async (t) => {
  const clock = new VirtualClock();
  const kv = new FaultyKv(new LocalKv({ clock }));
  t.teardown(() => kv.local.close());
  const storage = new ObjectStorage(kv);
  const cache = new WatchCache(kv, cmInfo);
  const mirror = new Mirror({ cache, storage, clock });
  t.teardown(() => mirror.stop());
  const create = configMapCreator(storage);
  await create('a');
  t.true(await mirror.start());
  kv.loseWatches('canceled');
  t.true((await kv.local.deleteRange({ key: cmKey('a') })).ok);
  kv.holdRanges = true;
  await advance(clock, mirrorRetryInitialMs);
  t.is(cache.generation, 2);
  // Blind again before the list answers: what the list says cannot be joined to the lost run's events.
  kv.loseWatches('completed');
  await create('b');
  kv.holdRanges = false;
  t.is(kv.releaseRanges(), 1);
  await settle();
  t.false(mirror.synced);
  t.is(mirror.failedAttempts, 1);
  await advance(clock, 2 * mirrorRetryInitialMs);
  t.true(mirror.synced);
  t.is(mirror.restarts, 1);
  t.is(cache.generation, 3);
  t.deepEqual(mirror.values().map((o) => (o['metadata'] as { name: string }).name), ['b']);
});
