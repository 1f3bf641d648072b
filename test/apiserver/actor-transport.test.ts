/** The apiserver actor and ActorApiTransport in simulated placement: 3 etcd members and 3 apiservers under virtual time. */
import test from 'ava';
import type { Observable } from 'rxjs';
import { address, type Address } from '../../src/primitives/address.js';
import type { AnyActorDefinition, HostSpec } from '../../src/runtime/actor.js';
import { SimulatedSystem } from '../../src/runtime/simulated.js';
import { systemPort } from '../../src/client/actor-port.js';
import type { ApiRequest, ApiWatchEvent } from '../../src/client/api-transport.js';
import { TransportError } from '../../src/client/errors.js';
import { etcdActor } from '../../actors/etcd/actor.js';
import { memberId } from '../../src/etcd/messages.js';
import { apiserverActor } from '../../actors/apiserver/actor.js';
import type { ApiserverConfig } from '../../src/apiserver/messages.js';
import { ActorApiTransport } from '../../src/apiserver/actor-transport.js';

const hosts = ['master-1', 'master-2', 'master-3'];
const etcds = hosts.map((h) => address(h, 'etcd'));
const apiservers = hosts.map((h) => address(h, 'apiserver'));

async function simCluster(seed: number, opts: { startEtcd?: boolean } = {}): Promise<SimulatedSystem> {
  const peers = etcds.map((m) => memberId(m, 1));
  const apiserverConfig: ApiserverConfig = { etcdMembers: etcds, heartbeatMs: 200 };
  const specs: HostSpec[] = hosts.map((host, i) => ({
    name: host,
    actors: [
      { name: 'etcd', kind: 'etcd', config: { id: peers[i]!, peers, profile: 'fast' } },
      { name: 'apiserver', kind: 'apiserver', config: apiserverConfig },
    ],
  }));
  const system = await SimulatedSystem.start({
    hosts: specs, seed, definitions: { etcd: etcdActor as AnyActorDefinition, apiserver: apiserverActor as AnyActorDefinition },
  });
  if (opts.startEtcd === false) for (const h of hosts) await system.killActor(address(h, 'etcd'));
  return system;
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const get = (path: string, query: Record<string, string> = {}): ApiRequest => ({ method: 'GET', path, query, headers: {} });
const createNs = (name: string): ApiRequest => ({
  method: 'POST', path: '/api/v1/namespaces', query: {}, headers: { 'content-type': 'application/json' },
  body: json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
});

async function ready(system: SimulatedSystem, server: Address): Promise<boolean> {
  const status = await system.drive(system.ask<{ type: string; ready: boolean }>(server, { type: 'apiserverStatusRequest' }));
  return status.ready;
}

function collect(events: Observable<ApiWatchEvent>): { seen: ApiWatchEvent[]; ended: { error?: unknown } | undefined } {
  const state: { seen: ApiWatchEvent[]; ended: { error?: unknown } | undefined } = { seen: [], ended: undefined };
  events.subscribe({ next: (e) => state.seen.push(e), complete: () => { state.ended = {}; }, error: (error: unknown) => { state.ended = { error }; } });
  return state;
}

test('requests and watches through the apiserver actors; a killed apiserver fails over', async (t) => {
  const system = await simCluster(1);
  t.teardown(() => system.stop());
  await system.advance(2_000);
  for (const s of apiservers) t.true(await ready(system, s), s);
  const transport = new ActorApiTransport(systemPort(system), { servers: apiservers, attemptTimeoutMs: 500, watchIdleMs: 1_000 });

  const created = await system.drive(transport.request(createNs('alpha')));
  t.is(created.status, 201, JSON.stringify(created.body));
  const watch = await system.drive(transport.watch(get('/api/v1/namespaces', { watch: 'true' })));
  if (watch.kind !== 'stream') return t.fail(`watch refused: ${JSON.stringify(watch.response)}`);
  const state = collect(watch.events);
  await system.advance(200);
  t.true(state.seen.some((e) => e.type === 'ADDED' && (e.object['metadata'] as { name?: string }).name === 'alpha'));

  const serving = transport.preferred;
  await system.killHost(serving.slice(0, serving.indexOf('/')));
  // The watch's apiserver went silent: the stream fails so a resuming watch re-watches elsewhere.
  await system.runUntil(() => state.ended !== undefined, 5_000);
  t.true(state.ended?.error instanceof TransportError);
  // Reads move on past the dead apiserver.
  const list = await system.drive(transport.request(get('/api/v1/namespaces/alpha')));
  t.is(list.status, 200);
  t.not(transport.preferred, serving);
  // Writes resume once etcd has a leader among the survivors.
  const after = await system.drive(transport.request(createNs('beta')));
  t.true(after.status === 201, JSON.stringify(after.body));
});

test('an apiserver whose etcd is down stays up, not ready, and starts once etcd is back', async (t) => {
  const system = await simCluster(2, { startEtcd: false });
  t.teardown(() => system.stop());
  await system.advance(3_000);
  t.false(await ready(system, apiservers[0]!));
  const transport = new ActorApiTransport(systemPort(system), { servers: apiservers, attemptTimeoutMs: 500 });
  const refused = await system.drive(transport.request(get('/api/v1/namespaces')).then(() => undefined, (error: unknown) => error));
  t.true(refused instanceof TransportError && refused.failure === 'unreachable', String(refused));
  for (const h of hosts) await system.restartActor(address(h, 'etcd'));
  await system.runUntil(() => false, 5_000);
  t.true(await ready(system, apiservers[0]!));
  const listed = await system.drive(transport.request(get('/api/v1/namespaces')));
  t.is(listed.status, 200);
});

test('malformed messages are refused at the boundary', async (t) => {
  const system = await simCluster(3);
  t.teardown(() => system.stop());
  await system.advance(1_000);
  const bad = [
    { type: 'apiRequest', request: { method: 'TRACE', path: '/', query: {}, headers: {} } },
    { type: 'apiRequest', request: { method: 'GET', path: 'no-slash', query: {}, headers: {} } },
    { type: 'apiRequest', request: { method: 'GET', path: '/', query: { a: 1 }, headers: {} } },
    { type: 'apiWatch', request: { method: 'GET', path: '/', query: {}, headers: {} } },
    { type: 'nope' },
  ];
  for (const message of bad) {
    const outcome = await system.drive(system.ask(apiservers[0]!, message).then(() => 'answered', (error: unknown) => String(error)));
    t.regex(outcome, /malformed/, JSON.stringify(message));
  }
});
