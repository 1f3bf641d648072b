/**
 * Injecting the method's faults into a running cluster (a shell). Each kind is a registry entry:
 * `inject` performs the fault on the resolved hosts (or pod) and returns its heal, which leaves
 * nothing blocked (a killed host restarted from its data directory, a partition removed, an actor
 * resumed). What each kind means and takes is in catalog.ts.
 */
import type { ClusterHandle } from '../../cluster/index.js';
import { isNotFound, type KubeClient } from '../../client/index.js';
import type { KubeObject } from '../../api/index.js';
import { chaosMeshKinds } from '../../controllers/index.js';
import { Registry, type Named } from '../registry.js';
import type { ChaosMeshManifest, FaultSpec } from './define.js';
import { address, type Address } from '../../primitives/address.js';
import type { DelaySpec, FaultId, FaultSpec as NetworkFault } from '../../transport/network.js';
import type { CriResponse } from '../../cri/messages.js';
import { killPodContainer } from '../../cri/kill.js';
import { chaosMeshSummary, DEFAULT_REORDER_WINDOW_MS, DEFAULT_STALL_MS, faultCatalog } from './catalog.js';
import type { DiskFault } from '../../runtime/storage.js';
import type { PodRef } from './targets.js';
import { NO_SKEW, sleep, type Clock, type TimerId } from '../../primitives/clock.js';
import { wallClock } from '../../runtime/real-clock.js';

export interface InjectContext {
  readonly cluster: ClusterHandle;
  /** The resolved target's hosts (empty for a fault that names its own sides). */
  readonly hosts: readonly string[];
  /** The resolved pod, for a pod target. */
  readonly pod?: PodRef;
  /** The API, for pod faults. */
  readonly kube?: KubeClient;
  /** The clock of faults that act over time (slow-node); default the wall clock. */
  readonly clock?: Clock;
}

export interface Injected {
  /** What was done, for the timeline. */
  readonly note: string;
  /** Hosts killed at injection (down until the heal: targets skip them). */
  readonly downHosts: readonly string[];
  /** Actor instances (`host/actor`) that died at injection (the single-active checks then know when their terms ended). */
  readonly died: readonly Address[];
  heal(): Promise<string>;
}

export interface ExperimentFaultKind<K extends FaultSpec['kind'] = FaultSpec['kind']> extends Named {
  readonly name: K;
  inject(ctx: InjectContext, fault: Extract<FaultSpec, { kind: K }>): Promise<Injected>;
}

export const experimentFaultRegistry = new Registry<ExperimentFaultKind>('experiment fault');

/** The leader-elected components whose deaths end an active term. */
const LEADER_ELECTED = ['controller-manager', 'scheduler'];

function entry<K extends FaultSpec['kind']>(name: K, inject: ExperimentFaultKind<K>['inject']): void {
  experimentFaultRegistry.register({ name, description: faultCatalog[name].description, inject } as unknown as ExperimentFaultKind);
}

const nothingDown = { downHosts: [], died: [] } as const;

/** Injects network faults and returns their heal. */
async function network(cluster: ClusterHandle, specs: readonly NetworkFault[], note: string, healNote: string): Promise<Injected> {
  const ids: FaultId[] = [];
  for (const spec of specs) ids.push(await cluster.system.network.inject(spec));
  return {
    note, ...nothingDown,
    heal: async () => {
      for (const id of ids) await cluster.system.network.heal(id);
      return healNote;
    },
  };
}

function mastersOnly(cluster: ClusterHandle, hosts: readonly string[], kind: string): string[] {
  const notMasters = hosts.filter((h) => !cluster.masters.includes(h));
  if (notMasters.length > 0) throw new Error(`${kind} needs masters, not ${notMasters.join(', ')}`);
  const others = cluster.masters.filter((m) => !hosts.includes(m));
  if (others.length === 0) throw new Error(`${kind} needs a master outside the target`);
  return others;
}

