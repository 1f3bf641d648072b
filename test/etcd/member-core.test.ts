// Unit tests of the pure etcd member core (src/etcd/member.ts): no actor runtime, no threads.
// A small driver delivers the cores' `send` effects to each other instantly, fires their timers
// on a virtual clock and keeps each member's "disk" from its `persist` / `saveSnapshot` effects,
// so the tests can read the effects in order and restart a member from what it persisted.
import test from 'ava';
import { address, type Address } from '../../src/primitives/address.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { Entry, HardState, Snapshot } from '../../src/raft/index.js';
import { memberId, type EtcdConfig, type EtcdMessage, type EtcdReply } from '../../src/etcd/messages.js';
import { EtcdMemberCore, type MemberEffect, type MemberStep } from '../../src/etcd/member.js';

const text = new TextEncoder();
const CLIENT: Address = address('client', 'main');

interface Disk {
  hardState: HardState | undefined;
  entries: Entry[];
  snapshot: Snapshot | undefined;
}

interface Logged {
  readonly member: Address;
  readonly effect: MemberEffect<number>;
}

class Group {
  readonly clock = new VirtualClock();
  readonly cores = new Map<Address, EtcdMemberCore<number>>();
  readonly disks = new Map<Address, Disk>();
  readonly replies = new Map<number, EtcdReply>();
  readonly toClient: EtcdReply[] = [];
  readonly effects: Logged[] = [];
  readonly down = new Set<Address>();
  private readonly timers = new Map<string, number>();
  private readonly queue: { to: Address; from: Address; message: EtcdMessage; replyTo: number | undefined }[] = [];
  private nextAsk = 1;
  readonly members: Address[];
  private readonly peers: string[];

  constructor(count: number, private readonly seed: number, private readonly extra: Partial<EtcdConfig> = {}) {
    this.members = Array.from({ length: count }, (_, i) => address(`master-${i + 1}`, 'etcd'));
    this.peers = this.members.map((m) => memberId(m, 1));
    for (const member of this.members) {
      this.disks.set(member, { hardState: undefined, entries: [], snapshot: undefined });
      this.start(member, 0);
    }
  }

  /** (Re)starts a member from its disk, as the shell does after `recover`. */
  start(member: Address, incarnation: number): void {
    const disk = this.disks.get(member)!;
    const index = this.members.indexOf(member);
    const core = new EtcdMemberCore<number>({
      config: { id: this.peers[index]!, peers: this.peers, profile: 'fast', ...this.extra },
      self: member,
      incarnation,
      clock: this.clock,
      random: new SeededPrng(this.seed * 31 + index + incarnation * 1000),
      recovered: { hardState: disk.hardState, snapshot: disk.snapshot, entries: [...disk.entries], droppedTailBytes: 0 },
    });
    this.cores.set(member, core);
    this.down.delete(member);
    this.perform(member, core.start());
  }

  /** The member's process dies: its timers and undelivered messages go with it. */
  kill(member: Address): void {
    this.down.add(member);
    this.cores.delete(member);
  }

  ask(member: Address, message: EtcdMessage): number {
    const id = this.nextAsk++;
    this.queue.push({ to: member, from: CLIENT, message, replyTo: id });
    this.drain();
    return id;
  }

  tell(member: Address, message: EtcdMessage): void {
    this.queue.push({ to: member, from: CLIENT, message, replyTo: undefined });
    this.drain();
  }

  /** Lets `ms` of virtual time pass in 1 ms steps, delivering everything at each step. */
  run(ms: number): void {
    for (let i = 0; i < ms; i++) {
      this.clock.advance(1);
      this.drain();
    }
  }

  runUntil(done: () => boolean, limitMs = 5_000): void {
    for (let i = 0; i < limitMs && !done(); i++) this.run(1);
  }

  leader(): Address | undefined {
    return this.members.find((m) => this.cores.get(m)?.status().role === 'leader');
  }

