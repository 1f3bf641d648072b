import type { EchoMessage } from '../echo/messages.js';
import type { Address } from '../primitives/address.js';
import type { HostSpec } from '../runtime/actor.js';
import { ThreadedSystem } from '../runtime/threaded.js';
import { totalStats } from '../transport/network.js';
import { builtinRegistry } from '../../actors/registry.js';
import { sleep } from '../primitives/clock.js';
import { wallClock } from '../runtime/real-clock.js';

type Stats = Extract<EchoMessage, { type: 'stats' }>;

const MASTER_ACTORS = ['etcd', 'apiserver', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy', 'container-runtime'];
const NODE_ACTORS = ['kubelet', 'kube-proxy', 'container-runtime'];

/** The default cluster's shape (3 masters, 2 workers), every actor an echo stand-in, in a ring. */
function ringCluster(): { hosts: HostSpec[]; order: Address[] } {
  const layout: [string, string[]][] = [
    ...[1, 2, 3].map((i): [string, string[]] => [`master-${i}`, MASTER_ACTORS]),
    ...[1, 2].map((i): [string, string[]] => [`worker-${i}`, NODE_ACTORS]),
  ];
  const order = layout.flatMap(([host, actors]) => actors.map((actor) => `${host}/${actor}` as Address));
  const hosts = layout.map(([host, actors]) => ({
    name: host,
    actors: actors.map((actor) => {
      const self = order.indexOf(`${host}/${actor}`);
      return { name: actor, kind: 'echo', config: { next: order[(self + 1) % order.length], reportTo: order[0] } };
    }),
  }));
  return { hosts, order };
}

async function ringLength(system: ThreadedSystem, first: Address, expected: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let length = 0;
  while (performance.now() < deadline) {
    const summary = ((await system.inspect(first)) as { summary?: { lastRing?: string[] } }).summary;
    length = summary?.lastRing?.length ?? 0;
    if (length === expected) break;
    await sleep(wallClock, 20);
  }
  return length;
}

/**
 * `pocketkube demo`: the actor runtime on real threads, end to end — until the cluster's own
 * components replace the stand-ins, every actor is an echo actor placed where the real one will be.
 */
export async function runDemo(): Promise<boolean> {
  const { hosts, order } = ringCluster();
  const first = order[0]!;
  console.log(`starting ${order.length} actors on ${order.length} threads (${hosts.map((h) => h.name).join(', ')})`);
  const system = await ThreadedSystem.start({ registry: builtinRegistry(), hosts, seed: 1 });
  const checks: [string, boolean][] = [];
  try {
    console.log(`  started in ${system.startupMs.toFixed(0)} ms`);
    system.tell(first, { type: 'ring', hops: order.length - 1, trail: [] });
    const full = await ringLength(system, first, order.length, 5000);
    checks.push([`a message visits all ${order.length} actors in a ring`, full === order.length]);

    const partition = await system.network.inject({ kind: 'partition', groups: [['master-1', 'master-2', 'master-3', 'client'], ['worker-1', 'worker-2']] });
    system.tell(first, { type: 'ring', hops: order.length - 1, trail: [] });
    await sleep(wallClock, 300);
    const stats = totalStats(await system.network.stats(), (_link, type) => type === 'ring');
    checks.push(['a partition between masters and workers stops the ring at the cut', stats.cut === 1]);
    await system.network.heal(partition);

    const victim: Address = 'worker-1/kubelet';
    system.tell(victim, { type: 'crash', reason: 'demo' });
    let restarted = false;
    for (let i = 0; i < 100 && !restarted; i++) {
      await sleep(wallClock, 20);
      const info = (await system.list()).find((a) => a.address === victim);
      restarted = info?.status === 'running' && info.restarts === 1;
    }
    const incarnation = restarted ? (await system.ask<Stats>(victim, { type: 'getStats' })).incarnation : -1;
    checks.push([`a crashed actor (${victim}) is restarted on a fresh thread`, incarnation === 1]);

    await system.killHost('master-2');
    system.tell(first, { type: 'ring', hops: order.length - 1, trail: [] });
    await sleep(wallClock, 300);
    const down = totalStats(await system.network.stats(), (_link, type) => type === 'ring').down;
    checks.push(['a killed host swallows messages like a dead machine', down >= 1]);
    await system.restartHost('master-2');
    system.tell(first, { type: 'ring', hops: order.length - 1, trail: [] });
    checks.push(['after restarting it, the ring is whole again', (await ringLength(system, first, order.length, 5000)) === order.length]);
  } finally {
    await system.stop();
  }
  for (const [name, passed] of checks) console.log(`  ${passed ? 'PASS' : 'FAIL'}  ${name}`);
  const ok = checks.every(([, passed]) => passed);
  console.log(`verdict: ${ok ? 'PASS' : 'FAIL'} (${checks.filter(([, p]) => p).length}/${checks.length} checks)`);
  return ok;
}
