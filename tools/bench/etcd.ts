import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.js';
import type { EtcdClient } from '../../src/client/etcd-client.js';
import { closedLoop, type LoadResult } from './load.js';
import { RealEtcd } from './real-etcd.js';
import { printResult, quantile, round, sortedCopy } from './stats.js';

const VALUE = new Uint8Array(256).fill(120);
const CONCURRENCY = [1, 16, 256] as const;
const LOAD_MS = 3_000;
const FAILOVER_TRIALS = 30;
const RECOVERY_ENTRIES = 100_000;

function describe(name: string, r: LoadResult): string {
  return `${name}: ${Math.round(r.opsPerS).toLocaleString('en-US')} writes/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${r.ops} ok, ${r.errors} failed)`;
}

async function waitForLeader(cluster: EtcdCluster, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await cluster.leader(300)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no leader elected');
}

async function putOk(client: EtcdClient, key: string): Promise<boolean> {
  return (await client.put({ key, value: VALUE })).ok;
}

async function pocketkubeWrites(dataDir: string): Promise<Record<number, LoadResult>> {
  const cluster = await EtcdCluster.start({ placement: 'threads', dataDir: join(dataDir, 'pocketkube') });
  try {
    await waitForLeader(cluster);
    const client = cluster.client({ clientId: 'bench' });
    const results: Record<number, LoadResult> = {};
    for (const clients of CONCURRENCY) {
      results[clients] = await closedLoop(clients, LOAD_MS, (c, n) => putOk(client, `/bench/${c}/${n % 100}`));
      console.log(`  ${describe(`pocketkube c=${clients}`, results[clients]!)}`);
    }
    return results;
  } finally {
    await cluster.stop();
  }
}

async function realEtcdWrites(dataDir: string): Promise<Record<number, LoadResult> | undefined> {
  if (!RealEtcd.available()) {
    console.log('  real etcd: not installed (apt-get install etcd-server) — skipped');
    return undefined;
  }
  const real = await RealEtcd.start(dataDir);
  const client = new Etcd3({ hosts: real.endpoints });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        await client.put('/warmup').value('x');
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const results: Record<number, LoadResult> = {};
    for (const clients of CONCURRENCY) {
      results[clients] = await closedLoop(clients, LOAD_MS, async (c, n) => {
        try {
          await client.put(`/bench/${c}/${n % 100}`).value(Buffer.from(VALUE));
          return true;
        } catch {
          return false;
        }
      });
      console.log(`  ${describe(`etcd 3.4   c=${clients}`, results[clients]!)}`);
    }
    return results;
  } finally {
    client.close();
    await real.stop();
  }
}

/**
 * How the leader fails: `kill` (its host dies; the runtime resets its connections, so members and
 * clients learn of it at once) or `isolate` (a partition: nothing tells anyone, so only the
 * election timeout and the client's patience find it out, as in etcd).
 */
type LeaderFailure = 'kill' | 'isolate';