  private drain(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 1_000_000) throw new Error('message storm');
      const { to, from, message, replyTo } = this.queue.shift()!;
      const core = this.cores.get(to);
      if (!core || this.down.has(to)) continue;
      this.perform(to, core.receive(message, from, replyTo));
    }
  }

  private perform(member: Address, step: MemberStep<number>): void {
    this.apply(member, step.effects);
    // The shell defers the Ready pass to the end of the turn; running it at once is one valid turn.
    if (step.ready) this.apply(member, this.cores.get(member)!.ready());
  }

  private apply(member: Address, effects: readonly MemberEffect<number>[]): void {
    const disk = this.disks.get(member)!;
    for (const effect of effects) {
      this.effects.push({ member, effect });
      switch (effect.kind) {
        case 'send':
          if (effect.to === CLIENT) this.toClient.push(effect.message as EtcdReply);
          else this.queue.push({ to: effect.to, from: member, message: effect.message as EtcdMessage, replyTo: undefined });
          break;
        case 'reply':
          if (this.replies.has(effect.to)) throw new Error(`second reply to ask ${effect.to}`);
          this.replies.set(effect.to, effect.message);
          break;
        case 'timer': {
          const key = `${member}:${effect.key}`;
          const previous = this.timers.get(key);
          if (previous !== undefined) this.clock.clearTimer(previous);
          const message = { type: effect.key } as EtcdMessage;
          this.timers.set(key, this.clock.setTimer(effect.delayMs, () => {
            if (this.cores.get(member) && !this.down.has(member)) this.queue.push({ to: member, from: member, message, replyTo: undefined });
          }));
          break;
        }
        case 'persist': {
          const first = effect.entries[0];
          if (first) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...effect.entries];
          if (effect.hardState) disk.hardState = effect.hardState;
          break;
        }
        case 'saveSnapshot':
          disk.snapshot = effect.snapshot;
          disk.entries = disk.entries.filter((e) => e.index > effect.snapshot.metadata.index);
          break;
        case 'pruneSnapshots':
        case 'flush':
        case 'log':
          break;
        default: {
          const unreachable: never = effect;
          throw new Error(String(unreachable));
        }
      }
    }
  }
}

function put(key: string, value: string): EtcdMessage {
  return { type: 'propose', command: { type: 'put', request: { key, value: text.encode(value) } } };
}

function elected(group: Group): Address {
  group.runUntil(() => group.leader() !== undefined);
  const leader = group.leader();
  if (!leader) throw new Error('no leader elected');
  return leader;
}

test('start asks for a randomised first tick within one tick and the housekeeping timer; a founding member persists only its membership', (t) => {
  const group = new Group(3, 1);
  const starts = group.effects.filter((e) => e.effect.kind === 'timer');
  t.is(starts.length, 6);
  for (const { effect } of starts) {
    if (effect.kind !== 'timer') continue;
    if (effect.key === 'tick') t.true(effect.delayMs >= 0 && effect.delayMs <= 10);
    else t.is(effect.delayMs, 300);
  }
  const persisted = group.effects.flatMap((e) => (e.effect.kind === 'persist' ? e.effect.entries : []));
  t.true(persisted.length > 0 && persisted.every((entry) => entry.type !== 'normal'), JSON.stringify(persisted.map((e) => e.type)));
});

test('a write is acknowledged only after the leader persisted (and synced) its entry', (t) => {
  const group = new Group(3, 2);
  const leader = elected(group);
  const before = group.effects.length;
  const ask = group.ask(leader, put('a', '1'));
  group.runUntil(() => group.replies.has(ask));
  const reply = group.replies.get(ask);
  t.is(reply?.type, 'ok');
  const mine = group.effects.slice(before).filter((e) => e.member === leader).map((e) => e.effect);
  const replyAt = mine.findIndex((e) => e.kind === 'reply' && e.to === ask);
  const syncedAt = mine.findIndex((e) => e.kind === 'persist' && e.sync && e.entries.some((entry) => entry.type === 'normal' && entry.data.length > 0));
  t.true(syncedAt >= 0 && syncedAt < replyAt, `persist at ${syncedAt}, reply at ${replyAt}`);
});

test("a leader's appends leave before its own fsync (send, flush, then persist); a follower persists before it answers", (t) => {
  const group = new Group(3, 3);
  const leader = elected(group);
  const before = group.effects.length;
  group.ask(leader, put('k', 'v'));
  group.run(50);
  const after = group.effects.slice(before);
  const mine = after.filter((e) => e.member === leader).map((e) => e.effect.kind);
  const firstPersist = mine.indexOf('persist');
  t.true(firstPersist > 0);
  t.deepEqual(mine.slice(firstPersist - 2, firstPersist), ['send', 'flush']);
  const follower = group.members.find((m) => m !== leader)!;
  const theirs = after.filter((e) => e.member === follower).map((e) => e.effect);
  const persisted = theirs.findIndex((e) => e.kind === 'persist' && e.entries.length > 0);
  const answered = theirs.findIndex((e) => e.kind === 'send' && e.message.type === 'raft');
  t.true(persisted >= 0 && persisted < answered, `persist at ${persisted}, answer at ${answered}`);
  t.false(theirs.some((e) => e.kind === 'flush'), 'a follower never sends ahead of its disk');
});

