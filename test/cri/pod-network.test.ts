/**
 * The threads placement's pod network on real loopback sockets, in this file's own block
 * (127.183.0.0/16): direct TCP, ClusterIP TCP and UDP through a stand-in kube-proxy that checks
 * the PROXY header, and DNS queries (dns-packet) to a nameserver that is itself a ClusterIP.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import dnsPacket from 'dns-packet';
import { LoopbackPodNetwork } from '../../actors/container-runtime/pod-network.js';
import { wallClock } from '../../src/runtime/real-clock.js';
import { parseProxyHeader, type ProxyHeader } from '../../src/proxy/proxy-header.js';
import { queryCandidates } from '../../src/cri/resolver.js';

const proxyHost = '127.183.0.1';
const serviceCidr = '127.183.96.0/24';
const dnsServer = '127.183.96.10';
const clusterIp = '127.183.96.20';

test('queryCandidates applies the search path and ndots as resolv.conf does', (t) => {
  const dns = { searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] };
  t.deepEqual(queryCandidates('web', dns), ['web.default.svc.cluster.local', 'web.svc.cluster.local', 'web.cluster.local', 'web']);
  t.deepEqual(queryCandidates('a.b.c.d.e.f', dns)[0], 'a.b.c.d.e.f');
  t.deepEqual(queryCandidates('web.default.svc.cluster.local.', dns), ['web.default.svc.cluster.local']);
});

interface StandIn {
  readonly tcpPort: number;
  readonly udpPort: number;
  readonly tcpHeaders: ProxyHeader[];
  close(): Promise<void>;
}

/** A stand-in kube-proxy: TCP answers `proxied <dst>` after the header; UDP answers DNS for web.default.svc.cluster.local and echoes the rest. */
async function standInProxy(): Promise<StandIn> {
  const tcpHeaders: ProxyHeader[] = [];
  const server = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const parsed = parseProxyHeader(buffered);
      if (parsed.kind !== 'header') return;
      tcpHeaders.push(parsed.header);
      socket.end(`proxied ${parsed.header.destinationIp}:${parsed.header.destinationPort} ${Buffer.from(parsed.rest).toString()}`);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: proxyHost, port: 0 }, resolve));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (message, from) => {
    const parsed = parseProxyHeader(message);
    if (parsed.kind !== 'header') return;
    const { destinationIp, destinationPort } = parsed.header;
    if (destinationIp === dnsServer && destinationPort === 53) {
      const query = dnsPacket.decode(Buffer.from(parsed.rest));
      const name = query.questions?.[0]?.name ?? '';
      const known = name === 'web.default.svc.cluster.local';
      udp.send(dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: known ? 0 : 3, questions: query.questions ?? [], answers: known ? [{ type: 'A', name, ttl: 5, data: clusterIp }] : [] }), from.port, from.address);
      return;
    }
    udp.send(Buffer.concat([Buffer.from(`udp ${destinationIp}:${destinationPort} `), Buffer.from(parsed.rest)]), from.port, from.address);
  });
  await new Promise<void>((resolve) => udp.bind({ address: proxyHost, port: 0 }, resolve));
  return {
    tcpPort: (server.address() as net.AddressInfo).port, udpPort: udp.address().port, tcpHeaders,
    close: async () => { server.close(); udp.close(); },
  };
}

function network(podIp: string, proxy: StandIn): LoopbackPodNetwork {
  return new LoopbackPodNetwork(
    { podIp, hostname: 'pod', hostNetwork: false, dnsConfig: { servers: [dnsServer], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] } },
    { serviceProxy: { host: proxyHost, tcpPort: proxy.tcpPort, udpPort: proxy.udpPort }, serviceCidr },
    wallClock,
  );
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

