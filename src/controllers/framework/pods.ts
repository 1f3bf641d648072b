/**
 * Pod predicates as pkg/api/v1/pod and pkg/controller use them: readiness, availability with
 * minReadySeconds, activeness, and the ranking of which surplus pods to delete first.
 */
import { asArray, asNumber, asRecord, asString, parseRfc3339, type KubeObject } from '../../api/index.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export function podPhase(pod: KubeObject): PodPhase {
  const p = asString(asRecord(pod['status'])?.['phase']);
  return p === 'Running' || p === 'Succeeded' || p === 'Failed' || p === 'Unknown' ? p : 'Pending';
}

function podCondition(pod: KubeObject, type: string): Record<string, unknown> | undefined {
  return asArray(asRecord(pod['status'])?.['conditions']).map(asRecord).find((c) => c?.['type'] === type);
}

export function isPodReady(pod: KubeObject): boolean {
  return podCondition(pod, 'Ready')?.['status'] === 'True';
}

/** When the Ready condition last turned True (ms since epoch), if it is True. */
function podReadyTimeMs(pod: KubeObject): number | undefined {
  const c = podCondition(pod, 'Ready');
  if (c?.['status'] !== 'True') return undefined;
  const t = asString(c['lastTransitionTime']);
  return t === undefined ? undefined : parseRfc3339(t);
}

/** Ready for at least minReadySeconds (upstream: lastTransitionTime + minReadySeconds strictly before now). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const t = podReadyTimeMs(pod);
  return t !== undefined && t + minReadySeconds * 1000 < nowMs;
}

/** Not finished and not being deleted (controller.IsPodActive). */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && pod.metadata?.deletionTimestamp === undefined;
}

export function nodeNameOf(pod: KubeObject): string {
  return asString(asRecord(pod['spec'])?.['nodeName']) ?? '';
}

function maxRestarts(pod: KubeObject): number {
  let max = 0;
  for (const s of asArray(asRecord(pod['status'])?.['containerStatuses'])) max = Math.max(max, asNumber(asRecord(s)?.['restartCount']) ?? 0);
  return max;
}

function deletionCost(pod: KubeObject): number {
  const v = pod.metadata?.annotations?.['controller.kubernetes.io/pod-deletion-cost'];
  const n = v === undefined ? 0 : Number(v);
  return Number.isInteger(n) ? n : 0;
}

function creationMs(pod: KubeObject): number | undefined {
  const t = pod.metadata?.creationTimestamp;
  return typeof t === 'string' ? parseRfc3339(t) : undefined;
}

const phaseOrder: Readonly<Record<PodPhase, number>> = { Pending: 0, Unknown: 1, Running: 2, Succeeded: 3, Failed: 3 };

/**
 * -1 when age `a` (ms) is in a lower log2 bucket than `b` (LogarithmicScaleDown, on by default
 * since 1.22): pods that became ready (or were created) at similar times are treated alike, so
 * the uid breaks the tie and scale-down spreads instead of always taking the very newest.
 */
function logRankDiff(aMs: number, bMs: number, nowMs: number): number {
  const rank = (t: number) => {
    const d = (nowMs - t) * 1e6; // upstream measures in nanoseconds
    return d > 0 ? Math.floor(Math.log2(d)) : -1;
  };
  return rank(aMs) - rank(bMs);
}

/** Empty first, then later first (afterOrZero). */
function newerFirst(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined) return a === undefined ? (b === undefined ? 0 : -1) : 1;
  return b - a;
}

function compareTimes(a: number | undefined, b: number | undefined, nowMs: number | undefined, uidA: string, uidB: string): number {
  if (a === b) return 0;
  if (nowMs === undefined || a === undefined || b === undefined) return newerFirst(a, b);
  const diff = logRankDiff(a, b, nowMs);
  if (diff === 0) return uidA < uidB ? -1 : uidA > uidB ? 1 : 0;
  return diff;
}

/**
 * ActivePodsWithRanks.Less: negative when `a` should be deleted before `b`. `rank` is the number
 * of related active pods on the pod's node (doubled-up pods go first).
 */
function compareForDeletion(a: KubeObject, b: KubeObject, rank: (pod: KubeObject) => number, nowMs: number | undefined): number {
  // 1. Unassigned < assigned.
  const na = nodeNameOf(a) === '', nb = nodeNameOf(b) === '';
  if (na !== nb) return na ? -1 : 1;
  // 2. Pending < Unknown < Running.
  const pa = phaseOrder[podPhase(a)], pb = phaseOrder[podPhase(b)];
  if (pa !== pb) return pa - pb;
  // 3. Not ready < ready.
  const ra = isPodReady(a), rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. Lower pod-deletion-cost first.
  const ca = deletionCost(a), cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  // 5. More related pods on the same node first.
  const ka = rank(a), kb = rank(b);
  if (ka !== kb) return kb - ka;
  const uidA = a.metadata?.uid ?? '', uidB = b.metadata?.uid ?? '';
  // 6. Ready for less time first.
  if (ra && rb) {
    const c = compareTimes(podReadyTimeMs(a), podReadyTimeMs(b), nowMs, uidA, uidB);
    if (c !== 0) return c;
  }
  // 7. More container restarts first.
  const xa = maxRestarts(a), xb = maxRestarts(b);
  if (xa !== xb) return xb - xa;
  // 8. Newer first.
  return compareTimes(creationMs(a), creationMs(b), nowMs, uidA, uidB);
}

/**
 * The `count` pods to delete from `filtered` (the controller's active pods): ranked by how many
 * of `related` (active pods of the same owner family) share their node (getPodsToDelete).
 */
export function podsToDelete<T extends KubeObject>(filtered: readonly T[], related: readonly KubeObject[], count: number, nowMs: number): T[] {
  if (count >= filtered.length) return [...filtered];
  const perNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = nodeNameOf(p);
    perNode.set(n, (perNode.get(n) ?? 0) + 1);
  }
  const rank = (p: KubeObject) => (nodeNameOf(p) === '' ? 0 : perNode.get(nodeNameOf(p)) ?? 0);
  return [...filtered].sort((a, b) => compareForDeletion(a, b, rank, nowMs)).slice(0, count);
}
