import test from 'ava';
import { bootstrapPolicy } from '../../src/apiserver/auth/bootstrap-policy.js';
import { authorize, authorizeNode, type AuthorizationContext } from '../../src/apiserver/auth/node-authorizer.js';
import { PodNodeGraph, podReferences } from '../../src/apiserver/auth/node-graph.js';
import { RbacAuthorizer } from '../../src/apiserver/auth/rbac.js';
import type { RbacPolicy, RequestAttributes } from '../../src/apiserver/auth/rbac-types.js';
import { forbiddenStatusMessage } from '../../src/apiserver/auth/status.js';

const nodeA = { username: 'system:node:node-a', groups: ['system:nodes', 'system:authenticated'] };
const anonymous = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

function pod(ns: string, name: string, nodeName: string, spec: Record<string, unknown> = {}): unknown {
  return { metadata: { namespace: ns, name }, spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }], ...spec } };
}

function graph(): PodNodeGraph {
  const g = new PodNodeGraph();
  g.upsertPod(pod('default', 'pod-a', 'node-a', {
    serviceAccountName: 'sa-a',
    volumes: [{ name: 'v', secret: { secretName: 'secret-a' } }, { name: 'p', projected: { sources: [{ configMap: { name: 'cm-projected' } }] } }],
    containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'cm-a' } }] }],
  }));
  g.upsertPod(pod('default', 'pod-b', 'node-b', { volumes: [{ name: 'v', secret: { secretName: 'secret-b' } }] }));
  g.upsertPod(pod('default', 'pending', ''));
  return g;
}

function context(extra: Partial<RbacPolicy> = {}): AuthorizationContext {
  const boot = bootstrapPolicy();
  const rbac = new RbacAuthorizer();
  rbac.setPolicy(1, {
    roles: [], roleBindings: [], clusterRoles: boot.clusterRoles,
    clusterRoleBindings: [...boot.clusterRoleBindings, ...(extra.clusterRoleBindings ?? [])],
  });
  return { rbac, nodeGraph: graph() };
}

const res = (verb: string, resource: string, more: Partial<RequestAttributes> = {}, user = nodeA): RequestAttributes =>
  ({ user, verb, resource, resourceRequest: true, apiGroup: '', namespace: 'default', ...more });
const node = (verb: string, name: string, subresource = ''): RequestAttributes =>
  res(verb, 'nodes', { namespace: '', name, subresource });

test('a node reads any Node but writes only its own Node object and status', (t) => {
  const ctx = context();
  t.true(authorize(node('get', 'node-b'), ctx).allowed);
  t.true(authorize(res('list', 'nodes', { namespace: '' }), ctx).allowed);
  t.true(authorize(node('create', 'node-a'), ctx).allowed);
  t.true(authorize(node('patch', 'node-a'), ctx).allowed);
  t.true(authorize(node('update', 'node-a', 'status'), ctx).allowed);
  t.deepEqual(authorize(node('patch', 'node-b'), ctx), { allowed: false, reason: 'node "node-a" is not allowed to modify node "node-b"' });
  t.false(authorize(node('patch', 'node-b', 'status'), ctx).allowed);
  t.false(authorize(node('delete', 'node-b'), ctx).allowed);
  t.false(authorize(node('create', ''), ctx).allowed, 'create must name the node');
  t.is(forbiddenStatusMessage(node('patch', 'node-b'), authorize(node('patch', 'node-b'), ctx).reason),
    'nodes "node-b" is forbidden: User "system:node:node-a" cannot patch resource "nodes" in API group "" at the cluster scope: ' +
    'node "node-a" is not allowed to modify node "node-b"');
});

test('a node updates status of, deletes and evicts only pods bound to it', (t) => {
  const ctx = context();
  const podReq = (verb: string, name: string, subresource = '') => res(verb, 'pods', { name, subresource });
  t.true(authorize(podReq('patch', 'pod-a', 'status'), ctx).allowed);
  t.true(authorize(podReq('update', 'pod-a', 'status'), ctx).allowed);
  t.true(authorize(podReq('delete', 'pod-a'), ctx).allowed);
  t.true(authorize(podReq('create', 'pod-a', 'eviction'), ctx).allowed);
  t.deepEqual(authorize(podReq('patch', 'pod-b', 'status'), ctx),
    { allowed: false, reason: 'node "node-a" can only update pod status for pods with spec.nodeName set to itself' });
  t.false(authorize(podReq('delete', 'pod-b'), ctx).allowed);
  t.false(authorize(podReq('patch', 'pending', 'status'), ctx).allowed, 'unscheduled pods are nobody\'s');
  t.false(authorize(podReq('patch', 'missing', 'status'), ctx).allowed);
  t.false(authorize(podReq('create', 'pod-b', 'eviction'), ctx).allowed);
  t.false(authorize(res('create', 'pods'), ctx).allowed, 'no mirror pods');
  t.false(authorize(podReq('patch', 'pod-a'), ctx).allowed, 'a kubelet changes status, not spec');
  t.false(authorize(podReq('create', 'pod-a', 'exec'), ctx).allowed);
  t.true(authorize(res('list', 'pods', { namespace: '' }), ctx).allowed);
  t.true(authorize(podReq('get', 'pod-b'), ctx).allowed);
});

