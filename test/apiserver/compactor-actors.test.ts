/**
 * The compactor in the apiserver actors, in simulated placement (3 etcd members, 3 apiservers,
 * virtual time): one compaction per interval over the Raft store, taken over when the compacting
 * master dies, and old resourceVersions answered with 410 Expired through the actor network.
 */
import test from 'ava';
import { address, type Address } from '../../src/primitives/address.js';
import type { AnyActorDefinition, HostSpec } from '../../src/runtime/actor.js';
import { SimulatedSystem } from '../../src/runtime/simulated.js';
import { systemPort } from '../../src/client/actor-port.js';
import type { ApiRequest, ApiWatchEvent } from '../../src/client/api-transport.js';
import { etcdActor } from '../../actors/etcd/actor.js';
import { memberId } from '../../src/etcd/messages.js';
import { apiserverActor } from '../../actors/apiserver/actor.js';
import type { ApiserverConfig } from '../../src/apiserver/messages.js';
import { ActorApiTransport } from '../../src/apiserver/actor-transport.js';

const hosts = ['master-1', 'master-2', 'master-3'];
const etcds = hosts.map((h) => address(h, 'etcd'));
const apiservers = hosts.map((h) => address(h, 'apiserver'));
const intervalMs = 1_000;

async function simCluster(seed: number, compactionIntervalMs = intervalMs): Promise<SimulatedSystem> {
  const peers = etcds.map((m) => memberId(m, 1));
  const apiserverConfig: ApiserverConfig = { etcdMembers: etcds, heartbeatMs: 200, compactionIntervalMs };
  const specs: HostSpec[] = hosts.map((host, i) => ({
    name: host,
    actors: [
      { name: 'etcd', kind: 'etcd', config: { id: peers[i]!, peers, profile: 'fast' } },
      { name: 'apiserver', kind: 'apiserver', config: apiserverConfig },
    ],
  }));
  return SimulatedSystem.start({
    hosts: specs, seed, definitions: { etcd: etcdActor as AnyActorDefinition, apiserver: apiserverActor as AnyActorDefinition },
  });
}

interface CompactionView {
  readonly compactions: number;
  readonly failures: number;
}

async function compactionsOf(system: SimulatedSystem, server: Address): Promise<CompactionView> {
  const summary = (await system.inspect(server))['summary'] as Record<string, unknown> | undefined;
  return { compactions: Number(summary?.['compactions'] ?? 0), failures: Number(summary?.['compactionFailures'] ?? 0) };
}

async function compactRevisionOf(system: SimulatedSystem, member: Address): Promise<number> {
  const summary = (await system.inspect(member))['summary'] as Record<string, unknown> | undefined;
  return Number(summary?.['compactRevision']);
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const get = (path: string, query: Record<string, string> = {}): ApiRequest => ({ method: 'GET', path, query, headers: {} });
const createNs = (name: string): ApiRequest => ({
  method: 'POST', path: '/api/v1/namespaces', query: {}, headers: { 'content-type': 'application/json' },
  body: json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
});

test('apiserver actors: one compaction per interval on the Raft store; survivors take over; old revisions are 410 Expired', async (t) => {
  const system = await simCluster(5);
  t.teardown(() => system.stop());
  const transport = new ActorApiTransport(systemPort(system), { servers: apiservers, attemptTimeoutMs: 500, watchIdleMs: 1_000 });
  await system.advance(500);
  const created = await system.drive(transport.request(createNs('early')));
  t.is(created.status, 201, JSON.stringify(created.body));
  const earlyRv = String((created.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);

  const rounds = 6;
  for (let i = 0; i < rounds; i++) {
    t.is((await system.drive(transport.request(createNs(`ns-${i}`)))).status, 201);
    await system.advance(intervalMs);
  }
  const views = await Promise.all(apiservers.map((s) => compactionsOf(system, s)));
  const total = views.reduce((n, v) => n + v.compactions, 0);
  t.deepEqual(views.map((v) => v.failures), [0, 0, 0]);
  // Each interval one claim: the first only records a revision, every later one compacts.
  t.true(total >= rounds - 2 && total <= rounds - 1, `compactions ${JSON.stringify(views)}`);
  const compacted = await Promise.all(etcds.map((m) => compactRevisionOf(system, m)));
  t.true(compacted[0]! > Number(earlyRv), `compact revisions ${JSON.stringify(compacted)}, early rv ${earlyRv}`);
  t.is(new Set(compacted).size, 1, 'every member applied the same compaction');

  // A watch from a compacted resourceVersion ends with 410 Expired; current reads still work.
  const stale = await system.drive(transport.watch(get('/api/v1/namespaces', { watch: 'true', resourceVersion: earlyRv })));
  if (stale.kind !== 'stream') return t.fail(`stale watch refused: ${JSON.stringify(stale.response)}`);
  const seen: ApiWatchEvent[] = [];
  let ended = false;
  stale.events.subscribe({ next: (e) => seen.push(e), complete: () => { ended = true; }, error: () => { ended = true; } });
  await system.runUntil(() => ended, 2_000);
  t.is(seen.length, 1, JSON.stringify(seen));
  t.like(seen[0], { type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  const list = await system.drive(transport.request(get('/api/v1/namespaces')));
  t.is(list.status, 200);
  t.true((list.body as { items: unknown[] }).items.length >= rounds + 1);

  // The compacting master dies; the remaining apiservers keep compacting, still one per interval.
  const winner = views.findIndex((v) => v.compactions === Math.max(...views.map((x) => x.compactions)));
  await system.killHost(hosts[winner]!);
  const survivors = apiservers.filter((_, i) => i !== winner);
  const before = await Promise.all(survivors.map((s) => compactionsOf(system, s)));
  const compactedBefore = await compactRevisionOf(system, etcds.find((_, i) => i !== winner)!);
  await system.advance(4 * intervalMs);
  const after = await Promise.all(survivors.map((s) => compactionsOf(system, s)));
  const gained = after.reduce((n, v, i) => n + v.compactions - before[i]!.compactions, 0);
  t.true(gained >= 2 && gained <= 4, `survivors compacted ${gained} times: ${JSON.stringify({ before, after })}`);
  t.true(await compactRevisionOf(system, etcds.find((_, i) => i !== winner)!) > compactedBefore);
});

test('apiserver actors: compactionIntervalMs 0 turns compaction off', async (t) => {
  const system = await simCluster(6, 0);
  t.teardown(() => system.stop());
  await system.advance(5 * intervalMs);
  const summary = (await system.inspect(apiservers[0]!))['summary'] as Record<string, unknown> | undefined;
  t.is(summary?.['ready'], true);
  t.is(summary?.['compactionRounds'], undefined, 'no compactor runs');
  t.deepEqual(await Promise.all(etcds.map((m) => compactRevisionOf(system, m))), [0, 0, 0]);
});
