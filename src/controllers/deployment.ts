/**
 * The Deployment controller (pkg/controller/deployment): ReplicaSets named by the pod template's
 * hash, RollingUpdate within maxSurge / maxUnavailable, Recreate, proportional scaling, pause,
 * revisions (a rollback is a template change that makes an old ReplicaSet new again, with its
 * old number kept in revision-history), revisionHistoryLimit, progressDeadlineSeconds and the
 * Progressing / Available / ReplicaFailure conditions.
 *
 * Upstream writes the new ReplicaSet's annotations, scales, and writes status in one sync with
 * several calls, re-using each reply. A pure core cannot see replies, so each reconcile writes an
 * object at most once and returns after the first kind of change (as upstream returns after
 * scaling); the watch of its own writes brings the next step. The Deployment's status write
 * carries its revision annotation (the status subresource keeps metadata changes).
 */
import {
  asNumber, asRecord, asString, controllerRefOf, deepClone, deepEqual, parseRfc3339,
  type JsonObject, type KubeObject,
} from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  canonicalJson, claimObjects, conditionsOf, controllerRefFor, controllerUidIndex, findCondition, fnv32a, ignoreEvent, indexByControllerUid,
  kinds, nameOf, newCondition, noActions, ownerKeysForDependent, removeCondition, resolveControllerRef, roundHalfAwayFromZero,
  safeEncodeString, scaledValue, sequential, setCondition, setNonZero, specSelector, steps,
  type ApiAction, type CacheView, type Condition, type ControllerDefinition, type EventMapping, type IntOrString,
  type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';
import { mapSelf, objectRef, specReplicas } from './replicaset.js';

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';
const podTemplateHashLabel = 'pod-template-hash';
/** Upstream maxRevHistoryLengthInChars. */
const maxRevisionHistoryChars = 2000;
const maxInt32 = 2_147_483_647;

const skipCopyAnnotations = new Set([
  'kubectl.kubernetes.io/last-applied-configuration', revisionAnnotation, revisionHistoryAnnotation,
  desiredReplicasAnnotation, maxReplicasAnnotation, 'deprecated.deployment.rollback.to',
]);

// ---------------------------------------------------------------------------------------------
// Hashing and templates

const encoder = new TextEncoder();

/**
 * controller.ComputeHash: FNV-1a 32 of the template (upstream hashes the Go struct's printed
 * form; here its canonical JSON), then the collision count's four little-endian bytes when set,
 * then the decimal value safe-encoded.
 */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  let h = fnv32a(encoder.encode(canonicalJson(template)));
  if (collisionCount !== undefined) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

function templateOf(obj: KubeObject): JsonObject {
  return asRecord(asRecord(obj['spec'])?.['template']) ?? {};
}

function withoutHashLabel(template: JsonObject): JsonObject {
  const t = deepClone(template);
  const labels = asRecord(asRecord(t['metadata'])?.['labels']);
  if (labels !== undefined) delete labels[podTemplateHashLabel];
  return t;
}

/** EqualIgnoreHash: templates equal but for the pod-template-hash label. */
export function equalIgnoreHash(a: JsonObject, b: JsonObject): boolean {
  return deepEqual(withoutHashLabel(a), withoutHashLabel(b));
}

// ---------------------------------------------------------------------------------------------
// Counting

const statusNum = (o: KubeObject, f: string) => asNumber(asRecord(o['status'])?.[f]) ?? 0;
const sumSpec = (rss: readonly KubeObject[]) => rss.reduce((n, r) => n + specReplicas(r), 0);
const sumStatus = (rss: readonly KubeObject[], f: string) => rss.reduce((n, r) => n + statusNum(r, f), 0);

