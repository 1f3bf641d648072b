/**
 * The scheduling framework runtime (upstream pkg/scheduler/framework/runtime and schedule_one.go):
 * a plugin registry, the Permit waiting room, and a Profile that runs one scheduling cycle on a
 * snapshot — PreFilter, Filter (with percentageOfNodesToScore and a rotating start node),
 * PostFilter on failure, PreScore, Score + NormalizeScore with weights, selectHost (ties broken
 * by the seeded PRNG), assume, Reserve and Permit — and the binding cycle's PreBind, Bind and
 * PostBind. Everything is pure: time comes in as `nowMs`, randomness from an injected Prng, and a
 * binding is returned as data for the shell to perform. Every cycle returns a Decision record
 * (per node the Filter status, per Score plugin the raw and normalised scores) so explanations
 * and FailedScheduling messages read the same data.
 */
import type { JsonObject } from '../api/index.js';
import { assert } from '../primitives/assert.js';
import type { Prng } from '../primitives/prng.js';
import type { PluginBuild } from './plugins/args.js';
import {
  CycleState, implementsPoint, maxNodeScore, success,
  type BindingAction, type BindPlugin, type ClusterEventWithHint, type EnqueueExtensions, type ExtensionPoint, type FilterPlugin,
  type NodeInfo, type PdbInfo, type PermitPlugin, type PluginBase, type PluginContext, type PodInfo, type PostBindPlugin,
  type PostFilterPlugin, type PostFilterResult, type PreBindPlugin, type PreEnqueuePlugin, type PreFilterPlugin, type PreScorePlugin,
  type QueuedPodView, type QueueSortPlugin, type ReservePlugin, type ScorePlugin, type SnapshotView, type Status, type StatusCode,
} from './types.js';
import { addPodToNode, cloneNodeInfo, removePodFromNode } from './podinfo.js';

export * from './types.js';
export type { PluginBuild } from './plugins/args.js';

// ---------------------------------------------------------------------------------------------
// Statuses

export const withPlugin = (s: Status, plugin: string): Status => (s.plugin === plugin ? s : { code: s.code, reasons: s.reasons, plugin });
/** Unschedulable or UnschedulableAndUnresolvable: a verdict about the pod, not a failure of the scheduler. */
const isRejected = (s: Status): boolean => s.code === 'Unschedulable' || s.code === 'UnschedulableAndUnresolvable';
/** Upstream Status.Message(): the reasons joined. */
const statusMessage = (s: Status): string => s.reasons.join(', ');
const newStatus = (code: StatusCode, plugin: string | undefined, ...reasons: string[]): Status =>
  plugin === undefined ? { code, reasons } : { code, reasons, plugin };

// ---------------------------------------------------------------------------------------------
// Registry

/** What a plugin may hold on to besides its args (upstream framework.Handle). */
export interface FrameworkHandle {
  /** Pods parked at Permit; a gang-scheduling plugin allows or rejects them. */
  readonly waitingPods: WaitingPods;
  readonly schedulerName: string;
}

/** A factory gets its (strictly checked) args and the profile's handle. */
export type FrameworkPluginFactory = (args: JsonObject | undefined, handle: FrameworkHandle) => PluginBuild;

/** name → factory. A user's plugin registered here runs exactly like a built-in one. */
export class Registry {
  private readonly factories = new Map<string, FrameworkPluginFactory>();

  constructor(entries: Iterable<readonly [string, FrameworkPluginFactory]> = []) {
    for (const [name, f] of entries) this.register(name, f);
  }

  register(name: string, factory: FrameworkPluginFactory): this {
    // Registering the same name twice is a programming error (upstream Registry.Register errors too).
    assert(!this.factories.has(name), `scheduler plugin ${JSON.stringify(name)} is registered twice`);
    assert(name !== '' && name !== '*', 'a scheduler plugin needs a proper name');
    this.factories.set(name, factory);
    return this;
  }

  /** A registry holding both: `other`'s names must be new. */
  merge(other: Registry): Registry {
    const r = new Registry(this.factories);
    for (const [n, f] of other.factories) r.register(n, f);
    return r;
  }

  get(name: string): FrameworkPluginFactory | undefined { return this.factories.get(name); }
  has(name: string): boolean { return this.factories.has(name); }
  names(): string[] { return [...this.factories.keys()]; }
}

// ---------------------------------------------------------------------------------------------
// Permit: the waiting room

/** Upstream maxTimeout for a Permit wait. */
const maxPermitTimeoutMs = 15 * 60 * 1000;

export interface WaitingPod {
  readonly pod: PodInfo;
  readonly nodeName: string;
  /** Plugins that have not allowed yet. */
  pendingPlugins(): string[];
  allow(plugin: string): void;
  reject(plugin: string, message: string): void;
}

export type PermitOutcome =
  | { readonly kind: 'allowed'; readonly pod: PodInfo; readonly nodeName: string }
  | { readonly kind: 'rejected'; readonly pod: PodInfo; readonly nodeName: string; readonly status: Status };