entry('kill-host', async ({ cluster, hosts }, fault) => {
  const resetConnections = fault.resetConnections ?? true;
  for (const host of hosts) await cluster.system.killHost(host, { resetConnections });
  return {
    note: `killed ${hosts.join(' and ')}${resetConnections ? ' (connections reset)' : ' silently (no connection resets)'}`,
    downHosts: hosts, died: hosts.flatMap((h) => LEADER_ELECTED.map((a) => address(h, a))),
    heal: async () => {
      for (const host of hosts) await cluster.system.restartHost(host);
      return `restarted ${hosts.join(' and ')}`;
    },
  };
});

entry('isolate-master', async ({ cluster, hosts }) => {
  const others = mastersOnly(cluster, hosts, 'isolate-master');
  return network(cluster, [{ kind: 'partition', groups: [hosts, others] }], `partitioned ${hosts.join(' and ')} from ${others.join(' and ')}`, `healed the partition around ${hosts.join(' and ')}`);
});

entry('one-way-partition', async ({ cluster, hosts }, fault) => {
  const others = mastersOnly(cluster, hosts, 'one-way-partition');
  const [from, to] = fault.direction === 'outbound' ? [hosts, others] : [others, hosts];
  return network(cluster, [{ kind: 'cut', from, to }], `cut every message from ${from.join(', ')} to ${to.join(', ')} (the other way still works)`, `healed the one-way cut from ${from.join(', ')}`);
});

entry('bridge-partition', async ({ cluster, hosts }) => {
  if (hosts.length !== 1) throw new Error(`bridge-partition needs one bridge master, not ${hosts.join(', ')}`);
  const others = mastersOnly(cluster, hosts, 'bridge-partition');
  if (others.length < 2) throw new Error('bridge-partition needs two masters besides the bridge');
  // Each other master alone in its group; the bridge, in none, still reaches every one of them.
  return network(cluster, [{ kind: 'partition', groups: others.map((m) => [m]) }], `partitioned ${others.join(', ')} from each other; ${hosts[0]} bridges them`, `healed the bridge partition around ${hosts[0]}`);
});

entry('majorities-ring', async ({ cluster }) => {
  const ring = cluster.masters;
  if (ring.length < 5) throw new Error(`majorities-ring needs 5 masters, the cluster has ${ring.length}`);
  const cuts: NetworkFault[] = [];
  ring.forEach((a, i) => ring.forEach((b, j) => {
    const apart = Math.min(Math.abs(i - j), ring.length - Math.abs(i - j));
    if (apart > 1) cuts.push({ kind: 'cut', from: [a], to: [b] });
  }));
  return network(cluster, cuts, `partitioned the masters into a ring ${ring.join(' – ')} – ${ring[0]} (each reaches only its neighbours)`, 'healed the ring');
});

entry('partition-groups', async ({ cluster }, fault) => {
  const hosts = new Set([...cluster.masters, ...cluster.workers]);
  const unknown = fault.groups.flat().filter((h) => !hosts.has(h));
  if (unknown.length > 0) throw new Error(`partition-groups names hosts this cluster does not have: ${unknown.join(', ')}`);
  const text = fault.groups.map((g) => `{${g.join(', ')}}`).join(' | ');
  return network(cluster, [{ kind: 'partition', groups: fault.groups }], `partitioned ${text}`, `healed the partition ${text}`);
});

entry('degrade-links', async ({ cluster, hosts }, fault) => {
  const types = fault.messageTypes === undefined ? {} : { types: fault.messageTypes };
  const specs: NetworkFault[] = [];
  for (const link of [{ from: hosts, ...types }, { to: hosts, ...types }]) {
    if (fault.drop) specs.push({ kind: 'drop', link, probability: fault.drop });
    if (fault.duplicate) specs.push({ kind: 'duplicate', link, probability: fault.duplicate });
    if (fault.reorder) specs.push({ kind: 'reorder', link, probability: fault.reorder, windowMs: fault.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS });
    if (fault.delayMs || fault.delayJitterMs) {
      const min = fault.delayMs ?? 0;
      const delay: DelaySpec = fault.delayJitterMs ? { dist: 'uniform', minMs: min, maxMs: min + fault.delayJitterMs } : { dist: 'fixed', ms: min };
      specs.push({ kind: 'delay', link, delay });
    }
  }
  return network(cluster, specs, `degraded the links of ${hosts.join(' and ')}`, `restored the links of ${hosts.join(' and ')}`);
});

