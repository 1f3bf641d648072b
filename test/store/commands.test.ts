import test from 'ava';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import {
  type Command, StoreStateMachine, commands, decodeCommand,
  encodeCommand, maxKeyBytes, maxRequestBytes, maxTxnOps, utf8Length, validateCommand,
} from '../../src/store/commands.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { RequestOp } from '../../src/store/types.js';
import { b, errorCode, must, s } from './helpers.js';

const options = { now: () => 0, minLeaseTtlSeconds: 2 };

test('validateCommand: typed errors for bad input, never a throw', (t) => {
  t.is(errorCode(validateCommand(null)), 'malformed');
  t.is(errorCode(validateCommand({ type: 'launchMissiles' })), 'malformed');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: 'k', value: 'not bytes' } })), 'malformed');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: '', value: b('') } })), 'emptyKey');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: 'k'.repeat(maxKeyBytes + 1), value: b('') } })), 'keyTooLarge');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: 'k', value: new Uint8Array(maxRequestBytes + 1) } })), 'valueTooLarge');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: 'k', value: b(''), lease: -1 } })), 'malformed');
  t.is(errorCode(validateCommand({ type: 'range', request: { key: 'k', limit: 1.5 } })), 'malformed');
  t.is(errorCode(validateCommand({ type: 'compact', revision: 0 })), 'malformed');
  t.is(errorCode(validateCommand({ type: 'put', request: { key: 'k', value: b('') }, meta: { clientId: 7, seq: 1 } })), 'malformed');
  const put = (i: number): RequestOp => ({ type: 'put', request: { key: `k${i}`, value: b('') } });
  const tooMany = { type: 'txn', request: { compare: [], success: Array.from({ length: maxTxnOps + 1 }, (_, i) => put(i)), failure: [] } };
  t.is(errorCode(validateCommand(tooMany)), 'tooManyOps');
  const big = new Uint8Array(maxRequestBytes / 2);
  const tooLarge = { type: 'txn', request: { compare: [], success: [0, 1, 2].map((i) => ({ type: 'put', request: { key: `k${i}`, value: big } })), failure: [] } };
  t.is(errorCode(validateCommand(tooLarge)), 'requestTooLarge');
  t.is(errorCode(validateCommand({ type: 'txn', request: { compare: [{ key: 'k', target: 'value', result: '=', operand: 3 }], success: [], failure: [] } })), 'malformed');
  t.true(validateCommand(commands.put({ key: 'k', value: b('v') }, { clientId: 'c1', seq: 3 })).ok);
  fc.assert(fc.property(fc.anything({ withTypedArray: true }), (raw) => {
    const result = validateCommand(raw);
    return result.ok || typeof result.error.code === 'string';
  }), { seed: 7, numRuns: 500 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
    const result = decodeCommand(bytes);
    return result.ok || result.error.code === 'malformed' || typeof result.error.code === 'string';
  }), { seed: 8, numRuns: 500 });
});

test('utf8Length counts bytes', (t) => {
  for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€']) t.is(utf8Length(text), new TextEncoder().encode(text).length, text);
});

test('encode/decode round trip; undecodable entry data is a typed error that still consumes the index', (t) => {
  const command = commands.txn({
    compare: [{ key: 'k', target: 'value', result: '=', operand: b('x') }],
    success: [{ type: 'put', request: { key: 'k', value: b('y'), prevKv: true } }],
    failure: [{ type: 'range', request: { key: 'k' } }],
  }, { clientId: 'c', seq: 1 });
  const decoded = must(decodeCommand(encodeCommand(command)));
  t.is(decoded.type, 'txn');
  const m = new StoreStateMachine(options);
  t.is(errorCode(m.applyEntryData(Uint8Array.of(0xc1), 1)), 'malformed');
  t.is(errorCode(m.applyEntryData(Uint8Array.from(pack({ type: 'nope' })), 2)), 'malformed');
  t.is(m.appliedIndex, 2);
  const applied = must(m.applyEntryData(encodeCommand(commands.put({ key: 'k', value: b('x') })), 3));
  t.like(applied, { type: 'put', response: { header: { revision: 2 } } });
  t.throws(() => m.apply(commands.put({ key: 'k', value: b('x') }), 3), { message: /apply index/ });
});

test('a retried command (same clientId, seq) returns its first result; too old a retry is stale', (t) => {
  const m = new StoreStateMachine({ ...options, sessionLimits: { maxSessions: 10, maxResultsPerSession: 2 } });
  const put = (seq: number) => commands.put({ key: 'k', value: b(`${seq}`) }, { clientId: 'c', seq });
  const first = must(m.apply(put(1), 1));
  t.deepEqual(must(m.apply(put(1), 2)), first);
  t.is(m.mvcc.currentRevision, 2, 'applied once');
  must(m.apply(put(2), 3));
  must(m.apply(put(3), 4));
  t.is(m.mvcc.currentRevision, 4);
  t.deepEqual(m.apply(put(1), 5), { ok: false, error: { code: 'staleSequence', clientId: 'c', seq: 1 } });
  t.is(m.mvcc.currentRevision, 4);
  // Sessions travel in the snapshot: a retry after a restore is still recognised.
  const restored = must(StoreStateMachine.restore(m.snapshot(), { ...options, sessionLimits: { maxSessions: 10, maxResultsPerSession: 2 } })).machine;
  const again = must(restored.apply(put(3), 6));
  t.like(again, { type: 'put', response: { header: { revision: 4 } } });
  t.is(restored.mvcc.currentRevision, 4);
});

