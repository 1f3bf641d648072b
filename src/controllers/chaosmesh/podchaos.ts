/**
 * Chaos Mesh's PodChaos controller (chaos-mesh.org/v1alpha1): the shared lifecycle (records.ts)
 * with PodChaos's actions.
 *  - pod-kill deletes the pod (spec.gracePeriod, default 0);
 *  - container-kill SIGKILLs the container through the node's runtime (the restart is the kubelet's);
 *  - pod-failure swaps every container's image (or those of containerNames) for the pause image,
 *    keeping the original in an annotation, so the pod stays but its app is gone; recovery puts
 *    the images back.
 * pod-kill and container-kill are one-shot. A target pod that is gone when its turn comes is
 * recorded as injected with a Failed event (the pod it named will not come back), so a one-shot
 * chaos always finishes.
 */
import { asArray, asNumber, asRecord, asString, deepClone, type JsonObject, type KubeObject } from '../../api/index.js';
import { kinds, type CacheView, type ControllerDefinition, type ReconcileContext, type ReconcileResult } from '../framework/index.js';
import { chaosMeshKinds, podChaosActions, type PodChaosAction } from './crds.js';
import {
  chaosController, injectedRecord, isChaosFinished, newRecord, reconcileChaos, recoveredRecord, withEvent,
  type ChaosDriver, type ChaosRecord, type ChaosStep, type Selection,
} from './records.js';
import { matchPods, pickPods, podId } from './select.js';

/** What pod-failure runs instead of each container's image. */
export const podFailureImage = 'registry.k8s.io/pause:3.10';
/** Where pod-failure keeps a container's own image until recovery. */
export const originImageAnnotation = (container: string): string => `chaos-mesh.org/origin-image-${container}`;

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

function inject(action: PodChaosAction, spec: JsonObject, r: ChaosRecord, cache: CacheView, nowMs: number): ChaosStep | 'wait' {
  const pod = podOf(cache, r.id);
  const injected = injectedRecord(r);
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

function recover(r: ChaosRecord, cache: CacheView, nowMs: number): ChaosStep {
  const pod = podOf(cache, r.id);
  const body = pod === undefined ? undefined : recoveredPod(pod);
  return {
    actions: body === undefined ? [] : [{ type: 'update', resource: kinds.pod, body }],
    record: withEvent(recoveredRecord(r), 'Recover', true, nowMs, pod === undefined ? 'the pod is gone' : undefined),
  };
}

/** The targets as records: one per pod, or per pod and container for container-kill. */
function select(chaos: KubeObject, spec: JsonObject, action: PodChaosAction, cache: CacheView): Selection {
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
  return { ok: true, records: ids.map((id) => newRecord(id)) };
}

const actionOf = (spec: JsonObject): PodChaosAction | undefined => podChaosActions.find((a) => a === spec['action']);

const podChaosDriver: ChaosDriver = {
  kind: chaosMeshKinds.podChaos,
  problem: (spec) => (actionOf(spec) === undefined ? `unknown action ${JSON.stringify(spec['action'])}: one of ${podChaosActions.join(', ')}` : undefined),
  oneShot: (spec) => actionOf(spec) !== 'pod-failure',
  select: (chaos, spec, cache) => select(chaos, spec, actionOf(spec)!, cache),
  inject: (_chaos, spec, r, _records, cache, nowMs) => inject(actionOf(spec)!, spec, r, cache, nowMs),
  recover: (_chaos, _spec, r, cache, nowMs) => recover(r, cache, nowMs),
};

export function reconcilePodChaos(key: string, cache: CacheView, ctx: ReconcileContext): ReconcileResult {
  return reconcileChaos(podChaosDriver, key, cache, ctx);
}

/** Finished as Chaos Mesh's IsChaosFinished (the Schedule's concurrency and history use it). */
export function isPodChaosFinished(chaos: KubeObject): boolean {
  return isChaosFinished(podChaosDriver, chaos);
}

export const podChaosController: ControllerDefinition = chaosController('chaos-mesh-podchaos', podChaosDriver);
