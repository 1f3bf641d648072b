/**
 * Defaulting as kube-apiserver does on create and update (SetDefaults_* in pkg/apis/<group>/v1
 * plus the always-on admission defaults: ServiceAccount and Priority). Pure: values that must be
 * generated (uid, timestamps, clusterIP) are not produced here.
 */
import { asArray, asRecord, asString, deepClone, isRecord, type JsonObject } from './types.js';

function obj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isRecord(v)) return v;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function setDefault(target: JsonObject, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

function records(v: unknown): JsonObject[] {
  return asArray(v).filter(isRecord);
}

/** Kubernetes' rule: `:latest` or no tag (and no digest) → Always, otherwise IfNotPresent. */
export function defaultImagePullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) {
    const beforeDigest = image.slice(0, image.indexOf('@'));
    return tagOf(beforeDigest) === 'latest' ? 'Always' : 'IfNotPresent';
  }
  const tag = tagOf(image);
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function tagOf(image: string): string | undefined {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  return colon < 0 ? undefined : lastSegment.slice(colon + 1);
}

function defaultProbe(p: unknown): void {
  if (!isRecord(p)) return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  const http = asRecord(p['httpGet']);
  if (http !== undefined) setDefault(http, 'scheme', 'HTTP');
}

function defaultContainer(c: JsonObject): void {
  const image = asString(c['image']);
  if (image !== undefined) setDefault(c, 'imagePullPolicy', defaultImagePullPolicy(image));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  const resources = obj(c, 'resources');
  const limits = asRecord(resources['limits']);
  if (limits !== undefined && Object.keys(limits).length > 0) {
    // Requests default to limits for every resource that has a limit but no request.
    const requests = obj(resources, 'requests');
    for (const [k, v] of Object.entries(limits)) setDefault(requests, k, v);
  }
  for (const p of records(c['ports'])) setDefault(p, 'protocol', 'TCP');
  for (const e of records(c['env'])) {
    const fieldRef = asRecord(asRecord(e['valueFrom'])?.['fieldRef']);
    if (fieldRef !== undefined) setDefault(fieldRef, 'apiVersion', 'v1');
  }
  defaultProbe(c['livenessProbe']);
  defaultProbe(c['readinessProbe']);
  defaultProbe(c['startupProbe']);
}

const defaultVolumeMode = 0o644;

function defaultVolume(v: JsonObject): void {
  for (const source of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    const s = asRecord(v[source]);
    if (s !== undefined) setDefault(s, 'defaultMode', defaultVolumeMode);
  }
  const hostPath = asRecord(v['hostPath']);
  if (hostPath !== undefined) setDefault(hostPath, 'type', '');
}

