/**
 * Chaos Mesh's PodChaos controller (chaos-mesh.org/v1alpha1), as a pure reconcile core. One object
 * goes through Chaos Mesh's phases, one step per reconcile so that the status written after each
 * step says exactly what was done:
 *  1. the finalizer `chaos-mesh/records` is added (a deleted object recovers its pods first);
 *  2. the targets are selected (select.ts) and recorded in status.experiment.containerRecords,
 *     each "Not Injected"; no target is a Warning and a retry;
 *  3. each record is injected in turn: pod-kill deletes the pod (spec.gracePeriod, default 0);
 *     container-kill SIGKILLs the container through the node's runtime (the restart is the
 *     kubelet's); pod-failure swaps every container's image (or those of containerNames) for the
 *     pause image, keeping the original in an annotation, so the pod stays but its app is gone;
 *  4. desiredPhase becomes Stop when spec.duration has passed since creation, when the object is
 *     paused (annotation experiment.chaos-mesh.org/pause: "true") or deleted, and for the one-shot
 *     actions (pod-kill, container-kill) once every record is injected; pod-failure's records are
 *     then recovered (original images restored) and turn "Not Injected" again.
 * A target pod that is gone when its turn comes is recorded as injected with a Failed event (the
 * pod it named will not come back), so a one-shot chaos always finishes.
 */
import {
  asArray, asNumber, asRecord, asString, deepClone, formatRfc3339, parseRfc3339, type JsonObject, type KubeObject,
} from '../../api/index.js';
import { ignoreEvent, kinds, noActions, sequential, statusUpdate, steps, type ApiAction, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult } from '../framework/index.js';
import { mapSelf, objectRef } from '../replicaset.js';
import { chaosMeshKinds, podChaosActions, type PodChaosAction } from './crds.js';
import { parseGoDurationMs } from './duration.js';
import { matchPods, pickPods, podId } from './select.js';

export const recordsFinalizer = 'chaos-mesh/records';
export const pauseAnnotation = 'experiment.chaos-mesh.org/pause';
/** What pod-failure runs instead of each container's image. */
export const podFailureImage = 'registry.k8s.io/pause:3.10';
/** Where pod-failure keeps a container's own image until recovery. */
export const originImageAnnotation = (container: string): string => `chaos-mesh.org/origin-image-${container}`;
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

function withEvent(r: ChaosRecord, operation: 'Apply' | 'Recover', ok: boolean, nowMs: number, message?: string): ChaosRecord {
  const event: JsonObject = { type: ok ? 'Succeeded' : 'Failed', operation, timestamp: formatRfc3339(nowMs), ...(message === undefined ? {} : { message }) };
  return { ...r, events: [...r.events, event].slice(-recordEventsMax) };
}

interface Step {
  readonly actions: readonly ApiAction[];
  readonly record: ChaosRecord;
}

function podOf(cache: CacheView, id: string): KubeObject | undefined {
  const [namespace, name] = id.split('/');
  const pod = cache.get(kinds.pod, `${namespace}/${name}`);
  return pod?.metadata?.deletionTimestamp === undefined ? pod : undefined;
}

function containerNamesOf(spec: JsonObject): string[] {
  return asArray(spec['containerNames']).filter((x): x is string => typeof x === 'string');
}

/**
 * A copy of `pod` whose containers (and annotations) `edit` rewrites, returning true when it
 * changed one; undefined when it changed none. The cached pod itself is never touched.
 */
function editContainers(pod: KubeObject, edit: (container: JsonObject, name: string, annotations: Record<string, string>) => boolean): KubeObject | undefined {
  const body = deepClone(pod) as KubeObject;
  const annotations: Record<string, string> = { ...(body.metadata?.annotations ?? {}) };
  let changed = false;
  for (const c of asArray(asRecord(body['spec'])?.['containers'])) {
    const container = asRecord(c);
    const name = asString(container?.['name']);
    if (container !== undefined && name !== undefined && edit(container, name, annotations)) changed = true;
  }
  body.metadata = { ...body.metadata, annotations };
  return changed ? body : undefined;
}

/** pod-failure: each chosen container runs the pause image; its own image is kept in an annotation. */
function failurePod(pod: KubeObject, only: readonly string[]): KubeObject | undefined {
  return editContainers(pod, (container, name, annotations) => {
    if ((only.length > 0 && !only.includes(name)) || annotations[originImageAnnotation(name)] !== undefined) return false;
    annotations[originImageAnnotation(name)] = asString(container['image']) ?? '';
    container['image'] = podFailureImage;
    return true;
  });
}

