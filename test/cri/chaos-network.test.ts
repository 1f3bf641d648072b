/**
 * NetworkChaos on a pod's data path (src/cri/chaos-network.ts), over the in-memory pod network
 * with virtual time and a seeded PRNG: partitions hold connections and data until they heal,
 * delays keep a stream's order, loss costs a stream retransmissions and drops datagrams,
 * duplicates double datagrams only, and DNS fails when the nameservers are cut off.
 */
import test from 'ava';
import type { Duplex } from 'node:stream';
import { ChaosPodNetwork, retransmitTimeoutMs } from '../../src/cri/chaos-network.js';
import { MemoryNetworkFabric } from '../../src/cri/memory-network.js';
import type { NetworkChaosRule } from '../../src/cri/messages.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { settle, until } from './helpers.js';

const server = '10.0.0.2';
const client = '10.0.0.1';

interface Fixture {
  readonly clock: VirtualClock;
  readonly net: ChaosPodNetwork;
  /** What the server side received, and its streams. */
  readonly received: string[];
  readonly accepted: Duplex[];
}

async function fixture(seed = 1): Promise<Fixture> {
  const fabric = new MemoryNetworkFabric();
  fabric.setName('web.default.svc.cluster.local', [server]);
  const clock = new VirtualClock();
  const received: string[] = [];
  const accepted: Duplex[] = [];
  await fabric.podNetwork(server).listen(80, (stream) => {
    accepted.push(stream);
    stream.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    stream.on('error', () => undefined);
  });
  const net = new ChaosPodNetwork(fabric.podNetwork(client), { clock, prng: new SeededPrng(seed), nameservers: ['10.96.0.10'] });
  return { clock, net, received, accepted };
}

const rule = (r: NetworkChaosRule): NetworkChaosRule => r;

test('a partition to the peer: connect waits as a dropped SYN does and fails with ETIMEDOUT; after the heal it connects', async (t) => {
  const { clock, net } = await fixture();
  net.setRules([rule({ action: 'partition', direction: 'egress', peers: [server] })]);
  let failure: unknown;
  void net.connect(server, 80, { timeoutMs: 5_000 }).catch((error: unknown) => { failure = error; });
  await settle();
  clock.advance(4_999);
  await settle();
  t.is(failure, undefined, 'still waiting before its timeout');
  clock.advance(1);
  await until(() => failure !== undefined);
  t.like(failure, { code: 'ETIMEDOUT' });
  // Healed while a connect waits: it goes through (a SYN retried).
  let connected: Duplex | undefined;
  void net.connect(server, 80, { timeoutMs: 5_000 }).then((s) => { connected = s; });
  await settle();
  clock.advance(1_000);
  net.setRules([]);
  await until(() => connected !== undefined);
  t.pass();
});

test('a partition holds an established stream\'s data, only the way it is cut, and delivers it after the heal', async (t) => {
  const { net, received, accepted } = await fixture();
  const stream = await net.connect(server, 80);
  const back: string[] = [];
  stream.on('data', (chunk: Buffer) => back.push(chunk.toString()));
  await until(() => accepted.length === 1);
  net.setRules([rule({ action: 'partition', direction: 'egress', peers: [server] })]);
  stream.write('one');
  stream.write('two');
  accepted[0]!.write('pong');
  await settle();
  t.deepEqual(received, [], 'what the pod sends is held');
  t.deepEqual(back, ['pong'], 'the other way is not cut');
  net.setRules([rule({ action: 'partition', direction: 'egress', peers: ['10.9.9.9'] })]);
  await until(() => received.join('') === 'onetwo');
  t.is(received.join(''), 'onetwo', 'delivered in order once healed (another peer\'s partition does not hold it)');
});

test('delay: each chunk waits latency ± jitter, in order; a connection\'s setup waits the round trip', async (t) => {
  const { clock, net, received, accepted } = await fixture();
  net.setRules([rule({ action: 'delay', direction: 'egress', latencyMs: 100, jitterMs: 20 })]);
  let stream: Duplex | undefined;
  void net.connect(server, 80).then((s) => { stream = s; });
  await settle();
  t.is(stream, undefined, 'the SYN waits its delay too');
  clock.advance(120);
  await until(() => stream !== undefined);
  await until(() => accepted.length === 1);
  stream!.write('a');
  clock.advance(10);
  stream!.write('b');
  await settle();
  clock.advance(70);
  await settle();
  t.deepEqual(received, [], 'nothing before latency - jitter');
  clock.advance(60);
  await settle();
  t.is(received.join(''), 'ab', 'both within latency + jitter, in order');
});

