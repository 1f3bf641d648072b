/**
 * Cluster DNS answers (src/dns/zone.ts) for every record type, NXDOMAIN, NODATA, REFUSED and
 * truncation, queried with dns-packet over real UDP and TCP sockets (block 127.79.53.x) served by
 * the core's raw-answer and TCP framing functions.
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { KubeObject } from '../../src/api/index.js';
import { answerRaw, ClusterZone, TcpFramer } from '../../src/dns/zone.js';

const ip = '127.79.53.1';

const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
const many = Array.from({ length: 40 }, (_, i) => ({ addresses: [`127.244.3.${i + 1}`], conditions: { ready: true } }));
const zone = new ClusterZone({
  services: [
    svc('nginx', { type: 'ClusterIP', clusterIP: '127.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
    svc('big', { clusterIP: 'None', ports: [{ port: 1 }] }),
  ],
  slices: [
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4',
      endpoints: [{ addresses: ['127.244.1.7'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['127.244.2.7'], conditions: { ready: true } }, { addresses: ['127.244.2.8'], conditions: { ready: false } }] },
    { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'big-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'big' } }, addressType: 'IPv4', endpoints: many },
  ],
  pods: [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, status: { podIP: '127.244.1.9' } }],
});

async function servers(t: { teardown(fn: () => void): void }) {
  const udp = createSocket('udp4');
  udp.on('message', (data, from) => { const r = answerRaw(zone, data, 'udp'); if (r !== undefined) udp.send(r, from.port, from.address); });
  udp.bind(5353, ip);
  const tcp = createServer((s) => {
    const framer = new TcpFramer();
    s.on('data', (d) => { for (const m of framer.push(d)) { const r = answerRaw(zone, m, 'tcp'); if (r !== undefined) s.write(TcpFramer.frame(r)); } });
  });
  tcp.listen(5353, ip);
  await Promise.all([once(udp, 'listening'), once(tcp, 'listening')]);
  t.teardown(() => { udp.close(); tcp.close(); });
}

let nextId = 1;
async function udpQuery(name: string, type: dnsPacket.RecordType): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const client = createSocket('udp4');
  client.bind(0, '127.79.53.2');
  await once(client, 'listening');
  const reply = once(client, 'message');
  client.send(dnsPacket.encode({ type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 5353, ip);
  const [data] = (await reply) as [Buffer];
  client.close();
  return dnsPacket.decode(data) as dnsPacket.DecodedPacket & { rcode?: string };
}

async function tcpQuery(name: string, type: dnsPacket.RecordType): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  const s = connect({ host: ip, port: 5353 });
  await once(s, 'connect');
  const framer = new TcpFramer();
  s.write(TcpFramer.frame(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type, name }] })));
  for (;;) {
    const [chunk] = (await once(s, 'data')) as [Buffer];
    const messages = framer.push(chunk);
    if (messages.length > 0) { s.destroy(); return dnsPacket.decode(messages[0]!) as dnsPacket.DecodedPacket & { rcode?: string }; }
  }
}

const data = (p: dnsPacket.Packet) => (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

test('every record type, NXDOMAIN, NODATA, REFUSED, over UDP and TCP, and truncation', async (t) => {
  await servers(t);
  const a = await udpQuery('nginx.default.svc.cluster.local', 'A');
  t.is(a.rcode, 'NOERROR');
  t.true(a.flag_aa);
  t.deepEqual(data(a), ['127.96.0.20']);
  t.is((a.answers![0] as { ttl?: number }).ttl, 5);
  t.deepEqual(data(await tcpQuery('nginx.default.svc.cluster.local', 'A')), ['127.96.0.20'], 'TCP');

  t.deepEqual((data(await udpQuery('db.default.svc.cluster.local', 'A')) as string[]).sort(), ['127.244.1.7', '127.244.2.7'], 'headless: ready endpoints only');
  t.deepEqual(data(await udpQuery('db-0.db.default.svc.cluster.local', 'A')), ['127.244.1.7'], 'endpoint hostname');

  const srv = await udpQuery('_http._tcp.nginx.default.svc.cluster.local', 'SRV');
  t.like(srv.answers![0], { type: 'SRV', data: { port: 80, target: 'nginx.default.svc.cluster.local' } });
  t.is((await udpQuery('_pg._tcp.db.default.svc.cluster.local', 'SRV')).answers!.length, 2);

  t.deepEqual(data(await udpQuery('20.0.96.127.in-addr.arpa', 'PTR')), ['nginx.default.svc.cluster.local']);
  t.deepEqual(data(await udpQuery('9.1.244.127.in-addr.arpa', 'PTR')), ['127-244-1-9.default.pod.cluster.local']);
  t.deepEqual(data(await udpQuery('127-244-1-9.default.pod.cluster.local', 'A')), ['127.244.1.9']);

  const nx = await udpQuery('nope.default.svc.cluster.local', 'A');
  t.is(nx.rcode, 'NXDOMAIN');
  t.is(nx.authorities![0]!.type, 'SOA');
  const nodata = await udpQuery('nginx.default.svc.cluster.local', 'AAAA');
  t.is(nodata.rcode, 'NOERROR');
  t.is(nodata.answers!.length, 0);
  t.is(nodata.authorities![0]!.type, 'SOA');
  t.is((await udpQuery('default.svc.cluster.local', 'A')).rcode, 'NOERROR', 'an empty non-terminal is NODATA, not NXDOMAIN');
  t.is((await udpQuery('example.com', 'A')).rcode, 'REFUSED', 'no upstream forwarding');

  const truncated = await udpQuery('big.default.svc.cluster.local', 'A');
  t.true(truncated.flag_tc);
  t.is(truncated.answers!.length, 0);
  t.is((await tcpQuery('big.default.svc.cluster.local', 'A')).answers!.length, 40, 'the whole answer over TCP');
});
