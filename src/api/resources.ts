/**
 * The served resources and their discovery documents (classic and aggregated v2), modelled on
 * what kube-apiserver 1.32 advertises for the same kinds.
 */
import type { StructuralSchema } from './structural.js';
import { joinApiVersion } from './types.js';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export interface SubresourceInfo {
  /** "status", "scale", "eviction", "binding", "log". */
  readonly name: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly verbs: readonly Verb[];
}

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly resource: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly Verb[];
  readonly hasStatus: boolean;
  readonly subresources: readonly SubresourceInfo[];
  /**
   * The storage key's collection segment when `resource` alone would collide with another group's
   * (metrics.k8s.io's `pods`); kube-apiserver keys such resources by group too.
   */
  readonly storageResource?: string;
  /** Served from a CustomResourceDefinition (crd.ts): its schema, printer columns and scale paths. */
  readonly custom?: CustomResourceInfo;
}

/** A CRD's additionalPrinterColumns entry. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
  readonly jsonPath: string;
}

/** The scale subresource of a CRD version: where replicas and the selector live in the custom object. */
export interface ScalePaths {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

export interface CustomResourceInfo {
  /** The CustomResourceDefinition's name (<plural>.<group>). */
  readonly crdName: string;
  readonly schema: StructuralSchema;
  readonly columns: readonly PrinterColumn[];
  readonly scale?: ScalePaths;
}

const allVerbs: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const statusVerbs: readonly Verb[] = ['get', 'patch', 'update'];

interface Spec {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  shortNames?: string[];
  all?: boolean;
  status?: boolean;
  scale?: boolean;
  verbs?: readonly Verb[];
  extra?: SubresourceInfo[];
  /** Key the objects under <group>/<resource> (a resource name another group also uses). */
  groupInStorageKey?: boolean;
}

const specs: readonly Spec[] = [
  { group: '', version: 'v1', kind: 'Namespace', resource: 'namespaces', namespaced: false, shortNames: ['ns'], status: true,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    // The namespace controller empties spec.finalizers through this subresource.
    extra: [{ name: 'finalize', group: '', version: 'v1', kind: 'Namespace', verbs: ['update'] }] },
  { group: '', version: 'v1', kind: 'Node', resource: 'nodes', namespaced: false, shortNames: ['no'], status: true },
  { group: '', version: 'v1', kind: 'Pod', resource: 'pods', namespaced: true, shortNames: ['po'], all: true, status: true,
    extra: [
      { name: 'binding', group: '', version: 'v1', kind: 'Binding', verbs: ['create'] },
      { name: 'eviction', group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
      { name: 'log', group: '', version: 'v1', kind: 'Pod', verbs: ['get'] },
      // Streams (WebSocket upgrades); upstream advertises them with these option kinds and verbs.
      { name: 'exec', group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'attach', group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'portforward', group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
    ] },
  { group: '', version: 'v1', kind: 'Service', resource: 'services', namespaced: true, shortNames: ['svc'], all: true, status: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', version: 'v1', kind: 'Endpoints', resource: 'endpoints', namespaced: true, shortNames: ['ep'] },
  { group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true, shortNames: ['sa'],
    extra: [{ name: 'token', group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }] },
  { group: '', version: 'v1', kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'] },
  { group: '', version: 'v1', kind: 'ResourceQuota', resource: 'resourcequotas', namespaced: true, shortNames: ['quota'], status: true },
  { group: '', version: 'v1', kind: 'LimitRange', resource: 'limitranges', namespaced: true, shortNames: ['limits'] },
  { group: '', version: 'v1', kind: 'PodTemplate', resource: 'podtemplates', namespaced: true },
  { group: '', version: 'v1', kind: 'ReplicationController', resource: 'replicationcontrollers', namespaced: true, shortNames: ['rc'], all: true, status: true, scale: true },
  { group: '', version: 'v1', kind: 'PersistentVolume', resource: 'persistentvolumes', namespaced: false, shortNames: ['pv'], status: true },
  { group: '', version: 'v1', kind: 'PersistentVolumeClaim', resource: 'persistentvolumeclaims', namespaced: true, shortNames: ['pvc'], status: true },
  // Computed on each read from the store's health (pkg/registry/core/componentstatus), never stored.
  { group: '', version: 'v1', kind: 'ComponentStatus', resource: 'componentstatuses', namespaced: false, shortNames: ['cs'], verbs: ['get', 'list'] },
  // One per served group-version, computed (kube-apiserver's autoregister controller keeps stored
  // copies of the same objects; nothing here is aggregated, so every one is Local and Available).
  { group: 'apiregistration.k8s.io', version: 'v1', kind: 'APIService', resource: 'apiservices', namespaced: false, verbs: ['get', 'list'] },
  { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments', namespaced: true, shortNames: ['deploy'], all: true, status: true, scale: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', resource: 'replicasets', namespaced: true, shortNames: ['rs'], all: true, status: true, scale: true },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true, shortNames: ['ds'], all: true, status: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', resource: 'statefulsets', namespaced: true, shortNames: ['sts'], all: true, status: true, scale: true },
  { group: 'apps', version: 'v1', kind: 'ControllerRevision', resource: 'controllerrevisions', namespaced: true },
  // Upstream stores these in the same place as core v1 Events (one object, two views); here they are
  // their own collection, so an events.k8s.io Event is not listed by /api/v1/events and vice versa.
  { group: 'events.k8s.io', version: 'v1', kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'], groupInStorageKey: true },
  // Create-only reviews: answered from the authenticator and the authorizer, never stored (src/apiserver/access-review.ts).
  { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', resource: 'selfsubjectreviews', namespaced: false, verbs: ['create'] },
  { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenReview', resource: 'tokenreviews', namespaced: false, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'LocalSubjectAccessReview', resource: 'localsubjectaccessreviews', namespaced: true, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', resource: 'selfsubjectaccessreviews', namespaced: false, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', resource: 'selfsubjectrulesreviews', namespaced: false, verbs: ['create'] },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', resource: 'subjectaccessreviews', namespaced: false, verbs: ['create'] },
  { group: 'batch', version: 'v1', kind: 'Job', resource: 'jobs', namespaced: true, all: true, status: true },
  { group: 'batch', version: 'v1', kind: 'CronJob', resource: 'cronjobs', namespaced: true, shortNames: ['cj'], all: true, status: true },
  { group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', resource: 'certificatesigningrequests', namespaced: false,
    shortNames: ['csr'], status: true,
    extra: [{ name: 'approval', group: 'certificates.k8s.io', version: 'v1', kind: 'CertificateSigningRequest', verbs: ['get', 'patch', 'update'] }] },
  { group: 'networking.k8s.io', version: 'v1', kind: 'IngressClass', resource: 'ingressclasses', namespaced: false },
  { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress', resource: 'ingresses', namespaced: true, shortNames: ['ing'], status: true },
  { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', resource: 'networkpolicies', namespaced: true, shortNames: ['netpol'] },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', resource: 'leases', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', resource: 'endpointslices', namespaced: true },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', resource: 'poddisruptionbudgets', namespaced: true, shortNames: ['pdb'], status: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', resource: 'roles', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', resource: 'clusterroles', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', resource: 'rolebindings', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', resource: 'clusterrolebindings', namespaced: false },
  { group: 'storage.k8s.io', version: 'v1', kind: 'CSIDriver', resource: 'csidrivers', namespaced: false },
  { group: 'storage.k8s.io', version: 'v1', kind: 'CSINode', resource: 'csinodes', namespaced: false },
  { group: 'storage.k8s.io', version: 'v1', kind: 'StorageClass', resource: 'storageclasses', namespaced: false, shortNames: ['sc'] },
  { group: 'storage.k8s.io', version: 'v1', kind: 'VolumeAttachment', resource: 'volumeattachments', namespaced: false, status: true },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', resource: 'mutatingwebhookconfigurations', namespaced: false },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', resource: 'validatingwebhookconfigurations', namespaced: false },
  { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', resource: 'customresourcedefinitions', namespaced: false,
    shortNames: ['crd', 'crds'], status: true },
  { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', resource: 'priorityclasses', namespaced: false, shortNames: ['pc'] },
  // The kubelet resolves a pod's runtimeClassName to the runtime handler through these (`process` is built in).
  { group: 'node.k8s.io', version: 'v1', kind: 'RuntimeClass', resource: 'runtimeclasses', namespaced: false },
  { group: 'flowcontrol.apiserver.k8s.io', version: 'v1', kind: 'FlowSchema', resource: 'flowschemas', namespaced: false, status: true },
  { group: 'flowcontrol.apiserver.k8s.io', version: 'v1', kind: 'PriorityLevelConfiguration', resource: 'prioritylevelconfigurations', namespaced: false, status: true },
  { group: 'autoscaling', version: 'v2', kind: 'HorizontalPodAutoscaler', resource: 'horizontalpodautoscalers', namespaced: true,
    shortNames: ['hpa'], all: true, status: true },
  // metrics-server's API (read by `kubectl top` and the HPA). Written by whoever measures usage:
  // tests today, the kubelets once they report it.
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics', resource: 'pods', namespaced: true, groupInStorageKey: true },
  { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'NodeMetrics', resource: 'nodes', namespaced: false, groupInStorageKey: true },
];

function build(s: Spec): ResourceInfo {
  const subs: SubresourceInfo[] = [];
  if (s.status === true) subs.push({ name: 'status', group: s.group, version: s.version, kind: s.kind, verbs: statusVerbs });
  if (s.scale === true) subs.push({ name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: statusVerbs });
  subs.push(...(s.extra ?? []));
  subs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    group: s.group, version: s.version, kind: s.kind, listKind: `${s.kind}List`, resource: s.resource,
    singular: s.kind.toLowerCase(), namespaced: s.namespaced, shortNames: s.shortNames ?? [],
    categories: s.all === true ? ['all'] : [], verbs: s.verbs ?? allVerbs, hasStatus: s.status === true, subresources: subs,
    ...(s.groupInStorageKey === true ? { storageResource: `${s.group}/${s.resource}` } : {}),
  };
}

export const resources: readonly ResourceInfo[] = specs.map(build);

const byGvr = new Map(resources.map((r) => [`${r.group}/${r.version}/${r.resource}`, r]));
// A resource listed twice would be served, discovered and watched twice.
if (byGvr.size !== resources.length) throw new Error('api resources: a group/version/resource is listed twice');

export function lookupResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return byGvr.get(`${group}/${version}/${resource}`);
}

export function lookupKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resources.find((r) => joinApiVersion(r.group, r.version) === apiVersion && r.kind === kind);
}

/**
 * Resolves what a user types ("po", "pod", "pods", "Pod", "deployments.apps", "deploy") like
 * kubectl's RESTMapper: plural, singular, short name or kind, optionally qualified by group.
 */
export function resolveResourceName(input: string): ResourceInfo | undefined {
  const dot = input.indexOf('.');
  const name = (dot < 0 ? input : input.slice(0, dot));
  const group = dot < 0 ? undefined : input.slice(dot + 1);
  const lower = name.toLowerCase();
  return resources.find((r) => (group === undefined || r.group === group) &&
    (r.resource === lower || r.singular === lower || r.shortNames.includes(lower)));
}

export function findSubresource(info: ResourceInfo, name: string): SubresourceInfo | undefined {
  return info.subresources.find((s) => s.name === name);
}

export function resourcesInCategory(category: string): ResourceInfo[] {
  return resources.filter((r) => r.categories.includes(category));
}

const registryRoot = '/registry';

/** The etcd key of one object: /registry/<resource>/<ns>/<name>, or /registry/<resource>/<name>. */
export function storageKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  if (name === '' || name.includes('/')) throw new Error(`invalid object name for a storage key: ${JSON.stringify(name)}`);
  const collection = info.storageResource ?? info.resource;
  if (!info.namespaced) return `${registryRoot}/${collection}/${name}`;
  if (namespace === undefined || namespace === '') throw new Error(`${info.resource} is namespaced: a namespace is required`);
  return `${registryRoot}/${collection}/${namespace}/${name}`;
}

/** The key prefix of a collection: every namespace when `namespace` is omitted. Ends with "/". */
export function storagePrefix(info: ResourceInfo, namespace?: string): string {
  const collection = info.storageResource ?? info.resource;
  if (info.namespaced && namespace !== undefined && namespace !== '') return `${registryRoot}/${collection}/${namespace}/`;
  return `${registryRoot}/${collection}/`;
}

// ---------------------------------------------------------------------------------------------
// Discovery

/** Group-versions served, in Kubernetes' priority order (core first, then as kube-apiserver lists them). */
export function servedGroupVersions(extra: readonly ResourceInfo[] = []): Array<{ group: string; version: string }> {
  const seen = new Set<string>();
  const out: Array<{ group: string; version: string }> = [];
  for (const r of [...resources, ...extra]) {
    const key = joinApiVersion(r.group, r.version);
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ group: r.group, version: r.version });
    }
  }
  return out;
}

export interface ServerAddress {
  clientCIDR: string;
  serverAddress: string;
}

/** GET /api (classic). */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** GET /apis (classic). */
export function apiGroupList(extra: readonly ResourceInfo[] = []): Record<string, unknown> {
  const groups = new Map<string, string[]>();
  for (const { group, version } of servedGroupVersions(extra)) {
    if (group === '') continue;
    const vs = groups.get(group) ?? [];
    vs.push(version);
    groups.set(group, vs);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => ({
      name,
      versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${versions[0] ?? ''}`, version: versions[0] ?? '' },
    })),
  };
}

/** GET /api/v1 or /apis/<g>/<v> (classic), or undefined when that group-version is not served. */
export function apiResourceList(group: string, version: string, extra: readonly ResourceInfo[] = []): Record<string, unknown> | undefined {
  const rs = [...resources, ...extra].filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const entries: Record<string, unknown>[] = [];
  for (const r of rs) {
    const e: Record<string, unknown> = { name: r.resource, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: [...r.verbs] };
    if (r.shortNames.length > 0) e['shortNames'] = [...r.shortNames];
    if (r.categories.length > 0) e['categories'] = [...r.categories];
    entries.push(e);
    for (const s of r.subresources) {
      const se: Record<string, unknown> = { name: `${r.resource}/${s.name}`, singularName: '', namespaced: r.namespaced };
      if (s.group !== r.group || s.version !== r.version) {
        se['group'] = s.group;
        se['version'] = s.version;
      }
      se['kind'] = s.kind;
      se['verbs'] = [...s.verbs];
      entries.push(se);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: joinApiVersion(group, version), resources: entries };
}

export const aggregatedDiscoveryMediaType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function discoveryResource(r: ResourceInfo): Record<string, unknown> {
  const e: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length > 0) e['shortNames'] = [...r.shortNames];
  if (r.categories.length > 0) e['categories'] = [...r.categories];
  if (r.subresources.length > 0) {
    e['subresources'] = r.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group, version: s.version, kind: s.kind },
      verbs: [...s.verbs],
    }));
  }
  return e;
}

function discoveryGroup(group: string, extra: readonly ResourceInfo[]): Record<string, unknown> {
  const all = [...resources, ...extra];
  const versions = servedGroupVersions(extra).filter((gv) => gv.group === group).map((gv) => ({
    version: gv.version,
    resources: all.filter((r) => r.group === group && r.version === gv.version).map(discoveryResource),
    freshness: 'Current',
  }));
  const metadata: Record<string, unknown> = { creationTimestamp: null };
  if (group !== '') metadata['name'] = group;
  return { metadata, versions };
}

/**
 * apidiscovery.k8s.io/v2 APIGroupDiscoveryList: `/api` (scope 'core': one unnamed group holding v1)
 * or `/apis` (scope 'groups': every named group). Serve with Content-Type `aggregatedDiscoveryMediaType`.
 */
export function aggregatedDiscovery(scope: 'core' | 'groups', extra: readonly ResourceInfo[] = []): Record<string, unknown> {
  const groups = scope === 'core' ? [''] : [...new Set(servedGroupVersions(extra).map((gv) => gv.group).filter((g) => g !== ''))];
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: groups.map((g) => discoveryGroup(g, extra)) };
}

/** True when an Accept header asks for aggregated discovery v2 (kubectl 1.32 does; it falls back otherwise). */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}