interface WaitingEntry { readonly pod: PodInfo; readonly nodeName: string; readonly startMs: number; readonly pending: Map<string, number> }

/**
 * Pods a Permit plugin asked to wait. Allow/reject/timeouts settle them into outcomes the shell
 * drains (it then runs the binding cycle or unreserves): no goroutine per pod, no timer here.
 */
export class WaitingPods {
  private readonly pods = new Map<string, WaitingEntry>();
  private readonly settled: PermitOutcome[] = [];

  static readonly maxWaiting = 100_000;

  add(pod: PodInfo, nodeName: string, deadlines: ReadonlyMap<string, number>, nowMs: number): void {
    assert(!this.pods.has(pod.uid), `pod ${pod.key} is already waiting at Permit`);
    assert(this.pods.size < WaitingPods.maxWaiting, `more than ${WaitingPods.maxWaiting} pods waiting at Permit`);
    this.pods.set(pod.uid, { pod, nodeName, startMs: nowMs, pending: new Map(deadlines) });
  }

  get(uid: string): WaitingPod | undefined {
    const e = this.pods.get(uid);
    return e === undefined ? undefined : this.view(e);
  }

  list(): WaitingPod[] { return [...this.pods.values()].map((e) => this.view(e)); }
  get size(): number { return this.pods.size; }

  private view(e: WaitingEntry): WaitingPod {
    return {
      pod: e.pod, nodeName: e.nodeName,
      pendingPlugins: () => [...e.pending.keys()],
      allow: (plugin) => this.allow(e.pod.uid, plugin),
      reject: (plugin, message) => this.reject(e.pod.uid, plugin, message),
    };
  }

  allow(uid: string, plugin: string): void {
    const e = this.pods.get(uid);
    if (e === undefined) return;
    e.pending.delete(plugin);
    if (e.pending.size > 0) return;
    this.pods.delete(uid);
    this.settled.push({ kind: 'allowed', pod: e.pod, nodeName: e.nodeName });
  }

  reject(uid: string, plugin: string, message: string): void {
    const e = this.pods.get(uid);
    if (e === undefined) return;
    this.pods.delete(uid);
    this.settled.push({ kind: 'rejected', pod: e.pod, nodeName: e.nodeName, status: newStatus('Unschedulable', plugin, message) });
  }

  /** Rejects every pod one of whose plugins timed out by `nowMs`. */
  expire(nowMs: number): void {
    for (const e of [...this.pods.values()]) {
      for (const [plugin, deadline] of e.pending) {
        if (nowMs < deadline) continue;
        this.reject(e.pod.uid, plugin, `rejected due to timeout after waiting ${deadline - e.startMs}ms at plugin ${plugin}`);
        break;
      }
    }
  }

  nextDeadlineMs(): number | undefined {
    let min: number | undefined;
    for (const e of this.pods.values()) for (const d of e.pending.values()) if (min === undefined || d < min) min = d;
    return min;
  }

  /** Outcomes settled since the last drain, in order. */
  drain(): PermitOutcome[] { return this.settled.splice(0); }
}

// ---------------------------------------------------------------------------------------------
// Queueing hints for the built-ins that declare no events() themselves (upstream EventsToRegister).

const allEvents: readonly ClusterEventWithHint[] = (['NodeAdd', 'NodeUpdate', 'NodeDelete', 'PodAdd', 'PodUpdate', 'PodDelete'] as const).map((event) => ({ event }));

/** The events that may make a pod rejected by `plugin` schedulable; a plugin without any: all. */
function eventsOf(plugin: PluginBase, builtin: ReadonlyMap<string, readonly ClusterEventWithHint[]>): readonly ClusterEventWithHint[] {
  const ext = plugin as Partial<EnqueueExtensions>;
  if (typeof ext.events === 'function') return ext.events();
  return builtin.get(plugin.name) ?? allEvents;
}

// ---------------------------------------------------------------------------------------------
// Profile

export interface ProfilePlugins {
  readonly preEnqueue: readonly PreEnqueuePlugin[];
  readonly queueSort: readonly QueueSortPlugin[];
  readonly preFilter: readonly PreFilterPlugin[];
  readonly filter: readonly FilterPlugin[];
  readonly postFilter: readonly PostFilterPlugin[];
  readonly preScore: readonly PreScorePlugin[];
  readonly score: ReadonlyArray<{ readonly plugin: ScorePlugin; readonly weight: number }>;
  readonly reserve: readonly ReservePlugin[];
  readonly permit: readonly PermitPlugin[];
  readonly preBind: readonly PreBindPlugin[];
  readonly bind: readonly BindPlugin[];
  readonly postBind: readonly PostBindPlugin[];
}

export interface ProfileSpec {
  readonly schedulerName: string;
  readonly plugins: ProfilePlugins;
  /** 0 or absent: upstream's adaptive default. */
  readonly percentageOfNodesToScore?: number;
  /** Queueing hints for plugins without events() (config.ts passes the built-ins' table). */
  readonly builtinEvents?: ReadonlyMap<string, readonly ClusterEventWithHint[]>;
}

