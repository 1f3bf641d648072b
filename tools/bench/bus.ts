import { availableParallelism, loadavg } from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { EchoMessage } from '../../src/echo/messages.js';
import type { HostSpec } from '../../src/runtime/actor.js';
import { ThreadedSystem } from '../../src/runtime/threaded.js';
import { median, printResult, quantile, round, sortedCopy } from './stats.js';
import { builtinRegistry } from '../../actors/registry.js';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { HttpsTransport } from '../../src/client/https-transport.js';
import { RealClock } from '../../src/runtime/real-clock.js';

type Stats = Extract<EchoMessage, { type: 'stats' }>;
type Latencies = Extract<EchoMessage, { type: 'latencies' }>;

const RUNS = 3;
/** Starts of the 27 threads: more runs than the rest, as this figure swings most with the machine's load. */
const START_RUNS = 7;
const BATCHED_MESSAGES = 1_000_000;
const UNBATCHED_MESSAGES = 200_000;
const LATENCY_SAMPLES = 5_000;
const READY_RUNS = 5;
/** The cluster_ready runs' own loopback block (apiservers .1-.3, front door .100). */
const READY_NETWORK = '127.77.252';

const pair: HostSpec[] = [
  { name: 'h1', actors: [{ name: 'echo', kind: 'echo' }] },
  { name: 'h2', actors: [{ name: 'echo', kind: 'echo' }] },
];

