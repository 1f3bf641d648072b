/**
 * The Node a kubelet registers and the status it posts (pkg/kubelet/kubelet_node_status.go and
 * nodestatus/setters.go). Pure: times are given.
 */
import { formatRfc3339 } from '../api/time.js';
import { asArray, asRecord, type JsonObject, type KubeObject } from '../api/types.js';
import type { Toleration } from './pod-spec.js';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeIdentity {
  readonly nodeName: string;
  readonly nodeIp: string;
  /** capacity; allocatable equals it (no system reservations on a simulated node). */
  readonly capacity: Readonly<Record<string, string>>;
  /** Extra labels (roles); hostname, os and arch are always set. */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Where `kubectl logs/exec` reach this kubelet (its node address and port). */
  readonly kubeletPort: number;
}

/** A master node's taint (DESIGN §1). */
export const controlPlaneTaint: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

const kubeletVersion = 'v1.32.0';

export function nodeLabels(n: NodeIdentity): Record<string, string> {
  return { 'kubernetes.io/hostname': n.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64', ...n.labels };
}

export interface NodeHealth {
  readonly runtimeReady: boolean;
  readonly runtimeMessage: string;
  /** False until the node has spec.podCIDR and the runtime took it (pods cannot get addresses before). */
  readonly networkReady: boolean;
}

function condition(previous: readonly JsonObject[], type: string, status: boolean, reason: string, message: string, nowMs: number): JsonObject {
  const value = status ? 'True' : 'False';
  const before = previous.find((c) => c['type'] === type);
  const lastTransitionTime = before !== undefined && before['status'] === value && typeof before['lastTransitionTime'] === 'string' ? before['lastTransitionTime'] : formatRfc3339(nowMs);
  return { type, status: value, reason, message, lastHeartbeatTime: formatRfc3339(nowMs), lastTransitionTime };
}

function nodeConditions(previous: readonly JsonObject[], health: NodeHealth, nowMs: number): JsonObject[] {
  const ready = health.runtimeReady && health.networkReady;
  const readyMessage = !health.runtimeReady ? `container runtime is down: ${health.runtimeMessage}` : !health.networkReady ? 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no podCIDR assigned yet' : 'kubelet is posting ready status';
  return [
    condition(previous, 'MemoryPressure', false, 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', nowMs),
    condition(previous, 'DiskPressure', false, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', nowMs),
    condition(previous, 'PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', nowMs),
    condition(previous, 'Ready', ready, ready ? 'KubeletReady' : 'KubeletNotReady', readyMessage, nowMs),
  ];
}

export function nodeStatus(n: NodeIdentity, previous: readonly JsonObject[], health: NodeHealth, nowMs: number): JsonObject {
  return {
    capacity: n.capacity, allocatable: n.capacity, conditions: nodeConditions(previous, health, nowMs),
    addresses: [{ type: 'InternalIP', address: n.nodeIp }, { type: 'Hostname', address: n.nodeName }],
    daemonEndpoints: { kubeletEndpoint: { Port: n.kubeletPort } },
    nodeInfo: {
      machineID: n.nodeName, systemUUID: n.nodeName, bootID: n.nodeName, kernelVersion: 'pocketkube', osImage: 'pocketkube', containerRuntimeVersion: 'pocketkube://0.1.0',
      kubeletVersion, kubeProxyVersion: kubeletVersion, operatingSystem: 'linux', architecture: 'amd64',
    },
  };
}

export function nodeObject(n: NodeIdentity, health: NodeHealth, nowMs: number): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: n.nodeName, labels: nodeLabels(n), annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: n.taints.length === 0 ? {} : { taints: n.taints.map((t) => ({ ...t })) },
    status: nodeStatus(n, [], health, nowMs),
  };
}

/** The conditions' statuses by type, to tell whether a post would change anything but heartbeat times. */
export function conditionSummary(conditions: readonly JsonObject[]): string {
  return conditions.map((c) => `${String(c['type'])}=${String(c['status'])}`).sort().join(',');
}

export function conditionsOf(node: KubeObject | undefined): JsonObject[] {
  return asArray(asRecord(node?.['status'])?.['conditions']) as JsonObject[];
}

/** Whether a toleration tolerates a taint (upstream's ToleratesTaint). */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== taint.effect) return false;
  if (toleration.key !== undefined && toleration.key !== '' && toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  // Equal with an empty key matches nothing (an empty key needs Exists).
  if (toleration.key === undefined || toleration.key === '') return false;
  return (toleration.value ?? '') === (taint.value ?? '');
}