/** Upstream numFeasibleNodesToFind. */
const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

export function numFeasibleNodesToFind(percentage: number | undefined, numAllNodes: number): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let pct = percentage ?? 0;
  if (pct === 0) pct = Math.max(minFeasibleNodesPercentageToFind, 50 - Math.trunc(numAllNodes / 125));
  if (pct >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < minFeasibleNodesToFind ? minFeasibleNodesToFind : n;
}

/** The part of a cache a cycle needs: assumed pods count against their node at once. */
export interface AssumeCache {
  assumePod(p: PodInfo, nodeName: string): void;
  forgetPod(uid: string): void;
}

export interface CycleInput {
  readonly snapshot: SnapshotView;
  readonly pod: PodInfo;
  readonly nowMs: number;
  /** Absent: nothing is assumed (a what-if run). */
  readonly cache?: AssumeCache;
  /** Pods nominated to a node (after preemption) that Filter must count if they outrank `pod`. */
  readonly nominatedPods?: (nodeName: string) => readonly PodInfo[];
  readonly pdbs?: readonly PdbInfo[];
}

export interface ScoreRecord { readonly plugin: string; readonly weight: number; readonly raw: Float64Array; readonly normalized: Float64Array }

/** One cycle, as data: what `explain` prints and FailedScheduling quotes. */
export interface Decision {
  readonly podKey: string;
  readonly uid: string;
  readonly schedulerName: string;
  readonly nowMs: number;
  readonly numAllNodes: number;
  /** Non-success PreFilter statuses (Skip included), each with its plugin. */
  readonly preFilter: Status[];
  /** The Filter plugins that ran, in order (PreFilter Skips left out): explain's columns. */
  filterPlugins?: readonly string[];
  /** Nodes that failed Filter, with the first failing plugin's status. */
  readonly filtered: Map<string, Status>;
  /** Status of nodes PreFilter ruled out without evaluating them. */
  absent?: Status;
  readonly feasible: string[];
  /** Absent when there was nothing to score (no or exactly one feasible node). */
  scored?: { readonly nodes: readonly string[]; readonly plugins: readonly ScoreRecord[]; readonly totals: Float64Array };
  nodeName?: string;
  /** The FailedScheduling message (upstream FitError.Error()) or the error. */
  message?: string;
  postFilter?: { readonly status: Status; readonly nominatedNodeName?: string; readonly victims: readonly string[] };
  /** A Reserve or Permit status that is not Success. */
  reservePermit?: Status;
}

export type CycleResult =
  /** Assumed on `nodeName` and allowed by Permit: run the binding cycle. */
  | { readonly kind: 'assumed'; readonly nodeName: string; readonly state: CycleState; readonly decision: Decision }
  /** Assumed and parked at Permit: bind once WaitingPods settles it as allowed. */
  | { readonly kind: 'waiting'; readonly nodeName: string; readonly state: CycleState; readonly decision: Decision }
  | {
    readonly kind: 'unschedulable'; readonly status: Status; readonly message: string; readonly decision: Decision;
    /** Plugins that rejected it (the queue requeues on their events). */
    readonly unschedulablePlugins: ReadonlySet<string>;
    /** Set by preemption: the node to nominate ('' clears a nomination) and the pods to delete. */
    readonly nominatedNodeName?: string; readonly victims: readonly PodInfo[];
  }
  | { readonly kind: 'error'; readonly status: Status; readonly message: string; readonly decision: Decision };

export type BindResult = { readonly ok: true; readonly action: BindingAction } | { readonly ok: false; readonly status: Status };

/** Diagnosis of a failed cycle, rendered like upstream's FitError.Error(). */
export interface FitDiagnosis {
  readonly numAllNodes: number;
  readonly filtered: ReadonlyMap<string, Status>;
  readonly absent?: Status;
  readonly preFilterMsg?: string;
  readonly postFilterMsg?: string;
}

/** "0/3 nodes are available: 1 node(s) had untolerated taint {a: }, 2 Insufficient cpu. preemption: ..." */
export function fitErrorMessage(d: FitDiagnosis): string {
  let msg = `0/${d.numAllNodes} nodes are available:`;
  if (d.preFilterMsg !== undefined && d.preFilterMsg !== '') msg += ` ${d.preFilterMsg}.`;
  else {
    const reasons = new Map<string, number>();
    for (const s of d.filtered.values()) for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    if (d.absent !== undefined && d.filtered.size < d.numAllNodes) {
      for (const r of d.absent.reasons) reasons.set(r, (reasons.get(r) ?? 0) + d.numAllNodes - d.filtered.size);
    }
    // Go's sort.Strings: byte order of "<count> <reason>", so "10 x" sorts before "2 y" as upstream.
    const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg !== undefined && d.postFilterMsg !== '') msg += ` ${d.postFilterMsg}`;
  return msg;
}

/**
 * A snapshot with some nodes replaced (preemption's dry runs). Lists are built only when a plugin
 * reads them, and the affinity lists from the base's (short) ones: a dry run per candidate node
 * must not cost a pass over every node.
 */