/** One-way throughput between two actors on two threads, through codec + relay + mailbox. */
async function fullStack(batching: boolean, count: number): Promise<number> {
  const system = await ThreadedSystem.start({ registry: builtinRegistry(), hosts: pair, batching });
  try {
    const began = performance.now();
    await system.ask('h1/echo', { type: 'blast', to: 'h2/echo', count, burst: 4096 });
    for (;;) {
      const stats = await system.ask<Stats>('h2/echo', { type: 'getStats' }, { timeoutMs: 30_000 });
      if (stats.echoed >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return count / ((performance.now() - began) / 1000);
  } finally {
    await system.stop();
  }
}

/** The same traffic over a bare MessageChannel between two workers (msgpackr, 64 per post). */
async function rawPorts(count: number): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const url = new URL('./raw-port-worker.mjs', import.meta.url);
  const receiver = new Worker(url, { workerData: { role: 'receiver', port: port2, count }, transferList: [port2], execArgv: [] });
  const sender = new Worker(url, { workerData: { role: 'sender', port: port1, count, batch: 64, burst: 8 }, transferList: [port1], execArgv: [] });
  try {
    await new Promise((resolve) => receiver.once('message', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = performance.now();
    const done = new Promise((resolve) => receiver.once('message', resolve));
    sender.postMessage('go');
    await done;
    return count / ((performance.now() - began) / 1000);
  } finally {
    await Promise.all([sender.terminate(), receiver.terminate()]);
  }
}

async function latency(): Promise<number[]> {
  const system = await ThreadedSystem.start({ registry: builtinRegistry(), hosts: pair });
  try {
    const reply = await system.ask<Latencies>('h1/echo', { type: 'measureLatency', to: 'h2/echo', count: LATENCY_SAMPLES }, { timeoutMs: 60_000 });
    return sortedCopy(reply.roundTripsUs);
  } finally {
    await system.stop();
  }
}

/** The default cluster's shape: 3 masters x 7 actors + 2 workers x 3 actors = 27 threads. */
function clusterShape(): HostSpec[] {
  const master = ['etcd', 'apiserver', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy', 'container-runtime'];
  const node = ['kubelet', 'kube-proxy', 'container-runtime'];
  return [
    ...[1, 2, 3].map((i) => ({ name: `master-${i}`, actors: master.map((name) => ({ name, kind: 'echo' })) })),
    ...[1, 2].map((i) => ({ name: `worker-${i}`, actors: node.map((name) => ({ name, kind: 'echo' })) })),
  ];
}

interface StartRun {
  readonly startMs: number;
  /** CPU time of the whole process (every thread) during the start: what the start costs, whatever else runs. */
  readonly cpuMs: number;
  readonly rssMb: number;
}

async function start27(): Promise<StartRun> {
  const registry = builtinRegistry();
  const cpuBefore = process.cpuUsage();
  const system = await ThreadedSystem.start({ registry, hosts: clusterShape() });
  const cpu = process.cpuUsage(cpuBefore);
  try {
    const infos = await system.list();
    if (infos.length !== 27 || new Set(infos.map((i) => i.thread)).size !== 27) throw new Error('expected 27 actors on 27 threads');
    return { startMs: system.startupMs, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: process.memoryUsage().rss / 1048576 };
  } finally {
    await system.stop();
  }
}

interface ReadyRun {
  /** From `Cluster.start()` to the first write acknowledged through the front door. */
  readonly readyMs: number;
  /** Until `Cluster.start()` returned (every apiserver and the front door answering /readyz). */
  readonly startMs: number;
  readonly cpuMs: number;
}

/**
 * A fresh 3-master cluster (new PKI, empty etcd), then ConfigMap creates over HTTPS through the
 * front door, as kubectl would send them, until one is acknowledged.
 */
async function clusterReady(): Promise<ReadyRun> {
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  const cluster = await Cluster.start({ masters: 3, apiserverNetwork: READY_NETWORK, frontDoor: { host: `${READY_NETWORK}.100`, port: 0 } });
  const startMs = performance.now() - began;
  const transport = new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken, requestTimeoutMs: 5_000 });
  try {
    const client = new KubeClient({ transport, clock: new RealClock() });
    for (let attempt = 1; ; attempt++) {
      try {
        await client.create({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'ready-', namespace: 'default' } });
        break;
      } catch (error) {
        if (attempt >= 200) throw new Error(`no write acknowledged through the front door after ${attempt} attempts: ${String(error)}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const readyMs = performance.now() - began;
    const cpu = process.cpuUsage(cpuBefore);
    return { readyMs, startMs, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    transport.close();
    await cluster.stop();
  }
}

async function repeat<T>(label: string, runs: number, fn: () => Promise<T>, show: (value: T) => string): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < runs; i++) {
    const value = await fn();
    values.push(value);
    console.log(`  ${label} run ${i + 1}: ${show(value)}`);
  }
  return values;
}

export async function run(): Promise<void> {
  const perSecond = (value: number) => `${Math.round(value).toLocaleString('en-US')} msgs/s`;
  console.log(`bus: two actors on two threads; ${RUNS} runs each, medians reported`);
  const raw = median(await repeat('raw MessagePort, 64 per post', RUNS, () => rawPorts(BATCHED_MESSAGES), perSecond));
  const batched = median(await repeat('full stack, batched', RUNS, () => fullStack(true, BATCHED_MESSAGES), perSecond));
  const unbatched = median(await repeat('full stack, unbatched', RUNS, () => fullStack(false, UNBATCHED_MESSAGES), perSecond));
  const rtts = await latency();
  const starts = await repeat('27 actor threads', START_RUNS, start27, (r) => `${r.startMs.toFixed(0)} ms, CPU ${r.cpuMs.toFixed(0)} ms, RSS ${r.rssMb.toFixed(0)} MiB`);
  const startMs = median(starts.map((s) => s.startMs));
  const startCpuMs = median(starts.map((s) => s.cpuMs));
  const rssMb = median(starts.map((s) => s.rssMb));
  const readies = await repeat('cluster ready (3 masters, first write through the front door)', READY_RUNS, clusterReady, (r) => `${r.readyMs.toFixed(0)} ms (Cluster.start returned after ${r.startMs.toFixed(0)} ms), CPU ${r.cpuMs.toFixed(0)} ms`);
  const readyMs = median(readies.map((r) => r.readyMs));
  const readyCpuMs = median(readies.map((r) => r.cpuMs));

  console.log('');
  console.log(`raw MessagePort baseline (batched 64): ${perSecond(raw)}`);
  console.log(`full stack batched:                    ${perSecond(batched)}  (${round(batched / raw, 2)}x raw)`);
  console.log(`full stack unbatched:                  ${perSecond(unbatched)}  (${round(unbatched / raw, 2)}x raw)`);
  console.log(`ask round trip, 1 in flight:           p50 ${round(quantile(rtts, 0.5))} us, p99 ${round(quantile(rtts, 0.99))} us (${rtts.length} samples)`);
  console.log(`27 actor threads:                      start ${round(startMs)} ms (CPU ${round(startCpuMs)} ms), process RSS ${round(rssMb)} MiB`);
  console.log(`cluster ready (3 masters):             ${round(readyMs)} ms to the first acknowledged write through the front door (CPU ${round(readyCpuMs)} ms)`);
  console.log(`load average at the end (1 min, ${availableParallelism()} CPUs): ${round(loadavg()[0]!, 1)}`);
  printResult('bus', {
    msgs_per_s_batched: round(batched),
    msgs_per_s_unbatched: round(unbatched),
    raw_msgs_per_s_batched: round(raw),
    p50_us: round(quantile(rtts, 0.5)),
    p99_us: round(quantile(rtts, 0.99)),
    start_27_actor_threads_ms: round(startMs),
    start_27_actor_threads_cpu_ms: round(startCpuMs),
    rss_27_actor_threads_mb: round(rssMb),
    cluster_ready_ms: round(readyMs),
    cluster_ready_cpu_ms: round(readyCpuMs),
  });
}
