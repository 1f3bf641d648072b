/**
 * Chaos Mesh's API (chaos-mesh.org/v1alpha1) as pocketkube serves it: the CustomResourceDefinitions
 * of PodChaos, NetworkChaos and Schedule, with structural schemas so that a wrong action, mode,
 * direction or schedule type is refused at `kubectl apply` (422, naming the field and the
 * supported values) instead of failing later in the controller. Only the kinds and actions the
 * controllers here act on are accepted: the other Chaos Mesh kinds (StressChaos, IOChaos, ...)
 * are not served, so applying one says so.
 */
import type { JsonObject, KubeObject } from '../../api/index.js';

const chaosMeshGroup = 'chaos-mesh.org';
const version = 'v1alpha1';

export const chaosMeshKinds = {
  podChaos: { apiVersion: `${chaosMeshGroup}/${version}`, kind: 'PodChaos', resource: 'podchaos', namespaced: true },
  networkChaos: { apiVersion: `${chaosMeshGroup}/${version}`, kind: 'NetworkChaos', resource: 'networkchaos', namespaced: true },
  schedule: { apiVersion: `${chaosMeshGroup}/${version}`, kind: 'Schedule', resource: 'schedules', namespaced: true },
} as const;

export const podChaosActions = ['pod-kill', 'pod-failure', 'container-kill'] as const;
export type PodChaosAction = typeof podChaosActions[number];
/** The NetworkChaos actions served (Chaos Mesh also has corrupt, bandwidth and netem: refused by the schema, by name). */
export const networkChaosActions = ['partition', 'delay', 'loss', 'duplicate'] as const;
export type NetworkChaosAction = typeof networkChaosActions[number];
export const networkChaosDirections = ['to', 'from', 'both'] as const;
export type NetworkChaosDirection = typeof networkChaosDirections[number];
export const selectorModes = ['one', 'all', 'fixed', 'fixed-percent', 'random-max-percent'] as const;
export type SelectorMode = typeof selectorModes[number];
/** The Schedule types served (Chaos Mesh has more: each is refused by the schema, by name). */
const scheduleTypes = ['PodChaos', 'NetworkChaos'] as const;

const strings = { type: 'array', items: { type: 'string' } };
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

/** Chaos Mesh's PodSelectorSpec (+ mode and value). */
const selectorSpec: JsonObject = {
  type: 'object',
  properties: {
    namespaces: strings, nodes: strings, podPhaseSelectors: strings,
    labelSelectors: stringMap, annotationSelectors: stringMap, fieldSelectors: stringMap, nodeSelectors: stringMap,
    expressionSelectors: {
      type: 'array',
      items: { type: 'object', required: ['key', 'operator'], properties: { key: { type: 'string' }, operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: strings } },
    },
    pods: { type: 'object', additionalProperties: strings },
  },
};

const goDuration = { type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$' };

const podChaosSpec: JsonObject = {
  type: 'object',
  required: ['action', 'mode', 'selector'],
  properties: {
    action: { type: 'string', enum: [...podChaosActions] },
    mode: { type: 'string', enum: [...selectorModes] },
    value: { type: 'string' },
    selector: selectorSpec,
    containerNames: strings,
    gracePeriod: { type: 'integer', minimum: 0 },
    duration: goDuration,
  },
};

/** A percentage as Chaos Mesh writes it: "25" or "25.5". */
const percent = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' };

const networkChaosSpec: JsonObject = {
  type: 'object',
  required: ['action', 'mode', 'selector'],
  properties: {
    action: { type: 'string', enum: [...networkChaosActions] },
    mode: { type: 'string', enum: [...selectorModes] },
    value: { type: 'string' },
    selector: selectorSpec,
    direction: { type: 'string', enum: [...networkChaosDirections] },
    target: {
      type: 'object', required: ['mode', 'selector'],
      properties: { mode: { type: 'string', enum: [...selectorModes] }, value: { type: 'string' }, selector: selectorSpec },
    },
    externalTargets: strings,
    delay: { type: 'object', required: ['latency'], properties: { latency: goDuration, jitter: goDuration, correlation: percent } },
    loss: { type: 'object', required: ['loss'], properties: { loss: percent, correlation: percent } },
    duplicate: { type: 'object', required: ['duplicate'], properties: { duplicate: percent, correlation: percent } },
    duration: goDuration,
  },
};

const scheduleSpec: JsonObject = {
  type: 'object',
  required: ['schedule', 'type'],
  properties: {
    schedule: { type: 'string', minLength: 1 },
    startingDeadlineSeconds: { type: 'integer', minimum: 0, nullable: true },
    concurrencyPolicy: { type: 'string', enum: ['Forbid', 'Allow'] },
    historyLimit: { type: 'integer', minimum: 1 },
    type: { type: 'string', enum: [...scheduleTypes] },
    podChaos: podChaosSpec,
    networkChaos: networkChaosSpec,
  },
};

function crd(kind: string, plural: string, spec: JsonObject, columns: readonly JsonObject[]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${chaosMeshGroup}`, labels: { 'app.kubernetes.io/part-of': 'chaos-mesh' } },
    spec: {
      group: chaosMeshGroup, scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List`, categories: ['chaos-mesh'] },
      versions: [{
        name: version, served: true, storage: true, subresources: { status: {} },
        additionalPrinterColumns: [...columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
        schema: { openAPIV3Schema: { type: 'object', properties: { spec, status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } },
      }],
    },
  };
}

/** The CRDs a cluster with nodes installs at start (as `helm install chaos-mesh` would). */
export function chaosMeshCrds(): KubeObject[] {
  return [
    crd('PodChaos', 'podchaos', podChaosSpec, [{ name: 'Action', type: 'string', jsonPath: '.spec.action' }, { name: 'Duration', type: 'string', jsonPath: '.spec.duration' }]),
    crd('NetworkChaos', 'networkchaos', networkChaosSpec, [{ name: 'Action', type: 'string', jsonPath: '.spec.action' }, { name: 'Duration', type: 'string', jsonPath: '.spec.duration' }]),
    crd('Schedule', 'schedules', scheduleSpec, [{ name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' }, { name: 'Type', type: 'string', jsonPath: '.spec.type' }]),
  ];
}