/** Recovery: each container with a kept image gets it back, and the annotation goes. */
function recoveredPod(pod: KubeObject): KubeObject | undefined {
  return editContainers(pod, (container, name, annotations) => {
    const origin = annotations[originImageAnnotation(name)];
    if (origin === undefined) return false;
    container['image'] = origin;
    delete annotations[originImageAnnotation(name)];
    return true;
  });
}

function inject(action: PodChaosAction, spec: JsonObject, r: ChaosRecord, cache: CacheView, nowMs: number): Step | 'wait' {
  const pod = podOf(cache, r.id);
  const injected: ChaosRecord = { ...r, phase: 'Injected', injectedCount: r.injectedCount + 1 };
  if (pod === undefined) return { actions: [], record: withEvent(injected, 'Apply', false, nowMs, 'the pod is gone') };
  const [namespace = '', name = '', container = ''] = r.id.split('/');
  switch (action) {
    case 'pod-kill':
      return {
        actions: [{ type: 'delete', resource: kinds.pod, namespace, name, options: { gracePeriodSeconds: asNumber(spec['gracePeriod']) ?? 0, preconditions: { uid: pod.metadata?.uid ?? '' } } }],
        record: withEvent(injected, 'Apply', true, nowMs),
      };
    case 'container-kill': {
      const node = asString(asRecord(pod['spec'])?.['nodeName']);
      if (node === undefined || node === '') return 'wait';
      return {
        actions: [{ type: 'killContainer', resource: kinds.pod, node, namespace, name, podUid: pod.metadata?.uid ?? '', container }],
        record: withEvent(injected, 'Apply', true, nowMs),
      };
    }
    case 'pod-failure': {
      const body = failurePod(pod, containerNamesOf(spec));
      return { actions: body === undefined ? [] : [{ type: 'update', resource: kinds.pod, body }], record: withEvent(injected, 'Apply', true, nowMs) };
    }
    default: {
      const never: never = action;
      throw new Error(`unknown PodChaos action ${String(never)}`);
    }
  }
}

function recover(r: ChaosRecord, cache: CacheView, nowMs: number): Step {
  const pod = podOf(cache, r.id);
  const body = pod === undefined ? undefined : recoveredPod(pod);
  return {
    actions: body === undefined ? [] : [{ type: 'update', resource: kinds.pod, body }],
    record: withEvent({ ...r, phase: 'Not Injected', recoveredCount: r.recoveredCount + 1 }, 'Recover', true, nowMs, pod === undefined ? 'the pod is gone' : undefined),
  };
}

/** The targets as records: one per pod, or per pod and container for container-kill. */
function select(chaos: KubeObject, spec: JsonObject, action: PodChaosAction, cache: CacheView): { ok: true; records: ChaosRecord[] } | { ok: false; error: string } {
  const nodeLabels = (node: string) => cache.get(kinds.node, node)?.metadata?.labels;
  const matched = matchPods(spec['selector'], chaos.metadata?.namespace ?? 'default', cache.list(kinds.pod, undefined), nodeLabels);
  if (!matched.ok) return matched;
  const picked = pickPods(matched.pods, asString(spec['mode']) ?? '', asString(spec['value']), chaos.metadata?.uid ?? '');
  if (!picked.ok) return picked;
  if (picked.pods.length === 0) return { ok: false, error: 'no pod is selected' };
  const only = containerNamesOf(spec);
  const ids = action !== 'container-kill' ? picked.pods.map(podId) : picked.pods.flatMap((p) => {
    const names = asArray(asRecord(p['spec'])?.['containers']).map((c) => asString(asRecord(c)?.['name']) ?? '');
    return names.filter((n) => n !== '' && (only.length === 0 || only.includes(n))).map((n) => `${podId(p)}/${n}`);
  });
  if (ids.length === 0) return { ok: false, error: `no selected pod has a container named ${only.join(' or ')}` };
  return { ok: true, records: ids.map((id) => ({ id, selectorKey: '.', phase: 'Not Injected', injectedCount: 0, recoveredCount: 0, events: [] })) };
}

