/**
 * Compact field schemas for strict decoding (`fieldValidation=Strict`): which fields each kind
 * knows, nested. `'*'` accepts anything below it (free-form maps, scalars, sections we do not
 * model). Field lists follow the Kubernetes 1.32 API types.
 */
import { lookupKind } from './resources.js';
import { isRecord, type JsonObject } from './types.js';

export type FieldSchema = '*' | ObjectSchema | ListSchema | MapSchema;
export interface ObjectSchema { readonly kind: 'object'; readonly fields: Readonly<Record<string, FieldSchema>> }
export interface ListSchema { readonly kind: 'list'; readonly items: FieldSchema }
export interface MapSchema { readonly kind: 'map'; readonly values: FieldSchema }

const any = '*' as const;
function o(fields: Record<string, FieldSchema>): ObjectSchema { return { kind: 'object', fields }; }
function l(items: FieldSchema): ListSchema { return { kind: 'list', items }; }
function m(values: FieldSchema): MapSchema { return { kind: 'map', values }; }
function anyOf(...names: string[]): Record<string, FieldSchema> {
  return Object.fromEntries(names.map((n) => [n, any]));
}

const ownerReference = o(anyOf('apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'));
const managedField = o(anyOf('manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource'));

export const objectMetaSchema = o({
  ...anyOf('name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
    'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers'),
  ownerReferences: l(ownerReference),
  managedFields: l(managedField),
});

const keySelector = o(anyOf('name', 'key', 'optional'));
const envVar = o({
  ...anyOf('name', 'value'),
  valueFrom: o({
    fieldRef: o(anyOf('apiVersion', 'fieldPath')),
    resourceFieldRef: o(anyOf('containerName', 'resource', 'divisor')),
    configMapKeyRef: keySelector,
    secretKeyRef: keySelector,
  }),
});
const envFrom = o({ prefix: any, configMapRef: o(anyOf('name', 'optional')), secretRef: o(anyOf('name', 'optional')) });
const containerPort = o(anyOf('name', 'hostPort', 'containerPort', 'protocol', 'hostIP'));
const resources = o({ limits: m(any), requests: m(any), claims: l(o(anyOf('name', 'request'))) });
const volumeMount = o(anyOf('name', 'readOnly', 'recursiveReadOnly', 'mountPath', 'subPath', 'mountPropagation', 'subPathExpr'));
const handlerFields = {
  exec: o(anyOf('command')),
  httpGet: o({ ...anyOf('path', 'port', 'host', 'scheme'), httpHeaders: l(o(anyOf('name', 'value'))) }),
  tcpSocket: o(anyOf('port', 'host')),
};
const probe = o({
  ...handlerFields,
  grpc: o(anyOf('port', 'service')),
  ...anyOf('initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'),
});
const lifecycleHandler = o({ ...handlerFields, sleep: o(anyOf('seconds')) });
const containerFields: Record<string, FieldSchema> = {
  ...anyOf('name', 'image', 'command', 'args', 'workingDir', 'imagePullPolicy', 'terminationMessagePath',
    'terminationMessagePolicy', 'restartPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty', 'resizePolicy', 'volumeDevices'),
  ports: l(containerPort),
  env: l(envVar),
  envFrom: l(envFrom),
  resources,
  volumeMounts: l(volumeMount),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle: o({ postStart: lifecycleHandler, preStop: lifecycleHandler, stopSignal: any }),
};
export const containerSchema = o(containerFields);
const ephemeralContainer = o({ ...containerFields, targetContainerName: any });

const keyToPath = l(o(anyOf('key', 'path', 'mode')));
const volume = o({
  name: any,
  emptyDir: o(anyOf('medium', 'sizeLimit')),
  hostPath: o(anyOf('path', 'type')),
  configMap: o({ ...anyOf('name', 'defaultMode', 'optional'), items: keyToPath }),
  secret: o({ ...anyOf('secretName', 'defaultMode', 'optional'), items: keyToPath }),
  ...anyOf('projected', 'downwardAPI', 'persistentVolumeClaim', 'nfs', 'csi', 'ephemeral', 'image', 'iscsi', 'local'),
});
const toleration = o(anyOf('key', 'operator', 'value', 'effect', 'tolerationSeconds'));

