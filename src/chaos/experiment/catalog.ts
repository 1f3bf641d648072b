/**
 * The fault catalog (pure): for every fault kind of define.ts, what it does, what it may target
 * and its parameters with their types and limits. define.ts validates a FaultSpec with it, file.ts
 * reads an action's provider with it (each parameter under the kebab-case of its field name:
 * `delayJitterMs` is `delay-jitter-ms`), schedule.ts describes a fault with it and
 * `pocketkube chaos list` prints it. A new fault kind is one entry here and one in faults.ts.
 */
import type { FaultSpec, TargetSpec } from './define.js';
import { MAX_CLOCK_OFFSET_MS, MAX_CLOCK_RATE } from '../../primitives/clock.js';
import { MAX_DISK_STALL_MS } from '../../runtime/storage.js';
import { chaosMeshKinds } from '../../controllers/index.js';

export type ParamSpec =
  | { readonly type: 'probability' }
  /** A clock rate against real time, in (0, 10]. */
  | { readonly type: 'rate' }
  | { readonly type: 'ms'; readonly min: number; readonly max: number }
  | { readonly type: 'seconds'; readonly max: number }
  | { readonly type: 'boolean' }
  /** An actor name such as scheduler or kubelet. */
  | { readonly type: 'actor' }
  | { readonly type: 'name' }
  | { readonly type: 'choice'; readonly values: readonly string[] }
  | { readonly type: 'names' }
  | { readonly type: 'groups' }
  /** A Chaos Mesh object of a kind this cluster serves (chaos-mesh.org/v1alpha1 PodChaos, NetworkChaos or Schedule). */
  | { readonly type: 'chaos-mesh-manifest' };

type FaultOf<K extends FaultSpec['kind']> = Extract<FaultSpec, { kind: K }>;
type ParamKey<K extends FaultSpec['kind']> = Exclude<keyof FaultOf<K>, 'kind' | 'target'>;

export interface FaultInfo<K extends FaultSpec['kind'] = FaultSpec['kind']> {
  readonly description: string;
  /** `host`: any target (a pod target hits its node); `pod`: a pod target only; `none`: the fault names its own hosts. */
  readonly target: 'host' | 'pod' | 'none';
  readonly params: { readonly [P in ParamKey<K>]-?: ParamSpec };
  readonly required: readonly ParamKey<K>[];
  /** The fault in words, for the timeline (`target` already described). */
  summary(fault: FaultOf<K>, target: string): string;
}

const MAX_DELAY_MS = 10_000;

const degradation = (f: FaultOf<'degrade-links'>): string => [
  ...(f.drop ? [`drop ${Math.round(f.drop * 100)}%`] : []),
  ...(f.duplicate ? [`duplicate ${Math.round(f.duplicate * 100)}%`] : []),
  ...(f.reorder ? [`reorder ${Math.round(f.reorder * 100)}% within ${f.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS} ms`] : []),
  ...(f.delayMs || f.delayJitterMs ? [`delay ${f.delayMs ?? 0}${f.delayJitterMs ? `–${(f.delayMs ?? 0) + f.delayJitterMs}` : ''} ms`] : []),
  ...(f.messageTypes ? [`only ${f.messageTypes.join(', ')}`] : []),
].join(', ');

/** "PodChaos default/kill-one (pod-kill)": a Chaos Mesh manifest in words. */
export function chaosMeshSummary(manifest: Readonly<Record<string, unknown>>): string {
  const meta = (manifest['metadata'] ?? {}) as { name?: string; namespace?: string };
  const spec = (manifest['spec'] ?? {}) as { action?: string; schedule?: string };
  const what = spec.action ?? (spec.schedule === undefined ? undefined : `schedule ${spec.schedule}`);
  return `${String(manifest['kind'])} ${meta.namespace ?? 'default'}/${meta.name ?? '?'}${what === undefined ? '' : ` (${what})`}`;
}

const chaosMeshServed = Object.values(chaosMeshKinds).map((k) => k.kind);

function chaosMeshManifestProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `must be a Chaos Mesh object (apiVersion, kind, metadata, spec), not ${JSON.stringify(value)}`;
  const o = value as Record<string, unknown>;
  const apiVersion = chaosMeshKinds.podChaos.apiVersion;
  if (o['apiVersion'] !== apiVersion) return `must have apiVersion ${apiVersion}, not ${JSON.stringify(o['apiVersion'])}`;
  if (typeof o['kind'] !== 'string' || !chaosMeshServed.includes(o['kind'] as never)) return `must be a ${chaosMeshServed.slice(0, -1).join(', ')} or ${chaosMeshServed.at(-1)} (the Chaos Mesh kinds this cluster serves), not ${JSON.stringify(o['kind'])}`;
  const name = (o['metadata'] as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || !NAME.test(name)) return `must have metadata.name, a lower-case DNS name, not ${JSON.stringify(name)}`;
  if (o['spec'] === null || typeof o['spec'] !== 'object') return 'must have a spec';
  return undefined;
}

export const DEFAULT_REORDER_WINDOW_MS = 50;
export const DEFAULT_STALL_MS = 1_000;

type Catalog = { readonly [K in FaultSpec['kind']]: FaultInfo<K> };

export const faultCatalog: Catalog = {
  'kill-host': {
    description: 'kill a host (a power cut: what it had not fsynced is lost; with or without connection resets), then restart it from its data directory',
    target: 'host', params: { resetConnections: { type: 'boolean' } }, required: [],
    summary: (f, t) => `kill ${t}${f.resetConnections === false ? ' silently (no connection resets)' : ''}, then restart it`,
  },
  'isolate-master': {
    description: 'partition the target masters from the other masters (clients still reach their apiservers), then heal',
    target: 'host', params: {}, required: [],
    summary: (_f, t) => `partition ${t} from the other masters, then heal`,
  },
  'one-way-partition': {
    description: "one way only: the target masters' messages to the other masters vanish (outbound) or theirs to the target (inbound), then heal",
    target: 'host', params: { direction: { type: 'choice', values: ['outbound', 'inbound'] } }, required: ['direction'],
    summary: (f, t) => (f.direction === 'outbound' ? `cut what ${t} sends to the other masters (one way), then heal` : `cut what the other masters send to ${t} (one way), then heal`),
  },
  'bridge-partition': {
    description: 'the other masters cannot reach each other; the target master (the bridge) still reaches them all, then heal',
    target: 'host', params: {}, required: [],
    summary: (_f, t) => `partition the other masters from each other with ${t} as the bridge, then heal`,
  },
  'majorities-ring': {
    description: 'the masters in a ring, each reaching only its two neighbours: every master sees a majority, a different one each (needs 5 masters), then heal',
    target: 'none', params: {}, required: [],
    summary: () => 'partition the masters into a ring of majorities, then heal',
  },
  'partition-groups': {
    description: 'hosts in different groups cannot reach each other (hosts not listed are unaffected), then heal',
    target: 'none', params: { groups: { type: 'groups' } }, required: ['groups'],
    summary: (f) => `partition ${f.groups.map((g) => `{${g.join(', ')}}`).join(' | ')}, then heal`,
  },
  'degrade-links': {
    description: 'drop, duplicate, reorder or delay the messages on every link from and to a host (all message types or the ones given), then restore them',
    target: 'host',
    params: {
      drop: { type: 'probability' }, duplicate: { type: 'probability' }, reorder: { type: 'probability' },
      reorderWindowMs: { type: 'ms', min: 1, max: MAX_DELAY_MS }, delayMs: { type: 'ms', min: 0, max: MAX_DELAY_MS },
      delayJitterMs: { type: 'ms', min: 0, max: MAX_DELAY_MS }, messageTypes: { type: 'names' },
    },
    required: [],
    summary: (f, t) => `degrade the links of ${t} (${degradation(f)}), then restore them`,
  },
  'pause-actor': {
    description: 'pause one actor of a host (SIGSTOP-like: no messages or timers handled), then resume it',
    target: 'host', params: { actor: { type: 'actor' } }, required: ['actor'],
    summary: (f, t) => `pause ${f.actor} on ${t}, then resume it`,
  },
  'kill-actor': {
    description: 'kill one actor of a host (its memory lost, its data directory kept), then restart it',
    target: 'host', params: { actor: { type: 'actor' } }, required: ['actor'],
    summary: (f, t) => `kill ${f.actor} on ${t}, then restart it`,
  },
  'node-not-ready': {
    description: "stop a node's kubelet (its pods keep running, its Lease lapses, the node goes NotReady), then start it again",
    target: 'host', params: {}, required: [],
    summary: (_f, t) => `stop the kubelet of ${t}, then start it again`,
  },
  'slow-node': {
    description: 'pause every actor of a host for pause-ms in each period-ms (a slow, overloaded machine), then let them run',
    target: 'host', params: { pauseMs: { type: 'ms', min: 1, max: MAX_DELAY_MS }, periodMs: { type: 'ms', min: 2, max: 60_000 } }, required: ['pauseMs', 'periodMs'],
    summary: (f, t) => `slow ${t} down (paused ${f.pauseMs} ms of every ${f.periodMs} ms), then let it run`,
  },
  'clock-skew': {
    description: "skew one actor's clock (rate: 0.5 runs at half speed, timers too; offset-ms steps its wall clock), then set it right",
    target: 'host', params: { actor: { type: 'actor' }, offsetMs: { type: 'ms', min: -MAX_CLOCK_OFFSET_MS, max: MAX_CLOCK_OFFSET_MS }, rate: { type: 'rate' } }, required: ['actor'],
    summary: (f, t) => `skew the clock of ${f.actor} on ${t} (${[...(f.rate === undefined ? [] : [`rate ${f.rate}`]), ...(f.offsetMs ? [`wall clock ${f.offsetMs > 0 ? '+' : ''}${f.offsetMs} ms`] : [])].join(', ')}), then set it right`,
  },
  'disk-fault': {
    description: "one actor's disk fails: fsync fails with EIO (eio), stalls stall-ms each (stall, threads only) or the disk is full (full); heal mends it and restarts the actor if the fault crashed it",
    target: 'host', params: { actor: { type: 'actor' }, mode: { type: 'choice', values: ['eio', 'stall', 'full'] }, stallMs: { type: 'ms', min: 1, max: MAX_DISK_STALL_MS } }, required: ['actor', 'mode'],
    summary: (f, t) => `${f.mode === 'eio' ? 'fail the fsyncs (EIO)' : f.mode === 'full' ? 'fill the disk (ENOSPC)' : `stall the fsyncs ${f.stallMs ?? DEFAULT_STALL_MS} ms`} of ${f.actor} on ${t}, then mend it`,
  },
  'container-kill': {
    description: "SIGKILL a pod's container (the one named, or its first) through its node's container runtime; the kubelet restarts it per restartPolicy",
    target: 'pod', params: { container: { type: 'name' } }, required: [],
    summary: (f, t) => `kill ${f.container === undefined ? 'the first container' : `container ${f.container}`} of ${t}`,
  },
  'chaos-mesh': {
    description: "create a Chaos Mesh PodChaos, NetworkChaos or Schedule (as written for Chaos Mesh) through the API; the cluster's Chaos Mesh controllers select the pods and inject; the heal deletes it, which recovers what it did",
    target: 'none', params: { manifest: { type: 'chaos-mesh-manifest' } }, required: ['manifest'],
    summary: (f) => `create ${chaosMeshSummary(f.manifest)}, then delete it`,
  },
  'pod-delete': {
    description: "delete a pod through the API (grace period 0 unless given, as Chaos Mesh's pod-kill); its controller replaces it",
    target: 'pod', params: { gracePeriodSeconds: { type: 'seconds', max: 3_600 } }, required: [],
    summary: (f, t) => `delete ${t}${f.gracePeriodSeconds ? ` (grace period ${f.gracePeriodSeconds} s)` : ''}`,
  },
};

