/**
 * The Job controller (pkg/controller/job), NonIndexed completion mode: run up to `parallelism`
 * pods until `completions` succeed (or, without completions, until one succeeds and none is
 * active); count failures against `backoffLimit` with the upstream pod-recreation backoff
 * (10 s doubling, capped at 6 min); fail at `activeDeadlineSeconds`; suspend; conditions
 * Complete / Failed / Suspended; and, as the TTL-after-finished controller, delete a finished
 * Job `ttlSecondsAfterFinished` later.
 * Pods carry the `batch.kubernetes.io/job-tracking` finalizer: a finished pod's uid is first
 * written to status.uncountedTerminatedPods, then its finalizer removed, then it is counted, so
 * a pod deleted right after finishing is still counted exactly once.
 */
import { asArray, asNumber, asRecord, deepEqual, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  claimObjects, conditionsOf, controllerUidIndex, findCondition, indexByControllerUid, isPodActive, isPodReady, kinds, nameOf,
  newCondition, noActions, parallel, podPhase, podsToDelete, sequential, setCondition, setNonZero, steps,
  type ApiAction, type CacheView, type Condition, type ControllerDefinition, type ReconcileContext, type ReconcileResult,
} from './framework/index.js';
import { mapPodEventToOwners, mapSelf, objectRef, podFromTemplate } from './replicaset.js';

export const jobTrackingFinalizer = 'batch.kubernetes.io/job-tracking';
/** Upstream DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
const podFailureBackoffMs = 10_000;
const maxPodFailureBackoffMs = 360_000;
/** Pods created per sync (upstream MaxPodCreateDeletePerSync). */
const maxPodCreateDeletePerSync = 500;

const spec = (job: KubeObject) => asRecord(job['spec']) ?? {};
const num = (o: JsonObject, f: string) => asNumber(o[f]);