/** A deterministic random workload of commands (as decoded from the log). */
function workload(seed: number, count: number): Command[] {
  const prng = new SeededPrng(seed);
  const out: Command[] = [];
  let revisionGuess = 1;
  const key = () => `/registry/things/ns${prng.int(3)}/n${prng.int(20)}`;
  for (let i = 0; i < count; i++) {
    const roll = prng.int(100);
    if (roll < 50) out.push(commands.put({ key: key(), value: b(`v${i}`), lease: prng.int(4) === 0 ? 1 + prng.int(3) : 0 }));
    else if (roll < 60) out.push(commands.deleteRange({ key: key() }));
    else if (roll < 65) out.push(commands.deleteRange({ key: `/registry/things/ns${prng.int(3)}/`, prefix: true }));
    else if (roll < 80) {
      const k = key();
      out.push(commands.txn({
        compare: [{ key: k, target: 'version', result: '>', operand: 0 }],
        success: [{ type: 'put', request: { key: k, value: b(`t${i}`) } }, { type: 'put', request: { key: `${k}-shadow`, value: b('s') } }],
        failure: [{ type: 'put', request: { key: k, value: b(`f${i}`) } }],
      }));
    } else if (roll < 85) out.push(commands.leaseGrant(10 + prng.int(50), 1 + prng.int(3)));
    else if (roll < 88) out.push(commands.leaseRevoke(1 + prng.int(3)));
    else if (roll < 92) out.push(commands.compact(Math.max(1, revisionGuess - prng.int(30))));
    else out.push(commands.range({ key: '/registry/', prefix: true }));
    revisionGuess += 1;
  }
  return out;
}

test('members applying the same log agree on hashKv; a snapshot round trip preserves hash, history and leases', (t) => {
  const log = workload(42, 600);
  const a = new StoreStateMachine(options);
  const b2 = new StoreStateMachine(options);
  log.slice(0, 400).forEach((command, i) => { a.apply(command, i + 1); b2.apply(command, i + 1); });
  t.deepEqual(must(a.hashKv()), must(b2.hashKv()));
  const snapshot = a.snapshot(Uint8Array.of(9, 9));
  const restored = must(StoreStateMachine.restore(snapshot, options));
  const c = restored.machine;
  t.deepEqual([...restored.extra!], [9, 9]);
  t.is(c.appliedIndex, 400);
  t.deepEqual(must(c.hashKv()), must(a.hashKv()));
  t.is(c.mvcc.compactRevision, a.mvcc.compactRevision);
  for (let revision = a.mvcc.compactRevision; revision <= a.mvcc.currentRevision; revision += 7) {
    t.deepEqual(must(c.hashKv(revision)), must(a.hashKv(revision)), `hash at ${revision}`);
    const ra = must(a.mvcc.range({ key: '/registry/', prefix: true, revision }));
    const rc = must(c.mvcc.range({ key: '/registry/', prefix: true, revision }));
    t.deepEqual(rc.kvs.map((kv) => [kv.key, s(kv.value), kv.version, kv.createRevision, kv.modRevision, kv.lease]),
      ra.kvs.map((kv) => [kv.key, s(kv.value), kv.version, kv.createRevision, kv.modRevision, kv.lease]));
  }
  for (const id of a.lessor.list()) t.deepEqual(must(c.lessor.timeToLive(id, 0)), must(a.lessor.timeToLive(id, 0)));
  // The restored member keeps applying in lockstep, including revokes of restored leases.
  log.slice(400).forEach((command, i) => {
    const ra = a.apply(command, 401 + i);
    const rc = c.apply(command, 401 + i);
    t.deepEqual(JSON.stringify(rc), JSON.stringify(ra));
  });
  t.deepEqual(must(c.hashKv()), must(a.hashKv()));
  // The hash notices a difference.
  a.apply(commands.put({ key: 'extra', value: b('') }), 10_000);
  c.apply(commands.put({ key: 'extra', value: b('!') }), 10_000);
  t.notDeepEqual(must(c.hashKv()).hash, must(a.hashKv()).hash);
  t.is(errorCode(StoreStateMachine.restore(Uint8Array.of(1, 2, 3), options)), 'malformed');
});

test('watch replay works from a restored snapshot (history since compaction survives)', (t) => {
  const a = new StoreStateMachine(options);
  must(a.apply(commands.put({ key: 'k', value: b('1') }), 1)); // rev 2
  must(a.apply(commands.put({ key: 'k', value: b('2') }), 2)); // rev 3
  must(a.apply(commands.deleteRange({ key: 'k' }), 3)); // rev 4
  must(a.apply(commands.put({ key: 'k', value: b('3') }), 4)); // rev 5
  must(a.apply(commands.compact(3), 5));
  const c = must(StoreStateMachine.restore(a.snapshot(), options)).machine;
  const events: string[] = [];
  c.mvcc.changes(3, c.mvcc.currentRevision, (rec) => { events.push(`${rec.tombstone ? 'del' : 'put'}@${rec.modRevision}<${rec.prev ? s(rec.prev.value) : '-'}`); });
  t.deepEqual(events, ['put@3<1', 'del@4<2', 'put@5<-']);
});
