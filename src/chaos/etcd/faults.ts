import type { Address } from '../../primitives/address.js';
import type { MemoryStorage } from '../../runtime/storage.js';
import { SimulatedSystem } from '../../runtime/simulated.js';
import type { Prng } from '../../primitives/prng.js';
import type { EtcdCluster } from '../../cluster/etcd-cluster.js';
import { memberId, type EtcdConfig, type MemberStatus } from '../../etcd/messages.js';
import type { ConfChange } from '../../raft/index.js';
import type { CheckResult } from '../check/index.js';
import { waitUntil, type Driver } from '../driver.js';
import { Registry, type Named } from '../registry.js';

/** The built-in faults: those etcd's robustness tests inject (../shared/reference/consensus.md). */
export const ETCD_FAULTS = [
  'kill-leader',
  'kill-follower-until-snapshot',
  'kill-quorum',
  'kill-all',
  'isolate-leader',
  'isolate-follower-until-snapshot',
  'delay-peers',
  'drop-50',
  'lose-unsynced-tail',
  'watch-across-partition',
  'replace-wiped-member',
] as const;

export type EtcdFault = (typeof ETCD_FAULTS)[number];

export interface FaultContext {
  readonly cluster: EtcdCluster;
  /**
   * How time passes: in simulated placement virtual time moves only while driven, so await asks
   * (`cluster.leader()`, `cluster.status()`, ...) as `driver.drive(promise)`, and pause with
   * `driver.wait(ms)`, never a timer of your own.
   */
  readonly driver: Driver;
  /** Seeded: draw every choice from here, so that a seed replays the run. */
  readonly random: Prng;
  /** The member the run's watcher reads from first. */
  readonly watchMember: Address;
  /** Start a process that reads only through `member` while the fault lasts (stopped by heal). */
  startPinnedReader(member: Address): void;
  stopPinnedReader(): Promise<void>;
  readonly notes: string[];
  readonly checks: CheckResult[];
}

/** One injection of a fault: `inject` after the warm-up, `heal` after the fault window. */
export interface FaultPlan {
  inject(ctx: FaultContext): Promise<void>;
  heal(ctx: FaultContext): Promise<void>;
}

/** A fault against the 3-member etcd; `plan` is called once per run (plans keep per-run state). */
export interface FaultDefinition extends Named {
  plan(): FaultPlan;
}

/** Every fault an etcd experiment can inject; `etcd-<name>` runs one. Plugins register more. */
export const etcdFaultRegistry = new Registry<FaultDefinition>('fault');

const ELECTION_SETTLE_MS = 2_000;

async function leaderOf(ctx: FaultContext): Promise<Address> {
  let found: Address | undefined;
  await waitUntil(ctx.driver, async () => (found = await ctx.cluster.leader(200)) !== undefined, ELECTION_SETTLE_MS);
  if (!found) throw new Error('no leader to target');
  return found;
}

async function followerOf(ctx: FaultContext): Promise<Address> {
  const leader = await leaderOf(ctx);
  const others = ctx.cluster.members.filter((m) => m !== leader);
  return others[ctx.random.int(others.length)]!;
}

function hostsOf(ctx: FaultContext, members: readonly Address[]): string[] {
  return members.map((m) => ctx.cluster.hostOf(m));
}

/** Cut `member`'s host off from the other members, both ways (clients can still reach it). */
async function isolate(ctx: FaultContext, member: Address, alsoFromClients = false): Promise<number[]> {
  const self = [ctx.cluster.hostOf(member)];
  const others = hostsOf(ctx, ctx.cluster.members.filter((m) => m !== member));
  if (alsoFromClients) others.push('client');
  const network = ctx.cluster.system.network;
  return [await network.inject({ kind: 'cut', from: self, to: others }), await network.inject({ kind: 'cut', from: others, to: self })];
}

async function memberStatus(ctx: FaultContext, member: Address) {
  return ctx.driver.drive(ctx.cluster.status(member, 300));
}

/** Keep load on until the leader's snapshot passes `index` (so `member` can only catch up by snapshot). */
async function untilSnapshotPasses(ctx: FaultContext, index: number): Promise<boolean> {
  return waitUntil(
    ctx.driver,
    async () => {
      const leader = await ctx.cluster.leader(200);
      const status = leader ? await ctx.cluster.status(leader, 200) : undefined;
      return (status?.snapshotIndex ?? 0) > index;
    },
    10_000,
    50,
  );
}

