import test from 'ava';
import fc from 'fast-check';
import { StoreStateMachine, commands } from '../../src/store/commands.js';
import { MvccStore } from '../../src/store/mvcc.js';
import type { KeySelector, RequestOp } from '../../src/store/types.js';
import { WatchHub, type WatchResponse } from '../../src/store/watch.js';
import { b, must, s } from './helpers.js';

interface ModelChange {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  readonly value: string;
  readonly prev: string | undefined;
}

/** A reference model of the store's change history, as simple as possible. */
class Model {
  readonly values = new Map<string, string>();
  readonly changes: ModelChange[] = [];
  revision = 1;

  write(ops: readonly ({ put: string; value: string } | { del: string[] })[]): void {
    const revision = this.revision + 1;
    let changed = false;
    for (const op of ops) {
      if ('put' in op) {
        this.changes.push({ revision, key: op.put, type: 'put', value: op.value, prev: this.values.get(op.put) });
        this.values.set(op.put, op.value);
        changed = true;
      } else {
        for (const key of op.del) {
          const prev = this.values.get(key);
          if (prev === undefined) continue;
          this.changes.push({ revision, key, type: 'delete', value: '', prev });
          this.values.delete(key);
          changed = true;
        }
      }
    }
    if (changed) this.revision = revision;
  }

  keysWithPrefix(prefix: string): string[] {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

const keys = ['a', 'b', 'c', 'd/1', 'd/2', 'd/3'];
const selectors: { selector: KeySelector; matches: (k: string) => boolean }[] = [
  { selector: { key: 'a' }, matches: (k) => k === 'a' },
  { selector: { key: 'd/', prefix: true }, matches: (k) => k.startsWith('d/') },
  { selector: { key: 'b', rangeEnd: 'd/2' }, matches: (k) => k >= 'b' && k < 'd/2' },
  { selector: { key: '', prefix: true }, matches: () => true },
];

type Op =
  | { kind: 'put'; key: string; value: number }
  | { kind: 'del'; key: string }
  | { kind: 'delPrefix' }
  | { kind: 'txn'; puts: string[]; value: number }
  | { kind: 'compact'; back: number }
  | { kind: 'watch'; back: number; selector: number; prevKv: boolean }
  | { kind: 'poll' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.nat(99) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: fc.constantFrom(...keys) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delPrefix' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('txn' as const), puts: fc.uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 4 }), value: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(6) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('watch' as const), back: fc.nat(12), selector: fc.nat(selectors.length - 1), prevKv: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('poll' as const) }) },
);

interface Observed {
  readonly start: number;
  readonly selector: number;
  readonly prevKv: boolean;
  readonly responses: WatchResponse[];
}

test('property: every watcher gets exactly the matching history from its start, in order, atomic per revision', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 1, max: 8 }), (ops, maxEventsPerResponse) => {
    const store = new MvccStore();
    const hub = new WatchHub(store, { maxWatchers: 100, maxUnackedEvents: 1000, maxEventsPerResponse });
    const model = new Model();
    const observed = new Map<number, Observed>();
    const deliver = (responses: WatchResponse[]): void => {
      for (const response of responses) {
        const watcher = observed.get(response.watchId);
        if (!watcher) throw new Error(`response for unknown watch ${response.watchId}`);
        watcher.responses.push(response);
        hub.ack(response.watchId, response.events.length);
      }
    };
    for (const op of ops) {
      switch (op.kind) {
        case 'put':
          must(store.put({ key: op.key, value: b(`${op.value}`) }));
          model.write([{ put: op.key, value: `${op.value}` }]);
          break;
        case 'del':
          must(store.deleteRange({ key: op.key }));
          model.write([{ del: [op.key] }]);
          break;
        case 'delPrefix':
          must(store.deleteRange({ key: 'd/', prefix: true }));
          model.write([{ del: model.keysWithPrefix('d/') }]);
          break;
        case 'txn': {
          const success: RequestOp[] = op.puts.map((key) => ({ type: 'put', request: { key, value: b(`${op.value}`) } }));
          must(store.txn({ compare: [], success, failure: [] }));
          model.write(op.puts.map((key) => ({ put: key, value: `${op.value}` })));
          break;
        }
        case 'compact': {
          const target = store.currentRevision - op.back;
          if (target > store.compactRevision) must(store.compact(target));
          break;
        }
        case 'watch': {
          const start = Math.max(1, store.currentRevision + 1 - op.back);
          const created = must(hub.watch({ ...selectors[op.selector]!.selector, startRevision: start, prevKv: op.prevKv }));
          observed.set(created[0]!.watchId, { start, selector: op.selector, prevKv: op.prevKv, responses: [] });
          deliver(created.slice(1));
          break;
        }
        case 'poll':
          deliver(hub.poll());
          break;
      }
    }
    deliver(hub.poll());
    for (const [watchId, watcher] of observed) checkWatcher(watchId, watcher, model, store);
  }), { seed: 20261127, numRuns: 300 });
  t.pass();
});

