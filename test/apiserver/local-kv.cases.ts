/** LocalKv: the KvClient contract over one in-process state machine. */
import test from 'ava';
import { firstValueFrom, mergeMap, take, toArray, timeout } from 'rxjs';
import { LocalKv, leaseCheckIntervalMs } from '../../src/client/local-kv.js';
import { VirtualClock } from '../../src/primitives/clock.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('puts, ranges and txn compares on modRevision', async (t) => {
  const kv = new LocalKv({ clock: new VirtualClock() });
  t.teardown(() => kv.close());
  const put = await kv.put({ key: '/a', value: enc('1') });
  t.true(put.ok);
  const rev = put.ok ? put.value.header.revision : 0;
  const stale = await kv.txn({ compare: [{ key: '/a', target: 'modRevision', result: '=', operand: rev - 1 }], success: [{ type: 'put', request: { key: '/a', value: enc('2') } }], failure: [] });
  t.true(stale.ok && !stale.value.succeeded);
  const fresh = await kv.txn({ compare: [{ key: '/a', target: 'modRevision', result: '=', operand: rev }], success: [{ type: 'put', request: { key: '/a', value: enc('2') } }], failure: [] });
  t.true(fresh.ok && fresh.value.succeeded);
  const range = await kv.range({ key: '/', prefix: true });
  t.is(range.ok ? new TextDecoder().decode(range.value.kvs[0]!.value) : '', '2');
  t.deepEqual(await kv.currentRevision(), { ok: true, value: rev + 1 });
});

test('watch replays history from a start revision, then goes live; compacted starts are cancelled with the compact revision', async (t) => {
  const kv = new LocalKv({ clock: new VirtualClock() });
  t.teardown(() => kv.close());
  await kv.put({ key: '/w/a', value: enc('1') });
  await kv.put({ key: '/w/b', value: enc('1') });
  const got = firstValueFrom(kv.watch({ key: '/w/', prefix: true, startRevision: 2 }).pipe(
    mergeMap((u) => (u.kind === 'events' ? u.events.map((e) => `${e.type} ${e.kv.key} ${e.kv.modRevision}`) : [u.kind])), take(3), toArray(), timeout(1000)));
  await new Promise((r) => setImmediate(r));
  await kv.deleteRange({ key: '/w/a' });
  t.deepEqual(await got, ['put /w/a 2', 'put /w/b 3', 'delete /w/a 4']);
  await kv.compact(4);
  const cancelled = await firstValueFrom(kv.watch({ key: '/w/', prefix: true, startRevision: 2 }).pipe(timeout(1000)));
  t.like(cancelled, { kind: 'canceled', compactRevision: 4 });
});

test('leases expire on the injected clock and take their keys along; unavailability is a definite error', async (t) => {
  const clock = new VirtualClock();
  const kv = new LocalKv({ clock });
  t.teardown(() => kv.close());
  const lease = await kv.leaseGrant(2);
  t.true(lease.ok);
  const id = lease.ok ? lease.value.id : 0;
  await kv.put({ key: '/l', value: enc('x'), lease: id });
  clock.advance(1000);
  t.true((await kv.leaseKeepAlive(id)).ok);
  clock.advance(2000 + 2 * leaseCheckIntervalMs);
  await new Promise((r) => setImmediate(r));
  const r = await kv.range({ key: '/l' });
  t.is(r.ok ? r.value.kvs.length : -1, 0);
  kv.setAvailable(false);
  const down = await kv.put({ key: '/x', value: enc('1') });
  t.like(down, { ok: false, error: { code: 'unavailable', definite: true } });
});
