import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { address } from '../../primitives/address.js';
import { RealClock } from '../../runtime/real-clock.js';
import { SeededPrng, type Prng } from '../../primitives/prng.js';
import { Cluster, readyz } from '../../cluster/index.js';
import { HttpsTransport, KubeClient } from '../../client/index.js';
import {
  aggregate, checkAckedWritesPresent, checkRecovery, checkRun, toCheckResult, type CheckResult, type RoleObservation,
} from '../check/index.js';
import { CONFIGMAP, ConfigMapWorkload } from '../workloads/configmap.js';
import { etcdStatuses, singleControllerManager } from './evidence.js';
import { driverFor, waitUntil } from '../driver.js';
import { memberHashes } from '../etcd/run.js';
import type { ChaosOutcome } from '../outcome.js';
import { Registry, type Named } from '../registry.js';

export interface ControlPlaneFaultContext {
  readonly cluster: Cluster;
  /** The master whose apiserver served the last request through the front door. */
  readonly victim: string;
  /** Seeded: a fault that draws anything draws it from here. */
  readonly random: Prng;
  /** Only for faults registered with `silentKill: true`. */
  readonly silentKill: boolean;
  note(text: string): void;
}

/** A fault on the 3-master control plane: `inject` returns how to heal it (resolving to a note). */
export interface ControlPlaneFault extends Named {
  /** Whether `--silent-kill` means something to this fault. */
  readonly silentKill?: boolean;
  /** The fault kills the victim's host: its actors die at injection (a crashed term then ends there). */
  readonly killsVictim?: boolean;
  inject(ctx: ControlPlaneFaultContext): Promise<() => Promise<string>>;
}

export const controlPlaneFaultRegistry = new Registry<ControlPlaneFault>('control-plane fault');

controlPlaneFaultRegistry.register({
  name: 'kill-serving-master',
  description: 'kill the master whose apiserver served the last request (its etcd member dies with it), then restart it',
  silentKill: true,
  killsVictim: true,
  async inject({ cluster, victim, silentKill, note }) {
    await cluster.system.killHost(victim, { resetConnections: !silentKill });
    note(`killed ${victim} ${silentKill ? 'silently (a power loss: no connection resets)' : '(its connections reset)'}; its apiserver served the last request, its etcd member died with it`);
    return async () => {
      await cluster.system.restartHost(victim);
      return `restarted ${victim}`;
    };
  },
});

controlPlaneFaultRegistry.register({
  name: 'isolate-serving-master',
  description: 'cut the serving master off from the other masters (clients still reach its apiserver), then heal',
  async inject({ cluster, victim, note }) {
    // The other masters cannot reach it nor it them; clients still can (HTTPS to its apiserver).
    const others = cluster.masters.filter((m) => m !== victim);
    const partition = await cluster.system.network.inject({ kind: 'partition', groups: [[victim], others] });
    note(`cut ${victim} off from ${others.join(' and ')}; its apiserver served the last request and still takes connections`);
    return async () => {
      await cluster.system.network.heal(partition);
      return `healed the partition around ${victim}`;
    };
  },
});

export interface ControlPlaneChaosOptions {
  /** A fault of `controlPlaneFaultRegistry`: what happens to the serving master (default kill). */
  readonly experiment?: string;
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
  readonly experiment: string;
  readonly seed: number;
  readonly schedule: ControlPlaneSchedule;
  /** Fault to the first acknowledged write issued after it; undefined when none within the budget. */
  readonly recoveryMs: number | undefined;
}

const NAMESPACE = 'chaos';
const AFTER_MS = 1_500;
/** Kubernetes clients retry for much longer; an HA control plane should be back well within this. */
export const RECOVERY_BUDGET_MS = 5_000;
const ROLE_SAMPLE_MS = 100;
const MAX_ROLE_SAMPLES = 10_000;

/** When the fault comes and how long it at least lasts: drawn from the seed, never the wall clock. */
export interface ControlPlaneSchedule {
  readonly warmupMs: number;
  /**
   * The fault stays at least this long, and longer until a write issued after it is acknowledged
   * or the recovery budget has passed, so that healing never hides a slow recovery.
   */
  readonly faultMs: number;
}

export function controlPlaneSchedule(seed: number): ControlPlaneSchedule {
  const random = new SeededPrng(seed).fork('control-plane:schedule');
  return { warmupMs: Math.round(random.between(800, 1_200)), faultMs: Math.round(random.between(2_500, 3_500)) };
}

/**
 * The main job's experiment: a 3-master control plane (etcd + apiserver per master, front door)
 * on real threads; clients create and update ConfigMaps over HTTPS through the front door (as
 * kubectl does) while a fault of `controlPlaneFaultRegistry` hits the master whose apiserver served
 * the last request (default: killed, as a process or silently as in a power loss) and is healed.
 * Verdict: linearizable API history, acknowledged writes present, the API back within the budget
 * (a write issued after the fault acknowledged), every apiserver ready again, one leader per term,
 * etcd members equal, a final write. A check whose data could not be collected is 'unknown'.
 */
