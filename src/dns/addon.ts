/**
 * The cluster DNS addon, as kubeadm installs CoreDNS: ServiceAccount `coredns`, ClusterRole
 * `system:coredns` and its binding (the apiserver's bootstrap policy already writes the same two,
 * so applying these is a no-op there and keeps the addon self-contained), the `coredns`
 * Deployment (2 replicas) running the built-in DNS image, and the `kube-dns` Service on the
 * cluster DNS address.
 */
import type { KubeObject } from '../api/index.js';

export const dnsImageRepository = 'registry.k8s.io/coredns/coredns';
const dnsImageReference = `${dnsImageRepository}:v1.11.3`;
export const defaultClusterDnsIp = '127.96.0.10';

export interface DnsAddonOptions {
  readonly clusterIp?: string;
  readonly replicas?: number;
}

export function dnsAddon(o: DnsAddonOptions = {}): KubeObject[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace: 'kube-system' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'coredns', namespace: 'kube-system', labels },
      spec: {
        replicas: o.replicas ?? 2,
        selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            // Like kubeadm: the DNS pods may run on control-plane nodes too.
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
            // Default: it resolves through the node, not through itself.
            dnsPolicy: 'Default',
            containers: [{
              name: 'coredns', image: dnsImageReference, args: ['-conf', '/etc/coredns/Corefile'],
              ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
              resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
              readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 2 },
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: labels, clusterIP: o.clusterIp ?? defaultClusterDnsIp,
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
      },
    },
  ];
}
