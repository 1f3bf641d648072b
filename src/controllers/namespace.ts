/**
 * The namespace controller (pkg/controller/namespace/deletion): once a namespace is being
 * deleted, delete every namespaced object in it (a deletecollection per resource, Background
 * propagation), report progress in the upstream status conditions, and when nothing is left
 * remove the `kubernetes` finalizer through namespaces/{name}/finalize, which lets the
 * apiserver remove the namespace.
 */
import { asArray, asRecord, asString, deepClone, deepEqual, joinApiVersion, resources, type JsonObject, type KubeObject } from '../api/index.js';
import {
  conditionsOf, ignoreEvent, kinds, newCondition, noActions, parallel, sequential, setCondition, steps,
  type ApiAction, type CacheView, type Condition, type ControllerDefinition, type EventMapping, type KindRef, type ReconcileContext,
  type ReconcileResult, type WatchEvent,
} from './framework/index.js';

const kubernetesFinalizer = 'kubernetes';
/** Look again this soon while content is still terminating (upstream: the estimate, or backoff). */
const contentRemainingRequeueMs = 1000;

interface NamespacedResource { readonly kind: KindRef; readonly groupResource: string; readonly collection: boolean }

/** Every namespaced resource this apiserver serves that can be listed and deleted. */
const namespacedResources: readonly NamespacedResource[] = resources
  .filter((r) => r.namespaced && r.verbs.includes('list') && r.verbs.includes('delete'))
  .map((r) => ({
    kind: { apiVersion: joinApiVersion(r.group, r.version), kind: r.kind },
    groupResource: r.group === '' ? r.resource : `${r.resource}.${r.group}`,
    collection: r.verbs.includes('deletecollection'),
  }));

function specFinalizers(ns: KubeObject): string[] {
  return asArray(asRecord(ns['spec'])?.['finalizers']).map((f) => String(f));
}

/** NamespaceConditionUpdater: the five deletion conditions, each True only when something is wrong or waiting. */
function deletionConditions(ns: KubeObject, remaining: Map<string, number>, finalizers: Map<string, number>, nowMs: number): Condition[] {
  let conds = conditionsOf(asRecord(ns['status']));
  const set = (type: string, status: Condition['status'], reason: string, message: string) => {
    conds = setCondition(conds, newCondition(type, status, reason, message, nowMs, false));
  };
  set('NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered', 'All resources successfully discovered');
  set('NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions', 'All legacy kube types successfully parsed');
  set('NamespaceDeletionContentFailure', 'False', 'ContentDeleted', 'All content successfully deleted, may be waiting on finalization');
  if (remaining.size > 0) {
    const parts = [...remaining].sort(([a], [b]) => (a < b ? -1 : 1)).map(([gr, n]) => `${gr} has ${n} resource instances`);
    set('NamespaceContentRemaining', 'True', 'SomeResourcesRemain', `Some resources are remaining: ${parts.join(', ')}`);
  } else {
    set('NamespaceContentRemaining', 'False', 'ContentRemoved', 'All content successfully removed');
  }
  if (finalizers.size > 0) {
    const parts = [...finalizers].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, n]) => `${f} in ${n} resource instances`);
    set('NamespaceFinalizersRemaining', 'True', 'SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${parts.join(', ')}`);
  } else {
    set('NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers', 'All content-preserving finalizers finished');
  }
  // Upstream keeps them in a fixed order (the order of its condition types).
  const order = ['NamespaceDeletionDiscoveryFailure', 'NamespaceDeletionGroupVersionParsingFailure', 'NamespaceDeletionContentFailure', 'NamespaceContentRemaining', 'NamespaceFinalizersRemaining'];
  return [...conds].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}

export function reconcileNamespace(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const ns = cache.get(kinds.namespace, key);
  if (ns === undefined || ns.metadata?.deletionTimestamp === undefined) return noActions;
  if (!specFinalizers(ns).includes(kubernetesFinalizer)) return noActions;
  const name = key;
  const remaining = new Map<string, number>();
  const finalizers = new Map<string, number>();
  const deletes: ApiAction[] = [];
  for (const r of namespacedResources) {
    if (!cache.hasSynced(r.kind)) continue;
    const objs = cache.list(r.kind, name);
    if (objs.length === 0) continue;
    remaining.set(r.groupResource, objs.length);
    for (const o of objs) for (const f of o.metadata?.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    const live = objs.filter((o) => o.metadata?.deletionTimestamp === undefined);
    if (live.length === 0) continue;
    if (r.collection) deletes.push({ type: 'deleteCollection', resource: r.kind, namespace: name, options: { propagationPolicy: 'Background' } });
    else for (const o of live) deletes.push({ type: 'delete', resource: r.kind, namespace: name, name: o.metadata?.name ?? '', options: { preconditions: { uid: o.metadata?.uid ?? '' }, propagationPolicy: 'Background' } });
  }
  // Every namespaced kind must be in the cache before the namespace can be called empty.
  const unsynced = namespacedResources.some((r) => !cache.hasSynced(r.kind));
  const status: JsonObject = { ...(asRecord(ns['status']) ?? {}), phase: 'Terminating', conditions: deletionConditions(ns, remaining, finalizers, ctx.nowMs) };
  const statusWrite: ApiAction[] = deepEqual(status, ns['status']) ? [] : [{ type: 'updateStatus', resource: kinds.namespace, body: { ...deepClone(ns), status } }];
  if (remaining.size > 0 || unsynced) {
    return {
      steps: steps({ execution: sequential, actions: statusWrite }, { execution: parallel, actions: deletes }),
      requeueAfterMs: contentRemainingRequeueMs,
    };
  }
  const body = deepClone(ns);
  (body['spec'] as JsonObject)['finalizers'] = specFinalizers(ns).filter((f) => f !== kubernetesFinalizer);
  if (statusWrite.length > 0) body['status'] = status;
  // The finalize write carries the final status; a separate status write would race it.
  return { steps: steps({ execution: sequential, actions: [{ type: 'update', resource: kinds.namespace, body, subresource: 'finalize' }] }) };
}

function mapNamespace(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  if (event.type === 'delete') return ignoreEvent;
  return { enqueue: [{ key: obj.metadata?.name ?? '' }] };
}

/** Content vanishing in a terminating namespace brings the namespace back sooner than the requeue. */
function mapContent(event: WatchEvent, cache: CacheView): EventMapping {
  if (event.type === 'add') return ignoreEvent;
  const obj = event.type === 'update' ? event.newObj : event.obj;
  const ns = asString(obj.metadata?.namespace);
  if (ns === undefined) return ignoreEvent;
  const owner = cache.get(kinds.namespace, ns);
  return owner?.metadata?.deletionTimestamp === undefined ? ignoreEvent : { enqueue: [{ key: ns }] };
}

export const namespaceController: ControllerDefinition = {
  name: 'namespace',
  primary: kinds.namespace,
  workers: 10,
  watches: [
    { kind: kinds.namespace, map: (e) => mapNamespace(e) },
    ...namespacedResources.map((r) => ({ kind: r.kind, map: mapContent })),
  ],
  reconcile: reconcileNamespace,
};
