/**
 * The etcd compactor (src/apiserver/compactor.ts) over LocalKv under virtual time: the claim on
 * compact_rev_key, one compaction per interval among many apiservers, failover, failures, and what
 * clients of the API see once old revisions are gone.
 */
import test from 'ava';
import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import {
  type CompactionOutcome, Compactor, type CompactorState, claimRequest, clockWakeUp, compactOnce, compactRevKey, decideClaim,
  initialCompactorState,
} from '../../src/apiserver/compactor.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import type { ApiRequest, ApiWatchEvent, ApiWatchResult } from '../../src/client/api-transport.js';
import type { KvCallOptions, KvClient, KvResult } from '../../src/client/kv.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { TxnRequest, TxnResponse } from '../../src/store/index.js';
import { advance as advanceClock } from '../client/virtual-time.js';

const intervalMs = 1_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

const advance = (clock: VirtualClock, ms: number): Promise<void> => advanceClock(clock, ms, 3);

function setup(): { clock: VirtualClock; kv: LocalKv } {
  const clock = new VirtualClock();
  return { clock, kv: new LocalKv({ clock }) };
}

async function write(kv: LocalKv, n: number, key = 'k'): Promise<number> {
  let rev = 0;
  for (let i = 0; i < n; i++) {
    const r = await kv.put({ key: `${key}${i % 3}`, value: enc.encode(String(i)) });
    if (!r.ok) throw new Error(`put failed: ${JSON.stringify(r.error)}`);
    rev = r.value.header.revision;
  }
  return rev;
}

interface Recorded {
  readonly who: string;
  readonly atMs: number;
  readonly outcome: CompactionOutcome;
}

function compactorOn(kv: KvClient, clock: VirtualClock, who: string, log: Recorded[], errors: unknown[] = []): Compactor {
  return new Compactor({
    kv, intervalMs, wakeUp: clockWakeUp(clock),
    onOutcome: (outcome) => log.push({ who, atMs: clock.now(), outcome }),
    onError: (error) => errors.push(error),
  });
}

// ---- the pure decision ----

test('claimRequest compares the known version and records the pending revision', (t) => {
  const req = claimRequest({ knownVersion: 3, pendingRevision: 41 });
  t.deepEqual(req.compare, [{ key: compactRevKey, target: 'version', result: '=', operand: 3 }]);
  const put = req.success[0];
  t.is(put?.type, 'put');
  if (put?.type === 'put') t.is(dec.decode(put.request.value), '41');
  t.deepEqual(req.failure, [{ type: 'range', request: { key: compactRevKey } }]);
});

test('decideClaim: the first claimed round compacts nothing, later ones compact the previous revision', (t) => {
  const won = (revision: number): TxnResponse => ({ header: { revision }, succeeded: true, responses: [{ type: 'put', response: { header: { revision } } }] });
  const first = decideClaim(initialCompactorState, won(10));
  t.deepEqual(first, { kind: 'claimed', state: { knownVersion: 1, pendingRevision: 10 } });
  const second = decideClaim(first.state, won(25));
  t.deepEqual(second, { kind: 'claimed', state: { knownVersion: 2, pendingRevision: 25 }, compactTo: 10 });
});

test('decideClaim: a lost round learns the version and the current revision', (t) => {
  const kv = { key: compactRevKey, value: enc.encode('17'), createRevision: 5, modRevision: 30, version: 4, lease: 0 };
  const lost: TxnResponse = { header: { revision: 33 }, succeeded: false, responses: [{ type: 'range', response: { header: { revision: 33 }, kvs: [kv], more: false, count: 1 } }] };
  t.deepEqual(decideClaim({ knownVersion: 2, pendingRevision: 12 }, lost), { kind: 'lost', state: { knownVersion: 4, pendingRevision: 33 }, recordedRevision: 17 });
  const garbage = { ...kv, value: enc.encode('not a number') };
  const unreadable: TxnResponse = { ...lost, responses: [{ type: 'range', response: { header: { revision: 33 }, kvs: [garbage], more: false, count: 1 } }] };
  t.deepEqual(decideClaim(initialCompactorState, unreadable), { kind: 'lost', state: { knownVersion: 4, pendingRevision: 33 } });
  const absent: TxnResponse = { ...lost, responses: [{ type: 'range', response: { header: { revision: 33 }, kvs: [], more: false, count: 0 } }] };
  t.deepEqual(decideClaim({ knownVersion: 2, pendingRevision: 12 }, absent), { kind: 'lost', state: { knownVersion: 0, pendingRevision: 33 } });
});