export const faultKinds = Object.keys(faultCatalog) as FaultSpec['kind'][];

/** A catalog entry seen through plain strings (file reading, `chaos list`, validation of any kind). */
export interface FaultInfoView {
  readonly description: string;
  readonly target: FaultInfo['target'];
  readonly params: Readonly<Record<string, ParamSpec>>;
  readonly required: readonly string[];
  summary(fault: FaultSpec, target: string): string;
}

/** The entry of `kind`, or undefined for a name that is no fault kind (a plugin's, a typo). */
export function faultInfoOf(kind: string): FaultInfoView | undefined {
  return Object.hasOwn(faultCatalog, kind) ? (faultCatalog[kind as FaultSpec['kind']] as unknown as FaultInfoView) : undefined;
}

/** camelCase field → kebab-case file key. */
export function fileKey(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const ACTOR = /^[a-z][a-z0-9-]{0,62}$/;
const NAME = /^[a-z0-9]([a-z0-9-.]{0,251}[a-z0-9])?$/;
const HOST = /^(master|worker)-\d+$/;

/** The problem with one parameter value, or undefined when it fits its spec. */
export function paramProblem(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'rate': return typeof value === 'number' && value > 0 && value <= MAX_CLOCK_RATE ? undefined : `must be a clock rate above 0 and at most ${MAX_CLOCK_RATE} (1 is real time), not ${JSON.stringify(value)}`;
    case 'probability': return typeof value === 'number' && value >= 0 && value <= 1 ? undefined : `must be a probability from 0 to 1, not ${JSON.stringify(value)}`;
    case 'ms': return typeof value === 'number' && Number.isInteger(value) && value >= spec.min && value <= spec.max ? undefined : `must be whole milliseconds from ${spec.min} to ${spec.max}, not ${JSON.stringify(value)}`;
    case 'seconds': return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= spec.max ? undefined : `must be whole seconds from 0 to ${spec.max}, not ${JSON.stringify(value)}`;
    case 'boolean': return typeof value === 'boolean' ? undefined : `must be true or false, not ${JSON.stringify(value)}`;
    case 'actor': return typeof value === 'string' && ACTOR.test(value) ? undefined : `must be an actor name such as scheduler, kubelet or controller-manager, not ${JSON.stringify(value)}`;
    case 'name': return typeof value === 'string' && NAME.test(value) ? undefined : `must be a lower-case DNS name, not ${JSON.stringify(value)}`;
    case 'choice': return typeof value === 'string' && spec.values.includes(value) ? undefined : `must be ${spec.values.slice(0, -1).join(', ')}${spec.values.length > 2 ? ',' : ''} or ${spec.values.at(-1)}, not ${JSON.stringify(value)}`;
    case 'names': return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '') ? undefined : `must be a non-empty list of names, not ${JSON.stringify(value)}`;
    case 'chaos-mesh-manifest': return chaosMeshManifestProblem(value);
    case 'groups': {
      if (!Array.isArray(value) || value.length < 2) return `must be at least two groups of hosts, not ${JSON.stringify(value)}`;
      const hosts = value.flat();
      if (!value.every((g) => Array.isArray(g) && g.length > 0) || !hosts.every((h) => typeof h === 'string' && HOST.test(h))) return `must be lists of hosts such as master-1 or worker-2, not ${JSON.stringify(value)}`;
      return new Set(hosts).size === hosts.length ? undefined : 'must not name a host in two groups';
    }
    default: {
      const never: never = spec;
      throw new Error(`unreachable parameter type ${JSON.stringify(never)}`);
    }
  }
}