function overlaySnapshot(base: SnapshotView, replaced: readonly NodeInfo[]): SnapshotView {
  const by = new Map(replaced.map((n) => [n.name, n]));
  const patch = (list: readonly NodeInfo[], has: (n: NodeInfo) => boolean): NodeInfo[] => {
    const out = list.filter((n) => !by.has(n.name));
    for (const n of replaced) if (base.get(n.name) !== undefined && has(n)) out.push(n);
    return out;
  };
  let nodes: NodeInfo[] | undefined;
  let affinity: NodeInfo[] | undefined;
  let anti: NodeInfo[] | undefined;
  return {
    get nodes() { return nodes ??= base.nodes.map((n) => by.get(n.name) ?? n); },
    get: (name) => by.get(name) ?? base.get(name),
    get havePodsWithAffinity() { return affinity ??= patch(base.havePodsWithAffinity, (n) => n.podsWithAffinity.length > 0); },
    get havePodsWithRequiredAntiAffinity() { return anti ??= patch(base.havePodsWithRequiredAntiAffinity, (n) => n.podsWithRequiredAntiAffinity.length > 0); },
    namespaceLabels: (ns) => base.namespaceLabels(ns),
    imageNodeCount: (img) => base.imageNodeCount(img),
  };
}

function nominatedNodeNameOf(pod: PodInfo): string {
  const status = pod.pod['status'];
  const v = typeof status === 'object' && status !== null ? (status as Record<string, unknown>)['nominatedNodeName'] : undefined;
  return typeof v === 'string' ? v : '';
}

interface PreFilterOutcome {
  readonly status: Status;
  readonly skipped: ReadonlySet<string>;
  readonly nodeNames: ReadonlySet<string> | undefined;
  /** Plugins that narrowed the node set (named in the "didn't satisfy plugin(s)" message). */
  readonly narrowing: readonly string[];
}

export class Profile {
  readonly schedulerName: string;
  readonly plugins: ProfilePlugins;
  readonly handle: FrameworkHandle;
  private readonly percentage: number | undefined;
  private readonly builtinEvents: ReadonlyMap<string, readonly ClusterEventWithHint[]>;
  private readonly byName = new Map<string, PluginBase>();
  /** Upstream nextStartNodeIndex: where the next cycle's Filter starts, so load spreads. */
  private nextStartNodeIndex = 0;

  constructor(spec: ProfileSpec, private readonly prng: Prng, waitingPods = new WaitingPods()) {
    this.schedulerName = spec.schedulerName;
    this.plugins = spec.plugins;
    this.percentage = spec.percentageOfNodesToScore;
    this.builtinEvents = spec.builtinEvents ?? new Map();
    this.handle = { waitingPods, schedulerName: spec.schedulerName };
    assert(spec.plugins.queueSort.length === 1, `profile ${spec.schedulerName}: exactly one queueSort plugin is needed`);
    assert(spec.plugins.bind.length >= 1, `profile ${spec.schedulerName}: at least one bind plugin is needed`);
    const p = spec.plugins;
    for (const list of [p.preEnqueue, p.queueSort, p.preFilter, p.filter, p.postFilter, p.preScore, p.score.map((s) => s.plugin), p.reserve, p.permit, p.preBind, p.bind, p.postBind]) {
      for (const pl of list) this.byName.set(pl.name, pl);
    }
    for (const s of p.score) assert(Number.isInteger(s.weight) && s.weight >= 1, `profile ${spec.schedulerName}: score weight of ${s.plugin.name} must be a positive integer`);
  }

  /** Upstream's PreEnqueue: the first non-success status keeps the pod out of activeQ. */
  preEnqueue(pod: PodInfo): Status {
    for (const pl of this.plugins.preEnqueue) {
      const s = pl.preEnqueue(pod);
      if (s.code !== 'Success') return withPlugin(s, pl.name);
    }
    return success;
  }

  less(a: QueuedPodView, b: QueuedPodView): boolean { return this.plugins.queueSort[0]!.less(a, b); }

  /** Plugin names in this profile (for explain's columns). */
  pluginNames(): string[] { return [...this.byName.keys()]; }
  plugin(name: string): PluginBase | undefined { return this.byName.get(name); }

  /** The events whose hints may requeue a pod `plugin` rejected. */
  eventsFor(plugin: string): readonly ClusterEventWithHint[] {
    const pl = this.byName.get(plugin);
    return pl === undefined ? allEvents : eventsOf(pl, this.builtinEvents);
  }

  implements(name: string, point: ExtensionPoint): boolean {
    const pl = this.byName.get(name);
    return pl !== undefined && implementsPoint(pl, point);
  }

