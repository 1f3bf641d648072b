/**
 * rbac.authorization.k8s.io/v1 objects as the store holds them (plain JSON). Only the fields
 * authorization reads are typed; optional lists may be absent or null, as in real stored objects.
 */
export const rbacGroup = 'rbac.authorization.k8s.io';
export const rbacApiVersion = 'rbac.authorization.k8s.io/v1';

export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[] | null;
  readonly resources?: readonly string[] | null;
  readonly resourceNames?: readonly string[] | null;
  readonly nonResourceURLs?: readonly string[] | null;
}

export interface RbacObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Role {
  readonly apiVersion?: string;
  readonly kind?: 'Role';
  readonly metadata: RbacObjectMeta;
  readonly rules?: readonly PolicyRule[] | null;
}

export interface ClusterRole {
  readonly apiVersion?: string;
  readonly kind?: 'ClusterRole';
  readonly metadata: RbacObjectMeta;
  readonly rules?: readonly PolicyRule[] | null;
}

export interface Subject {
  readonly kind: string; // 'User' | 'Group' | 'ServiceAccount'; others never match
  readonly name: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
}

export interface RoleRef {
  readonly apiGroup: string;
  readonly kind: string; // 'Role' | 'ClusterRole'
  readonly name: string;
}

export interface RoleBinding {
  readonly apiVersion?: string;
  readonly kind?: 'RoleBinding';
  readonly metadata: RbacObjectMeta;
  readonly subjects?: readonly Subject[] | null;
  readonly roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  readonly apiVersion?: string;
  readonly kind?: 'ClusterRoleBinding';
  readonly metadata: RbacObjectMeta;
  readonly subjects?: readonly Subject[] | null;
  readonly roleRef: RoleRef;
}

/** Everything RBAC reads, as of one store revision. */
export interface RbacPolicy {
  readonly roles: readonly Role[];
  readonly clusterRoles: readonly ClusterRole[];
  readonly roleBindings: readonly RoleBinding[];
  readonly clusterRoleBindings: readonly ClusterRoleBinding[];
}

/** What is being asked (k8s.io/apiserver authorizer.Attributes). */
export interface RequestAttributes {
  readonly user: { readonly username: string; readonly groups: readonly string[] };
  readonly verb: string;
  /** true for /api and /apis resource paths; false for everything else (then `path` is used). */
  readonly resourceRequest: boolean;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resource?: string;
  readonly subresource?: string;
  /** '' or absent for cluster-scoped requests. For `namespaces/<n>` requests Kubernetes sets it to <n>. */
  readonly namespace?: string;
  /** '' or absent for collection requests; list/watch with fieldSelector metadata.name=<n> should set <n>. */
  readonly name?: string;
  readonly path?: string;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}
