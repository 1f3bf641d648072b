/** Shared helpers for the cluster tests: a kubectl runner with a fresh discovery cache, free ports. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { leaderElectionProfiles } from '../../src/client/leader-election.js';
import { address } from '../../src/primitives/address.js';
import { RealClock } from '../../src/runtime/real-clock.js';

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Kubectl {
  (args: readonly string[], opts?: { timeoutMs?: number; input?: string }): Promise<KubectlResult>;
  /** Removes the cache directory. */
  close(): Promise<void>;
}

/** kubectl 1.32 from PATH against `kubeconfig`, with its own --cache-dir (no stale discovery between tests). */
export async function kubectlFor(kubeconfig: string): Promise<Kubectl> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'pk-kubectl-cache-'));
  const run = (args: readonly string[], o: { timeoutMs?: number; input?: string } = {}): Promise<KubectlResult> => new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
      { timeout: o.timeoutMs ?? 20_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    if (o.input !== undefined) child.stdin?.end(o.input);
  });
  return Object.assign(run, { close: () => rm(cacheDir, { recursive: true, force: true }) });
}

/** A port nobody listens on at `host` right now. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * After a master is killed: how long until the surviving control plane acknowledges a write
 * (an etcd election, when the killed master held etcd's leader). A leader-elected component cannot
 * take its Lease before that, so failover bounds in tests start from it.
 */
function writableAfter(cluster: Cluster, victim: string, sinceMs: number): { readonly ms: () => Promise<number> } {
  const survivors = cluster.masters.filter((m) => m !== victim).map((m) => address(m, 'apiserver'));
  const client = new KubeClient({ transport: cluster.apiTransport({ servers: survivors, attemptTimeoutMs: 500 }), clock: new RealClock() });
  const done = (async () => {
    for (;;) {
      const ok = await client.create({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'writable-probe-', namespace: 'default' } })
        .then(() => true, () => false);
      if (ok) return Date.now() - sinceMs;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { ms: () => done };
}

/** Watches this thread's timers: stop() returns the largest lateness seen (ms). */
function timerLateness(periodMs = 50): { stop: () => number } {
  let maxLateMs = 0;
  let expected = Date.now() + periodMs;
  const timer = setInterval(() => {
    const now = Date.now();
    maxLateMs = Math.max(maxLateMs, now - expected);
    expected = now + periodMs;
  }, periodMs);
  return { stop: () => { clearInterval(timer); return maxLateMs; } };
}

export interface TakeoverBound {
  /** The bound (ms after the kill) a successor must be active by. */
  readonly boundMs: number;
  /** When the survivors accepted a write again (ms after the kill). */
  readonly writableMs: number;
  /** The largest lateness of this thread's timers meanwhile (ms). */
  readonly lateMs: number;
}

/**
 * Kills `victim` (a master) and measures what a fast-profile leader-election takeover is bounded
 * by: a candidate judges the Lease expired leaseDuration after it *observed* the last renew (it
 * polls every retryPeriod, jittered up to 1.2x, so up to one period late), can take it only once
 * the survivors accept writes (an etcd election when the victim led etcd) — and an attempt sent
 * before then may hang until its renewDeadline — and tries on its next retry tick; plus how late
 * this machine ran timers. What is checked is the election, not the speed
 * of a loaded CI box (the benchmarks measure that). `bound(extraMs)` adds component work that
 * follows the takeover (a scheduler's catch-up list).
 */
export async function killForTakeover(cluster: Cluster, victim: string): Promise<{ readonly killedAtMs: number; readonly bound: (extraMs?: number) => Promise<TakeoverBound> }> {
  const fast = leaderElectionProfiles.fast;
  const lateness = timerLateness();
  const killedAtMs = Date.now();
  await cluster.system.killHost(victim);
  const writable = writableAfter(cluster, victim, killedAtMs);
  return {
    killedAtMs,
    bound: async (extraMs = 0) => {
      const lateMs = lateness.stop();
      const writableMs = await writable.ms();
      const retryMs = fast.retryPeriodMs * 1.2;
      return { boundMs: Math.max(fast.leaseDurationMs + retryMs, writableMs + fast.renewDeadlineMs) + retryMs + extraMs + lateMs, writableMs, lateMs };
    },
  };
}
