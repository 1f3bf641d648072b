/** Building status writes and conditions without mutating cached objects. */
import { asArray, asRecord, deepClone, deepEqual, formatRfc3339, type JsonObject, type KubeObject } from '../../api/index.js';
import type { ApiAction, KindRef } from './types.js';

/** An updateStatus of `obj` with `status`, or nothing when the status is unchanged. */
export function statusUpdate(kind: KindRef, obj: KubeObject, status: JsonObject): ApiAction[] {
  if (deepEqual(asRecord(obj['status']) ?? {}, status)) return [];
  const body = deepClone(obj) as KubeObject;
  body['status'] = status;
  return [{ type: 'updateStatus', resource: kind, body }];
}

export interface Condition extends JsonObject {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export function conditionsOf(status: JsonObject | undefined): Condition[] {
  return asArray(status?.['conditions']).map(asRecord).filter((c): c is JsonObject => c !== undefined) as Condition[];
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

/**
 * SetCondition as the workload controllers do it: same status and reason keeps the existing
 * entry (and its times); same status keeps lastTransitionTime; the new one goes last.
 */
export function setCondition(conditions: readonly Condition[], c: Condition): Condition[] {
  const cur = findCondition(conditions, c.type);
  if (cur !== undefined && cur.status === c.status && cur.reason === c.reason) return [...conditions];
  const next: Condition = cur !== undefined && cur.status === c.status && cur.lastTransitionTime !== undefined
    ? { ...c, lastTransitionTime: cur.lastTransitionTime } : c;
  return [...conditions.filter((x) => x.type !== c.type), next];
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function newCondition(type: string, status: Condition['status'], reason: string, message: string, nowMs: number, withUpdateTime: boolean): Condition {
  const t = formatRfc3339(nowMs);
  return withUpdateTime
    ? { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message }
    : { type, status, lastTransitionTime: t, reason, message };
}

/** Sets `field` unless `value` is 0 (Go's omitempty on int32 status fields). */
export function setNonZero(target: JsonObject, field: string, value: number): void {
  if (value !== 0) target[field] = value;
}

/** Go's math.Round: halves away from zero (Math.round rounds -2.5 to -2). */
export function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
