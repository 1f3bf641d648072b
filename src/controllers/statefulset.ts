/**
 * The StatefulSet controller (pkg/controller/statefulset): pods with stable names `<set>-<ordinal>`
 * (hostname = name, subdomain = serviceName). OrderedReady creates one pod at a time in ordinal
 * order, each waiting for the previous to be Running and Ready, and removes condemned pods from
 * the highest ordinal down; Parallel does both without waiting. RollingUpdate replaces pods from
 * the highest ordinal down to `partition`, one at a time, each replacement Ready before the next;
 * OnDelete leaves that to the user. Stable names make "at most one pod per identity" the
 * apiserver's uniqueness of names: a successor is created only once its predecessor is gone.
 * Revisions are `<set>-<template hash>` in the `controller-revision-hash` label (this apiserver
 * serves no ControllerRevisions, so a pod below the partition is recreated from the current
 * template).
 */
import { asNumber, asRecord, asString, type JsonObject, type KubeObject } from '../api/index.js';
import { computeTemplateHash } from './deployment.js';
import {
  claimObjects, controllerUidIndex, indexByControllerUid, isPodAvailable, isPodReady, kinds, nameOf, noActions, podPhase, sequential,
  setNonZero, statusUpdate, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult,
} from './framework/index.js';
import { mapPodEventToOwners, mapSelf, minReadySecondsOf, objectRef, podFromTemplate, specReplicas } from './replicaset.js';

export const revisionLabel = 'controller-revision-hash';
const podNameLabel = 'statefulset.kubernetes.io/pod-name';
const podIndexLabel = 'apps.kubernetes.io/pod-index';