  private runPreFilter(ctx: PluginContext, pod: PodInfo, decision: Decision): PreFilterOutcome {
    const skipped = new Set<string>();
    let nodeNames: Set<string> | undefined;
    const narrowing: string[] = [];
    for (const pl of this.plugins.preFilter) {
      const r = pl.preFilter(ctx, pod);
      const s = withPlugin(r.status, pl.name);
      if (s.code === 'Skip') { skipped.add(pl.name); decision.preFilter.push(s); continue; }
      if (s.code !== 'Success') {
        decision.preFilter.push(s);
        return { status: s.code === 'Error' ? s : { code: s.code, reasons: s.reasons, plugin: pl.name }, skipped, nodeNames, narrowing };
      }
      if (r.nodeNames !== undefined) {
        narrowing.push(pl.name);
        nodeNames = nodeNames === undefined ? new Set(r.nodeNames) : new Set([...nodeNames].filter((n) => r.nodeNames!.has(n)));
        if (nodeNames.size === 0) {
          const msg = narrowing.length === 1 ? `node(s) didn't satisfy plugin ${narrowing[0]}` : `node(s) didn't satisfy plugin(s) [${narrowing.join(' ')}] simultaneously`;
          const st = newStatus('UnschedulableAndUnresolvable', pl.name, msg);
          decision.preFilter.push(st);
          return { status: st, skipped, nodeNames, narrowing };
        }
      }
    }
    return { status: success, skipped, nodeNames, narrowing };
  }

  /** Filter plugins whose PreFilter did not Skip, computed once per cycle (the node loop is hot). */
  private activeFilters(skipped: ReadonlySet<string>): readonly FilterPlugin[] {
    return skipped.size === 0 ? this.plugins.filter : this.plugins.filter.filter((pl) => !skipped.has(pl.name));
  }

  /** Filter plugins on one node: the first non-success status, with its plugin. */
  private filterNode(ctx: PluginContext, pod: PodInfo, node: NodeInfo, filters: readonly FilterPlugin[]): Status {
    for (let i = 0; i < filters.length; i++) {
      const pl = filters[i]!;
      const s = pl.filter(ctx, pod, node);
      if (s.code !== 'Success') return withPlugin(s, pl.name);
    }
    return success;
  }

  /**
   * Upstream RunFilterPluginsWithNominatedPods: first with the nominated pods that outrank `pod`
   * added to the node — and to a copy of the cycle state through each (not skipped) PreFilter
   * plugin's addPod, so spread and affinity counts see them as resource checks do — then (if any
   * were added and it passed) without them, since a nominated pod may never arrive.
   */
  private filterWithNominated(ctx: PluginContext, input: CycleInput, node: NodeInfo, filters: readonly FilterPlugin[], skipped: ReadonlySet<string>): Status {
    const pod = input.pod;
    if (input.nominatedPods === undefined) return this.filterNode(ctx, pod, node, filters);
    const all = input.nominatedPods(node.name);
    if (all.length === 0) return this.filterNode(ctx, pod, node, filters);
    const nominated = all.filter((p) => p.uid !== pod.uid && p.priority >= pod.priority);
    if (nominated.length === 0) return this.filterNode(ctx, pod, node, filters);
    const withThem = cloneNodeInfo(node);
    const added: PluginContext = { snapshot: ctx.snapshot, state: ctx.state.clone() };
    for (const p of nominated) {
      addPodToNode(withThem, p);
      for (const pl of this.plugins.preFilter) {
        if (pl.addPod === undefined || skipped.has(pl.name)) continue;
        const s = pl.addPod(added, pod, p, withThem);
        if (s.code !== 'Success') return withPlugin(s.code === 'Error' ? s : newStatus('Error', pl.name, `running AddPod on PreFilter plugin ${pl.name}: ${statusMessage(s)}`), pl.name);
      }
    }
    const s = this.filterNode(added, pod, withThem, filters);
    if (s.code !== 'Success') return s;
    return this.filterNode(ctx, pod, node, filters);
  }

  /**
   * Runs PreFilter + Filter for `pod` on `node` with `removed` taken off it (preemption's dry
   * run). Pods nominated to the node that outrank `pod` count as there (upstream runs the dry run
   * with nominated pods too), so two preemptors do not both count on the same room.
   */
  fitsWithout(snapshot: SnapshotView, pod: PodInfo, node: NodeInfo, removed: readonly PodInfo[], nominatedPods?: (nodeName: string) => readonly PodInfo[]): Status {
    const copy = cloneNodeInfo(node);
    for (const p of removed) removePodFromNode(copy, p.uid);
    for (const p of nominatedPods?.(node.name) ?? []) if (p.uid !== pod.uid && p.priority >= pod.priority && !copy.pods.some((q) => q.uid === p.uid)) addPodToNode(copy, p);
    const ctx: PluginContext = { snapshot: overlaySnapshot(snapshot, [copy]), state: new CycleState() };
    const decision = emptyDecision(pod, this.schedulerName, 0, 1);
    const pre = this.runPreFilter(ctx, pod, decision);
    if (pre.status.code !== 'Success') return pre.status;
    if (pre.nodeNames !== undefined && !pre.nodeNames.has(node.name)) return newStatus('UnschedulableAndUnresolvable', pre.narrowing[0], `node(s) didn't satisfy plugin(s) [${pre.narrowing.join(' ')}]`);
    return this.filterNode(ctx, pod, copy, this.activeFilters(pre.skipped));
  }

