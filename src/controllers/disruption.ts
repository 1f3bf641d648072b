/**
 * The disruption controller (pkg/controller/disruption): a PodDisruptionBudget's status — how
 * many selected pods are healthy (Ready and not terminating), how many must stay healthy, and so
 * how many voluntary disruptions (evictions) are allowed now. minAvailable as a number counts
 * the selected pods; a percentage, or maxUnavailable, scales with the replicas of the pods'
 * controllers (a Deployment's for its ReplicaSets' pods, a StatefulSet's, a ReplicaSet's).
 * Evictions recorded in status.disruptedPods stop counting as healthy until the pod goes or the
 * entry is two minutes old (upstream DeletionTimeout).
 */
import { asRecord, controllerRefOf, matchesLabels, deepClone, parseRfc3339, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  conditionsOf, ignoreEvent, isPodReady, kinds, labelSelectorFromObjectReqs, newCondition, noActions, resolveControllerRef, scaledValue,
  sequential, setCondition, statusUpdate, steps,
  type CacheView, type ControllerDefinition, type EventMapping, type IntOrString, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';
import { specReplicas } from './replicaset.js';

const disruptedPodTimeoutMs = 2 * 60 * 1000;

/** The scale that owns `pod`: its controller's replicas, following a ReplicaSet up to its Deployment. */
function controllerScale(cache: CacheView, pod: KubeObject): { key: string; replicas: number } | undefined {
  const ns = pod.metadata?.namespace;
  const ref = controllerRefOf(pod);
  if (ref === undefined) return undefined;
  const rs = resolveControllerRef(cache, kinds.replicaSet, ns, ref);
  if (rs !== undefined) {
    const d = resolveControllerRef(cache, kinds.deployment, ns, controllerRefOf(rs));
    if (d !== undefined) return { key: `Deployment/${objectKey(d)}`, replicas: specReplicas(d) };
    return { key: `ReplicaSet/${objectKey(rs)}`, replicas: specReplicas(rs) };
  }
  const sts = resolveControllerRef(cache, kinds.statefulSet, ns, ref);
  if (sts !== undefined) return { key: `StatefulSet/${objectKey(sts)}`, replicas: specReplicas(sts) };
  return undefined;
}

function intOrString(v: unknown): IntOrString | undefined {
  return typeof v === 'number' || typeof v === 'string' ? v : undefined;
}

export function reconcileDisruptionBudget(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const pdb = cache.get(kinds.pdb, key);
  if (pdb === undefined) return noActions;
  const spec = asRecord(pdb['spec']) ?? {};
  const sel = labelSelectorFromObjectReqs(spec['selector']);
  const pods = sel === undefined ? [] : cache.list(kinds.pod, pdb.metadata?.namespace, sel);
  const old = asRecord(pdb['status']) ?? {};
  // Disrupted pods: still counted out while the eviction is fresh and the pod not yet deleting.
  const disrupted: Record<string, string> = {};
  const byName = new Map(pods.map((p) => [p.metadata?.name ?? '', p]));
  for (const [name, at] of Object.entries(asRecord(old['disruptedPods']) ?? {})) {
    const p = byName.get(name);
    const t = parseRfc3339(String(at));
    if (p === undefined || p.metadata?.deletionTimestamp !== undefined || t === undefined || t + disruptedPodTimeoutMs < ctx.nowMs) continue;
    disrupted[name] = String(at);
  }
  const healthy = pods.filter((p) => p.metadata?.deletionTimestamp === undefined && isPodReady(p) && disrupted[p.metadata?.name ?? ''] === undefined).length;
  const minAvailable = intOrString(spec['minAvailable']);
  const maxUnavailable = intOrString(spec['maxUnavailable']);
  let expected: number;
  let desired: number;
  let failure: string | undefined;
  if (maxUnavailable !== undefined || (typeof minAvailable === 'string' && minAvailable.endsWith('%'))) {
    const scales = new Map<string, number>();
    for (const p of pods) {
      const s = controllerScale(cache, p);
      if (s === undefined) { failure = `found no controllers for pod "${p.metadata?.name ?? ''}"`; break; }
      scales.set(s.key, s.replicas);
    }
    expected = [...scales.values()].reduce((a, b) => a + b, 0);
    if (maxUnavailable !== undefined) desired = Math.max(0, expected - (scaledValue(maxUnavailable, expected, true) ?? 0));
    else desired = scaledValue(minAvailable!, expected, true) ?? 0;
  } else {
    expected = pods.length;
    desired = typeof minAvailable === 'number' ? minAvailable : typeof minAvailable === 'string' ? Number(minAvailable) || 0 : 0;
  }
  const status: JsonObject = { ...deepClone(old) };
  let conds = conditionsOf(old);
  if (failure !== undefined) {
    // Upstream's failSafe: no disruptions allowed while the budget cannot be computed.
    status['disruptionsAllowed'] = 0;
    conds = setCondition(conds, newCondition('DisruptionAllowed', 'False', 'SyncFailed', failure, ctx.nowMs, false));
  } else {
    const allowed = Math.max(0, healthy - desired);
    Object.assign(status, { disruptionsAllowed: allowed, currentHealthy: healthy, desiredHealthy: desired, expectedPods: expected });
    conds = setCondition(conds, allowed > 0
      ? newCondition('DisruptionAllowed', 'True', 'SufficientPods', '', ctx.nowMs, false)
      : newCondition('DisruptionAllowed', 'False', 'InsufficientPods', '', ctx.nowMs, false));
  }
  status['observedGeneration'] = pdb.metadata?.generation ?? 0;
  if (Object.keys(disrupted).length > 0) status['disruptedPods'] = disrupted;
  else delete status['disruptedPods'];
  status['conditions'] = conds.map((c) => ({ ...c, observedGeneration: pdb.metadata?.generation ?? 0 }));
  // A recorded eviction ages out without an event: look again then.
  const soonest = Math.min(...Object.values(disrupted).map((t) => (parseRfc3339(t) ?? ctx.nowMs) + disruptedPodTimeoutMs - ctx.nowMs));
  return {
    steps: steps({ execution: sequential, actions: statusUpdate(kinds.pdb, pdb, status) }),
    ...(Number.isFinite(soonest) ? { requeueAfterMs: Math.max(1, soonest) } : {}),
  };
}

function mapPod(e: WatchEvent, cache: CacheView): EventMapping {
  const pods = e.type === 'update' ? [e.oldObj, e.newObj] : [e.obj];
  if (e.type === 'update' && e.oldObj.metadata?.resourceVersion === e.newObj.metadata?.resourceVersion) return ignoreEvent;
  const keys = new Set<string>();
  for (const pdb of cache.list(kinds.pdb, pods[0]?.metadata?.namespace)) {
    const sel = labelSelectorFromObjectReqs(asRecord(pdb['spec'])?.['selector']);
    if (sel !== undefined && pods.some((p) => matchesLabels(sel, p.metadata?.labels))) keys.add(objectKey(pdb));
  }
  return { enqueue: [...keys].map((key) => ({ key })) };
}

/** Scale changes of the pods' controllers change expectedPods. */
function mapController(e: WatchEvent, cache: CacheView): EventMapping {
  const obj = e.type === 'update' ? e.newObj : e.obj;
  return { enqueue: cache.list(kinds.pdb, obj.metadata?.namespace).map((p) => ({ key: objectKey(p) })) };
}

export const disruptionController: ControllerDefinition = {
  name: 'disruption',
  primary: kinds.pdb,
  workers: 1,
  watches: [
    { kind: kinds.pdb, map: (e) => ({ enqueue: [{ key: objectKey(e.type === 'update' ? e.newObj : e.obj) }] }) },
    { kind: kinds.pod, map: mapPod },
    { kind: kinds.replicaSet, map: mapController },
    { kind: kinds.deployment, map: mapController },
    { kind: kinds.statefulSet, map: mapController },
  ],
  reconcile: reconcileDisruptionBudget,
};
