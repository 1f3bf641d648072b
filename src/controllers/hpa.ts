/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2, pkg/controller/podautoscaler): every
 * sync it reads the target's scale (a Deployment, ReplicaSet or StatefulSet), the pods its
 * selector picks and their usage from metrics.k8s.io PodMetrics, computes the replicas each
 * Resource metric proposes (replica_calculator.go: utilization of requests or an average value,
 * the 10% tolerance, missing and unready pods rebalanced as upstream does), takes the largest,
 * then applies min/max, the stabilization windows and the rate policies of spec.behavior, and
 * writes the target's scale subresource and the HPA's status.
 *
 * Like upstream, the recommendation and scale-event history behind the windows and policies
 * lives in the controller's memory (this definition instance), so a new leader starts afresh.
 */
import {
  asArray, asRecord, asString, deepClone, formatRfc3339, parseQuantityValue, quantityMilliValue, type JsonObject, type KubeObject,
} from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  conditionsOf, isPodReady, kinds, labelSelectorFromObjectReqs, newCondition, noActions, sequential, setCondition, statusUpdate, steps,
  type ApiAction, type CacheView, type Condition, type ControllerDefinition, type KindRef, type ReconcileContext, type ReconcileResult,
} from './framework/index.js';
import { specReplicas } from './replicaset.js';

export interface HpaConfig {
  /** --horizontal-pod-autoscaler-sync-period (upstream 15 s). */
  readonly syncPeriodMs: number;
  /** --horizontal-pod-autoscaler-tolerance (upstream 0.1). */
  readonly tolerance: number;
  /** Default scale-down stabilization when spec.behavior does not say (upstream 300 s). */
  readonly downscaleStabilizationMs: number;
}

export const kubernetesHpa: HpaConfig = { syncPeriodMs: 15_000, tolerance: 0.1, downscaleStabilizationMs: 300_000 };

const podMetricsKind: KindRef = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' };
const scaleTargets: Readonly<Record<string, KindRef>> = { Deployment: kinds.deployment, ReplicaSet: kinds.replicaSet, StatefulSet: kinds.statefulSet };
/** Entries kept per HPA for windows and policies (far more than any window needs at one sync a second). */
const maxHistory = 1_000;

type Proposal = { readonly replicas: number; readonly metric: JsonObject } | { readonly error: string };

interface Policy { readonly type: 'Pods' | 'Percent'; readonly value: number; readonly periodSeconds: number }
interface Rules { readonly windowMs: number; readonly policies: readonly Policy[]; readonly select: 'Max' | 'Min' | 'Disabled' }

/** metrics.k8s.io usage of `resource` per pod name, in milli-units. */
function usageByPod(cache: CacheView, namespace: string, resource: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of cache.list(podMetricsKind, namespace)) {
    let total = 0;
    for (const c of asArray(m['containers'])) {
      const q = parseQuantityValue(asRecord(asRecord(c)?.['usage'])?.[resource]);
      if (q.ok) total += Number(quantityMilliValue(q.quantity));
    }
    out.set(m.metadata?.name ?? '', total);
  }
  return out;
}

/** The pod's summed container requests of `resource` (milli), or undefined when a container has none. */
function podRequest(pod: KubeObject, resource: string): number | undefined {
  let total = 0;
  for (const c of asArray(asRecord(pod['spec'])?.['containers'])) {
    const q = parseQuantityValue(asRecord(asRecord(asRecord(c)?.['resources'])?.['requests'])?.[resource]);
    if (!q.ok) return undefined;
    total += Number(quantityMilliValue(q.quantity));
  }
  return total;
}

interface Grouped { readonly ready: number; readonly unready: string[]; readonly missing: string[]; readonly metrics: Map<string, number> }

