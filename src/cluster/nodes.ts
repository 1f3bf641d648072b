/**
 * The node part of a cluster's shape (DESIGN §1, §5, §9): which hosts are nodes, their
 * addresses, and the three node actors each runs (`kubelet`, `container-runtime`, `kube-proxy`).
 * Masters are nodes too, tainted control-plane:NoSchedule.
 */
import { join } from 'node:path';
import type { ContainerRuntimeConfig } from '../cri/messages.js';
import type { KubeletConfig } from '../kubelet/messages.js';
import { controlPlaneTaint } from '../kubelet/node-status.js';
import { defaultServiceProxyPort, type KubeProxyConfig } from '../proxy/messages.js';
import type { Address } from '../primitives/address.js';
import type { ActorSpec } from '../runtime/actor.js';
import type { ProfileName } from '../runtime/profiles.js';

export const defaultPodNetwork = '127.244.0.0/16';
export const defaultServiceNetwork = '127.96';
const workersMax = 254;

export interface NodePlan {
  readonly name: string;
  readonly ip: string;
  readonly master: boolean;
}

/** Masters keep their apiserver address as node address; workers take the next /24 (`127.10.0.x` → workers `127.10.1.x`). */
export function planNodes(masters: readonly string[], masterIps: readonly string[], workers: number, network: string): NodePlan[] {
  if (!Number.isInteger(workers) || workers < 0 || workers > workersMax) throw new Error(`workers must be a whole number from 0 to ${workersMax}, not ${workers}`);
  const [a, b, c] = network.split('.').map(Number) as [number, number, number];
  if (c + 1 > 255) throw new Error(`apiserverNetwork ${network} leaves no /24 after it for the workers' addresses`);
  return [
    ...masters.map((name, i) => ({ name, ip: masterIps[i]!, master: true })),
    ...Array.from({ length: workers }, (_, i) => ({ name: `worker-${i + 1}`, ip: `${a}.${b}.${c + 1}.${i + 1}`, master: false })),
  ];
}

export interface NodeActorOptions {
  readonly apiservers: readonly Address[];
  readonly profile: ProfileName;
  readonly dataDir: string;
  readonly serviceNetwork: string;
  readonly kubeletToken?: string;
  readonly kubeProxyToken?: string;
  /** Sabotage (cluster.ts): kube-proxy routes to endpoints that are not ready. */
  readonly kubeProxyUsesUnreadyEndpoints?: boolean;
}

/** The cluster DNS ClusterIP: `.0.10` of the Service /16 (DESIGN §5). */
export function clusterDnsIp(serviceNetwork: string): string {
  return `${serviceNetwork}.0.10`;
}

export function nodeActors(node: NodePlan, o: NodeActorOptions): ActorSpec[] {
  const kubelet: KubeletConfig = {
    nodeName: node.name, nodeIp: node.ip, apiservers: o.apiservers, profile: o.profile,
    ...(o.kubeletToken === undefined ? {} : { token: o.kubeletToken }),
    podsDir: join(o.dataDir, 'hosts', node.name, 'pods'), clusterDns: [clusterDnsIp(o.serviceNetwork)],
    ...(node.master ? { labels: { 'node-role.kubernetes.io/control-plane': '' }, taints: [controlPlaneTaint] } : {}),
  };
  const runtime: ContainerRuntimeConfig = {
    nodeName: node.name, nodeIp: node.ip, serviceCidr: `${o.serviceNetwork}.0.0/16`,
    serviceProxy: { host: node.ip, tcpPort: defaultServiceProxyPort, udpPort: defaultServiceProxyPort },
    processesDir: join(o.dataDir, 'hosts', node.name, 'processes'),
  };
  const proxy: KubeProxyConfig = {
    nodeName: node.name, nodeIp: node.ip, apiservers: o.apiservers, profile: o.profile, serviceProxyPort: defaultServiceProxyPort,
    ...(o.kubeProxyToken === undefined ? {} : { token: o.kubeProxyToken }), ...(o.kubeProxyUsesUnreadyEndpoints ? { unsafeUseUnreadyEndpoints: true } : {}),
  };
  return [
    { name: 'container-runtime', kind: 'container-runtime', config: runtime, restart: 'permanent' },
    { name: 'kubelet', kind: 'kubelet', config: kubelet, restart: 'permanent' },
    { name: 'kube-proxy', kind: 'kube-proxy', config: proxy, restart: 'permanent' },
  ];
}
