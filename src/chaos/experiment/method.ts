/**
 * Running the method (a shell): each planned fault after its pause from the previous heal, its target
 * resolved from the cluster's state at that moment, injected, held for its duration, healed. Every
 * fault's start and end go into the timeline; a target that cannot be resolved is recorded as not
 * injected (the faults-injected verdict then says unknown), never silently skipped.
 */
import type { Address } from '../../primitives/address.js';
import type { Cluster } from '../../cluster/index.js';
import { etcdStatuses, leaderMaster } from '../cluster/evidence.js';
import { injectFault, type Injected } from './faults.js';
import { describeFault, type PlannedFault } from './schedule.js';
import { resolveTarget } from './targets.js';
import type { FaultRecord } from './verdicts.js';

export interface MethodContext {
  readonly cluster: Cluster;
  readonly etcdMembers: readonly Address[];
  now(): number;
  note(text: string): void;
}

export interface MethodOutcome {
  readonly faults: FaultRecord[];
  /** Wall-clock ms of each killed instance's death (`host/actor`), for the single-active checks. */
  readonly deathsMs: Map<string, number[]>;
  readonly healedAtMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const LEADER_ELECTED = ['controller-manager', 'scheduler'];

export async function runMethod(schedule: readonly PlannedFault[], ctx: MethodContext): Promise<MethodOutcome> {
  const { cluster, now, note } = ctx;
  const faults: FaultRecord[] = [];
  const down = new Set<string>();
  const deathsMs = new Map<string, number[]>();
  for (const planned of schedule) {
    // After the previous heal as it happened: a heal that took long (a restart) does not eat the pause.
    await sleep(planned.pauseMs);
    const leader = leaderMaster(await etcdStatuses(cluster.system, ctx.etcdMembers));
    const target = resolveTarget(planned.fault.target, { masters: cluster.masters, workers: cluster.workers, etcdLeader: leader, down }, planned.pick);
    const startMs = now();
    const name = `step ${planned.step}: ${describeFault(planned.fault)}`;
    if ('problem' in target) {
      faults.push({ step: planned.step, name, startMs, endMs: startMs, injected: false, note: `not injected: ${target.problem}` });
      note(`step ${planned.step} NOT injected: ${target.problem}`);
      continue;
    }
    let injected: Injected;
    try {
      injected = await injectFault({ cluster, host: target.host }, planned.fault);
    } catch (error) {
      // A fault the cluster refuses (an actor that host does not run, say) is recorded, not fatal.
      const why = error instanceof Error ? error.message : String(error);
      faults.push({ step: planned.step, name, host: target.host, startMs, endMs: now(), injected: false, note: `not injected: ${why}` });
      note(`step ${planned.step} NOT injected: ${why}`);
      continue;
    }
    note(`step ${planned.step}: ${injected.note}${leader === target.host ? " (the etcd leader's master)" : ''}`);
    if (injected.killed) {
      down.add(target.host);
      for (const actor of LEADER_ELECTED) deathsMs.set(`${target.host}/${actor}`, [...(deathsMs.get(`${target.host}/${actor}`) ?? []), Date.now()]);
    }
    await sleep(startMs + planned.durationMs - now());
    const healNote = await injected.heal();
    down.delete(target.host);
    faults.push({ step: planned.step, name, host: target.host, startMs, endMs: now(), detectionMs: planned.detectionMs, injected: true, note: `${injected.note}; ${healNote}` });
    note(`step ${planned.step}: ${healNote}`);
  }
  return { faults, deathsMs, healedAtMs: now() };
}