function checkWatcher(watchId: number, watcher: Observed, model: Model, store: MvccStore): void {
  const matches = selectors[watcher.selector]!.matches;
  const cancel = watcher.responses.find((r) => r.canceled);
  let through = store.currentRevision;
  if (cancel) {
    if (cancel.cancelReason !== 'compacted' || cancel.compactRevision === undefined) throw new Error(`watch ${watchId}: unexpected cancel ${JSON.stringify(cancel)}`);
    // Cancelled only when what it was owed next had been compacted away. At creation the header is
    // the current revision (as in etcd) and nothing was delivered.
    const atCreation = watcher.responses.length === 1;
    const owedNext = atCreation ? watcher.start : cancel.header.revision + 1;
    if (owedNext >= cancel.compactRevision) throw new Error(`watch ${watchId}: cancelled owing ${owedNext} though compaction is ${cancel.compactRevision}`);
    through = owedNext - 1;
    if (watcher.responses.indexOf(cancel) !== watcher.responses.length - 1) throw new Error('responses after cancel');
  }
  const expected = model.changes.filter((c) => c.revision >= watcher.start && c.revision <= through && matches(c.key));
  const got = watcher.responses.flatMap((r) => r.events);
  const render = (type: string, key: string, rev: number, value: string, prev: string | undefined) => `${type}:${key}@${rev}=${value}${watcher.prevKv ? `<${prev ?? '-'}` : ''}`;
  const want = expected.map((c) => render(c.type, c.key, c.revision, c.value, c.prev));
  const have = got.map((e) => render(e.type, e.kv.key, e.kv.modRevision, s(e.kv.value), e.prevKv ? s(e.prevKv.value) : undefined));
  if (want.join(' ') !== have.join(' ')) throw new Error(`watch ${watchId} from ${watcher.start}:\nwant ${want.join(' ')}\nhave ${have.join(' ')}`);
  // Atomic: no revision appears in two responses.
  const seen = new Set<number>();
  for (const response of watcher.responses) {
    const revisions = new Set(response.events.map((e) => e.kv.modRevision));
    for (const revision of revisions) {
      if (seen.has(revision)) throw new Error(`watch ${watchId}: revision ${revision} split across responses`);
      seen.add(revision);
    }
    const last = response.events.at(-1);
    if (last && response.header.revision < last.kv.modRevision) throw new Error('header behind its events');
  }
}

