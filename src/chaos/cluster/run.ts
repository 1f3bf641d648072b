import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { address, type Address } from '../../primitives/address.js';
import { RealClock } from '../../runtime/real-clock.js';
import { SeededPrng } from '../../primitives/prng.js';
import type { ActorSystem } from '../../runtime/system.js';
import { Cluster, readyz } from '../../cluster/index.js';
import { ApiError, HttpsTransport, KubeClient, isNotFound } from '../../client/index.js';
import type { MemberStatus } from '../../etcd/messages.js';
import {
  HistoryRecorder, aggregate, checkAckedWritesPresent, checkRun, toCheckResult,
  type CheckResult, type KvValue,
} from '../check/index.js';
import { driverFor, waitUntil } from '../driver.js';
import { memberHashes } from '../etcd/run.js';
import type { ChaosOutcome } from '../outcome.js';

export type ControlPlaneExperiment = 'kill-serving-master' | 'isolate-serving-master';

export interface ControlPlaneChaosOptions {
  /** What happens to the master whose apiserver served the last request (default kill). */
  readonly experiment?: ControlPlaneExperiment;
  readonly seed: number;
  /** Loopback block for this run: front door on <block>.0.1, apiservers on <block>.1.N. */
  readonly network?: string;
  readonly processes?: number;
  readonly keys?: number;
  /**
   * kill-serving-master: kill the master without resetting its connections, a power loss the others
   * find out by their timeouts. Default false: killed as a process is, its connections reset at once.
   */
  readonly silentKill?: boolean;
}

export interface ControlPlaneChaosResult extends ChaosOutcome {
  readonly experiment: ControlPlaneExperiment;
  readonly seed: number;
}

const CONFIGMAP = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
const NAMESPACE = 'chaos';
const WARMUP_MS = 1_000;
const DOWN_MS = 3_000;
const AFTER_MS = 1_500;
/** Kubernetes clients retry for much longer; an HA control plane should be back well within this. */
const RECOVERY_BUDGET_MS = 5_000;

function keyName(index: number): string {
  return `cm-${index}`;
}

/** What the run's clients saw: an acknowledged write, or nothing certain. */
function definiteFailure(error: unknown): boolean {
  // 4xx: the apiserver refused the request before writing. 5xx, timeouts, broken connections: unknown.
  return error instanceof ApiError && error.code >= 400 && error.code < 500 && error.code !== 408 && error.code !== 429;
}