test('decideClaim throws on an answer the txn cannot give (a broken store)', (t) => {
  const bad: TxnResponse = { header: { revision: 3 }, succeeded: true, responses: [] };
  t.throws(() => decideClaim(initialCompactorState, bad), { message: /claimed round answered nothing/ });
});

// ---- one compactor ----

test('one compactor compacts to the revision it recorded one interval earlier', async (t) => {
  const { clock, kv } = setup();
  t.teardown(() => kv.close());
  const log: Recorded[] = [];
  const c = compactorOn(kv, clock, 'a', log);
  c.start();
  await write(kv, 5);
  await advance(clock, intervalMs - 1);
  t.is(log.length, 0, 'the first round waits one whole interval');
  await advance(clock, 1);
  t.is(log.length, 1);
  const first = log[0]!.outcome;
  if (first.kind !== 'claimed') return t.fail(`first round: ${JSON.stringify(first)}`);
  t.is(kv.machine.mvcc.compactRevision, 0, 'nothing observed before the first round: nothing compacted');
  const r1 = first.nextRevision;
  t.is(r1, kv.machine.mvcc.currentRevision, 'the claim put is the newest revision');

  await write(kv, 7);
  await advance(clock, intervalMs);
  const second = log[1]!.outcome;
  t.deepEqual(second, { kind: 'compacted', revision: r1, nextRevision: kv.machine.mvcc.currentRevision });
  t.is(kv.machine.mvcc.compactRevision, r1);
  const key = await kv.range({ key: compactRevKey });
  t.true(key.ok);
  if (key.ok) t.is(dec.decode(key.value.kvs[0]!.value), String(r1), 'the key records what this round compacted to');

  const old = await kv.range({ key: 'k0', revision: r1 - 1 });
  t.false(old.ok);
  if (!old.ok) t.deepEqual(old.error, { code: 'store', definite: true, error: { code: 'compacted', compactRevision: r1 } });
  t.true((await kv.range({ key: 'k0', revision: r1 })).ok, 'the compaction revision itself stays readable');

  const r2 = kv.machine.mvcc.currentRevision;
  await advance(clock, intervalMs);
  t.is(kv.machine.mvcc.compactRevision, r2, 'idle store: the third round compacts to the second claim');
  t.deepEqual(c.stats, {
    rounds: 3, compactions: 2, failures: 0, lastCompactedRevision: r2, state: { knownVersion: 3, pendingRevision: kv.machine.mvcc.currentRevision },
  });
  c.stop();
  await advance(clock, 5 * intervalMs);
  t.is(c.stats.rounds, 3, 'a stopped compactor runs no more rounds');
});

// ---- many compactors ----

