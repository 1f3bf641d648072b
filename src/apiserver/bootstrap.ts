/**
 * What kube-apiserver writes at first start: the system namespaces (each with its `default`
 * ServiceAccount), the `kubernetes` Service in `default`, and the default RBAC policy.
 * Idempotent and safe to run from several apiservers at once (AlreadyExists is success).
 */
import type { JsonObject } from '../api/index.js';
import { lookupResource } from '../api/index.js';
import type { BootstrapPolicy } from './auth/index.js';
import type { Registry } from './registry.js';

export const systemNamespaces: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const bootstrapManager = 'kube-apiserver';

export interface BootstrapOptions {
  readonly kubernetesServiceIp: string;
  readonly policy: BootstrapPolicy;
}

async function ensure(registry: Registry, group: string, resource: string, namespace: string | undefined, obj: JsonObject): Promise<void> {
  const info = lookupResource(group, 'v1', resource);
  if (info === undefined) throw new Error(`bootstrap: ${resource} is not served`);
  const r = await registry.create(info, namespace, obj, { dryRun: false, manager: bootstrapManager });
  if (!r.ok && r.status.reason !== 'AlreadyExists') throw new Error(`bootstrap: cannot create ${resource}: ${r.status.message}`);
}

export async function bootstrapCluster(registry: Registry, o: BootstrapOptions): Promise<void> {
  // Concurrent creates: the store commits them together (one Raft round and one fsync for many)
  // instead of ~30 round trips one after another. Namespaces go first: the Service lives in one.
  await Promise.all(systemNamespaces.map((name) => ensure(registry, '', 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  await Promise.all([
    // The serviceaccount controller makes these too, but only once a controller-manager leads: written
    // here, the system namespaces accept pods (ServiceAccount admission) from the apiserver's first moment.
    ...systemNamespaces.map((namespace) =>
      ensure(registry, '', 'serviceaccounts', namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } })),
    ensure(registry, '', 'services', 'default', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { type: 'ClusterIP', clusterIP: o.kubernetesServiceIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None' },
    }),
    // The two system classes kube-apiserver always creates.
    ...([['system-node-critical', 2_000_001_000], ['system-cluster-critical', 2_000_000_000]] as const).map(([name, value]) =>
      ensure(registry, 'scheduling.k8s.io', 'priorityclasses', undefined, {
        apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value,
        description: `Used for system critical pods that must ${name === 'system-node-critical' ? 'not be moved from their current node' : 'run in the cluster, but can be moved to another node if necessary'}.`,
      })),
    ...o.policy.clusterRoles.map((role) =>
      ensure(registry, 'rbac.authorization.k8s.io', 'clusterroles', undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', ...role } as JsonObject)),
    ...o.policy.clusterRoleBindings.map((b) =>
      ensure(registry, 'rbac.authorization.k8s.io', 'clusterrolebindings', undefined, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', ...b } as JsonObject)),
  ]);
}