/** Pod spec defaults, also applied to every pod template. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'enableServiceLinks', true);
  // ServiceAccount admission: the deprecated serviceAccount field mirrors serviceAccountName.
  const sa = asString(spec['serviceAccountName']) ?? asString(spec['serviceAccount']) ?? 'default';
  spec['serviceAccountName'] = sa;
  spec['serviceAccount'] = sa;
  // spec.priority is not defaulted: Priority admission sets it from the PriorityClass, and refuses a
  // pod whose given value differs (a template defaulted to 0 would make every class but 0 unusable).
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    for (const c of records(spec[key])) defaultContainer(c);
  }
  for (const v of records(spec['volumes'])) defaultVolume(v);
}

function defaultTemplate(spec: JsonObject): void {
  const tmpl = obj(spec, 'template');
  defaultPodSpec(obj(tmpl, 'spec'));
}

function defaultDeployment(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'replicas', 1);
  const strategy = obj(spec, 'strategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] === 'RollingUpdate') {
    const ru = obj(strategy, 'rollingUpdate');
    setDefault(ru, 'maxUnavailable', '25%');
    setDefault(ru, 'maxSurge', '25%');
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultTemplate(spec);
}

function defaultDaemonSet(o: JsonObject): void {
  const spec = obj(o, 'spec');
  const strategy = obj(spec, 'updateStrategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] === 'RollingUpdate') {
    const ru = obj(strategy, 'rollingUpdate');
    setDefault(ru, 'maxUnavailable', 1);
    setDefault(ru, 'maxSurge', 0);
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  defaultTemplate(spec);
}

function defaultStatefulSet(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  const strategy = obj(spec, 'updateStrategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] === 'RollingUpdate') setDefault(obj(strategy, 'rollingUpdate'), 'partition', 0);
  setDefault(spec, 'revisionHistoryLimit', 10);
  const retention = obj(spec, 'persistentVolumeClaimRetentionPolicy');
  setDefault(retention, 'whenDeleted', 'Retain');
  setDefault(retention, 'whenScaled', 'Retain');
  defaultTemplate(spec);
}

function defaultJob(o: JsonObject): void {
  const spec = obj(o, 'spec');
  if (spec['completions'] === undefined && spec['parallelism'] === undefined) {
    spec['completions'] = 1;
    spec['parallelism'] = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  defaultTemplate(spec);
}

function defaultService(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  const type = spec['type'];
  for (const p of records(spec['ports'])) {
    setDefault(p, 'protocol', 'TCP');
    if (p['targetPort'] === undefined || p['targetPort'] === 0 || p['targetPort'] === '') p['targetPort'] = p['port'];
  }
  if (type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (type === 'NodePort' || type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  const ip = asString(spec['clusterIP']);
  if (ip !== undefined && ip !== '' && spec['clusterIPs'] === undefined) spec['clusterIPs'] = [ip];
  if (type !== 'ExternalName' && ip !== undefined && ip !== '' && ip !== 'None') {
    setDefault(spec, 'ipFamilies', [ip.includes(':') ? 'IPv6' : 'IPv4']);
    setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  }
}

function defaultHpa(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'minReplicas', 1);
  if (asArray(spec['metrics']).length === 0) {
    spec['metrics'] = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  }
}

function defaultRbacSubjects(o: JsonObject): void {
  for (const s of records(o['subjects'])) {
    if (s['kind'] === 'User' || s['kind'] === 'Group') setDefault(s, 'apiGroup', 'rbac.authorization.k8s.io');
    else if (s['kind'] === 'ServiceAccount') setDefault(s, 'apiGroup', '');
  }
}

function defaultNamespace(o: JsonObject): void {
  const name = asString(asRecord(o['metadata'])?.['name']);
  // Since 1.21 every namespace carries its own name as an immutable label.
  if (name !== undefined && name !== '') obj(obj(o, 'metadata'), 'labels')['kubernetes.io/metadata.name'] = name;
  const spec = obj(o, 'spec');
  setDefault(spec, 'finalizers', ['kubernetes']);
}

function defaultPorts(list: unknown): void {
  for (const p of records(list)) setDefault(p, 'protocol', 'TCP');
}

function defaultFlowcontrol(o: JsonObject, kind: string): void {
  const spec = obj(o, 'spec');
  if (kind === 'FlowSchema') {
    setDefault(spec, 'matchingPrecedence', 1000);
    return;
  }
  const limited = asRecord(spec['limited']);
  if (limited === undefined) return;
  setDefault(limited, 'nominalConcurrencyShares', 30);
  setDefault(limited, 'lendablePercent', 0);
  const response = obj(limited, 'limitResponse');
  setDefault(response, 'type', 'Reject');
  if (response['type'] === 'Queue') {
    const q = obj(response, 'queuing');
    setDefault(q, 'queues', 64);
    setDefault(q, 'handSize', 8);
    setDefault(q, 'queueLengthLimit', 50);
  }
}

function defaultWebhooks(o: JsonObject, mutating: boolean): void {
  for (const w of records(o['webhooks'])) {
    setDefault(w, 'failurePolicy', 'Fail');
    setDefault(w, 'matchPolicy', 'Equivalent');
    setDefault(w, 'namespaceSelector', {});
    setDefault(w, 'objectSelector', {});
    setDefault(w, 'timeoutSeconds', 10);
    if (mutating) setDefault(w, 'reinvocationPolicy', 'Never');
    for (const r of records(w['rules'])) setDefault(r, 'scope', '*');
    const svc = asRecord(asRecord(w['clientConfig'])?.['service']);
    if (svc !== undefined) setDefault(svc, 'port', 443);
  }
}

function defaultReplicationController(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'replicas', 1);
  const tmpl = obj(spec, 'template');
  const labels = asRecord(asRecord(tmpl['metadata'])?.['labels']);
  // SetDefaults_ReplicationController: selector and labels both default to the template's labels.
  if (labels !== undefined) {
    if (asRecord(spec['selector']) === undefined || Object.keys(asRecord(spec['selector']) ?? {}).length === 0) spec['selector'] = { ...labels };
    const meta = obj(o, 'metadata');
    if (asRecord(meta['labels']) === undefined || Object.keys(asRecord(meta['labels']) ?? {}).length === 0) meta['labels'] = { ...labels };
  }
  defaultPodSpec(obj(tmpl, 'spec'));
}

function defaultCsiDriver(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'attachRequired', true);
  setDefault(spec, 'podInfoOnMount', false);
  setDefault(spec, 'storageCapacity', false);
  setDefault(spec, 'fsGroupPolicy', 'ReadWriteOnceWithFSType');
  setDefault(spec, 'requiresRepublish', false);
  setDefault(spec, 'seLinuxMount', false);
  if (asArray(spec['volumeLifecycleModes']).length === 0) spec['volumeLifecycleModes'] = ['Persistent'];
}

function defaultIngress(o: JsonObject): void {
  for (const r of records(asRecord(o['spec'])?.['rules'])) {
    for (const p of records(asRecord(r['http'])?.['paths'])) setDefault(p, 'pathType', 'ImplementationSpecific');
  }
}

function defaultNetworkPolicy(o: JsonObject): void {
  const spec = obj(o, 'spec');
  setDefault(spec, 'podSelector', {});
  for (const key of ['ingress', 'egress']) {
    for (const rule of records(spec[key])) defaultPorts(rule['ports']);
  }
  // SetDefaults_NetworkPolicy: Ingress always, Egress when egress rules are given.
  if (asArray(spec['policyTypes']).length === 0) spec['policyTypes'] = spec['egress'] !== undefined ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** Returns a defaulted copy of `input`; kinds without defaults are returned as plain copies. */
