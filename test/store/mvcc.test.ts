import test from 'ava';
import { MvccStore, prefixEnd } from '../../src/store/mvcc.js';
import type { RequestOp } from '../../src/store/types.js';
import { b, errorCode, must, s, storeWithLessor } from './helpers.js';

test('revisions, versions and create revisions follow etcd', (t) => {
  const store = new MvccStore();
  t.is(store.currentRevision, 1);
  t.is(must(store.put({ key: 'a', value: b('1') })).header.revision, 2);
  t.is(must(store.put({ key: 'a', value: b('2') })).header.revision, 3);
  const kv = must(store.range({ key: 'a' })).kvs[0]!;
  t.like(kv, { key: 'a', createRevision: 2, modRevision: 3, version: 2, lease: 0 });
  t.is(s(kv.value), '2');
  const del = must(store.deleteRange({ key: 'a', prevKv: true }));
  t.is(del.deleted, 1);
  t.is(del.header.revision, 4);
  t.is(s(del.prevKvs![0]!.value), '2');
  // Deleting nothing takes no revision.
  t.is(must(store.deleteRange({ key: 'a' })).header.revision, 4);
  t.is(store.currentRevision, 4);
  must(store.put({ key: 'a', value: b('3') }));
  t.like(must(store.range({ key: 'a' })).kvs[0], { createRevision: 5, modRevision: 5, version: 1 });
});

test('put returns prevKv only when asked', (t) => {
  const store = new MvccStore();
  t.is(must(store.put({ key: 'k', value: b('x'), prevKv: true })).prevKv, undefined);
  t.is(s(must(store.put({ key: 'k', value: b('y'), prevKv: true })).prevKv!.value), 'x');
  t.is(must(store.put({ key: 'k', value: b('z') })).prevKv, undefined);
});

test('ranges: single, prefix, [key, end), all-from, limit, countOnly, keysOnly, sorted', (t) => {
  const store = new MvccStore();
  for (const key of ['b/2', 'a', 'b/1', 'c', 'b/3', 'b0']) must(store.put({ key, value: b(key) }));
  const keys = (r: { kvs: { key: string }[] }) => r.kvs.map((kv) => kv.key);
  t.deepEqual(keys(must(store.range({ key: 'b/', prefix: true }))), ['b/1', 'b/2', 'b/3']);
  t.deepEqual(keys(must(store.range({ key: 'b', rangeEnd: 'c' }))), ['b/1', 'b/2', 'b/3', 'b0']);
  t.deepEqual(keys(must(store.range({ key: 'b0', rangeEnd: '\0' }))), ['b0', 'c']);
  t.deepEqual(keys(must(store.range({ key: '', prefix: true }))), ['a', 'b/1', 'b/2', 'b/3', 'b0', 'c']);
  const limited = must(store.range({ key: 'b/', prefix: true, limit: 2 }));
  t.deepEqual(keys(limited), ['b/1', 'b/2']);
  t.true(limited.more);
  t.is(limited.count, 3);
  const counted = must(store.range({ key: 'b/', prefix: true, countOnly: true }));
  t.deepEqual(counted.kvs, []);
  t.is(counted.count, 3);
  t.false(counted.more);
  const keysOnly = must(store.range({ key: 'a', keysOnly: true }));
  t.is(keysOnly.kvs[0]!.value.length, 0);
  t.is(must(store.range({ key: 'zzz' })).count, 0);
});

test('historical reads back to the compaction point; older is compacted, newer is future', (t) => {
  const store = new MvccStore();
  must(store.put({ key: 'k', value: b('v2') })); // rev 2
  must(store.put({ key: 'k', value: b('v3') })); // rev 3
  must(store.deleteRange({ key: 'k' })); // rev 4
  must(store.put({ key: 'k', value: b('v5') })); // rev 5
  must(store.put({ key: 'other', value: b('o6') })); // rev 6
  t.is(s(must(store.range({ key: 'k', revision: 2 })).kvs[0]!.value), 'v2');
  t.is(must(store.range({ key: 'k', revision: 4 })).count, 0);
  t.is(must(store.range({ key: 'other', revision: 5 })).count, 0);
  t.is(errorCode(store.range({ key: 'k', revision: 7 })), 'futureRevision');
  must(store.compact(4));
  t.is(store.compactRevision, 4);
  const compacted = store.range({ key: 'k', revision: 3 });
  t.deepEqual(compacted, { ok: false, error: { code: 'compacted', compactRevision: 4 } });
  t.is(must(store.range({ key: 'k', revision: 4 })).count, 0);
  t.is(s(must(store.range({ key: 'k', revision: 5 })).kvs[0]!.value), 'v5');
  t.is(errorCode(store.compact(4)), 'compacted');
  t.is(errorCode(store.compact(99)), 'futureRevision');
  must(store.compact(6));
  t.is(s(must(store.range({ key: 'k' })).kvs[0]!.value), 'v5');
  t.is(s(must(store.range({ key: 'other', revision: 6 })).kvs[0]!.value), 'o6');
});

