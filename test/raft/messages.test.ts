/**
 * The peer protocol at the actor boundary: every message the core emits survives msgpack and
 * validation unchanged; malformed input is rejected with a reason and never throws.
 */
import test from 'ava';
import fc from 'fast-check';
import { pack, unpack } from 'msgpackr';
import { validateRaftMessage, type RaftMessage } from '../../src/raft/messages.js';
import { bytes, RaftTestGroup } from './harness.js';

/** Plain comparable form: bytes (Buffer after decode, Uint8Array before) become number arrays. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return [...x];
  if (Array.isArray(x)) return x.map(plain);
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

function roundTrip(m: RaftMessage): unknown {
  return unpack(pack(m));
}

test('every message a running cluster produces survives msgpack and validates', (t) => {
  const c = new RaftTestGroup({ ids: ['n1', 'n2', 'n3'], seed: 5, config: { electionTicks: 10, heartbeatTicks: 1 } });
  const seen = new Set<string>();
  const failures: string[] = [];
  c.observer = (m) => {
    seen.add(m.type);
    const v = validateRaftMessage(roundTrip(m));
    if ('error' in v) failures.push(`${m.type}: ${v.error}`);
    else if (JSON.stringify(plain(v)) !== JSON.stringify(plain(m))) failures.push(`${m.type} changed in transit`);
  };
  for (let r = 0; r < 200; r++) {
    if (r === 40) c.crash('n3');
    if (r === 60) c.compactAll(0, 0);
    if (r === 61) c.restart('n3');
    const lead = c.leader();
    const follower = c.alive().find((id) => c.node(id).role === 'follower' && c.node(id).leader !== '');
    if (r === 80 && follower) c.read(follower, 'ctx-1');
    if (r === 90 && follower) c.node(follower).transferLeadership(follower);
    if (lead && r % 3 === 0) lead.propose(bytes(`p${r}`));
    if (r % 7 === 0 && follower) c.node(follower).propose(bytes(`f${r}`));
    c.tick();
  }
  t.deepEqual(failures, []);
  for (const type of ['vote', 'preVote', 'append', 'appendResp', 'heartbeat', 'snapshot', 'propose', 'readIndex', 'readIndexResp', 'timeoutNow', 'transferLeader']) {
    t.true(seen.has(type), `scenario produced a ${type} message`);
  }
});

test('malformed messages are rejected with a reason', (t) => {
  const ok = { type: 'append', from: 'a', to: 'b', term: 3, prevIndex: 4, prevTerm: 2, commit: 1, entries: [{ term: 3, index: 5, type: 'normal', data: new Uint8Array(1) }] };
  t.false('error' in validateRaftMessage(ok));
  const bad: [string, unknown][] = [
    ['not an object', 42],
    ['unknown type', { ...ok, type: 'nope' }],
    ['negative term', { ...ok, term: -1 }],
    ['fractional index', { ...ok, prevIndex: 1.5 }],
    ['empty from', { ...ok, from: '' }],
    ['entries not contiguous', { ...ok, entries: [{ term: 3, index: 7, type: 'normal', data: new Uint8Array(0) }] }],
    ['entry term above message term', { ...ok, entries: [{ term: 4, index: 5, type: 'normal', data: new Uint8Array(0) }] }],
    ['entry data not bytes', { ...ok, entries: [{ term: 3, index: 5, type: 'normal', data: 'x' }] }],
    ['termless type with a term', { type: 'readIndex', from: 'a', to: 'b', term: 1, ctx: 'x' }],
    ['termed type without a term', { type: 'heartbeat', from: 'a', to: 'b', term: 0, commit: 0, ctx: '' }],
    ['snapshot without conf', { type: 'snapshot', from: 'a', to: 'b', term: 1, snapshot: { data: new Uint8Array(0), metadata: { index: 1, term: 1 } } }],
    ['vote without force', { type: 'vote', from: 'a', to: 'b', term: 1, lastIndex: 0, lastTerm: 0 }],
  ];
  for (const [why, raw] of bad) {
    const v = validateRaftMessage(raw);
    t.true('error' in v, why);
  }
});

test('validation never throws on arbitrary input', (t) => {
  const field = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 4 }));
  const types = fc.constantFrom('vote', 'preVote', 'voteResp', 'append', 'appendResp', 'heartbeat', 'snapshot', 'propose', 'readIndex', 'timeoutNow', 'transferLeader', 'x');
  const shaped = fc.record({
    type: types, from: fc.string(), to: fc.string(), term: fc.integer(), prevIndex: field, prevTerm: field, commit: field,
    entries: fc.array(fc.record({ term: field, index: field, type: field, data: field }), { maxLength: 3 }),
    snapshot: fc.anything(), ctx: field, lastIndex: field, lastTerm: field, force: field, reject: field, index: field,
    hintIndex: field, hintTerm: field, target: field,
  }, { requiredKeys: ['type'] });
  fc.assert(fc.property(fc.oneof(fc.anything(), shaped), (raw) => {
    const v = validateRaftMessage(raw);
    return typeof v === 'object' && v !== null;
  }), { seed: 42, numRuns: 3000 });
  t.pass();
});
