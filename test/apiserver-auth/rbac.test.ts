import test from 'ava';
import fc from 'fast-check';
import { bootstrapPolicy, bootstrapLabels } from '../../src/apiserver/auth/bootstrap-policy.js';
import {
  RbacAuthorizer, authorizeRbac, buildRbacIndex, ruleAllows,
} from '../../src/apiserver/auth/rbac.js';
import type {
  ClusterRoleBinding, PolicyRule, RbacPolicy, RequestAttributes, Role, RoleBinding, Subject,
} from '../../src/apiserver/auth/rbac-types.js';
import { forbiddenStatus, forbiddenStatusMessage } from '../../src/apiserver/auth/status.js';

const G = 'rbac.authorization.k8s.io';
const jane = { username: 'jane', groups: ['devs', 'system:authenticated'] };
const boot = bootstrapPolicy();

function policy(extra: Partial<RbacPolicy> = {}): RbacPolicy {
  return {
    roles: extra.roles ?? [],
    clusterRoles: [...boot.clusterRoles, ...(extra.clusterRoles ?? [])],
    roleBindings: extra.roleBindings ?? [],
    clusterRoleBindings: [...boot.clusterRoleBindings, ...(extra.clusterRoleBindings ?? [])],
  };
}

const res = (user: RequestAttributes['user'], verb: string, resource: string, more: Partial<RequestAttributes> = {}): RequestAttributes =>
  ({ user, verb, resource, resourceRequest: true, apiGroup: '', namespace: 'default', ...more });
const url = (user: RequestAttributes['user'], verb: string, path: string): RequestAttributes =>
  ({ user, verb, path, resourceRequest: false });

function role(ns: string, name: string, rules: PolicyRule[]): Role {
  return { metadata: { name, namespace: ns }, rules };
}
function roleBinding(ns: string, name: string, roleRef: { kind: string; name: string }, subjects: Subject[]): RoleBinding {
  return { metadata: { name, namespace: ns }, roleRef: { apiGroup: G, ...roleRef }, subjects };
}
function clusterBinding(name: string, roleName: string, subjects: Subject[]): ClusterRoleBinding {
  return { metadata: { name }, roleRef: { apiGroup: G, kind: 'ClusterRole', name: roleName }, subjects };
}
const userSubject = (name: string): Subject => ({ kind: 'User', apiGroup: G, name });

