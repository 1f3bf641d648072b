import test from 'ava';
import { echoActor } from '../../actors/echo/actor.js';
import type { EchoMessage } from '../../src/echo/messages.js';
import type { Address } from '../../src/primitives/address.js';
import { defineActor, type AnyActorDefinition, type HostSpec } from '../../src/runtime/actor.js';
import { AskRefusedError, AskResetError, AskTimeoutError } from '../../src/primitives/envelope.js';
import { SimulatedSystem } from '../../src/runtime/simulated.js';
import { totalStats } from '../../src/transport/network.js';

const definitions = { echo: echoActor as AnyActorDefinition };
type Stats = Extract<EchoMessage, { type: 'stats' }>;

function hosts(n: number, ringReportTo?: Address): HostSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `h${i + 1}`,
    actors: [{ name: 'echo', kind: 'echo', config: { next: `h${((i + 1) % n) + 1}/echo`, ...(ringReportTo ? { reportTo: ringReportTo } : {}) } }],
  }));
}

async function start(t: { teardown(fn: () => unknown): void }, seed = 1, n = 3, traceLimit = 0): Promise<SimulatedSystem> {
  const system = await SimulatedSystem.start({ seed, hosts: hosts(n, 'h1/echo'), definitions, traceLimit });
  t.teardown(() => system.stop());
  return system;
}

test('a ring passes every host in order', async (t) => {
  const system = await start(t, 1, 4, 1000);
  system.tell('h1/echo', { type: 'ring', hops: 3, trail: [] });
  await system.advance(10);
  const visited = (await system.trace()).filter((e) => e.event === 'deliver' && e.type === 'ring').map((e) => e.to);
  t.deepEqual(visited, ['h1/echo', 'h2/echo', 'h3/echo', 'h4/echo']);
  const summary = ((await system.inspect('h1/echo')) as { summary: { lastRing: string[] } }).summary;
  t.deepEqual(summary.lastRing, ['h1/echo', 'h2/echo', 'h3/echo', 'h4/echo']);
});

test('ask gets the reply; a partitioned target times out with a typed error (unknown outcome)', async (t) => {
  const system = await start(t);
  const reply = await system.drive(system.ask<EchoMessage>('h2/echo', { type: 'echo', seq: 7 }));
  t.like(reply, { type: 'echoed', seq: 7 });
  await system.network.inject({ kind: 'partition', groups: [['client'], ['h1', 'h2', 'h3']] });
  const error = await t.throwsAsync(system.drive(system.ask('h2/echo', { type: 'echo', seq: 8 }, { timeoutMs: 200 })));
  t.true(error instanceof AskTimeoutError);
  t.is(system.clock.now() >= 200, true);
});

test('asking a missing actor or sending malformed input gives a typed refusal and the receiver survives', async (t) => {
  const system = await start(t);
  const missing = await t.throwsAsync(system.drive(system.ask('h2/nobody', { type: 'echo', seq: 1 })));
  t.true(missing instanceof AskRefusedError);
  t.regex(missing!.message, /no such actor/);
  const malformed = await t.throwsAsync(system.drive(system.ask('h2/echo', { type: 'echo', seq: 'not a number' } as never)));
  t.true(malformed instanceof AskRefusedError);
  t.regex(malformed!.message, /echo\.seq must be number/);
  const unknown = await t.throwsAsync(system.drive(system.ask('h2/echo', { type: 'bogus' })));
  t.regex(unknown!.message, /unknown message type "bogus"/);
  const info = (await system.inspect('h2/echo')) as { status: string; counters: { rejected: number } };
  t.is(info.status, 'running');
  t.is(info.counters.rejected, 2);
  t.true(system.history.some((e) => e.event === 'rejected'));
});