test('a start revision below the compaction point is cancelled with the compact revision', (t) => {
  const store = new MvccStore();
  for (let i = 0; i < 5; i++) must(store.put({ key: 'k', value: b(`${i}`) }));
  must(store.compact(4));
  const hub = new WatchHub(store);
  const responses = must(hub.watch({ key: 'k', startRevision: 3 }));
  t.is(responses.length, 2);
  t.true(responses[0]!.created);
  t.like(responses[1], { canceled: true, cancelReason: 'compacted', compactRevision: 4 });
  t.is(hub.size, 0);
  const fromFloor = must(hub.watch({ key: 'k', startRevision: 4 }));
  t.is(fromFloor.length, 1);
  t.deepEqual(hub.poll()[0]!.events.map((e) => e.kv.modRevision), [4, 5, 6]);
});

test('a lagging watcher is cancelled when compaction passes it', (t) => {
  const store = new MvccStore();
  const hub = new WatchHub(store, { maxWatchers: 10, maxUnackedEvents: 2, maxEventsPerResponse: 10 });
  for (let i = 0; i < 10; i++) must(store.put({ key: `k${i}`, value: b('') }));
  const id = must(hub.watch({ key: '', prefix: true, startRevision: 2 }))[0]!.watchId;
  const first = hub.poll();
  t.deepEqual(first.flatMap((r) => r.events.map((e) => e.kv.modRevision)), [2, 3]);
  t.is(hub.nextRevision(id), 4, 'catching up pauses at the window instead of failing');
  must(store.compact(8));
  t.like(hub.poll()[0], { canceled: true, cancelReason: 'compacted', compactRevision: 8, header: { revision: 3 } });
});

test('a slow live watcher is cancelled with a typed reason and can resume without a gap', (t) => {
  const store = new MvccStore();
  const hub = new WatchHub(store, { maxWatchers: 10, maxUnackedEvents: 5, maxEventsPerResponse: 100 });
  const id = must(hub.watch({ key: 'k', prefix: true }))[0]!.watchId;
  const received: number[] = [];
  for (let i = 0; i < 4; i++) must(store.put({ key: `k${i}`, value: b('') }));
  for (const r of hub.poll()) received.push(...r.events.map((e) => e.kv.modRevision));
  t.deepEqual(received, [2, 3, 4, 5]);
  // No ack: the window has room for one more event, not for three.
  for (let i = 0; i < 3; i++) must(store.put({ key: `k${i}`, value: b('x') }));
  const responses = hub.poll();
  for (const r of responses) received.push(...r.events.map((e) => e.kv.modRevision));
  const cancel = responses.at(-1)!;
  t.like(cancel, { watchId: id, canceled: true, cancelReason: 'slowWatcher' });
  t.deepEqual(received, [2, 3, 4, 5, 6]);
  t.is(cancel.header.revision, 6);
  // Resume at header.revision + 1: the rest, nothing twice.
  const resumed = must(hub.watch({ key: 'k', prefix: true, startRevision: cancel.header.revision + 1 }))[0]!.watchId;
  const rest = hub.poll().filter((r) => r.watchId === resumed).flatMap((r) => r.events.map((e) => e.kv.modRevision));
  t.deepEqual([...received, ...rest], [2, 3, 4, 5, 6, 7, 8]);
});

test('a revision is never split, even when larger than the response cap or the window', (t) => {
  const store = new MvccStore();
  const hub = new WatchHub(store, { maxWatchers: 10, maxUnackedEvents: 3, maxEventsPerResponse: 2 });
  must(hub.watch({ key: '', prefix: true }));
  const success: RequestOp[] = ['a', 'b', 'c', 'd', 'e'].map((key) => ({ type: 'put', request: { key, value: b('') } }));
  must(store.txn({ compare: [], success, failure: [] }));
  const responses = hub.poll();
  t.is(responses.length, 1);
  t.deepEqual(responses[0]!.events.map((e) => e.kv.key), ['a', 'b', 'c', 'd', 'e']);
});

