import test from 'ava';
import fc from 'fast-check';
import { SortedKeys } from '../../src/store/sorted-keys.js';
import { MvccStore } from '../../src/store/mvcc.js';
import type { RequestOp } from '../../src/store/types.js';
import { b, must, s } from './helpers.js';

test('property: the chunked key index behaves as a sorted set', (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { maxLength: 4000 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), (ops, lo, hi) => {
    const index = new SortedKeys();
    const model = new Set<string>();
    const key = (n: number) => `k${n.toString().padStart(5, '0')}`;
    for (const [add, n] of ops) {
      if (add) {
        if (index.insert(key(n)) === model.has(key(n))) return false;
        model.add(key(n));
      } else {
        if (index.delete(key(n)) !== model.has(key(n))) return false;
        model.delete(key(n));
      }
    }
    if (index.size !== model.size) return false;
    const want = [...model].filter((k) => k >= key(lo) && k < key(hi)).sort();
    const got: string[] = [];
    index.scan(key(lo), key(hi), (k) => { got.push(k); });
    return want.join() === got.join() && [...model].every((k) => index.has(k));
  }), { seed: 3, numRuns: 60 });
  t.pass();
});

type Op =
  | { kind: 'put'; key: string; value: number }
  | { kind: 'del'; key: string; prefix: boolean }
  | { kind: 'txn'; key: string; expectVersion: number; value: number }
  | { kind: 'compact'; back: number };

const keys = ['a', 'a/1', 'a/2', 'b', 'c'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), key: fc.constantFrom(...keys), value: fc.nat(9) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: fc.constantFrom(...keys), prefix: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('txn' as const), key: fc.constantFrom(...keys), expectVersion: fc.nat(3), value: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.nat(5) }) },
);

interface ModelKv { value: string; create: number; mod: number; version: number }

test('property: reads at every retained revision match a model of full snapshots; older ones are compacted', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
    const store = new MvccStore();
    const states: Map<string, ModelKv>[] = [new Map(), new Map()]; // states[revision]
    let current = new Map<string, ModelKv>();
    const commit = (next: Map<string, ModelKv>, changed: boolean) => {
      if (!changed) return;
      current = next;
      states.push(current);
    };
    for (const op of ops) {
      const revision = states.length; // the revision a write would take
      const next = new Map(current);
      if (op.kind === 'put') {
        must(store.put({ key: op.key, value: b(`${op.value}`) }));
        const prev = current.get(op.key);
        next.set(op.key, { value: `${op.value}`, create: prev?.create ?? revision, mod: revision, version: (prev?.version ?? 0) + 1 });
        commit(next, true);
      } else if (op.kind === 'del') {
        must(store.deleteRange(op.prefix ? { key: op.key, prefix: true } : { key: op.key }));
        let changed = false;
        for (const k of current.keys()) if (op.prefix ? k.startsWith(op.key) : k === op.key) changed = next.delete(k) || changed;
        commit(next, changed);
      } else if (op.kind === 'txn') {
        const success: RequestOp[] = [{ type: 'put', request: { key: op.key, value: b(`${op.value}`) } }];
        const response = must(store.txn({ compare: [{ key: op.key, target: 'version', result: '=', operand: op.expectVersion }], success, failure: [] }));
        const prev = current.get(op.key);
        if (response.succeeded !== ((prev?.version ?? 0) === op.expectVersion)) return false;
        if (response.succeeded) {
          next.set(op.key, { value: `${op.value}`, create: prev?.create ?? revision, mod: revision, version: (prev?.version ?? 0) + 1 });
          commit(next, true);
        }
      } else {
        const target = store.currentRevision - op.back;
        if (target > store.compactRevision) must(store.compact(target));
      }
      if (store.currentRevision !== states.length - 1) return false;
    }
    for (let revision = 1; revision < states.length; revision++) {
      const read = store.range({ key: '', prefix: true, revision });
      if (revision < store.compactRevision) {
        if (read.ok || read.error.code !== 'compacted') return false;
        continue;
      }
      if (!read.ok) return false;
      const want = [...states[revision]!].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}=${v.value}/${v.create}/${v.mod}/${v.version}`);
      const got = read.value.kvs.map((kv) => `${kv.key}=${s(kv.value)}/${kv.createRevision}/${kv.modRevision}/${kv.version}`);
      if (want.join() !== got.join()) throw new Error(`at ${revision}: want ${want.join()} got ${got.join()}`);
    }
    return true;
  }), { seed: 11, numRuns: 300 });
  t.pass();
});