test('three compactors on one store: exactly one compaction per interval, and a crashed winner is replaced', async (t) => {
  const { clock, kv } = setup();
  t.teardown(() => kv.close());
  const log: Recorded[] = [];
  const errors: unknown[] = [];
  const cs = ['a', 'b', 'c'].map((who) => compactorOn(kv, clock, who, log, errors));
  // Staggered like three apiservers that became ready at different moments.
  for (const [i, c] of cs.entries()) {
    await advance(clock, i === 0 ? 0 : 300);
    c.start();
  }
  const compactionsIn = (fromMs: number): Recorded[] => log.filter((r) => r.outcome.kind === 'compacted' && r.atMs >= fromMs && r.atMs < fromMs + intervalMs);
  const compactedRevisions: number[] = [];
  for (let round = 0; round < 6; round++) {
    await write(kv, 4);
    await advance(clock, intervalMs);
  }
  const windowStart = (k: number): number => k * intervalMs;
  t.is(compactionsIn(windowStart(1)).length, 0, 'the first interval only records a revision');
  for (let k = 2; k <= 6; k++) {
    const inWindow = compactionsIn(windowStart(k));
    t.is(inWindow.length, 1, `interval ${k}: ${JSON.stringify(inWindow)}`);
    const o = inWindow[0]!.outcome;
    if (o.kind === 'compacted') compactedRevisions.push(o.revision);
  }
  t.deepEqual([...new Set(log.filter((r) => r.outcome.kind === 'compacted').map((r) => r.who))], ['a'], 'the first to claim keeps claiming');
  t.true(log.every((r) => r.outcome.kind !== 'failed' && r.outcome.kind !== 'alreadyCompacted'), JSON.stringify(log.map((r) => r.outcome)));
  t.deepEqual(errors, []);
  t.deepEqual(compactedRevisions, [...compactedRevisions].sort((x, y) => x - y));
  t.is(kv.machine.mvcc.compactRevision, compactedRevisions[compactedRevisions.length - 1]!);
  t.true(log.some((r) => r.who === 'b' && r.outcome.kind === 'observed' && r.outcome.recordedRevision !== undefined));

  // The winner's apiserver dies: the next apiserver whose claim finds the version it knows takes over.
  cs[0]!.stop();
  const before = kv.machine.mvcc.compactRevision;
  const crashedAt = clock.now();
  await write(kv, 4);
  await advance(clock, intervalMs);
  await write(kv, 4);
  await advance(clock, intervalMs);
  const after = log.filter((r) => r.atMs >= crashedAt && r.outcome.kind === 'compacted');
  t.deepEqual(after.map((r) => [r.who, r.atMs - crashedAt]), [['b', 700], ['b', 1_700]], 'b runs 300 ms after a: it claims first, every interval');
  t.true(kv.machine.mvcc.compactRevision > before);
  t.true(log.filter((r) => r.atMs >= crashedAt + intervalMs).some((r) => r.who === 'c' && r.outcome.kind === 'observed'));
  for (const c of cs) c.stop();
});

// ---- failures ----

/** A KvClient over LocalKv whose next calls can be made to fail in chosen ways. */
class FlakyKv implements KvClient {
  /** The next txn applies but its answer is lost (timeout: indefinite). */
  loseNextTxnAnswer = false;
  /** The next compact fails without applying. */
  failNextCompact = false;

  constructor(readonly inner: LocalKv) {}

  range: KvClient['range'] = (r) => this.inner.range(r);
  put: KvClient['put'] = (r) => this.inner.put(r);
  deleteRange: KvClient['deleteRange'] = (r) => this.inner.deleteRange(r);
  leaseGrant: KvClient['leaseGrant'] = (ttl) => this.inner.leaseGrant(ttl);
  leaseRevoke: KvClient['leaseRevoke'] = (id) => this.inner.leaseRevoke(id);
  leaseKeepAlive: KvClient['leaseKeepAlive'] = (id) => this.inner.leaseKeepAlive(id);
  watch: KvClient['watch'] = (spec) => this.inner.watch(spec);
  currentRevision: KvClient['currentRevision'] = () => this.inner.currentRevision();

  async txn(request: TxnRequest, _options?: KvCallOptions): Promise<KvResult<TxnResponse>> {
    const r = await this.inner.txn(request);
    if (!this.loseNextTxnAnswer) return r;
    this.loseNextTxnAnswer = false;
    return { ok: false, error: { code: 'timeout', definite: false, message: 'answer lost' } };
  }

  async compact(revision: number, _options?: KvCallOptions): Promise<KvResult<{ readonly revision: number }>> {
    if (!this.failNextCompact) return this.inner.compact(revision);
    this.failNextCompact = false;
    return { ok: false, error: { code: 'unavailable', definite: true, message: 'no leader' } };
  }
}

