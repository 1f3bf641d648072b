/**
 * apiserver benchmark: ConfigMap creates over HTTPS with 1 and 64 concurrent clients (keep-alive),
 * and watch fan-out to 1,000 HTTPS watchers. Measured twice in one run: through the front door of
 * the real HA control plane (3 apiserver actors on threads over the Raft etcd: the reported
 * metrics), and against one apiserver over LocalKv (one in-process state machine, no Raft: what the
 * apiserver alone can do, for reference).
 * Args: --creates N (default 2000) --watchers N (default 1000) --events N (default 50).
 */
import { Agent, request } from 'node:https';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import { Authenticator, createCa, createServingCert, defaultServingSans, wellKnown } from '../../src/apiserver/auth/index.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { Cluster } from '../../src/cluster/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../src/runtime/real-clock.js';
import { printResult, quantile, round, sortedCopy, numberArg } from './stats.js';

const host = '127.77.250.1';
const token = 'bench-admin-token-0123456789';


interface Target { readonly host: string; readonly port: number; readonly ca: string; readonly token: string }

function post(t: Target, agent: Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: t.host, port: t.port, path, method: 'POST', agent, ca: t.ca,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const configMap = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'value' } });

async function creates(t: Target, ns: string, total: number, concurrency: number): Promise<{ perSecond: number; p50Ms: number; p99Ms: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  // Warm-up: one request per connection, so TLS handshakes are not counted as create latency.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => post(t, agent, `/api/v1/namespaces/${ns}/configmaps`, configMap(`warm-${i}`))));
  let next = 0;
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const status = await post(t, agent, `/api/v1/namespaces/${ns}/configmaps`, configMap(`cm-${i}`));
      if (status !== 201) throw new Error(`create returned ${status}`);
      latencies.push(performance.now() - t0);
    }
  }));
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  const sorted = sortedCopy(latencies);
  return { perSecond: total / seconds, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99) };
}

/** Opens `n` watches, writes `events` objects, and measures delivery of every event to every watcher. */
async function fanOut(t: Target, n: number, events: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: n + 10 });
  let delivered = 0;
  const expected = n * events;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => { done = resolve; });
  const reqs = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof request>>((resolve, reject) => {
    const req = request({ host: t.host, port: t.port, path: '/api/v1/namespaces/watched/configmaps?watch=true', agent, ca: t.ca,
      headers: { authorization: `Bearer ${t.token}` } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        for (const b of chunk) if (b === 10) delivered++;
        if (delivered >= expected) done();
      });
      resolve(req);
    });
    req.on('error', reject);
    req.end();
  })));
  const writer = new Agent({ keepAlive: true, maxSockets: 1 });
  const began = performance.now();
  for (let i = 0; i < events; i++) await post(t, writer, '/api/v1/namespaces/watched/configmaps', configMap(`w-${i}`));
  await all;
  const seconds = (performance.now() - began) / 1000;
  for (const r of reqs) r.destroy();
  agent.destroy();
  writer.destroy();
  return expected / seconds;
}

interface Figures {
  readonly c1: { perSecond: number; p50Ms: number; p99Ms: number };
  readonly c64: { perSecond: number; p50Ms: number; p99Ms: number };
  readonly fan: number;
}

async function measure(label: string, t: Target, total: number, watchers: number, events: number): Promise<Figures> {
  for (const ns of ['c1', 'c64', 'watched']) await post(t, new Agent(), '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
  const c1 = await creates(t, 'c1', Math.max(1, Math.floor(total / 4)), 1);
  console.log(`  ${label} creates, 1 client:   ${round(c1.perSecond)} /s  p50 ${round(c1.p50Ms, 2)} ms  p99 ${round(c1.p99Ms, 2)} ms`);
  const c64 = await creates(t, 'c64', total, 64);
  console.log(`  ${label} creates, 64 clients: ${round(c64.perSecond)} /s  p50 ${round(c64.p50Ms, 2)} ms  p99 ${round(c64.p99Ms, 2)} ms`);
  const fan = await fanOut(t, watchers, events);
  console.log(`  ${label} watch fan-out: ${watchers} watchers x ${events} events: ${round(fan)} events/s delivered`);
  return { c1, c64, fan };
}

/** The real thing: the front door of a 3-master control plane, apiservers over the Raft etcd. */
async function haCluster(total: number, watchers: number, events: number): Promise<Figures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pocketkube-bench-api-'));
  const cluster = await Cluster.start({ dataDir, frontDoor: { host: '127.77.251.1', port: 6443 }, apiserverNetwork: '127.77.252' });
  try {
    const url = new URL(cluster.server);
    console.log(`HA control plane: front door ${cluster.server} -> 3 apiserver actors -> 3-member Raft etcd (fsync on)`);
    return await measure('HA cluster', { host: url.hostname, port: Number(url.port), ca: cluster.pki.ca.certPem, token: cluster.adminToken }, total, watchers, events);
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** One apiserver over LocalKv: the apiserver's own ceiling. */
async function localKv(total: number, watchers: number, events: number): Promise<Figures> {
  const nowMs = Date.now();
  const ca = createCa(nowMs);
  const serving = createServingCert(ca, defaultServingSans([host]), nowMs);
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const authenticator = new Authenticator({ staticTokens: [{ token, username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] }] });
  const core = new ApiServerCore({ kv, clock, authenticator });
  await core.start();
  const server = await ApiHttpsServer.listen({ transport: core, certPem: serving.certPem, keyPem: serving.keyPem, host, port: 0 });
  console.log(`one apiserver over LocalKv (in-process store, no Raft), HTTPS at ${server.url}`);
  try {
    return await measure('LocalKv', { host, port: server.port, ca: ca.certPem, token }, total, watchers, events);
  } finally {
    await server.close();
    core.stop();
    kv.close();
    clock.clearAll();
  }
}

export async function run(args: string[]): Promise<void> {
  const total = numberArg(args, 'creates', 2000);
  const watchers = numberArg(args, 'watchers', 1000);
  const events = numberArg(args, 'events', 50);
  const ha = await haCluster(total, watchers, events);
  const alone = await localKv(total, watchers, events);
  console.log('');
  console.log(`HA cluster: ${round(ha.c1.perSecond)} creates/s (1 client, p50 ${round(ha.c1.p50Ms, 2)} ms), ${round(ha.c64.perSecond)} creates/s (64 clients, p99 ${round(ha.c64.p99Ms, 2)} ms), ${round(ha.fan)} watch events/s to ${watchers} watchers`);
  console.log(`ratio to one apiserver over LocalKv: creates c64 ${round(ha.c64.perSecond / alone.c64.perSecond, 2)}x, fan-out ${round(ha.fan / alone.fan, 2)}x`);
  printResult('apiserver', {
    creates_per_s_c1: round(ha.c1.perSecond), creates_per_s_c64: round(ha.c64.perSecond), create_p99_ms_c64: round(ha.c64.p99Ms, 2),
    watch_events_per_s_1000: round(ha.fan),
  });
}
