/**
 * The experiment engine's network and actor faults (src/chaos/experiment/faults.ts) do what they
 * say and heal cleanly, on two echo hosts in simulated placement: degrade-links with drop 1 loses
 * every message between the hosts and its heal restores them; duplicate doubles them; pause-actor
 * stops an actor answering and its heal lets it answer again.
 */
import test from 'ava';
import { echoActor } from '../../actors/echo/actor.js';
import type { Cluster } from '../../src/cluster/index.js';
import { injectFault } from '../../src/chaos/experiment/faults.js';
import { runMethod } from '../../src/chaos/experiment/method.js';
import { planSchedule, type MethodStep } from '../../src/chaos/index.js';
import type { EchoMessage } from '../../src/echo/messages.js';
import type { AnyActorDefinition } from '../../src/runtime/actor.js';
import { SimulatedSystem } from '../../src/runtime/simulated.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import type { Address } from '../../src/primitives/address.js';

type Stats = Extract<EchoMessage, { type: 'stats' }>;

async function twoHosts(t: { teardown(fn: () => Promise<void>): void }) {
  const system = await SimulatedSystem.start({
    seed: 3, definitions: { echo: echoActor as AnyActorDefinition },
    hosts: [{ name: 'master-1', actors: [{ name: 'echo', kind: 'echo' }] }, { name: 'worker-1', actors: [{ name: 'echo', kind: 'echo' }] }],
  });
  t.teardown(() => system.stop());
  // What the faults read of a Cluster: its actor system and host names.
  const cluster = { system, masters: ['master-1'], workers: ['worker-1'] } as unknown as Cluster;
  const received = async () => (await system.drive(system.ask<Stats>('worker-1/echo', { type: 'getStats' }))).echoed;
  const blast = async (count: number) => {
    await system.drive(system.ask('master-1/echo', { type: 'blast', to: 'worker-1/echo', count, burst: count }));
    await system.advance(100);
  };
  return { system, cluster, received, blast };
}

test('degrade-links: drop 1 loses every message to the host, its heal restores them; duplicate doubles them', async (t) => {
  const w = await twoHosts(t);
  await w.blast(10);
  t.is(await w.received(), 10);
  const dropped = await injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'degrade-links', target: { kind: 'random-worker' }, drop: 1 });
  t.is(dropped.note, 'degraded the links of worker-1');
  await w.blast(10);
  t.is(await dropped.heal(), 'restored the links of worker-1');
  t.deepEqual(w.system.network.config().faults, []);
  // Read after the heal: an ask to the host would have been dropped too.
  t.is(await w.received(), 10, 'nothing arrived while the links dropped everything');
  await w.blast(10);
  t.is(await w.received(), 20);
  const doubled = await injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'degrade-links', target: { kind: 'random-worker' }, duplicate: 1 });
  await w.blast(10);
  await doubled.heal();
  t.deepEqual(w.system.network.config().faults, []);
  t.is(await w.received(), 40, 'every message twice');
});

test('pause-actor: a paused actor answers nothing; resumed, it answers again', async (t) => {
  const w = await twoHosts(t);
  const paused = await injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'pause-actor', target: { kind: 'random-worker' }, actor: 'echo' });
  t.is(paused.note, 'paused worker-1/echo');
  t.deepEqual(paused.downHosts, []);
  let answered = false;
  void w.system.ask<Stats>('worker-1/echo', { type: 'getStats' }, { timeoutMs: 60_000 }).then(() => { answered = true; });
  await w.system.advance(1_000);
  t.false(answered);
  t.is(await paused.heal(), 'resumed worker-1/echo');
  await w.system.advance(100);
  t.true(answered);
});