/** Every problem with `fault`'s parameters and target, each naming its field under `field`. */
export function faultProblems(fault: FaultSpec, field: string, cluster: { readonly masters: number; readonly workers: number }): string[] {
  const info = faultInfoOf(fault.kind)!;
  const out: string[] = [];
  const values = fault as unknown as Record<string, unknown>;
  for (const [key, spec] of Object.entries(info.params)) {
    const value = values[key];
    if (value === undefined) {
      if (info.required.includes(key)) out.push(`${field}.${key} is required`);
      continue;
    }
    const problem = paramProblem(spec, value);
    if (problem !== undefined) out.push(`${field}.${key} ${problem}`);
  }
  const target = 'target' in fault ? fault.target : undefined;
  if (info.target === 'pod' && target?.kind !== 'pod') out.push(`${field}.target must be a pod selector ({ pod: { namespace, selector } }) for ${fault.kind}`);
  if (target !== undefined) out.push(...targetProblems(target, `${field}.target`, cluster));
  out.push(...kindProblems(fault, field, cluster));
  return out;
}

function targetProblems(target: TargetSpec, field: string, cluster: { readonly masters: number; readonly workers: number }): string[] {
  const exists = (host: string) => {
    const [role, n] = [host.replace(/-\d+$/, ''), Number(host.replace(/^\D+-/, ''))];
    return n >= 1 && n <= (role === 'master' ? cluster.masters : cluster.workers);
  };
  switch (target.kind) {
    case 'random-worker': return cluster.workers === 0 ? [`${field} random-worker needs cluster.workers >= 1`] : [];
    case 'pod': return cluster.workers === 0 ? [`${field} pod needs cluster.workers >= 1 (pods run on workers)`] : target.pods.selector === '' ? [`${field}.pods.selector must not be empty`] : [];
    case 'host': return HOST.test(target.host) && exists(target.host) ? [] : [`${field}: this cluster has no host ${JSON.stringify(target.host)}`];
    case 'hosts': return target.hosts.length === 0 ? [`${field}.hosts must name at least one host`] : target.hosts.filter((h) => !HOST.test(h) || !exists(h)).map((h) => `${field}: this cluster has no host ${JSON.stringify(h)}`);
    default: return [];
  }
}

