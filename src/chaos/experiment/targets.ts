/**
 * Resolving a fault's target when it is injected (pure): the cluster's state at that moment
 * (which master leads etcd, which hosts are down) and the step's seeded draw pick the host.
 */
import type { TargetSpec } from './define.js';

export interface ClusterView {
  readonly masters: readonly string[];
  readonly workers: readonly string[];
  /** The master whose etcd member leads; undefined when none answered as leader. */
  readonly etcdLeader: string | undefined;
  /** Hosts currently killed by the experiment. */
  readonly down: ReadonlySet<string>;
}

export type Resolved = { readonly host: string } | { readonly problem: string };

function pickOf(candidates: readonly string[], pick: number, what: string): Resolved {
  if (candidates.length === 0) return { problem: `no ${what} to hit` };
  return { host: candidates[Math.min(candidates.length - 1, Math.floor(pick * candidates.length))]! };
}

export function resolveTarget(target: TargetSpec, view: ClusterView, pick: number): Resolved {
  if (!(pick >= 0 && pick < 1)) throw new Error(`pick must be in [0, 1), got ${pick}`);
  switch (target.kind) {
    case 'etcd-leader-master':
      if (view.etcdLeader === undefined) return { problem: 'no etcd member answered as leader' };
      return view.down.has(view.etcdLeader) ? { problem: `the etcd leader's master ${view.etcdLeader} is already down` } : { host: view.etcdLeader };
    case 'minority-master':
      return pickOf(view.masters.filter((m) => m !== view.etcdLeader && !view.down.has(m)), pick, "live master other than the etcd leader's");
    case 'random-worker':
      return pickOf(view.workers.filter((w) => !view.down.has(w)), pick, 'live worker');
    case 'host':
      if (![...view.masters, ...view.workers].includes(target.host)) return { problem: `no host named ${target.host}` };
      return view.down.has(target.host) ? { problem: `${target.host} is already down` } : { host: target.host };
    default: {
      const never: never = target;
      throw new Error(`unreachable target ${JSON.stringify(never)}`);
    }
  }
}
