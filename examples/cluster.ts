import { readFile } from 'node:fs/promises';
import { Cluster, HttpsTransport, KubeClient, RealClock, transportOptionsFromKubeconfig } from 'pocketkube';

// A free front door port and an address block of its own, so it runs beside `pocketkube up`.
const cluster = await Cluster.start({ profile: 'fast', frontDoor: { port: 0 }, apiserverNetwork: '127.42.0' });
// Through the front door with the kubeconfig it wrote, as kubectl does (cluster.apiTransport() speaks actor messages instead).
const transport = new HttpsTransport(transportOptionsFromKubeconfig(await readFile(cluster.kubeconfigPath, 'utf8')));
const kube = new KubeClient({ transport, clock: new RealClock() });
const namespace = { apiVersion: 'v1', kind: 'Namespace' };
await kube.create(namespace, { ...namespace, metadata: { name: 'before' } });

const victim = cluster.lastServedBy()!;
await cluster.system.killHost(victim);                  // a power cut: its threads end at once
// The kept-alive connection to the victim is dead. A read on it is replayed on a new connection;
// a write is not (it might have landed before the cut), so read first, as a careful client does.
const before = (await kube.list(namespace)).items.length;
await kube.create(namespace, { ...namespace, metadata: { name: 'after' } }); // the front door sends it to another master
const names = (await kube.list(namespace)).items.map((ns) => ns.metadata?.name);
console.log(`killed ${victim}; namespaces: ${names.join(', ')} (${names.length - before} created after the kill)`);
transport.close();
await cluster.stop();