export const podSpecSchema = o({
  volumes: l(volume),
  initContainers: l(containerSchema),
  containers: l(containerSchema),
  ephemeralContainers: l(ephemeralContainer),
  ...anyOf('restartPolicy', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector',
    'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken', 'nodeName', 'hostNetwork', 'hostPID', 'hostIPC',
    'shareProcessNamespace', 'securityContext', 'hostname', 'subdomain', 'affinity', 'schedulerName', 'priorityClassName',
    'priority', 'dnsConfig', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'overhead',
    'setHostnameAsFQDN', 'os', 'hostUsers', 'resources'),
  imagePullSecrets: l(o(anyOf('name'))),
  tolerations: l(toleration),
  hostAliases: l(o(anyOf('ip', 'hostnames'))),
  readinessGates: l(o(anyOf('conditionType'))),
  topologySpreadConstraints: l(o(anyOf('maxSkew', 'topologyKey', 'whenUnsatisfiable', 'labelSelector', 'minDomains',
    'nodeAffinityPolicy', 'nodeTaintsPolicy', 'matchLabelKeys'))),
  schedulingGates: l(o(anyOf('name'))),
  resourceClaims: l(o(anyOf('name', 'resourceClaimName', 'resourceClaimTemplateName'))),
});

const labelSelector = o({ matchLabels: m(any), matchExpressions: l(o(anyOf('key', 'operator', 'values'))) });
const podTemplate = o({ metadata: objectMetaSchema, spec: podSpecSchema });

