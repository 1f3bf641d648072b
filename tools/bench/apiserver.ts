/**
 * apiserver benchmark: ConfigMap creates over HTTPS with 1 and 64 concurrent clients (keep-alive),
 * and watch fan-out to 1,000 HTTPS watchers. The store is LocalKv (one in-process state machine, no
 * Raft): these numbers bound the apiserver itself, not the replicated cluster.
 * Args: --creates N (default 2000) --watchers N (default 1000) --events N (default 50).
 */
import { Agent, request } from 'node:https';
import { ApiServerCore } from '../../src/apiserver/core.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import { Authenticator, createCa, createServingCert, defaultServingSans, wellKnown } from '../../src/apiserver/auth/index.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { printResult, quantile, round, sortedCopy } from './stats.js';

const host = '127.77.250.1';
const token = 'bench-admin-token-0123456789';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

interface Target { readonly port: number; readonly ca: string }

function post(t: Target, agent: Agent, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port: t.port, path, method: 'POST', agent, ca: t.ca,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const configMap = (name: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'value' } });

async function creates(t: Target, ns: string, total: number, concurrency: number): Promise<{ perSecond: number; p99Ms: number }> {
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
  return { perSecond: total / seconds, p99Ms: quantile(sortedCopy(latencies), 0.99) };
}

/** Opens `n` watches, writes `events` objects, and measures delivery of every event to every watcher. */
async function fanOut(t: Target, n: number, events: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: n + 10 });
  let delivered = 0;
  const expected = n * events;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => { done = resolve; });
  const reqs = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof request>>((resolve, reject) => {
    const req = request({ host, port: t.port, path: '/api/v1/namespaces/watched/configmaps?watch=true', agent, ca: t.ca,
      headers: { authorization: `Bearer ${token}` } }, (res) => {
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

export async function run(args: string[]): Promise<void> {
  const total = arg(args, 'creates', 2000);
  const watchers = arg(args, 'watchers', 1000);
  const events = arg(args, 'events', 50);
  const nowMs = Date.now();
  const ca = createCa(nowMs);
  const serving = createServingCert(ca, defaultServingSans([host]), nowMs);
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const authenticator = new Authenticator({ staticTokens: [{ token, username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] }] });
  const core = new ApiServerCore({ kv, clock, authenticator });
  await core.start();
  const server = await ApiHttpsServer.listen({ transport: core, certPem: serving.certPem, keyPem: serving.keyPem, host, port: 0 });
  const t: Target = { port: server.port, ca: ca.certPem };
  console.log(`apiserver bench over LocalKv (in-process store, no Raft), HTTPS at ${server.url}`);
  try {
    for (const ns of ['c1', 'c64', 'watched']) await post(t, new Agent(), '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    const c1 = await creates(t, 'c1', Math.max(1, Math.floor(total / 4)), 1);
    console.log(`creates, 1 client:   ${round(c1.perSecond)} /s  p99 ${round(c1.p99Ms, 2)} ms`);
    const c64 = await creates(t, 'c64', total, 64);
    console.log(`creates, 64 clients: ${round(c64.perSecond)} /s  p99 ${round(c64.p99Ms, 2)} ms`);
    const fan = await fanOut(t, watchers, events);
    console.log(`watch fan-out: ${watchers} watchers x ${events} events: ${round(fan)} events/s delivered`);
    printResult('apiserver', {
      creates_per_s_c1: round(c1.perSecond), creates_per_s_c64: round(c64.perSecond), create_p99_ms_c64: round(c64.p99Ms, 2),
      watch_events_per_s_1000: round(fan),
    });
  } finally {
    await server.close();
    core.stop();
    kv.close();
    clock.clearAll();
  }
}
