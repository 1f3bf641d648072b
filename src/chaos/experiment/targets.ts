/**
 * Resolving a fault's target when it is injected (pure): the cluster's state at that moment
 * (which master leads etcd, who holds the Leases, which pods run where, which hosts are down) and
 * the step's seeded draw pick the hosts.
 */
import type { TargetSpec } from './define.js';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The node it is bound to. */
  readonly node: string;
}

export interface ClusterView {
  readonly masters: readonly string[];
  readonly workers: readonly string[];
  /** The master whose etcd member leads; undefined when none answered as leader. */
  readonly etcdLeader: string | undefined;
  /** Hosts currently killed by the experiment. */
  readonly down: ReadonlySet<string>;
  /** The host of each component's Lease holder, when the target needs it (undefined: no holder or unreadable). */
  readonly leaseHolders?: Readonly<Partial<Record<'controller-manager' | 'scheduler', string>>>;
  /** The master with the most front-door connections, when the target needs it. */
  readonly busiestMaster?: string;
  /** The running pods matching a `pod` target's selector, when the target needs it. */
  readonly pods?: readonly PodRef[];
}

export type Resolved = { readonly hosts: readonly string[]; readonly pod?: PodRef } | { readonly problem: string };

/** One of `candidates`, by the draw. */
function pickOf(candidates: readonly string[], pick: number, what: string): Resolved {
  if (candidates.length === 0) return { problem: `no ${what} to hit` };
  return { hosts: [candidates[Math.min(candidates.length - 1, Math.floor(pick * candidates.length))]!] };
}

/** `count` of `candidates`, a rotation chosen by the draw (the same draw gives the same set). */
function pickSome(candidates: readonly string[], count: number, pick: number, what: string): Resolved {
  if (candidates.length < count) return { problem: `fewer than ${count} ${what} to hit (${candidates.length} live)` };
  const first = Math.min(candidates.length - 1, Math.floor(pick * candidates.length));
  return { hosts: Array.from({ length: count }, (_, i) => candidates[(first + i) % candidates.length]!).sort() };
}

function live(view: ClusterView, host: string | undefined, what: string): Resolved {
  if (host === undefined) return { problem: `no ${what} was found` };
  return view.down.has(host) ? { problem: `${what} ${host} is already down` } : { hosts: [host] };
}

export function resolveTarget(target: TargetSpec, view: ClusterView, pick: number): Resolved {
  if (!(pick >= 0 && pick < 1)) throw new Error(`pick must be in [0, 1), got ${pick}`);
  const liveMasters = view.masters.filter((m) => !view.down.has(m));
  switch (target.kind) {
    case 'etcd-leader-master':
      return view.etcdLeader === undefined ? { problem: 'no etcd member answered as leader' } : live(view, view.etcdLeader, "the etcd leader's master");
    case 'minority-master':
      return pickOf(liveMasters.filter((m) => m !== view.etcdLeader), pick, "live master other than the etcd leader's");
    case 'majority-masters':
      return pickSome(liveMasters, Math.floor(view.masters.length / 2) + 1, pick, 'live masters');
    case 'random-master':
      return pickOf(liveMasters, pick, 'live master');
    case 'random-worker':
      return pickOf(view.workers.filter((w) => !view.down.has(w)), pick, 'live worker');
    case 'any-host':
      return pickOf([...view.masters, ...view.workers].filter((h) => !view.down.has(h)), pick, 'live host');
    case 'lease-holder':
      return live(view, view.leaseHolders?.[target.component], `${target.component} Lease holder`);
    case 'busiest-master':
      return live(view, view.busiestMaster, 'master serving the most connections');
    case 'pod': {
      const pods = (view.pods ?? []).filter((p) => !view.down.has(p.node));
      if (pods.length === 0) return { problem: `no running pod matches ${target.pods.selector} in ${target.pods.namespace}` };
      const pod = pods[Math.min(pods.length - 1, Math.floor(pick * pods.length))]!;
      return { hosts: [pod.node], pod };
    }
    case 'host':
      if (![...view.masters, ...view.workers].includes(target.host)) return { problem: `no host named ${target.host}` };
      return live(view, target.host, 'host');
    case 'hosts': {
      const unknown = target.hosts.filter((h) => ![...view.masters, ...view.workers].includes(h));
      if (unknown.length > 0) return { problem: `no host named ${unknown.join(', ')}` };
      const dead = target.hosts.filter((h) => view.down.has(h));
      return dead.length > 0 ? { problem: `${dead.join(', ')} already down` } : { hosts: [...target.hosts] };
    }
    default: {
      const never: never = target;
      throw new Error(`unreachable target ${JSON.stringify(never)}`);
    }
  }
}

/** The target in words, for the timeline and `chaos list`. */
export function describeTarget(target: TargetSpec): string {
  switch (target.kind) {
    case 'etcd-leader-master': return "the etcd leader's master";
    case 'minority-master': return "a minority master (not the etcd leader's)";
    case 'majority-masters': return 'a majority of the masters';
    case 'random-master': return 'a random master';
    case 'random-worker': return 'a random worker';
    case 'any-host': return 'a host the seed picks';
    case 'lease-holder': return `the ${target.component} Lease holder's master`;
    case 'busiest-master': return 'the master serving the most connections';
    case 'pod': return `a pod matching ${target.pods.selector} in ${target.pods.namespace}`;
    case 'host': return target.host;
    case 'hosts': return target.hosts.join(' and ');
    default: {
      const never: never = target;
      throw new Error(`unreachable target ${JSON.stringify(never)}`);
    }
  }
}