test('loss: a stream pays a retransmission timeout per loss (seeded), datagrams vanish; duplicate doubles datagrams only', async (t) => {
  const { clock, net, received, accepted } = await fixture(7);
  net.setRules([rule({ action: 'loss', direction: 'egress', probability: 1 })]);
  const stream = await net.connect(server, 80);
  await until(() => accepted.length === 1);
  stream.write('x');
  await settle();
  clock.advance(retransmitTimeoutMs * (2 ** 6 - 1) - 1);
  await settle();
  t.deepEqual(received, [], 'every try lost until the bound on retransmissions');
  clock.advance(1);
  await until(() => received.length === 1);

  const fabric = new MemoryNetworkFabric();
  const sink = await fabric.podNetwork(server).udp(53);
  const got: string[] = [];
  sink.onMessage((data) => got.push(Buffer.from(data).toString()));
  const pod = new ChaosPodNetwork(fabric.podNetwork(client), { clock, prng: new SeededPrng(3), nameservers: [] });
  const socket = await pod.udp(0);
  pod.setRules([rule({ action: 'loss', direction: 'egress', probability: 1 })]);
  socket.send(Buffer.from('lost'), server, 53);
  pod.setRules([rule({ action: 'duplicate', direction: 'egress', probability: 1 })]);
  socket.send(Buffer.from('twice'), server, 53);
  await settle();
  t.deepEqual(got, ['twice', 'twice']);
  pod.setRules([rule({ action: 'partition', direction: 'ingress', peers: [server] })]);
  const heard: string[] = [];
  socket.onMessage((data) => heard.push(Buffer.from(data).toString()));
  const reply = await fabric.podNetwork(server).udp(0);
  reply.send(Buffer.from('in'), client, socket.port);
  await settle();
  t.deepEqual(heard, [], 'an ingress partition drops what arrives');
});

test('an accepted connection from a partitioned peer is held from the app until the heal', async (t) => {
  const fabric = new MemoryNetworkFabric();
  const clock = new VirtualClock();
  const pod = new ChaosPodNetwork(fabric.podNetwork(server), { clock, prng: new SeededPrng(1), nameservers: [] });
  const delivered: string[] = [];
  await pod.listen(80, (stream, remote) => { delivered.push(remote.host); stream.on('data', () => undefined); });
  pod.setRules([rule({ action: 'partition', direction: 'ingress', peers: [client] })]);
  await fabric.podNetwork(client).connect(server, 80);
  await fabric.podNetwork('10.0.0.3').connect(server, 80);
  await settle();
  t.deepEqual(delivered, ['10.0.0.3'], 'another peer gets through');
  pod.setRules([]);
  await settle();
  t.deepEqual(delivered, ['10.0.0.3', client]);
});

test('DNS: a partition from the nameservers fails a lookup with EAI_AGAIN after the resolver\'s timeout', async (t) => {
  const { clock, net } = await fixture();
  t.deepEqual(await net.resolve('web.default.svc.cluster.local'), [server]);
  net.setRules([rule({ action: 'partition', direction: 'egress' })]);
  let failure: unknown;
  void net.resolve('web.default.svc.cluster.local').catch((error: unknown) => { failure = error; });
  await settle();
  clock.advance(4_000);
  await until(() => failure !== undefined);
  t.like(failure, { code: 'EAI_AGAIN' });
  await t.throwsAsync(async () => {
    const pending = net.connect('web.default.svc.cluster.local', 80);
    await settle();
    clock.advance(4_000);
    await pending;
  }, { message: /EAI_AGAIN/ }, 'a connect by name fails the same way');
});

test('socket options reach the socket: no-delay on by default (as node:http sets it; without it each small write waits ~40 ms for a delayed ACK), keep-alive and the idle timeout passed on', async (t) => {
  const calls: string[] = [];
  const fabric = new MemoryNetworkFabric();
  await fabric.podNetwork(server).listen(80, () => undefined);
  const inner = fabric.podNetwork(client);
  let socket: Duplex | undefined;
  const spied = {
    ...inner,
    connect: async (host: string, port: number) => socket = Object.assign(await inner.connect(host, port), {
      setNoDelay: (on: boolean) => { calls.push(`noDelay ${on}`); },
      setKeepAlive: (on: boolean, ms: number) => { calls.push(`keepAlive ${on} ${ms}`); },
      setTimeout: (ms: number) => { calls.push(`timeout ${ms}`); },
    }),
  };
  const net = new ChaosPodNetwork(spied, { clock: new VirtualClock(), prng: new SeededPrng(1), nameservers: [] });
  const stream = await net.connect(server, 80) as Duplex & { setKeepAlive(on: boolean, ms: number): unknown; setTimeout(ms: number, cb?: () => void): unknown };
  stream.setKeepAlive(true, 1_000);
  let timedOut = 0;
  stream.setTimeout(5_000, () => { timedOut++; });
  t.deepEqual(calls, ['noDelay true', 'keepAlive true 1000', 'timeout 5000']);
  // The socket's 'timeout' is the stream's (node:http ends idle keep-alive connections on it).
  socket!.emit('timeout');
  t.is(timedOut, 1);
});
