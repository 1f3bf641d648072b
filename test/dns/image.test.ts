/**
 * The DNS image end to end on real sockets (block 127.79.54.x): it reads its ServiceAccount files,
 * reaches an HTTPS apiserver (the real ApiServerCore behind ApiHttpsServer) through its pod
 * network's connect() — here a plain TCP connection standing in for kube-proxy — and answers a
 * Service created after it started, over UDP and TCP on :53 of its pod IP.
 */
import test from 'ava';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import * as dnsPacket from 'dns-packet';
import { createCa, createServingCert } from '../../src/apiserver/auth/pki.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import { KubeClient } from '../../src/client/client.js';
import { LocalKv } from '../../src/client/local-kv.js';
import type { ContainerProcess, PodNetwork } from '../../src/cri/image.js';
import { dnsImage } from '../../src/dns/image.js';
import { TcpFramer } from '../../src/dns/zone.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { RealClock } from '../../src/runtime/real-clock.js';

const podIp = '127.79.54.2';

test('the DNS image serves Services it watched through the kubernetes Service over its pod network', async (t) => {
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(2) });
  await core.start();
  const ca = createCa(Date.now());
  const cert = createServingCert(ca, { ips: ['127.96.0.1'], dnsNames: [] }, Date.now());
  const https = await ApiHttpsServer.listen({ transport: core, certPem: cert.certPem, keyPem: cert.keyPem, host: '127.79.54.1', port: 0 });
  const files: Record<string, string> = { '/var/run/secrets/kubernetes.io/serviceaccount/token': 'tok', '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt': ca.certPem };
  const connected: string[] = [];
  const net: PodNetwork = {
    podIp,
    listen: async (port, onConnection) => {
      const server = createServer((s) => onConnection(s, { host: s.remoteAddress ?? '', port: s.remotePort ?? 0 }));
      server.listen(port, podIp);
      await once(server, 'listening');
      return { port, close: () => new Promise<void>((r) => server.close(() => r())) };
    },
    // Stands in for kube-proxy: the kubernetes ClusterIP goes to the apiserver's address.
    connect: async (host, port) => {
      connected.push(`${host}:${port}`);
      const s = connect({ host: https.host, port: https.port });
      await once(s, 'connect');
      return s as Duplex;
    },
    udp: async (port) => {
      const s = createSocket('udp4');
      s.bind(port, podIp);
      await once(s, 'listening');
      return {
        port, send: (data, host, p) => s.send(data, p, host),
        onMessage: (h) => s.on('message', (d, from) => h(d, { host: from.address, port: from.port })),
        close: () => new Promise<void>((r) => s.close(() => r())),
      };
    },
    resolve: async () => [],
  };
  const abort = new AbortController();
  const out: string[] = [];
  const process: ContainerProcess = {
    argv: ['/coredns'], env: {}, workingDir: '/', hostname: 'coredns-1', net, clock, prng: new SeededPrng(1),
    files: { readFile: async (p) => (files[p] === undefined ? undefined : Buffer.from(files[p]!)), readDir: async () => undefined, writeFile: async () => { throw new Error('read-only'); } },
    usage: { setCpuMillicores: () => undefined, setMemoryBytes: () => undefined },
    stdout: (s) => out.push(s), stderr: (s) => out.push(s), signal: abort.signal,
  };
  const exited = dnsImage.run(process);
  t.teardown(async () => { abort.abort(); await exited; await https.close(); core.stop(); kv.close(); });

  await new KubeClient({ transport: core, clock }).create({ apiVersion: 'v1', kind: 'Service' }, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'nginx', namespace: 'default' }, spec: { clusterIP: '127.96.54.20', ports: [{ port: 80 }] },
  }, { namespace: 'default' });

  const query = (id: number) => dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name: 'nginx.default.svc.cluster.local' }] });
  const client = createSocket('udp4');
  client.bind(0, '127.79.54.3');
  await once(client, 'listening');
  t.teardown(() => client.close());
  // Until the watch has brought the Service in: NXDOMAIN first is allowed, never a wrong address.
  let answer: string[] = [];
  for (let i = 0; i < 200 && answer.length === 0; i++) {
    const reply = once(client, 'message');
    client.send(query(i + 1), 53, podIp);
    const [data] = (await reply) as [Buffer];
    answer = (dnsPacket.decode(data).answers ?? []).map((a) => String((a as { data: unknown }).data));
    if (answer.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  t.deepEqual(answer, ['127.96.54.20'], out.join(''));
  t.true(connected.every((c) => c === '127.96.0.1:443'), 'the apiserver is reached through the kubernetes Service address');

  const s = connect({ host: podIp, port: 53 });
  await once(s, 'connect');
  s.write(TcpFramer.frame(query(999)));
  const framer = new TcpFramer();
  let messages: Buffer[] = [];
  while (messages.length === 0) messages = framer.push(((await once(s, 'data')) as [Buffer])[0]);
  s.destroy();
  t.deepEqual((dnsPacket.decode(messages[0]!).answers ?? []).map((a) => String((a as { data: unknown }).data)), ['127.96.54.20'], 'TCP');
});