/** Five masters and a worker, each with an echo actor (the worker's kubelet is one too): who reaches whom. */
async function fiveMasters(t: { teardown(fn: () => Promise<void>): void }) {
  const masters = ['master-1', 'master-2', 'master-3', 'master-4', 'master-5'];
  const system = await SimulatedSystem.start({
    seed: 5, definitions: { echo: echoActor as AnyActorDefinition },
    hosts: [...masters.map((name) => ({ name, actors: [{ name: 'echo', kind: 'echo' }] })), { name: 'worker-1', actors: [{ name: 'echo', kind: 'echo' }, { name: 'kubelet', kind: 'echo' }] }],
  });
  t.teardown(() => system.stop());
  const cluster = { system, masters, workers: ['worker-1'] } as unknown as Cluster;
  const received = async (host: string) => (await system.drive(system.ask<Stats>(`${host}/echo`, { type: 'getStats' }))).echoed;
  /** Whether 3 messages from `from` to `to` arrive. */
  const reaches = async (from: string, to: string): Promise<boolean> => {
    const before = await received(to);
    await system.drive(system.ask(`${from}/echo`, { type: 'blast', to: `${to}/echo`, count: 3, burst: 3 }));
    await system.advance(100);
    return (await received(to)) - before === 3;
  };
  /** Every ordered pair of hosts that cannot reach each other, as "a→b". */
  const cutPairs = async (hosts: readonly string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const a of hosts) for (const b of hosts) if (a !== b && !(await reaches(a, b))) out.push(`${a}→${b}`);
    return out;
  };
  return { system, cluster, masters, reaches, cutPairs };
}

test('one-way-partition: outbound cuts only what the target sends to the other masters, inbound only what it receives; heal restores both', async (t) => {
  const w = await fiveMasters(t);
  const out = await injectFault({ cluster: w.cluster, hosts: ['master-1'] }, { kind: 'one-way-partition', target: { kind: 'random-master' }, direction: 'outbound' });
  t.false(await w.reaches('master-1', 'master-2'));
  t.true(await w.reaches('master-2', 'master-1'));
  t.true(await w.reaches('master-1', 'worker-1'), 'only the other masters are cut off');
  await out.heal();
  t.deepEqual(w.system.network.config().faults, []);
  const inbound = await injectFault({ cluster: w.cluster, hosts: ['master-1'] }, { kind: 'one-way-partition', target: { kind: 'random-master' }, direction: 'inbound' });
  t.true(await w.reaches('master-1', 'master-2'));
  t.false(await w.reaches('master-3', 'master-1'));
  await inbound.heal();
  t.deepEqual(await w.cutPairs(w.masters), []);
});

test('bridge-partition: the other masters cannot reach each other, the bridge reaches all; majorities-ring: each master reaches only its neighbours', async (t) => {
  const w = await fiveMasters(t);
  const cluster3 = { ...w.cluster, masters: ['master-1', 'master-2', 'master-3'] } as unknown as Cluster;
  const bridge = await injectFault({ cluster: cluster3, hosts: ['master-2'] }, { kind: 'bridge-partition', target: { kind: 'random-master' } });
  t.is(bridge.note, 'partitioned master-1, master-3 from each other; master-2 bridges them');
  t.deepEqual(await w.cutPairs(['master-1', 'master-2', 'master-3']), ['master-1→master-3', 'master-3→master-1']);
  await bridge.heal();
  const ring = await injectFault({ cluster: w.cluster, hosts: [] }, { kind: 'majorities-ring' });
  const cut = await w.cutPairs(w.masters);
  // Each master keeps its two neighbours: of its four peers, two are cut (both ways): 5 × 2 ordered pairs.
  t.is(cut.length, 10);
  t.true(cut.includes('master-1→master-3') && cut.includes('master-1→master-4'));
  t.false(cut.includes('master-1→master-5') || cut.includes('master-1→master-2'));
  t.true(await w.reaches('master-1', 'worker-1'));
  await ring.heal();
  t.deepEqual(await w.cutPairs(w.masters), []);
  await t.throwsAsync(injectFault({ cluster: cluster3, hosts: [] }, { kind: 'majorities-ring' }), { message: /needs 5 masters/ });
});