entry('pause-actor', async ({ cluster, hosts }, fault) => {
  const actors = hosts.map((h) => address(h, fault.actor));
  for (const actor of actors) await cluster.system.pause(actor);
  return {
    note: `paused ${actors.join(', ')}`, ...nothingDown,
    heal: async () => {
      for (const actor of actors) await cluster.system.resume(actor);
      return `resumed ${actors.join(', ')}`;
    },
  };
});

async function killActors(cluster: ClusterHandle, actors: readonly Address[], what: string, healWhat: string): Promise<Injected> {
  for (const actor of actors) await cluster.system.killActor(actor);
  return {
    note: what, downHosts: [], died: actors.filter((a) => LEADER_ELECTED.some((c) => a.endsWith(`/${c}`))),
    heal: async () => {
      for (const actor of actors) await cluster.system.restartActor(actor);
      return healWhat;
    },
  };
}

entry('kill-actor', async ({ cluster, hosts }, fault) => {
  const actors = hosts.map((h) => address(h, fault.actor));
  return killActors(cluster, actors, `killed ${actors.join(', ')}`, `restarted ${actors.join(', ')}`);
});

entry('node-not-ready', async ({ cluster, hosts }) => {
  const kubelets = hosts.map((h) => address(h, 'kubelet'));
  return killActors(cluster, kubelets, `stopped ${kubelets.join(', ')} (the pods keep running)`, `started ${kubelets.join(', ')} again`);
});

entry('slow-node', async ({ cluster, hosts, clock = wallClock }, fault) => {
  const actors = (await cluster.system.list()).filter((a) => hosts.includes(a.host) && a.status === 'running').map((a) => a.address);
  if (actors.length === 0) throw new Error(`no running actor on ${hosts.join(', ')}`);
  let paused = false;
  let stopped = false;
  let bursts = 0;
  let timer: TimerId | undefined;
  const toggle = async (): Promise<void> => {
    if (stopped) return;
    paused = !paused;
    if (paused) bursts++;
    await Promise.all(actors.map((a) => (paused ? cluster.system.pause(a) : cluster.system.resume(a)).catch(() => undefined)));
    if (!stopped) timer = clock.setTimer(paused ? fault.pauseMs : fault.periodMs - fault.pauseMs, () => void toggle());
  };
  await toggle();
  return {
    note: `slowed ${hosts.join(', ')} (${actors.length} actors paused ${fault.pauseMs} ms of every ${fault.periodMs} ms)`, ...nothingDown,
    heal: async () => {
      stopped = true;
      if (timer !== undefined) clock.clearTimer(timer);
      await Promise.all(actors.map((a) => cluster.system.resume(a).catch(() => undefined)));
      return `let ${hosts.join(', ')} run again after ${bursts} pauses`;
    },
  };
});

entry('clock-skew', async ({ cluster, hosts }, fault) => {
  const actors = hosts.map((h) => address(h, fault.actor));
  const skew = { offsetMs: fault.offsetMs ?? 0, rate: fault.rate ?? 1 };
  for (const actor of actors) await cluster.system.skewClock(actor, skew);
  return {
    note: `skewed the clock of ${actors.join(', ')} (rate ${skew.rate}, wall clock ${skew.offsetMs >= 0 ? '+' : ''}${skew.offsetMs} ms)`, ...nothingDown,
    heal: async () => {
      for (const actor of actors) await cluster.system.skewClock(actor, NO_SKEW);
      return `set the clock of ${actors.join(', ')} right`;
    },
  };
});

