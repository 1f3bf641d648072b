/**
 * The kube-proxy shell on real loopback sockets (block 127.79.x.y), fed by the real ApiServerCore
 * in memory: PROXY-headed TCP and UDP to a ClusterIP, a NodePort bound on the node address, and
 * refusal when a Service has no ready endpoint.
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import type { KubeObject } from '../../src/api/index.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { KubeClient } from '../../src/client/client.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { encodeProxyHeader } from '../../src/proxy/proxy-header.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { KubeProxier } from '../../actors/kube-proxy/proxier.js';
import { ServiceFront } from '../../src/cluster/service-front.js';

const nodeIp = '127.79.0.1';
const backendIp = '127.79.1.2';
const services = { apiVersion: 'v1', kind: 'Service' } as const;
const slices = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' } as const;

async function world(t: { teardown(fn: () => void | Promise<void>): void }) {
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(5) });
  await core.start();
  const admin = new KubeClient({ transport: core, clock });
  const proxier = new KubeProxier({
    client: new KubeClient({ transport: core, clock }), clock, prng: new SeededPrng(1), nodeName: 'n1', nodeIp,
    serviceProxyPort: 10_240, mode: 'round-robin', udpIdleTimeoutMs: 30_000, warn: () => undefined,
  });
  await proxier.bind();
  proxier.startInformers();
  const tcp: Server = createServer((s) => { s.once('data', (d) => s.end(`A:${d.toString()}`)); });
  tcp.listen(8080, backendIp);
  const udp = createSocket('udp4');
  udp.on('message', (d, from) => udp.send(Buffer.concat([Buffer.from('A:'), d]), from.port, from.address));
  udp.bind(5353, backendIp);
  await Promise.all([once(tcp, 'listening'), once(udp, 'listening')]);
  t.teardown(() => { proxier.stop(); tcp.close(); udp.close(); core.stop(); kv.close(); });
  return { admin, proxier, clock, core };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

function sliceFor(svc: string, ready: boolean): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }],
    endpoints: [{ addresses: [backendIp], nodeName: 'n1', conditions: { ready } }],
  };
}

function tcpExchange(port: number, first: Uint8Array, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: nodeIp, port });
    let out = '';
    s.on('data', (d) => { out += d.toString(); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
    s.on('close', () => resolve(out));
    s.on('connect', () => s.write(Buffer.concat([first, Buffer.from(payload)])));
  });
}

test.serial('ClusterIP over the service-proxy port (TCP and UDP), NodePort on the node address, and refusal without ready endpoints', async (t) => {
  const w = await world(t);
  await w.admin.create(services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'NodePort', clusterIP: '127.96.79.20', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30790 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] },
  }, { namespace: 'default' });
  await w.admin.create(slices, sliceFor('web', true), { namespace: 'default' });
  const web = () => w.proxier.current.rules.filter((r) => r.name === 'web');
  // A NodePort Service gets a node port for every port (the apiserver allocated one for dns/UDP).
  await until(() => web().length === 2 && web().every((r) => r.endpoints.length === 1) && w.proxier.status().nodePortsBound === 2);

  const header = encodeProxyHeader({ protocol: 'TCP4', sourceIp: '127.244.0.5', destinationIp: '127.96.79.20', sourcePort: 40000, destinationPort: 80 });
  t.is(await tcpExchange(10_240, header, 'ping'), 'A:ping');
  t.is(await tcpExchange(30_790, new Uint8Array(0), 'np'), 'A:np', 'NodePort');

  const client = createSocket('udp4');
  client.bind(0, '127.79.0.9');
  await once(client, 'listening');
  const reply = once(client, 'message');
  client.send(Buffer.concat([encodeProxyHeader({ protocol: 'UDP4', sourceIp: '127.79.0.9', destinationIp: '127.96.79.20', sourcePort: client.address().port, destinationPort: 53 }), Buffer.from('q1')]), 10_240, nodeIp);
  const [data, from] = (await reply) as [Buffer, { address: string; port: number }];
  t.is(data.toString(), 'A:q1');
  t.deepEqual([from.address, from.port], [nodeIp, 10_240], 'replies come back from the service-proxy socket, without header');
  client.close();

  // An unknown ClusterIP and a Service whose only endpoint turned unready: reset at once.
  const unknown = encodeProxyHeader({ protocol: 'TCP4', sourceIp: '127.244.0.5', destinationIp: '127.96.79.99', sourcePort: 40000, destinationPort: 80 });
  t.regex(await tcpExchange(10_240, unknown, 'x'), /^(error:ECONNRESET|)$/);
  await w.admin.update(slices, { ...(await w.admin.get(slices, 'default', 'web-1')), endpoints: [{ addresses: [backendIp], nodeName: 'n1', conditions: { ready: false } }] });
  await until(() => web().every((r) => r.endpoints.every((e) => !e.ready)));
  t.regex(await tcpExchange(10_240, header, 'x'), /^(error:ECONNRESET|)$/);
  const s = w.proxier.status();
  t.true(s.rejected >= 2);
  t.is(s.tcpConnections, 2);

  // Deleting the Service closes its NodePort: a connection is refused by the kernel.
  await w.admin.delete(services, 'default', 'web');
  await until(() => w.proxier.status().nodePortsBound === 0);
  await until(() => web().length === 0);
  t.is(await tcpExchange(30_790, new Uint8Array(0), 'np'), 'error:ECONNREFUSED');
});

test.serial('the host Service front binds ClusterIPs and forwards through a live node, skipping a dead one at once (TCP and UDP)', async (t) => {
  const w = await world(t);
  // 127.79.0.2 has no kube-proxy: a dead node.
  const front = new ServiceFront({ transport: w.core, clock: w.clock, warn: () => undefined, targets: [{ host: '127.79.0.2', tcpPort: 10_240, udpPort: 10_240 }, { host: nodeIp, tcpPort: 10_240, udpPort: 10_240 }] });
  front.start();
  t.teardown(() => front.stop());
  await w.admin.create(services, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '127.96.79.30', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] },
  }, { namespace: 'default' });
  await w.admin.create(slices, sliceFor('web', true), { namespace: 'default' });
  await until(() => front.boundKeys.includes('TCP 127.96.79.30:80') && front.boundKeys.includes('UDP 127.96.79.30:53'));
  await until(() => w.proxier.current.rules.some((r) => r.name === 'web' && r.endpoints.length === 1));
  for (let i = 0; i < 3; i++) t.is(await tcpExchangeTo('127.96.79.30', 80, `c${i}`), `A:c${i}`);
  for (let i = 0; i < 2; i++) {
    const client = createSocket('udp4');
    client.bind(0, '127.79.0.9');
    await once(client, 'listening');
    const reply = once(client, 'message');
    client.send(Buffer.from(`u${i}`), 53, '127.96.79.30');
    const [data, from] = (await reply) as [Buffer, { address: string; port: number }];
    t.is(data.toString(), `A:u${i}`);
    t.is(from.address, '127.96.79.30', 'the reply comes from the ClusterIP');
    client.close();
  }
});

function tcpExchangeTo(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let out = '';
    s.on('data', (d) => { out += d.toString(); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
    s.on('close', () => resolve(out));
    s.on('connect', () => s.write(payload));
  });
}