test('partition-groups and isolate-master of a majority: the sides cannot reach each other, each side can reach itself', async (t) => {
  const w = await fiveMasters(t);
  const groups = await injectFault({ cluster: w.cluster, hosts: [] }, { kind: 'partition-groups', groups: [['master-1', 'worker-1'], ['master-2']] });
  t.false(await w.reaches('worker-1', 'master-2'));
  t.true(await w.reaches('worker-1', 'master-1'));
  t.true(await w.reaches('master-2', 'master-3'), 'unlisted hosts are unaffected');
  await groups.heal();
  const majority = await injectFault({ cluster: w.cluster, hosts: ['master-1', 'master-2', 'master-3'] }, { kind: 'isolate-master', target: { kind: 'majority-masters' } });
  t.false(await w.reaches('master-3', 'master-4'));
  t.true(await w.reaches('master-1', 'master-3'));
  t.true(await w.reaches('master-4', 'master-5'));
  await majority.heal();
  t.deepEqual(await w.cutPairs(w.masters), []);
});

test('kill-actor and node-not-ready kill the actor (a new incarnation after the heal); slow-node pauses the host in bursts and its heal leaves it running', async (t) => {
  const w = await fiveMasters(t);
  const incarnation = async (a: Address) => (await w.system.drive(w.system.ask<Stats>(a, { type: 'getStats' }))).incarnation;
  const before = await incarnation('worker-1/kubelet');
  const notReady = await injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'node-not-ready', target: { kind: 'random-worker' } });
  t.is((await w.system.list()).find((a) => a.address === 'worker-1/kubelet')?.status, 'killed');
  t.is((await w.system.list()).find((a) => a.address === 'worker-1/echo')?.status, 'running', 'the pods (the other actors) keep running');
  await notReady.heal();
  t.is(await incarnation('worker-1/kubelet'), before + 1);
  const killed = await injectFault({ cluster: w.cluster, hosts: ['master-2'] }, { kind: 'kill-actor', target: { kind: 'random-master' }, actor: 'echo' });
  t.is((await w.system.list()).find((a) => a.address === 'master-2/echo')?.status, 'killed');
  await killed.heal();
  t.true(await w.reaches('master-1', 'master-2'));
  await t.throwsAsync(injectFault({ cluster: w.cluster, hosts: ['master-2'] }, { kind: 'node-not-ready', target: { kind: 'random-master' } }));
  // slow-node toggles on its own clock: count the pauses and resumes it makes as that clock advances.
  const calls: string[] = [];
  const [pause, resume] = [w.system.pause.bind(w.system), w.system.resume.bind(w.system)];
  Object.assign(w.system, { pause: async (a: Address) => { calls.push(`pause ${a}`); await pause(a); }, resume: async (a: Address) => { calls.push(`resume ${a}`); await resume(a); } });
  const clock = new VirtualClock();
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  const slow = await injectFault({ cluster: w.cluster, hosts: ['worker-1'], clock }, { kind: 'slow-node', target: { kind: 'random-worker' }, pauseMs: 20, periodMs: 50 });
  t.deepEqual(calls.splice(0), ['pause worker-1/echo', 'pause worker-1/kubelet']);
  clock.advance(19);
  await flush();
  t.deepEqual(calls, [], 'paused for pause-ms');
  clock.advance(1);
  await flush();
  t.deepEqual(calls.splice(0), ['resume worker-1/echo', 'resume worker-1/kubelet']);
  clock.advance(30);
  await flush();
  t.is(calls.splice(0).length, 2, 'paused again after the rest of the period');
  t.is(await slow.heal(), 'let worker-1 run again after 2 pauses');
  t.deepEqual(calls.splice(0), ['resume worker-1/echo', 'resume worker-1/kubelet']);
  clock.advance(1_000);
  await flush();
  t.deepEqual(calls, [], 'nothing after the heal');
  t.true(await w.reaches('master-1', 'worker-1'), 'running after the heal');
});