  /** One scheduling cycle for `input.pod` (upstream schedulingCycle). */
  schedulingCycle(input: CycleInput): CycleResult {
    const { snapshot, pod, nowMs } = input;
    const state = new CycleState();
    const ctx: PluginContext = { snapshot, state };
    const allNodes = snapshot.nodes;
    const decision = emptyDecision(pod, this.schedulerName, nowMs, allNodes.length);
    const fail = (status: Status, message: string): CycleResult => { decision.message = message; return { kind: 'error', status, message, decision }; };
    if (allNodes.length === 0) return fail(newStatus('Error', undefined, 'no nodes available to schedule pods'), 'no nodes available to schedule pods');

    const pre = this.runPreFilter(ctx, pod, decision);
    let feasible: NodeInfo[] = [];
    let preFilterMsg: string | undefined;
    if (pre.status.code === 'Error') return fail(pre.status, `running PreFilter plugin ${pre.status.plugin ?? ''}: ${statusMessage(pre.status)}`);
    if (pre.status.code !== 'Success') {
      if (!isRejected(pre.status)) return fail(pre.status, `PreFilter plugin ${pre.status.plugin ?? ''} returned ${pre.status.code}`);
      preFilterMsg = statusMessage(pre.status);
      decision.absent = pre.status;
    } else {
      const r = this.findFeasible(ctx, input, pre, decision);
      if (r.kind === 'error') return fail(r.status, `running Filter plugin ${r.status.plugin ?? ''}: ${statusMessage(r.status)}`);
      feasible = r.nodes;
    }

    if (feasible.length === 0) return this.unschedulable(ctx, input, decision, preFilterMsg);

    let chosen: NodeInfo;
    if (feasible.length === 1) chosen = feasible[0]!;
    else {
      const r = this.prioritize(ctx, pod, feasible, decision);
      if (r.kind === 'error') return fail(r.status, statusMessage(r.status));
      chosen = r.node;
    }
    decision.nodeName = chosen.name;
    return this.reserveAndPermit(ctx, input, chosen.name, decision);
  }

  private findFeasible(ctx: PluginContext, input: CycleInput, pre: PreFilterOutcome, decision: Decision): { kind: 'ok'; nodes: NodeInfo[] } | { kind: 'error'; status: Status } {
    const { snapshot, pod } = input;
    let nodes: readonly NodeInfo[] = snapshot.nodes;
    if (pre.nodeNames !== undefined) {
      nodes = [...pre.nodeNames].sort().map((n) => snapshot.get(n)).filter((n): n is NodeInfo => n !== undefined);
      // Attributed to the (first) narrowing plugin, so the queue waits for its events (NodeName: that node appearing).
      decision.absent = newStatus('UnschedulableAndUnresolvable', pre.narrowing[0], `node(s) didn't satisfy plugin(s) [${pre.narrowing.join(' ')}]`);
    }
    const filters = this.activeFilters(pre.skipped);
    decision.filterPlugins = filters.map((f) => f.name);
    // A pod nominated by an earlier preemption tries its nominated node first (upstream evaluateNominatedNode).
    const nominated = nominatedNodeNameOf(pod);
    if (nominated !== '') {
      const n = nodes.find((x) => x.name === nominated);
      if (n !== undefined) {
        const s = this.filterWithNominated(ctx, input, n, filters, pre.skipped);
        if (s.code === 'Error') return { kind: 'error', status: s };
        if (s.code === 'Success') { decision.feasible.push(n.name); return { kind: 'ok', nodes: [n] }; }
      }
    }
    const n = nodes.length;
    if (n === 0) return { kind: 'ok', nodes: [] };
    const want = numFeasibleNodesToFind(this.percentage, n);
    const feasible: NodeInfo[] = [];
    const start = this.nextStartNodeIndex % n;
    let failed = 0;
    for (let i = 0; i < n && feasible.length < want; i++) {
      const node = nodes[(start + i) % n]!;
      const s = filters.length === 0 ? success : this.filterWithNominated(ctx, input, node, filters, pre.skipped);
      if (s.code === 'Success') { feasible.push(node); decision.feasible.push(node.name); continue; }
      if (!isRejected(s)) return { kind: 'error', status: s };
      decision.filtered.set(node.name, s);
      failed++;
    }
    this.nextStartNodeIndex = (start + feasible.length + failed) % n;
    return { kind: 'ok', nodes: feasible };
  }

