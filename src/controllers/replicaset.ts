/**
 * The ReplicaSet controller (pkg/controller/replicaset): keeps exactly spec.replicas active pods
 * that it controls. Orphans matching the selector are adopted, owned pods that stop matching are
 * released; creates go in slow-start batches (1, 2, 4, ...) of at most `burstReplicas` per sync;
 * surplus pods are deleted in ActivePodsWithRanks order; expectations hold further management
 * until the watch has shown the previous creates and deletes. Status counts what the cache shows.
 */
import { asNumber, asRecord, controllerRefOf, deepClone, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  claimObjects, controllerRefFor, controllerUidIndex, ignoreEvent, indexByControllerUid, isPodActive, isPodAvailable, isPodReady,
  keyOf, kinds, nameOf, noActions, ownerKeysForDependent, parallel, podsToDelete, resolveControllerRef, sequential, specSelector,
  statusUpdate, steps, conditionsOf, matchesTemplateLabels, setNonZero,
  type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type EventRecord, type KindRef, type Observation,
  type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

/** Upstream BurstReplicas: creates or deletes per sync. */
export const burstReplicas = 500;
/** Upstream SlowStartInitialBatchSize. */
const slowStartInitialBatch = 1;

export function specReplicas(obj: KubeObject): number {
  return asNumber(asRecord(obj['spec'])?.['replicas']) ?? 1;
}

export function minReadySecondsOf(obj: KubeObject): number {
  return asNumber(asRecord(obj['spec'])?.['minReadySeconds']) ?? 0;
}

export function objectRef(obj: KubeObject, kind: KindRef): EventRecord['involvedObject'] {
  const m = obj.metadata ?? {};
  return {
    apiVersion: kind.apiVersion, kind: kind.kind, name: m.name ?? '',
    ...(m.namespace === undefined ? {} : { namespace: m.namespace }), ...(m.uid === undefined ? {} : { uid: m.uid }),
  };
}

/** GetPodFromTemplate: the pod a workload controller creates from its template. */
export function podFromTemplate(owner: KubeObject, ownerKind: KindRef, generateNamePrefix: string): KubeObject {
  const template = asRecord(asRecord(owner['spec'])?.['template']) ?? {};
  const tm = asRecord(template['metadata']) ?? {};
  const metadata: JsonObject = { generateName: generateNamePrefix, namespace: owner.metadata?.namespace };
  for (const f of ['labels', 'annotations', 'finalizers'] as const) if (tm[f] !== undefined) metadata[f] = deepClone(tm[f]);
  metadata['ownerReferences'] = [controllerRefFor(owner, ownerKind)];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: deepClone(asRecord(template['spec']) ?? {}) };
}

/** The active pods `rs` controls (or adopts now), and the patches for adoption and release. */
function claimPods(cache: CacheView, owner: KubeObject, ownerKind: KindRef): { claimed: readonly KubeObject[]; actions: readonly ApiAction[] } {
  const active = cache.list(kinds.pod, owner.metadata?.namespace).filter(isPodActive);
  return claimObjects(owner, ownerKind, kinds.pod, active);
}

export function reconcileReplicaSet(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const rs = cache.get(kinds.replicaSet, key);
  if (rs === undefined) return noActions;
  const selector = specSelector(rs);
  // Upstream refuses to sync an invalid or empty selector (validation prevents it for apps/v1).
  if (selector === 'nothing' || selector.length === 0) return noActions;
  const needsSync = ctx.expectations.satisfied(key, ctx.nowMs);
  const { claimed, actions: claimActions } = claimPods(cache, rs, kinds.replicaSet);

  let manage: { creates: ApiAction[]; deletes: ApiAction[]; expect?: ReconcileResult['expectations'] } = { creates: [], deletes: [] };
  if (needsSync && rs.metadata?.deletionTimestamp === undefined) manage = manageReplicas(key, rs, claimed, cache, ctx.nowMs);

  const status = calculateStatus(rs, claimed, ctx.nowMs);
  const minReady = minReadySecondsOf(rs);
  const requeue = minReady > 0 && (status['readyReplicas'] ?? 0) === specReplicas(rs) && (status['availableReplicas'] ?? 0) !== specReplicas(rs);
  return {
    steps: steps(
      { execution: sequential, actions: claimActions },
      { execution: { kind: 'slowStart', initialBatch: slowStartInitialBatch }, actions: manage.creates },
      { execution: parallel, actions: manage.deletes },
      { execution: sequential, actions: statusUpdate(kinds.replicaSet, rs, status), always: true },
    ),
    ...(manage.expect === undefined ? {} : { expectations: manage.expect }),
    ...(requeue ? { requeueAfterMs: minReady * 1000 } : {}),
  };
}