entry('disk-fault', async ({ cluster, hosts }, fault) => {
  const actors = hosts.map((h) => address(h, fault.actor));
  const disk: DiskFault = fault.mode === 'stall' ? { kind: 'stall', stallMs: fault.stallMs ?? DEFAULT_STALL_MS } : { kind: fault.mode };
  for (const actor of actors) await cluster.system.setDiskFault(actor, disk);
  return {
    note: `${fault.mode === 'eio' ? 'failed the fsyncs (EIO)' : fault.mode === 'full' ? 'filled the disk (ENOSPC)' : `stalled the fsyncs (${disk.kind === 'stall' ? disk.stallMs : 0} ms each)`} of ${actors.join(', ')}`, ...nothingDown,
    heal: async () => {
      for (const actor of actors) await cluster.system.setDiskFault(actor, undefined);
      // An actor that crashed on its disk (as etcd does on a failed fsync) and ran out of restarts is started again.
      const stopped = (await cluster.system.list()).filter((a) => actors.includes(a.address) && ['crashed', 'stopped', 'failed'].includes(a.status)).map((a) => a.address);
      for (const actor of stopped) await cluster.system.restartActor(actor);
      return `mended the disk of ${actors.join(', ')}${stopped.length > 0 ? `; restarted ${stopped.join(', ')}` : ''}`;
    },
  };
});

function requirePod(ctx: InjectContext, kind: string): PodRef {
  if (ctx.pod === undefined) throw new Error(`${kind} needs a pod target`);
  return ctx.pod;
}

const noHeal = (note: string, healNote: string): Injected => ({ note, ...nothingDown, heal: async () => healNote });

entry('container-kill', async (ctx, fault) => {
  const pod = requirePod(ctx, 'container-kill');
  const killed = await killPodContainer((to, request) => ctx.cluster.system.ask<CriResponse>(to, request), pod.node, pod.uid, fault.container);
  return noHeal(`killed container ${killed.name} of ${pod.namespace}/${pod.name} on ${pod.node}`, 'left its restart to the kubelet');
});

entry('pod-delete', async (ctx, fault) => {
  const pod = requirePod(ctx, 'pod-delete');
  if (ctx.kube === undefined) throw new Error('pod-delete needs the API');
  await ctx.kube.delete({ apiVersion: 'v1', kind: 'Pod' }, pod.namespace, pod.name, { gracePeriodSeconds: fault.gracePeriodSeconds ?? 0, preconditions: { uid: pod.uid } });
  return noHeal(`deleted pod ${pod.namespace}/${pod.name} (on ${pod.node})`, 'left its replacement to its controller');
});

/** How long a created PodChaos may take to report AllInjected, and a deleted object to be gone (its recovery done). */
const CHAOS_MESH_WAIT_MS = 20_000;
const CHAOS_MESH_POLL_MS = 100;

function conditionOf(obj: KubeObject, type: string): string | undefined {
  const conditions = ((obj['status'] as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions) ?? [];
  return conditions.find((c) => c.type === type)?.status;
}

/** Polls `probe` until it returns a value or CHAOS_MESH_WAIT_MS pass; then throws naming `what`. */
async function chaosMeshWait<T>(clock: Clock, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = clock.now() + CHAOS_MESH_WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (clock.now() > deadline) throw new Error(`${what} within ${CHAOS_MESH_WAIT_MS} ms`);
    await sleep(clock, CHAOS_MESH_POLL_MS);
  }
}

function recordIds(obj: KubeObject): string[] {
  return ((obj['status'] as { experiment?: { containerRecords?: { id?: string }[] } } | undefined)?.experiment?.containerRecords ?? []).map((r) => r.id ?? '?');
}