export function applyDefaults(input: JsonObject): JsonObject {
  const o = deepClone(input);
  const kind = asString(o['kind']) ?? '';
  switch (kind) {
    case 'Pod': defaultPodSpec(obj(o, 'spec')); break;
    case 'Deployment': defaultDeployment(o); break;
    case 'ReplicaSet': setDefault(obj(o, 'spec'), 'replicas', 1); defaultTemplate(obj(o, 'spec')); break;
    case 'DaemonSet': defaultDaemonSet(o); break;
    case 'StatefulSet': defaultStatefulSet(o); break;
    case 'Job': defaultJob(o); break;
    case 'Service': defaultService(o); break;
    case 'Secret': setDefault(o, 'type', 'Opaque'); break;
    case 'Namespace': defaultNamespace(o); break;
    case 'Endpoints': for (const s of records(o['subsets'])) defaultPorts(s['ports']); break;
    case 'EndpointSlice': defaultPorts(o['ports']); break;
    case 'PriorityClass': setDefault(o, 'preemptionPolicy', 'PreemptLowerPriority'); break;
    case 'RoleBinding': case 'ClusterRoleBinding': defaultRbacSubjects(o); break;
    case 'HorizontalPodAutoscaler': defaultHpa(o); break;
    case 'ReplicationController': defaultReplicationController(o); break;
    case 'PodTemplate': defaultPodSpec(obj(obj(o, 'template'), 'spec')); break;
    case 'PersistentVolume': {
      const spec = obj(o, 'spec');
      setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
      setDefault(spec, 'volumeMode', 'Filesystem');
      break;
    }
    case 'PersistentVolumeClaim': setDefault(obj(o, 'spec'), 'volumeMode', 'Filesystem'); break;
    case 'StorageClass':
      setDefault(o, 'reclaimPolicy', 'Delete');
      setDefault(o, 'volumeBindingMode', 'Immediate');
      break;
    case 'CSIDriver': defaultCsiDriver(o); break;
    case 'Ingress': defaultIngress(o); break;
    case 'NetworkPolicy': defaultNetworkPolicy(o); break;
    case 'FlowSchema': case 'PriorityLevelConfiguration': defaultFlowcontrol(o, kind); break;
    case 'MutatingWebhookConfiguration': defaultWebhooks(o, true); break;
    case 'ValidatingWebhookConfiguration': defaultWebhooks(o, false); break;
    default: break;
  }
  return o;
}

/**
 * Job create: without `manualSelector`, Kubernetes generates the selector from the job's uid and
 * labels the template with it (pkg/registry/batch/job strategy generateSelector).
 */
export function generateJobSelector(job: JsonObject, uid: string): JsonObject {
  const o = deepClone(job);
  const spec = obj(o, 'spec');
  if (spec['manualSelector'] === true) return o;
  const name = asString(asRecord(o['metadata'])?.['name']) ?? '';
  const labels = obj(obj(obj(spec, 'template'), 'metadata'), 'labels');
  labels['batch.kubernetes.io/controller-uid'] = uid;
  labels['batch.kubernetes.io/job-name'] = name;
  labels['controller-uid'] = uid;
  labels['job-name'] = name;
  spec['selector'] = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  return o;
}
