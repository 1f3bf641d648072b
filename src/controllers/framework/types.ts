/**
 * The controller framework's data types (DESIGN §7): a controller is a registry entry with the
 * resources it watches, how a watch event maps to keys, and `reconcile(key, cache, ctx)` — a pure
 * function of a read-only cache that returns the API actions to take. The controller-manager
 * shell owns informers, work queues and expectations, performs the actions and feeds the
 * resulting watch events back; cores never touch the network, timers or the wall clock.
 */
import type { EventRecord } from '../../client/events.js';
import type { JsonObject, KubeObject, LabelSelectorReqs } from '../../api/index.js';
import type { DeleteOptions, PatchType } from '../../client/index.js';
import type { NetworkChaosRule } from '../../cri/messages.js';

/** Which kind a cache holds: the informer's resource, by apiVersion and kind. */
export interface KindRef { readonly apiVersion: string; readonly kind: string }

export const kinds = {
  pod: { apiVersion: 'v1', kind: 'Pod' },
  node: { apiVersion: 'v1', kind: 'Node' },
  namespace: { apiVersion: 'v1', kind: 'Namespace' },
  service: { apiVersion: 'v1', kind: 'Service' },
  endpoints: { apiVersion: 'v1', kind: 'Endpoints' },
  serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount' },
  event: { apiVersion: 'v1', kind: 'Event' },
  replicaSet: { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  job: { apiVersion: 'batch/v1', kind: 'Job' },
  cronJob: { apiVersion: 'batch/v1', kind: 'CronJob' },
  statefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  daemonSet: { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  pdb: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
  hpa: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  endpointSlice: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  lease: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' },
  resourceQuota: { apiVersion: 'v1', kind: 'ResourceQuota' },
  configMap: { apiVersion: 'v1', kind: 'ConfigMap' },
  secret: { apiVersion: 'v1', kind: 'Secret' },
  persistentVolumeClaim: { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
} as const satisfies Record<string, KindRef>;

/** "apps/v1/ReplicaSet": how caches are looked up. */
export function kindKey(ref: KindRef): string {
  return `${ref.apiVersion}/${ref.kind}`;
}

/** A selector as the cache understands it: parsed requirements, or everything in the namespace. */
export type CacheSelector = LabelSelectorReqs | 'everything';

/**
 * A read-only view of the informer caches. Objects are frozen (never mutate them: copy with
 * `deepClone` before building an update body). Keys are "namespace/name" or "name".
 */
export interface CacheView {
  get<T extends KubeObject = KubeObject>(kind: KindRef, key: string): T | undefined;
  /** Objects of `kind` in `namespace` (undefined: all namespaces) whose labels match. */
  list<T extends KubeObject = KubeObject>(kind: KindRef, namespace: string | undefined, selector?: CacheSelector): readonly T[];
  /** Objects of `kind` whose index `indexName` has `value` (indexes are declared by the controller). */
  byIndex<T extends KubeObject = KubeObject>(kind: KindRef, indexName: string, value: string): readonly T[];
  /** False until the informer of `kind` has listed once (a controller waits for its caches to sync). */
  hasSynced(kind: KindRef): boolean;
}

// ---------------------------------------------------------------------------------------------
// Actions

/** An Event to record about `involvedObject` (core/v1 shape; the shell aggregates repeats). */
export type { EventRecord };

/**
 * What a failed action tells the expectations, so a create that never happened is not waited
 * for (upstream: `CreationObserved` / `DeletionObserved` after an API error).
 */
export type ExpectationOnFailure =
  | { readonly kind: 'creation'; readonly controllerKey: string }
  | { readonly kind: 'deletion'; readonly controllerKey: string; readonly objectKey: string };

/** An object by identity: kind, place and uid. */
export interface ObjectIdentity {
  readonly resource: KindRef;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly uid: string;
}

interface ActionBase {
  readonly resource: KindRef;
  readonly onFailure?: ExpectationOnFailure;
  /**
   * Perform only if a live read shows each of these absent (404, or the name now has another
   * uid); otherwise skip the action without error. The garbage collector's guard against a stale
   * cache: an owner created after the cache was filled must not look dangling (upstream isDangling
   * reads the owner from the apiserver before deleting a dependent).
   */
  readonly requireAbsent?: readonly ObjectIdentity[];
  /** Recorded once the call succeeds; `{name}` in the message becomes the object's (generated) name. */
  readonly onSuccessEvent?: EventRecord;
}

export type ApiAction =
  /** POST; `body.metadata` has name or generateName (and the namespace). */
  | ActionBase & { readonly type: 'create'; readonly namespace: string | undefined; readonly body: KubeObject }
  /** PUT of the whole object; `body.metadata.resourceVersion` makes it a compare-and-swap. */
  | ActionBase & { readonly type: 'update'; readonly body: KubeObject; readonly subresource?: 'finalize' }
  /** PUT of the status subresource (a CAS on resourceVersion, as `UpdateStatus`). */
  | ActionBase & { readonly type: 'updateStatus'; readonly body: KubeObject }
  | ActionBase & {
    readonly type: 'patch'; readonly namespace: string | undefined; readonly name: string;
    readonly patchType: PatchType; readonly patch: JsonObject | readonly JsonObject[]; readonly subresource?: 'status' | 'scale';
  }
  | ActionBase & {
    readonly type: 'delete'; readonly namespace: string | undefined; readonly name: string;
    readonly options?: Pick<DeleteOptions, 'preconditions' | 'propagationPolicy' | 'gracePeriodSeconds'>;
  }
  /** DELETE of every object of a kind in a namespace (the namespace controller). */
  | ActionBase & {
    readonly type: 'deleteCollection'; readonly namespace: string;
    readonly options?: Pick<DeleteOptions, 'propagationPolicy'>;
  }
  /** POST pods/eviction (honours PodDisruptionBudgets). */
  | ActionBase & { readonly type: 'evict'; readonly namespace: string; readonly name: string }
  /**
   * SIGKILL one running container of a pod through its node's container runtime (not an API call:
   * Chaos Mesh's chaos-daemon does it through CRI; here the controller-manager asks the runtime).
   */
  | ActionBase & { readonly type: 'killContainer'; readonly node: string; readonly namespace: string; readonly name: string; readonly podUid: string; readonly container: string }
  /** Sets (empty rules: removes) a NetworkChaos's rules on a pod's data path through its node's runtime (Chaos Mesh's daemon). */
  | ActionBase & {
    readonly type: 'setPodNetworkChaos'; readonly node: string; readonly namespace: string; readonly name: string; readonly podUid: string;
    readonly chaosId: string; readonly rules: readonly NetworkChaosRule[];
  }
  | { readonly type: 'event'; readonly event: EventRecord };

/** How the shell runs the actions of one step. */
export type Execution =
  /** One after another; a failure stops the rest (the key is requeued with backoff). */
  | { readonly kind: 'sequential' }
  /**
   * Upstream's slowStartBatch for creates: batches of `initialBatch`, then doubling, each batch
   * concurrent; after a batch with a failure the remaining actions are skipped (and their
   * `onFailure` expectations lowered). Catches a quota or admission refusal after one call,
   * not after 500.
   */
  | { readonly kind: 'slowStart'; readonly initialBatch: number }
  /** All at once; each failure is independent (deletes of surplus pods). */
  | { readonly kind: 'parallel' };

/**
 * Steps run in order. A step after a failed one is skipped unless `always` (a status write that
 * reports what was seen even when managing replicas failed). Any failure requeues the key with
 * backoff.
 */
export interface ActionStep {
  readonly execution: Execution;
  readonly actions: readonly ApiAction[];
  readonly always?: boolean;
}

/** Expectations a reconcile sets before its actions run (upstream `SetExpectations`). */
export interface ExpectationsUpdate {
  readonly controllerKey: string;
  readonly adds: number;
  /** Keys of objects whose deletion is expected (UIDTrackingControllerExpectations). */
  readonly deleteKeys: readonly string[];
}

export interface ReconcileResult {
  readonly steps: readonly ActionStep[];
  /** Look again after this long even without events (minReadySeconds, progress deadlines, TTLs). */
  readonly requeueAfterMs?: number;
  /** Set before the steps run (upstream sets expectations before issuing the calls). */
  readonly expectations?: ExpectationsUpdate;
}

export const noActions: ReconcileResult = Object.freeze({ steps: Object.freeze([]) as readonly ActionStep[] });

export const sequential: Execution = Object.freeze({ kind: 'sequential' });
export const parallel: Execution = Object.freeze({ kind: 'parallel' });

/** Every action of a result, in order (what sample-controller-style tests compare). */
export function allActions(result: ReconcileResult): ApiAction[] {
  return result.steps.flatMap((s) => s.actions);
}

/** Drops empty steps. */
export function steps(...list: ReadonlyArray<ActionStep | undefined>): ActionStep[] {
  return list.filter((s): s is ActionStep => s !== undefined && s.actions.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Context and definition

/** What a reconcile may read besides the cache: expectations are the shell's memory. */
export interface ExpectationsView {
  /** True when nothing is outstanding for `controllerKey` (or the record expired / never existed). */
  satisfied(controllerKey: string, nowMs: number): boolean;
}

export interface ReconcileContext {
  /** Wall-clock milliseconds since the epoch (timestamps are compared with it). */
  readonly nowMs: number;
  readonly expectations: ExpectationsView;
}

/** A watch event as the shell saw it from an informer (tombstones unwrapped to their last state). */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { readonly type: 'add'; readonly obj: T }
  | { readonly type: 'update'; readonly oldObj: T; readonly newObj: T }
  | { readonly type: 'delete'; readonly obj: T };

/** Expectations observed from a watch event (upstream `CreationObserved` / `DeletionObserved`). */
export type Observation =
  | { readonly kind: 'creation'; readonly controllerKey: string }
  | { readonly kind: 'deletion'; readonly controllerKey: string; readonly objectKey: string }
  /** The controller object itself is gone: drop its record. */
  | { readonly kind: 'forget'; readonly controllerKey: string };

export interface EventMapping {
  readonly enqueue: ReadonlyArray<{ readonly key: string; readonly afterMs?: number }>;
  readonly observed?: readonly Observation[];
}

export const ignoreEvent: EventMapping = Object.freeze({ enqueue: Object.freeze([]) as EventMapping['enqueue'] });

export type IndexFunc = (obj: KubeObject) => readonly string[];

export interface WatchSpec {
  readonly kind: KindRef;
  /** Indexes this controller needs on the kind's cache (names are shared: same name, same function). */
  readonly indexers?: Readonly<Record<string, IndexFunc>>;
  /** Maps an event to keys of the controller's primary kind (and expectation observations). */
  readonly map: (event: WatchEvent, cache: CacheView) => EventMapping;
}

export interface ControllerDefinition {
  /** As kube-controller-manager names it ("replicaset", "deployment", ...). */
  readonly name: string;
  /**
   * The kind whose keys the queue holds (reconcile's `key` is one of these objects' keys);
   * absent when keys name their kind themselves (the garbage collector's "kind|key").
   */
  readonly primary: KindRef | undefined;
  readonly watches: readonly WatchSpec[];
  /** Concurrent workers upstream runs (--concurrent-*-syncs). */
  readonly workers: number;
  readonly reconcile: (key: string, cache: CacheView, ctx: ReconcileContext) => ReconcileResult;
}
