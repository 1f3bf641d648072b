/**
 * The DaemonSet controller (pkg/controller/daemon): one pod on every eligible node. A node is
 * eligible when it is not being deleted, matches the pod's nodeSelector and required node
 * affinity, and every NoSchedule / NoExecute taint on it is tolerated (daemon pods get the
 * upstream default tolerations: not-ready and unreachable NoExecute, the pressure and
 * unschedulable NoSchedule taints). Pods are pinned to their node by required node affinity on
 * metadata.name, as upstream does, and placed by the scheduler. RollingUpdate replaces old-revision
 * pods within maxUnavailable (unavailable old pods first), or with maxSurge starts the new pod
 * beside the old one and removes the old once the new is available; OnDelete waits for the user.
 */
import { asArray, asRecord, asString, deepClone, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import { computeTemplateHash } from './deployment.js';
import {
  claimObjects, controllerUidIndex, indexByControllerUid, isPodActive, isPodAvailable, isPodReady, kinds, nameOf, noActions, parallel,
  podPhase, scaledValue, sequential, setNonZero, statusUpdate, steps, taintsOf, tolerates, tolerationsOf,
  type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type IntOrString, type ReconcileContext,
  type ReconcileResult, type Toleration, type WatchEvent,
} from './framework/index.js';
import { mapPodEventToOwners, mapSelf, minReadySecondsOf, objectRef, podFromTemplate } from './replicaset.js';
import { revisionLabel } from './statefulset.js';

/** util.AddOrUpdateDaemonPodTolerations. */
const daemonTolerations: readonly Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function templateSpec(ds: KubeObject): JsonObject {
  return asRecord(asRecord(asRecord(ds['spec'])?.['template'])?.['spec']) ?? {};
}

function matchExpression(labels: Record<string, string>, e: JsonObject): boolean {
  const key = asString(e['key']) ?? '';
  const values = asArray(e['values']).map(String);
  const has = Object.prototype.hasOwnProperty.call(labels, key);
  switch (e['operator']) {
    case 'In': return has && values.includes(labels[key]!);
    case 'NotIn': return !has || !values.includes(labels[key]!);
    case 'Exists': return has;
    case 'DoesNotExist': return !has;
    case 'Gt': return has && Number(labels[key]) > Number(values[0]);
    case 'Lt': return has && Number(labels[key]) < Number(values[0]);
    default: return false;
  }
}

/** nodeShouldRunDaemonPod, its predicate part (no resources: daemon pods ignore capacity in this model). */
export function nodeEligible(ds: KubeObject, node: KubeObject): boolean {
  if (node.metadata?.deletionTimestamp !== undefined) return false;
  const spec = templateSpec(ds);
  const labels = node.metadata?.labels ?? {};
  const sel = asRecord(spec['nodeSelector']) ?? {};
  if (!Object.entries(sel).every(([k, v]) => labels[k] === v)) return false;
  const terms = asArray(asRecord(asRecord(asRecord(spec['affinity'])?.['nodeAffinity'])?.['requiredDuringSchedulingIgnoredDuringExecution'])?.['nodeSelectorTerms']).map(asRecord);
  if (terms.length > 0 && !terms.some((t) => t !== undefined && asArray(t['matchExpressions']).every((e) => matchExpression(labels, asRecord(e) ?? {}))
    && asArray(t['matchFields']).every((e) => matchExpression({ 'metadata.name': nameOf(node) }, asRecord(e) ?? {})))) return false;
  const tolerations = [...tolerationsOf({ spec } as KubeObject), ...daemonTolerations];
  return taintsOf(node).filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute').every((taint) => tolerations.some((t) => tolerates(t, taint)));
}

/** The node a daemon pod belongs to: its nodeName, or the metadata.name its affinity pins. */
export function daemonPodNode(pod: KubeObject): string | undefined {
  const spec = asRecord(pod['spec']) ?? {};
  const n = asString(spec['nodeName']);
  if (n !== undefined && n !== '') return n;
  const terms = asArray(asRecord(asRecord(asRecord(spec['affinity'])?.['nodeAffinity'])?.['requiredDuringSchedulingIgnoredDuringExecution'])?.['nodeSelectorTerms']);
  for (const t of terms) for (const f of asArray(asRecord(t)?.['matchFields'])) {
    const r = asRecord(f);
    if (r?.['key'] === 'metadata.name' && r['operator'] === 'In') return asString(asArray(r['values'])[0]);
  }
  return undefined;
}

export function daemonSetHash(ds: KubeObject): string {
  return computeTemplateHash(asRecord(asRecord(ds['spec'])?.['template']) ?? {});
}

function newDaemonPod(ds: KubeObject, node: string, hash: string): KubeObject {
  const pod = podFromTemplate(ds, kinds.daemonSet, `${nameOf(ds)}-`);
  pod.metadata = { ...pod.metadata, labels: { ...(pod.metadata?.labels ?? {}), [revisionLabel]: hash } };
  const spec = pod['spec'] as JsonObject;
  const tolerations = [...tolerationsOf(pod)];
  for (const t of daemonTolerations) if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push({ ...t });
  spec['tolerations'] = tolerations;
  const affinity = deepClone(asRecord(spec['affinity']) ?? {});
  affinity['nodeAffinity'] = {
    ...(asRecord(affinity['nodeAffinity']) ?? {}),
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] },
  };
  spec['affinity'] = affinity;
  return pod;
}

