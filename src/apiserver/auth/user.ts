/** Who is asking: the result of authentication, the input of authorization (k8s.io/apiserver user.Info). */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export const wellKnown = {
  anonymousUser: 'system:anonymous',
  unauthenticatedGroup: 'system:unauthenticated',
  authenticatedGroup: 'system:authenticated',
  mastersGroup: 'system:masters',
  nodesGroup: 'system:nodes',
  nodeUserPrefix: 'system:node:',
  serviceAccountUserPrefix: 'system:serviceaccount:',
  serviceAccountsGroup: 'system:serviceaccounts',
  adminUser: 'admin',
  schedulerUser: 'system:kube-scheduler',
  controllerManagerUser: 'system:kube-controller-manager',
  kubeProxyUser: 'system:kube-proxy',
} as const;

export const anonymousUser: UserInfo = Object.freeze({
  username: wellKnown.anonymousUser,
  groups: Object.freeze([wellKnown.unauthenticatedGroup]),
});

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${wellKnown.serviceAccountUserPrefix}${namespace}:${name}`;
}

export function serviceAccountGroups(namespace: string): string[] {
  return [wellKnown.serviceAccountsGroup, `${wellKnown.serviceAccountsGroup}:${namespace}`, wellKnown.authenticatedGroup];
}

/**
 * A node's name, when the user is a kubelet: username `system:node:<name>` and group `system:nodes`,
 * both required, like Kubernetes' node identifier. `''` means a node identity without a name.
 */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.username.startsWith(wellKnown.nodeUserPrefix)) return undefined;
  if (!user.groups.includes(wellKnown.nodesGroup)) return undefined;
  return user.username.slice(wellKnown.nodeUserPrefix.length);
}