/** groupPods: deleted and failed pods are ignored, pending (and for cpu not-ready) ones unready, ones without metrics missing. */
function groupPods(pods: readonly KubeObject[], usage: ReadonlyMap<string, number>, resource: string): Grouped {
  const metrics = new Map<string, number>();
  const unready: string[] = [];
  const missing: string[] = [];
  let ready = 0;
  for (const p of pods) {
    const name = p.metadata?.name ?? '';
    const phase = asString(asRecord(p['status'])?.['phase']);
    if (p.metadata?.deletionTimestamp !== undefined || phase === 'Failed') continue;
    if (phase === 'Pending' || phase === undefined) { unready.push(name); continue; }
    const value = usage.get(name);
    if (value === undefined) { missing.push(name); continue; }
    if (resource === 'cpu' && !isPodReady(p)) { unready.push(name); continue; }
    metrics.set(name, value);
    ready++;
  }
  return { ready, unready, missing, metrics };
}

/** GetResourceReplicas / GetRawResourceReplicas: replicas for a utilization (percent of requests) or average-value target. */
function resourceReplicas(current: number, pods: readonly KubeObject[], usage: ReadonlyMap<string, number>, resource: string,
  target: { readonly utilization?: number; readonly averageMilli?: number }, tolerance: number): { replicas: number; value: number } | { error: string } {
  if (pods.length === 0) return { error: 'no pods returned by selector while calculating replica count' };
  const requests = new Map<string, number>();
  for (const p of pods) {
    const r = podRequest(p, resource);
    if (target.utilization !== undefined && (r === undefined || r === 0)) return { error: `missing request for ${resource} in pod ${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}` };
    requests.set(p.metadata?.name ?? '', r ?? 0);
  }
  const g = groupPods(pods, usage, resource);
  if (g.metrics.size === 0) return { error: 'did not receive metrics for targeted pods (pods might be unready)' };
  const ratioOf = (m: ReadonlyMap<string, number>): { ratio: number; value: number } => {
    let used = 0; let requested = 0;
    for (const [name, v] of m) { used += v; requested += requests.get(name) ?? 0; }
    if (target.utilization !== undefined) {
      const utilization = Math.trunc((used * 100) / requested);
      return { ratio: utilization / target.utilization, value: utilization };
    }
    const average = used / m.size;
    return { ratio: average / target.averageMilli!, value: Math.round(average) };
  };
  const first = ratioOf(g.metrics);
  const scaleUpWithUnready = g.unready.length > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return { replicas: current, value: first.value };
    return { replicas: Math.ceil(first.ratio * g.ready), value: first.value };
  }
  // Rebalance: missing pods count as using exactly their request when scaling down and nothing when scaling up; unready as nothing.
  const m = new Map(g.metrics);
  for (const name of g.missing) m.set(name, first.ratio < 1 ? (target.utilization !== undefined ? requests.get(name) ?? 0 : target.averageMilli!) : 0);
  if (scaleUpWithUnready) for (const name of g.unready) m.set(name, 0);
  const again = ratioOf(m);
  if (Math.abs(1 - again.ratio) <= tolerance || (first.ratio < 1 && again.ratio > 1) || (first.ratio > 1 && again.ratio < 1)) return { replicas: current, value: first.value };
  const replicas = Math.ceil(again.ratio * m.size);
  if ((again.ratio < 1 && replicas > current) || (again.ratio > 1 && replicas < current)) return { replicas: current, value: first.value };
  return { replicas, value: first.value };
}

