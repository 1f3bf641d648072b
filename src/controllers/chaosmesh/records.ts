/**
 * The lifecycle every Chaos Mesh chaos kind shares (Chaos Mesh's records controller), as a pure
 * reconcile core over a driver that knows the kind's selection, injection and recovery. One
 * object goes through Chaos Mesh's phases, one step per reconcile, so that the status written
 * after each step says exactly what was done:
 *  1. the finalizer `chaos-mesh/records` is added (a deleted object recovers its targets first);
 *  2. the targets are selected and recorded in status.experiment.containerRecords, each
 *     "Not Injected"; no target is a Warning and a retry;
 *  3. each record is injected in turn;
 *  4. desiredPhase becomes Stop when spec.duration has passed since creation, when the object is
 *     paused (annotation experiment.chaos-mesh.org/pause: "true") or deleted, and for one-shot
 *     chaos (nothing to recover) once every record is injected; the records of the others are
 *     then recovered and turn "Not Injected" again.
 */
import { asArray, asNumber, asRecord, asString, deepClone, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject } from '../../api/index.js';
import type { CustomResourceRef } from '../../client/client.js';
import {
  ignoreEvent, kinds, noActions, sequential, statusUpdate, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult,
} from '../framework/index.js';
import { mapSelf, objectRef } from '../replicaset.js';
import { parseGoDurationMs } from './duration.js';

export const recordsFinalizer = 'chaos-mesh/records';
export const pauseAnnotation = 'experiment.chaos-mesh.org/pause';
/** Events kept per record, newest last (bounded status). */
const recordEventsMax = 10;
/** A selection that found nothing is retried after this long. */
const reselectMs = 2_000;

type Phase = 'Injected' | 'Not Injected';

export interface ChaosRecord extends JsonObject {
  readonly id: string;
  readonly selectorKey: string;
  readonly phase: Phase;
  readonly injectedCount: number;
  readonly recoveredCount: number;
  readonly events: readonly JsonObject[];
}

export type Selection = { readonly ok: true; readonly records: ChaosRecord[] } | { readonly ok: false; readonly error: string };

/** What one reconcile does to one record: the actions, and the record as it is afterwards. */
export interface ChaosStep {
  readonly actions: readonly ApiAction[];
  readonly record: ChaosRecord;
}

/** What a chaos kind adds to the lifecycle. */
export interface ChaosDriver {
  readonly kind: CustomResourceRef;
  /** A problem with the spec the schema cannot see (an unknown action), or undefined. */
  problem(spec: JsonObject): string | undefined;
  /** One-shot chaos has nothing to recover: it stops once every record is injected. */
  oneShot(spec: JsonObject): boolean;
  select(chaos: KubeObject, spec: JsonObject, cache: CacheView): Selection;
  /** 'wait': the target is not ready for it yet (retried). */
  inject(chaos: KubeObject, spec: JsonObject, record: ChaosRecord, records: readonly ChaosRecord[], cache: CacheView, nowMs: number): ChaosStep | 'wait';
  recover(chaos: KubeObject, spec: JsonObject, record: ChaosRecord, cache: CacheView, nowMs: number): ChaosStep;
}

export function newRecord(id: string, selectorKey = '.'): ChaosRecord {
  return { id, selectorKey, phase: 'Not Injected', injectedCount: 0, recoveredCount: 0, events: [] };
}

function recordsOf(status: JsonObject): ChaosRecord[] {
  const experiment = asRecord(status['experiment']) ?? {};
  return asArray(experiment['containerRecords']).flatMap((r) => {
    const rec = asRecord(r);
    const id = asString(rec?.['id']);
    if (rec === undefined || id === undefined) return [];
    return [{
      id, selectorKey: asString(rec['selectorKey']) ?? '.', phase: rec['phase'] === 'Injected' ? 'Injected' : 'Not Injected',
      injectedCount: asNumber(rec['injectedCount']) ?? 0, recoveredCount: asNumber(rec['recoveredCount']) ?? 0,
      events: asArray(rec['events']).flatMap((e) => { const o = asRecord(e); return o === undefined ? [] : [o]; }),
    }];
  });
}

function condition(type: string, on: boolean): JsonObject {
  return { type, status: on ? 'True' : 'False', reason: '' };
}

function statusOf(records: readonly ChaosRecord[], desiredPhase: 'Run' | 'Stop', paused: boolean): JsonObject {
  const any = records.length > 0;
  return {
    conditions: [
      condition('Selected', any),
      condition('AllInjected', any && records.every((r) => r.phase === 'Injected')),
      condition('AllRecovered', any && desiredPhase === 'Stop' && records.every((r) => r.phase === 'Not Injected')),
      condition('Paused', paused),
    ],
    experiment: { desiredPhase, ...(any ? { containerRecords: records } : {}) },
  };
}

export function withEvent(r: ChaosRecord, operation: 'Apply' | 'Recover', ok: boolean, nowMs: number, message?: string): ChaosRecord {
  const event: JsonObject = { type: ok ? 'Succeeded' : 'Failed', operation, timestamp: formatRfc3339(nowMs), ...(message === undefined ? {} : { message }) };
  return { ...r, events: [...r.events, event].slice(-recordEventsMax) };
}

export const injectedRecord = (r: ChaosRecord): ChaosRecord => ({ ...r, phase: 'Injected', injectedCount: r.injectedCount + 1 });
export const recoveredRecord = (r: ChaosRecord): ChaosRecord => ({ ...r, phase: 'Not Injected', recoveredCount: r.recoveredCount + 1 });

