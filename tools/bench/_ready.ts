import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { HttpsTransport } from '../../src/client/https-transport.js';
import { RealClock } from '../../src/runtime/real-clock.js';
const runs = Number(process.argv[2] ?? 3);
for (let r = 0; r < runs; r++) {
  const c0 = process.cpuUsage();
  const began = performance.now(); const wallBegan = Date.now();
  const cluster = await Cluster.start({ apiserverNetwork: '127.77.252', frontDoor: { host: '127.77.252.100', port: 0 }, seed: 1 });
  const startedMs = performance.now() - began;
  const client = new KubeClient({ transport: new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken }), clock: new RealClock() });
  let tries = 0;
  for (;;) {
    tries++;
    try { await client.create({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'ready-', namespace: 'default' } }); break; } catch (e) { if (tries < 3 || tries % 50 === 0) console.log('  try', tries, String(e).slice(0, 200)); await new Promise((res) => setTimeout(res, 5)); }
  }
  const readyMs = performance.now() - began;
  const c = process.cpuUsage(c0);
  console.log(`start returned ${startedMs.toFixed(0)} ms, first write acked ${readyMs.toFixed(0)} ms (tries ${tries}), cpu ${((c.user + c.system) / 1000).toFixed(0)} ms`);
  if (process.env['PK_S']) { const st = await cluster.system.network.stats(); const agg: Record<string, number> = {}; for (const [link, byType] of Object.entries(st)) for (const [type, c] of Object.entries(byType as Record<string, { delivered?: number; sent?: number }>)) { const k = `${link.split('>').map((h) => h.replace(/master-\d/, 'M')).join('>')} ${type}`; agg[k] = (agg[k] ?? 0) + ((c as { delivered?: number }).delivered ?? 0); } console.log(Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${k}=${v}`).join('  ')); }
  if (process.env['PK_T']) { const recs = (cluster.system as unknown as { logs: { all(): { atMs: number; source: string; message: string; fields?: unknown }[] } }).logs.all(); for (const rec of recs) console.log(`   ${(rec.atMs - wallBegan).toFixed(0)} ${rec.source} ${rec.message} ${JSON.stringify(rec.fields ?? {}).slice(0, 150)}`); }
  await cluster.stop();
}
process.exit(0);