function proposalOf(metric: JsonObject, current: number, pods: readonly KubeObject[], cache: CacheView, namespace: string, tolerance: number): Proposal {
  if (metric['type'] !== 'Resource') return { error: `metric type ${String(metric['type'])} is not supported yet (only Resource)` };
  const res = asRecord(metric['resource']) ?? {};
  const name = asString(res['name']) ?? '';
  const target = asRecord(res['target']) ?? {};
  const usage = usageByPod(cache, namespace, name);
  const averageValue = parseQuantityValue(target['averageValue']);
  const spec = target['type'] === 'Utilization' && typeof target['averageUtilization'] === 'number'
    ? { utilization: target['averageUtilization'] }
    : target['type'] === 'AverageValue' && averageValue.ok ? { averageMilli: Number(quantityMilliValue(averageValue.quantity)) } : undefined;
  if (spec === undefined) return { error: `metric ${name}: target must be Utilization with averageUtilization or AverageValue with averageValue` };
  const r = resourceReplicas(current, pods, usage, name, spec, tolerance);
  if ('error' in r) return { error: `failed to get ${name} utilization: ${r.error}` };
  const currentValue = spec.utilization !== undefined
    ? { averageUtilization: r.value, averageValue: `${Math.round([...usage.values()].reduce((a, b) => a + b, 0) / Math.max(1, usage.size))}m` }
    : { averageValue: `${r.value}m` };
  return { replicas: r.replicas, metric: { type: 'Resource', resource: { name, current: currentValue } } };
}

function rulesOf(behavior: JsonObject | undefined, direction: 'scaleUp' | 'scaleDown', config: HpaConfig): Rules {
  const b = asRecord(behavior?.[direction]);
  const defaults: Rules = direction === 'scaleUp'
    ? { windowMs: 0, select: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] }
    : { windowMs: config.downscaleStabilizationMs, select: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };
  if (b === undefined) return defaults;
  const window = b['stabilizationWindowSeconds'];
  const policies = asArray(b['policies']).map(asRecord).filter((p): p is JsonObject => p !== undefined)
    .map((p) => ({ type: p['type'] === 'Pods' ? 'Pods' : 'Percent', value: Number(p['value'] ?? 0), periodSeconds: Number(p['periodSeconds'] ?? 15) }) as Policy);
  const select = b['selectPolicy'] === 'Min' || b['selectPolicy'] === 'Disabled' ? b['selectPolicy'] : 'Max';
  return { windowMs: typeof window === 'number' ? window * 1000 : defaults.windowMs, policies: policies.length > 0 ? policies : defaults.policies, select };
}

interface Memory {
  readonly recommendations: Array<{ readonly atMs: number; readonly replicas: number }>;
  readonly events: Array<{ readonly atMs: number; readonly delta: number }>;
}

const remember = <T>(list: T[], item: T): void => {
  list.push(item);
  if (list.length > maxHistory) list.shift();
};

/** normalizeDesiredReplicasWithBehaviors: stabilization (the extreme recommendation of the window), then the rate policies. */
function withBehavior(mem: Memory, current: number, proposed: number, min: number, max: number, behavior: JsonObject | undefined,
  config: HpaConfig, nowMs: number): { replicas: number; limited?: string } {
  const up = rulesOf(behavior, 'scaleUp', config);
  const down = rulesOf(behavior, 'scaleDown', config);
  remember(mem.recommendations, { atMs: nowMs, replicas: proposed });
  const inWindow = (windowMs: number) => mem.recommendations.filter((r) => r.atMs > nowMs - windowMs || r.atMs === nowMs).map((r) => r.replicas);
  let stabilized = current;
  const upCandidates = inWindow(up.windowMs);
  const downCandidates = inWindow(down.windowMs);
  const upMin = Math.min(...upCandidates);
  const downMax = Math.max(...downCandidates);
  if (upMin > current) stabilized = upMin;
  else if (downMax < current) stabilized = downMax;
  let limited: string | undefined;
  let desired = stabilized;
  if (desired > current) desired = Math.min(desired, limitUp(mem, current, up, nowMs) ?? desired);
  if (desired < current) desired = Math.max(desired, limitDown(mem, current, down, nowMs) ?? desired);
  if (desired !== stabilized) limited = desired > current ? 'ScaleUpLimit' : 'ScaleDownLimit';
  if (desired > max) { desired = max; limited = 'TooManyReplicas'; }
  if (desired < min) { desired = min; limited = 'TooFewReplicas'; }
  return { replicas: desired, ...(limited === undefined ? {} : { limited }) };
}

