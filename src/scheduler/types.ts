/**
 * The scheduling framework's data types (DESIGN §8): typed statuses, the per-pod and per-node
 * views plugins read, and one small interface per extension point. Plugins are pure: they read a
 * snapshot and the cycle state and return statuses or scores; effects (bindings) are data.
 */
import type { KubeObject } from '../api/index.js';
import type { Taint, Toleration } from '../controllers/framework/taints.js';

export type StatusCode = 'Success' | 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error' | 'Wait' | 'Skip';

export interface Status {
  readonly code: StatusCode;
  readonly reasons: readonly string[];
  /** The plugin that returned it (set by the framework). */
  readonly plugin?: string;
}

export const success: Status = Object.freeze({ code: 'Success', reasons: Object.freeze([]) as readonly string[] });
export const unschedulable = (...reasons: string[]): Status => ({ code: 'Unschedulable', reasons });
export const unresolvable = (...reasons: string[]): Status => ({ code: 'UnschedulableAndUnresolvable', reasons });

/** Resource amounts in scheduler units: milli-CPU, bytes, pod count, and extended resources. */
export interface Resource {
  milliCpu: number;
  memory: number;
  ephemeralStorage: number;
  allowedPodNumber: number;
  scalar: Map<string, number>;
}

export interface HostPort { readonly ip: string; readonly protocol: string; readonly port: number }

/** A pod parsed once: everything plugins read in the hot path, precomputed. */
export interface PodInfo {
  readonly pod: KubeObject;
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly priority: number;
  readonly creationMs: number;
  readonly schedulerName: string;
  readonly nodeName: string;
  readonly requests: Resource;
  /** Requests with upstream's non-zero defaults (100m CPU, 200Mi memory) for scoring. */
  readonly nonZeroMilliCpu: number;
  readonly nonZeroMemory: number;
  readonly tolerations: readonly Toleration[];
  readonly hostPorts: readonly HostPort[];
  readonly images: readonly string[];
  readonly schedulingGates: readonly string[];
  readonly nodeSelector: Readonly<Record<string, string>>;
  readonly affinity: PodAffinitySpec;
  readonly topologySpread: readonly TopologySpreadConstraint[];
  readonly preemptionPolicy: 'PreemptLowerPriority' | 'Never';
  readonly terminating: boolean;
}

export type NodeSelectorOp = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
export interface NodeSelectorRequirement { readonly key: string; readonly operator: NodeSelectorOp; readonly values: readonly string[] }
export interface NodeSelectorTerm { readonly matchExpressions: readonly NodeSelectorRequirement[]; readonly matchFields: readonly NodeSelectorRequirement[] }

/** A parsed metav1.LabelSelector: undefined matches nothing (a nil selector). */
export type LabelMatcher = ((labels: Readonly<Record<string, string>>) => boolean) | undefined;

export interface AffinityTerm {
  readonly selector: LabelMatcher;
  /** Explicit namespaces; with `namespaceSelector` absent and this empty, the pod's own namespace. */
  readonly namespaces: ReadonlySet<string>;
  readonly namespaceSelector: LabelMatcher;
  readonly topologyKey: string;
  /**
   * The selector and namespaces as a string, when the term has no namespaceSelector: equal keys
   * select the same pods, so per-node counts can be memoised under it (NodeInfo.derived).
   */
  readonly key?: string;
}
export interface WeightedAffinityTerm { readonly weight: number; readonly term: AffinityTerm }

export interface PodAffinitySpec {
  readonly requiredNodeTerms: readonly NodeSelectorTerm[] | undefined;
  readonly preferredNodeTerms: ReadonlyArray<{ readonly weight: number; readonly term: NodeSelectorTerm }>;
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinity: readonly WeightedAffinityTerm[];
}

export interface TopologySpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  readonly selector: LabelMatcher;
  readonly minDomains: number;
  /** The selector as a string (see AffinityTerm.key); absent: not memoised. */
  readonly selectorKey?: string;
}