/** The ordinal of a pod named `<set>-<n>`, or undefined when it is not one of the set's identities. */
function ordinalOf(set: KubeObject, pod: KubeObject): number | undefined {
  const prefix = `${nameOf(set)}-`;
  const name = nameOf(pod);
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function updateRevisionOf(set: KubeObject): string {
  const collision = asNumber(asRecord(set['status'])?.['collisionCount']);
  return `${nameOf(set)}-${computeTemplateHash(asRecord(asRecord(set['spec'])?.['template']) ?? {}, collision)}`;
}

const revisionOfPod = (p: KubeObject) => p.metadata?.labels?.[revisionLabel];
const terminating = (p: KubeObject) => p.metadata?.deletionTimestamp !== undefined;
const runningAndReady = (p: KubeObject) => podPhase(p) === 'Running' && isPodReady(p);
const finished = (p: KubeObject) => podPhase(p) === 'Failed' || podPhase(p) === 'Succeeded';

function newPod(set: KubeObject, ordinal: number, revision: string): KubeObject {
  const name = `${nameOf(set)}-${ordinal}`;
  const pod = podFromTemplate(set, kinds.statefulSet, '');
  const meta = pod.metadata!;
  delete meta.generateName;
  meta.name = name;
  meta.labels = { ...(meta.labels ?? {}), [revisionLabel]: revision, [podNameLabel]: name, [podIndexLabel]: String(ordinal) };
  const spec = pod['spec'] as JsonObject;
  spec['hostname'] = name;
  const service = asString(asRecord(set['spec'])?.['serviceName']);
  if (service !== undefined && service !== '') spec['subdomain'] = service;
  return pod;
}

export function reconcileStatefulSet(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const set = cache.get(kinds.statefulSet, key);
  if (set === undefined) return noActions;
  const spec = asRecord(set['spec']) ?? {};
  const replicas = specReplicas(set);
  const monotonic = spec['podManagementPolicy'] !== 'Parallel';
  const strategy = asRecord(spec['updateStrategy']) ?? {};
  const onDelete = strategy['type'] === 'OnDelete';
  const partition = Math.max(0, asNumber(asRecord(strategy['rollingUpdate'])?.['partition']) ?? 0);
  const updateRevision = updateRevisionOf(set);
  const status = asRecord(set['status']) ?? {};
  const currentRevision = asString(status['currentRevision']) ?? updateRevision;
  const claim = claimObjects(set, kinds.statefulSet, kinds.pod, cache.list(kinds.pod, set.metadata?.namespace));
  const slots = new Map<number, KubeObject>();
  const condemned: KubeObject[] = [];
  for (const p of claim.claimed) {
    const o = ordinalOf(set, p);
    if (o === undefined) continue;
    if (o < replicas) slots.set(o, p);
    else condemned.push(p);
  }
  condemned.sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!);
  const ref = objectRef(set, kinds.statefulSet);
  const actions: ApiAction[] = [];
  const del = (p: KubeObject): ApiAction => ({
    type: 'delete', resource: kinds.pod, namespace: p.metadata?.namespace, name: nameOf(p), options: { preconditions: { uid: p.metadata?.uid ?? '' } },
    onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulDelete', message: `delete Pod ${nameOf(p)} in StatefulSet ${nameOf(set)} successful` },
  });
  const create = (ordinal: number): ApiAction => ({
    type: 'create', resource: kinds.pod, namespace: set.metadata?.namespace, body: newPod(set, ordinal, ordinal < partition ? currentRevision : updateRevision),
    onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulCreate', message: `create Pod ${nameOf(set)}-${ordinal} in StatefulSet ${nameOf(set)} successful` },
  });
  const minReady = minReadySecondsOf(set);
  const healthy = (p: KubeObject) => runningAndReady(p) && !terminating(p) && isPodAvailable(p, minReady, ctx.nowMs);
  const firstUnhealthy = [...[...slots.entries()].sort(([a], [b]) => a - b).map(([, p]) => p), ...condemned].find((p) => !healthy(p));

  const manage = (): void => {
    if (set.metadata?.deletionTimestamp !== undefined) return;
    for (let i = 0; i < replicas; i++) {
      const pod = slots.get(i);
      if (pod !== undefined && finished(pod) && !terminating(pod)) {
        // A failed or finished pod is replaced (its name is freed first).
        actions.push(del(pod));
        if (monotonic) return;
        continue;
      }
      if (pod === undefined) {
        actions.push(create(i));
        if (monotonic) return;
        continue;
      }
      if (monotonic && (terminating(pod) || !healthy(pod))) return;
    }
    for (const pod of condemned) {
      if (terminating(pod)) { if (monotonic) return; continue; }
      if (monotonic && !healthy(pod) && pod !== firstUnhealthy) return;
      actions.push(del(pod));
      if (monotonic) return;
    }
    if (onDelete) return;
    for (let target = replicas - 1; target >= partition; target--) {
      const pod = slots.get(target);
      if (pod === undefined) return;
      if (revisionOfPod(pod) !== updateRevision && !terminating(pod)) {
        actions.push(del(pod));
        return;
      }
      if (!healthy(pod)) return;
    }
  };
  manage();

  const pods = claim.claimed.filter((p) => ordinalOf(set, p) !== undefined);
  const next: JsonObject = {};
  setNonZero(next, 'observedGeneration', set.metadata?.generation ?? 0);
  next['replicas'] = pods.length;
  setNonZero(next, 'readyReplicas', pods.filter(isPodReady).length);
  setNonZero(next, 'currentReplicas', pods.filter((p) => revisionOfPod(p) === currentRevision).length);
  setNonZero(next, 'updatedReplicas', pods.filter((p) => revisionOfPod(p) === updateRevision).length);
  setNonZero(next, 'availableReplicas', pods.filter((p) => isPodAvailable(p, minReady, ctx.nowMs)).length);
  next['currentRevision'] = currentRevision;
  next['updateRevision'] = updateRevision;
  if (status['collisionCount'] !== undefined) next['collisionCount'] = status['collisionCount'];
  // completeRollingUpdate: every pod at the update revision and ready: it becomes current.
  if (!onDelete && next['updatedReplicas'] === replicas && next['readyReplicas'] === replicas && pods.length === replicas) {
    next['currentRevision'] = updateRevision;
    next['currentReplicas'] = next['updatedReplicas'];
  }
  return {
    steps: steps(
      { execution: sequential, actions: claim.actions },
      { execution: monotonic ? sequential : { kind: 'parallel' }, actions },
      { execution: sequential, actions: statusUpdate(kinds.statefulSet, set, next), always: true },
    ),
    // Ready but not yet available pods become available without an event: look again then.
    ...(minReady > 0 && pods.some((p) => isPodReady(p) && !isPodAvailable(p, minReady, ctx.nowMs)) ? { requeueAfterMs: minReady * 1000 } : {}),
  };
}

export const statefulSetController: ControllerDefinition = {
  name: 'statefulset',
  primary: kinds.statefulSet,
  workers: 5,
  watches: [
    { kind: kinds.statefulSet, map: (e) => mapSelf(e) },
    { kind: kinds.pod, indexers: { [controllerUidIndex]: indexByControllerUid }, map: (e, cache) => mapPodEventToOwners(kinds.statefulSet, e, cache, minReadySecondsOf) },
  ],
  reconcile: reconcileStatefulSet,
};
