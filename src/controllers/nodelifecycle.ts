/**
 * Node lifecycle (pkg/controller/nodelifecycle) and NoExecute taint eviction
 * (pkg/controller/tainteviction).
 * - A node whose kubelet has not renewed its Lease in kube-node-lease (nor posted Ready) for the
 *   grace period gets its Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to
 *   Unknown ("Kubelet stopped posting node status.").
 * - Ready Unknown → `node.kubernetes.io/unreachable`, Ready False → `node.kubernetes.io/not-ready`,
 *   each as NoSchedule and as NoExecute; Ready True removes them.
 * - Adding a NoExecute taint is rate limited, the limiter's state read from the cluster itself:
 *   at most `burst` NoExecute taints of ours with timeAdded in the last burst/qps seconds. The
 *   rate is the zone's: normal `evictionQps`; partial disruption (more than 2 and at least
 *   `unhealthyZoneThreshold` of nodes not ready) `secondaryEvictionQps` in a large cluster and 0
 *   in a small one; full disruption (no ready node at all) removes our NoExecute taints instead,
 *   as upstream assumes the controller, not every node, is cut off. One zone: the zone-less rules.
 * - The pods of a node that is not Ready are marked not Ready (MarkPodsNotReady, NodeNotReady
 *   events), so their endpoints stop getting traffic before any eviction.
 * - Taint eviction: a pod on a node with NoExecute taints it does not tolerate is deleted now;
 *   tolerated for tolerationSeconds, at timeAdded + the smallest of them; first it gets the
 *   DisruptionTarget condition, as upstream.
 */
import { asArray, asRecord, asString, deepClone, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  conditionsOf, ignoreEvent, kinds, minTolerationSeconds, nameOf, noActions, nodeNameOf, sequential, steps, taintsOf, tolerationsOf,
  type ApiAction, type CacheView, type Condition, type ControllerDefinition, type EventMapping, type IndexFunc, type ReconcileContext,
  type ReconcileResult, type Taint, type WatchEvent,
} from './framework/index.js';

const unreachableTaintKey = 'node.kubernetes.io/unreachable';
const notReadyTaintKey = 'node.kubernetes.io/not-ready';
const nodeLeaseNamespace = 'kube-node-lease';

export interface NodeLifecycleConfig {
  /** --node-monitor-grace-period (DESIGN §4: 50 s kubernetes, 3 s fast). */
  readonly gracePeriodMs: number;
  /** --node-eviction-rate (0.1) and --secondary-node-eviction-rate (0.01), per second. */
  readonly evictionQps: number;
  readonly secondaryEvictionQps: number;
  readonly burst: number;
  /** --large-cluster-size-threshold (50) and --unhealthy-zone-threshold (0.55). */
  readonly largeClusterSizeThreshold: number;
  readonly unhealthyZoneThreshold: number;
}

export const kubernetesNodeLifecycle: NodeLifecycleConfig = {
  gracePeriodMs: 50_000, evictionQps: 0.1, secondaryEvictionQps: 0.01, burst: 1, largeClusterSizeThreshold: 50, unhealthyZoneThreshold: 0.55,
};

const healthConditions = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

const nodeNameIndex = 'node-name';
const indexByNodeName: IndexFunc = (obj) => {
  const n = nodeNameOf(obj);
  return n === '' ? [] : [n];
};

/**
 * Upstream's MarkPodsNotReady: the pods of a node that is not Ready lose their Ready condition
 * (so Endpoints and EndpointSlices stop sending them traffic long before eviction), each with a
 * NodeNotReady event. The kubelet sets Ready again when it is back.
 */
