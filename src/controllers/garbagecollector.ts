/**
 * The garbage collector (pkg/controller/garbagecollector), over the informer caches as its
 * graph: ownerReferences are edges, found from either end through an owner-uid index.
 * - A dependent whose owners are all gone (dangling) is deleted, with the propagation its own
 *   finalizers ask for; one that still has a live owner only loses the dangling references.
 * - Foreground: an owner with the `foregroundDeletion` finalizer waits; its dependents are
 *   deleted (in the foreground themselves if they have dependents); once no dependent with
 *   blockOwnerDeletion remains, the finalizer is removed and the apiserver removes the owner.
 * - Orphan: an owner with the `orphan` finalizer has its references removed from every
 *   dependent, then the finalizer removed.
 * The graph's nodes are every built-in kind, plus the custom kinds it is built with
 * (`garbageCollector(customKinds)`: upstream discovers them; here the cluster names the CRDs it
 * installs, such as Chaos Mesh's, so a Schedule's PodChaos children go when it goes).
 * Keys name their kind: "apps/v1/ReplicaSet|default/web". Before deleting or unlinking for a
 * dangling owner, the shell re-reads that owner (`requireAbsent`): a cache that has not yet seen
 * a new owner must not make its dependents look orphaned.
 */
import {
  foregroundDeletionFinalizer, joinApiVersion, orphanFinalizer, ownerReferencesOf, resources, splitApiVersion,
  type KubeObject, type OwnerReference,
} from '../api/index.js';
import { objectKey } from '../client/cache.js';
import type { CustomResourceRef } from '../client/client.js';
import {
  indexByOwnerUid, kindKey, nameOf, noActions, ownerUidIndex, sequential, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type KindRef, type ObjectIdentity,
  type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

interface GcKind { readonly kind: KindRef; readonly namespaced: boolean; readonly group: string }

/** Every built-in kind that can be listed and watched. */
const builtInGcKinds: readonly GcKind[] = resources
  .filter((r) => r.verbs.includes('list') && r.verbs.includes('watch'))
  .map((r) => ({ kind: { apiVersion: joinApiVersion(r.group, r.version), kind: r.kind }, namespaced: r.namespaced, group: r.group }));

/** The graph's nodes: the kinds it watches, found by key and by an ownerReference's group and kind. */
class GcGraph {
  readonly kinds: readonly GcKind[];
  private readonly byKey: ReadonlyMap<string, GcKind>;

  constructor(customKinds: readonly CustomResourceRef[]) {
    this.kinds = [...builtInGcKinds, ...customKinds.map((k) => ({ kind: k, namespaced: k.namespaced, group: splitApiVersion(k.apiVersion).group }))];
    this.byKey = new Map(this.kinds.map((k) => [kindKey(k.kind), k]));
    if (this.byKey.size !== this.kinds.length) throw new Error('garbage collector: a custom kind repeats a watched kind');
  }

  /** The watched kind an ownerReference names (any version of its group); undefined if not watched. */
  kindOfRef(ref: OwnerReference): GcKind | undefined {
    const group = splitApiVersion(ref.apiVersion).group;
    return this.kinds.find((k) => k.kind.kind === ref.kind && k.group === group);
  }

  parseKey(key: string): { kind: GcKind; objectKey: string } | undefined {
    const i = key.indexOf('|');
    const kind = i < 0 ? undefined : this.byKey.get(key.slice(0, i));
    return kind === undefined ? undefined : { kind, objectKey: key.slice(i + 1) };
  }

  ownerOf(cache: CacheView, dependent: KubeObject, ref: OwnerReference): { kind: GcKind; owner: KubeObject | undefined } | undefined {
    const kind = this.kindOfRef(ref);
    if (kind === undefined || !cache.hasSynced(kind.kind)) return undefined;
    const key = kind.namespaced ? `${dependent.metadata?.namespace ?? ''}/${ref.name}` : ref.name;
    const owner = cache.get(kind.kind, key);
    return { kind, owner: owner?.metadata?.uid === ref.uid ? owner : undefined };
  }

  /** Objects (of any watched kind) with an ownerReference to `uid`. */
  dependentsOf(cache: CacheView, uid: string): Array<{ kind: GcKind; obj: KubeObject }> {
    const out: Array<{ kind: GcKind; obj: KubeObject }> = [];
    for (const k of this.kinds) for (const obj of cache.byIndex(k.kind, ownerUidIndex, uid)) out.push({ kind: k, obj });
    return out;
  }
}

const crdKind: KindRef = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };

/** The custom resource an ownerReference names, from the cached CRDs (the client needs its plural and scope). */
function customResourceOf(cache: CacheView, ref: OwnerReference): CustomResourceRef | undefined {
  if (!cache.hasSynced(crdKind)) return undefined;
  const group = splitApiVersion(ref.apiVersion).group;
  const crd = cache.list(crdKind, undefined).find((c) => {
    const spec = (c['spec'] ?? {}) as { group?: string; names?: { kind?: string } };
    return spec.group === group && spec.names?.kind === ref.kind;
  });
  const spec = (crd?.['spec'] ?? {}) as { names?: { plural?: string }; scope?: string };
  return crd === undefined || spec.names?.plural === undefined ? undefined
    : { apiVersion: ref.apiVersion, kind: ref.kind, resource: spec.names.plural, namespaced: spec.scope !== 'Cluster' };
}

/** How often a dependent whose owners are of unwatched kinds (custom resources) has them read again. */
export const unwatchedOwnerRecheckMs = 10_000;

function gcKey(kind: KindRef, obj: KubeObject): string {
  return `${kindKey(kind)}|${objectKey(obj)}`;
}

const hasFinalizer = (o: KubeObject, f: string) => (o.metadata?.finalizers ?? []).includes(f);
const deletingDependents = (o: KubeObject) => o.metadata?.deletionTimestamp !== undefined && hasFinalizer(o, foregroundDeletionFinalizer);

function identityOf(kind: GcKind, dependent: KubeObject, ref: OwnerReference): ObjectIdentity {
  return { resource: kind.kind, namespace: kind.namespaced ? dependent.metadata?.namespace : undefined, name: ref.name, uid: ref.uid };
}

function removeFinalizerAction(kind: KindRef, obj: KubeObject, finalizer: string): ApiAction {
  // A JSON patch with a test on the list keeps a concurrent finalizer change from being lost.
  const list = obj.metadata?.finalizers ?? [];
  return {
    type: 'patch', resource: kind, namespace: obj.metadata?.namespace, name: nameOf(obj), patchType: 'json',
    patch: [
      { op: 'test', path: '/metadata/uid', value: obj.metadata?.uid },
      { op: 'test', path: '/metadata/finalizers', value: list },
      { op: 'replace', path: '/metadata/finalizers', value: list.filter((f) => f !== finalizer) },
    ],
  };
}

function unlinkPatch(kind: KindRef, obj: KubeObject, uids: readonly string[], requireAbsent?: readonly ObjectIdentity[]): ApiAction {
  return {
    type: 'patch', resource: kind, namespace: obj.metadata?.namespace, name: nameOf(obj), patchType: 'strategic',
    patch: { metadata: { ownerReferences: uids.map((uid) => ({ $patch: 'delete', uid })), uid: obj.metadata?.uid } },
    ...(requireAbsent === undefined || requireAbsent.length === 0 ? {} : { requireAbsent }),
  };
}

