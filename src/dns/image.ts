/**
 * The cluster DNS image (`registry.k8s.io/coredns/coredns`): serves the zone of zone.ts on UDP
 * and TCP :53 of its pod IP. Like CoreDNS' in-cluster config it reaches the apiserver through the
 * `kubernetes` Service (KUBERNETES_SERVICE_HOST:PORT, default 127.96.0.1:443) over its pod
 * network, with the mounted ServiceAccount token and CA, and list+watches Services,
 * EndpointSlices and Pods.
 */
import type { Duplex } from 'node:stream';
import type { KubeObject } from '../api/index.js';
import { KubeClient } from '../client/client.js';
import { HttpsTransport } from '../client/https-transport.js';
import { Informer } from '../client/informer.js';
import type { ContainerProcess, Image } from '../cri/image.js';
import { dnsImageRepository } from './addon.js';
import { answerRaw, ClusterZone, TcpFramer } from './zone.js';

const saDir = '/var/run/secrets/kubernetes.io/serviceaccount';
const dnsPort = 53;

export const dnsImage: Image = {
  repository: dnsImageRepository,
  entrypoint: ['/coredns'],
  cmd: [],
  run: runDns,
};

async function runDns(p: ContainerProcess): Promise<number> {
  const token = await p.files.readFile(`${saDir}/token`);
  const ca = await p.files.readFile(`${saDir}/ca.crt`);
  if (token === undefined || ca === undefined) {
    p.stderr(`coredns: no ServiceAccount token or ca.crt under ${saDir}: the pod needs automountServiceAccountToken\n`);
    return 1;
  }
  const host = p.env['KUBERNETES_SERVICE_HOST'] ?? '127.96.0.1';
  const port = Number(p.env['KUBERNETES_SERVICE_PORT'] ?? '443');
  const transport = new HttpsTransport({
    server: `https://${host}:${port}`, caPem: Buffer.from(ca).toString('utf8'), token: Buffer.from(token).toString('utf8').trim(),
    userAgent: 'coredns/1.11.3 (pocketkube)', connect: () => p.net.connect(host, port),
  });
  const client = new KubeClient({ transport, clock: p.clock, prng: p.prng, userAgent: 'coredns/1.11.3 (pocketkube)' });
  const onError = (error: unknown, context: string): void => p.stderr(`coredns: ${context}: ${String(error)}\n`);
  const informers = {
    services: new Informer<KubeObject>({ client, resource: { apiVersion: 'v1', kind: 'Service' }, onError }),
    slices: new Informer<KubeObject>({ client, resource: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' }, onError }),
    pods: new Informer<KubeObject>({ client, resource: { apiVersion: 'v1', kind: 'Pod' }, onError }),
  };
  let zone = new ClusterZone({ services: [], slices: [] });
  let queued = false;
  const rebuild = (): void => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      zone = new ClusterZone({ services: informers.services.list(), slices: informers.slices.list(), pods: informers.pods.list() });
    });
  };
  for (const i of Object.values(informers)) {
    i.addEventHandler({ onAdd: rebuild, onUpdate: rebuild, onDelete: rebuild });
    i.start();
  }
  const udp = await p.net.udp(dnsPort);
  udp.onMessage((data, from) => {
    const reply = answerRaw(zone, data, 'udp');
    if (reply !== undefined) udp.send(reply, from.host, from.port);
  });
  const tcp = await p.net.listen(dnsPort, (stream: Duplex) => {
    const framer = new TcpFramer();
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) {
        const reply = answerRaw(zone, m, 'tcp');
        if (reply !== undefined) stream.write(TcpFramer.frame(reply));
      }
    });
  });
  p.stdout(`.:53\nCoreDNS-1.11.3 (pocketkube) on ${p.net.podIp}\n`);
  await new Promise<void>((resolve) => {
    if (p.signal.aborted) resolve();
    else p.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  for (const i of Object.values(informers)) i.stop();
  transport.close();
  await Promise.all([udp.close(), tcp.close()]);
  return 0;
}
