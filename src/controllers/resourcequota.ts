/**
 * The resourcequota controller (pkg/controller/resourcequota): keeps each quota's `status.hard`
 * equal to `spec.hard` and recounts `status.used` from the objects in its namespace. Admission
 * only ever adds usage (so two apiservers cannot both admit past the limit); this recount is what
 * releases it — on deletions, pods turning terminal, a changed `spec.hard`, and every resync.
 * Like upstream, an admitted create does not trigger a recount (the charge is already there).
 */
import {
  asRecord, formatResourceList, isRecord, type JsonObject, type KubeObject, objectUsage, type Quantity, quotaResourceMatches, quotaTracksObject,
  graceRemainingSeconds, deepEqual, lookupKind,
} from '../api/index.js';
import {
  ignoreEvent, kinds, noActions, sequential, statusUpdate, steps,
  type CacheView, type ControllerDefinition, type EventMapping, type KindRef, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

/** Upstream's --resource-quota-sync-period: a full recount even without events. */
const quotaResyncMs = 5 * 60_000;

/** The kinds whose usage the controller recounts; group and resource come from the API's resource table. */
const tracked: ReadonlyArray<{ readonly kind: KindRef; readonly group: string; readonly resource: string }> = [
  kinds.pod, kinds.service, kinds.configMap, kinds.secret, kinds.persistentVolumeClaim, kinds.resourceQuota,
  kinds.deployment, kinds.replicaSet, kinds.statefulSet, kinds.daemonSet, kinds.job, kinds.cronJob,
].map((kind) => {
  const info = lookupKind(kind.apiVersion, kind.kind);
  if (info === undefined) throw new Error(`resourcequota: ${kind.apiVersion} ${kind.kind} is not a served kind`);
  return { kind, group: info.group, resource: info.resource };
});

/** A pod whose graceful deletion has run out no longer counts (upstream QuotaV1Pod). */
function counted(obj: KubeObject, nowMs: number): boolean {
  if (obj.kind !== 'Pod' || obj.metadata?.deletionTimestamp === undefined) return true;
  const remaining = graceRemainingSeconds(obj, nowMs);
  return remaining === undefined || remaining > 0;
}

/** Usage of every quota resource `hard` names that a tracked kind can use; others keep their recorded value. */
function computeQuotaUsage(namespace: string, quotaSpec: JsonObject, hard: readonly string[], cache: CacheView, nowMs: number): Map<string, Quantity | undefined> {
  const used = new Map<string, Quantity | undefined>();
  for (const name of hard) {
    const sources = tracked.filter((t) => quotaResourceMatches(t.group, t.resource, name));
    if (sources.length === 0) {
      used.set(name, undefined);
      continue;
    }
    let total: Quantity = { nanos: 0n, format: 'DecimalSI' };
    for (const t of sources) {
      for (const obj of cache.list(t.kind, namespace)) {
        if (!counted(obj, nowMs) || !quotaTracksObject(quotaSpec, t.group, t.resource, obj)) continue;
        const u = objectUsage(t.group, t.resource, obj).get(name);
        if (u !== undefined) total = { nanos: total.nanos + u.nanos, format: total.nanos === 0n ? u.format : total.format };
      }
    }
    used.set(name, total);
  }
  return used;
}

export function reconcileResourceQuota(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const quota = cache.get(kinds.resourceQuota, key);
  if (quota === undefined) return noActions;
  const namespace = quota.metadata?.namespace ?? '';
  const hard = asRecord(asRecord(quota['spec'])?.['hard']) ?? {};
  const status = asRecord(quota['status']) ?? {};
  const recorded = asRecord(status['used']) ?? {};
  const usage = computeQuotaUsage(namespace, asRecord(quota['spec']) ?? {}, Object.keys(hard), cache, ctx.nowMs);
  const known = new Map([...usage].filter((e): e is [string, Quantity] => e[1] !== undefined));
  const used: JsonObject = { ...formatResourceList(known) };
  // A resource no tracked kind can use (count/<x> of another kind): admission's charges stand.
  for (const [name, q] of usage) if (q === undefined) used[name] = recorded[name] ?? '0';
  const next: JsonObject = { hard: { ...hard }, used: sortKeys(used) };
  const current: JsonObject = { hard: asRecord(status['hard']) ?? {}, used: recorded };
  const actions = deepEqual(current, next) ? [] : statusUpdate(kinds.resourceQuota, quota, { ...status, ...next });
  return { steps: steps({ execution: sequential, actions }), requeueAfterMs: quotaResyncMs };
}

function sortKeys(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

function quotaKeysIn(namespace: string, cache: CacheView): EventMapping {
  return { enqueue: cache.list(kinds.resourceQuota, namespace).map((q) => ({ key: `${namespace}/${q.metadata?.name ?? ''}` })) };
}

/** Upstream's updateQuota: recount when added, or when spec.hard no longer matches status.hard. */
function mapQuota(event: WatchEvent, cache: CacheView): EventMapping {
  // The others in the namespace may count quotas (count/resourcequotas).
  if (event.type === 'delete') return quotaKeysIn(event.obj.metadata?.namespace ?? '', cache);
  const obj = event.type === 'update' ? event.newObj : event.obj;
  const key = { key: `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}` };
  if (event.type === 'add') return { enqueue: [key] };
  const hard = asRecord(obj['spec'])?.['hard'];
  const statusHard = asRecord(obj['status'])?.['hard'];
  return deepEqual(isRecord(hard) ? hard : {}, isRecord(statusHard) ? statusHard : {}) ? ignoreEvent : { enqueue: [key] };
}

/**
 * Replenishment: a deletion, or an update that lowers what the object uses (a pod turning
 * Succeeded / Failed, a Service losing its node ports). Creates were charged by admission.
 */
function mapTracked(group: string, resource: string) {
  return (event: WatchEvent, cache: CacheView): EventMapping => {
    switch (event.type) {
      case 'add': return ignoreEvent;
      case 'delete': return quotaKeysIn(event.obj.metadata?.namespace ?? '', cache);
      case 'update': {
        const before = objectUsage(group, resource, event.oldObj);
        const after = objectUsage(group, resource, event.newObj);
        const lowered = [...before].some(([k, q]) => (after.get(k)?.nanos ?? 0n) < q.nanos);
        const terminating = event.oldObj.metadata?.deletionTimestamp === undefined && event.newObj.metadata?.deletionTimestamp !== undefined;
        return lowered || terminating ? quotaKeysIn(event.newObj.metadata?.namespace ?? '', cache) : ignoreEvent;
      }
      default: {
        const never: never = event;
        throw new Error(`watch event ${JSON.stringify(never)}`);
      }
    }
  };
}

export const resourceQuotaController: ControllerDefinition = {
  name: 'resourcequota',
  primary: kinds.resourceQuota,
  workers: 5,
  watches: [
    { kind: kinds.resourceQuota, map: (e, cache) => mapQuota(e, cache) },
    ...tracked.filter((t) => t.kind !== kinds.resourceQuota).map((t) => ({ kind: t.kind, map: mapTracked(t.group, t.resource) })),
  ],
  reconcile: reconcileResourceQuota,
};