function snapshotCheck(name: string, caughtUp: boolean, detail: string): CheckResult {
  return { name, status: caughtUp ? 'pass' : 'fail', detail };
}

function killAndRestart(pick: (ctx: FaultContext) => Promise<Address[]>): () => FaultPlan {
  return () => {
    let victims: Address[] = [];
    return {
      async inject(ctx) {
        victims = await pick(ctx);
        // Half the runs kill silently (a power loss: no resets), so the timeout paths of members
        // and clients stay tested beside the fast path that resets open.
        const resetConnections = ctx.random.next() < 0.5;
        for (const v of victims) await ctx.cluster.system.killHost(ctx.cluster.hostOf(v), { resetConnections });
        ctx.notes.push(`killed ${victims.join(', ')}${resetConnections ? ' (connections reset)' : ' silently (no resets)'}`);
      },
      async heal(ctx) {
        for (const v of victims) await ctx.cluster.system.restartHost(ctx.cluster.hostOf(v));
        ctx.notes.push(`restarted ${victims.join(', ')}`);
      },
    };
  };
}

function followerUntilSnapshot(how: 'kill' | 'isolate'): () => FaultPlan {
  return () => {
    let victim: Address;
    let lastIndex = 0;
    let cuts: number[] = [];
    return {
      async inject(ctx) {
        victim = await followerOf(ctx);
        lastIndex = (await memberStatus(ctx, victim))?.lastIndex ?? 0;
        if (how === 'kill') await ctx.cluster.system.killHost(ctx.cluster.hostOf(victim));
        else cuts = await isolate(ctx, victim);
        ctx.notes.push(`${how === 'kill' ? 'killed' : 'isolated'} follower ${victim} at log index ${lastIndex}`);
      },
      async heal(ctx) {
        const passed = await untilSnapshotPasses(ctx, lastIndex);
        ctx.notes.push(passed ? `leader's snapshot passed index ${lastIndex}` : `leader never snapshotted past ${lastIndex}`);
        if (how === 'kill') await ctx.cluster.system.restartHost(ctx.cluster.hostOf(victim));
        else for (const id of cuts) await ctx.cluster.system.network.heal(id);
        const caughtUp = await waitUntil(ctx.driver, async () => ((await ctx.cluster.status(victim, 200))?.snapshotIndex ?? 0) > lastIndex, 5_000, 50);
        ctx.checks.push(snapshotCheck('follower-caught-up-by-snapshot', passed && caughtUp, `${victim} ${caughtUp ? 'installed' : 'did not install'} a snapshot past index ${lastIndex}`));
      },
    };
  };
}

const isolateLeader = (): FaultPlan => {
  let leader: Address;
  let cuts: number[] = [];
  return {
    async inject(ctx) {
      leader = await leaderOf(ctx);
      cuts = await isolate(ctx, leader);
      ctx.startPinnedReader(leader);
      ctx.notes.push(`isolated leader ${leader} from its peers; a reader keeps asking it`);
    },
    async heal(ctx) {
      const steppedDown = await waitUntil(ctx.driver, async () => (await ctx.cluster.status(leader, 200))?.role !== 'leader', 2_000, 20);
      ctx.checks.push({ name: 'minority-leader-stepped-down', status: steppedDown ? 'pass' : 'fail', detail: `${leader} ${steppedDown ? 'stepped down' : 'still claims leadership'} while cut off from a quorum` });
      await ctx.stopPinnedReader();
      for (const id of cuts) await ctx.cluster.system.network.heal(id);
    },
  };
};

function networkFault(spec: (masters: string[]) => Parameters<EtcdCluster['system']['network']['inject']>[0]): () => FaultPlan {
  return () => {
    let id = 0;
    return {
      async inject(ctx) {
        const masters = [...ctx.cluster.hosts];
        const fault = spec(masters);
        id = await ctx.cluster.system.network.inject(fault);
        ctx.notes.push(`injected ${JSON.stringify(fault)}`);
      },
      async heal(ctx) {
        await ctx.cluster.system.network.heal(id);
      },
    };
  };
}