test('an unavailable store fails the round; the compactor keeps its state and carries on', async (t) => {
  const { kv } = setup();
  t.teardown(() => kv.close());
  const first = await compactOnce(kv, initialCompactorState);
  t.is(first.outcome.kind, 'claimed');
  kv.setAvailable(false);
  const down = await compactOnce(kv, first.state);
  t.deepEqual(down.outcome, { kind: 'failed', stage: 'claim', error: { code: 'unavailable', definite: true, message: 'store unavailable' } });
  t.deepEqual(down.state, first.state);
  kv.setAvailable(true);
  const back = await compactOnce(kv, down.state);
  t.deepEqual(back.outcome, { kind: 'compacted', revision: first.state.pendingRevision, nextRevision: kv.machine.mvcc.currentRevision });
});

test('a claim whose answer was lost is learned next round; a failed compaction skips one round', async (t) => {
  const { kv } = setup();
  t.teardown(() => kv.close());
  const flaky = new FlakyKv(kv);
  let state: CompactorState = initialCompactorState;
  const round = async (): Promise<CompactionOutcome> => {
    const r = await compactOnce(flaky, state);
    state = r.state;
    return r.outcome;
  };
  t.is((await round()).kind, 'claimed');
  await write(kv, 3);
  flaky.loseNextTxnAnswer = true;
  const lost = await round();
  t.is(lost.kind, 'failed');
  t.is(kv.machine.mvcc.compactRevision, 0, 'the answer was lost before the compaction');
  // The put applied: our own claim now looks like another apiserver's.
  const learned = await round();
  t.like(learned, { kind: 'observed', version: 2 });
  await write(kv, 3);
  const claimed = await round();
  t.is(claimed.kind, 'compacted');
  await write(kv, 3);
  flaky.failNextCompact = true;
  const failed = await round();
  t.like(failed, { kind: 'failed', stage: 'compact' });
  const compactedBefore = kv.machine.mvcc.compactRevision;
  const pending = state.pendingRevision;
  const next = await round();
  t.deepEqual(next, { kind: 'compacted', revision: pending, nextRevision: kv.machine.mvcc.currentRevision });
  t.true(pending > compactedBefore);
});

test('a store compacted past the round (by hand) is reported, not a failure', async (t) => {
  const { kv } = setup();
  t.teardown(() => kv.close());
  const first = await compactOnce(kv, initialCompactorState);
  const rev = await write(kv, 5);
  t.true((await kv.compact(rev)).ok);
  const second = await compactOnce(kv, first.state);
  t.deepEqual(second.outcome, { kind: 'alreadyCompacted', revision: first.state.pendingRevision, compactRevision: rev });
});

test('the timer shell survives failing rounds and a round that throws', async (t) => {
  const { clock, kv } = setup();
  t.teardown(() => kv.close());
  const log: Recorded[] = [];
  const errors: unknown[] = [];
  const broken: KvClient = Object.assign(Object.create(kv) as LocalKv, {
    txn: () => Promise.reject(new Error('bug in the client')),
  });
  const bad = compactorOn(broken, clock, 'bad', log, errors);
  bad.start();
  await advance(clock, intervalMs);
  await advance(clock, intervalMs);
  t.is(errors.length, 2);
  t.like(bad.stats, { rounds: 2, failures: 2, compactions: 0 });
  bad.stop();

  const good = compactorOn(kv, clock, 'good', log, errors);
  good.start();
  kv.setAvailable(false);
  await advance(clock, intervalMs);
  kv.setAvailable(true);
  await advance(clock, intervalMs);
  await advance(clock, intervalMs);
  t.deepEqual(log.map((r) => r.outcome.kind), ['failed', 'claimed', 'compacted']);
  t.throws(() => new Compactor({ kv, intervalMs: 0, wakeUp: clockWakeUp(clock) }), { message: /interval must be/ });
  good.stop();
});

// ---- what API clients see ----

function apiRequest(path: string, query: Record<string, string> = {}): ApiRequest {
  return { method: 'GET', path, query, headers: {} };
}

