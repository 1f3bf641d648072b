/** Shared helpers for the cluster tests: a kubectl runner with a fresh discovery cache, free ports. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
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
export function writableAfter(cluster: Cluster, victim: string, sinceMs: number): { readonly ms: () => Promise<number> } {
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
export function timerLateness(periodMs = 50): { stop: () => number } {
  let maxLateMs = 0;
  let expected = Date.now() + periodMs;
  const timer = setInterval(() => {
    const now = Date.now();
    maxLateMs = Math.max(maxLateMs, now - expected);
    expected = now + periodMs;
  }, periodMs);
  return { stop: () => { clearInterval(timer); return maxLateMs; } };
}