function markPodsNotReady(node: KubeObject, cache: CacheView, nowMs: number): ApiAction[] {
  const actions: ApiAction[] = [];
  for (const pod of cache.byIndex(kinds.pod, nodeNameIndex, nameOf(node))) {
    const status = asRecord(pod['status']) ?? {};
    const conds = conditionsOf(status);
    if (!conds.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
    const now = formatRfc3339(nowMs);
    const conditions = conds.map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: now } : c));
    actions.push({ type: 'updateStatus', resource: kinds.pod, body: { ...deepClone(pod), status: { ...status, conditions } } });
    actions.push({ type: 'event', event: { involvedObject: { apiVersion: 'v1', kind: 'Pod', name: nameOf(pod), namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' }, type: 'Warning', reason: 'NodeNotReady', message: 'Node is not ready' } });
  }
  return actions;
}

function readyStatus(node: KubeObject): Condition['status'] | undefined {
  return conditionsOf(asRecord(node['status'])).find((c) => c.type === 'Ready')?.status;
}

/** The last sign of life: the node Lease's renewTime or the Ready condition's heartbeat. */
function lastHeartbeatMs(node: KubeObject, cache: CacheView): number | undefined {
  const lease = cache.get(kinds.lease, `${nodeLeaseNamespace}/${nameOf(node)}`);
  const renew = asString(asRecord(lease?.['spec'])?.['renewTime']);
  const ready = conditionsOf(asRecord(node['status'])).find((c) => c.type === 'Ready');
  const hb = asString(ready?.['lastHeartbeatTime']);
  const times = [renew, hb].map((t) => (t === undefined ? undefined : parseRfc3339(t))).filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.max(...times);
}

function conditionUpdates(node: KubeObject, nowMs: number): Condition[] | undefined {
  const conds = conditionsOf(asRecord(node['status']));
  const now = formatRfc3339(nowMs);
  let changed = false;
  const out = [...conds];
  for (const type of healthConditions) {
    const i = out.findIndex((c) => c.type === type);
    const cur = i < 0 ? undefined : out[i];
    if (cur?.status === 'Unknown') continue;
    changed = true;
    const next: Condition = cur === undefined
      ? { type, status: 'Unknown', lastHeartbeatTime: now, lastTransitionTime: now, reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.' }
      : { ...cur, status: 'Unknown', lastTransitionTime: now, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' };
    if (i < 0) out.push(next);
    else out[i] = next;
  }
  return changed ? out : undefined;
}

function ourTaints(node: KubeObject): Taint[] {
  return taintsOf(node).filter((t) => t.key === unreachableTaintKey || t.key === notReadyTaintKey);
}

type ZoneState = 'normal' | 'partialDisruption' | 'fullDisruption';

function zoneState(nodes: readonly KubeObject[], unhealthyThreshold: number): ZoneState {
  const notReady = nodes.filter((n) => readyStatus(n) !== 'True').length;
  const ready = nodes.length - notReady;
  if (ready === 0 && notReady > 0) return 'fullDisruption';
  if (notReady > 2 && notReady / nodes.length >= unhealthyThreshold) return 'partialDisruption';
  return 'normal';
}

/** Rate limit, from the evidence: NoExecute taints of ours added within the last burst/qps seconds. */
function taintAllowed(nodes: readonly KubeObject[], qps: number, burst: number, nowMs: number): boolean {
  if (qps <= 0) return false;
  const windowMs = (burst / qps) * 1000;
  const recent = nodes.flatMap((n) => ourTaints(n)).filter((t) => t.effect === 'NoExecute' && t.timeAdded !== undefined && nowMs - (parseRfc3339(t.timeAdded) ?? 0) < windowMs);
  return recent.length < burst;
}

export function nodeLifecycleController(config: NodeLifecycleConfig): ControllerDefinition {
  const reconcile = (key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult => {
    const node = cache.get(kinds.node, key);
    if (node === undefined) return noActions;
    const hb = lastHeartbeatMs(node, cache);
    const created = parseRfc3339(String(node.metadata?.creationTimestamp ?? '')) ?? ctx.nowMs;
    const since = hb ?? created;
    const stale = ctx.nowMs - since > config.gracePeriodMs;
    let status: JsonObject = asRecord(node['status']) ?? {};
    const condActions: ApiAction[] = [];
    if (stale) {
      const conds = conditionUpdates(node, ctx.nowMs);
      if (conds !== undefined) {
        status = { ...status, conditions: conds };
        condActions.push({ type: 'updateStatus', resource: kinds.node, body: { ...deepClone(node), status } });
      }
    }
    // Taints follow the (possibly just updated) Ready condition.
    const ready = (conditionsOf(status).find((c) => c.type === 'Ready')?.status) ?? 'Unknown';
    const wantKey = ready === 'True' ? undefined : ready === 'False' ? notReadyTaintKey : unreachableTaintKey;
    const all = cache.list(kinds.node, undefined);
    const zone = zoneState(all.map((n) => (n === node ? { ...n, status } : n)), config.unhealthyZoneThreshold);
    const others = taintsOf(node).filter((t) => t.key !== unreachableTaintKey && t.key !== notReadyTaintKey);
    const have = ourTaints(node);
    const want: Taint[] = [];
    let requeueAfterMs: number | undefined;
    if (wantKey !== undefined) {
      want.push(have.find((t) => t.key === wantKey && t.effect === 'NoSchedule') ?? { key: wantKey, effect: 'NoSchedule' });
      const existing = have.find((t) => t.key === wantKey && t.effect === 'NoExecute');
      const qps = zone === 'normal' ? config.evictionQps : zone === 'partialDisruption' ? (all.length > config.largeClusterSizeThreshold ? config.secondaryEvictionQps : 0) : 0;
      if (existing !== undefined && zone !== 'fullDisruption') want.push(existing);
      else if (zone !== 'fullDisruption') {
        if (taintAllowed(all, qps, config.burst, ctx.nowMs)) want.push({ key: wantKey, effect: 'NoExecute', timeAdded: formatRfc3339(ctx.nowMs) });
        else requeueAfterMs = qps > 0 ? Math.ceil(1000 / qps) : 10_000;
      }
    }
    if (!stale) {
      // Look again when the grace period would run out without a renewal.
      const at = since + config.gracePeriodMs - ctx.nowMs + 1;
      requeueAfterMs = requeueAfterMs === undefined ? Math.max(1, at) : Math.min(requeueAfterMs, Math.max(1, at));
    }
    const sameTaints = have.length === want.length && want.every((w) => have.some((h) => h.key === w.key && h.effect === w.effect));
    const taintActions: ApiAction[] = [];
    if (!sameTaints) {
      // Taints are spec: a write of their own after the status one. A merge patch replaces the
      // whole list (null removes it); the uid in it refuses a recreated namesake.
      const taints = [...others, ...want];
      taintActions.push({
        type: 'patch', resource: kinds.node, namespace: undefined, name: nameOf(node), patchType: 'merge',
        patch: { metadata: { uid: node.metadata?.uid }, spec: { taints: taints.length === 0 ? null : taints } },
      });
    }
    const podActions = ready === 'True' ? [] : markPodsNotReady(node, cache, ctx.nowMs);
    return {
      steps: steps({ execution: sequential, actions: condActions }, { execution: sequential, actions: taintActions }, { execution: { kind: 'parallel' }, actions: podActions }),
      ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
    };
  };
  return {
    name: 'node-lifecycle',
    primary: kinds.node,
    workers: 1,
    watches: [
      { kind: kinds.node, map: (e) => ({ enqueue: [{ key: nameOfEvent(e) }] }) },
      { kind: kinds.lease, map: (e) => mapLease(e) },
      // A pod that turns Ready on a node that is not (a status written before the node went silent).
      { kind: kinds.pod, indexers: { [nodeNameIndex]: indexByNodeName }, map: mapPodOnUnreadyNode },
    ],
    reconcile,
  };
}

/** Only a Ready pod on a node that is not Ready concerns the node (every other pod event is free). */
function mapPodOnUnreadyNode(e: WatchEvent, cache: CacheView): EventMapping {
  if (e.type === 'delete') return ignoreEvent;
  const pod = e.type === 'update' ? e.newObj : e.obj;
  const nodeName = nodeNameOf(pod);
  if (nodeName === '' || !conditionsOf(asRecord(pod['status']) ?? {}).some((c) => c.type === 'Ready' && c.status === 'True')) return ignoreEvent;
  const node = cache.get(kinds.node, nodeName);
  const nodeReady = node === undefined ? undefined : conditionsOf(asRecord(node['status']) ?? {}).find((c) => c.type === 'Ready')?.status;
  return node === undefined || nodeReady === 'True' ? ignoreEvent : { enqueue: [{ key: nodeName }] };
}

function nameOfEvent(e: WatchEvent): string {
  return nameOf(e.type === 'update' ? e.newObj : e.obj);
}

function mapLease(e: WatchEvent): EventMapping {
  const obj = e.type === 'update' ? e.newObj : e.obj;
  return obj.metadata?.namespace === nodeLeaseNamespace ? { enqueue: [{ key: nameOf(obj) }] } : ignoreEvent;
}

// ---------------------------------------------------------------------------------------------
// Taint eviction


export function reconcileTaintEviction(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const pod = cache.get(kinds.pod, key);
  if (pod === undefined || pod.metadata?.deletionTimestamp !== undefined) return noActions;
  const nodeName = nodeNameOf(pod);
  if (nodeName === '') return noActions;
  const node = cache.get(kinds.node, nodeName);
  if (node === undefined) return noActions;
  const noExecute = taintsOf(node).filter((t) => t.effect === 'NoExecute');
  if (noExecute.length === 0) return noActions;
  const min = minTolerationSeconds(tolerationsOf(pod), noExecute);
  if (min === Number.POSITIVE_INFINITY) return noActions;
  if (min !== undefined) {
    const added = Math.min(...noExecute.map((t) => parseRfc3339(t.timeAdded ?? '') ?? ctx.nowMs));
    const dueMs = added + min * 1000;
    if (ctx.nowMs < dueMs) return { steps: [], requeueAfterMs: dueMs - ctx.nowMs };
  }
  const now = formatRfc3339(ctx.nowMs);
  const status = asRecord(pod['status']) ?? {};
  const conds = asArray(status['conditions']).filter((c) => asRecord(c)?.['type'] !== 'DisruptionTarget');
  const marked = { ...deepClone(pod), status: { ...status, conditions: [...conds, { type: 'DisruptionTarget', status: 'True', lastTransitionTime: now, reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' }] } };
  return {
    steps: steps(
      { execution: sequential, actions: [{ type: 'event', event: { involvedObject: { apiVersion: 'v1', kind: 'Pod', name: nameOf(pod), namespace: pod.metadata?.namespace ?? '', uid: pod.metadata?.uid ?? '' }, type: 'Normal', reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${objectKey(pod)}` } }] },
      { execution: sequential, actions: [{ type: 'updateStatus', resource: kinds.pod, body: marked }] },
      { execution: sequential, actions: [{ type: 'delete', resource: kinds.pod, namespace: pod.metadata?.namespace, name: nameOf(pod), options: { preconditions: { uid: pod.metadata?.uid ?? '' } } }] },
    ),
  };
}

function mapNodeToPods(e: WatchEvent, cache: CacheView): EventMapping {
  if (e.type === 'delete') return ignoreEvent;
  const node = e.type === 'update' ? e.newObj : e.obj;
  if (taintsOf(node).every((t) => t.effect !== 'NoExecute')) return ignoreEvent;
  return { enqueue: cache.byIndex(kinds.pod, nodeNameIndex, nameOf(node)).map((p) => ({ key: objectKey(p) })) };
}

export const taintEvictionController: ControllerDefinition = {
  name: 'taint-eviction-controller',
  primary: kinds.pod,
  workers: 8,
  watches: [
    { kind: kinds.pod, indexers: { [nodeNameIndex]: indexByNodeName }, map: (e) => (e.type === 'delete' ? ignoreEvent : { enqueue: [{ key: objectKey(e.type === 'update' ? e.newObj : e.obj) }] }) },
    { kind: kinds.node, map: mapNodeToPods },
  ],
  reconcile: reconcileTaintEviction,
};