/** A Schedule's children still kept (its historyLimit) and what each hit, for the timeline. */
async function scheduleChildren(kube: KubeClient, namespace: string, schedule: string, type: unknown): Promise<string> {
  const kind = Object.values(chaosMeshKinds).find((k) => k.kind === type && k.kind !== 'Schedule');
  if (kind === undefined) return `its type ${JSON.stringify(type)} makes no children here`;
  const list = await kube.list(kind, { namespace, labelSelector: `managed-by=${schedule}` });
  if (list.items.length === 0) return `it had made no ${kind.kind}`;
  const each = list.items.map((c) => `${c.metadata?.name ?? '?'} on ${recordIds(c).join(', ') || 'nothing'}`);
  return `its last ${list.items.length === 1 ? kind.kind : `${list.items.length} ${kind.kind}`}: ${each.join('; ')}`;
}

entry('chaos-mesh', async ({ kube, clock = wallClock }, fault) => {
  if (kube === undefined) throw new Error('chaos-mesh needs the API');
  const manifest: ChaosMeshManifest = fault.manifest;
  const ref = Object.values(chaosMeshKinds).find((k) => k.kind === manifest['kind']);
  if (ref === undefined) throw new Error(`chaos-mesh: ${String(manifest['kind'])} is not a Chaos Mesh kind this cluster serves`);
  const meta = (manifest['metadata'] ?? {}) as { name: string; namespace?: string };
  const namespace = meta.namespace ?? 'default';
  const what = chaosMeshSummary({ ...manifest, metadata: { ...meta, namespace } });
  const created = await kube.create(ref, { ...manifest, metadata: { ...meta, namespace } } as KubeObject);
  const uid = created.metadata?.uid;
  const childKind = ref.kind === 'Schedule' ? Object.values(chaosMeshKinds).find((k) => k.kind === (manifest['spec'] as { type?: unknown } | undefined)?.type && k.kind !== 'Schedule') : undefined;
  /** Deletes it and waits until it is gone (its finalizer holds it until every record is recovered) and, for a Schedule, its children too. */
  const remove = async (): Promise<void> => {
    await kube.delete(ref, namespace, meta.name, uid === undefined ? {} : { preconditions: { uid } }).catch((error: unknown) => { if (!isNotFound(error)) throw error; });
    await chaosMeshWait(clock, `${what} was not gone after its deletion`, async () => kube.get(ref, namespace, meta.name).then(
      (obj) => (obj.metadata?.uid === uid ? undefined : true),
      (error: unknown) => { if (isNotFound(error)) return true; throw error; },
    ));
    // The garbage collector deletes a Schedule's children; each recovers before it goes.
    if (childKind !== undefined) {
      await chaosMeshWait(clock, `the children of ${what} were not gone after its deletion`, async () =>
        ((await kube.list(childKind, { namespace, labelSelector: `managed-by=${meta.name}` })).items.length === 0 ? true : undefined));
    }
  };
  // A chaos counts as injected once its controller says so; a Schedule once it exists (its children inject).
  let records = '';
  if (ref.kind !== 'Schedule') {
    try {
      records = await chaosMeshWait(clock, `${what} was not injected (no AllInjected condition)`, async () => {
        const now = await kube.get(ref, namespace, meta.name);
        return conditionOf(now, 'AllInjected') === 'True' ? `: ${recordIds(now).join(', ')}` : undefined;
      });
    } catch (error) {
      // Not injected in time: removed again, so that a late injection cannot outlive the step.
      await remove().catch(() => undefined);
      throw error;
    }
  }
  return {
    note: `created ${what}${records}`, ...nothingDown,
    heal: async () => {
      const children = ref.kind === 'Schedule'
        ? await scheduleChildren(kube, namespace, meta.name, (manifest['spec'] as { type?: unknown } | undefined)?.type).catch((error: unknown) => `its children could not be listed (${error instanceof Error ? error.message : String(error)})`)
        : '';
      await remove();
      return `deleted ${what}${ref.kind !== 'Schedule' ? ' (recovered)' : `; ${children} (gone with it: the garbage collector deleted them)`}`;
    },
  };
});

export function injectFault(ctx: InjectContext, fault: FaultSpec): Promise<Injected> {
  return experimentFaultRegistry.require(fault.kind).inject(ctx, fault as never);
}