const deploymentSpec = o({
  ...anyOf('replicas', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'),
  selector: labelSelector,
  template: podTemplate,
  strategy: o({ type: any, rollingUpdate: o(anyOf('maxUnavailable', 'maxSurge')) }),
});
const replicaSetSpec = o({ ...anyOf('replicas', 'minReadySeconds'), selector: labelSelector, template: podTemplate });
const daemonSetSpec = o({
  ...anyOf('minReadySeconds', 'revisionHistoryLimit'),
  selector: labelSelector, template: podTemplate,
  updateStrategy: o({ type: any, rollingUpdate: o(anyOf('maxUnavailable', 'maxSurge')) }),
});
const statefulSetSpec = o({
  ...anyOf('replicas', 'serviceName', 'podManagementPolicy', 'revisionHistoryLimit', 'minReadySeconds',
    'persistentVolumeClaimRetentionPolicy', 'ordinals', 'volumeClaimTemplates'),
  selector: labelSelector, template: podTemplate,
  updateStrategy: o({ type: any, rollingUpdate: o(anyOf('partition', 'maxUnavailable')) }),
});
const jobSpec = o({
  ...anyOf('parallelism', 'completions', 'activeDeadlineSeconds', 'podFailurePolicy', 'successPolicy', 'backoffLimit',
    'backoffLimitPerIndex', 'maxFailedIndexes', 'manualSelector', 'ttlSecondsAfterFinished', 'completionMode', 'suspend',
    'podReplacementPolicy', 'managedBy'),
  selector: labelSelector, template: podTemplate,
});
const servicePort = o(anyOf('name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'));
const serviceSpec = o({
  ports: l(servicePort),
  ...anyOf('selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity', 'loadBalancerIP',
    'loadBalancerSourceRanges', 'externalName', 'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses',
    'sessionAffinityConfig', 'ipFamilies', 'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass',
    'internalTrafficPolicy', 'trafficDistribution'),
});

function top(extra: Record<string, FieldSchema>): ObjectSchema {
  return o({ apiVersion: any, kind: any, metadata: objectMetaSchema, ...extra });
}

const policyRule = l(o(anyOf('verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs')));
const subjects = l(o(anyOf('kind', 'apiGroup', 'name', 'namespace')));
const roleRef = o(anyOf('apiGroup', 'kind', 'name'));

/** Per-kind schemas, keyed by "<apiVersion>/<Kind>". */
const schemas: Record<string, ObjectSchema> = {
  'v1/Pod': top({ spec: podSpecSchema, status: any }),
  'v1/Service': top({ spec: serviceSpec, status: any }),
  'v1/Namespace': top({ spec: o(anyOf('finalizers')), status: any }),
  'v1/Node': top({
    spec: o({ ...anyOf('podCIDR', 'podCIDRs', 'providerID', 'unschedulable', 'configSource', 'externalID'),
      taints: l(o(anyOf('key', 'value', 'effect', 'timeAdded'))) }),
    status: any,
  }),
  'v1/ConfigMap': top(anyOf('data', 'binaryData', 'immutable')),
  'v1/Secret': top(anyOf('data', 'stringData', 'type', 'immutable')),
  'v1/ServiceAccount': top(anyOf('secrets', 'imagePullSecrets', 'automountServiceAccountToken')),
  'v1/Endpoints': top({ subsets: l(o(anyOf('addresses', 'notReadyAddresses', 'ports'))) }),
  'v1/Event': top(anyOf('involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type',
    'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance')),
  'apps/v1/Deployment': top({ spec: deploymentSpec, status: any }),
  'apps/v1/ReplicaSet': top({ spec: replicaSetSpec, status: any }),
  'apps/v1/DaemonSet': top({ spec: daemonSetSpec, status: any }),
  'apps/v1/StatefulSet': top({ spec: statefulSetSpec, status: any }),
  'batch/v1/Job': top({ spec: jobSpec, status: any }),
  'coordination.k8s.io/v1/Lease': top({ spec: o(anyOf('holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime',
    'leaseTransitions', 'strategy', 'preferredHolder')) }),
  'discovery.k8s.io/v1/EndpointSlice': top(anyOf('addressType', 'endpoints', 'ports')),
  'policy/v1/PodDisruptionBudget': top({ spec: o({ ...anyOf('minAvailable', 'maxUnavailable', 'unhealthyPodEvictionPolicy'), selector: labelSelector }), status: any }),
  'policy/v1/Eviction': top({ deleteOptions: any }),
  'rbac.authorization.k8s.io/v1/Role': top({ rules: policyRule }),
  'rbac.authorization.k8s.io/v1/ClusterRole': top({ rules: policyRule, aggregationRule: any }),
  'rbac.authorization.k8s.io/v1/RoleBinding': top({ subjects, roleRef }),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': top({ subjects, roleRef }),
  'scheduling.k8s.io/v1/PriorityClass': top(anyOf('value', 'globalDefault', 'description', 'preemptionPolicy')),
  'autoscaling/v1/Scale': top({ spec: o(anyOf('replicas')), status: any }),
  'autoscaling/v2/HorizontalPodAutoscaler': top({
    spec: o({ scaleTargetRef: o(anyOf('apiVersion', 'kind', 'name')), ...anyOf('minReplicas', 'maxReplicas', 'metrics', 'behavior') }),
    status: any,
  }),
  'v1/ResourceQuota': top({ spec: o({ ...anyOf('hard', 'scopes'), scopeSelector: any }), status: any }),
  'v1/LimitRange': top({ spec: o({ limits: l(o(anyOf('type', 'max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'))) }) }),
  'v1/PodTemplate': top({ template: podTemplate }),
  'v1/ReplicationController': top({ spec: o({ ...anyOf('replicas', 'minReadySeconds', 'selector'), template: podTemplate }), status: any }),
  'v1/PersistentVolume': top({ spec: o(anyOf('capacity', 'accessModes', 'claimRef', 'persistentVolumeReclaimPolicy', 'storageClassName',
    'mountOptions', 'volumeMode', 'nodeAffinity', 'volumeAttributesClassName', 'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs',
    'cinder', 'csi', 'fc', 'flexVolume', 'flocker', 'gcePersistentDisk', 'glusterfs', 'hostPath', 'iscsi', 'local', 'nfs',
    'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd', 'scaleIO', 'storageos', 'vsphereVolume')), status: any }),
  'v1/PersistentVolumeClaim': top({ spec: o({ ...anyOf('accessModes', 'resources', 'volumeName', 'storageClassName', 'volumeMode',
    'dataSource', 'dataSourceRef', 'volumeAttributesClassName'), selector: labelSelector }), status: any }),
  'apps/v1/ControllerRevision': top(anyOf('data', 'revision')),
  'storage.k8s.io/v1/StorageClass': top(anyOf('provisioner', 'parameters', 'reclaimPolicy', 'mountOptions', 'allowVolumeExpansion',
    'volumeBindingMode', 'allowedTopologies')),
  'storage.k8s.io/v1/CSIDriver': top({ spec: o(anyOf('attachRequired', 'podInfoOnMount', 'volumeLifecycleModes', 'storageCapacity',
    'fsGroupPolicy', 'tokenRequests', 'requiresRepublish', 'seLinuxMount')) }),
  'storage.k8s.io/v1/CSINode': top({ spec: o({ drivers: l(o(anyOf('name', 'nodeID', 'topologyKeys', 'allocatable'))) }) }),
  'storage.k8s.io/v1/VolumeAttachment': top({ spec: o({ ...anyOf('attacher', 'nodeName'), source: o(anyOf('persistentVolumeName', 'inlineVolumeSpec')) }), status: any }),
  'node.k8s.io/v1/RuntimeClass': top(anyOf('handler', 'overhead', 'scheduling')),
  'networking.k8s.io/v1/Ingress': top({ spec: o(anyOf('ingressClassName', 'defaultBackend', 'tls', 'rules')), status: any }),
  'networking.k8s.io/v1/IngressClass': top({ spec: o(anyOf('controller', 'parameters')) }),
  'networking.k8s.io/v1/NetworkPolicy': top({ spec: o({ podSelector: labelSelector, ...anyOf('ingress', 'egress', 'policyTypes') }) }),
  'certificates.k8s.io/v1/CertificateSigningRequest': top({ spec: o(anyOf('request', 'signerName', 'expirationSeconds', 'usages',
    'username', 'uid', 'groups', 'extra')), status: any }),
  'events.k8s.io/v1/Event': top(anyOf('eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding',
    'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount')),
  'flowcontrol.apiserver.k8s.io/v1/FlowSchema': top({ spec: o(anyOf('priorityLevelConfiguration', 'matchingPrecedence', 'distinguisherMethod', 'rules')), status: any }),
  'flowcontrol.apiserver.k8s.io/v1/PriorityLevelConfiguration': top({ spec: o(anyOf('type', 'limited', 'exempt')), status: any }),
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': top({ webhooks: l(o(anyOf('name', 'clientConfig', 'rules', 'failurePolicy',
    'matchPolicy', 'namespaceSelector', 'objectSelector', 'sideEffects', 'timeoutSeconds', 'admissionReviewVersions', 'reinvocationPolicy',
    'matchConditions'))) }),
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': top({ webhooks: l(o(anyOf('name', 'clientConfig', 'rules', 'failurePolicy',
    'matchPolicy', 'namespaceSelector', 'objectSelector', 'sideEffects', 'timeoutSeconds', 'admissionReviewVersions', 'matchConditions'))) }),
};

