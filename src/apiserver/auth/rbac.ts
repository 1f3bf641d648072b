/**
 * RBAC authorizer, pure: the same matching rules as Kubernetes' plugin/pkg/auth/authorizer/rbac, over
 * an index built once per policy version (bindings resolved to rules and grouped by subject), so a
 * request only looks at the grants of its own user and groups.
 *
 * Like Kubernetes, RBAC never denies explicitly: "not allowed" means no opinion, and the reason is
 * empty unless a binding referred to a missing role.
 * Not implemented (documented limits): ClusterRole aggregationRule (rules must be written out), and
 * the escalate/bind checks on writes of RBAC objects (those belong to the RBAC REST storage).
 */
import type {
  ClusterRole, ClusterRoleBinding, Decision, PolicyRule, RbacPolicy, RequestAttributes, Role, RoleBinding, Subject,
} from './rbac-types.js';
import { rbacGroup } from './rbac-types.js';
import { serviceAccountUsername } from './user.js';

const maxRbacErrorsReported = 10;

/** One binding's rules, as granted to one subject. */
interface Grant {
  readonly rules: readonly PolicyRule[];
  /** e.g. `ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`, for the allowed reason. */
  readonly source: string;
  /** Set when the roleRef names a role that does not exist (then rules is empty). */
  readonly error?: string;
}

export interface RbacIndex {
  /** Subject key (`u:<username>` or `g:<group>`) → grants valid in every namespace and at cluster scope. */
  readonly cluster: ReadonlyMap<string, readonly Grant[]>;
  /** Subject key → namespace → grants valid only in that namespace. */
  readonly namespaced: ReadonlyMap<string, ReadonlyMap<string, readonly Grant[]>>;
}

const userKey = (username: string): string => `u:${username}`;
const groupKey = (group: string): string => `g:${group}`;

// --- rule matching (k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go) ---

const list = (xs: readonly string[] | null | undefined): readonly string[] => xs ?? [];

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return list(rule.verbs).some((v) => v === '*' || v === verb);
}

function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return list(rule.apiGroups).some((g) => g === '*' || g === group);
}

/** `*` matches everything (subresources too); "*" + "/log" (a star, a slash, a subresource) matches that subresource of any resource. */
function resourceMatches(rule: PolicyRule, combinedResource: string, subresource: string): boolean {
  return list(rule.resources).some((r) => r === '*' || r === combinedResource ||
    (subresource !== '' && r === `*/${subresource}`));
}

/** No resourceNames means any name; with resourceNames, requests without a name (list, create) never match. */
function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = list(rule.resourceNames);
  return names.length === 0 || names.includes(name);
}

/** Exact match, `*`, or a prefix ending in `*` (`/apis/*`). */
function nonResourceUrlMatches(rule: PolicyRule, path: string): boolean {
  return list(rule.nonResourceURLs).some((u) => u === '*' || u === path ||
    (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

export function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (!verbMatches(rule, attrs.verb)) return false;
  if (!attrs.resourceRequest) return nonResourceUrlMatches(rule, attrs.path ?? '');
  const resource = attrs.resource ?? '';
  const subresource = attrs.subresource ?? '';
  const combined = subresource === '' ? resource : `${resource}/${subresource}`;
  return apiGroupMatches(rule, attrs.apiGroup ?? '') && resourceMatches(rule, combined, subresource) &&
    resourceNameMatches(rule, attrs.name ?? '');
}

export function rulesAllow(attrs: RequestAttributes, rules: readonly PolicyRule[]): boolean {
  return rules.some((r) => ruleAllows(attrs, r));
}

// --- index ---

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount "${s.name}/${s.namespace || bindingNamespace}"`;
  return `${s.kind} "${s.name}"`;
}

/** The subject's index key, or undefined when it can never match a user (as Kubernetes' appliesToUser). */
function subjectKey(s: Subject, bindingNamespace: string): string | undefined {
  switch (s.kind) {
    case 'User':
      return userKey(s.name);
    case 'Group':
      return groupKey(s.name);
    case 'ServiceAccount': {
      // A RoleBinding may leave the namespace out: it means the binding's own namespace.
      const ns = s.namespace || bindingNamespace;
      return ns === '' ? undefined : userKey(serviceAccountUsername(ns, s.name));
    }
    default:
      return undefined;
  }
}

interface RoleLookup {
  readonly roles: ReadonlyMap<string, Role>; // `${namespace}/${name}`
  readonly clusterRoles: ReadonlyMap<string, ClusterRole>;
}

function resolveRoleRef(binding: RoleBinding | ClusterRoleBinding, namespace: string, lookup: RoleLookup):
  { rules: readonly PolicyRule[]; error?: string } {
  const ref = binding.roleRef;
  if (ref.apiGroup !== rbacGroup) return { rules: [], error: `unsupported roleRef apiGroup ${JSON.stringify(ref.apiGroup)}` };
  if (ref.kind === 'ClusterRole') {
    const role = lookup.clusterRoles.get(ref.name);
    return role ? { rules: role.rules ?? [] } : { rules: [], error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found` };
  }
  if (ref.kind === 'Role' && namespace !== '') {
    const role = lookup.roles.get(`${namespace}/${ref.name}`);
    return role ? { rules: role.rules ?? [] } : { rules: [], error: `role.rbac.authorization.k8s.io "${ref.name}" not found` };
  }
  return { rules: [], error: `unsupported roleRef kind ${JSON.stringify(ref.kind)}` };
}

