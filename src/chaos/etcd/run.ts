import type { Address } from '../../primitives/address.js';
import { SeededPrng } from '../../primitives/prng.js';
import { EtcdCluster } from '../../cluster/etcd-cluster.js';
import { sleep } from '../../primitives/clock.js';
import {
  checkAckedWritesPresent, checkRun, aggregate, toCheckResult,
  type CheckResult, type KvValue, type MemberHash, type RoleObservation, type StoreEvent, type Unavailable,
} from '../check/index.js';
import { driverFor, waitUntil, type Driver } from '../driver.js';
import type { ChaosOutcome } from '../outcome.js';
import { etcdFaultRegistry, type FaultContext } from './faults.js';
import { CHAOS_PREFIX, DEFAULT_WORKLOAD, KvWorkload, WatchRecorder, keyName, type WorkloadOptions } from './workload.js';

export interface EtcdChaosOptions {
  /** A fault of `etcdFaultRegistry` (a built-in EtcdFault, or one a plugin registered). */
  readonly fault: string;
  readonly seed: number;
  readonly placement?: 'simulated' | 'threads';
  readonly workload?: Partial<WorkloadOptions>;
  readonly warmupMs?: number;
  readonly faultMs?: number;
  readonly recoveryMs?: number;
  /** Small, so that the snapshot faults (and InstallSnapshot) happen within a short run. */
  readonly snapshotEveryEntries?: number;
}

export interface EtcdChaosResult extends ChaosOutcome {
  readonly fault: string;
  readonly seed: number;
  readonly placement: 'simulated' | 'threads';
}

const decoder = new TextDecoder();
/** How often members' roles and terms are sampled for the election-safety check. */
const ROLE_SAMPLE_MS = 50;
/** Cap on samples kept (a run is seconds long; this is minutes of samples). */
const MAX_ROLE_SAMPLES = 50_000;

/**
 * One seeded chaos run against a 3-member etcd: concurrent clients record a history while a fault
 * is injected and healed; then every checker runs: linearizable, acknowledged writes present,
 * revisions monotonic, watch guarantees, member hashes equal, and a final write succeeds.
 */
export async function runEtcdChaos(options: EtcdChaosOptions): Promise<EtcdChaosResult> {
  const placement = options.placement ?? 'simulated';
  // Before starting anything: an unknown fault is a usage error, not a failed run.
  etcdFaultRegistry.require(options.fault);
  const cluster = await EtcdCluster.start({ placement, seed: options.seed, snapshotEveryEntries: options.snapshotEveryEntries ?? 200 });
  try {
    return await runOn(cluster, options, placement);
  } finally {
    await cluster.stop();
  }
}