function reconcileGarbageIn(graph: GcGraph, key: string, cache: CacheView): ReconcileResult {
  const parsed = graph.parseKey(key);
  if (parsed === undefined) return noActions;
  const { kind } = parsed;
  const obj = cache.get(kind.kind, parsed.objectKey);
  if (obj === undefined) return noActions;
  const uid = obj.metadata?.uid ?? '';

  if (obj.metadata?.deletionTimestamp !== undefined) {
    // attemptToOrphan: unlink every dependent, then let the owner go.
    if (hasFinalizer(obj, orphanFinalizer)) {
      const deps = graph.dependentsOf(cache, uid);
      if (deps.length > 0) return { steps: steps({ execution: { kind: 'parallel' }, actions: deps.map((d) => unlinkPatch(d.kind.kind, d.obj, [uid])) }) };
      return { steps: steps({ execution: sequential, actions: [removeFinalizerAction(kind.kind, obj, orphanFinalizer)] }) };
    }
    // processDeletingDependentsItem: the owner goes once no blocking dependent remains.
    if (hasFinalizer(obj, foregroundDeletionFinalizer)) {
      const blocking = graph.dependentsOf(cache, uid).filter((d) => ownerReferencesOf(d.obj).some((r) => r.uid === uid && r.blockOwnerDeletion === true));
      if (blocking.length === 0) return { steps: steps({ execution: sequential, actions: [removeFinalizerAction(kind.kind, obj, foregroundDeletionFinalizer)] }) };
    }
    return noActions;
  }

  const refs = ownerReferencesOf(obj);
  if (refs.length === 0) return noActions;
  const solid: OwnerReference[] = [];
  const dangling: Array<{ ref: OwnerReference; id: ObjectIdentity }> = [];
  const waiting: OwnerReference[] = [];
  /** Owners of kinds the graph does not watch (custom resources): judged by a live read, again every unwatchedOwnerRecheckMs. */
  const unwatched: ObjectIdentity[] = [];
  for (const ref of refs) {
    const found = graph.ownerOf(cache, obj, ref);
    if (found === undefined) {
      const custom = graph.kindOfRef(ref) === undefined ? customResourceOf(cache, ref) : undefined;
      // A watched kind whose cache has not synced yet, or a kind no CRD in the cache serves (yet): alive.
      if (custom === undefined) solid.push(ref);
      else unwatched.push({ resource: custom, namespace: custom.namespaced ? obj.metadata?.namespace : undefined, name: ref.name, uid: ref.uid });
    }
    else if (found.owner === undefined) dangling.push({ ref, id: identityOf(found.kind, obj, ref) });
    else if (deletingDependents(found.owner)) waiting.push(ref);
    else solid.push(ref);
  }
  if (solid.length > 0) {
    if (dangling.length === 0 && waiting.length === 0) return noActions;
    const uids = [...dangling.map((d) => d.ref.uid), ...waiting.map((r) => r.uid)];
    return { steps: steps({ execution: sequential, actions: [unlinkPatch(kind.kind, obj, uids, dangling.map((d) => d.id))] }) };
  }
  const precondition = { preconditions: { uid } };
  const del = (policy: 'Foreground' | 'Background' | 'Orphan', requireAbsent: readonly ObjectIdentity[]): ApiAction => ({
    type: 'delete', resource: kind.kind, namespace: obj.metadata?.namespace, name: nameOf(obj),
    options: { ...precondition, propagationPolicy: policy }, ...(requireAbsent.length === 0 ? {} : { requireAbsent }),
  });
  if (unwatched.length > 0) {
    // Deleted only if the live reads find every owner gone; otherwise the action is skipped and the
    // item looked at again later (upstream's collector watches every served resource; this one
    // polls the owners it does not watch).
    if (waiting.length > 0) return { ...noActions, requeueAfterMs: unwatchedOwnerRecheckMs };
    const policy = hasFinalizer(obj, orphanFinalizer) ? 'Orphan' : hasFinalizer(obj, foregroundDeletionFinalizer) ? 'Foreground' : 'Background';
    return { steps: steps({ execution: sequential, actions: [del(policy, [...unwatched, ...dangling.map((d) => d.id)])] }), requeueAfterMs: unwatchedOwnerRecheckMs };
  }
  const deps = graph.dependentsOf(cache, uid);
  if (waiting.length > 0 && deps.length > 0) {
    const actions: ApiAction[] = [];
    // A dependent that itself waits on its dependents while blocking us would deadlock the cycle: unblock.
    if (deps.some((d) => deletingDependents(d.obj))) {
      actions.push({
        type: 'patch', resource: kind.kind, namespace: obj.metadata?.namespace, name: nameOf(obj), patchType: 'strategic',
        patch: { metadata: { ownerReferences: waiting.map((r) => ({ uid: r.uid, blockOwnerDeletion: false })), uid } },
      });
    }
    actions.push(del('Foreground', []));
    return { steps: steps({ execution: sequential, actions }) };
  }
  const policy = hasFinalizer(obj, orphanFinalizer) ? 'Orphan' : hasFinalizer(obj, foregroundDeletionFinalizer) ? 'Foreground' : 'Background';
  return { steps: steps({ execution: sequential, actions: [del(policy, dangling.map((d) => d.id))] }) };
}

