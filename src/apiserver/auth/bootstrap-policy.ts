/**
 * The default ClusterRoles and ClusterRoleBindings, reduced from Kubernetes'
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy to what this cluster serves. The apiserver writes
 * them at first start (objects labelled `kubernetes.io/bootstrapping: rbac-defaults`).
 *
 * Deliberate differences from Kubernetes:
 * - admin/edit/view carry their rules directly (no aggregationRule, which the RBAC evaluator does not
 *   implement).
 * - system:kube-controller-manager is broad (every verb but escalate/bind/impersonate on everything):
 *   here one identity runs all controllers, the garbage collector and namespace deletion included,
 *   where Kubernetes gives each controller its own ServiceAccount.
 * - system:coredns (kubeadm's role for cluster DNS) is included, bound to a configurable ServiceAccount.
 * - system:node is bound to nobody, as in Kubernetes since 1.8: kubelets are authorized by the Node
 *   authorizer, which applies the same rules (`nodeRules`) plus per-object relationship checks.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from './rbac-types.js';
import { rbacApiVersion, rbacGroup } from './rbac-types.js';
import { wellKnown } from './user.js';

export const bootstrapLabels: Readonly<Record<string, string>> = Object.freeze({ 'kubernetes.io/bootstrapping': 'rbac-defaults' });
const bootstrapAnnotations: Readonly<Record<string, string>> = Object.freeze({ 'rbac.authorization.kubernetes.io/autoupdate': 'true' });

const read = ['get', 'list', 'watch'] as const;
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'] as const;
const legacy = '';

function rule(verbs: readonly string[], apiGroups: readonly string[], resources: readonly string[], resourceNames?: readonly string[]): PolicyRule {
  return { verbs: [...verbs], apiGroups: [...apiGroups], resources: [...resources], ...(resourceNames ? { resourceNames: [...resourceNames] } : {}) };
}

function nonResource(verbs: readonly string[], urls: readonly string[]): PolicyRule {
  return { verbs: [...verbs], nonResourceURLs: [...urls] };
}

function clusterRole(name: string, rules: readonly PolicyRule[], extraLabels: Record<string, string> = {}): ClusterRole {
  return {
    apiVersion: rbacApiVersion, kind: 'ClusterRole',
    metadata: { name, labels: { ...bootstrapLabels, ...extraLabels }, annotations: { ...bootstrapAnnotations } },
    rules: [...rules],
  };
}

function binding(name: string, roleName: string, subjects: readonly Subject[]): ClusterRoleBinding {
  return {
    apiVersion: rbacApiVersion, kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...bootstrapLabels }, annotations: { ...bootstrapAnnotations } },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: roleName },
    subjects: [...subjects],
  };
}

const group = (name: string): Subject => ({ kind: 'Group', apiGroup: rbacGroup, name });
const user = (name: string): Subject => ({ kind: 'User', apiGroup: rbacGroup, name });

/** Non-resource URLs anyone may read (Kubernetes' system:public-info-viewer). */
const publicInfoUrls: readonly string[] = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