test('a partition blocks exactly the links across groups, both ways; heal restores them', async (t) => {
  const system = await start(t, 3, 4);
  const id = await system.network.inject({ kind: 'partition', groups: [['h1', 'h2'], ['h3', 'h4']] });
  const pairs: [string, string][] = [];
  for (const a of ['h1', 'h2', 'h3', 'h4']) for (const b of ['h1', 'h2', 'h3', 'h4']) if (a !== b) pairs.push([a, b]);
  for (const [a, b] of pairs) system.cellOf(`${a}/echo`)!.context.send(`${b}/echo`, { type: 'echoed', seq: 0 });
  await system.advance(5);
  const stats = await system.network.stats();
  for (const [a, b] of pairs) {
    const counters = stats[`${a}>${b}`]!['echoed']!;
    const across = (a <= 'h2') !== (b <= 'h2');
    t.is(counters.cut, across ? 1 : 0, `${a}>${b}`);
    t.is(counters.delivered, across ? 0 : 1, `${a}>${b}`);
  }
  await system.network.heal(id);
  system.cellOf('h1/echo')!.context.send('h4/echo', { type: 'echoed', seq: 1 });
  await system.advance(5);
  t.is((await system.network.stats())['h1>h4']!['echoed']!.delivered, 1);
});

test('a one-way cut blocks one direction only', async (t) => {
  const system = await start(t);
  await system.network.inject({ kind: 'cut', from: ['h1'], to: ['h2'] });
  system.cellOf('h1/echo')!.context.send('h2/echo', { type: 'echoed', seq: 0 });
  system.cellOf('h2/echo')!.context.send('h1/echo', { type: 'echoed', seq: 0 });
  await system.advance(5);
  const stats = await system.network.stats();
  t.is(stats['h1>h2']!['echoed']!.cut, 1);
  t.is(stats['h2>h1']!['echoed']!.delivered, 1);
  t.is(((await system.inspect('h1/echo')) as { summary: { echoed: number } }).summary.echoed, 1);
  t.is(((await system.inspect('h2/echo')) as { summary: { echoed: number } }).summary.echoed, 0);
});

test('drop with p=0.3 loses a share within statistical bounds (fixed seed), only on the chosen link and type', async (t) => {
  const system = await start(t, 11);
  await system.network.inject({ kind: 'drop', link: { from: ['h1'], to: ['h2'], types: ['echoed'] }, probability: 0.3 });
  const n = 4000;
  const sender = system.cellOf('h1/echo')!.context;
  for (let i = 0; i < n; i++) {
    sender.send('h2/echo', { type: 'echoed', seq: i });
    sender.send('h3/echo', { type: 'echoed', seq: i });
  }
  await system.advance(5);
  const stats = await system.network.stats();
  const dropped = stats['h1>h2']!['echoed']!.dropped;
  // 4000 trials at p = 0.3: sd = 29; allow 4 sd.
  t.true(Math.abs(dropped - 0.3 * n) < 4 * Math.sqrt(n * 0.3 * 0.7), `dropped ${dropped}`);
  t.is(stats['h1>h3']!['echoed']!.dropped, 0);
  t.is(((await system.inspect('h2/echo')) as { summary: { echoed: number } }).summary.echoed, n - dropped);
});

test('delay, duplicate and reorder do what they say', async (t) => {
  const system = await start(t, 5, 3, 100_000);
  const delay = await system.network.inject({ kind: 'delay', link: { from: ['h1'], to: ['h2'] }, delay: { dist: 'fixed', ms: 50 } });
  system.cellOf('h1/echo')!.context.send('h2/echo', { type: 'echoed', seq: 0 });
  await system.advance(49);
  t.is(((await system.inspect('h2/echo')) as { summary: { echoed: number } }).summary.echoed, 0);
  await system.advance(2);
  t.is(((await system.inspect('h2/echo')) as { summary: { echoed: number } }).summary.echoed, 1);
  await system.network.heal(delay);

  await system.network.inject({ kind: 'duplicate', link: { from: ['h1'], to: ['h3'] }, probability: 1 });
  system.cellOf('h1/echo')!.context.send('h3/echo', { type: 'echoed', seq: 0 });
  await system.advance(10);
  t.is(((await system.inspect('h3/echo')) as { summary: { echoed: number } }).summary.echoed, 2);
  await system.network.healAll();

  await system.network.inject({ kind: 'reorder', link: { from: ['h2'], to: ['h3'] }, probability: 0.5, windowMs: 20 });
  for (let i = 0; i < 200; i++) system.cellOf('h2/echo')!.context.send('h3/echo', { type: 'echoed', seq: i });
  await system.advance(50);
  const arrivals = (await system.network.trace()).filter((e) => e.event === 'deliver' && e.from === 'h2/echo' && e.to === 'h3/echo').length;
  t.is(arrivals, 200);
  // Without the fault a link is FIFO; with it some later messages overtake earlier ones.
  const sends = (await system.network.trace()).filter((e) => e.event === 'send' && e.from === 'h2/echo' && e.to === 'h3/echo');
  t.true(sends.some((e) => Number(e.detail) > 0));
});