test('a follower refuses a write with a hint to the leader; before any election the answer is a definite unavailable', (t) => {
  const fresh = new Group(3, 4);
  const early = fresh.ask(fresh.members[0]!, put('x', '1'));
  t.deepEqual(fresh.replies.get(early), { type: 'unavailable', definite: true, reason: 'no leader' });
  const leader = elected(fresh);
  const follower = fresh.members.find((m) => m !== leader)!;
  const ask = fresh.ask(follower, put('x', '1'));
  const reply = fresh.replies.get(ask);
  t.is(reply?.type, 'notLeader');
  t.true(reply?.type === 'notLeader' && reply.leader.startsWith(`${leader}~`));
});

test('a linearizable read on a follower waits for ReadIndex and sees the acknowledged write; a serializable one answers at once', (t) => {
  const group = new Group(3, 5);
  const leader = elected(group);
  const write = group.ask(leader, put('color', 'blue'));
  group.runUntil(() => group.replies.has(write));
  const follower = group.members.find((m) => m !== leader)!;
  const read = group.ask(follower, { type: 'range', request: { key: 'color' } });
  group.runUntil(() => group.replies.has(read));
  const reply = group.replies.get(read);
  t.true(reply?.type === 'ok' && reply.response.type === 'range');
  if (reply?.type === 'ok' && reply.response.type === 'range') t.is(new TextDecoder().decode(reply.response.response.kvs[0]?.value), 'blue');
  const serial = group.ask(follower, { type: 'range', request: { key: 'color' }, serializable: true });
  t.true(group.replies.has(serial), 'a serializable read is answered in the same turn');
});

test('a proposal whose entry cannot commit (no quorum) times out as a non-definite unavailable at housekeeping', (t) => {
  const group = new Group(3, 6);
  const leader = elected(group);
  for (const m of group.members) if (m !== leader) group.kill(m);
  const ask = group.ask(leader, { ...put('lost', '1'), timeoutMs: 100 } as EtcdMessage);
  group.runUntil(() => group.replies.has(ask), 2_000);
  t.deepEqual(group.replies.get(ask), { type: 'unavailable', definite: false, reason: 'timed out waiting for the entry to apply' });
});

test('a watch streams the change to its client; a snapshot is saved (synced) every N entries and old files pruned', (t) => {
  const group = new Group(3, 7, { snapshotEveryEntries: 5 });
  const leader = elected(group);
  group.tell(leader, { type: 'watchCreate', watchId: 9, request: { key: 'w' } });
  const asks = Array.from({ length: 8 }, (_, i) => group.ask(leader, put('w', String(i))));
  group.runUntil(() => asks.every((a) => group.replies.has(a)));
  const updates = group.toClient.filter((m) => m.type === 'watchUpdate' && m.watchId === 9 && m.update.kind === 'events');
  t.is(updates.reduce((n, m) => n + (m.type === 'watchUpdate' && m.update.kind === 'events' ? m.update.events.length : 0), 0), 8);
  const mine = group.effects.filter((e) => e.member === leader).map((e) => e.effect);
  const saved = mine.findIndex((e) => e.kind === 'saveSnapshot' && e.sync);
  t.true(saved >= 0);
  t.is(mine[saved + 1]?.kind, 'pruneSnapshots');
  t.true(group.cores.get(leader)!.status().snapshotIndex >= 5);
});

test('a member restarted from what its effects persisted (snapshot + log) has every acknowledged write', (t) => {
  const group = new Group(3, 8, { snapshotEveryEntries: 4 });
  const leader = elected(group);
  const asks = Array.from({ length: 10 }, (_, i) => group.ask(leader, put(`k${i}`, String(i))));
  group.runUntil(() => asks.every((a) => group.replies.has(a)));
  t.true(asks.every((a) => group.replies.get(a)?.type === 'ok'));
  const follower = group.members.find((m) => m !== leader)!;
  group.run(100);
  group.kill(follower);
  group.start(follower, 1);
  group.run(200);
  const read = group.ask(follower, { type: 'range', request: { key: 'k', rangeEnd: 'l' }, serializable: true });
  const reply = group.replies.get(read);
  t.true(reply?.type === 'ok' && reply.response.type === 'range' && reply.response.response.count === 10, JSON.stringify(reply));
});

test('same seed, same effects: the core is deterministic', (t) => {
  const trace = (seed: number): string => {
    const group = new Group(3, seed);
    const leader = elected(group);
    group.ask(leader, put('d', '1'));
    group.run(100);
    return JSON.stringify(group.effects.map(({ member, effect }) => [member, effect.kind, effect.kind === 'send' ? effect.to : effect.kind === 'timer' ? effect.delayMs : '']));
  };
  t.is(trace(11), trace(11));
  t.not(trace(11), trace(12));
});