  private prioritize(ctx: PluginContext, pod: PodInfo, feasible: readonly NodeInfo[], decision: Decision): { kind: 'ok'; node: NodeInfo } | { kind: 'error'; status: Status } {
    const skipped = new Set<string>();
    for (const pl of this.plugins.preScore) {
      const s = pl.preScore(ctx, pod, feasible);
      if (s.code === 'Skip') { skipped.add(pl.name); continue; }
      if (s.code !== 'Success') return { kind: 'error', status: withPlugin(s, pl.name) };
    }
    const totals = new Float64Array(feasible.length);
    const records: ScoreRecord[] = [];
    for (const { plugin: pl, weight } of this.plugins.score) {
      if (skipped.has(pl.name)) continue;
      const raw = new Float64Array(feasible.length);
      for (let i = 0; i < feasible.length; i++) {
        const s = pl.score(ctx, pod, feasible[i]!);
        if (typeof s !== 'number') return { kind: 'error', status: withPlugin(s, pl.name) };
        raw[i] = s;
      }
      const normalized = Float64Array.from(raw);
      if (pl.normalizeScore !== undefined) {
        const s = pl.normalizeScore(ctx, pod, normalized);
        if (s.code !== 'Success') return { kind: 'error', status: withPlugin(s, pl.name) };
      }
      for (let i = 0; i < feasible.length; i++) {
        const v = normalized[i]!;
        if (!(v >= 0 && v <= maxNodeScore)) {
          return { kind: 'error', status: newStatus('Error', pl.name, `plugin "${pl.name}" returns an invalid score ${v}, it should in the range of [0, ${maxNodeScore}] after normalizing`) };
        }
        totals[i] = totals[i]! + v * weight;
      }
      records.push({ plugin: pl.name, weight, raw, normalized });
    }
    decision.scored = { nodes: feasible.map((n) => n.name), plugins: records, totals };
    // Reservoir sampling over the nodes with the top score: each tied node equally likely.
    let best = 0; let ties = 1;
    for (let i = 1; i < feasible.length; i++) {
      if (totals[i]! > totals[best]!) { best = i; ties = 1; } else if (totals[i] === totals[best]) { ties++; if (this.prng.int(ties) === 0) best = i; }
    }
    return { kind: 'ok', node: feasible[best]! };
  }

  private unschedulable(ctx: PluginContext, input: CycleInput, decision: Decision, preFilterMsg: string | undefined): CycleResult {
    const { snapshot, pod } = input;
    const rejectors = new Set<string>();
    for (const s of decision.filtered.values()) if (s.plugin !== undefined) rejectors.add(s.plugin);
    if (decision.absent?.plugin !== undefined) rejectors.add(decision.absent.plugin);
    // PostFilter sees every node: evaluated ones with their Filter status, the rest with the absent status.
    const all = new Map<string, Status>();
    for (const n of snapshot.nodes) all.set(n.name, decision.filtered.get(n.name) ?? decision.absent ?? newStatus('UnschedulableAndUnresolvable', undefined, 'not evaluated'));
    let post: PostFilterResult | undefined;
    let postStatus: Status | undefined;
    if (this.plugins.postFilter.length > 0) {
      const env = {
        fitsWithout: (p: PodInfo, n: NodeInfo, removed: readonly PodInfo[]) => this.fitsWithout(snapshot, p, n, removed, input.nominatedPods),
        pdbs: input.pdbs ?? [], numAllNodes: snapshot.nodes.length, randomInt: (m: number) => this.prng.int(m),
      };
      const reasons: string[] = [];
      let rejector: string | undefined;
      for (const pl of this.plugins.postFilter) {
        const r = pl.postFilter(ctx, pod, all, env);
        const s = withPlugin(r.status, pl.name);
        if (s.code === 'Success' || s.code === 'UnschedulableAndUnresolvable') { post = r; postStatus = s; break; }
        if (!isRejected(s)) { post = r; postStatus = s; break; }
        reasons.push(...s.reasons);
        rejector = pl.name;
        if (r.nominatedNodeName !== undefined) post = r;
      }
      if (postStatus === undefined) postStatus = newStatus('Unschedulable', rejector, ...reasons);
      decision.postFilter = { status: postStatus, ...(post?.nominatedNodeName === undefined ? {} : { nominatedNodeName: post.nominatedNodeName }), victims: (post?.victims ?? []).map((v) => v.key) };
    }
    const message = fitErrorMessage({
      numAllNodes: snapshot.nodes.length, filtered: decision.filtered,
      ...(decision.absent === undefined ? {} : { absent: decision.absent }),
      ...(preFilterMsg === undefined ? {} : { preFilterMsg }),
      ...(postStatus === undefined ? {} : { postFilterMsg: statusMessage(postStatus) }),
    });
    decision.message = message;
    const status = newStatus(preFilterMsg !== undefined && decision.absent !== undefined ? decision.absent.code : 'Unschedulable', undefined, message);
    return {
      kind: 'unschedulable', status, message, decision, unschedulablePlugins: rejectors,
      ...(post?.nominatedNodeName === undefined ? {} : { nominatedNodeName: post.nominatedNodeName }),
      victims: postStatus?.code === 'Success' ? post?.victims ?? [] : [],
    };
  }