async function chaoticRun(seed: number): Promise<string> {
  const system = await SimulatedSystem.start({ seed, hosts: hosts(3, 'h1/echo'), definitions, traceLimit: 1_000_000 });
  await system.network.inject({ kind: 'drop', probability: 0.2 });
  await system.network.inject({ kind: 'delay', delay: { dist: 'normal', meanMs: 5, jitterMs: 3 } });
  await system.network.inject({ kind: 'reorder', probability: 0.3, windowMs: 10 });
  await system.network.inject({ kind: 'duplicate', probability: 0.1 });
  system.tell('h1/echo', { type: 'ring', hops: 30, trail: [] });
  for (let i = 0; i < 50; i++) {
    system.cellOf(`h${(i % 3) + 1}/echo`)!.context.send(`h${((i + 1) % 3) + 1}/echo`, { type: 'echo', seq: i });
  }
  await system.advance(500);
  const trace = await system.network.trace();
  const hash = system.traceHash();
  await system.stop();
  return JSON.stringify({ trace, hash });
}

test('simulated placement is deterministic: same seed, identical trace and trace hash; other seed, different', async (t) => {
  const a = await chaoticRun(42);
  const b = await chaoticRun(42);
  const c = await chaoticRun(43);
  t.true(a.length > 1000);
  t.is(a, b);
  t.not(a, c);
  const hashOf = (run: string) => (JSON.parse(run) as { hash: { sha256: string; messages: number } }).hash;
  t.true(hashOf(a).messages > 50);
  t.not(hashOf(a).sha256, hashOf(c).sha256);
});

test('a crashing actor is restarted; past the intensity limit the supervisor gives up', async (t) => {
  const system = await SimulatedSystem.start({
    seed: 1,
    definitions,
    intensity: { maxRestarts: 2, periodMs: 1000 },
    hosts: [{ name: 'h1', actors: [{ name: 'echo', kind: 'echo', restart: 'permanent' }] }],
  });
  t.teardown(() => system.stop());
  for (let i = 0; i < 2; i++) {
    system.tell('h1/echo', { type: 'crash', reason: `boom ${i}` });
    await system.advance(5);
    const stats = await system.drive(system.ask<Stats>('h1/echo', { type: 'getStats' }));
    t.is(stats.incarnation, i + 1);
  }
  system.tell('h1/echo', { type: 'crash', reason: 'third' });
  await system.advance(5);
  const [info] = await system.list();
  t.is(info!.status, 'failed');
  t.is(info!.restarts, 2);
  t.true(system.history.some((e) => e.event === 'gave-up'));
  // Outside the period the budget refills.
  const fresh = await SimulatedSystem.start({ seed: 1, definitions, intensity: { maxRestarts: 1, periodMs: 100 }, hosts: [{ name: 'h1', actors: [{ name: 'echo', kind: 'echo' }] }] });
  t.teardown(() => fresh.stop());
  for (let i = 0; i < 3; i++) {
    fresh.tell('h1/echo', { type: 'crash', reason: 'spaced' });
    await fresh.advance(200);
  }
  t.is((await fresh.list())[0]!.status, 'running');
});

