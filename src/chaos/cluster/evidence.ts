/**
 * Evidence a whole-cluster experiment reads from the running cluster: etcd members' status (roles,
 * terms, the leader) and the controller-manager's and scheduler's recorded active intervals, turned
 * into the single-active verdict. A member or instance that does not answer is reported as such,
 * never counted as "fine".
 */
import type { Address } from '../../primitives/address.js';
import type { ActorSystem } from '../../runtime/system.js';
import type { ClusterHandle } from '../../cluster/index.js';
import type { MemberStatus } from '../../etcd/messages.js';
import { checkSingleActive, toCheckResult, type CheckResult } from '../check/index.js';

const STATUS_TIMEOUT_MS = 300;

export async function etcdStatuses(system: ActorSystem, members: readonly Address[]): Promise<MemberStatus[]> {
  const answers = await Promise.all(members.map(async (member) => {
    try {
      return (await system.ask<{ type: 'statusReply'; status: MemberStatus }>(member, { type: 'status' }, { timeoutMs: STATUS_TIMEOUT_MS })).status;
    } catch {
      return undefined;
    }
  }));
  return answers.filter((s): s is MemberStatus => s !== undefined);
}

/** The master whose etcd member leads the highest term seen (undefined: no member names a leader). */
export function leaderMaster(statuses: readonly MemberStatus[]): string | undefined {
  const leading = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
  return leading === undefined ? undefined : String(leading.id).split('/')[0];
}

/** At most one active controller-manager at any moment, from every instance's durable record of its terms. */
export async function singleControllerManager(cluster: ClusterHandle, deathsMs: ReadonlyMap<string, readonly number[]>): Promise<CheckResult> {
  const statuses = await cluster.controllerManagerStatus();
  const answered = new Set(statuses.map((s) => s.identity));
  const missing = cluster.controllerManagers.filter((a) => !answered.has(a));
  const verdict = checkSingleActive({
    component: 'controller-manager', intervals: statuses.flatMap((s) => s.intervals), deathsMs, missing, nowMs: Date.now(),
  });
  return toCheckResult('single-active-controller-manager', verdict);
}

/** The same for the scheduler. */
export async function singleScheduler(cluster: ClusterHandle, deathsMs: ReadonlyMap<string, readonly number[]>): Promise<CheckResult> {
  const statuses = await cluster.schedulerStatus();
  const answered = new Set(statuses.map((s) => s.identity));
  const missing = cluster.schedulers.filter((a) => !answered.has(a));
  const verdict = checkSingleActive({
    component: 'scheduler', intervals: statuses.flatMap((s) => s.intervals.intervals), deathsMs, missing, nowMs: Date.now(),
  });
  return toCheckResult('single-active-scheduler', verdict);
}
