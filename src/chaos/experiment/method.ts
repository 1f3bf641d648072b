/**
 * Running the method (a shell): each planned fault after its pause from the previous heal (or, after
 * a background step, from that step's injection), its target
 * resolved from the cluster's state at that moment, injected, held for its duration, healed. Every
 * fault's start and end go into the timeline; a target that cannot be resolved is recorded as not
 * injected (the faults-injected verdict then says unknown), never silently skipped.
 */
import type { Address } from '../../primitives/address.js';
import type { ClusterHandle } from '../../cluster/index.js';
import { etcdStatuses, leaderMaster } from '../cluster/evidence.js';
import { injectFault, type Injected } from './faults.js';
import { describeFault, type PlannedFault } from './schedule.js';
import { resolveTarget, type ClusterView, type PodRef } from './targets.js';
import { faultTarget, type TargetSpec } from './define.js';
import type { KubeClient } from '../../client/index.js';
import type { FaultRecord } from './verdicts.js';

export interface MethodContext {
  readonly cluster: ClusterHandle;
  readonly etcdMembers: readonly Address[];
  /** The API: Lease holders and pods for targets, and pod faults. */
  readonly kube: KubeClient;
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
const LEASES = { 'controller-manager': 'kube-controller-manager', scheduler: 'kube-scheduler' } as const;

/** What the cluster looks like now, as far as `target` needs to know (only what it needs is read). */
async function observe(ctx: MethodContext, target: TargetSpec | undefined, down: ReadonlySet<string>): Promise<ClusterView> {
  const { cluster, kube } = ctx;
  const view: ClusterView = { masters: cluster.masters, workers: cluster.workers, etcdLeader: leaderMaster(await etcdStatuses(cluster.system, ctx.etcdMembers)), down };
  switch (target?.kind) {
    case 'lease-holder': {
      const lease = await kube.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'kube-system', LEASES[target.component]).catch(() => undefined);
      const holder = (lease?.['spec'] as { holderIdentity?: string } | undefined)?.holderIdentity;
      // The identity is the instance's address, `master-N/<component>`.
      return { ...view, leaseHolders: holder ? { [target.component]: holder.split('/')[0]! } : {} };
    }
    case 'busiest-master':
      return { ...view, ...(cluster.busiestMaster() === undefined ? {} : { busiestMaster: cluster.busiestMaster()! }) };
    case 'pod': {
      const list = await kube.list({ apiVersion: 'v1', kind: 'Pod' }, { namespace: target.pods.namespace, labelSelector: target.pods.selector });
      const pods: PodRef[] = list.items.flatMap((p) => {
        const spec = p['spec'] as { nodeName?: string } | undefined;
        const phase = (p['status'] as { phase?: string } | undefined)?.phase;
        const meta = p.metadata as { name: string; uid: string; deletionTimestamp?: string };
        return spec?.nodeName && phase === 'Running' && meta.deletionTimestamp === undefined ? [{ namespace: target.pods.namespace, name: meta.name, uid: meta.uid, node: spec.nodeName }] : [];
      }).sort((a, b) => a.name.localeCompare(b.name));
      return { ...view, pods };
    }
    default:
      return view;
  }
}

/** The run's state the steps share: the timeline, who is down, who died when. */
interface MethodState {
  readonly faults: FaultRecord[];
  readonly down: Set<string>;
  readonly deathsMs: Map<string, number[]>;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One step: its target resolved, the fault injected; returns the hold-and-heal to await, or
 * undefined when it was not injected (recorded as such, never fatal).
 */
async function injectStep(planned: PlannedFault, ctx: MethodContext, state: MethodState): Promise<(() => Promise<void>) | undefined> {
  const { cluster, now, note } = ctx;
  const target = faultTarget(planned.fault);
  const name = `step ${planned.step}: ${describeFault(planned.fault)}`;
  const startMs = now();
  const notInjected = (why: string, host?: string): undefined => {
    state.faults.push({ step: planned.step, name, ...(host === undefined ? {} : { host }), startMs, endMs: now(), injected: false, note: `not injected: ${why}` });
    note(`step ${planned.step} NOT injected: ${why}`);
    return undefined;
  };
  let view: ClusterView;
  try {
    view = await observe(ctx, target, state.down);
  } catch (error) {
    return notInjected(`the cluster could not be observed to pick the target: ${message(error)}`);
  }
  const resolved = target === undefined ? { hosts: [] } : resolveTarget(target, view, planned.pick);
  if ('problem' in resolved) return notInjected(resolved.problem);
  const host = resolved.hosts.length === 0 ? undefined : resolved.hosts.join(',');
  let injected: Injected;
  try {
    injected = await injectFault({ cluster, hosts: resolved.hosts, ...(resolved.pod === undefined ? {} : { pod: resolved.pod }), kube: ctx.kube }, planned.fault);
  } catch (error) {
    // A fault the cluster refuses (an actor that host does not run, say) is recorded, not fatal.
    return notInjected(message(error), host);
  }
  note(`step ${planned.step}: ${injected.note}${view.etcdLeader !== undefined && resolved.hosts.includes(view.etcdLeader) ? ` (${view.etcdLeader} is the etcd leader's master)` : ''}`);
  for (const h of injected.downHosts) state.down.add(h);
  for (const instance of injected.died) state.deathsMs.set(instance, [...(state.deathsMs.get(instance) ?? []), Date.now()]);
  return async () => {
    await sleep(startMs + planned.durationMs - now());
    const healNote = await injected.heal();
    for (const h of injected.downHosts) state.down.delete(h);
    state.faults.push({ step: planned.step, name, ...(host === undefined ? {} : { host }), startMs, endMs: now(), detectionMs: planned.detectionMs, injected: true, note: `${injected.note}; ${healNote}` });
    note(`step ${planned.step}: ${healNote}`);
  };
}

export async function runMethod(schedule: readonly PlannedFault[], ctx: MethodContext): Promise<MethodOutcome> {
  const state: MethodState = { faults: [], down: new Set(), deathsMs: new Map() };
  const background: Promise<void>[] = [];
  for (const planned of schedule) {
    // After the previous heal as it happened: a heal that took long (a restart) does not eat the pause.
    await sleep(planned.pauseMs);
    const holdAndHeal = await injectStep(planned, ctx, state);
    if (holdAndHeal === undefined) continue;
    // A background step heals on its own while the method goes on.
    if (planned.background) background.push(holdAndHeal());
    else await holdAndHeal();
  }
  await Promise.all(background);
  state.faults.sort((a, b) => a.step - b.step);
  return { faults: state.faults, deathsMs: state.deathsMs, healedAtMs: ctx.now() };
}