test('restart policies: transient restarts after a crash only, temporary never', async (t) => {
  const system = await SimulatedSystem.start({
    seed: 1,
    definitions,
    hosts: [{ name: 'h1', actors: [{ name: 'transient', kind: 'echo', restart: 'transient' }, { name: 'temporary', kind: 'echo', restart: 'temporary' }] }],
  });
  t.teardown(() => system.stop());
  system.tell('h1/transient', { type: 'crash', reason: 'x' });
  system.tell('h1/temporary', { type: 'crash', reason: 'x' });
  await system.advance(5);
  const byName = Object.fromEntries((await system.list()).map((i) => [i.address, i]));
  t.is(byName['h1/transient']!.status, 'running');
  t.is(byName['h1/temporary']!.status, 'crashed');
  system.cellOf('h1/transient')!.context.stop('done');
  await system.advance(5);
  t.is((await system.list()).find((i) => i.address === 'h1/transient')!.status, 'stopped');
});

test('killing a host loses in-flight messages only; restart recovers synced storage, a power cut loses unsynced', async (t) => {
  const system = await start(t);
  await system.drive(system.ask('h2/echo', { type: 'remember', value: 'kept' }));
  await system.network.inject({ kind: 'delay', link: { to: ['h2'] }, delay: { dist: 'fixed', ms: 100 } });
  system.tell('h2/echo', { type: 'remember', value: 'in-flight' });
  await system.advance(10);
  system.storageOf('h2/echo').append('remembered', new TextEncoder().encode('unsynced\n'));
  await system.killHost('h2', { loseUnsynced: true });
  t.is((await system.list()).find((i) => i.address === 'h2/echo')!.status, 'killed');
  const dead = await t.throwsAsync(system.drive(system.ask('h2/echo', { type: 'recall' }, { timeoutMs: 300 })));
  t.true(dead instanceof AskTimeoutError, 'a dead host is silent: the sender times out');
  await system.network.healAll();
  await system.restartHost('h2');
  const recalled = await system.drive(system.ask<Extract<EchoMessage, { type: 'recalled' }>>('h2/echo', { type: 'recall' }));
  t.deepEqual(recalled.values, ['kept']);
  t.is(((await system.inspect('h2/echo')) as { incarnation: number }).incarnation, 1);
});

test('a paused actor holds its mailbox and timers until resumed; a full mailbox answers asks with Overloaded', async (t) => {
  const system = await SimulatedSystem.start({ seed: 1, definitions, hosts: [{ name: 'h1', actors: [{ name: 'echo', kind: 'echo', mailboxLimit: 3 }] }] });
  t.teardown(() => system.stop());
  await system.pause('h1/echo');
  const answers = [1, 2, 3].map((seq) => system.ask<EchoMessage>('h1/echo', { type: 'echo', seq }, { timeoutMs: 10_000 }));
  const refused = system.ask('h1/echo', { type: 'echo', seq: 4 });
  const error = await t.throwsAsync(system.drive(refused));
  t.regex(error!.message, /mailbox full \(limit 3\)/);
  t.is((await system.list())[0]!.mailboxSize, 3);
  await system.advance(1000);
  t.is((await system.list())[0]!.status, 'paused');
  await system.resume('h1/echo');
  const replies = await system.drive(Promise.all(answers));
  t.deepEqual(replies.map((r) => (r as { seq: number }).seq), [1, 2, 3]);
  t.true(totalStats(await system.network.stats()).sent >= 8);
});

test('killing a host mid-stream loses only the messages in flight or sent while it was down', async (t) => {
  const system = await SimulatedSystem.start({ seed: 9, definitions, hosts: hosts(2), traceLimit: 0, linkLatencyMs: 0.5 });
  t.teardown(() => system.stop());
  const sentAt = new Map<number, number>();
  let killedAt = 0;
  let restartedAt = 0;
  for (let i = 0; i < 100; i++) {
    sentAt.set(i, system.clock.now());
    system.tell('h2/echo', { type: 'remember', value: String(i) });
    await system.advance(1);
    if (i === 30) {
      killedAt = system.clock.now();
      await system.killHost('h2');
    }
    if (i === 60) {
      restartedAt = system.clock.now();
      await system.restartHost('h2');
    }
  }
  await system.advance(10);
  const { values } = await system.drive(system.ask<Extract<EchoMessage, { type: 'recalled' }>>('h2/echo', { type: 'recall' }));
  const got = values.map(Number);
  t.deepEqual(got, [...got].sort((a, b) => a - b), 'order kept, no duplicates');
  t.is(new Set(got).size, got.length);
  const lost = [...sentAt.keys()].filter((i) => !got.includes(i));
  t.true(lost.length > 0);
  for (const i of lost) {
    const at = sentAt.get(i)!;
    t.true(at >= killedAt - 0.5 && at < restartedAt, `message ${i} sent at ${at} was lost outside the down window [${killedAt}, ${restartedAt})`);
  }
  t.deepEqual(lost, Array.from({ length: lost.length }, (_, k) => lost[0]! + k), 'one contiguous gap');
});