function kindProblems(fault: FaultSpec, field: string, cluster: { readonly masters: number; readonly workers: number }): string[] {
  switch (fault.kind) {
    case 'degrade-links':
      return !fault.drop && !fault.duplicate && !fault.reorder && !fault.delayMs && !fault.delayJitterMs ? [`${field} degrades nothing: give drop, duplicate, reorder or delay-ms`] : [];
    case 'disk-fault':
      return fault.stallMs !== undefined && fault.mode !== 'stall' ? [`${field}.stallMs applies to mode stall only, not ${fault.mode}`] : [];
    case 'clock-skew':
      return (fault.rate ?? 1) === 1 && !fault.offsetMs ? [`${field} skews nothing: give rate (not 1) or offset-ms`] : [];
    case 'slow-node':
      return fault.pauseMs >= fault.periodMs ? [`${field}.pauseMs must be shorter than periodMs (${fault.pauseMs} >= ${fault.periodMs}): a node paused all the time is a paused node`] : [];
    case 'majorities-ring':
      return cluster.masters < 5 ? [`${field}: a majorities ring needs 5 masters (with ${cluster.masters} every master reaches all the others); set cluster.masters to 5`] : [];
    case 'chaos-mesh':
      return cluster.workers === 0 ? [`${field}: Chaos Mesh objects act on pods, which need cluster.workers >= 1 (the Chaos Mesh controllers run only in a cluster with nodes)`] : [];
    case 'bridge-partition':
      return cluster.masters < 3 ? [`${field}: a bridge needs 3 masters`] : [];
    case 'partition-groups':
      // Only once the shape is right (paramProblem said what is wrong otherwise).
      return paramProblem({ type: 'groups' }, fault.groups) !== undefined ? [] : fault.groups.flat().flatMap((host) => targetProblems({ kind: 'host', host }, `${field}.groups`, cluster));
    default:
      return [];
  }
}
