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
/** Trials per failover figure: a p99 needs at least 100 (of 30, the p99 is simply the maximum). */
const FAILOVER_TRIALS = 100;
/** `--quick`: a smoke run, not for reported figures. */
const QUICK_FAILOVER_TRIALS = 20;
/** The fast profile's Raft timing, given to real etcd too when their failovers are compared. */
const FAST_HEARTBEAT_MS = 50;
const FAST_ELECTION_TIMEOUT_MS = 300;
const FAILOVER_CLIENTS = 8;
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
async function failover(dataDir: string, how: LeaderFailure, trials: number): Promise<number[]> {
  const cluster = await EtcdCluster.start({ placement: 'threads', dataDir: join(dataDir, `failover-${how}`), profile: 'fast' });
  const samples: number[] = [];
  try {
    await waitForLeader(cluster);
    const clients = Array.from({ length: FAILOVER_CLIENTS }, (_, i) => cluster.client({ clientId: `failover-${i}`, requestTimeoutMs: 10_000 }));
    for (let trial = 0; trial < trials; trial++) {
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
      if (firstAck === Infinity) throw new Error(`${how} trial ${trial + 1}: no write acknowledged within 10 s of the failure`);
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

/**
 * Real etcd's failover, for comparison: the same 8 writing clients (the etcd3 npm client, gRPC
 * over loopback TCP, each with all three endpoints), the same Raft timing as the fast profile
 * (--heartbeat-interval 50, --election-timeout 300, randomised by etcd to 300-600 ms), and the
 * same measure: SIGKILL the leader's process, time until a write sent after the kill is
 * acknowledged. The killed member is restarted on its data between trials.
 */
async function realEtcdFailover(dataDir: string, trials: number): Promise<number[] | undefined> {
  if (!RealEtcd.available()) {
    console.log('  real etcd: not installed (apt-get install etcd-server) — its failover skipped');
    return undefined;
  }
  const real = await RealEtcd.start(dataDir, { heartbeatMs: FAST_HEARTBEAT_MS, electionTimeoutMs: FAST_ELECTION_TIMEOUT_MS });
  const clients = Array.from({ length: FAILOVER_CLIENTS }, () => new Etcd3({ hosts: real.endpoints }));
  const samples: number[] = [];
  const leaderWithin = async (timeoutMs: number): Promise<number> => {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const leader = await real.leader();
      if (leader !== undefined) return leader;
      if (performance.now() > deadline) throw new Error(`real etcd: no agreed leader within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  try {
    for (let trial = 0; trial < trials; trial++) {
      const leader = await leaderWithin(20_000);
      let failedAt = Infinity;
      let firstAck = Infinity;
      let running = true;
      const loops = clients.map(async (client, i) => {
        for (let n = 0; running; n++) {
          const invoked = performance.now();
          try {
            await client.put(`/failover/${i}/${n % 10}`).value(Buffer.from(VALUE));
            if (invoked > failedAt && firstAck === Infinity) firstAck = performance.now();
          } catch {
            // The client gave up on this write (its own retries exhausted): send the next one.
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      failedAt = performance.now();
      await real.kill(leader);
      while (firstAck === Infinity && performance.now() - failedAt < 10_000) await new Promise((resolve) => setTimeout(resolve, 5));
      running = false;
      await Promise.all(loops);
      if (firstAck === Infinity) throw new Error(`real etcd trial ${trial + 1}: no write acknowledged within 10 s of the kill`);
      samples.push(firstAck - failedAt);
      console.log(`  etcd 3.4 kill trial ${trial + 1}: killed member ${leader + 1}, first acknowledged write after ${(firstAck - failedAt).toFixed(0)} ms`);
      real.restart(leader);
      // The next kill needs all three back, agreeing on a leader.
      const deadline = performance.now() + 20_000;
      while (!(await real.whole())) {
        if (performance.now() > deadline) throw new Error('real etcd: the restarted member did not rejoin within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return sortedCopy(samples);
  } finally {
    for (const client of clients) client.close();
    await real.stop();
  }
}

function describeFailover(label: string, samples: readonly number[]): string {
  return `failover (${label}) over ${samples.length} trials: p50 ${quantile(samples, 0.5).toFixed(0)} ms, p99 ${quantile(samples, 0.99).toFixed(0)} ms, max ${samples.at(-1)!.toFixed(0)} ms`;
}

interface Failovers {
  readonly kill: number[];
  readonly isolate: number[];
  /** Real etcd's processes SIGKILLed; undefined when etcd is not installed. */
  readonly realKill: number[] | undefined;
}

function failoverMetrics(measured: Failovers): Record<string, number> {
  return {
    failover_trials: measured.kill.length,
    failover_p50_ms: round(quantile(measured.kill, 0.5)),
    failover_p99_ms: round(quantile(measured.kill, 0.99)),
    failover_isolated_p50_ms: round(quantile(measured.isolate, 0.5)),
    failover_isolated_p99_ms: round(quantile(measured.isolate, 0.99)),
    etcd_failover_p50_ms: measured.realKill ? round(quantile(measured.realKill, 0.5)) : -1,
    etcd_failover_p99_ms: measured.realKill ? round(quantile(measured.realKill, 0.99)) : -1,
  };
}

function describeFailovers(measured: Failovers): void {
  console.log(describeFailover('pocketkube, leader\'s host killed', measured.kill));
  console.log(describeFailover('pocketkube, leader isolated', measured.isolate));
  if (measured.realKill) console.log(describeFailover('etcd 3.4, leader\'s process SIGKILLed', measured.realKill));
}

async function failovers(dataDir: string, trials: number): Promise<Failovers> {
  console.log(`failover, ${trials} trials each, ${FAILOVER_CLIENTS} clients writing; the time until a write sent after the failure is acknowledged:`);
  console.log(`  pocketkube (fast profile: ${FAST_HEARTBEAT_MS} ms heartbeat, ${FAST_ELECTION_TIMEOUT_MS}-${2 * FAST_ELECTION_TIMEOUT_MS} ms election timeout): EtcdClient on the main thread -> members on worker threads (msgpack over MessagePorts)`);
  console.log(`  etcd 3.4 (--heartbeat-interval ${FAST_HEARTBEAT_MS} --election-timeout ${FAST_ELECTION_TIMEOUT_MS}): etcd3 npm client -> gRPC over loopback TCP to three etcd processes`);
  return {
    kill: await failover(dataDir, 'kill', trials),
    isolate: await failover(dataDir, 'isolate', trials),
    realKill: await realEtcdFailover(dataDir, trials),
  };
}

/** `--trials N` (default 100), or `--quick` for a short smoke run. */
function failoverTrials(args: readonly string[]): number {
  const i = args.indexOf('--trials');
  if (i >= 0) {
    const n = Number(args[i + 1]);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--trials takes a positive integer, not ${String(args[i + 1])}`);
    return n;
  }
  return args.includes('--quick') ? QUICK_FAILOVER_TRIALS : FAILOVER_TRIALS;
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
  const trials = failoverTrials(args);
  if (trials < FAILOVER_TRIALS) console.log(`(${trials} failover trials: a quick run; reported figures use ${FAILOVER_TRIALS})`);
  if (args.includes('--failover-only')) {
    const dir = mkdtempSync(join(tmpdir(), 'pocketkube-bench-etcd-'));
    try {
      const measured = await failovers(dir, trials);
      describeFailovers(measured);
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
    const measured = await failovers(dataDir, trials);
    console.log('recovery:');
    const recoveryMs = await recovery(dataDir);
    console.log('');
    for (const c of CONCURRENCY) {
      const ratio = theirs ? ` = ${round(ours[c]!.opsPerS / theirs[c]!.opsPerS, 2)}x etcd (${Math.round(theirs[c]!.opsPerS)} writes/s)` : '';
      const latency = (r: LoadResult) => `p50 ${r.p50Ms.toFixed(2)} / p99 ${r.p99Ms.toFixed(2)} ms`;
      console.log(`c=${c}: ${Math.round(ours[c]!.opsPerS)} writes/s${ratio}; pocketkube ${latency(ours[c]!)}${theirs ? `, etcd ${latency(theirs[c]!)}` : ''}`);
    }
    console.log(`single-client p50: ${ours[1]!.p50Ms.toFixed(2)} ms${theirs ? ` vs etcd ${theirs[1]!.p50Ms.toFixed(2)} ms` : ''}`);
    describeFailovers(measured);
    console.log(`recovery of a member with ${RECOVERY_ENTRIES} WAL entries: ${recoveryMs.toFixed(0)} ms`);
    printResult('etcd', {
      writes_per_s_c1: round(ours[1]!.opsPerS),
      writes_per_s_c16: round(ours[16]!.opsPerS),
      writes_per_s_c256: round(ours[256]!.opsPerS),
      etcd_writes_per_s_c1: theirs ? round(theirs[1]!.opsPerS) : -1,
      etcd_writes_per_s_c256: theirs ? round(theirs[256]!.opsPerS) : -1,
      etcd_writes_per_s_c16: theirs ? round(theirs[16]!.opsPerS) : -1,
      ...Object.fromEntries(CONCURRENCY.flatMap((c) => [
        [`p50_ms_c${c}`, round(ours[c]!.p50Ms, 3)],
        [`p99_ms_c${c}`, round(ours[c]!.p99Ms, 3)],
        [`etcd_p50_ms_c${c}`, theirs ? round(theirs[c]!.p50Ms, 3) : -1],
        [`etcd_p99_ms_c${c}`, theirs ? round(theirs[c]!.p99Ms, 3) : -1],
      ])),
      ...failoverMetrics(measured),
      recovery_100k_ms: round(recoveryMs),
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