export function schemaFor(apiVersion: string, kind: string): ObjectSchema | undefined {
  return schemas[`${apiVersion}/${kind}`];
}

/** Bound on reported unknown fields, so a hostile body cannot produce a huge error. */
export const maxUnknownFieldsReported = 100;

function walk(value: unknown, schema: FieldSchema, path: string, out: string[]): void {
  if (out.length >= maxUnknownFieldsReported || schema === any || value === null || value === undefined) return;
  switch (schema.kind) {
    case 'object':
      if (!isRecord(value)) return;
      for (const [k, v] of Object.entries(value)) {
        const p = path === '' ? k : `${path}.${k}`;
        const sub = schema.fields[k];
        if (sub === undefined) out.push(p);
        else walk(v, sub, p, out);
      }
      return;
    case 'list':
      if (!Array.isArray(value)) return;
      value.forEach((v, i) => walk(v, schema.items, `${path}[${i}]`, out));
      return;
    case 'map':
      if (!isRecord(value)) return;
      for (const [k, v] of Object.entries(value)) walk(v, schema.values, `${path}[${k}]`, out);
      return;
    default: {
      const never: never = schema;
      throw new Error(`schema ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Unknown fields of a decoded object, as paths like "spec.containers[0].imagePolicy". Kinds we
 * serve but have no schema for only get their top level and metadata checked; unknown kinds pass.
 */
export function unknownFields(obj: JsonObject): string[] {
  const apiVersion = typeof obj['apiVersion'] === 'string' ? obj['apiVersion'] : '';
  const kind = typeof obj['kind'] === 'string' ? obj['kind'] : '';
  const schema = schemaFor(apiVersion, kind);
  const out: string[] = [];
  if (schema !== undefined) walk(obj, schema, '', out);
  else if (lookupKind(apiVersion, kind) !== undefined) walk(obj['metadata'], objectMetaSchema, 'metadata', out);
  return out.sort();
}