test('clock-skew: the actor measures with its skewed clock (a rate of 3 makes the same round trip three times as long), and the heal sets it right', async (t) => {
  const w = await twoHosts(t);
  const roundTripUs = async () => {
    const { roundTripsUs } = await w.system.drive(w.system.ask<{ type: 'latencies'; roundTripsUs: number[] }>('master-1/echo', { type: 'measureLatency', to: 'worker-1/echo', count: 1 }));
    return roundTripsUs[0]!;
  };
  const real = await roundTripUs();
  t.true(real > 0);
  const skewed = await injectFault({ cluster: w.cluster, hosts: ['master-1'] }, { kind: 'clock-skew', target: { kind: 'random-master' }, actor: 'echo', rate: 3 });
  t.is(skewed.note, 'skewed the clock of master-1/echo (rate 3, wall clock +0 ms)');
  t.is(Math.round(await roundTripUs()), Math.round(3 * real));
  t.is(await skewed.heal(), 'set the clock of master-1/echo right');
  t.is(Math.round(await roundTripUs()), Math.round(real));
});

test('disk-fault: eio makes the fsync fail (the actor crashes, as etcd does), full refuses the write; the heal mends the disk and what was synced is still there', async (t) => {
  const w = await twoHosts(t);
  type Recalled = { type: 'recalled'; values: string[] };
  const remember = (value: string) => w.system.drive(w.system.ask<Recalled>('worker-1/echo', { type: 'remember', value }, { timeoutMs: 1_000 }));
  t.deepEqual((await remember('before')).values, ['before']);
  for (const mode of ['eio', 'full'] as const) {
    const broken = await injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'disk-fault', target: { kind: 'random-worker' }, actor: 'echo', mode });
    t.regex(broken.note, mode === 'eio' ? /failed the fsyncs \(EIO\) of worker-1\/echo/ : /filled the disk \(ENOSPC\) of worker-1\/echo/);
    await t.throwsAsync(remember(`during ${mode}`), undefined, `no acknowledgement while the disk is ${mode}`);
    t.regex(await broken.heal(), /mended the disk of worker-1\/echo/);
    await w.system.advance(1_000);
  }
  t.deepEqual((await remember('after')).values.filter((v) => v !== 'during eio'), ['before', 'after'], 'the synced record survived; nothing was acknowledged during the faults');
  await t.throwsAsync(injectFault({ cluster: w.cluster, hosts: ['worker-1'] }, { kind: 'disk-fault', target: { kind: 'random-worker' }, actor: 'echo', mode: 'stall', stallMs: 10 }), { message: /a stalled disk needs threads placement/ });
});

test('a background step stays active while the method goes on: the next step starts after its pause from the injection, and the method ends when both healed', async (t) => {
  const w = await twoHosts(t);
  const began = performance.now();
  const steps: MethodStep[] = [
    { fault: { kind: 'pause-actor', target: { kind: 'host', host: 'master-1' }, actor: 'echo' }, afterMs: 0, durationMs: 400, background: true },
    { fault: { kind: 'pause-actor', target: { kind: 'host', host: 'worker-1' }, actor: 'echo' }, afterMs: 50, durationMs: 50 },
  ];
  const schedule = planSchedule(steps, 1);
  t.deepEqual(schedule.map((s) => s.atMs), [0, 50], 'the second step is planned 50 ms after the first began');
  const outcome = await runMethod(schedule, { cluster: w.cluster, etcdMembers: [], kube: undefined as never, now: () => performance.now() - began, note: () => undefined });
  const [first, second] = outcome.faults;
  t.true(first!.injected && second!.injected);
  t.true(second!.startMs < first!.endMs! && second!.endMs! < first!.endMs!, `both active together: ${JSON.stringify(outcome.faults.map((f) => [Math.round(f.startMs), Math.round(f.endMs!)]))}`);
  t.true(outcome.healedAtMs >= first!.endMs!, 'the method waited for the background heal');
});