test('a node reads only the secrets, configmaps and service accounts its pods reference', (t) => {
  const ctx = context();
  const get = (resource: string, name: string, more: Partial<RequestAttributes> = {}) => res('get', resource, { name, ...more });
  t.true(authorize(get('secrets', 'secret-a'), ctx).allowed);
  t.true(authorize(res('watch', 'secrets', { name: 'secret-a' }), ctx).allowed, 'watch by metadata.name');
  t.true(authorize(get('configmaps', 'cm-a'), ctx).allowed);
  t.true(authorize(get('configmaps', 'cm-projected'), ctx).allowed);
  t.true(authorize(get('serviceaccounts', 'sa-a'), ctx).allowed);
  t.true(authorize(res('create', 'serviceaccounts', { name: 'sa-a', subresource: 'token' }), ctx).allowed);
  const denied = authorize(get('secrets', 'secret-b'), ctx);
  t.deepEqual(denied, { allowed: false, reason: 'no relationship found between node \'node-a\' and this object' });
  t.is(forbiddenStatusMessage(get('secrets', 'secret-b'), denied.reason),
    'secrets "secret-b" is forbidden: User "system:node:node-a" cannot get resource "secrets" in API group "" in the namespace "default": ' +
    'no relationship found between node \'node-a\' and this object');
  t.false(authorize(get('secrets', 'secret-a', { namespace: 'other' }), ctx).allowed);
  t.deepEqual(authorize(res('list', 'secrets'), ctx), { allowed: false, reason: 'No Object name found' });
  t.deepEqual(authorize(res('update', 'secrets', { name: 'secret-a' }), ctx), { allowed: false, reason: 'can only read resources of this type' });
  t.false(authorize(get('serviceaccounts', 'default'), ctx).allowed);
});

test('a node touches only its own Lease in kube-node-lease, and may create events', (t) => {
  const ctx = context();
  const lease = (verb: string, name: string, namespace = 'kube-node-lease') =>
    res(verb, 'leases', { apiGroup: 'coordination.k8s.io', namespace, name });
  t.true(authorize(lease('create', 'node-a'), ctx).allowed);
  t.true(authorize(lease('update', 'node-a'), ctx).allowed);
  t.true(authorize(lease('get', 'node-a'), ctx).allowed);
  t.deepEqual(authorizeNode(lease('update', 'node-b'), ctx.nodeGraph),
    { decision: 'deny', reason: 'can only access node lease with the same name as the requesting node' });
  t.false(authorize(lease('create', 'node-a', 'kube-system'), ctx).allowed);
  t.false(authorize(lease('get', 'node-b'), ctx).allowed);
  t.true(authorize(res('create', 'events'), ctx).allowed);
  t.true(authorize(res('patch', 'events', { apiGroup: 'events.k8s.io', name: 'e' }), ctx).allowed);
  t.false(authorize(res('delete', 'events', { name: 'e' }), ctx).allowed);
  t.false(authorize(res('create', 'deployments', { apiGroup: 'apps' }), ctx).allowed);
});

test('node restrictions are not overridable by RBAC, but RBAC can grant what nodes have no rule for', (t) => {
  const G = 'rbac.authorization.k8s.io';
  const ctx = context({ clusterRoleBindings: [{
    metadata: { name: 'nodes-are-admins' }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'Group', apiGroup: G, name: 'system:nodes' }],
  }] });
  t.false(authorize(node('patch', 'node-b'), ctx).allowed);
  t.false(authorize(res('patch', 'pods', { name: 'pod-b', subresource: 'status' }), ctx).allowed);
  t.true(authorize(res('get', 'secrets', { name: 'secret-b' }), ctx).allowed, 'reads are no-opinion, as in Kubernetes');
  t.true(authorize(res('create', 'deployments', { apiGroup: 'apps' }), ctx).allowed);
});