export function reconcilePodChaos(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  const chaos = cache.get(chaosMeshKinds.podChaos, key);
  if (chaos === undefined) return noActions;
  const meta = chaos.metadata ?? {};
  const spec = asRecord(chaos['spec']) ?? {};
  const ref = objectRef(chaos, chaosMeshKinds.podChaos);
  const warn = (message: string, requeueAfterMs?: number): ReconcileResult => ({
    steps: [{ execution: sequential, actions: [{ type: 'event', event: { involvedObject: ref, type: 'Warning', reason: 'Failed', message } }] }],
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
  });
  const action = podChaosActions.find((a) => a === spec['action']);
  if (action === undefined) return warn(`unknown action ${JSON.stringify(spec['action'])}: one of ${podChaosActions.join(', ')}`);
  const durationText = asString(spec['duration']);
  const durationMs = durationText === undefined ? undefined : parseGoDurationMs(durationText);
  if (durationText !== undefined && durationMs === undefined) return warn(`duration ${JSON.stringify(durationText)} is not a duration such as 30s or 1m30s`);
  const deleting = meta.deletionTimestamp !== undefined;
  const finalizers = meta.finalizers ?? [];
  if (!deleting && !finalizers.includes(recordsFinalizer)) {
    const body = deepClone(chaos) as KubeObject;
    body.metadata = { ...body.metadata, finalizers: [...finalizers, recordsFinalizer] };
    return { steps: [{ execution: sequential, actions: [{ type: 'update', resource: chaosMeshKinds.podChaos, body }] }] };
  }

  const records = recordsOf(asRecord(chaos['status']) ?? {});
  const oneShot = action !== 'pod-failure';
  const endMs = durationMs === undefined ? undefined : (parseRfc3339(meta.creationTimestamp ?? '') ?? ctx.nowMs) + durationMs;
  const expired = endMs !== undefined && ctx.nowMs >= endMs;
  const paused = meta.annotations?.[pauseAnnotation] === 'true';
  const allInjected = records.length > 0 && records.every((r) => r.phase === 'Injected');
  const stop = deleting || paused || expired || (oneShot && allInjected);
  const desired = stop ? 'Stop' : 'Run';

  if (records.length === 0 && !stop) {
    const selected = select(chaos, spec, action, cache);
    if (!selected.ok) return warn(`Failed to select pods: ${selected.error}`, reselectMs);
    return { steps: steps({ execution: sequential, actions: statusUpdate(chaosMeshKinds.podChaos, chaos, statusOf(selected.records, 'Run', paused)) }) };
  }

  for (const [i, r] of records.entries()) {
    const step = !stop && r.phase === 'Not Injected' && (!oneShot || r.injectedCount === 0) ? inject(action, spec, r, cache, ctx.nowMs)
      : stop && !oneShot && r.phase === 'Injected' ? recover(r, cache, ctx.nowMs) : undefined;
    if (step === undefined) continue;
    if (step === 'wait') return warn(`${r.id}: the pod is not on a node yet`, reselectMs);
    const next = records.map((x, j) => (j === i ? step.record : x));
    const nextDesired = stop || (oneShot && next.every((x) => x.phase === 'Injected')) ? 'Stop' : 'Run';
    const done = step.record.phase === 'Injected' ? 'Applied' : 'Recovered';
    return {
      steps: steps(
        { execution: sequential, actions: step.actions },
        { execution: sequential, actions: statusUpdate(chaosMeshKinds.podChaos, chaos, statusOf(next, nextDesired, paused)) },
        { execution: sequential, actions: [{ type: 'event', event: { involvedObject: ref, type: 'Normal', reason: done, message: `Successfully ${done === 'Applied' ? 'apply' : 'recover'} chaos for ${r.id}` } }] },
      ),
    };
  }

  // Nothing left to inject or recover: the status says so, and a deleted object lets go.
  const release: ApiAction[] = [];
  if (deleting) {
    const body = deepClone(chaos) as KubeObject;
    body.metadata = { ...body.metadata, finalizers: finalizers.filter((f) => f !== recordsFinalizer) };
    release.push({ type: 'update', resource: chaosMeshKinds.podChaos, body });
  }
  return {
    steps: steps(
      { execution: sequential, actions: deleting ? [] : statusUpdate(chaosMeshKinds.podChaos, chaos, statusOf(records, desired, paused)) },
      { execution: sequential, actions: release },
    ),
    ...(endMs !== undefined && !stop ? { requeueAfterMs: Math.max(1, endMs - ctx.nowMs) } : {}),
  };
}

/** Finished as Chaos Mesh's IsChaosFinished: a one-shot chaos once every record is injected; another once stopped and recovered. */
export function isPodChaosFinished(chaos: KubeObject): boolean {
  const status = asRecord(chaos['status']) ?? {};
  const records = recordsOf(status);
  if (records.length === 0) return false;
  const action = asRecord(chaos['spec'])?.['action'];
  if (action !== 'pod-failure') return records.every((r) => r.phase === 'Injected');
  return asRecord(status['experiment'])?.['desiredPhase'] === 'Stop' && records.every((r) => r.phase === 'Not Injected');
}

export const podChaosController: ControllerDefinition = {
  name: 'chaos-mesh-podchaos',
  primary: chaosMeshKinds.podChaos,
  workers: 2,
  watches: [
    { kind: chaosMeshKinds.podChaos, map: mapSelf },
    // Read when selecting and recovering; their changes need no reconcile.
    { kind: kinds.pod, map: () => ignoreEvent },
    { kind: kinds.node, map: () => ignoreEvent },
  ],
  reconcile: reconcilePodChaos,
};