  private reserveAndPermit(ctx: PluginContext, input: CycleInput, nodeName: string, decision: Decision): CycleResult {
    const { pod, nowMs } = input;
    input.cache?.assumePod(pod, nodeName);
    const rejected = (s: Status): CycleResult => {
      this.unreserve(ctx.state, pod, nodeName, ctx.snapshot);
      input.cache?.forgetPod(pod.uid);
      decision.reservePermit = s;
      if (isRejected(s)) {
        const message = fitErrorMessage({ numAllNodes: 1, filtered: new Map([[nodeName, s]]) });
        decision.message = message;
        return { kind: 'unschedulable', status: s, message, decision, unschedulablePlugins: new Set(s.plugin === undefined ? [] : [s.plugin]), nominatedNodeName: '', victims: [] };
      }
      const message = `running ${s.plugin ?? ''}: ${statusMessage(s)}`;
      decision.message = message;
      return { kind: 'error', status: s, message, decision };
    };
    for (const pl of this.plugins.reserve) {
      const s = pl.reserve(ctx, pod, nodeName);
      if (s.code !== 'Success' && s.code !== 'Skip') return rejected(withPlugin(s, pl.name));
    }
    const deadlines = new Map<string, number>();
    for (const pl of this.plugins.permit) {
      const r = pl.permit(ctx, pod, nodeName);
      const s = withPlugin(r.status, pl.name);
      if (s.code === 'Success' || s.code === 'Skip') continue;
      if (s.code === 'Wait') { deadlines.set(pl.name, nowMs + Math.min(Math.max(0, r.timeoutMs ?? 0), maxPermitTimeoutMs)); continue; }
      return rejected(s);
    }
    if (deadlines.size > 0) {
      this.handle.waitingPods.add(pod, nodeName, deadlines, nowMs);
      decision.reservePermit = newStatus('Wait', undefined, `one or more plugins asked to wait and no plugin rejected pod "${pod.name}"`);
      return { kind: 'waiting', nodeName, state: ctx.state, decision };
    }
    return { kind: 'assumed', nodeName, state: ctx.state, decision };
  }

  /** Upstream RunReservePluginsUnreserve: every Reserve plugin, in reverse order. */
  unreserve(state: CycleState, pod: PodInfo, nodeName: string, snapshot: SnapshotView): void {
    const ctx: PluginContext = { snapshot, state };
    for (let i = this.plugins.reserve.length - 1; i >= 0; i--) this.plugins.reserve[i]!.unreserve(ctx, pod, nodeName);
  }

  /**
   * The binding cycle up to the binding itself: PreBind, then the first Bind plugin that does not
   * Skip. The shell performs the returned action; on failure it calls `unreserve` and forgets the
   * assumed pod. (Callers run this only after Permit allowed the pod.)
   */
  bind(state: CycleState, snapshot: SnapshotView, pod: PodInfo, nodeName: string): BindResult {
    const ctx: PluginContext = { snapshot, state };
    for (const pl of this.plugins.preBind) {
      const s = pl.preBind(ctx, pod, nodeName);
      if (s.code !== 'Success' && s.code !== 'Skip') return { ok: false, status: withPlugin(s, pl.name) };
    }
    for (const pl of this.plugins.bind) {
      const r = pl.bind(ctx, pod, nodeName);
      if (r.status.code === 'Skip') continue;
      if (r.status.code !== 'Success' || r.action === undefined) return { ok: false, status: withPlugin(r.status.code === 'Success' ? newStatus('Error', undefined, 'bind plugin returned no binding') : r.status, pl.name) };
      return { ok: true, action: r.action };
    }
    return { ok: false, status: newStatus('Error', undefined, 'all bind plugins skipped the pod') };
  }

  /** After the binding succeeded (informational, as upstream). */
  postBind(state: CycleState, snapshot: SnapshotView, pod: PodInfo, nodeName: string): void {
    const ctx: PluginContext = { snapshot, state };
    for (const pl of this.plugins.postBind) pl.postBind(ctx, pod, nodeName);
  }
}

function emptyDecision(pod: PodInfo, schedulerName: string, nowMs: number, numAllNodes: number): Decision {
  return { podKey: pod.key, uid: pod.uid, schedulerName, nowMs, numAllNodes, preFilter: [], filtered: new Map(), feasible: [] };
}

/** Builds a ProfilePlugins from plugin instances by the points each implements (tests, what-if). */
export function pluginsFrom(list: ReadonlyArray<{ readonly plugin: PluginBase; readonly weight?: number }>): ProfilePlugins {
  const at = <T>(point: ExtensionPoint): T[] => list.filter((e) => implementsPoint(e.plugin, point)).map((e) => e.plugin as unknown as T);
  return {
    preEnqueue: at('preEnqueue'), queueSort: at('queueSort'), preFilter: at('preFilter'), filter: at('filter'),
    postFilter: at('postFilter'), preScore: at('preScore'),
    score: list.filter((e) => implementsPoint(e.plugin, 'score')).map((e) => ({ plugin: e.plugin as ScorePlugin, weight: e.weight ?? 1 })),
    reserve: at('reserve'), permit: at('permit'), preBind: at('preBind'), bind: at('bind'), postBind: at('postBind'),
  };
}