test('compaction prunes physically: deleted keys leave the index', (t) => {
  const store = new MvccStore();
  for (let i = 0; i < 50; i++) must(store.put({ key: `k${i}`, value: b('x') }));
  must(store.deleteRange({ key: 'k', prefix: true }));
  must(store.put({ key: 'keep', value: b('y') }));
  t.is(store.indexedKeys, 51);
  must(store.compact(store.currentRevision));
  t.is(store.pendingCompactionKeys, 0);
  t.is(store.indexedKeys, 1);
  t.deepEqual(must(store.range({ key: '', prefix: true })).kvs.map((kv) => kv.key), ['keep']);
});

test('incremental compaction: reads are exact while keys wait', (t) => {
  const store = new MvccStore();
  for (let i = 0; i < 30_000; i++) must(store.put({ key: `k${i % 15_000}`, value: b(`${i}`) }));
  const hashBefore = must(store.hashKv()).hash;
  must(store.compact(store.currentRevision - 10));
  t.true(store.pendingCompactionKeys > 0, 'the first step is bounded');
  const midway = must(store.hashKv()).hash;
  t.is(s(must(store.range({ key: 'k0' })).kvs[0]!.value), '15000');
  while (store.compactionStep(1000) > 0);
  t.is(must(store.hashKv()).hash, midway);
  t.not(hashBefore, midway, 'the hash covers retained history');
  t.is(must(store.range({ key: 'k', prefix: true, countOnly: true })).count, 15_000);
});

test('txn compares version, create, mod, value, lease with = > < !=', (t) => {
  const { store, lessor } = storeWithLessor();
  must(lessor.grant(7, 10, 0));
  must(store.put({ key: 'k', value: b('m'), lease: 7 })); // rev 2
  must(store.put({ key: 'k', value: b('m') })); // rev 3, version 2, lease dropped
  const cases: [Parameters<typeof store.txn>[0]['compare'][number], boolean][] = [
    [{ key: 'k', target: 'version', result: '=', operand: 2 }, true],
    [{ key: 'k', target: 'version', result: '>', operand: 2 }, false],
    [{ key: 'k', target: 'createRevision', result: '=', operand: 2 }, true],
    [{ key: 'k', target: 'modRevision', result: '<', operand: 4 }, true],
    [{ key: 'k', target: 'modRevision', result: '!=', operand: 3 }, false],
    [{ key: 'k', target: 'value', result: '=', operand: b('m') }, true],
    [{ key: 'k', target: 'value', result: '>', operand: b('a') }, true],
    [{ key: 'k', target: 'value', result: '<', operand: b('ma') }, true],
    [{ key: 'k', target: 'lease', result: '=', operand: 0 }, true],
    // A missing key compares as zeroes, but never equal on value.
    [{ key: 'missing', target: 'version', result: '=', operand: 0 }, true],
    [{ key: 'missing', target: 'createRevision', result: '<', operand: 1 }, true],
    [{ key: 'missing', target: 'value', result: '=', operand: b('') }, false],
    [{ key: 'missing', target: 'value', result: '!=', operand: b('x') }, false],
  ];
  for (const [compare, expected] of cases) {
    const response = must(store.txn({ compare: [compare], success: [], failure: [] }));
    t.is(response.succeeded, expected, JSON.stringify(compare));
    t.is(response.header.revision, 3, 'a txn without writes takes no revision');
  }
  t.is(errorCode(store.txn({ compare: [{ key: 'k', target: 'value', result: '=', operand: 1 }], success: [], failure: [] })), 'malformed');
});

test('a txn is one revision; reads inside see earlier writes; the failure branch runs on false', (t) => {
  const store = new MvccStore();
  must(store.put({ key: 'x', value: b('0') })); // rev 2
  const ops: RequestOp[] = [
    { type: 'put', request: { key: 'a', value: b('1') } },
    { type: 'put', request: { key: 'b', value: b('2') } },
    { type: 'range', request: { key: '', prefix: true } },
    { type: 'deleteRange', request: { key: 'x', prevKv: true } },
  ];
  const response = must(store.txn({ compare: [{ key: 'x', target: 'version', result: '=', operand: 1 }], success: ops, failure: [] }));
  t.true(response.succeeded);
  t.is(response.header.revision, 3);
  t.is(store.currentRevision, 3);
  const read = response.responses[2]!;
  t.true(read.type === 'range' && read.response.kvs.map((kv) => kv.key).join() === 'a,b,x');
  const kvs = must(store.range({ key: '', prefix: true })).kvs;
  t.deepEqual(kvs.map((kv) => [kv.key, kv.modRevision]), [['a', 3], ['b', 3]]);
  const changes: [string, number, number][] = [];
  store.changes(3, 3, (c) => { changes.push([c.key, c.modRevision, c.sub]); });
  t.deepEqual(changes, [['a', 3, 0], ['b', 3, 1], ['x', 3, 2]]);
  const failed = must(store.txn({
    compare: [{ key: 'x', target: 'version', result: '>', operand: 0 }],
    success: [{ type: 'put', request: { key: 'never', value: b('') } }],
    failure: [{ type: 'put', request: { key: 'f', value: b('') } }],
  }));
  t.false(failed.succeeded);
  t.is(must(store.range({ key: 'never' })).count, 0);
  t.is(must(store.range({ key: 'f' })).count, 1);
});