const loseUnsyncedTail = (): FaultPlan => {
  let crashesBefore = 0;
  return {
    async inject(ctx) {
      crashesBefore = crashCount(ctx);
      const system = ctx.cluster.system;
      for (let round = 0; round < 3; round++) {
        const victim = ctx.cluster.members[ctx.random.int(ctx.cluster.members.length)]!;
        if (system instanceof SimulatedSystem) {
          // Power cut in the middle of a WAL write: a torn tail, and nothing after it acknowledged.
          const storage: MemoryStorage = system.storageOf(victim);
          storage.powerCutOnNextSync(ctx.random.next());
          ctx.notes.push(`armed a power cut on ${victim}'s next fsync`);
        } else {
          // A power cut: unsynced writes lost, and no connection reset tells the others.
          await system.killHost(ctx.cluster.hostOf(victim), { loseUnsynced: true, resetConnections: false });
          await ctx.driver.wait(100);
          await system.restartHost(ctx.cluster.hostOf(victim));
          ctx.notes.push(`cut the power of ${victim} (unsynced writes lost, no resets), and restarted it`);
        }
        await ctx.driver.wait(400);
      }
    },
    async heal(ctx) {
      if (!(ctx.cluster.system instanceof SimulatedSystem)) return;
      const cuts = crashCount(ctx) - crashesBefore;
      ctx.checks.push({ name: 'power-cuts-happened', status: cuts > 0 ? 'pass' : 'unknown', detail: `${cuts} member crash(es) by power cut mid-write` });
    },
  };
};

function crashCount(ctx: FaultContext): number {
  const system = ctx.cluster.system;
  return system instanceof SimulatedSystem ? system.history.filter((event) => event.event === 'crashed').length : 0;
}

const watchAcrossPartition = (): FaultPlan => {
  let cuts: number[] = [];
  return {
    async inject(ctx) {
      cuts = await isolate(ctx, ctx.watchMember, true);
      ctx.notes.push(`cut the watcher's member ${ctx.watchMember} off from everyone`);
    },
    async heal(ctx) {
      for (const id of cuts) await ctx.cluster.system.network.heal(id);
    },
  };
};

/**
 * Replaces a wiped follower the safe way (etcd 3.4: `member remove`, `member add --learner`,
 * `member promote`; dissertation §4.2.1): the new id joins as a learner, which counts for no
 * quorum while its log is empty, and is promoted only once it has caught up, so the cluster can
 * lose another member meanwhile without losing its quorum to an empty voter.
 */
const replaceWipedMember = (): FaultPlan => {
  let victim: Address;
  let learnerFirst = false;
  let caughtUp = false;
  return {
    async inject(ctx) {
      victim = await followerOf(ctx);
      const system = ctx.cluster.system;
      await system.killHost(ctx.cluster.hostOf(victim));
      await system.wipeActorStorage(victim);
      const oldId = memberId(victim, 1);
      const newId = memberId(victim, 2);
      await changeMembership(ctx, { type: 'removeVoter', nodeId: oldId }, (s) => !s.voters.includes(oldId));
      await changeMembership(ctx, { type: 'addLearner', nodeId: newId }, (s) => s.learners.includes(newId) || s.voters.includes(newId));
      const config: EtcdConfig = { id: newId, peers: [], profile: 'fast', snapshotEveryEntries: 200 };
      await system.reconfigureActor(victim, config);
      await system.restartHost(ctx.cluster.hostOf(victim));
      // The learner learns its own role from the log (or a snapshot): it must hear of it as a learner.
      caughtUp = await waitUntil(ctx.driver, async () => {
        const [own, leader] = [await ctx.cluster.status(victim, 200), await leaderStatus(ctx)];
        if (own?.learners.includes(newId)) learnerFirst = true;
        return own !== undefined && leader !== undefined && learnerFirst && own.applied * 10 >= leader.lastIndex * 9;
      }, 10_000, 50);
      ctx.notes.push(`replaced ${oldId} by a wiped machine as learner ${newId}; ${caughtUp ? 'it caught up' : 'it did not catch up within 10 s'}`);
      // The leader refuses the promotion ('learnerLagging') until the learner holds 90% of its log.
      await changeMembership(ctx, { type: 'promoteLearner', nodeId: newId }, (s) => s.voters.includes(newId));
      ctx.notes.push(`promoted ${newId} to voter`);
    },
    async heal(ctx) {
      const newId = memberId(victim, 2);
      ctx.checks.push({ name: 'wiped-member-joined-as-learner', status: learnerFirst && caughtUp ? 'pass' : 'fail', detail: `${newId} ${learnerFirst ? 'was a learner first' : 'never saw itself as a learner'} and ${caughtUp ? 'caught up before its promotion' : 'did not catch up before its promotion'}` });
      const joined = await waitUntil(ctx.driver, async () => {
        const statuses = await ctx.cluster.statuses(200);
        return statuses.length === ctx.cluster.members.length
          && statuses.every((s) => s.voters.includes(newId) && !s.learners.includes(newId) && !s.voters.includes(memberId(victim, 1)));
      }, 5_000, 50);
      ctx.checks.push({ name: 'wiped-member-rejoined', status: joined ? 'pass' : 'fail', detail: `${newId} ${joined ? 'is a voter on every member' : 'did not become a voter everywhere'}` });
    },
  };
};