test('only system:node:<name> in group system:nodes is treated as a node', (t) => {
  const ctx = context();
  const impostor = { username: 'system:node:node-a', groups: ['system:authenticated'] };
  t.deepEqual(authorizeNode(res('get', 'secrets', { name: 'secret-a' }, impostor), ctx.nodeGraph), { decision: 'no-opinion', reason: '' });
  t.false(authorize(res('get', 'secrets', { name: 'secret-a' }, impostor), ctx).allowed);
  const nameless = { username: 'system:node:', groups: ['system:nodes'] };
  t.deepEqual(authorizeNode(node('get', 'x'), ctx.nodeGraph).decision, 'allow');
  t.deepEqual(authorizeNode({ ...node('get', 'x'), user: nameless }, ctx.nodeGraph),
    { decision: 'no-opinion', reason: 'unknown node for user "system:node:"' });
});

test('the chain: masters always, anonymous gets public info but no resources', (t) => {
  const ctx = context();
  const admin = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
  t.true(authorize(res('delete', 'nodes', { namespace: '', name: 'node-b' }, admin), ctx).allowed);
  const empty: AuthorizationContext = { rbac: new RbacAuthorizer(), nodeGraph: new PodNodeGraph() };
  t.true(authorize(res('delete', 'nodes', { namespace: '', name: 'node-b' }, admin), empty).allowed, 'before any policy is stored');
  t.true(authorize({ user: anonymous, verb: 'get', resourceRequest: false, path: '/healthz' }, ctx).allowed);
  t.true(authorize({ user: anonymous, verb: 'get', resourceRequest: false, path: '/version' }, ctx).allowed);
  const listPods = res('list', 'pods', {}, anonymous);
  const decision = authorize(listPods, ctx);
  t.deepEqual(decision, { allowed: false, reason: '' });
  t.is(forbiddenStatusMessage(listPods, decision.reason),
    'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"');
});

test('the pod graph follows pod updates and deletions, counting shared references', (t) => {
  const g = new PodNodeGraph();
  const spec = { volumes: [{ name: 'v', secret: { secretName: 's' } }] };
  g.upsertPod(pod('ns', 'one', 'n1', spec));
  g.upsertPod(pod('ns', 'two', 'n1', spec));
  g.deletePod('ns', 'one');
  t.true(g.nodeReferences('n1', 'secrets', 'ns', 's'), 'still referenced by pod two');
  g.upsertPod(pod('ns', 'two', 'n2', spec)); // rebound (a new pod with the same name)
  t.false(g.nodeReferences('n1', 'secrets', 'ns', 's'));
  t.true(g.nodeReferences('n2', 'secrets', 'ns', 's'));
  t.is(g.podNodeName('ns', 'two'), 'n2');
  g.deletePod('ns', 'two');
  t.false(g.nodeReferences('n2', 'secrets', 'ns', 's'));
  t.is(g.podNodeName('ns', 'two'), undefined);
  t.is(g.podCount, 0);
  t.deepEqual(podReferences({ spec: {
    imagePullSecrets: [{ name: 'pull' }],
    volumes: [{ name: 'c', persistentVolumeClaim: { claimName: 'data' } }],
    initContainers: [{ name: 'i', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } }] }],
  } }), { secrets: ['pull', 'env-secret'], configmaps: [], persistentvolumeclaims: ['data'], serviceaccounts: ['default'] });
});

test('resource metrics: a node reads any metrics but writes only its own NodeMetrics and the PodMetrics of pods bound to it', (t) => {
  const ctx = context();
  const metrics = (verb: string, resource: 'pods' | 'nodes', name: string, namespace = resource === 'pods' ? 'default' : '') =>
    res(verb, resource, { apiGroup: 'metrics.k8s.io', namespace, name });
  t.true(authorize(metrics('get', 'pods', 'pod-b'), ctx).allowed);
  t.true(authorize(metrics('update', 'nodes', 'node-a'), ctx).allowed);
  t.true(authorize(metrics('create', 'pods', 'pod-a'), ctx).allowed);
  t.true(authorize(metrics('delete', 'pods', 'pod-a'), ctx).allowed);
  t.deepEqual(authorize(metrics('update', 'nodes', 'node-b'), ctx), { allowed: false, reason: 'node "node-a" can only write the NodeMetrics of its own node, not "node-b"' });
  t.deepEqual(authorize(metrics('update', 'pods', 'pod-b'), ctx), { allowed: false, reason: 'node "node-a" can only write PodMetrics of pods with spec.nodeName set to itself' });
  t.false(authorize(metrics('deletecollection', 'pods', ''), ctx).allowed);
});