function revisionOf(obj: KubeObject): number {
  const v = obj.metadata?.annotations?.[revisionAnnotation];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

function creationMs(o: KubeObject): number {
  const t = o.metadata?.creationTimestamp;
  return (typeof t === 'string' ? parseRfc3339(t) : undefined) ?? 0;
}

/** ReplicaSetsByCreationTimestamp: older first, then by name. */
function byCreation(a: KubeObject, b: KubeObject): number {
  const d = creationMs(a) - creationMs(b);
  return d !== 0 ? d : nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0;
}

function bySize(newerFirst: boolean) {
  return (a: KubeObject, b: KubeObject) => {
    const d = specReplicas(b) - specReplicas(a);
    if (d !== 0) return d;
    return newerFirst ? byCreation(b, a) : byCreation(a, b);
  };
}

// ---------------------------------------------------------------------------------------------
// Strategy

interface Strategy { readonly type: 'RollingUpdate' | 'Recreate'; readonly maxSurge: IntOrString; readonly maxUnavailable: IntOrString }

function strategyOf(d: KubeObject): Strategy {
  const s = asRecord(asRecord(d['spec'])?.['strategy']) ?? {};
  const ru = asRecord(s['rollingUpdate']) ?? {};
  const type = s['type'] === 'Recreate' ? 'Recreate' : 'RollingUpdate';
  const iv = (v: unknown): IntOrString => (typeof v === 'number' || typeof v === 'string' ? v : '25%');
  return { type, maxSurge: iv(ru['maxSurge']), maxUnavailable: iv(ru['maxUnavailable']) };
}

/** ResolveFenceposts: surge rounds up, unavailable down; both zero would deadlock, so unavailable becomes 1. */
export function resolveFenceposts(maxSurge: IntOrString, maxUnavailable: IntOrString, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge, desired, true) ?? 0;
  let unavailable = scaledValue(maxUnavailable, desired, false) ?? 0;
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurgeOf(d: KubeObject): number {
  const s = strategyOf(d);
  return s.type === 'RollingUpdate' ? resolveFenceposts(s.maxSurge, s.maxUnavailable, specReplicas(d)).surge : 0;
}

export function maxUnavailableOf(d: KubeObject): number {
  const s = strategyOf(d);
  const replicas = specReplicas(d);
  if (s.type !== 'RollingUpdate' || replicas === 0) return 0;
  return Math.min(resolveFenceposts(s.maxSurge, s.maxUnavailable, replicas).unavailable, replicas);
}

function progressDeadlineSeconds(d: KubeObject): number | undefined {
  const v = asNumber(asRecord(d['spec'])?.['progressDeadlineSeconds']);
  return v === undefined || v === maxInt32 ? undefined : v;
}

function isPaused(d: KubeObject): boolean {
  return asRecord(d['spec'])?.['paused'] === true;
}

function revisionHistoryLimit(d: KubeObject): number | undefined {
  return asNumber(asRecord(d['spec'])?.['revisionHistoryLimit']);
}

// ---------------------------------------------------------------------------------------------
// The plan of one reconcile

interface Plan {
  readonly d: KubeObject;
  readonly key: string;
  readonly nowMs: number;
  /** Replica counts decided for existing ReplicaSets (by name), applied as one update each. */
  readonly scales: Map<string, { rs: KubeObject; replicas: number }>;
  readonly creates: ApiAction[];
  readonly deletes: ApiAction[];
  readonly events: ApiAction[];
  /** Written with the status (the status subresource persists annotation changes). */
  revision: string | undefined;
  /** Conditions decided before status is computed (created / found the new ReplicaSet, paused). */
  preConditions: Condition[] | undefined;
}

function newPlan(d: KubeObject, key: string, nowMs: number): Plan {
  return { d, key, nowMs, scales: new Map(), creates: [], deletes: [], events: [], revision: undefined, preConditions: undefined };
}

function currentConditions(p: Plan): Condition[] {
  return p.preConditions ?? conditionsOf(asRecord(p.d['status']));
}

/** scaleReplicaSet: the size, plus the desired/max annotations the proportional scaler reads. */
function scale(p: Plan, rs: KubeObject, replicas: number): void {
  if (!(Number.isInteger(replicas) && replicas >= 0)) throw new Error(`scale ${nameOf(rs)} to ${replicas}: not a replica count`);
  p.scales.set(nameOf(rs), { rs, replicas });
}

function replicasAnnotations(d: KubeObject): Record<string, string> {
  return { [desiredReplicasAnnotation]: String(specReplicas(d)), [maxReplicasAnnotation]: String(specReplicas(d) + maxSurgeOf(d)) };
}

function scaleActions(p: Plan): ApiAction[] {
  const out: ApiAction[] = [];
  const want = replicasAnnotations(p.d);
  for (const { rs, replicas } of p.scales.values()) {
    const old = specReplicas(rs);
    const ann = rs.metadata?.annotations ?? {};
    const annotationsStale = Object.entries(want).some(([k, v]) => ann[k] !== v);
    if (old === replicas && !annotationsStale) continue;
    const body = deepClone(rs);
    (body['spec'] as JsonObject)['replicas'] = replicas;
    body.metadata = { ...body.metadata, annotations: { ...ann, ...want } };
    const op = replicas > old ? 'up' : 'down';
    out.push({
      type: 'update', resource: kinds.replicaSet, body,
      ...(old === replicas ? {} : {
        onSuccessEvent: { involvedObject: objectRef(p.d, kinds.deployment), type: 'Normal' as const, reason: 'ScalingReplicaSet', message: `Scaled ${op} replica set ${nameOf(rs)} from ${old} to ${replicas}` },
      }),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// New and old ReplicaSets, revisions

interface Family {
  readonly newRS: KubeObject | undefined;
  readonly oldRSs: readonly KubeObject[];
}

function splitFamily(d: KubeObject, rsList: readonly KubeObject[]): Family {
  const sorted = [...rsList].sort(byCreation);
  const tmpl = templateOf(d);
  const newRS = sorted.find((rs) => equalIgnoreHash(templateOf(rs), tmpl));
  return { newRS, oldRSs: sorted.filter((rs) => rs !== newRS) };
}

function nextRevision(oldRSs: readonly KubeObject[]): number {
  return oldRSs.reduce((m, r) => Math.max(m, revisionOf(r)), 0) + 1;
}

/** SetNewReplicaSetAnnotations on a copy: the annotations the new ReplicaSet should carry. */
function newReplicaSetAnnotations(d: KubeObject, rs: KubeObject | undefined, newRevision: number): Record<string, string> {
  const ann: Record<string, string> = { ...(rs?.metadata?.annotations ?? {}) };
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {})) if (!skipCopyAnnotations.has(k)) ann[k] = v;
  const oldRevision = ann[revisionAnnotation];
  const oldNum = oldRevision === undefined ? 0 : Number(oldRevision);
  if (oldRevision !== undefined && !Number.isInteger(oldNum)) return ann;
  if (oldNum < newRevision) {
    ann[revisionAnnotation] = String(newRevision);
    if (oldRevision !== undefined) {
      // A rollback: keep the numbers this template had before, within the length limit.
      const hist = ann[revisionHistoryAnnotation];
      if (hist === undefined || hist === '') ann[revisionHistoryAnnotation] = oldRevision;
      else {
        let parts = hist.split(',');
        let total = hist.length + oldRevision.length + 1;
        while (total > maxRevisionHistoryChars && parts.length > 0) {
          total -= parts[0]!.length + 1;
          parts = parts.slice(1);
        }
        if (total <= maxRevisionHistoryChars) ann[revisionHistoryAnnotation] = [...parts, oldRevision].join(',');
      }
    }
  }
  if (rs === undefined) Object.assign(ann, replicasAnnotations(d));
  return ann;
}

/**
 * getAllReplicaSetsAndSyncRevision for an existing new ReplicaSet: its annotations and
 * minReadySeconds follow the Deployment. Returns the update, if one is needed.
 */
function syncNewReplicaSet(p: Plan, fam: Family): ApiAction | undefined {
  const rs = fam.newRS;
  if (rs === undefined) return undefined;
  const ann = newReplicaSetAnnotations(p.d, rs, nextRevision(fam.oldRSs));
  const minReady = asNumber(asRecord(p.d['spec'])?.['minReadySeconds']) ?? 0;
  const rsMinReady = asNumber(asRecord(rs['spec'])?.['minReadySeconds']) ?? 0;
  p.revision = ann[revisionAnnotation];
  if (progressDeadlineSeconds(p.d) !== undefined && findCondition(currentConditions(p), 'Progressing') === undefined) {
    p.preConditions = setCondition(currentConditions(p), newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${nameOf(rs)}"`, p.nowMs, true));
  }
  if (deepEqual(ann, rs.metadata?.annotations ?? {}) && minReady === rsMinReady) return undefined;
  const body = deepClone(rs);
  body.metadata = { ...body.metadata, annotations: ann };
  const spec = body['spec'] as JsonObject;
  if (minReady === 0) delete spec['minReadySeconds'];
  else spec['minReadySeconds'] = minReady;
  return { type: 'update', resource: kinds.replicaSet, body };
}

/** NewRSNewReplicas. */
function newRSNewReplicas(d: KubeObject, allRSs: readonly KubeObject[], newRSReplicas: number): number {
  if (strategyOf(d).type === 'Recreate') return specReplicas(d);
  const maxTotal = specReplicas(d) + maxSurgeOf(d);
  const current = sumSpec(allRSs);
  if (current >= maxTotal) return newRSReplicas;
  return newRSReplicas + Math.min(maxTotal - current, specReplicas(d) - newRSReplicas);
}

/** Creates the new ReplicaSet (or, on a name collision, bumps status.collisionCount). */
function createNewReplicaSet(p: Plan, fam: Family, cache: CacheView): 'created' | 'collision' {
  const d = p.d;
  const status = asRecord(d['status']) ?? {};
  const collisionCount = asNumber(status['collisionCount']);
  const tmpl = templateOf(d);
  const hash = computeTemplateHash(tmpl, collisionCount);
  const name = `${nameOf(d)}-${hash}`;
  const ns = d.metadata?.namespace;
  const existing = cache.get(kinds.replicaSet, `${ns}/${name}`);
  if (existing !== undefined) {
    // Another template (or another owner) holds the name: hash again with a bumped count.
    return 'collision';
  }
  const template = deepClone(tmpl);
  const tm = (template['metadata'] = asRecord(template['metadata']) ?? {});
  const labels = { ...(asRecord(tm['labels']) as Record<string, string> | undefined ?? {}), [podTemplateHashLabel]: hash };
  tm['labels'] = labels;
  const selector = deepClone(asRecord(asRecord(d['spec'])?.['selector']) ?? {});
  selector['matchLabels'] = { ...(asRecord(selector['matchLabels']) ?? {}), [podTemplateHashLabel]: hash };
  const replicas = newRSNewReplicas(d, fam.oldRSs, 0);
  const revision = nextRevision(fam.oldRSs);
  const minReady = asNumber(asRecord(d['spec'])?.['minReadySeconds']) ?? 0;
  const body: KubeObject = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name, namespace: ns, labels: { ...labels }, annotations: newReplicaSetAnnotations(d, undefined, revision),
      ownerReferences: [controllerRefFor(d, kinds.deployment)],
    },
    spec: { replicas, ...(minReady === 0 ? {} : { minReadySeconds: minReady }), selector, template },
  };
  p.creates.push({
    type: 'create', resource: kinds.replicaSet, namespace: ns, body,
    onSuccessEvent: { involvedObject: objectRef(d, kinds.deployment), type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${name} from 0 to ${replicas}` },
  });
  p.revision = String(revision);
  if (progressDeadlineSeconds(d) !== undefined) {
    p.preConditions = setCondition(removeCondition(currentConditions(p), 'Progressing'),
      newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${name}"`, p.nowMs, true));
  }
  return 'created';
}

// ---------------------------------------------------------------------------------------------
// Status

function calculateStatus(p: Plan, allRSs: readonly KubeObject[], newRS: KubeObject | undefined): JsonObject {
  const d = p.d;
  const available = sumStatus(allRSs, 'availableReplicas');
  const unavailable = Math.max(0, sumSpec(allRSs) - available);
  const old = asRecord(d['status']) ?? {};
  const status: JsonObject = {};
  setNonZero(status, 'observedGeneration', d.metadata?.generation ?? 0);
  setNonZero(status, 'replicas', sumStatus(allRSs, 'replicas'));
  setNonZero(status, 'updatedReplicas', newRS === undefined ? 0 : statusNum(newRS, 'replicas'));
  setNonZero(status, 'readyReplicas', sumStatus(allRSs, 'readyReplicas'));
  setNonZero(status, 'availableReplicas', available);
  setNonZero(status, 'unavailableReplicas', unavailable);
  if (old['collisionCount'] !== undefined) status['collisionCount'] = old['collisionCount'];
  const minAvailable = available >= specReplicas(d) - maxUnavailableOf(d);
  status['conditions'] = setCondition(currentConditions(p), minAvailable
    ? newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', p.nowMs, true)
    : newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', p.nowMs, true));
  return status;
}

const num = (s: JsonObject, f: string) => asNumber(s[f]) ?? 0;

function deploymentComplete(d: KubeObject, s: JsonObject): boolean {
  const r = specReplicas(d);
  return num(s, 'updatedReplicas') === r && num(s, 'replicas') === r && num(s, 'availableReplicas') === r
    && num(s, 'observedGeneration') >= (d.metadata?.generation ?? 0);
}

function deploymentProgressing(d: KubeObject, s: JsonObject): boolean {
  const old = asRecord(d['status']) ?? {};
  return num(s, 'updatedReplicas') > num(old, 'updatedReplicas')
    || num(s, 'replicas') - num(s, 'updatedReplicas') < num(old, 'replicas') - num(old, 'updatedReplicas')
    || num(s, 'readyReplicas') > num(old, 'readyReplicas')
    || num(s, 'availableReplicas') > num(old, 'availableReplicas');
}

function deploymentTimedOut(d: KubeObject, s: JsonObject, nowMs: number): boolean {
  const deadline = progressDeadlineSeconds(d);
  if (deadline === undefined) return false;
  const c = findCondition(conditionsOf(s), 'Progressing');
  if (c === undefined || c.reason === 'NewReplicaSetAvailable') return false;
  if (c.reason === 'ProgressDeadlineExceeded') return true;
  const from = parseRfc3339(c.lastUpdateTime ?? '');
  return from !== undefined && from + deadline * 1000 < nowMs;
}

function replicaFailure(allRSs: readonly KubeObject[], newRS: KubeObject | undefined): Condition | undefined {
  const ordered = newRS === undefined ? allRSs : [newRS, ...allRSs.filter((r) => r !== newRS)];
  for (const rs of ordered) {
    const c = findCondition(conditionsOf(asRecord(rs['status'])), 'ReplicaFailure');
    if (c !== undefined && c.status === 'True') {
      return { type: 'ReplicaFailure', status: 'True', lastUpdateTime: c.lastTransitionTime ?? '', lastTransitionTime: c.lastTransitionTime ?? '', reason: c.reason ?? '', message: c.message ?? '' };
    }
  }
  return undefined;
}

/** syncRolloutStatus: status with the Progressing condition; the requeue that catches a stuck rollout. */
function rolloutStatus(p: Plan, allRSs: readonly KubeObject[], newRS: KubeObject | undefined): { status: JsonObject; requeueAfterMs?: number } {
  const d = p.d;
  const status = calculateStatus(p, allRSs, newRS);
  let conds = conditionsOf(status);
  const deadline = progressDeadlineSeconds(d);
  if (deadline === undefined) conds = removeCondition(conds, 'Progressing');
  const current = findCondition(conditionsOf(asRecord(d['status'])), 'Progressing');
  const isComplete = num(status, 'replicas') === num(status, 'updatedReplicas') && current?.reason === 'NewReplicaSetAvailable';
  const what = newRS === undefined ? `Deployment "${nameOf(d)}"` : `ReplicaSet "${nameOf(newRS)}"`;
  if (deadline !== undefined && !isComplete) {
    const withConds = { ...status, conditions: conds };
    if (deploymentComplete(d, withConds)) {
      conds = setCondition(conds, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `${what} has successfully progressed.`, p.nowMs, true));
    } else if (deploymentProgressing(d, withConds)) {
      let c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `${what} is progressing.`, p.nowMs, true);
      const cur = findCondition(conds, 'Progressing');
      if (cur !== undefined) {
        if (cur.status === 'True' && cur.lastTransitionTime !== undefined) c = { ...c, lastTransitionTime: cur.lastTransitionTime };
        conds = removeCondition(conds, 'Progressing');
      }
      conds = setCondition(conds, c);
    } else if (deploymentTimedOut(d, withConds, p.nowMs)) {
      conds = setCondition(conds, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `${what} has timed out progressing.`, p.nowMs, true));
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  conds = failure === undefined ? removeCondition(conds, 'ReplicaFailure') : setCondition(conds, failure);
  const out: JsonObject = { ...status, conditions: conds };
  if (!deepEqual(asRecord(d['status']) ?? {}, out)) return { status: out };
  // Unchanged: requeueStuckDeployment.
  const cur = findCondition(conditionsOf(asRecord(d['status'])), 'Progressing');
  if (deadline === undefined || cur === undefined || deploymentComplete(d, out) || cur.reason === 'ProgressDeadlineExceeded') return { status: out };
  const from = parseRfc3339(cur.lastUpdateTime ?? '') ?? p.nowMs;
  const afterMs = from + deadline * 1000 - p.nowMs;
  return { status: out, requeueAfterMs: afterMs < 1000 ? 1000 : afterMs + 1000 };
}

/** syncDeploymentStatus: counts and Available only (scaling, paused, deleting). */
function plainStatus(p: Plan, allRSs: readonly KubeObject[], newRS: KubeObject | undefined): JsonObject {
  return calculateStatus(p, allRSs, newRS);
}

function deploymentStatusWrite(p: Plan, status: JsonObject): ApiAction[] {
  const d = p.d;
  const ann = d.metadata?.annotations ?? {};
  const revisionStale = p.revision !== undefined && ann[revisionAnnotation] !== p.revision;
  if (!revisionStale && deepEqual(asRecord(d['status']) ?? {}, status)) return [];
  const body = deepClone(d);
  if (revisionStale) body.metadata = { ...body.metadata, annotations: { ...ann, [revisionAnnotation]: p.revision! } };
  body['status'] = status;
  return [{ type: 'updateStatus', resource: kinds.deployment, body }];
}

// ---------------------------------------------------------------------------------------------
// Strategies

function activeRSs(rss: readonly KubeObject[]): KubeObject[] {
  return rss.filter((r) => specReplicas(r) > 0);
}

/** reconcileNewReplicaSet. */
function reconcileNew(p: Plan, fam: Family): boolean {
  const d = p.d;
  const rs = fam.newRS;
  if (rs === undefined) return false;
  const cur = specReplicas(rs);
  if (cur === specReplicas(d)) return false;
  if (cur > specReplicas(d)) {
    scale(p, rs, specReplicas(d));
    return true;
  }
  const next = newRSNewReplicas(d, [...fam.oldRSs, rs], cur);
  if (next === cur) return false;
  scale(p, rs, next);
  return true;
}

/** reconcileOldReplicaSets: clean up unhealthy old replicas first, then scale down within maxUnavailable. */
function reconcileOld(p: Plan, fam: Family): boolean {
  const d = p.d;
  const oldPods = sumSpec(fam.oldRSs);
  if (oldPods === 0) return false;
  const all = fam.newRS === undefined ? fam.oldRSs : [...fam.oldRSs, fam.newRS];
  const allPods = sumSpec(all);
  const minAvailable = specReplicas(d) - maxUnavailableOf(d);
  const newUnavailable = fam.newRS === undefined ? 0 : specReplicas(fam.newRS) - statusNum(fam.newRS, 'availableReplicas');
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return false;
  const sized = new Map<KubeObject, number>(fam.oldRSs.map((r) => [r, specReplicas(r)]));
  // cleanupUnhealthyReplicas: old pods that are not available cost no availability to remove.
  let cleaned = 0;
  for (const rs of [...fam.oldRSs].sort(byCreation)) {
    if (cleaned >= maxScaledDown) break;
    const replicas = sized.get(rs)!;
    if (replicas === 0) continue;
    const available = statusNum(rs, 'availableReplicas');
    if (replicas === available) continue;
    const n = Math.min(maxScaledDown - cleaned, replicas - available);
    sized.set(rs, replicas - n);
    cleaned += n;
  }
  // scaleDownOldReplicaSetsForRollingUpdate: only as far as availability above minAvailable allows.
  const availableNow = sumStatus(all, 'availableReplicas');
  let scaledDown = 0;
  if (availableNow > minAvailable) {
    const total = availableNow - minAvailable;
    for (const rs of [...fam.oldRSs].sort(byCreation)) {
      if (scaledDown >= total) break;
      const replicas = sized.get(rs)!;
      if (replicas === 0) continue;
      const n = Math.min(replicas, total - scaledDown);
      sized.set(rs, replicas - n);
      scaledDown += n;
    }
  }
  let changed = false;
  for (const [rs, n] of sized) {
    if (n !== specReplicas(rs)) {
      scale(p, rs, n);
      changed = true;
    }
  }
  return changed;
}

/** cleanupDeployment: keep revisionHistoryLimit old ReplicaSets; delete the oldest revisions that are fully scaled down. */
function cleanup(p: Plan, fam: Family): void {
  const limit = revisionHistoryLimit(p.d);
  if (limit === undefined) return;
  const alive = fam.oldRSs.filter((r) => r.metadata?.deletionTimestamp === undefined);
  const diff = alive.length - limit;
  if (diff <= 0) return;
  const byRevision = [...alive].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
  for (const rs of byRevision.slice(0, diff)) {
    if (statusNum(rs, 'replicas') !== 0 || specReplicas(rs) !== 0 || (rs.metadata?.generation ?? 0) > statusNum(rs, 'observedGeneration')) continue;
    p.deletes.push({
      type: 'delete', resource: kinds.replicaSet, namespace: rs.metadata?.namespace, name: nameOf(rs),
      options: { preconditions: { uid: rs.metadata?.uid ?? '' } },
    });
  }
}

/** isScalingEvent: an active ReplicaSet was sized for another replica count. */
function isScalingEvent(d: KubeObject, fam: Family): boolean {
  const all = fam.newRS === undefined ? fam.oldRSs : [...fam.oldRSs, fam.newRS];
  return activeRSs(all).some((rs) => {
    const v = rs.metadata?.annotations?.[desiredReplicasAnnotation];
    return v !== undefined && Number(v) !== specReplicas(d);
  });
}

function isSaturated(d: KubeObject, rs: KubeObject | undefined): boolean {
  if (rs === undefined) return false;
  const desired = Number(rs.metadata?.annotations?.[desiredReplicasAnnotation] ?? 'NaN');
  return desired === specReplicas(d) && specReplicas(rs) === specReplicas(d) && statusNum(rs, 'availableReplicas') === specReplicas(d);
}

/** The controller's `scale`: one active set takes everything; otherwise proportional to each set's size. */
function proportionalScale(p: Plan, fam: Family): void {
  const d = p.d;
  const replicas = specReplicas(d);
  const active = activeRSs(fam.newRS === undefined ? fam.oldRSs : [...fam.oldRSs, fam.newRS]);
  // FindActiveOrLatest
  let target: KubeObject | undefined;
  if (active.length === 1) target = active[0];
  else if (active.length === 0) target = fam.newRS ?? [...fam.oldRSs].sort(byCreation).at(-1);
  if (active.length <= 1) {
    if (target !== undefined && specReplicas(target) !== replicas) scale(p, target, replicas);
    return;
  }
  if (isSaturated(d, fam.newRS)) {
    for (const rs of activeRSs(fam.oldRSs)) scale(p, rs, 0);
    return;
  }
  if (strategyOf(d).type !== 'RollingUpdate') return;
  const allowed = replicas > 0 ? replicas + maxSurgeOf(d) : 0;
  const toAdd = allowed - sumSpec(active);
  const ordered = toAdd > 0 ? [...active].sort(bySize(true)) : toAdd < 0 ? [...active].sort(bySize(false)) : active;
  let added = 0;
  const sizes = new Map<KubeObject, number>();
  for (const rs of ordered) {
    let proportion = 0;
    if (toAdd !== 0 && specReplicas(rs) !== 0 && toAdd !== added) {
      const fraction = replicaSetFraction(rs, d);
      const left = toAdd - added;
      proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    sizes.set(rs, specReplicas(rs) + proportion);
    added += proportion;
  }
  ordered.forEach((rs, i) => {
    let n = sizes.get(rs)!;
    if (i === 0 && toAdd !== 0) n = Math.max(0, n + toAdd - added);
    scale(p, rs, n);
  });
}

function replicaSetFraction(rs: KubeObject, d: KubeObject): number {
  if (specReplicas(d) === 0) return -specReplicas(rs);
  const deploymentReplicas = specReplicas(d) + maxSurgeOf(d);
  const annotated = Number(rs.metadata?.annotations?.[maxReplicasAnnotation] ?? 'NaN');
  const base = Number.isInteger(annotated) ? annotated : statusNum(d, 'replicas');
  if (base === 0) return 0;
  return roundHalfAwayFromZero((specReplicas(rs) * deploymentReplicas) / base) - specReplicas(rs);
}

function oldPodsRunning(fam: Family, cache: CacheView): boolean {
  if (sumStatus(fam.oldRSs, 'replicas') > 0) return true;
  for (const rs of fam.oldRSs) {
    const uid = rs.metadata?.uid;
    if (uid === undefined) continue;
    for (const pod of cache.byIndex(kinds.pod, controllerUidIndex, uid)) {
      const phase = asString(asRecord(pod['status'])?.['phase']);
      if (phase !== 'Succeeded' && phase !== 'Failed') return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// reconcile

export function reconcileDeployment(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const d = cache.get(kinds.deployment, key);
  if (d === undefined) return noActions;
  const p = newPlan(d, key, ctx.nowMs);
  const selector = specSelector(d);
  if (selector === 'nothing') return noActions;
  if (selector.length === 0) {
    // A selector of everything would adopt every ReplicaSet in the namespace: refuse, as upstream.
    const status = { ...(asRecord(d['status']) ?? {}) };
    const gen = d.metadata?.generation ?? 0;
    const write = num(status, 'observedGeneration') < gen ? deploymentStatusWrite(p, { ...status, observedGeneration: gen }) : [];
    return {
      steps: steps(
        { execution: sequential, actions: [{ type: 'event', event: { involvedObject: objectRef(d, kinds.deployment), type: 'Warning', reason: 'SelectingAll', message: 'This deployment is selecting all pods. A non-empty selector is required.' } }] },
        { execution: sequential, actions: write },
      ),
    };
  }
  const claim = claimObjects(d, kinds.deployment, kinds.replicaSet, cache.list(kinds.replicaSet, d.metadata?.namespace));
  // Adoption and release change the family: their watch events bring the next reconcile.
  if (claim.actions.length > 0) return { steps: steps({ execution: sequential, actions: claim.actions }) };
  const fam = splitFamily(d, claim.claimed);
  const all = () => (fam.newRS === undefined ? [...fam.oldRSs] : [...fam.oldRSs, fam.newRS]);

  if (d.metadata?.deletionTimestamp !== undefined) return finish(p, plainStatus(p, all(), fam.newRS));

  // checkPausedConditions
  if (progressDeadlineSeconds(d) !== undefined) {
    const cond = findCondition(currentConditions(p), 'Progressing');
    const pausedCond = cond?.reason === 'DeploymentPaused';
    let conds: Condition[] | undefined;
    if (isPaused(d) && !pausedCond) conds = setCondition(currentConditions(p), newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', ctx.nowMs, true));
    else if (!isPaused(d) && pausedCond) conds = setCondition(currentConditions(p), newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', ctx.nowMs, true));
    if (conds !== undefined) return finish(p, { ...(asRecord(d['status']) ?? {}), conditions: conds });
  }

  const syncRS = syncNewReplicaSet(p, fam);
  if (syncRS !== undefined) return { steps: steps({ execution: sequential, actions: [syncRS] }) };

  if (isPaused(d) || isScalingEvent(d, fam)) {
    proportionalScale(p, fam);
    if (isPaused(d)) cleanup(p, fam);
    return finish(p, plainStatus(p, all(), fam.newRS));
  }

  if (strategyOf(d).type === 'Recreate') {
    let scaledDown = false;
    for (const rs of activeRSs(fam.oldRSs)) { scale(p, rs, 0); scaledDown = true; }
    if (scaledDown || oldPodsRunning(fam, cache)) return finishRollout(p, fam, all());
    if (fam.newRS === undefined) {
      if (createNewReplicaSet(p, fam, cache) === 'collision') return collision(p);
      return finishRollout(p, fam, all());
    }
    if (specReplicas(fam.newRS) !== specReplicas(d)) scale(p, fam.newRS, specReplicas(d));
    else if (deploymentComplete(d, asRecord(d['status']) ?? {})) cleanup(p, fam);
    return finishRollout(p, fam, all());
  }

  // RollingUpdate
  if (fam.newRS === undefined) {
    if (createNewReplicaSet(p, fam, cache) === 'collision') return collision(p);
    return finishRollout(p, fam, all());
  }
  if (reconcileNew(p, fam)) return finishRollout(p, fam, all());
  if (reconcileOld(p, fam)) return finishRollout(p, fam, all());
  if (deploymentComplete(d, asRecord(d['status']) ?? {})) cleanup(p, fam);
  return finishRollout(p, fam, all());
}

function collision(p: Plan): ReconcileResult {
  const status = { ...(asRecord(p.d['status']) ?? {}) };
  status['collisionCount'] = num(status, 'collisionCount') + 1;
  return { steps: steps({ execution: sequential, actions: deploymentStatusWrite(p, status) }) };
}

function finishRollout(p: Plan, fam: Family, all: readonly KubeObject[]): ReconcileResult {
  const { status, requeueAfterMs } = rolloutStatus(p, all, fam.newRS);
  const r = finish(p, status);
  return requeueAfterMs === undefined ? r : { ...r, requeueAfterMs };
}

function finish(p: Plan, status: JsonObject): ReconcileResult {
  return {
    steps: steps(
      { execution: sequential, actions: p.creates },
      { execution: sequential, actions: scaleActions(p) },
      { execution: { kind: 'parallel' }, actions: p.deletes },
      { execution: sequential, actions: deploymentStatusWrite(p, status), always: true },
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Event handlers

function mapReplicaSetEvent(event: WatchEvent, cache: CacheView): EventMapping {
  switch (event.type) {
    case 'add':
    case 'delete':
      return { enqueue: ownerKeysForDependent(cache, kinds.deployment, event.obj).map((key) => ({ key })) };
    case 'update':
      if (event.oldObj.metadata?.resourceVersion === event.newObj.metadata?.resourceVersion) return ignoreEvent;
      return { enqueue: ownerKeysForDependent(cache, kinds.deployment, event.newObj, event.oldObj).map((key) => ({ key })) };
    default: {
      const never: never = event;
      throw new Error(`event ${String(never)}`);
    }
  }
}

/** A deleted pod may be the last old one a Recreate rollout waits for. */
function mapPodEvent(event: WatchEvent, cache: CacheView): EventMapping {
  if (event.type !== 'delete') return ignoreEvent;
  const rs = resolveControllerRef(cache, kinds.replicaSet, event.obj.metadata?.namespace, controllerRefOf(event.obj));
  if (rs === undefined) return ignoreEvent;
  const d = resolveControllerRef(cache, kinds.deployment, rs.metadata?.namespace, controllerRefOf(rs));
  if (d === undefined || strategyOf(d).type !== 'Recreate') return ignoreEvent;
  return { enqueue: [{ key: objectKey(d) }] };
}

export const deploymentController: ControllerDefinition = {
  name: 'deployment',
  primary: kinds.deployment,
  workers: 5,
  watches: [
    { kind: kinds.deployment, map: (e) => mapSelf(e) },
    { kind: kinds.replicaSet, indexers: { [controllerUidIndex]: indexByControllerUid }, map: mapReplicaSetEvent },
    { kind: kinds.pod, indexers: { [controllerUidIndex]: indexByControllerUid }, map: mapPodEvent },
  ],
  reconcile: reconcileDeployment,
};