test('cluster-admin (group system:masters) is allowed everything, resources and paths', (t) => {
  const index = buildRbacIndex(policy());
  const admin = { username: 'admin', groups: ['system:masters', 'system:authenticated'] };
  for (const attrs of [
    res(admin, 'delete', 'nodes', { namespace: '', name: 'worker-1' }),
    res(admin, 'escalate', 'clusterroles', { apiGroup: G, namespace: '' }),
    res(admin, 'get', 'pods', { subresource: 'log', name: 'p' }),
    url(admin, 'post', '/anything/at/all'),
  ]) {
    t.deepEqual(authorizeRbac(index, attrs),
      { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"' });
  }
  t.false(authorizeRbac(index, res(jane, 'list', 'pods')).allowed);
});

test('a RoleBinding grants only in its own namespace, whether it refers to a Role or a ClusterRole', (t) => {
  const index = buildRbacIndex(policy({
    roles: [role('team-a', 'pod-reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }])],
    roleBindings: [
      roleBinding('team-a', 'read-pods', { kind: 'Role', name: 'pod-reader' }, [userSubject('jane')]),
      roleBinding('team-b', 'viewers', { kind: 'ClusterRole', name: 'view' }, [{ kind: 'Group', apiGroup: G, name: 'devs' }]),
      // A Role of that name in another namespace is not this binding's role.
      roleBinding('team-c', 'read-pods', { kind: 'Role', name: 'pod-reader' }, [userSubject('jane')]),
    ],
  }));
  t.deepEqual(authorizeRbac(index, res(jane, 'list', 'pods', { namespace: 'team-a' })),
    { allowed: true, reason: 'RBAC: allowed by RoleBinding "read-pods/team-a" of Role "pod-reader" to User "jane"' });
  t.false(authorizeRbac(index, res(jane, 'delete', 'pods', { namespace: 'team-a', name: 'p' })).allowed);
  t.true(authorizeRbac(index, res(jane, 'list', 'deployments', { namespace: 'team-b', apiGroup: 'apps' })).allowed);
  t.false(authorizeRbac(index, res(jane, 'list', 'secrets', { namespace: 'team-b' })).allowed, 'view excludes secrets');
  t.false(authorizeRbac(index, res(jane, 'list', 'pods', { namespace: 'default' })).allowed);
  t.false(authorizeRbac(index, res(jane, 'list', 'pods', { namespace: '' })).allowed, 'not at cluster scope');
  t.deepEqual(authorizeRbac(index, res(jane, 'list', 'pods', { namespace: 'team-c' })),
    { allowed: false, reason: 'RBAC: role.rbac.authorization.k8s.io "pod-reader" not found' });
});

test('ServiceAccount subjects: a RoleBinding may omit the namespace, a ClusterRoleBinding may not', (t) => {
  const sa = { username: 'system:serviceaccount:team-a:ci', groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'] };
  const index = buildRbacIndex(policy({
    roleBindings: [roleBinding('team-a', 'ci-edit', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'ServiceAccount', name: 'ci' }])],
    clusterRoleBindings: [
      clusterBinding('ci-nodes', 'system:node-proxier', [{ kind: 'ServiceAccount', name: 'ci' }]),
      clusterBinding('ci-dns', 'system:coredns', [{ kind: 'ServiceAccount', name: 'ci', namespace: 'team-a' }]),
    ],
  }));
  t.deepEqual(authorizeRbac(index, res(sa, 'create', 'deployments', { apiGroup: 'apps', namespace: 'team-a' })),
    { allowed: true, reason: 'RBAC: allowed by RoleBinding "ci-edit/team-a" of ClusterRole "edit" to ServiceAccount "ci/team-a"' });
  t.false(authorizeRbac(index, res(sa, 'get', 'nodes', { namespace: '', name: 'n' })).allowed);
  t.true(authorizeRbac(index, res(sa, 'watch', 'services', { namespace: '' })).allowed);
  t.true(authorizeRbac(index, url(sa, 'get', '/openid/v1/jwks')).allowed, 'issuer discovery for every ServiceAccount');
});

test('resourceNames restrict named requests and never match unnamed ones (list, create)', (t) => {
  const index = buildRbacIndex(policy({
    roles: [role('default', 'one-config', [{ verbs: ['get', 'update', 'list', 'create'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['app-config'] }])],
    roleBindings: [roleBinding('default', 'b', { kind: 'Role', name: 'one-config' }, [userSubject('jane')])],
  }));
  t.true(authorizeRbac(index, res(jane, 'get', 'configmaps', { name: 'app-config' })).allowed);
  t.true(authorizeRbac(index, res(jane, 'update', 'configmaps', { name: 'app-config' })).allowed);
  t.false(authorizeRbac(index, res(jane, 'get', 'configmaps', { name: 'other' })).allowed);
  t.false(authorizeRbac(index, res(jane, 'list', 'configmaps')).allowed);
  t.false(authorizeRbac(index, res(jane, 'create', 'configmaps')).allowed);
});

test('subresources: exact pods/log, */scale, and * covers subresources; a rule on pods does not', (t) => {
  const attrs = (resource: string, subresource: string, apiGroup = ''): RequestAttributes =>
    res(jane, 'get', resource, { subresource, apiGroup, name: 'x' });
  const rule = (resources: string[], apiGroups = ['', 'apps']): PolicyRule => ({ verbs: ['get'], apiGroups, resources });
  t.false(ruleAllows(attrs('pods', 'log'), rule(['pods'])));
  t.true(ruleAllows(attrs('pods', 'log'), rule(['pods/log'])));
  t.false(ruleAllows(attrs('pods', ''), rule(['pods/log'])));
  t.false(ruleAllows(attrs('pods', 'status'), rule(['pods/log'])));
  t.true(ruleAllows(attrs('deployments', 'scale', 'apps'), rule(['*/scale'])));
  t.false(ruleAllows(attrs('deployments', '', 'apps'), rule(['*/scale'])));
  t.true(ruleAllows(attrs('pods', 'log'), rule(['*'])));
  t.false(ruleAllows(attrs('deployments', 'scale', 'batch'), rule(['*/scale'])), 'API group still has to match');
  t.true(ruleAllows(attrs('jobs', '', 'batch'), rule(['jobs'], ['*'])));
});

test('nonResourceURLs: exact paths and trailing-star prefixes; resource rules never match paths', (t) => {
  const rule: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*', '/logs*'] };
  t.true(ruleAllows(url(jane, 'get', '/healthz'), rule));
  t.false(ruleAllows(url(jane, 'get', '/healthz/etcd'), rule));
  t.true(ruleAllows(url(jane, 'get', '/apis/apps/v1'), rule));
  t.true(ruleAllows(url(jane, 'get', '/apis/'), rule));
  t.false(ruleAllows(url(jane, 'get', '/apis'), rule));
  t.true(ruleAllows(url(jane, 'get', '/logs'), rule));
  t.true(ruleAllows(url(jane, 'get', '/logsomething'), rule));
  t.false(ruleAllows(url(jane, 'post', '/healthz'), rule));
  t.false(ruleAllows(url(jane, 'get', '/healthz'), { verbs: ['*'], apiGroups: ['*'], resources: ['*'] }));
  t.false(ruleAllows(res(jane, 'get', 'pods'), { verbs: ['*'], nonResourceURLs: ['*'] }));
});

test('default policy: public info for anyone, discovery for the authenticated, component identities scoped', (t) => {
  const index = buildRbacIndex(policy());
  const anonymous = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  for (const path of ['/healthz', '/livez', '/readyz', '/version', '/version/']) {
    t.true(authorizeRbac(index, url(anonymous, 'get', path)).allowed, path);
  }
  t.false(authorizeRbac(index, url(anonymous, 'get', '/api')).allowed);
  t.true(authorizeRbac(index, url(jane, 'get', '/apis/apps/v1')).allowed);
  t.false(authorizeRbac(index, url(jane, 'get', '/metrics')).allowed);
  t.false(authorizeRbac(index, res(anonymous, 'list', 'pods')).allowed);
  t.true(authorizeRbac(index, res(jane, 'create', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io', namespace: '' })).allowed);

  const scheduler = { username: 'system:kube-scheduler', groups: ['system:authenticated'] };
  t.true(authorizeRbac(index, res(scheduler, 'create', 'pods', { subresource: 'binding', name: 'p' })).allowed);
  t.true(authorizeRbac(index, res(scheduler, 'update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: 'kube-scheduler' })).allowed);
  t.false(authorizeRbac(index, res(scheduler, 'update', 'leases', { apiGroup: 'coordination.k8s.io', namespace: 'kube-system', name: 'kube-controller-manager' })).allowed);
  t.false(authorizeRbac(index, res(scheduler, 'delete', 'nodes', { namespace: '', name: 'n' })).allowed);
  const cm = { username: 'system:kube-controller-manager', groups: ['system:authenticated'] };
  t.true(authorizeRbac(index, res(cm, 'delete', 'replicasets', { apiGroup: 'apps', name: 'rs' })).allowed);
  t.true(authorizeRbac(index, res(cm, 'patch', 'widgets', { apiGroup: 'example.com', name: 'w' })).allowed, 'GC patches any kind');
  t.false(authorizeRbac(index, res(cm, 'impersonate', 'users', { namespace: '', name: 'admin' })).allowed);
  const proxy = { username: 'system:kube-proxy', groups: ['system:authenticated'] };
  t.true(authorizeRbac(index, res(proxy, 'watch', 'endpointslices', { apiGroup: 'discovery.k8s.io', namespace: '' })).allowed);
  t.false(authorizeRbac(index, res(proxy, 'update', 'services', { name: 's' })).allowed);
  const node = { username: 'system:node:worker-1', groups: ['system:nodes', 'system:authenticated'] };
  t.false(authorizeRbac(index, res(node, 'get', 'nodes', { namespace: '', name: 'worker-1' })).allowed,
    'RBAC alone grants kubelets nothing: the Node authorizer does');
});

test('bootstrap objects are labelled rbac-defaults and every binding refers to a bootstrap role', (t) => {
  const names = new Set(boot.clusterRoles.map((r) => r.metadata.name));
  t.is(names.size, boot.clusterRoles.length);
  for (const name of ['cluster-admin', 'admin', 'edit', 'view', 'system:basic-user', 'system:discovery',
    'system:public-info-viewer', 'system:kube-scheduler', 'system:kube-controller-manager', 'system:node',
    'system:node-proxier', 'system:coredns']) t.true(names.has(name), name);
  for (const o of [...boot.clusterRoles, ...boot.clusterRoleBindings]) {
    t.is(o.apiVersion, 'rbac.authorization.k8s.io/v1');
    t.like(o.metadata.labels, bootstrapLabels);
  }
  for (const b of boot.clusterRoleBindings) t.true(names.has(b.roleRef.name), b.metadata.name);
  t.deepEqual(boot.clusterRoleBindings.find((b) => b.metadata.name === 'system:public-info-viewer')?.subjects?.map((s) => s.name),
    ['system:authenticated', 'system:unauthenticated']);
  const dns = bootstrapPolicy({ dnsServiceAccount: { namespace: 'kube-system', name: 'cluster-dns' } });
  t.deepEqual(dns.clusterRoleBindings.find((b) => b.metadata.name === 'system:coredns')?.subjects,
    [{ kind: 'ServiceAccount', name: 'cluster-dns', namespace: 'kube-system' }]);
});

test('Forbidden messages are worded exactly as kube-apiserver words them', (t) => {
  t.is(forbiddenStatusMessage(res(jane, 'list', 'pods')),
    'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"');
  t.is(forbiddenStatusMessage(res(jane, 'get', 'deployments', { apiGroup: 'apps', name: 'web' })),
    'deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments" in API group "apps" in the namespace "default"');
  t.is(forbiddenStatusMessage(res(jane, 'list', 'nodes', { namespace: '' })),
    'nodes is forbidden: User "jane" cannot list resource "nodes" in API group "" at the cluster scope');
  t.is(forbiddenStatusMessage(res(jane, 'get', 'pods', { subresource: 'log', name: 'web-1' })),
    'pods "web-1" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the namespace "default"');
  t.is(forbiddenStatusMessage(url({ username: 'system:anonymous', groups: [] }, 'get', '/api')),
    'forbidden: User "system:anonymous" cannot get path "/api"');
  t.is(forbiddenStatusMessage(res(jane, 'get', 'secrets', { name: 's' }), 'RBAC: role.rbac.authorization.k8s.io "x" not found'),
    'secrets "s" is forbidden: User "jane" cannot get resource "secrets" in API group "" in the namespace "default": RBAC: role.rbac.authorization.k8s.io "x" not found');
  t.deepEqual(forbiddenStatus(res(jane, 'get', 'deployments', { apiGroup: 'apps', name: 'web', subresource: 'scale' })), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403,
    message: 'deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments/scale" in API group "apps" in the namespace "default"',
    details: { name: 'web', group: 'apps', kind: 'deployments' },
  });
});

test('RbacAuthorizer rebuilds its index only when the policy version changes', (t) => {
  const authz = new RbacAuthorizer();
  const attrs = res(jane, 'list', 'pods');
  t.false(authz.authorize(attrs).allowed, 'no policy: nothing allowed');
  authz.setPolicy(1, policy());
  t.false(authz.authorize(attrs).allowed);
  let built = 0;
  const granting = (): RbacPolicy => {
    built++;
    return policy({ clusterRoleBindings: [clusterBinding('jane-view', 'view', [userSubject('jane')])] });
  };
  authz.setPolicy(1, granting);
  t.is(built, 0);
  t.false(authz.authorize(attrs).allowed);
  authz.setPolicy(2, granting);
  authz.setPolicy(2, granting);
  t.is(built, 1);
  t.is(authz.policyVersion, 2);
  t.true(authz.authorize(attrs).allowed);
});

// --- the index agrees with a direct reading of every binding (Kubernetes' VisitRulesFor) ---

const words = (xs: string[]) => fc.constantFrom(...xs);
const ruleArb: fc.Arbitrary<PolicyRule> = fc.oneof(
  fc.record({
    verbs: fc.array(words(['get', 'list', '*']), { minLength: 1, maxLength: 2 }),
    apiGroups: fc.array(words(['', 'apps', '*']), { minLength: 1, maxLength: 2 }),
    resources: fc.array(words(['pods', 'pods/log', '*/log', 'deployments', '*']), { minLength: 1, maxLength: 2 }),
    resourceNames: fc.option(fc.array(words(['a', 'b']), { maxLength: 2 }), { nil: undefined }),
  }),
  fc.record({ verbs: fc.array(words(['get', '*']), { minLength: 1, maxLength: 2 }), nonResourceURLs: fc.array(words(['/healthz', '/apis/*', '*']), { minLength: 1, maxLength: 2 }) }),
);
const subjectArb: fc.Arbitrary<Subject> = fc.oneof(
  fc.record({ kind: fc.constant('User'), name: words(['jane', 'bob']) }),
  fc.record({ kind: fc.constant('Group'), name: words(['devs', 'ops']) }),
  fc.record({ kind: fc.constant('ServiceAccount'), name: words(['ci']), namespace: fc.option(words(['ns1', 'ns2']), { nil: undefined }) }),
  fc.record({ kind: fc.constant('Robot'), name: words(['jane']) }),
);
const nsArb = words(['ns1', 'ns2']);
const policyArb: fc.Arbitrary<RbacPolicy> = fc.record({
  // Role names are unique per namespace (the store guarantees it).
  roles: fc.uniqueArray(fc.record({ metadata: fc.record({ name: words(['r1', 'r2']), namespace: nsArb }), rules: fc.array(ruleArb, { maxLength: 3 }) }),
    { maxLength: 3, selector: (r) => `${r.metadata.namespace}/${r.metadata.name}` }),
  clusterRoles: fc.uniqueArray(fc.record({ metadata: fc.record({ name: words(['c1', 'c2']) }), rules: fc.array(ruleArb, { maxLength: 3 }) }),
    { maxLength: 2, selector: (r) => r.metadata.name }),
  roleBindings: fc.array(fc.record({
    metadata: fc.record({ name: words(['b']), namespace: nsArb }),
    roleRef: fc.record({ apiGroup: fc.constant(G), kind: words(['Role', 'ClusterRole']), name: words(['r1', 'r2', 'c1', 'c2']) }),
    subjects: fc.array(subjectArb, { maxLength: 3 }),
  }), { maxLength: 4 }),
  clusterRoleBindings: fc.array(fc.record({
    metadata: fc.record({ name: words(['cb']) }),
    roleRef: fc.record({ apiGroup: fc.constant(G), kind: fc.constant('ClusterRole'), name: words(['c1', 'c2']) }),
    subjects: fc.array(subjectArb, { maxLength: 3 }),
  }), { maxLength: 3 }),
});
const attrsArb: fc.Arbitrary<RequestAttributes> = fc.record({
  user: fc.oneof(
    fc.record({ username: words(['jane', 'bob']), groups: fc.subarray(['devs', 'ops']) }),
    fc.record({ username: words(['system:serviceaccount:ns1:ci', 'system:serviceaccount:ns2:ci']), groups: fc.constant([]) }),
  ),
  verb: words(['get', 'list', 'delete']),
  resourceRequest: fc.boolean(),
  apiGroup: words(['', 'apps', 'batch']),
  resource: words(['pods', 'deployments', 'jobs']),
  subresource: words(['', 'log']),
  namespace: words(['', 'ns1', 'ns2']),
  name: words(['', 'a', 'b']),
  path: words(['/healthz', '/apis/apps', '/api']),
});

function naiveAllows(p: RbacPolicy, a: RequestAttributes): boolean {
  const applies = (s: Subject, ns: string): boolean => {
    if (s.kind === 'User') return s.name === a.user.username;
    if (s.kind === 'Group') return a.user.groups.includes(s.name);
    if (s.kind === 'ServiceAccount') {
      const saNs = s.namespace || ns;
      return saNs !== '' && a.user.username === `system:serviceaccount:${saNs}:${s.name}`;
    }
    return false;
  };
  const clusterRules = (name: string) => p.clusterRoles.find((r) => r.metadata.name === name)?.rules ?? [];
  for (const b of p.clusterRoleBindings) {
    if ((b.subjects ?? []).some((s) => applies(s, '')) && clusterRules(b.roleRef.name).some((r) => ruleAllows(a, r))) return true;
  }
  if (!a.namespace) return false;
  for (const b of p.roleBindings) {
    const ns = b.metadata.namespace ?? '';
    if (ns !== a.namespace || !(b.subjects ?? []).some((s) => applies(s, ns))) continue;
    const rules = b.roleRef.kind === 'ClusterRole' ? clusterRules(b.roleRef.name)
      : p.roles.find((r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === ns)?.rules ?? [];
    if (rules.some((r) => ruleAllows(a, r))) return true;
  }
  return false;
}

test('the subject index decides exactly as evaluating every binding would', (t) => {
  let allowedSeen = 0;
  t.notThrows(() => fc.assert(fc.property(policyArb, fc.array(attrsArb, { minLength: 1, maxLength: 20 }), (p, requests) => {
    const index = buildRbacIndex(p);
    for (const a of requests) {
      const allowed = authorizeRbac(index, a).allowed;
      if (allowed) allowedSeen++;
      if (allowed !== naiveAllows(p, a)) return false;
    }
    return true;
  }), { seed: 20261127, numRuns: 400 }));
  t.true(allowedSeen > 50, `the generators produce allowed requests too (${allowedSeen})`);
});
