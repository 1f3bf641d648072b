import { EtcdCluster } from 'pocketkube';

const cluster = await EtcdCluster.start({ placement: 'threads' });   // or 'simulated', with a seed
const client = cluster.client();
await client.put({ key: '/registry/pods/default/web', value: new TextEncoder().encode('{}') });
const leader = await cluster.leader();
await cluster.system.killHost(cluster.hostOf(leader!));                // no goodbye; its connections reset
await cluster.system.network.inject({ kind: 'delay', delay: { dist: 'normal', meanMs: 75, jitterMs: 50 } });
const read = await client.range({ key: '/registry/pods/', prefix: true });  // the two survivors still serve
if (!read.ok) throw new Error(`read failed: ${read.error.code}`);
console.log(`${read.value.count} key(s) after losing ${leader}`);
await cluster.stop();
