/**
 * The CronJob controller (pkg/controller/cronjob, v2): at each schedule time create a Job named
 * `<cronjob>-<scheduled unix minutes>` from jobTemplate, honouring concurrencyPolicy (Allow,
 * Forbid: skip while one runs, Replace: delete the running ones first), startingDeadlineSeconds
 * (a start that is too late is missed), suspend, and the history limits for finished Jobs.
 * status.active follows the owned running Jobs; lastScheduleTime and lastSuccessfulTime as
 * upstream. The schedule is UTC (spec.timeZone other than UTC / Etc/UTC is reported, not applied).
 * Time is the profile's clock: ctx.nowMs.
 */
import { asNumber, asRecord, asString, controllerRefOf, deepClone, deepEqual, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import { mostRecentTime, nextTime, parseCron } from './cron.js';
import {
  conditionsOf, controllerRefFor, controllerUidIndex, ignoreEvent, indexByControllerUid, kinds, nameOf, noActions, resolveControllerRef,
  sequential, statusUpdate, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';
import { mapSelf, objectRef } from './replicaset.js';

const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** More missed start times than this earns a warning (upstream: 100). */
const tooManyMissed = 100;
/** A small delay past the schedule time, as upstream's nextScheduleTimeDuration adds. */
const requeueSlackMs = 100;

function jobFinished(job: KubeObject): 'Complete' | 'Failed' | undefined {
  for (const c of conditionsOf(asRecord(job['status']))) if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  return undefined;
}

function jobRef(job: KubeObject): JsonObject {
  return { kind: 'Job', namespace: job.metadata?.namespace, name: job.metadata?.name, uid: job.metadata?.uid, apiVersion: 'batch/v1', resourceVersion: job.metadata?.resourceVersion };
}

export function reconcileCronJob(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const cj = cache.get(kinds.cronJob, key);
  if (cj === undefined || cj.metadata?.deletionTimestamp !== undefined) return noActions;
  const spec = asRecord(cj['spec']) ?? {};
  const status: JsonObject = { ...(asRecord(cj['status']) ?? {}) };
  const ref = objectRef(cj, kinds.cronJob);
  const uid = cj.metadata?.uid ?? '';
  const jobs = cache.byIndex(kinds.job, controllerUidIndex, uid);
  const running = jobs.filter((j) => jobFinished(j) === undefined && j.metadata?.deletionTimestamp === undefined);
  const events: ApiAction[] = [];

  // status.active: exactly the owned Jobs still running (upstream drops finished and vanished ones, adopts missing ones).
  const active = running.map(jobRef).sort((a, b) => String(a['name']).localeCompare(String(b['name'])));
  if (active.length > 0) status['active'] = active;
  else delete status['active'];
  const lastSuccess = Math.max(-Infinity, ...jobs.filter((j) => jobFinished(j) === 'Complete').map((j) => parseRfc3339(asString(asRecord(j['status'])?.['completionTime']) ?? '') ?? -Infinity));
  if (Number.isFinite(lastSuccess)) {
    const prev = parseRfc3339(asString(status['lastSuccessfulTime']) ?? '') ?? -Infinity;
    if (lastSuccess > prev) status['lastSuccessfulTime'] = formatRfc3339(lastSuccess);
  }

  // History limits: the oldest finished Jobs beyond them go (background: their pods follow).
  const cleanup: ApiAction[] = [];
  for (const [kind, limit] of [['Complete', asNumber(spec['successfulJobsHistoryLimit']) ?? 3], ['Failed', asNumber(spec['failedJobsHistoryLimit']) ?? 1]] as const) {
    const done = jobs.filter((j) => jobFinished(j) === kind && j.metadata?.deletionTimestamp === undefined)
      .sort((a, b) => String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)));
    for (const j of done.slice(0, Math.max(0, done.length - limit))) {
      cleanup.push({ type: 'delete', resource: kinds.job, namespace: j.metadata?.namespace, name: nameOf(j), options: { preconditions: { uid: j.metadata?.uid ?? '' }, propagationPolicy: 'Background' } });
    }
  }
  const finish = (actions: ApiAction[], requeueAfterMs?: number): ReconcileResult => ({
    steps: steps(
      { execution: sequential, actions },
      { execution: sequential, actions: statusUpdate(kinds.cronJob, cj, status), always: true },
      { execution: { kind: 'parallel' }, actions: cleanup },
      { execution: sequential, actions: events },
    ),
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs: Math.max(1, requeueAfterMs) }),
  });

  const tz = asString(spec['timeZone']);
  if (tz !== undefined && tz !== 'UTC' && tz !== 'Etc/UTC') {
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'UnknownTimeZone', message: `invalid timeZone: "${tz}": only UTC is supported` } });
    return finish([]);
  }
  let schedule;
  try {
    schedule = parseCron(asString(spec['schedule']) ?? '');
  } catch (e) {
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'UnparseableSchedule', message: `unparseable schedule: ${JSON.stringify(spec['schedule'])} : ${(e as Error).message}` } });
    return finish([]);
  }
  if (spec['suspend'] === true) return finish([]);

  const since = parseRfc3339(asString(status['lastScheduleTime']) ?? '') ?? parseRfc3339(String(cj.metadata?.creationTimestamp ?? '')) ?? ctx.nowMs;
  const { timeMs: scheduled, missed } = mostRecentTime(schedule, since, ctx.nowMs);
  const next = nextTime(schedule, ctx.nowMs);
  const requeue = next === undefined ? undefined : next - ctx.nowMs + requeueSlackMs;
  if (scheduled === undefined) return finish([], requeue);
  if (missed > tooManyMissed) {
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'TooManyMissedTimes', message: 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew' } });
  }
  const deadline = asNumber(spec['startingDeadlineSeconds']);
  if (deadline !== undefined && scheduled + deadline * 1000 < ctx.nowMs) {
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'MissSchedule', message: `Missed scheduled time to start a job: ${formatRfc3339(scheduled)}` } });
    return finish([], requeue);
  }
  const name = `${nameOf(cj)}-${Math.floor(scheduled / 60_000)}`;
  if (jobs.some((j) => nameOf(j) === name) || cache.get(kinds.job, `${cj.metadata?.namespace}/${name}`) !== undefined) {
    // Already started (the status write may have been lost): just record it.
    status['lastScheduleTime'] = formatRfc3339(scheduled);
    return finish([], requeue);
  }
  const policy = asString(spec['concurrencyPolicy']) ?? 'Allow';
  const actions: ApiAction[] = [];
  if (policy === 'Forbid' && running.length > 0) {
    // Upstream leaves lastScheduleTime alone, so the start happens once the running Job ends (if still in the deadline).
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Normal', reason: 'JobAlreadyActive', message: 'Not starting job because prior execution is running and concurrency policy is Forbid' } });
    return finish([], requeue);
  }
  if (policy === 'Replace') {
    for (const j of running) {
      actions.push({
        type: 'delete', resource: kinds.job, namespace: j.metadata?.namespace, name: nameOf(j), options: { preconditions: { uid: j.metadata?.uid ?? '' }, propagationPolicy: 'Background' },
        onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted job ${nameOf(j)}` },
      });
    }
  }
  const template = asRecord(spec['jobTemplate']) ?? {};
  const tm = asRecord(template['metadata']) ?? {};
  const body: KubeObject = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: {
      name, namespace: cj.metadata?.namespace,
      ...(tm['labels'] === undefined ? {} : { labels: deepClone(tm['labels']) as Record<string, string> }),
      annotations: { ...((asRecord(tm['annotations']) as Record<string, string> | undefined) ?? {}), [scheduledTimestampAnnotation]: formatRfc3339(scheduled) },
      ownerReferences: [controllerRefFor(cj, kinds.cronJob)],
    },
    spec: deepClone(asRecord(template['spec']) ?? {}),
  };
  actions.push({ type: 'create', resource: kinds.job, namespace: cj.metadata?.namespace, body, onSuccessEvent: { involvedObject: ref, type: 'Normal', reason: 'SuccessfulCreate', message: `Created job ${name}` } });
  status['lastScheduleTime'] = formatRfc3339(scheduled);
  // The status write comes after the create (upstream's order): a failed create is retried, not skipped.
  return {
    steps: steps(
      { execution: sequential, actions },
      { execution: sequential, actions: deepEqual(status, asRecord(cj['status']) ?? {}) ? [] : [{ type: 'updateStatus', resource: kinds.cronJob, body: { ...deepClone(cj), status } }] },
      { execution: { kind: 'parallel' }, actions: cleanup, always: true },
      { execution: sequential, actions: events, always: true },
    ),
    ...(requeue === undefined ? {} : { requeueAfterMs: Math.max(1, requeue) }),
  };
}

function mapJob(e: WatchEvent, cache: CacheView): EventMapping {
  const job = e.type === 'update' ? e.newObj : e.obj;
  const owner = resolveControllerRef(cache, kinds.cronJob, job.metadata?.namespace, controllerRefOf(job));
  return owner === undefined ? ignoreEvent : { enqueue: [{ key: objectKey(owner) }] };
}

export const cronJobController: ControllerDefinition = {
  name: 'cronjob',
  primary: kinds.cronJob,
  workers: 5,
  watches: [
    { kind: kinds.cronJob, map: (e) => mapSelf(e) },
    { kind: kinds.job, indexers: { [controllerUidIndex]: indexByControllerUid }, map: mapJob },
  ],
  reconcile: reconcileCronJob,
};