function manageReplicas(key: string, rs: KubeObject, pods: readonly KubeObject[], cache: CacheView, nowMs: number) {
  const diff = pods.length - specReplicas(rs);
  const ref = objectRef(rs, kinds.replicaSet);
  if (diff < 0) {
    const n = Math.min(-diff, burstReplicas);
    const body = podFromTemplate(rs, kinds.replicaSet, `${nameOf(rs)}-`);
    const creates: ApiAction[] = Array.from({ length: n }, () => ({
      type: 'create', resource: kinds.pod, namespace: rs.metadata?.namespace, body,
      onFailure: { kind: 'creation', controllerKey: key },
      onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulCreate', message: 'Created pod: {name}' },
    }));
    return { creates, deletes: [], expect: { controllerKey: key, adds: n, deleteKeys: [] } };
  }
  if (diff > 0) {
    const n = Math.min(diff, burstReplicas);
    // Related pods: those of every ReplicaSet with the same controller (a Deployment's family), for node ranking.
    const related = relatedPods(rs, cache);
    const victims = podsToDelete(pods, related, n, nowMs);
    const deletes: ApiAction[] = victims.map((p) => ({
      type: 'delete', resource: kinds.pod, namespace: p.metadata?.namespace, name: nameOf(p),
      // The uid precondition keeps a delete from hitting a recreated namesake.
      options: { preconditions: { uid: p.metadata?.uid ?? '' } },
      onFailure: { kind: 'deletion', controllerKey: key, objectKey: objectKey(p) },
      onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${nameOf(p)}` },
    }));
    return { creates: [], deletes, expect: { controllerKey: key, adds: 0, deleteKeys: victims.map((p) => objectKey(p)) } };
  }
  return { creates: [], deletes: [] };
}

function relatedPods(rs: KubeObject, cache: CacheView): KubeObject[] {
  const owner = controllerRefOf(rs);
  const family = owner === undefined ? [rs] : cache.byIndex(kinds.replicaSet, controllerUidIndex, owner.uid);
  return family.flatMap((r) => (r.metadata?.uid === undefined ? [] : cache.byIndex(kinds.pod, controllerUidIndex, r.metadata.uid)));
}

function calculateStatus(rs: KubeObject, pods: readonly KubeObject[], nowMs: number): JsonObject {
  const minReady = minReadySecondsOf(rs);
  const old = asRecord(rs['status']) ?? {};
  const status: JsonObject = { replicas: pods.length };
  // Go's omitempty: zero counts are absent in what the apiserver stores, so they must be absent here
  // too, or every resync would see a difference and write.
  setNonZero(status, 'fullyLabeledReplicas', pods.filter((p) => matchesTemplateLabels(rs, p)).length);
  setNonZero(status, 'readyReplicas', pods.filter(isPodReady).length);
  setNonZero(status, 'availableReplicas', pods.filter((p) => isPodAvailable(p, minReady, nowMs)).length);
  setNonZero(status, 'observedGeneration', rs.metadata?.generation ?? 0);
  // ReplicaFailure is set by the shell from a failed create (the core never sees API errors).
  const conditions = conditionsOf(old);
  if (conditions.length > 0) status['conditions'] = conditions;
  return status;
}

// ---------------------------------------------------------------------------------------------
// Event handlers

export function mapPodEventToOwners(ownerKind: KindRef, event: WatchEvent, cache: CacheView, minReadyOf: (owner: KubeObject) => number): EventMapping {
  const enqueue: Array<{ key: string; afterMs?: number }> = [];
  const observed: Observation[] = [];
  const ownerKey = (pod: KubeObject) => {
    const o = resolveControllerRef(cache, ownerKind, pod.metadata?.namespace, controllerRefOf(pod));
    return o === undefined ? undefined : keyOf(o);
  };
  switch (event.type) {
    case 'add': {
      const k = ownerKey(event.obj);
      if (event.obj.metadata?.deletionTimestamp !== undefined) {
        if (k !== undefined) observed.push({ kind: 'deletion', controllerKey: k, objectKey: objectKey(event.obj) });
      } else if (k !== undefined) {
        observed.push({ kind: 'creation', controllerKey: k });
      }
      for (const key of ownerKeysForDependent(cache, ownerKind, event.obj)) enqueue.push({ key });
      break;
    }
    case 'update': {
      const { oldObj, newObj } = event;
      if (oldObj.metadata?.resourceVersion === newObj.metadata?.resourceVersion && oldObj.metadata?.resourceVersion !== undefined) {
        // A resync: the owner is revisited through its own resync.
        return ignoreEvent;
      }
      if (newObj.metadata?.deletionTimestamp !== undefined && oldObj.metadata?.deletionTimestamp === undefined) {
        // A graceful delete: the owner should not wait for the pod to vanish (upstream treats it as deleted).
        for (const p of [oldObj, newObj]) {
          const k = ownerKey(p);
          if (k !== undefined) observed.push({ kind: 'deletion', controllerKey: k, objectKey: objectKey(p) });
        }
      }
      for (const key of ownerKeysForDependent(cache, ownerKind, newObj, oldObj)) enqueue.push({ key });
      const k = ownerKey(newObj);
      const owner = k === undefined ? undefined : cache.get(ownerKind, k);
      if (owner !== undefined && !isPodReady(oldObj) && isPodReady(newObj) && minReadyOf(owner) > 0) {
        enqueue.push({ key: keyOf(owner), afterMs: minReadyOf(owner) * 1000 + 1000 });
      }
      break;
    }
    case 'delete': {
      const k = ownerKey(event.obj);
      if (k !== undefined) {
        observed.push({ kind: 'deletion', controllerKey: k, objectKey: objectKey(event.obj) });
        enqueue.push({ key: k });
      }
      break;
    }
    default: {
      const never: never = event;
      throw new Error(`event ${String(never)}`);
    }
  }
  return { enqueue, observed };
}

export function mapSelf(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  const key = keyOf(obj);
  return event.type === 'delete' ? { enqueue: [{ key }], observed: [{ kind: 'forget', controllerKey: key }] } : { enqueue: [{ key }] };
}

export const replicaSetController: ControllerDefinition = {
  name: 'replicaset',
  primary: kinds.replicaSet,
  workers: 5,
  watches: [
    { kind: kinds.replicaSet, indexers: { [controllerUidIndex]: indexByControllerUid }, map: (e) => mapSelf(e) },
    { kind: kinds.pod, indexers: { [controllerUidIndex]: indexByControllerUid }, map: (e, cache) => mapPodEventToOwners(kinds.replicaSet, e, cache, minReadySecondsOf) },
  ],
  reconcile: reconcileReplicaSet,
};