const viewRules: readonly PolicyRule[] = [
  rule(read, [legacy], ['pods', 'pods/log', 'pods/status', 'persistentvolumeclaims', 'persistentvolumeclaims/status',
    'replicationcontrollers', 'replicationcontrollers/scale', 'replicationcontrollers/status', 'serviceaccounts',
    'services', 'services/status', 'configmaps', 'endpoints', 'events', 'limitranges', 'resourcequotas',
    'resourcequotas/status', 'bindings', 'namespaces', 'namespaces/status']),
  rule(read, ['apps'], ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale',
    'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets',
    'statefulsets/scale', 'statefulsets/status']),
  rule(read, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(read, ['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']),
  rule(read, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(read, ['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies']),
  rule(read, ['discovery.k8s.io'], ['endpointslices']),
  rule(read, ['events.k8s.io'], ['events']),
];

const editRules: readonly PolicyRule[] = [
  ...viewRules,
  rule(read, [legacy], ['secrets', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'services/proxy']),
  rule(['impersonate'], [legacy], ['serviceaccounts']),
  rule(write, [legacy], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy']),
  rule(['create'], [legacy], ['pods/eviction', 'serviceaccounts/token']),
  rule(write, [legacy], ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers',
    'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy']),
  rule(write, ['apps'], ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets',
    'replicasets/scale', 'statefulsets', 'statefulsets/scale']),
  rule(write, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(write, ['batch'], ['cronjobs', 'jobs']),
  rule(write, ['policy'], ['poddisruptionbudgets']),
  rule(write, ['networking.k8s.io'], ['ingresses', 'networkpolicies']),
  rule(write, ['discovery.k8s.io'], ['endpointslices']),
  rule(write, ['events.k8s.io'], ['events']),
];

const adminRules: readonly PolicyRule[] = [
  ...editRules,
  rule([...read, ...write], [rbacGroup], ['roles', 'rolebindings']),
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
];

/**
 * What a kubelet may do, before the Node authorizer's per-object checks (Kubernetes' NodeRules).
 * Nodes create their own Node object and Lease, report status, read what their pods reference.
 */
export const nodeRules: readonly PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(read, [legacy], ['services', 'endpoints']),
  rule(['create', ...read, 'patch', 'update', 'delete'], [legacy], ['nodes']),
  rule(['patch', 'update'], [legacy], ['nodes/status']),
  rule(['create', 'update', 'patch'], [legacy], ['events']),
  rule(['create', 'update', 'patch'], ['events.k8s.io'], ['events']),
  // Resource metrics (the node authorizer narrows writes to the node's own objects).
  rule(['create', ...read, 'update', 'delete'], ['metrics.k8s.io'], ['pods', 'nodes']),
  rule(read, [legacy], ['pods']),
  rule(['create', 'delete'], [legacy], ['pods']),
  rule(['update', 'patch'], [legacy], ['pods/status']),
  rule(['create'], [legacy], ['pods/eviction']),
  rule(read, [legacy], ['configmaps', 'secrets']),
  rule(['get'], [legacy], ['persistentvolumeclaims', 'persistentvolumes', 'serviceaccounts']),
  rule(['update', 'patch'], [legacy], ['persistentvolumeclaims/status']),
  rule(['create'], [legacy], ['serviceaccounts/token']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  rule(read, ['node.k8s.io'], ['runtimeclasses']),
  rule(read, ['storage.k8s.io'], ['csidrivers', 'csinodes', 'volumeattachments']),
];

const schedulerRules: readonly PolicyRule[] = [
  rule(['create', 'patch', 'update'], [legacy, 'events.k8s.io'], ['events']),
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
  rule(['create'], [legacy], ['endpoints']),
  rule(['get', 'update'], [legacy], ['endpoints'], ['kube-scheduler']),
  rule(read, [legacy], ['nodes', 'namespaces', 'configmaps']),
  rule(['delete', ...read], [legacy], ['pods']),
  rule(['create'], [legacy], ['bindings', 'pods/binding']),
  rule(['patch', 'update'], [legacy], ['pods/status']),
  rule(['list', 'watch'], [legacy], ['replicationcontrollers', 'services', 'persistentvolumeclaims', 'persistentvolumes']),
  rule(['list', 'watch'], ['apps'], ['replicasets', 'statefulsets']),
  rule(['list', 'watch'], ['policy'], ['poddisruptionbudgets']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  rule(['list', 'watch'], ['storage.k8s.io'], ['csinodes', 'csidrivers', 'csistoragecapacities', 'storageclasses']),
];

const controllerManagerRules: readonly PolicyRule[] = [
  rule([...read, ...write], ['*'], ['*']),
  nonResource(['get'], ['/healthz', '/livez', '/readyz', '/version', '/api', '/api/*', '/apis', '/apis/*']),
];

const nodeProxierRules: readonly PolicyRule[] = [
  rule(['list', 'watch'], [legacy], ['services', 'endpoints']),
  rule(read, [legacy], ['nodes']),
  rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
  rule(['create', 'patch', 'update'], [legacy, 'events.k8s.io'], ['events']),
];

const corednsRules: readonly PolicyRule[] = [
  rule(['list', 'watch'], [legacy], ['endpoints', 'services', 'pods', 'namespaces']),
  rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
];

export interface BootstrapPolicyOptions {
  /** The ServiceAccount cluster DNS pods run as (bound to system:coredns). */
  readonly dnsServiceAccount?: { readonly namespace: string; readonly name: string };
}

const defaultDnsServiceAccount = { namespace: 'kube-system', name: 'coredns' } as const;

export interface BootstrapPolicy {
  readonly clusterRoles: readonly ClusterRole[];
  readonly clusterRoleBindings: readonly ClusterRoleBinding[];
}

export function bootstrapPolicy(options: BootstrapPolicyOptions = {}): BootstrapPolicy {
  const dns = options.dnsServiceAccount ?? defaultDnsServiceAccount;
  const authenticated = group(wellKnown.authenticatedGroup);
  const clusterRoles = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), nonResource(['*'], ['*'])]),
    clusterRole('admin', adminRules),
    clusterRole('edit', editRules),
    clusterRole('view', viewRules),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:discovery', [nonResource(['get'],
      ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'])]),
    clusterRole('system:public-info-viewer', [nonResource(['get'], publicInfoUrls)]),
    clusterRole('system:service-account-issuer-discovery', [nonResource(['get'], ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'])]),
    clusterRole('system:kube-scheduler', schedulerRules),
    clusterRole('system:kube-controller-manager', controllerManagerRules),
    clusterRole('system:node', nodeRules),
    clusterRole('system:node-proxier', nodeProxierRules),
    clusterRole('system:coredns', corednsRules),
  ];
  const clusterRoleBindings = [
    binding('cluster-admin', 'cluster-admin', [group(wellKnown.mastersGroup)]),
    binding('system:basic-user', 'system:basic-user', [authenticated]),
    binding('system:discovery', 'system:discovery', [authenticated]),
    binding('system:public-info-viewer', 'system:public-info-viewer', [authenticated, group(wellKnown.unauthenticatedGroup)]),
    binding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group(wellKnown.serviceAccountsGroup)]),
    binding('system:kube-scheduler', 'system:kube-scheduler', [user(wellKnown.schedulerUser)]),
    binding('system:kube-controller-manager', 'system:kube-controller-manager', [user(wellKnown.controllerManagerUser)]),
    binding('system:node', 'system:node', []),
    binding('system:node-proxier', 'system:node-proxier', [user(wellKnown.kubeProxyUser)]),
    binding('system:coredns', 'system:coredns', [{ kind: 'ServiceAccount', name: dns.name, namespace: dns.namespace }]),
  ];
  return { clusterRoles, clusterRoleBindings };
}