class ConfigMapWorkload {
  readonly history = new HistoryRecorder();
  readonly ackTimes: number[] = [];
  private running = true;
  private written = 0;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly kube: KubeClient, private readonly random: SeededPrng, private readonly keys: number, private readonly began: number) {}

  now(): number {
    return performance.now() - this.began;
  }

  start(processes: number): void {
    for (let p = 0; p < processes; p++) this.loops.push(this.loop(p));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(process: number): Promise<void> {
    while (this.running) {
      const key = keyName(this.random.int(this.keys));
      if (this.random.next() < 0.5) await this.read(process, key);
      else await this.write(process, key);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async read(process: number, key: string): Promise<void> {
    const handle = this.history.invoke(process, 'read', key, null, this.now());
    try {
      const object = await this.kube.get(CONFIGMAP, NAMESPACE, key);
      const value = (object['data'] as Record<string, string> | undefined)?.['v'] ?? null;
      handle.ok(this.now(), { value });
    } catch (error) {
      if (isNotFound(error)) handle.ok(this.now(), { value: null });
      else handle.info(this.now(), String(error));
    }
  }

  private async write(process: number, key: string): Promise<void> {
    const value = `${process}:${++this.written}`;
    const handle = this.history.invoke(process, 'write', key, value, this.now());
    try {
      // Server-side apply: one request that creates or updates, as `kubectl apply --server-side`.
      await this.kube.patch(CONFIGMAP, NAMESPACE, key, { ...CONFIGMAP, metadata: { name: key, namespace: NAMESPACE }, data: { v: value } }, { type: 'apply', fieldManager: `client-${process}`, force: true });
      handle.ok(this.now());
      this.ackTimes.push(this.now());
    } catch (error) {
      if (definiteFailure(error)) handle.fail(this.now(), String(error));
      else handle.info(this.now(), String(error));
    }
  }
}

async function etcdStatuses(system: ActorSystem, members: readonly Address[]): Promise<MemberStatus[]> {
  const answers = await Promise.all(members.map(async (member) => {
    try {
      return (await system.ask<{ type: 'statusReply'; status: MemberStatus }>(member, { type: 'status' }, { timeoutMs: 300 })).status;
    } catch {
      return undefined;
    }
  }));
  return answers.filter((s): s is MemberStatus => s !== undefined);
}

/** Injects the experiment's fault on `victim`; returns how to heal it (resolving to a note). */
async function injectFault(cluster: Cluster, experiment: ControlPlaneExperiment, victim: string, silentKill: boolean, note: (text: string) => void): Promise<() => Promise<string>> {
  switch (experiment) {
    case 'kill-serving-master': {
      await cluster.system.killHost(victim, { resetConnections: !silentKill });
      note(`killed ${victim} ${silentKill ? 'silently (a power loss: no connection resets)' : '(its connections reset)'}; its apiserver served the last request, its etcd member died with it`);
      return async () => {
        await cluster.system.restartHost(victim);
        return `restarted ${victim}`;
      };
    }
    case 'isolate-serving-master': {
      // The other masters cannot reach it nor it them; clients still can (HTTPS to its apiserver).
      const others = cluster.masters.filter((m) => m !== victim);
      const partition = await cluster.system.network.inject({ kind: 'partition', groups: [[victim], others] });
      note(`cut ${victim} off from ${others.join(' and ')}; its apiserver served the last request and still takes connections`);
      return async () => {
        await cluster.system.network.heal(partition);
        return `healed the partition around ${victim}`;
      };
    }
    default: {
      const unreachable: never = experiment;
      throw new Error(`unknown control-plane experiment ${String(unreachable)}`);
    }
  }
}

/**
 * The main job's experiment: a 3-master control plane (etcd + apiserver per master, front door)
 * on real threads; clients create and update ConfigMaps over HTTPS through the front door (as
 * kubectl does) while the master whose apiserver served the last request is killed (as a process,
 * or silently as in a power loss) and comes back. Verdict: linearizable API history, acknowledged writes present, the API back within the
 * budget, every apiserver ready again, etcd members equal, a final write.
 */
export async function runControlPlaneChaos(options: ControlPlaneChaosOptions): Promise<ControlPlaneChaosResult> {
  const experiment = options.experiment ?? 'kill-serving-master';
  const network = options.network ?? '127.79';
  const dataDir = mkdtempSync(join(tmpdir(), 'pocketkube-chaos-'));
  const began = performance.now();
  const notes: string[] = [];
  const checks: CheckResult[] = [];
  const cluster = await Cluster.start({ dataDir, frontDoor: { host: `${network}.0.1`, port: 6443 }, apiserverNetwork: `${network}.1`, seed: options.seed });
  const transport = new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken, requestTimeoutMs: 2_000 });
  try {
    notes.push(`started ${cluster.masters.length} masters (etcd + apiserver each) and the front door at ${cluster.server} in ${Math.round(performance.now() - began)} ms`);
    const kube = new KubeClient({ transport, clock: new RealClock(), requestTimeoutMs: 2_000, maxReadAttempts: 1 });
    await kube.create({ apiVersion: 'v1', kind: 'Namespace' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const keys = options.keys ?? 5;
    const workload = new ConfigMapWorkload(kube, new SeededPrng(options.seed), keys, began);
    workload.start(options.processes ?? 4);
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));

    const victim = cluster.lastServedBy() ?? cluster.masters[0]!;
    const faultAt = workload.now();
    const heal = await injectFault(cluster, experiment, victim, options.silentKill ?? false, (note) => notes.push(`at ${Math.round(faultAt)} ms: ${note}`));
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    const firstAck = workload.ackTimes.find((t) => t > faultAt);
    const recoveryMs = firstAck === undefined ? Infinity : firstAck - faultAt;
    checks.push({ name: 'api-recovered', status: recoveryMs <= RECOVERY_BUDGET_MS ? 'pass' : 'fail', detail: firstAck === undefined ? `no write acknowledged within ${DOWN_MS} ms of the fault` : `first write acknowledged ${Math.round(recoveryMs)} ms after the fault (budget ${RECOVERY_BUDGET_MS} ms)` });

    notes.push(await heal());
    const ready = await waitUntil(driverFor(cluster.system), async () => (await Promise.all(cluster.apiserverUrls.map((url) => readyz(url, cluster.pki.ca.certPem, 500)))).every(Boolean), 10_000, 100);
    checks.push({ name: 'apiservers-ready-again', status: ready ? 'pass' : 'fail', detail: ready ? 'all apiservers answer /readyz after healing' : 'an apiserver is still not ready 10 s after healing' });
    await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
    await workload.stop();

    const final = await kube.patch(CONFIGMAP, NAMESPACE, 'final', { ...CONFIGMAP, metadata: { name: 'final', namespace: NAMESPACE }, data: { v: 'final' } }, { type: 'apply', fieldManager: 'final', force: true }).then(() => true, () => false);
    checks.push({ name: 'final-write', status: final ? 'pass' : 'fail', detail: final ? 'a write after healing was acknowledged' : 'the write after healing failed' });
    const state = new Map<string, KvValue | null>();
    for (let i = 0; i < keys; i++) {
      const key = keyName(i);
      try {
        const object = await kube.get(CONFIGMAP, NAMESPACE, key);
        state.set(key, (object['data'] as Record<string, string> | undefined)?.['v'] ?? null);
      } catch (error) {
        if (isNotFound(error)) state.set(key, null);
      }
    }
    const etcdMembers = cluster.masters.map((m) => address(m, 'etcd'));
    const view = { members: etcdMembers, system: cluster.system, statuses: () => etcdStatuses(cluster.system, etcdMembers) };
    const revision = Math.max(0, ...(await view.statuses()).map((s) => s.revision));
    const hashes = await memberHashes(view, driverFor(cluster.system), revision);
    const history = workload.history.ops;
    const run = checkRun({ history, ...(hashes ? { memberHashes: hashes } : {}) });
    const acked = checkAckedWritesPresent(history, state);
    const verdict = aggregate([...run.results, toCheckResult('acked-writes-present', acked), ...checks]);
    return {
      experiment, seed: options.seed, verdict, history,
      ops: history.filter((op) => op.type === 'invoke').length,
      ackedWrites: history.filter((op) => op.type === 'ok' && op.f !== 'read').length,
      lostAckedWrites: acked.lostCount, notes, runMs: performance.now() - began,
    };
  } finally {
    transport.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
