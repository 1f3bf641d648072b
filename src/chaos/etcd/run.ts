import type { Address } from '../../primitives/address.js';
import { SeededPrng } from '../../primitives/prng.js';
import { EtcdCluster } from '../../cluster/etcd-cluster.js';
import { sleep } from '../../primitives/clock.js';
import { checkAckedWritesPresent, checkRun, aggregate, toCheckResult, type CheckResult, type KvValue, type MemberHash, type StoreEvent } from '../check/index.js';
import { driverFor, waitUntil, type Driver } from '../driver.js';
import type { ChaosOutcome } from '../outcome.js';
import { FAULT_PLANS, type EtcdFault, type FaultContext } from './faults.js';
import { CHAOS_PREFIX, DEFAULT_WORKLOAD, KvWorkload, WatchRecorder, keyName, type WorkloadOptions } from './workload.js';

export interface EtcdChaosOptions {
  readonly fault: EtcdFault;
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
  readonly fault: EtcdFault;
  readonly seed: number;
  readonly placement: 'simulated' | 'threads';
}

const decoder = new TextDecoder();

/**
 * One seeded chaos run against a 3-member etcd: concurrent clients record a history while a fault
 * is injected and healed; then every checker runs: linearizable, acknowledged writes present,
 * revisions monotonic, watch guarantees, member hashes equal, and a final write succeeds.
 */
export async function runEtcdChaos(options: EtcdChaosOptions): Promise<EtcdChaosResult> {
  const placement = options.placement ?? 'simulated';
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

  await driver.wait(options.warmupMs ?? 300);
  const plan = FAULT_PLANS[options.fault]();
  await plan.inject(ctx);
  await driver.wait(options.faultMs ?? 1_500);
  await plan.heal(ctx);
  await cluster.system.network.healAll();
  await driver.wait(options.recoveryMs ?? 1_000);
  await driver.drive(workload.stop(), 30_000);

  const final = await finalChecks(cluster, driver, workloadOptions.keys, watcher);
  watch.unsubscribe();
  checks.push(...final.checks);
  const history = workload.history.ops;
  const run = checkRun({
    history,
    ...(final.log ? { watch: { watchers: [{ watcher: `watch@${watchMember}`, filter: { kind: 'prefix', prefix: CHAOS_PREFIX }, sessions: [{ startRevision: 1, items: watcher.items, observedUntil: final.revision }] }], log: final.log } } : {}),
    ...(final.hashes ? { memberHashes: final.hashes } : {}),
  });
  const acked = checkAckedWritesPresent(history, final.state, { finalModRevisions: final.modRevisions });
  const verdict = aggregate([...run.results, toCheckResult('acked-writes-present', acked), ...checks]);
  return {
    fault: options.fault,
    seed: options.seed,
    placement,
    verdict,
    history,
    ops: history.filter((op) => op.type === 'invoke').length,
    ackedWrites: workload.ackedWrites,
    lostAckedWrites: acked.lostCount,
    notes,
    runMs: driver.now() - begin,
  };
}

interface FinalState {
  readonly checks: CheckResult[];
  readonly state: Map<string, KvValue | null>;
  readonly modRevisions: Map<string, number>;
  readonly revision: number;
  readonly log: { events: StoreEvent[]; fromRevision: number; toRevision: number } | undefined;
  readonly hashes: MemberHash[] | undefined;
}

async function finalChecks(cluster: EtcdCluster, driver: Driver, keys: number, watcher: WatchRecorder): Promise<FinalState> {
  const checks: CheckResult[] = [];
  const client = cluster.client({ clientId: 'final', requestTimeoutMs: 10_000 });
  const write = await driver.drive(client.put({ key: `${CHAOS_PREFIX}final`, value: new TextEncoder().encode('final') }));
  checks.push({ name: 'final-write', status: write.ok ? 'pass' : 'fail', detail: write.ok ? `acknowledged at revision ${write.value.header.revision}` : `failed: ${JSON.stringify(write.error)}` });
  const read = await driver.drive(client.range({ key: CHAOS_PREFIX, prefix: true }));
  const state = new Map<string, KvValue | null>();
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
    checks.push({ name: 'final-read', status: 'fail', detail: `could not read the final state: ${JSON.stringify(read.error)}` });
  }
  await waitUntil(driver, async () => watcher.lastRevision >= revision, 3_000, 20);
  const log = revision > 0 ? await referenceLog(cluster, driver, revision) : undefined;
  const hashes = revision > 0 ? await memberHashes(cluster, driver, revision) : undefined;
  return { checks, state, modRevisions, revision, log, hashes };
}

/** Every event from revision 1 to `revision`, read by a fresh watch on a healthy member. */
async function referenceLog(cluster: EtcdCluster, driver: Driver, revision: number): Promise<{ events: StoreEvent[]; fromRevision: number; toRevision: number } | undefined> {
  const recorder = new WatchRecorder('any');
  const subscription = cluster.client({ clientId: 'reference' }).watch({ key: CHAOS_PREFIX, prefix: true, startRevision: 1 }).subscribe((update) => recorder.onUpdate(update));
  const complete = await waitUntil(driver, async () => recorder.lastRevision >= revision, 5_000, 20);
  subscription.unsubscribe();
  if (!complete) return undefined;
  const events: StoreEvent[] = recorder.items.flatMap((item) => (item.kind === 'event' && item.revision <= revision ? [{ revision: item.revision, key: item.key, type: item.type, value: item.value ?? null }] : []));
  return { events, fromRevision: 1, toRevision: revision };
}

/** Waits until every member applied through `revision`'s entry, then compares their hashes there. */
export async function memberHashes(cluster: Pick<EtcdCluster, 'members' | 'statuses' | 'system'>, driver: Driver, revision: number): Promise<MemberHash[] | undefined> {
  const caughtUp = await waitUntil(driver, async () => {
    const statuses = await cluster.statuses(300);
    return statuses.length === cluster.members.length && statuses.every((s) => s.revision >= revision);
  }, 5_000, 50);
  if (!caughtUp) return undefined;
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