test('a key put twice, or put inside a deleted range, in one txn is duplicateKey', (t) => {
  const store = new MvccStore();
  const put = (key: string): RequestOp => ({ type: 'put', request: { key, value: b('') } });
  const twice = store.txn({ compare: [], success: [put('a'), put('a')], failure: [] });
  t.deepEqual(twice, { ok: false, error: { code: 'duplicateKey', key: 'a' } });
  const inDeleted = store.txn({ compare: [], success: [], failure: [{ type: 'deleteRange', request: { key: 'p/', prefix: true } }, put('p/1')] });
  t.is(errorCode(inDeleted), 'duplicateKey');
  // Overlapping deletes are fine, as in etcd.
  must(store.txn({ compare: [], success: [{ type: 'deleteRange', request: { key: 'a' } }, { type: 'deleteRange', request: { key: 'a', rangeEnd: 'b' } }], failure: [] }));
  t.is(store.currentRevision, 1);
});

test('txn checks everything before changing anything', (t) => {
  const store = new MvccStore();
  const response = store.txn({
    compare: [],
    success: [{ type: 'put', request: { key: 'a', value: b('') } }, { type: 'put', request: { key: 'b', value: b(''), lease: 99 } }],
    failure: [],
  });
  t.deepEqual(response, { ok: false, error: { code: 'leaseNotFound', lease: 99 } });
  t.is(store.currentRevision, 1);
  t.is(errorCode(store.put({ key: 'a', value: b(''), ignoreValue: true })), 'keyNotFound');
});

test('ignoreValue and ignoreLease keep the current value and lease', (t) => {
  const { store, lessor } = storeWithLessor();
  must(lessor.grant(5, 10, 0));
  must(store.put({ key: 'k', value: b('v'), lease: 5 }));
  must(store.put({ key: 'k', value: b('ignored'), ignoreValue: true, ignoreLease: true }));
  const kv = must(store.range({ key: 'k' })).kvs[0]!;
  t.is(s(kv.value), 'v');
  t.is(kv.lease, 5);
  t.deepEqual(must(lessor.keysOf(5)), ['k']);
  must(store.put({ key: 'k', value: b('w') }));
  t.deepEqual(must(lessor.keysOf(5)), []);
});

test('prefixEnd increments the last code unit', (t) => {
  t.is(prefixEnd('/registry/pods/'), '/registry/pods0');
  t.is(prefixEnd('a\uffff'), 'b');
  t.is(prefixEnd('\uffff'), undefined);
  t.is(prefixEnd(''), undefined);
});

test('large store: 100k puts of random keys, exact counts and order', (t) => {
  const store = new MvccStore();
  const started = globalThis.performance.now();
  t.teardown(() => t.log(`took ${Math.round(globalThis.performance.now() - started)} ms`));
  let x = 12345;
  const keys = new Set<string>();
  const value = b('v');
  for (let i = 0; i < 100_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const key = `/registry/pods/ns${x % 100}/p${x.toString(36)}`;
    keys.add(key);
    must(store.put({ key, value }));
  }
  t.is(store.currentRevision, 100_001);
  const all = must(store.range({ key: '/registry/', prefix: true }));
  t.is(all.count, keys.size);
  const sorted = [...keys].sort();
  // A plain loop: a deep-equal of 100k items costs more than the store.
  t.is(all.kvs.length, sorted.length);
  t.true(all.kvs.every((kv, i) => kv.key === sorted[i]), 'ascending key order');
  const ns7 = sorted.filter((k) => k.startsWith('/registry/pods/ns7/'));
  t.is(must(store.range({ key: '/registry/pods/ns7/', prefix: true, countOnly: true })).count, ns7.length);
  must(store.deleteRange({ key: '/registry/pods/ns7/', prefix: true }));
  must(store.put({ key: 'after', value }));
  // A tombstone at exactly the compaction revision stays (a watch may start there): compact above it.
  must(store.compact(store.currentRevision));
  while (store.compactionStep(20_000) > 0);
  t.is(store.indexedKeys, keys.size - ns7.length + 1);
});