async function leaderStatus(ctx: FaultContext): Promise<MemberStatus | undefined> {
  const leader = await ctx.cluster.leader(200);
  return leader ? ctx.cluster.status(leader, 200) : undefined;
}

const MEMBERSHIP_CHANGE_TIMEOUT_MS = 10_000;

/**
 * Asks the leader for `change` until it is done. A lost answer may hide a change that committed,
 * and asking again would then be refused as invalid: `applied` tells from the leader's status.
 */
async function changeMembership(ctx: FaultContext, change: ConfChange, applied: (leader: MemberStatus) => boolean): Promise<void> {
  const deadline = ctx.driver.now() + MEMBERSHIP_CHANGE_TIMEOUT_MS;
  while (ctx.driver.now() < deadline) {
    const leader = await ctx.driver.drive(ctx.cluster.leader(200));
    if (leader) {
      try {
        const status = await ctx.driver.drive(ctx.cluster.status(leader, 200));
        if (status && status.role === 'leader' && applied(status)) return;
        const reply = await ctx.driver.drive(ctx.cluster.system.ask<{ type: string }>(leader, { type: 'confChange', change }, { timeoutMs: 1_000 }));
        // 'done' answers the entry at the proposed index: confirm from the status that it was ours.
        if (reply.type === 'done') continue;
      } catch {
        // retried below
      }
    }
    await ctx.driver.wait(100);
  }
  throw new Error(`membership change ${JSON.stringify(change)} did not complete`);
}

const BUILT_IN_PLANS: Readonly<Record<EtcdFault, { description: string; plan: () => FaultPlan }>> = {
  'kill-leader': { description: 'kill the leader (silently in half the seeds) and restart it', plan: killAndRestart(async (ctx) => [await leaderOf(ctx)]) },
  'kill-follower-until-snapshot': { description: 'kill a follower until the leader snapshots past it, then restart it', plan: followerUntilSnapshot('kill') },
  'kill-quorum': {
    description: 'kill the leader and a follower (a quorum) and restart them',
    plan: killAndRestart(async (ctx) => {
      const leader = await leaderOf(ctx);
      return [leader, ctx.cluster.members.find((m) => m !== leader)!];
    }),
  },
  'kill-all': { description: 'kill every member and restart them', plan: killAndRestart(async (ctx) => [...ctx.cluster.members]) },
  'isolate-leader': { description: 'cut the leader off from its peers; the minority must step down', plan: isolateLeader },
  'isolate-follower-until-snapshot': { description: 'isolate a follower until the leader snapshots past it', plan: followerUntilSnapshot('isolate') },
  'delay-peers': { description: 'delay peer traffic 75 ± 50 ms', plan: networkFault((masters) => ({ kind: 'delay', link: { from: masters, to: masters }, delay: { dist: 'normal', meanMs: 75, jitterMs: 50 } })) },
  'drop-50': { description: 'drop 50% of peer messages', plan: networkFault((masters) => ({ kind: 'drop', link: { from: masters, to: masters }, probability: 0.5 })) },
  'lose-unsynced-tail': { description: 'cut the power of members mid-fsync, losing the unsynced tail', plan: loseUnsyncedTail },
  'watch-across-partition': { description: "cut the watcher's member off from everyone; the resumed watch must not go back in time", plan: watchAcrossPartition },
  'replace-wiped-member': { description: 'replace a follower by a wiped machine (learner first, then promoted)', plan: replaceWipedMember },
};

for (const name of ETCD_FAULTS) etcdFaultRegistry.register({ name, ...BUILT_IN_PLANS[name] });