async function runOn(cluster: EtcdCluster, options: EtcdChaosOptions, placement: 'simulated' | 'threads'): Promise<EtcdChaosResult> {
  const driver = driverFor(cluster.system);
  const begin = driver.now();
  const random = new SeededPrng(options.seed).fork(`chaos:${options.fault}`);
  const workloadOptions = { ...DEFAULT_WORKLOAD, ...options.workload };
  const clock = cluster.system.clock;
  const notes: string[] = [];
  const checks: CheckResult[] = [];
  if (!(await waitUntil(driver, async () => (await cluster.leader(200)) !== undefined, 5_000))) throw new Error('no leader elected');

  const workload = new KvWorkload(() => clock.now(), (ms) => sleep(clock, ms), random.fork('workload'), workloadOptions);
  for (let p = 0; p < workloadOptions.processes; p++) workload.start(p, cluster.client({ clientId: `p${p}`, requestTimeoutMs: workloadOptions.opTimeoutMs }));
  const watchMember = cluster.members[random.int(cluster.members.length)]!;
  const watchOrder = [watchMember, ...cluster.members.filter((m) => m !== watchMember)];
  const watcher = new WatchRecorder(watchMember);
  const watch = cluster.client({ members: watchOrder, watchIdleMs: 600 }).watch({ key: CHAOS_PREFIX, prefix: true, startRevision: 1 }).subscribe((update) => watcher.onUpdate(update));

  let pinned: Promise<void> | undefined;
  let pinnedRunning = false;
  const ctx: FaultContext = {
    cluster, driver, random: random.fork('faults'), watchMember, notes, checks,
    startPinnedReader(member: Address) {
      pinnedRunning = true;
      const client = cluster.client({ members: [member], clientId: 'pinned', requestTimeoutMs: 300 });
      pinned = (async () => {
        while (pinnedRunning) {
          await workload.read('pinned', client, keyName(random.int(workloadOptions.keys)));
          await sleep(clock, 20);
        }
      })();
    },
    async stopPinnedReader() {
      pinnedRunning = false;
      if (pinned) await driver.drive(pinned);
    },
  };

  // Election safety: every member's role and term, sampled while the run lasts.
  const roles: RoleObservation[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling && roles.length < MAX_ROLE_SAMPLES) {
      for (const status of await cluster.statuses(ROLE_SAMPLE_MS)) roles.push({ member: status.id, term: status.term, role: status.role, time: clock.now() - begin });
      await sleep(clock, ROLE_SAMPLE_MS);
    }
  })();

  await driver.wait(options.warmupMs ?? 300);
  const plan = etcdFaultRegistry.require(options.fault).plan();
  notes.push(`at ${Math.round(driver.now() - begin)} ms: inject ${options.fault}`);
  await plan.inject(ctx);
  await driver.wait(options.faultMs ?? 1_500);
  notes.push(`at ${Math.round(driver.now() - begin)} ms: heal ${options.fault}`);
  await plan.heal(ctx);
  await cluster.system.network.healAll();
  await driver.wait(options.recoveryMs ?? 1_000);
  await driver.drive(workload.stop(), 30_000);
  sampling = false;
  await driver.drive(sampler, 5_000);

  const final = await finalChecks(cluster, driver, workloadOptions.keys, watcher);
  watch.unsubscribe();
  checks.push(...final.checks);
  const history = workload.history.ops;
  const run = checkRun({
    history,
    watch: 'unavailable' in final.log ? final.log : { watchers: [{ watcher: `watch@${watchMember}`, filter: { kind: 'prefix', prefix: CHAOS_PREFIX }, sessions: [{ startRevision: 1, items: watcher.items, observedUntil: final.revision }] }], log: final.log },
    memberHashes: final.hashes,
    members: cluster.members,
    roles,
  });
  const acked = final.state === undefined ? undefined : checkAckedWritesPresent(history, final.state, { finalModRevisions: final.modRevisions });
  const ackedRow: CheckResult = acked === undefined
    ? { name: 'acked-writes-present', status: 'unknown', detail: 'could not run: the final state could not be read' }
    : toCheckResult('acked-writes-present', acked);
  const verdict = aggregate([...run.results, ackedRow, ...checks]);
  return {
    fault: options.fault,
    seed: options.seed,
    placement,
    verdict,
    history,
    ops: history.filter((op) => op.type === 'invoke').length,
    ackedWrites: workload.ackedWrites,
    lostAckedWrites: acked?.lostCount ?? 0,
    notes,
    runMs: driver.now() - begin,
  };
}

interface ReferenceLog {
  readonly events: StoreEvent[];
  readonly fromRevision: number;
  readonly toRevision: number;
}

interface FinalState {
  readonly checks: CheckResult[];
  /** Undefined when the final read failed (the acked-writes check then cannot run). */
  readonly state: Map<string, KvValue | null> | undefined;
  readonly modRevisions: Map<string, number>;
  readonly revision: number;
  readonly log: ReferenceLog | Unavailable;
  readonly hashes: MemberHash[] | Unavailable;
}