function pushGrant<K>(map: Map<K, Grant[]>, key: K, grant: Grant): void {
  const existing = map.get(key);
  if (existing) existing.push(grant);
  else map.set(key, [grant]);
}

export function buildRbacIndex(policy: RbacPolicy): RbacIndex {
  const lookup: RoleLookup = {
    roles: new Map(policy.roles.map((r) => [`${r.metadata.namespace ?? ''}/${r.metadata.name}`, r])),
    clusterRoles: new Map(policy.clusterRoles.map((r) => [r.metadata.name, r])),
  };
  const cluster = new Map<string, Grant[]>();
  const namespaced = new Map<string, Map<string, Grant[]>>();
  for (const b of policy.clusterRoleBindings) {
    const resolved = resolveRoleRef(b, '', lookup);
    for (const s of b.subjects ?? []) {
      const key = subjectKey(s, '');
      if (key === undefined) continue;
      const source = `ClusterRoleBinding "${b.metadata.name}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${describeSubject(s, '')}`;
      pushGrant(cluster, key, { rules: resolved.rules, source, ...(resolved.error ? { error: resolved.error } : {}) });
    }
  }
  for (const b of policy.roleBindings) {
    const ns = b.metadata.namespace ?? '';
    if (ns === '') continue; // a RoleBinding without a namespace is malformed; it grants nothing
    const resolved = resolveRoleRef(b, ns, lookup);
    for (const s of b.subjects ?? []) {
      const key = subjectKey(s, ns);
      if (key === undefined) continue;
      const source = `RoleBinding "${b.metadata.name}/${ns}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${describeSubject(s, ns)}`;
      let byNs = namespaced.get(key);
      if (!byNs) namespaced.set(key, byNs = new Map());
      pushGrant(byNs, ns, { rules: resolved.rules, source, ...(resolved.error ? { error: resolved.error } : {}) });
    }
  }
  return { cluster, namespaced };
}

/** Evaluates one request against an index: allowed with the granting binding, or no opinion. */
export function authorizeRbac(index: RbacIndex, attrs: RequestAttributes): Decision {
  const keys = [userKey(attrs.user.username), ...attrs.user.groups.map(groupKey)];
  const namespace = attrs.namespace ?? '';
  const errors: string[] = [];
  const check = (grants: readonly Grant[] | undefined): string | undefined => {
    for (const g of grants ?? []) {
      if (g.error !== undefined && errors.length < maxRbacErrorsReported && !errors.includes(g.error)) errors.push(g.error);
      if (rulesAllow(attrs, g.rules)) return g.source;
    }
    return undefined;
  };
  for (const key of keys) {
    const source = check(index.cluster.get(key));
    if (source !== undefined) return { allowed: true, reason: `RBAC: allowed by ${source}` };
  }
  if (namespace !== '') {
    for (const key of keys) {
      const source = check(index.namespaced.get(key)?.get(namespace));
      if (source !== undefined) return { allowed: true, reason: `RBAC: allowed by ${source}` };
    }
  }
  if (errors.length === 0) return { allowed: false, reason: '' };
  return { allowed: false, reason: `RBAC: ${errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`}` };
}

/**
 * The rules a user holds in a namespace (cluster-wide grants plus that namespace's), as
 * SelfSubjectRulesReview reports them (the RBAC authorizer's RulesFor). `incomplete` when a binding
 * names a missing role.
 */
function rulesForUser(index: RbacIndex, user: RequestAttributes['user'], namespace: string): { rules: PolicyRule[]; errors: string[] } {
  const keys = [userKey(user.username), ...user.groups.map(groupKey)];
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  const add = (grants: readonly Grant[] | undefined): void => {
    for (const g of grants ?? []) {
      rules.push(...g.rules);
      if (g.error !== undefined && errors.length < maxRbacErrorsReported && !errors.includes(g.error)) errors.push(g.error);
    }
  };
  for (const key of keys) add(index.cluster.get(key));
  if (namespace !== '') for (const key of keys) add(index.namespaced.get(key)?.get(namespace));
  return { rules, errors };
}

/**
 * Holds the index for the current policy version. The caller passes the version of the RBAC objects
 * (e.g. the highest resourceVersion among them) with every update; the index is rebuilt only when it
 * changes, so `setPolicy` can be called on every request.
 */
export class RbacAuthorizer {
  private version: number | undefined;
  private index: RbacIndex = { cluster: new Map(), namespaced: new Map() };

  get policyVersion(): number | undefined {
    return this.version;
  }

  setPolicy(version: number, policy: RbacPolicy | (() => RbacPolicy)): void {
    if (version === this.version) return;
    this.index = buildRbacIndex(typeof policy === 'function' ? policy() : policy);
    this.version = version;
  }

  authorize(attrs: RequestAttributes): Decision {
    return authorizeRbac(this.index, attrs);
  }

  rulesFor(user: RequestAttributes['user'], namespace: string): { rules: PolicyRule[]; errors: string[] } {
    return rulesForUser(this.index, user, namespace);
  }
}

;