export function reconcileChaos(driver: ChaosDriver, key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const chaos = cache.get(driver.kind, key);
  if (chaos === undefined) return noActions;
  const meta = chaos.metadata ?? {};
  const spec = asRecord(chaos['spec']) ?? {};
  const ref = objectRef(chaos, driver.kind);
  const warn = (message: string, requeueAfterMs?: number): ReconcileResult => ({
    steps: [{ execution: sequential, actions: [{ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'Failed', message } }] }],
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
  });
  const problem = driver.problem(spec);
  if (problem !== undefined) return warn(problem);
  const durationText = asString(spec['duration']);
  const durationMs = durationText === undefined ? undefined : parseGoDurationMs(durationText);
  if (durationText !== undefined && durationMs === undefined) return warn(`duration ${JSON.stringify(durationText)} is not a duration such as 30s or 1m30s`);
  const deleting = meta.deletionTimestamp !== undefined;
  const finalizers = meta.finalizers ?? [];
  if (!deleting && !finalizers.includes(recordsFinalizer)) {
    const body = deepClone(chaos) as KubeObject;
    body.metadata = { ...body.metadata, finalizers: [...finalizers, recordsFinalizer] };
    return { steps: [{ execution: sequential, actions: [{ type: 'update', resource: driver.kind, body }] }] };
  }

  const records = recordsOf(asRecord(chaos['status']) ?? {});
  const oneShot = driver.oneShot(spec);
  const endMs = durationMs === undefined ? undefined : (parseRfc3339(meta.creationTimestamp ?? '') ?? ctx.nowMs) + durationMs;
  const expired = endMs !== undefined && ctx.nowMs >= endMs;
  const paused = meta.annotations?.[pauseAnnotation] === 'true';
  const allInjected = records.length > 0 && records.every((r) => r.phase === 'Injected');
  const stop = deleting || paused || expired || (oneShot && allInjected);
  const desired = stop ? 'Stop' : 'Run';

  if (records.length === 0 && !stop) {
    const selected = driver.select(chaos, spec, cache);
    if (!selected.ok) return warn(`Failed to select pods: ${selected.error}`, reselectMs);
    return { steps: steps({ execution: sequential, actions: statusUpdate(driver.kind, chaos, statusOf(selected.records, 'Run', paused)) }) };
  }

  for (const [i, r] of records.entries()) {
    const step = !stop && r.phase === 'Not Injected' && (!oneShot || r.injectedCount === 0) ? driver.inject(chaos, spec, r, records, cache, ctx.nowMs)
      : stop && !oneShot && r.phase === 'Injected' ? driver.recover(chaos, spec, r, cache, ctx.nowMs) : undefined;
    if (step === undefined) continue;
    if (step === 'wait') return warn(`${r.id}: the pod is not on a node yet`, reselectMs);
    const next = records.map((x, j) => (j === i ? step.record : x));
    const nextDesired = stop || (oneShot && next.every((x) => x.phase === 'Injected')) ? 'Stop' : 'Run';
    const done = step.record.phase === 'Injected' ? 'Applied' : 'Recovered';
    return {
      steps: steps(
        { execution: sequential, actions: step.actions },
        { execution: sequential, actions: statusUpdate(driver.kind, chaos, statusOf(next, nextDesired, paused)) },
        { execution: sequential, actions: [{ type: 'event', event: { involvedObject: ref, type: 'Normal', reason: done, message: `Successfully ${done === 'Applied' ? 'apply' : 'recover'} chaos for ${r.id}` } }] },
      ),
    };
  }

  // Nothing left to inject or recover: the status says so, and a deleted object lets go.
  const release: ApiAction[] = [];
  if (deleting) {
    const body = deepClone(chaos) as KubeObject;
    body.metadata = { ...body.metadata, finalizers: finalizers.filter((f) => f !== recordsFinalizer) };
    release.push({ type: 'update', resource: driver.kind, body });
  }
  return {
    steps: steps(
      { execution: sequential, actions: deleting ? [] : statusUpdate(driver.kind, chaos, statusOf(records, desired, paused)) },
      { execution: sequential, actions: release },
    ),
    ...(endMs !== undefined && !stop ? { requeueAfterMs: Math.max(1, endMs - ctx.nowMs) } : {}),
  };
}

/** Finished as Chaos Mesh's IsChaosFinished: one-shot chaos once every record is injected; other chaos once stopped and recovered. */
export function isChaosFinished(driver: ChaosDriver, chaos: KubeObject): boolean {
  const status = asRecord(chaos['status']) ?? {};
  const records = recordsOf(status);
  if (records.length === 0) return false;
  if (driver.oneShot(asRecord(chaos['spec']) ?? {})) return records.every((r) => r.phase === 'Injected');
  return asRecord(status['experiment'])?.['desiredPhase'] === 'Stop' && records.every((r) => r.phase === 'Not Injected');
}

/** A chaos kind's controller: its objects reconciled one at a time, pods and nodes read from the cache. */
export function chaosController(name: string, driver: ChaosDriver): ControllerDefinition {
  return {
    name,
    primary: driver.kind,
    workers: 2,
    watches: [
      { kind: driver.kind, map: mapSelf },
      // Read when selecting, injecting and recovering; their changes need no reconcile.
      { kind: kinds.pod, map: () => ignoreEvent },
      { kind: kinds.node, map: () => ignoreEvent },
    ],
    reconcile: (key, cache, ctx) => reconcileChaos(driver, key, cache, ctx),
  };
}