export async function runControlPlaneChaos(options: ControlPlaneChaosOptions): Promise<ControlPlaneChaosResult> {
  const experiment = options.experiment ?? 'kill-serving-master';
  const fault = controlPlaneFaultRegistry.require(experiment);
  if (options.silentKill && !fault.silentKill) throw new Error(`--silent-kill does not apply to ${experiment}`);
  const schedule = controlPlaneSchedule(options.seed);
  const network = options.network ?? '127.79';
  const dataDir = mkdtempSync(join(tmpdir(), 'pocketkube-chaos-'));
  const began = performance.now();
  const notes: string[] = [];
  const checks: CheckResult[] = [];
  const cluster = await Cluster.start({ dataDir, frontDoor: { host: `${network}.0.1`, port: 6443 }, apiserverNetwork: `${network}.1`, seed: options.seed });
  const transport = new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken, requestTimeoutMs: 2_000 });
  const etcdMembers = cluster.masters.map((m) => address(m, 'etcd'));
  const roles: RoleObservation[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling && roles.length < MAX_ROLE_SAMPLES) {
      const at = performance.now() - began;
      for (const status of await etcdStatuses(cluster.system, etcdMembers)) roles.push({ member: status.id, term: status.term, role: status.role, time: at });
      await new Promise((resolve) => setTimeout(resolve, ROLE_SAMPLE_MS));
    }
  })();
  try {
    notes.push(`started ${cluster.masters.length} masters (etcd, apiserver and controller-manager each) and the front door at ${cluster.server} in ${Math.round(performance.now() - began)} ms`);
    const kube = new KubeClient({ transport, clock: new RealClock(), requestTimeoutMs: 2_000, maxReadAttempts: 1 });
    await kube.create({ apiVersion: 'v1', kind: 'Namespace' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const keys = options.keys ?? 5;
    const workload = new ConfigMapWorkload({ kube, seed: options.seed, keys, namespace: NAMESPACE, began });
    workload.start(options.processes ?? 4);
    await new Promise((resolve) => setTimeout(resolve, schedule.warmupMs));

    const victim = cluster.lastServedBy() ?? cluster.masters[0]!;
    const faultAt = workload.now();
    const faultWallMs = Date.now();
    const heal = await fault.inject({
      cluster, victim, silentKill: options.silentKill ?? false,
      random: new SeededPrng(options.seed).fork(`control-plane:fault:${experiment}`),
      note: (text) => notes.push(`at ${Math.round(faultAt)} ms: ${text}`),
    });
    await new Promise((resolve) => setTimeout(resolve, schedule.faultMs));
    // Keep the fault until the API answered a fresh write or the budget is spent: healing first
    // would let a slow recovery pass as the heal's.
    const recovered = () => workload.writes.some((w) => w.issuedAtMs >= faultAt && w.ackedAtMs !== undefined);
    while (!recovered() && workload.now() - faultAt < RECOVERY_BUDGET_MS) await new Promise((resolve) => setTimeout(resolve, 50));
    const recovery = checkRecovery(workload.writes, faultAt, RECOVERY_BUDGET_MS, workload.now());
    checks.push(toCheckResult('api-recovered', recovery));

    notes.push(`at ${Math.round(workload.now())} ms: ${await heal()}`);
    const ready = await waitUntil(driverFor(cluster.system), async () => (await Promise.all(cluster.apiserverUrls.map((url) => readyz(url, cluster.pki.ca.certPem, 500)))).every(Boolean), 10_000, 100);
    checks.push({ name: 'apiservers-ready-again', status: ready ? 'pass' : 'fail', detail: ready ? 'all apiservers answer /readyz after healing' : 'an apiserver is still not ready 10 s after healing' });
    await new Promise((resolve) => setTimeout(resolve, AFTER_MS));
    await workload.stop();
    checks.push(await singleControllerManager(cluster, fault.killsVictim === true ? new Map([[`${victim}/controller-manager`, [faultWallMs]]]) : new Map()));

    const final = await kube.patch(CONFIGMAP, NAMESPACE, 'final', { ...CONFIGMAP, metadata: { name: 'final', namespace: NAMESPACE }, data: { v: 'final' } }, { type: 'apply', fieldManager: 'final', force: true }).then(() => true, () => false);
    checks.push({ name: 'final-write', status: final ? 'pass' : 'fail', detail: final ? 'a write after healing was acknowledged' : 'the write after healing failed' });
    const { state, unreadable } = await workload.finalState();
    sampling = false;
    await sampler;
    const view = { members: etcdMembers, system: cluster.system, statuses: () => etcdStatuses(cluster.system, etcdMembers) };
    const revision = Math.max(0, ...(await view.statuses()).map((s) => s.revision));
    const hashes = revision > 0 ? await memberHashes(view, driverFor(cluster.system), revision) : { unavailable: 'no etcd member answered its status' };
    const history = workload.history.ops;
    const run = checkRun({ history, memberHashes: hashes, members: etcdMembers, roles });
    const acked = unreadable.length > 0 ? undefined : checkAckedWritesPresent(history, state);
    const ackedRow: CheckResult = acked === undefined
      ? { name: 'acked-writes-present', status: 'unknown', detail: `could not run: the final value of ${unreadable.join(', ')} could not be read` }
      : toCheckResult('acked-writes-present', acked);
    const verdict = aggregate([...run.results, ackedRow, ...checks]);
    return {
      experiment, seed: options.seed, schedule, recoveryMs: recovery.recoveryMs, verdict, history,
      ops: history.filter((op) => op.type === 'invoke').length,
      ackedWrites: history.filter((op) => op.type === 'ok' && op.f !== 'read').length,
      lostAckedWrites: acked?.lostCount ?? 0, notes, runMs: performance.now() - began,
    };
  } finally {
    sampling = false;
    await sampler;
    transport.close();
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
