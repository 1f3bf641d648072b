/**
 * Chaos Mesh's Schedule controller (its cron, active and gc controllers in one pure core): at each
 * time of spec.schedule — a cron line (UTC, minute resolution) or `@every <duration>` — a chaos of
 * spec.type (PodChaos or NetworkChaos) is created from spec.podChaos or spec.networkChaos, owned by
 * the Schedule and labelled `managed-by: <schedule>`.
 * concurrencyPolicy Forbid (the default) skips a time while a spawned chaos is unfinished (a
 * Warning, and the spawn happens once it finishes); Allow does not wait. A time missed by more
 * than startingDeadlineSeconds is skipped. status.active lists the unfinished children and
 * status.lastScheduleTime the last spawn; finished children beyond historyLimit (default 1) are
 * deleted, oldest first. Paused (annotation experiment.chaos-mesh.org/pause: "true"): no spawns.
 * A child is named after its scheduled time (`<schedule>-<unix seconds>`), so a retried spawn finds
 * its earlier attempt instead of creating a second chaos for the same time.
 */
import { asNumber, asRecord, asString, deepClone, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject } from '../../api/index.js';
import { mostRecentTime, nextTime, parseCron } from '../cron.js';
import {
  controllerRefFor, controllerUidIndex, indexByControllerUid, nameOf, noActions, ownerKeysForDependent, parallel, sequential, statusUpdate, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from '../framework/index.js';
import { mapSelf, objectRef } from '../replicaset.js';
import { chaosMeshKinds } from './crds.js';
import { parseGoDurationMs } from './duration.js';
import { isNetworkChaosFinished } from './networkchaos.js';
import { isPodChaosFinished } from './podchaos.js';
import { pauseAnnotation } from './records.js';

/** The shortest `@every` accepted: a schedule firing faster would only flood the API. */
const everyMsMin = 1_000;

type Timing = { readonly ok: true; readonly mostRecentMs: number | undefined; readonly nextMs: number | undefined } | { readonly ok: false; readonly error: string };

/** The latest schedule time in (lastMs, nowMs] (undefined: none) and the one after nowMs. */
export function scheduleTimes(schedule: string, lastMs: number, nowMs: number): Timing {
  const every = /^@every\s+(\S+)$/.exec(schedule.trim());
  if (every !== null) {
    const periodMs = parseGoDurationMs(every[1]!);
    if (periodMs === undefined || periodMs < everyMsMin) return { ok: false, error: `@every needs a duration of at least 1s such as 30s or 1m, got ${JSON.stringify(every[1])}` };
    const due = Math.floor((nowMs - lastMs) / periodMs);
    return { ok: true, mostRecentMs: due >= 1 ? lastMs + due * periodMs : undefined, nextMs: lastMs + (Math.max(due, 0) + 1) * periodMs };
  }
  let cron;
  try {
    cron = parseCron(schedule);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  return { ok: true, mostRecentMs: mostRecentTime(cron, lastMs, nowMs).timeMs, nextMs: nextTime(cron, nowMs) };
}

/** The kinds a Schedule spawns: the spec field it copies, and when a child counts as finished. */
const childKinds = {
  PodChaos: { kind: chaosMeshKinds.podChaos, field: 'podChaos', finished: isPodChaosFinished },
  NetworkChaos: { kind: chaosMeshKinds.networkChaos, field: 'networkChaos', finished: isNetworkChaosFinished },
} as const;

function childRef(c: KubeObject): JsonObject {
  return { apiVersion: c.apiVersion, kind: c.kind, name: c.metadata?.name, namespace: c.metadata?.namespace, uid: c.metadata?.uid, resourceVersion: c.metadata?.resourceVersion };
}

export function reconcileSchedule(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const schedule = cache.get(chaosMeshKinds.schedule, key);
  if (schedule === undefined || schedule.metadata?.deletionTimestamp !== undefined) return noActions;
  const meta = schedule.metadata ?? {};
  const spec = asRecord(schedule['spec']) ?? {};
  const ref = objectRef(schedule, chaosMeshKinds.schedule);
  const event = (type: 'Normal' | 'Warning', reason: string, message: string): ApiAction => ({ type: 'event', event: { involvedObject: ref, type, reason, message } });
  const child = Object.hasOwn(childKinds, asString(spec['type']) ?? '') ? childKinds[spec['type'] as keyof typeof childKinds] : undefined;
  const children = (child === undefined ? [] : cache.byIndex(child.kind, controllerUidIndex, meta.uid ?? ''))
    .filter((c) => c.metadata?.deletionTimestamp === undefined)
    .sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)) || nameOf(a).localeCompare(nameOf(b)));
  const active = children.filter((c) => !child!.finished(c));
  const finished = children.filter((c) => child!.finished(c));
  const status: JsonObject = { ...(asRecord(schedule['status']) ?? {}) };
  if (active.length > 0) status['active'] = active.map(childRef);
  else delete status['active'];

  const historyLimit = asNumber(spec['historyLimit']) ?? 1;
  const cleanup: ApiAction[] = finished.slice(0, Math.max(0, finished.length - historyLimit)).map((c) => ({
    type: 'delete', resource: child!.kind, namespace: c.metadata?.namespace, name: nameOf(c), options: { preconditions: { uid: c.metadata?.uid ?? '' } },
  }));
  const events: ApiAction[] = [];
  const spawn: ApiAction[] = [];
  const finish = (requeueAfterMs?: number): ReconcileResult => ({
    steps: steps(
      { execution: sequential, actions: spawn },
      { execution: sequential, actions: statusUpdate(chaosMeshKinds.schedule, schedule, status) },
      { execution: parallel, actions: cleanup },
      { execution: sequential, actions: events },
    ),
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs: Math.max(1, requeueAfterMs) }),
  });

  if (child === undefined) {
    events.push(event('Warning', 'Failed', `type ${JSON.stringify(spec['type'])} is not supported: ${Object.keys(childKinds).join(' or ')}`));
    return finish();
  }
  if (meta.annotations?.[pauseAnnotation] === 'true') return finish();
  const lastMs = parseRfc3339(asString(status['lastScheduleTime']) ?? '') ?? parseRfc3339(meta.creationTimestamp ?? '') ?? ctx.nowMs;
  const times = scheduleTimes(asString(spec['schedule']) ?? '', lastMs, ctx.nowMs);
  if (!times.ok) {
    events.push(event('Warning', 'Failed', `Failed to get run time: ${times.error}`));
    return finish();
  }
  const untilNext = times.nextMs === undefined ? undefined : times.nextMs - ctx.nowMs;
  if (times.mostRecentMs === undefined) return finish(untilNext);
  const deadlineS = asNumber(spec['startingDeadlineSeconds']);
  if (deadlineS !== undefined && times.mostRecentMs + deadlineS * 1_000 < ctx.nowMs) {
    events.push(event('Warning', 'MissSchedule', `Missed scheduled time to start a job: ${formatRfc3339(times.mostRecentMs)}`));
    status['lastScheduleTime'] = formatRfc3339(times.mostRecentMs);
    return finish(untilNext);
  }
  if ((asString(spec['concurrencyPolicy']) ?? 'Forbid') === 'Forbid' && active.length > 0) {
    events.push(event('Warning', 'Forbid', `Forbid spawning new job because: ${nameOf(active[0]!)} is still running`));
    // Spawned as soon as the running one finishes (its status change maps here).
    return finish();
  }
  const name = `${meta.name}-${Math.floor(times.mostRecentMs / 1_000)}`;
  if (cache.get(child.kind, `${meta.namespace}/${name}`) === undefined) {
    const body: KubeObject = {
      apiVersion: child.kind.apiVersion, kind: child.kind.kind,
      metadata: { name, namespace: meta.namespace, labels: { 'managed-by': meta.name ?? '' }, ownerReferences: [controllerRefFor(schedule, chaosMeshKinds.schedule)] },
      spec: deepClone(asRecord(spec[child.field]) ?? {}),
    };
    spawn.push({ type: 'create', resource: child.kind, namespace: meta.namespace, body, onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'Created', message: 'Create new object: {name}' } });
  }
  status['lastScheduleTime'] = formatRfc3339(ctx.nowMs);
  return finish(untilNext);
}

export const scheduleController: ControllerDefinition = {
  name: 'chaos-mesh-schedule',
  primary: chaosMeshKinds.schedule,
  workers: 1,
  watches: [
    { kind: chaosMeshKinds.schedule, map: mapSelf },
    ...Object.values(childKinds).map(({ kind }) => ({
      kind, indexers: { [controllerUidIndex]: indexByControllerUid },
      map: (e: WatchEvent, cache: CacheView) => ({ enqueue: (e.type === 'update' ? ownerKeysForDependent(cache, chaosMeshKinds.schedule, e.newObj, e.oldObj) : ownerKeysForDependent(cache, chaosMeshKinds.schedule, e.obj)).map((key) => ({ key })) }),
    })),
  ],
  reconcile: reconcileSchedule,
};