/** A node with the pods on it and their aggregate requests (upstream NodeInfo). */
export interface NodeInfo {
  readonly name: string;
  node: KubeObject;
  labels: Readonly<Record<string, string>>;
  taints: readonly Taint[];
  unschedulable: boolean;
  allocatable: Resource;
  requested: Resource;
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
  pods: PodInfo[];
  podsWithAffinity: PodInfo[];
  podsWithRequiredAntiAffinity: PodInfo[];
  /** "protocol/ip/port" of host ports in use. */
  usedPorts: Set<string>;
  /** Image name → size in bytes. */
  images: Map<string, number>;
  generation: number;
  /**
   * Values plugins derive from this node's pods (e.g. how many match a selector), memoised across
   * cycles: a snapshot's node is shared until the node changes, and every mutation helper in
   * podinfo.ts drops the map, so an entry is only ever read for the pods it was computed from.
   */
  derived?: Map<string, unknown> | undefined;
}

/** What plugins read in one cycle: a consistent snapshot of the cluster. */
export interface SnapshotView {
  readonly nodes: readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  readonly havePodsWithAffinity: readonly NodeInfo[];
  readonly havePodsWithRequiredAntiAffinity: readonly NodeInfo[];
  /** Namespace labels (namespaceSelector); unknown namespaces have no labels. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>>;
  /** Number of nodes carrying each image (ImageLocality's spread). */
  imageNodeCount(image: string): number;
}

/** Per-cycle scratch space plugins share between their own extension points. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  write(key: string, value: unknown): void { this.data.set(key, value); }
  read<T>(key: string): T | undefined { return this.data.get(key) as T | undefined; }
  /**
   * A copy for a what-if on one node (nominated pods added). Shallow: a plugin that changes its
   * state in AddPod/RemovePod writes a new value rather than mutating the shared one.
   */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) c.data.set(k, v);
    return c;
  }
}

export interface PluginContext {
  readonly snapshot: SnapshotView;
  readonly state: CycleState;
}

// ---------------------------------------------------------------------------------------------
// Extension points: a plugin implements any subset of these.

export interface PluginBase { readonly name: string }
export interface PreEnqueuePlugin extends PluginBase { preEnqueue(pod: PodInfo): Status }
export interface QueueSortPlugin extends PluginBase { less(a: QueuedPodView, b: QueuedPodView): boolean }
/** `nodeNames`: PreFilter may narrow the candidate nodes (NodeName, NodeAffinity). */
export interface PreFilterResult { readonly status: Status; readonly nodeNames?: ReadonlySet<string> }
export interface PreFilterPlugin extends PluginBase {
  preFilter(ctx: PluginContext, pod: PodInfo): PreFilterResult;
  /**
   * Upstream PreFilterExtensions, for plugins whose PreFilter state counts pods: adjust the state in
   * `ctx.state` (by writing a new value) as if `other` were added to / removed from `node`. The
   * framework calls these when it evaluates a node with nominated pods added.
   */
  addPod?(ctx: PluginContext, pod: PodInfo, other: PodInfo, node: NodeInfo): Status;
  removePod?(ctx: PluginContext, pod: PodInfo, other: PodInfo, node: NodeInfo): Status;
}
export interface FilterPlugin extends PluginBase { filter(ctx: PluginContext, pod: PodInfo, node: NodeInfo): Status }
export interface PostFilterResult { readonly status: Status; readonly nominatedNodeName?: string; readonly victims?: readonly PodInfo[]; readonly message?: string }
export interface PostFilterPlugin extends PluginBase { postFilter(ctx: PluginContext, pod: PodInfo, failed: ReadonlyMap<string, Status>, env: PostFilterEnv): PostFilterResult }
export interface PreScorePlugin extends PluginBase { preScore(ctx: PluginContext, pod: PodInfo, nodes: readonly NodeInfo[]): Status }
/** A score in [0, 100] after normalisation; a Status is a failure. */
export interface ScorePlugin extends PluginBase {
  score(ctx: PluginContext, pod: PodInfo, node: NodeInfo): number | Status;
  normalizeScore?(ctx: PluginContext, pod: PodInfo, scores: Float64Array): Status;
}
export interface ReservePlugin extends PluginBase { reserve(ctx: PluginContext, pod: PodInfo, nodeName: string): Status; unreserve(ctx: PluginContext, pod: PodInfo, nodeName: string): void }
export interface PermitResult { readonly status: Status; readonly timeoutMs?: number }
export interface PermitPlugin extends PluginBase { permit(ctx: PluginContext, pod: PodInfo, nodeName: string): PermitResult }
export interface PreBindPlugin extends PluginBase { preBind(ctx: PluginContext, pod: PodInfo, nodeName: string): Status }
/** A binding to perform (pods/binding), as data. */
export interface BindingAction { readonly type: 'bind'; readonly namespace: string; readonly name: string; readonly uid: string; readonly nodeName: string }
export interface BindPlugin extends PluginBase { bind(ctx: PluginContext, pod: PodInfo, nodeName: string): { readonly status: Status; readonly action?: BindingAction } }
export interface PostBindPlugin extends PluginBase { postBind(ctx: PluginContext, pod: PodInfo, nodeName: string): void }