test('filters and prevKv; cancel by the client', (t) => {
  const store = new MvccStore();
  const hub = new WatchHub(store);
  const puts = must(hub.watch({ key: 'k', noDelete: true, prevKv: true }))[0]!.watchId;
  const deletes = must(hub.watch({ key: 'k', noPut: true }))[0]!.watchId;
  must(store.put({ key: 'k', value: b('1') }));
  must(store.put({ key: 'k', value: b('2') }));
  must(store.deleteRange({ key: 'k' }));
  const responses = hub.poll();
  const of = (id: number) => responses.filter((r) => r.watchId === id).flatMap((r) => r.events);
  t.deepEqual(of(puts).map((e) => [e.type, s(e.kv.value), e.prevKv ? s(e.prevKv.value) : null]), [['put', '1', null], ['put', '2', '1']]);
  t.deepEqual(of(deletes).map((e) => [e.type, e.kv.modRevision, e.prevKv]), [['delete', 4, undefined]]);
  t.like(hub.cancel(puts), { canceled: true, cancelReason: 'canceled' });
  t.is(hub.cancel(puts), undefined);
  t.is(hub.size, 1);
});

test('bookmarks: only watchers owed nothing get progress at the current revision', (t) => {
  const store = new MvccStore();
  const hub = new WatchHub(store);
  const live = must(hub.watch({ key: 'a', progressNotify: true }))[0]!.watchId;
  const quiet = must(hub.watch({ key: 'b' }))[0]!.watchId;
  must(store.put({ key: 'x', value: b('') }));
  t.deepEqual(hub.progress(), [], 'not yet polled: not caught up');
  hub.poll();
  t.deepEqual(hub.progress(), [{ watchId: live, header: { revision: 2 }, events: [] }]);
  t.deepEqual(hub.progress([quiet]), [{ watchId: quiet, header: { revision: 2 }, events: [] }]);
});

test('the hub refuses watchers over its limit', (t) => {
  const hub = new WatchHub(new MvccStore(), { maxWatchers: 1, maxUnackedEvents: 10, maxEventsPerResponse: 10 });
  must(hub.watch({ key: 'a' }));
  t.deepEqual(hub.watch({ key: 'b' }), { ok: false, error: { code: 'tooManyWatchers', limit: 1 } });
});

test('a hub rebound to a store restored from a newer snapshot continues without gaps, or cancels', (t) => {
  const options = { now: () => 0, minLeaseTtlSeconds: 2 };
  const leader = new StoreStateMachine(options);
  const follower = new StoreStateMachine(options);
  const lagging = new StoreStateMachine(options);
  const hub = new WatchHub(follower.mvcc);
  const hubOfLagging = new WatchHub(lagging.mvcc);
  must(leader.apply(commands.put({ key: 'k', value: b('1') }), 1)); // rev 2
  must(follower.apply(commands.put({ key: 'k', value: b('1') }), 1));
  must(hub.watch({ key: 'k', startRevision: 1 }));
  must(hubOfLagging.watch({ key: 'k' })); // owed revision 2 on
  const seen = hub.poll().flatMap((r) => r.events.map((e) => s(e.kv.value)));
  t.deepEqual(seen, ['1']);
  // The follower misses entries 2..4 and catches up by snapshot; revision 3 is still retained.
  must(leader.apply(commands.put({ key: 'k', value: b('2') }), 2)); // rev 3
  must(leader.apply(commands.put({ key: 'k', value: b('3') }), 3)); // rev 4
  must(leader.apply(commands.compact(3), 4));
  const snapshot = leader.snapshot();
  hub.rebind(must(StoreStateMachine.restore(snapshot, options)).machine.mvcc);
  seen.push(...hub.poll().flatMap((r) => r.events.map((e) => s(e.kv.value))));
  t.deepEqual(seen, ['1', '2', '3']);
  // A watcher owed revision 2, which the snapshot no longer has: cancelled as compacted, never gapped.
  hubOfLagging.rebind(must(StoreStateMachine.restore(snapshot, options)).machine.mvcc);
  t.like(hubOfLagging.poll(), [{ canceled: true, cancelReason: 'compacted', compactRevision: 3 }]);
});