function takeEvents(result: ApiWatchResult, n: number): Promise<ApiWatchEvent[]> {
  if (result.kind !== 'stream') throw new Error(`expected a stream, got ${JSON.stringify(result.response)}`);
  return firstValueFrom(result.events.pipe(take(n), toArray(), timeout(2_000)));
}

const configMap = (name: string): Uint8Array => enc.encode(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } }));

test('after compaction: an old resourceVersion is 410 Expired, current reads and the watch cache keep working', async (t) => {
  const { clock, kv } = setup();
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(3), watchCacheCapacity: 4 });
  await core.start();
  t.teardown(() => { core.stop(); kv.close(); });
  const path = '/api/v1/namespaces/default/configmaps';
  const create = async (name: string): Promise<number> => {
    const r = await core.request({ method: 'POST', path, query: {}, headers: { 'content-type': 'application/json' }, body: configMap(name) });
    t.is(r.status, 201, name);
    return Number((r.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
  };
  for (let i = 0; i < 3; i++) await create(`before-${i}`);
  const page = await core.request(apiRequest(path, { limit: '1' }));
  const pageBody = page.body as { metadata: { resourceVersion: string; continue?: string } };
  const listedRv = pageBody.metadata.resourceVersion;
  t.truthy(pageBody.metadata.continue);

  // A live watcher through the watch cache, opened before compaction.
  const live = await core.watch(apiRequest(path, { watch: 'true', resourceVersion: listedRv }));
  const liveEvents = takeEvents(live, 10);
  // Changes after the list, so that the first compaction removes history the list's resourceVersion needs.
  for (let i = 0; i < 2; i++) await create(`gap-${i}`);

  const compactor = compactorOn(kv, clock, 'a', []);
  compactor.start();
  await advance(clock, intervalMs);
  for (let i = 0; i < 6; i++) await create(`during-${i}`);
  await advance(clock, intervalMs);
  const compactedTo = kv.machine.mvcc.compactRevision;
  t.true(compactedTo > Number(listedRv), `compacted to ${compactedTo}, listed at ${listedRv}`);
  compactor.stop();

  // An informer resuming from its list's resourceVersion: older than the cache's ring and compacted in etcd.
  const stale = await core.watch(apiRequest(path, { watch: 'true', resourceVersion: listedRv }));
  if (stale.kind !== 'stream') return t.fail(JSON.stringify(stale.response));
  const staleEvents = await firstValueFrom(stale.events.pipe(toArray(), timeout(2_000)));
  t.is(staleEvents.length, 1, 'one ERROR event, then the stream ends');
  const error = staleEvents[0];
  t.is(error?.type, 'ERROR');
  t.like(error?.object, { kind: 'Status', code: 410, reason: 'Expired' });

  // The next page of a list taken before the compaction.
  const next = await core.request(apiRequest(path, { limit: '1', continue: pageBody.metadata.continue! }));
  t.is(next.status, 410);
  t.like(next.body, { code: 410, reason: 'Expired' });

  // Current state is intact: a fresh list, and a watch from it served by the cache.
  const fresh = await core.request(apiRequest(path));
  t.is(fresh.status, 200);
  const freshBody = fresh.body as { items: unknown[]; metadata: { resourceVersion: string } };
  t.is(freshBody.items.length, 11);
  const resumed = await core.watch(apiRequest(path, { watch: 'true', resourceVersion: freshBody.metadata.resourceVersion }));
  const resumedEvents = takeEvents(resumed, 1);
  await create('after-0');
  await create('after-1');
  t.like((await resumedEvents)[0], { type: 'ADDED', object: { metadata: { name: 'after-0' } } });
  // The watcher that started before the compaction saw every change, across it.
  const names = (await liveEvents).map((e) => `${e.type} ${(e.object as { metadata: { name: string } }).metadata.name}`);
  t.deepEqual(names, ['ADDED gap-0', 'ADDED gap-1', ...Array.from({ length: 6 }, (_, i) => `ADDED during-${i}`), 'ADDED after-0', 'ADDED after-1']);
});