async function finalChecks(cluster: EtcdCluster, driver: Driver, keys: number, watcher: WatchRecorder): Promise<FinalState> {
  const checks: CheckResult[] = [];
  const client = cluster.client({ clientId: 'final', requestTimeoutMs: 10_000 });
  const write = await driver.drive(client.put({ key: `${CHAOS_PREFIX}final`, value: new TextEncoder().encode('final') }));
  checks.push({ name: 'final-write', status: write.ok ? 'pass' : 'fail', detail: write.ok ? `acknowledged at revision ${write.value.header.revision}` : `failed: ${JSON.stringify(write.error)}` });
  const read = await driver.drive(client.range({ key: CHAOS_PREFIX, prefix: true }));
  let state: Map<string, KvValue | null> | undefined = new Map();
  const modRevisions = new Map<string, number>();
  for (let i = 0; i < keys; i++) state.set(keyName(i), null);
  let revision = 0;
  if (read.ok) {
    revision = read.value.header.revision;
    for (const kv of read.value.kvs) {
      if (!state.has(kv.key)) continue;
      state.set(kv.key, decoder.decode(kv.value));
      modRevisions.set(kv.key, kv.modRevision);
    }
  } else {
    state = undefined;
    checks.push({ name: 'final-read', status: 'fail', detail: `could not read the final state: ${JSON.stringify(read.error)}` });
  }
  await waitUntil(driver, async () => watcher.lastRevision >= revision, 3_000, 20);
  const noRevision: Unavailable = { unavailable: 'no final revision (the final read failed)' };
  const log = revision > 0 ? await referenceLog(cluster, driver, revision) : noRevision;
  const hashes = revision > 0 ? await memberHashes(cluster, driver, revision) : noRevision;
  return { checks, state, modRevisions, revision, log, hashes };
}

/** Every event from revision 1 to `revision`, read by a fresh watch on a healthy member. */
async function referenceLog(cluster: EtcdCluster, driver: Driver, revision: number): Promise<ReferenceLog | Unavailable> {
  const recorder = new WatchRecorder('any');
  const subscription = cluster.client({ clientId: 'reference' }).watch({ key: CHAOS_PREFIX, prefix: true, startRevision: 1 }).subscribe((update) => recorder.onUpdate(update));
  const complete = await waitUntil(driver, async () => recorder.lastRevision >= revision, 5_000, 20);
  subscription.unsubscribe();
  if (!complete) return { unavailable: `a fresh watch did not deliver the store's events up to revision ${revision} within 5 s (got to ${recorder.lastRevision})` };
  const events: StoreEvent[] = recorder.items.flatMap((item) => (item.kind === 'event' && item.revision <= revision ? [{ revision: item.revision, key: item.key, type: item.type, value: item.value ?? null }] : []));
  return { events, fromRevision: 1, toRevision: revision };
}

/**
 * Waits until every member applied through `revision`'s entry, then asks each for its hash there.
 * Unavailable when a member does not catch up; a member that then does not answer is missing
 * from the list, which the checker (given every member) reports as unknown.
 */
export async function memberHashes(cluster: Pick<EtcdCluster, 'members' | 'statuses' | 'system'>, driver: Driver, revision: number): Promise<MemberHash[] | Unavailable> {
  let behind: string[] = [...cluster.members];
  const caughtUp = await waitUntil(driver, async () => {
    const statuses = await cluster.statuses(300);
    behind = cluster.members.filter((m) => !statuses.some((s) => s.id.startsWith(`${m}~`) && s.revision >= revision));
    return behind.length === 0;
  }, 5_000, 50);
  if (!caughtUp) return { unavailable: `${behind.join(', ')} unreachable or not caught up to revision ${revision} within 5 s` };
  const hashes: MemberHash[] = [];
  for (const member of cluster.members) {
    try {
      const reply = await driver.drive(cluster.system.ask<{ type: string; hash?: number; revision?: number; compactRevision?: number }>(member, { type: 'hashKv', revision }, { timeoutMs: 1_000 }));
      if (reply.type === 'hashReply') hashes.push({ member, revision: reply.revision!, hash: reply.hash!, compactRevision: reply.compactRevision! });
    } catch {
      // a member that does not answer is left out; the checker then sees fewer hashes
    }
  }
  return hashes;
}