/** A queued pod as QueueSort sees it. */
export interface QueuedPodView { readonly pod: PodInfo; readonly timestampMs: number }

/** What PostFilter (preemption) may read besides the snapshot. */
export interface PostFilterEnv {
  /** Runs the profile's PreFilter+Filter for `pod` against `node` with `removed` pods taken off it. */
  readonly fitsWithout: (pod: PodInfo, node: NodeInfo, removed: readonly PodInfo[]) => Status;
  readonly pdbs: readonly PdbInfo[];
  readonly numAllNodes: number;
  /** The cycle's seeded randomness (preemption's candidate offset): uniform integer in [0, n). */
  readonly randomInt: (maxExclusive: number) => number;
}

export interface PdbInfo {
  readonly namespace: string;
  readonly selector: LabelMatcher;
  readonly disruptionsAllowed: number;
}

export const extensionPoints = [
  'preEnqueue', 'queueSort', 'preFilter', 'filter', 'postFilter', 'preScore', 'score',
  'reserve', 'permit', 'preBind', 'bind', 'postBind',
] as const;
export type ExtensionPoint = typeof extensionPoints[number];

/** Which method marks a plugin as implementing a point. */
const pointMethod: Readonly<Record<ExtensionPoint, string>> = {
  preEnqueue: 'preEnqueue', queueSort: 'less', preFilter: 'preFilter', filter: 'filter', postFilter: 'postFilter',
  preScore: 'preScore', score: 'score', reserve: 'reserve', permit: 'permit', preBind: 'preBind', bind: 'bind', postBind: 'postBind',
};

export function implementsPoint(plugin: PluginBase, point: ExtensionPoint): boolean {
  return typeof (plugin as unknown as Record<string, unknown>)[pointMethod[point]] === 'function';
}

/** Cluster events that move unschedulable pods (simple QueueingHints). Pod events are about assigned pods. */
export type ClusterEvent = 'NodeAdd' | 'NodeUpdate' | 'NodeDelete' | 'PodAdd' | 'PodUpdate' | 'PodDelete';

/** One event with the objects it carries (`old` for updates and deletes, `obj` for adds and updates). */
export interface ClusterEventInfo { readonly kind: ClusterEvent; readonly old?: KubeObject; readonly obj?: KubeObject }

/** Upstream QueueingHint: whether an event may make a pod rejected by this plugin schedulable. */
export type QueueingHint = 'Queue' | 'QueueSkip';
export interface ClusterEventWithHint {
  readonly event: ClusterEvent;
  /** Absent: every event of this kind requeues. */
  readonly hint?: (pod: PodInfo, ev: ClusterEventInfo) => QueueingHint;
}

/** Upstream EnqueueExtensions: the events that may make a pod this plugin rejected schedulable. */
export interface EnqueueExtensions extends PluginBase { events(): readonly ClusterEventWithHint[] }

export const maxNodeScore = 100;