/** Records the hosts it hears are down (`onPeerDown`) and tells them on `downs`. */
const witnessActor = defineActor<{ type: 'downs' }, undefined>({
  kind: 'witness',
  validate: (raw) => (typeof raw === 'object' && raw !== null && (raw as { type?: unknown }).type === 'downs' ? { type: 'downs' } : { protocolError: 'witness: only downs' }),
  create: () => {
    const downs: string[] = [];
    return {
      receive: (_message, incoming) => incoming.reply?.({ type: 'downs', hosts: [...downs] }),
      onPeerDown: (host) => downs.push(host),
    };
  },
});

/**
 * `h1/echo` (paused, so an ask to it stays pending) and a witness on each other host; returns the
 * pending ask (deadline `timeoutMs`) and a way to read what each witness heard.
 */
async function resetScene(t: { teardown(fn: () => unknown): void }, witnesses: readonly string[], timeoutMs: number) {
  const system = await SimulatedSystem.start({
    seed: 3,
    definitions: { ...definitions, witness: witnessActor as AnyActorDefinition },
    hosts: [{ name: 'h1', actors: [{ name: 'echo', kind: 'echo', config: {} }] }, ...witnesses.map((name) => ({ name, actors: [{ name: 'witness', kind: 'witness' }] }))],
  });
  t.teardown(() => system.stop());
  await system.pause('h1/echo');
  const pending = system.ask('h1/echo', { type: 'echo', seq: 1 }, { timeoutMs });
  pending.catch(() => undefined);
  await system.advance(1);
  const heard = async (host: string) => (await system.drive(system.ask<{ type: 'downs'; hosts: string[] }>(`${host}/witness`, { type: 'downs' }))).hosts;
  return { system, pending, heard };
}

test('a killed host resets its connections: pending asks end with AskResetError, survivors hear onPeerDown, a partitioned one hears nothing', async (t) => {
  const { system, pending, heard } = await resetScene(t, ['h2', 'h3'], 5_000);
  await system.network.inject({ kind: 'partition', groups: [['h1', 'h2', 'client'], ['h3']] });
  const killedAtMs = system.clock.now();
  await system.killHost('h1');
  const error = await t.throwsAsync(system.drive(pending));
  t.true(error instanceof AskResetError, String(error));
  t.true(error instanceof AskTimeoutError, 'a reset is an unknown outcome, like a timeout');
  t.true(system.clock.now() - killedAtMs < 5, 'ended at once, not at its deadline');
  t.deepEqual(await heard('h2'), ['h1']);
  await system.network.healAll();
  t.deepEqual(await heard('h3'), [], 'the reset could not cross the partition');
  const silent = await t.throwsAsync(system.drive(system.ask('h1/echo', { type: 'echo', seq: 2 }, { timeoutMs: 100 })));
  t.false(silent instanceof AskResetError, 'an ask sent after the kill vanishes and times out');
});

test('a silent kill (resetConnections: false, a power loss) tells nobody: pending asks run to their deadline', async (t) => {
  const { system, pending, heard } = await resetScene(t, ['h2'], 200);
  const killedAtMs = system.clock.now();
  await system.killHost('h1', { resetConnections: false });
  const error = await t.throwsAsync(system.drive(pending));
  t.true(error instanceof AskTimeoutError && !(error instanceof AskResetError), String(error));
  t.true(system.clock.now() - killedAtMs >= 199, 'it ran to its deadline');
  t.deepEqual(await heard('h2'), []);
});