test('real sockets: listen on the pod IP, connect direct and through kube-proxy, UDP, DNS', async (t) => {
  const proxy = await standInProxy();
  const server = network('127.183.1.2', proxy);
  const client = network('127.183.1.3', proxy);
  try {
    const listener = await server.listen(8080, (stream, remote) => { stream.end(`hello ${remote.host}`); });
    await t.throwsAsync(server.listen(8080, () => undefined), { code: 'EADDRINUSE' });
    t.is(await readAll(await client.connect('127.183.1.2', 8080)), 'hello 127.183.1.3');

    const viaProxy = await client.connect(clusterIp, 80);
    viaProxy.end('GET');
    t.is(await readAll(viaProxy), `proxied ${clusterIp}:80 GET`);
    t.like(proxy.tcpHeaders[0], { protocol: 'TCP4', sourceIp: '127.183.1.3', destinationIp: clusterIp, destinationPort: 80 });

    const udp = await client.udp(0);
    const reply = new Promise<string>((resolve) => udp.onMessage((data) => resolve(Buffer.from(data).toString())));
    udp.send(Buffer.from('hostname'), clusterIp, 8081);
    t.is(await reply, `udp ${clusterIp}:8081 hostname`);
    await udp.close();

    t.deepEqual(await client.resolve('web'), [clusterIp]);
    t.deepEqual(await client.resolve('nothing'), []);
    t.is(await readAll(await client.connect('web', 80).then((s) => { s.end('x'); return s; })), `proxied ${clusterIp}:80 x`);
    await t.throwsAsync(client.connect('127.183.1.2', 9), { code: 'ECONNREFUSED' });
    await listener.close();
  } finally {
    await proxy.close();
  }
});

test('a container serves on its real pod IP; stopping it frees the port for the next attempt', async (t) => {
  const proxy = await standInProxy();
  const { ContainerRuntime } = await import('../../src/cri/runtime.js');
  const { builtInImages } = await import('../../src/cri/images/index.js');
  const { HostLocalIpam } = await import('../../src/cri/ipam.js');
  const { SeededPrng } = await import('../../src/primitives/prng.js');
  const { MemoryHostFs, containerConfig, sandboxConfig } = await import('./helpers.js');
  const runtime = new ContainerRuntime({
    clock: wallClock, prng: new SeededPrng(3), images: builtInImages(), cni: new HostLocalIpam(), fs: new MemoryHostFs(), nodeIp: '127.183.0.1',
    networkFor: (spec) => new LoopbackPodNetwork(spec, { serviceProxy: { host: proxyHost, tcpPort: proxy.tcpPort, udpPort: proxy.udpPort }, serviceCidr }, wallClock),
    onEvent: () => undefined,
  });
  const ask = async <T extends string>(request: Parameters<typeof runtime.handle>[0], type: T) => {
    const response = await runtime.handle(request);
    if (response.type !== type) throw new Error(JSON.stringify(response));
    return response as Extract<typeof response, { type: T }>;
  };
  const fetchText = async (url: string): Promise<string> => (await fetch(url)).text();
  try {
    await ask({ type: 'updateRuntimeConfig', podCidr: '127.183.2.0/24' }, 'updateRuntimeConfigResponse');
    const sandbox = sandboxConfig('netexec-pod');
    const { podSandboxId } = await ask({ type: 'runPodSandbox', config: sandbox }, 'runPodSandboxResponse');
    await ask({ type: 'pullImage', image: { image: 'registry.k8s.io/e2e-test-images/agnhost:2.52' } }, 'pullImageResponse');
    const start = async (attempt: number): Promise<string> => {
      const config = { ...containerConfig('c', 'registry.k8s.io/e2e-test-images/agnhost:2.52', { args: ['netexec', '--http-port=18080', '--udp-port=18081'] }), metadata: { name: 'c', attempt } };
      const { containerId } = await ask({ type: 'createContainer', podSandboxId, config, sandboxConfig: sandbox }, 'createContainerResponse');
      await ask({ type: 'startContainer', containerId }, 'startContainerResponse');
      return containerId;
    };
    const first = await start(0);
    const url = 'http://127.183.2.2:18080';
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) body = await fetchText(`${url}/hostname`).catch(() => new Promise<string>((r) => setTimeout(() => r(''), 10)));
    t.is(body, 'netexec-pod');
    await ask({ type: 'stopContainer', containerId: first, timeout: 5 }, 'stopContainerResponse');
    await t.throwsAsync(fetch(`${url}/hostname`));
    await start(1);
    body = '';
    for (let i = 0; i < 100 && body === ''; i++) body = await fetchText(`${url}/echo?msg=again`).catch(() => new Promise<string>((r) => setTimeout(() => r(''), 10)));
    t.is(body, 'again');
    await ask({ type: 'removePodSandbox', podSandboxId }, 'removePodSandboxResponse');
  } finally {
    runtime.shutdown();
    await proxy.close();
  }
});