function periodChange(mem: Memory, periodSeconds: number, nowMs: number, sign: 1 | -1): number {
  return mem.events.filter((e) => e.atMs > nowMs - periodSeconds * 1000 && Math.sign(e.delta) === sign).reduce((a, e) => a + Math.abs(e.delta), 0);
}

function limitUp(mem: Memory, current: number, rules: Rules, nowMs: number): number | undefined {
  if (rules.select === 'Disabled') return current;
  const limits = rules.policies.map((p) => {
    const start = current - periodChange(mem, p.periodSeconds, nowMs, 1);
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  return rules.select === 'Min' ? Math.min(...limits) : Math.max(...limits);
}

function limitDown(mem: Memory, current: number, rules: Rules, nowMs: number): number | undefined {
  if (rules.select === 'Disabled') return current;
  const limits = rules.policies.map((p) => {
    const start = current + periodChange(mem, p.periodSeconds, nowMs, -1);
    return p.type === 'Pods' ? start - p.value : Math.ceil(start * (1 - p.value / 100));
  });
  return rules.select === 'Min' ? Math.max(...limits) : Math.min(...limits);
}

function condition(conds: Condition[], type: string, ok: boolean, reason: string, message: string, nowMs: number): Condition[] {
  return setCondition(conds, newCondition(type, ok ? 'True' : 'False', reason, message, nowMs, false));
}

export function hpaController(config: HpaConfig = kubernetesHpa): ControllerDefinition {
  const memory = new Map<string, Memory>();
  const memoryOf = (key: string): Memory => {
    let m = memory.get(key);
    if (m === undefined) memory.set(key, (m = { recommendations: [], events: [] }));
    return m;
  };

  const reconcile = (key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult => {
    const hpa = cache.get(kinds.hpa, key);
    if (hpa === undefined) {
      memory.delete(key);
      return noActions;
    }
    const namespace = hpa.metadata?.namespace ?? '';
    const spec = asRecord(hpa['spec']) ?? {};
    const ref = asRecord(spec['scaleTargetRef']) ?? {};
    const targetKind = scaleTargets[asString(ref['kind']) ?? ''];
    const target = targetKind === undefined ? undefined : cache.get(targetKind, `${namespace}/${asString(ref['name']) ?? ''}`);
    const old = asRecord(hpa['status']) ?? {};
    let conds = conditionsOf(old);
    const status: JsonObject = { ...deepClone(old), observedGeneration: hpa.metadata?.generation ?? 0 };
    const requeue = { requeueAfterMs: config.syncPeriodMs };
    const finish = (actions: ApiAction[]): ReconcileResult => ({
      steps: steps({ execution: sequential, actions }, { execution: sequential, always: true, actions: statusUpdate(kinds.hpa, hpa, { ...status, conditions: conds }) }),
      ...requeue,
    });
    if (targetKind === undefined || target === undefined) {
      conds = condition(conds, 'AbleToScale', false, 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${String(ref['kind'])} ${String(ref['name'])} not found`, ctx.nowMs);
      return finish([]);
    }
    const current = specReplicas(target);
    status['currentReplicas'] = asRecord(target['status'])?.['replicas'] ?? current;
    conds = condition(conds, 'AbleToScale', true, 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale', ctx.nowMs);
    if (current === 0) {
      status['desiredReplicas'] = 0;
      conds = condition(conds, 'ScalingActive', false, 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero', ctx.nowMs);
      return finish([]);
    }
    const sel = labelSelectorFromObjectReqs(asRecord(target['spec'])?.['selector']);
    const pods = sel === undefined ? [] : cache.list(kinds.pod, namespace, sel);
    const proposals = asArray(spec['metrics']).map(asRecord).filter((m): m is JsonObject => m !== undefined)
      .map((m) => proposalOf(m, current, pods, cache, namespace, config.tolerance));
    const good = proposals.filter((p): p is Extract<Proposal, { replicas: number }> => 'replicas' in p);
    const errors = proposals.filter((p): p is Extract<Proposal, { error: string }> => 'error' in p);
    if (good.length === 0) {
      conds = condition(conds, 'ScalingActive', false, 'FailedGetResourceMetric', errors.map((e) => e.error).join('; ') || 'no metrics', ctx.nowMs);
      return finish([]);
    }
    conds = condition(conds, 'ScalingActive', true, 'ValidMetricFound', 'the HPA was able to successfully calculate a replica count', ctx.nowMs);
    status['currentMetrics'] = good.map((p) => p.metric);
    const proposed = Math.max(...good.map((p) => p.replicas));
    const min = typeof spec['minReplicas'] === 'number' ? spec['minReplicas'] : 1;
    const max = typeof spec['maxReplicas'] === 'number' ? spec['maxReplicas'] : current;
    const mem = memoryOf(key);
    const decided = withBehavior(mem, current, proposed, min, max, asRecord(spec['behavior']), config, ctx.nowMs);
    conds = decided.limited === undefined
      ? condition(conds, 'ScalingLimited', false, 'DesiredWithinRange', 'the desired count is within the acceptable range', ctx.nowMs)
      : condition(conds, 'ScalingLimited', true, decided.limited, `the desired replica count is limited (${decided.limited})`, ctx.nowMs);
    status['desiredReplicas'] = decided.replicas;
    if (decided.replicas === current) return finish([]);
    // Remembered when decided, not when written: a failed write is retried next sync with this history (a small overcount).
    remember(mem.events, { atMs: ctx.nowMs, delta: decided.replicas - current });
    status['lastScaleTime'] = formatRfc3339(ctx.nowMs);
    conds = condition(conds, 'AbleToScale', true, 'SucceededRescale', `the HPA controller was able to update the target scale to ${decided.replicas}`, ctx.nowMs);
    const scale: ApiAction = {
      type: 'patch', resource: targetKind, namespace, name: target.metadata?.name ?? '', patchType: 'merge',
      patch: { spec: { replicas: decided.replicas } }, subresource: 'scale',
      onSuccessEvent: {
        involvedObject: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace, name: hpa.metadata?.name ?? '', ...(hpa.metadata?.uid ? { uid: hpa.metadata.uid } : {}) },
        type: 'Normal', reason: 'SuccessfulRescale', message: `New size: ${decided.replicas}; reason: ${decided.replicas > current ? 'cpu resource utilization (percentage of request) above target' : 'All metrics below target'}`,
      },
    };
    return finish([scale]);
  };

  const byTarget = (e: Parameters<ControllerDefinition['watches'][number]['map']>[0], cache: CacheView) => {
    const obj = e.type === 'update' ? e.newObj : e.obj;
    const ns = obj.metadata?.namespace;
    return { enqueue: cache.list(kinds.hpa, ns).map((h) => ({ key: objectKey(h) })) };
  };

  return {
    name: 'horizontalpodautoscaling',
    primary: kinds.hpa,
    workers: 5,
    watches: [
      { kind: kinds.hpa, map: (e) => ({ enqueue: [{ key: objectKey(e.type === 'update' ? e.newObj : e.obj) }] }) },
      { kind: kinds.deployment, map: byTarget },
      { kind: kinds.replicaSet, map: byTarget },
      { kind: kinds.statefulSet, map: byTarget },
      // Pods and metrics change all the time: the HPA looks every sync period instead (requeueAfterMs), like upstream.
      { kind: kinds.pod, map: () => ({ enqueue: [] }) },
      { kind: podMetricsKind, map: () => ({ enqueue: [] }) },
    ],
    reconcile,
  };
}