function strategyOf(ds: KubeObject, desired: number): { onDelete: boolean; maxUnavailable: number; maxSurge: number } {
  const s = asRecord(asRecord(ds['spec'])?.['updateStrategy']) ?? {};
  if (s['type'] === 'OnDelete') return { onDelete: true, maxUnavailable: 0, maxSurge: 0 };
  const ru = asRecord(s['rollingUpdate']) ?? {};
  const iv = (v: unknown, d: IntOrString): IntOrString => (typeof v === 'number' || typeof v === 'string' ? v : d);
  // Both round up for DaemonSets (unlike Deployments' unavailable).
  const maxSurge = scaledValue(iv(ru['maxSurge'], 0), desired, true) ?? 0;
  let maxUnavailable = scaledValue(iv(ru['maxUnavailable'], 1), desired, true) ?? 1;
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { onDelete: false, maxUnavailable, maxSurge };
}

export function reconcileDaemonSet(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const ds = cache.get(kinds.daemonSet, key);
  if (ds === undefined) return noActions;
  const hash = daemonSetHash(ds);
  const minReady = minReadySecondsOf(ds);
  const claim = claimObjects(ds, kinds.daemonSet, kinds.pod, cache.list(kinds.pod, ds.metadata?.namespace));
  const nodes = cache.list(kinds.node, undefined);
  const byNode = new Map<string, KubeObject[]>();
  for (const p of claim.claimed) {
    const n = daemonPodNode(p);
    if (n === undefined) continue;
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const ref = objectRef(ds, kinds.daemonSet);
  const creates: ApiAction[] = [];
  const deletes: KubeObject[] = [];
  const create = (node: string): ApiAction => ({
    type: 'create', resource: kinds.pod, namespace: ds.metadata?.namespace, body: newDaemonPod(ds, node, hash),
    onFailure: { kind: 'creation', controllerKey: key },
    onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulCreate', message: 'Created pod: {name}' },
  });
  const eligible = nodes.filter((n) => nodeEligible(ds, n));
  const eligibleNames = new Set(eligible.map((n) => nameOf(n)));
  const available = (p: KubeObject) => isPodActive(p) && isPodAvailable(p, minReady, ctx.nowMs);
  const isNew = (p: KubeObject) => p.metadata?.labels?.[revisionLabel] === hash;
  const satisfied = ctx.expectations.satisfied(key, ctx.nowMs);
  if (satisfied && ds.metadata?.deletionTimestamp === undefined) {
    for (const node of nodes) {
      const name = nameOf(node);
      const pods = (byNode.get(name) ?? []).filter((p) => p.metadata?.deletionTimestamp === undefined);
      if (!eligibleNames.has(name)) { deletes.push(...pods); continue; }
      const failed = pods.filter((p) => podPhase(p) === 'Failed');
      deletes.push(...failed);
      const running = pods.filter((p) => !failed.includes(p));
      if (running.length === 0 && failed.length === 0 && (byNode.get(name) ?? []).every((p) => p.metadata?.deletionTimestamp === undefined)) creates.push(create(name));
      else if (running.length > 1) {
        // More than one: keep the oldest of the newest revision present (surge pairs are handled below).
        const sorted = [...running].sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
        const news = sorted.filter(isNew), olds = sorted.filter((p) => !isNew(p));
        if (news.length > 1) deletes.push(...news.slice(1));
        if (olds.length > 1) deletes.push(...olds.slice(1));
      }
    }
    const { onDelete, maxUnavailable, maxSurge } = strategyOf(ds, eligible.length);
    if (!onDelete && creates.length === 0 && deletes.length === 0) {
      let unavailable = 0;
      const replaceFreely: KubeObject[] = [];
      const candidates: KubeObject[] = [];
      let surging = 0;
      const surgeCandidates: string[] = [];
      for (const name of [...eligibleNames].sort()) {
        const pods = (byNode.get(name) ?? []).filter((p) => p.metadata?.deletionTimestamp === undefined);
        const newPod = pods.find(isNew);
        const oldPod = pods.find((p) => !isNew(p));
        if (newPod === undefined && oldPod === undefined) { unavailable++; continue; }
        if (oldPod === undefined) { if (!available(newPod!)) unavailable++; continue; }
        if (maxSurge > 0) {
          if (newPod === undefined) surgeCandidates.push(name);
          else { surging++; if (available(newPod)) deletes.push(oldPod); }
          continue;
        }
        if (!available(oldPod)) { unavailable++; replaceFreely.push(oldPod); } else candidates.push(oldPod);
      }
      if (maxSurge > 0) {
        for (const name of surgeCandidates.slice(0, Math.max(0, maxSurge - surging))) creates.push(create(name));
      } else {
        deletes.push(...replaceFreely, ...candidates.slice(0, Math.max(0, maxUnavailable - unavailable)));
      }
    }
  }

  const want = new Set(eligibleNames);
  const scheduled = [...byNode.entries()].filter(([, ps]) => ps.some((p) => p.metadata?.deletionTimestamp === undefined));
  const onWanted = scheduled.filter(([n]) => want.has(n)).map(([, ps]) => ps.filter((p) => p.metadata?.deletionTimestamp === undefined));
  const status: JsonObject = {
    currentNumberScheduled: onWanted.length,
    numberMisscheduled: scheduled.filter(([n]) => !want.has(n)).length,
    desiredNumberScheduled: want.size,
    numberReady: onWanted.filter((ps) => ps.some(isPodReady)).length,
  };
  setNonZero(status, 'observedGeneration', ds.metadata?.generation ?? 0);
  setNonZero(status, 'updatedNumberScheduled', onWanted.filter((ps) => ps.some(isNew)).length);
  const availableNodes = onWanted.filter((ps) => ps.some(available)).length;
  setNonZero(status, 'numberAvailable', availableNodes);
  setNonZero(status, 'numberUnavailable', want.size - availableNodes);
  const deleteActions: ApiAction[] = deletes.map((p) => ({
    type: 'delete', resource: kinds.pod, namespace: p.metadata?.namespace, name: nameOf(p), options: { preconditions: { uid: p.metadata?.uid ?? '' } },
    onFailure: { kind: 'deletion', controllerKey: key, objectKey: objectKey(p) },
    onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${nameOf(p)}` },
  }));
  const expect = creates.length + deletes.length > 0 ? { controllerKey: key, adds: creates.length, deleteKeys: deletes.map((p) => objectKey(p)) } : undefined;
  return {
    steps: steps(
      { execution: sequential, actions: claim.actions },
      { execution: { kind: 'slowStart', initialBatch: 1 }, actions: creates },
      { execution: parallel, actions: deleteActions },
      { execution: sequential, actions: statusUpdate(kinds.daemonSet, ds, status), always: true },
    ),
    ...(expect === undefined ? {} : { expectations: expect }),
  };
}

/** Any node change may change where every DaemonSet should run. */
function mapNode(_e: WatchEvent, cache: CacheView): EventMapping {
  return { enqueue: cache.list(kinds.daemonSet, undefined).map((d) => ({ key: objectKey(d) })) };
}

export const daemonSetController: ControllerDefinition = {
  name: 'daemonset',
  primary: kinds.daemonSet,
  workers: 2,
  watches: [
    { kind: kinds.daemonSet, map: (e) => mapSelf(e) },
    { kind: kinds.pod, indexers: { [controllerUidIndex]: indexByControllerUid }, map: (e, cache) => mapPodEventToOwners(kinds.daemonSet, e, cache, minReadySecondsOf) },
    { kind: kinds.node, map: mapNode },
  ],
  reconcile: reconcileDaemonSet,
};