/** Fail the leader under load; time until a write sent afterwards is acknowledged. */
async function failover(dataDir: string, how: LeaderFailure): Promise<number[]> {
  const cluster = await EtcdCluster.start({ placement: 'threads', dataDir: join(dataDir, `failover-${how}`), profile: 'fast' });
  const samples: number[] = [];
  try {
    await waitForLeader(cluster);
    const clients = Array.from({ length: 8 }, (_, i) => cluster.client({ clientId: `failover-${i}`, requestTimeoutMs: 10_000 }));
    for (let trial = 0; trial < FAILOVER_TRIALS; trial++) {
      await waitForLeader(cluster);
      const leader = (await cluster.leader(300))!;
      const leaderHost = cluster.hostOf(leader);
      let failedAt = Infinity;
      let firstAck = Infinity;
      let running = true;
      const loops = clients.map(async (client, i) => {
        for (let n = 0; running; n++) {
          const invoked = performance.now();
          const result = await client.put({ key: `/failover/${i}/${n % 10}`, value: VALUE });
          // Only a write sent after the failure shows the cluster serving again (an ack already on its way does not).
          if (result.ok && invoked > failedAt && firstAck === Infinity) firstAck = performance.now();
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      failedAt = performance.now();
      const partition = how === 'kill'
        ? (await cluster.system.killHost(leaderHost), undefined)
        : await cluster.system.network.inject({ kind: 'partition', groups: [[leaderHost], cluster.hosts.filter((h) => h !== leaderHost).concat('client')] });
      while (firstAck === Infinity && performance.now() - failedAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 5));
      running = false;
      await Promise.all(loops);
      samples.push(firstAck - failedAt);
      console.log(`  ${how} trial ${trial + 1}: ${how === 'kill' ? 'killed' : 'isolated'} ${leader}, first acknowledged write after ${(firstAck - failedAt).toFixed(0)} ms`);
      if (partition === undefined) await cluster.system.restartHost(leaderHost);
      else await cluster.system.network.heal(partition);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const client of clients) client.close();
    return sortedCopy(samples);
  } finally {
    await cluster.stop();
  }
}

function describeFailover(how: LeaderFailure, samples: readonly number[]): string {
  return `failover (${how} the leader) over ${samples.length} trials: p50 ${quantile(samples, 0.5).toFixed(0)} ms, p99 ${quantile(samples, 0.99).toFixed(0)} ms`;
}

function failoverMetrics(measured: Record<LeaderFailure, number[]>): Record<string, number> {
  return {
    failover_p50_ms: round(quantile(measured.kill, 0.5)),
    failover_p99_ms: round(quantile(measured.kill, 0.99)),
    failover_isolated_p50_ms: round(quantile(measured.isolate, 0.5)),
    failover_isolated_p99_ms: round(quantile(measured.isolate, 0.99)),
  };
}

async function failovers(dataDir: string): Promise<Record<LeaderFailure, number[]>> {
  console.log('failover (fast profile: 50 ms heartbeat, 300-600 ms election timeout), 8 clients writing:');
  return { kill: await failover(dataDir, 'kill'), isolate: await failover(dataDir, 'isolate') };
}

/** Fill a member's WAL with 100k entries, then time its restart (recover snapshot + WAL, rebuild). */
async function recovery(dataDir: string): Promise<number> {
  const cluster = await EtcdCluster.start({ placement: 'threads', dataDir: join(dataDir, 'recovery'), snapshotEveryEntries: 1_000_000_000 });
  try {
    await waitForLeader(cluster);
    const client = cluster.client({ clientId: 'recovery' });
    let written = 0;
    await Promise.all(Array.from({ length: 256 }, async (_, c) => {
      while (written < RECOVERY_ENTRIES) {
        const n = written++;
        await client.put({ key: `/recovery/${c}/${n % 500}`, value: VALUE });
      }
    }));
    const victim = cluster.members.find((m) => m !== cluster.members[0])!;
    const status = await cluster.status(victim);
    await cluster.system.killHost(cluster.hostOf(victim));
    const began = performance.now();
    await cluster.system.restartHost(cluster.hostOf(victim));
    const restartMs = performance.now() - began;
    const after = await cluster.status(victim, 5_000);
    console.log(`  ${victim}: ${status?.lastIndex} entries in its WAL; restart ${restartMs.toFixed(0)} ms; after restart applied ${after?.applied}`);
    return restartMs;
  } finally {
    await cluster.stop();
  }
}

export async function run(args: string[] = []): Promise<void> {
  if (args.includes('--failover-only')) {
    const dir = mkdtempSync(join(tmpdir(), 'pocketkube-bench-etcd-'));
    try {
      const measured = await failovers(dir);
      console.log(describeFailover('kill', measured.kill));
      console.log(describeFailover('isolate', measured.isolate));
      printResult('etcd', failoverMetrics(measured));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'pocketkube-bench-etcd-'));
  try {
    console.log(`etcd: 3 members, fsync on, ${VALUE.length}-byte values, closed-loop clients, ${LOAD_MS} ms per level`);
    console.log('  pocketkube: in-process client on the main thread -> members on worker threads (msgpack over MessagePorts)');
    console.log('  etcd 3.4:   etcd3 npm client -> gRPC over loopback TCP to three etcd processes');
    const ours = await pocketkubeWrites(dataDir);
    const theirs = await realEtcdWrites(dataDir);
    const measured = await failovers(dataDir);
    console.log('recovery:');
    const recoveryMs = await recovery(dataDir);
    console.log('');
    for (const c of CONCURRENCY) {
      const ratio = theirs ? ` = ${round(ours[c]!.opsPerS / theirs[c]!.opsPerS, 2)}x etcd (${Math.round(theirs[c]!.opsPerS)} writes/s)` : '';
      console.log(`c=${c}: ${Math.round(ours[c]!.opsPerS)} writes/s${ratio}`);
    }
    console.log(`single-client p50: ${ours[1]!.p50Ms.toFixed(2)} ms${theirs ? ` vs etcd ${theirs[1]!.p50Ms.toFixed(2)} ms` : ''}`);
    console.log(describeFailover('kill', measured.kill));
    console.log(describeFailover('isolate', measured.isolate));
    console.log(`recovery of a member with ${RECOVERY_ENTRIES} WAL entries: ${recoveryMs.toFixed(0)} ms`);
    printResult('etcd', {
      writes_per_s_c1: round(ours[1]!.opsPerS),
      writes_per_s_c16: round(ours[16]!.opsPerS),
      writes_per_s_c256: round(ours[256]!.opsPerS),
      etcd_writes_per_s_c1: theirs ? round(theirs[1]!.opsPerS) : -1,
      etcd_writes_per_s_c256: theirs ? round(theirs[256]!.opsPerS) : -1,
      p50_ms_c1: round(ours[1]!.p50Ms, 3),
      etcd_p50_ms_c1: theirs ? round(theirs[1]!.p50Ms, 3) : -1,
      ...failoverMetrics(measured),
      recovery_100k_ms: round(recoveryMs),
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