function isFinished(job: KubeObject): boolean {
  return conditionsOf(asRecord(job['status'])).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function finishTimeMs(job: KubeObject): number | undefined {
  const status = asRecord(job['status']) ?? {};
  const t = typeof status['completionTime'] === 'string' ? status['completionTime'] : conditionsOf(status).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.lastTransitionTime;
  return typeof t === 'string' ? parseRfc3339(t) : undefined;
}

const hasTracking = (p: KubeObject) => (p.metadata?.finalizers ?? []).includes(jobTrackingFinalizer);

/** Terminal for counting: Succeeded, Failed, or deleted before succeeding. */
function outcome(p: KubeObject): 'succeeded' | 'failed' | undefined {
  const phase = podPhase(p);
  if (phase === 'Succeeded') return 'succeeded';
  if (phase === 'Failed') return 'failed';
  return p.metadata?.deletionTimestamp !== undefined ? 'failed' : undefined;
}

function removeTrackingPatch(p: KubeObject): ApiAction {
  const list = p.metadata?.finalizers ?? [];
  return {
    type: 'patch', resource: kinds.pod, namespace: p.metadata?.namespace, name: nameOf(p), patchType: 'json',
    patch: [
      { op: 'test', path: '/metadata/uid', value: p.metadata?.uid },
      { op: 'test', path: '/metadata/finalizers', value: list },
      { op: 'replace', path: '/metadata/finalizers', value: list.filter((f) => f !== jobTrackingFinalizer) },
    ],
  };
}

function finishedTimeOf(p: KubeObject): number {
  for (const cs of asArray(asRecord(p['status'])?.['containerStatuses'])) {
    const t = asRecord(asRecord(asRecord(cs)?.['state'])?.['terminated'])?.['finishedAt'];
    if (typeof t === 'string') return parseRfc3339(t) ?? 0;
  }
  const c = asArray(asRecord(p['status'])?.['conditions']).map(asRecord).find((x) => x?.['type'] === 'Ready');
  return typeof c?.['lastTransitionTime'] === 'string' ? (parseRfc3339(c['lastTransitionTime']) ?? 0) : 0;
}

export function reconcileJob(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const job = cache.get(kinds.job, key);
  if (job === undefined) return noActions;
  const s = spec(job);
  const status: JsonObject = { ...(asRecord(job['status']) ?? {}) };
  const claim = claimObjects(job, kinds.job, kinds.pod, cache.list(kinds.pod, job.metadata?.namespace));
  const pods = claim.claimed;

  if (isFinished(job)) {
    // Left-over tracking finalizers go; then the TTL-after-finished controller's part.
    const release = pods.filter(hasTracking).map(removeTrackingPatch);
    const ttl = num(s, 'ttlSecondsAfterFinished');
    const finished = finishTimeMs(job);
    if (ttl === undefined || finished === undefined || job.metadata?.deletionTimestamp !== undefined) return { steps: steps({ execution: parallel, actions: release }) };
    const dueMs = finished + ttl * 1000;
    if (ctx.nowMs < dueMs) return { steps: steps({ execution: parallel, actions: release }), requeueAfterMs: dueMs - ctx.nowMs };
    return {
      steps: steps({ execution: parallel, actions: release }, {
        execution: sequential,
        actions: [{ type: 'delete', resource: kinds.job, namespace: job.metadata?.namespace, name: nameOf(job), options: { preconditions: { uid: job.metadata?.uid ?? '' }, propagationPolicy: 'Foreground' } }],
      }),
    };
  }

  // Counting: uncounted uids whose pods lost the finalizer (or vanished) move into the totals.
  const uncounted = asRecord(status['uncountedTerminatedPods']) ?? {};
  const uncSucceeded = new Set(asArray(uncounted['succeeded']).map(String));
  const uncFailed = new Set(asArray(uncounted['failed']).map(String));
  const byUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
  let succeeded = num(status, 'succeeded') ?? 0;
  let failed = num(status, 'failed') ?? 0;
  for (const [set, add] of [[uncSucceeded, () => succeeded++], [uncFailed, () => failed++]] as const) {
    for (const uid of [...set]) {
      const p = byUid.get(uid);
      if (p === undefined || !hasTracking(p)) { set.delete(uid); add(); }
    }
  }
  const finalizerRemovals: ApiAction[] = [];
  for (const p of pods) {
    const o = outcome(p);
    const uid = p.metadata?.uid ?? '';
    if (o === undefined || !hasTracking(p)) continue;
    (o === 'succeeded' ? uncSucceeded : uncFailed).add(uid);
    finalizerRemovals.push(removeTrackingPatch(p));
  }
  const totalSucceeded = succeeded + uncSucceeded.size;
  const totalFailed = failed + uncFailed.size;
  const active = pods.filter(isPodActive);

  if (status['startTime'] === undefined && s['suspend'] !== true) status['startTime'] = formatRfc3339(ctx.nowMs);
  const startMs = typeof status['startTime'] === 'string' ? parseRfc3339(status['startTime']) : undefined;
  const completions = num(s, 'completions');
  const parallelism = num(s, 'parallelism') ?? 1;
  const backoffLimit = num(s, 'backoffLimit') ?? 6;
  const deadline = num(s, 'activeDeadlineSeconds');
  let conds: Condition[] = conditionsOf(status);
  const ref = objectRef(job, kinds.job);
  const events: ApiAction[] = [];
  let failure: { reason: string; message: string } | undefined;
  if (totalFailed > backoffLimit) failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  else if (deadline !== undefined && startMs !== undefined && ctx.nowMs >= startMs + deadline * 1000) failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  const complete = failure === undefined && (completions === undefined ? totalSucceeded > 0 && active.length === 0 : totalSucceeded >= completions);

  let creates: ApiAction[] = [];
  let deletes: KubeObject[] = [];
  let requeueAfterMs: number | undefined;
  let expectations: ReconcileResult['expectations'];
  const satisfied = ctx.expectations.satisfied(key, ctx.nowMs);
  if (failure !== undefined) {
    deletes = active;
    conds = setCondition(conds, withProbe(newCondition('Failed', 'True', failure.reason, failure.message, ctx.nowMs, false)));
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: failure.reason, message: failure.message } });
  } else if (complete) {
    deletes = active;
    conds = setCondition(conds, withProbe(newCondition('Complete', 'True', '', '', ctx.nowMs, false)));
    status['completionTime'] = formatRfc3339(ctx.nowMs);
    events.push({ type: 'event', event: { involvedObject: ref, type: 'Normal', reason: 'Completed', message: 'Job completed' } });
  } else if (s['suspend'] === true) {
    deletes = active;
    conds = setCondition(conds, withProbe(newCondition('Suspended', 'True', 'JobSuspended', 'Job suspended', ctx.nowMs, false)));
  } else if (satisfied) {
    if (findCondition(conds, 'Suspended')?.status === 'True') conds = setCondition(conds, withProbe(newCondition('Suspended', 'False', 'JobResumed', 'Job resumed', ctx.nowMs, false)));
    const want = completions === undefined ? (totalSucceeded > 0 ? 0 : parallelism) : Math.max(0, Math.min(parallelism, completions - totalSucceeded));
    if (active.length > want) deletes = podsToDelete(active, active, active.length - want, ctx.nowMs);
    else if (active.length < want) {
      // Re-creating after failures waits 10 s · 2^(failures-1), from the last failure.
      const lastFailure = Math.max(0, ...pods.filter((p) => outcome(p) === 'failed').map(finishedTimeOf));
      const backoffMs = totalFailed === 0 ? 0 : Math.min(maxPodFailureBackoffMs, podFailureBackoffMs * 2 ** (totalFailed - 1));
      const waitMs = lastFailure + backoffMs - ctx.nowMs;
      if (totalFailed > 0 && waitMs > 0) requeueAfterMs = waitMs;
      else {
        const n = Math.min(want - active.length, maxPodCreateDeletePerSync);
        const body = podFromTemplate(job, kinds.job, `${nameOf(job)}-`);
        body.metadata = { ...body.metadata, finalizers: [...(body.metadata?.finalizers ?? []), jobTrackingFinalizer] };
        creates = Array.from({ length: n }, () => ({
          type: 'create' as const, resource: kinds.pod, namespace: job.metadata?.namespace, body,
          onFailure: { kind: 'creation' as const, controllerKey: key },
          onSuccessEvent: { involvedObject: ref, type: 'Normal' as const, reason: 'SuccessfulCreate', message: 'Created pod: {name}' },
        }));
        expectations = { controllerKey: key, adds: n, deleteKeys: [] };
      }
    }
    if (deadline !== undefined && startMs !== undefined) {
      const left = startMs + deadline * 1000 - ctx.nowMs;
      requeueAfterMs = requeueAfterMs === undefined ? left : Math.min(requeueAfterMs, left);
    }
  }
  if (deletes.length > 0) expectations = { controllerKey: key, adds: expectations?.adds ?? 0, deleteKeys: deletes.map((p) => objectKey(p)) };

  // Status: in the upstream field order; zero counts omitted as Go does.
  const next: JsonObject = {};
  if (conds.length > 0) next['conditions'] = conds;
  if (status['startTime'] !== undefined) next['startTime'] = status['startTime'];
  if (status['completionTime'] !== undefined) next['completionTime'] = status['completionTime'];
  setNonZero(next, 'active', active.length - deletes.filter(isPodActive).length);
  setNonZero(next, 'succeeded', succeeded);
  setNonZero(next, 'failed', failed);
  next['ready'] = active.filter(isPodReady).length;
  next['uncountedTerminatedPods'] = {
    ...(uncSucceeded.size > 0 ? { succeeded: [...uncSucceeded].sort() } : {}), ...(uncFailed.size > 0 ? { failed: [...uncFailed].sort() } : {}),
  };
  // A finished Job is counted in full: nothing may stay uncounted once Complete or Failed is set.
  const finishing = failure !== undefined || complete;
  const statusActions: ApiAction[] = [];
  const changed = !deepEqual(next, asRecord(job['status']) ?? {});
  if (finishing && (uncSucceeded.size > 0 || uncFailed.size > 0)) {
    // Count first (remove finalizers), finish on a later pass.
    const counting: JsonObject = { ...next };
    const before = conditionsOf(asRecord(job['status']));
    if (before.length > 0) counting['conditions'] = before;
    else delete counting['conditions'];
    delete counting['completionTime'];
    statusActions.push({ type: 'updateStatus', resource: kinds.job, body: { ...job, status: counting } });
    return {
      steps: steps({ execution: sequential, actions: claim.actions }, { execution: sequential, actions: statusActions }, { execution: parallel, actions: finalizerRemovals }),
    };
  }
  if (changed) statusActions.push({ type: 'updateStatus', resource: kinds.job, body: { ...job, status: next } });
  const deleteActions: ApiAction[] = deletes.map((p) => ({
    type: 'delete', resource: kinds.pod, namespace: p.metadata?.namespace, name: nameOf(p),
    options: { preconditions: { uid: p.metadata?.uid ?? '' } }, onFailure: { kind: 'deletion', controllerKey: key, objectKey: objectKey(p) },
  }));
  return {
    steps: steps(
      { execution: sequential, actions: claim.actions },
      // The uncounted uids are recorded before any finalizer is removed (upstream's ordering).
      { execution: sequential, actions: statusActions },
      { execution: parallel, actions: finalizerRemovals },
      { execution: { kind: 'slowStart', initialBatch: 1 }, actions: creates },
      { execution: parallel, actions: deleteActions },
      { execution: sequential, actions: finishing ? events : [] },
    ),
    ...(expectations === undefined ? {} : { expectations }),
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs: Math.max(1, requeueAfterMs) }),
  };
}

/** Job conditions carry lastProbeTime as well as lastTransitionTime. */
function withProbe(c: Condition): Condition {
  return { type: c.type, status: c.status, lastProbeTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, ...(c.reason === '' ? {} : { reason: c.reason }), ...(c.message === '' ? {} : { message: c.message }) };
}

export const jobController: ControllerDefinition = {
  name: 'job',
  primary: kinds.job,
  workers: 5,
  watches: [
    { kind: kinds.job, map: (e) => mapSelf(e) },
    { kind: kinds.pod, indexers: { [controllerUidIndex]: indexByControllerUid }, map: (e, cache) => mapPodEventToOwners(kinds.job, e, cache, () => 0) },
  ],
  reconcile: reconcileJob,
};
