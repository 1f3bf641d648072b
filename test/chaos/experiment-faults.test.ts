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
import type { EchoMessage } from '../../src/echo/messages.js';
import type { AnyActorDefinition } from '../../src/runtime/actor.js';
import { SimulatedSystem } from '../../src/runtime/simulated.js';

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
  const dropped = await injectFault({ cluster: w.cluster, host: 'worker-1' }, { kind: 'degrade-links', target: { kind: 'random-worker' }, drop: 1 });
  t.is(dropped.note, 'degraded the links of worker-1');
  await w.blast(10);
  t.is(await dropped.heal(), 'restored the links of worker-1');
  t.deepEqual(w.system.network.config().faults, []);
  // Read after the heal: an ask to the host would have been dropped too.
  t.is(await w.received(), 10, 'nothing arrived while the links dropped everything');
  await w.blast(10);
  t.is(await w.received(), 20);
  const doubled = await injectFault({ cluster: w.cluster, host: 'worker-1' }, { kind: 'degrade-links', target: { kind: 'random-worker' }, duplicate: 1 });
  await w.blast(10);
  await doubled.heal();
  t.deepEqual(w.system.network.config().faults, []);
  t.is(await w.received(), 40, 'every message twice');
});

test('pause-actor: a paused actor answers nothing; resumed, it answers again', async (t) => {
  const w = await twoHosts(t);
  const paused = await injectFault({ cluster: w.cluster, host: 'worker-1' }, { kind: 'pause-actor', target: { kind: 'random-worker' }, actor: 'echo' });
  t.is(paused.note, 'paused worker-1/echo');
  t.false(paused.killed);
  let answered = false;
  void w.system.ask<Stats>('worker-1/echo', { type: 'getStats' }, { timeoutMs: 60_000 }).then(() => { answered = true; });
  await w.system.advance(1_000);
  t.false(answered);
  t.is(await paused.heal(), 'resumed worker-1/echo');
  await w.system.advance(100);
  t.true(answered);
});