/**
 * Which items an event concerns: the object itself when it has owners or is being deleted with a
 * GC finalizer; its dependents when it is deleted or starts deleting; its deleting owners when it
 * changes or goes (they may be waiting for it).
 */
function mapEvent(graph: GcGraph, kind: GcKind, event: WatchEvent, cache: CacheView): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  const keys = new Set<string>();
  const uid = obj.metadata?.uid;
  if (event.type !== 'delete') {
    if (ownerReferencesOf(obj).length > 0) keys.add(gcKey(kind.kind, obj));
    if (obj.metadata?.deletionTimestamp !== undefined && (hasFinalizer(obj, orphanFinalizer) || hasFinalizer(obj, foregroundDeletionFinalizer))) keys.add(gcKey(kind.kind, obj));
  }
  const startedDeleting = event.type === 'update' && event.oldObj.metadata?.deletionTimestamp === undefined && obj.metadata?.deletionTimestamp !== undefined;
  const finalizersChanged = event.type === 'update' && JSON.stringify(event.oldObj.metadata?.finalizers ?? []) !== JSON.stringify(obj.metadata?.finalizers ?? []);
  if (uid !== undefined && (event.type === 'delete' || startedDeleting || finalizersChanged)) {
    for (const d of graph.dependentsOf(cache, uid)) keys.add(gcKey(d.kind.kind, d.obj));
  }
  const refs = event.type === 'update' ? [...ownerReferencesOf(event.oldObj), ...ownerReferencesOf(obj)] : ownerReferencesOf(obj);
  for (const ref of refs) {
    const found = graph.ownerOf(cache, obj, ref);
    if (found?.owner !== undefined && found.owner.metadata?.deletionTimestamp !== undefined) keys.add(gcKey(found.kind.kind, found.owner));
  }
  return { enqueue: [...keys].map((key) => ({ key })) };
}

/** The garbage collector over the built-in kinds and `customKinds` (whose CRDs must be installed). */
export function garbageCollector(customKinds: readonly CustomResourceRef[] = []): ControllerDefinition {
  const graph = new GcGraph(customKinds);
  return {
    name: 'garbage-collector',
    primary: undefined,
    workers: 20,
    watches: graph.kinds.map((k) => ({ kind: k.kind, indexers: { [ownerUidIndex]: indexByOwnerUid }, map: (e: WatchEvent, cache: CacheView) => mapEvent(graph, k, e, cache) })),
    reconcile: (key, cache) => reconcileGarbageIn(graph, key, cache),
  };
}

/** The collector over the built-in kinds only. */
export const garbageCollectorController: ControllerDefinition = garbageCollector();

const builtInGraph = new GcGraph([]);
export function reconcileGarbage(key: string, cache: CacheView, _ctx: ReconcileContext): ReconcileResult {
  return reconcileGarbageIn(builtInGraph, key, cache);
}
