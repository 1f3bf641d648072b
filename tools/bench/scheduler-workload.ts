/**
 * The scheduler benchmark's objects (after upstream scheduler_perf's node-default.yaml and
 * pod-default.yaml): N nodes of 4 CPU, 32Gi, 110 pods, spread round-robin over `zones` zones;
 * M pending pods requesting 100m CPU and 500Mi. The `spreadAndAntiAffinity` variant gives every
 * pod upstream's heavy constraints: a PodTopologySpread constraint on the zone (maxSkew 1,
 * DoNotSchedule) and one on the hostname (maxSkew 1, ScheduleAnyway), both over all bench pods,
 * and a required pod anti-affinity on the hostname within its group of `groupSize` pods (at most
 * one pod of a group per node, as SchedulingPodAntiAffinity does). Deterministic: no randomness.
 */
import type { KubeObject } from '../../src/api/index.js';

export const benchZoneKey = 'topology.kubernetes.io/zone';
export const benchHostnameKey = 'kubernetes.io/hostname';

export interface WorkloadOptions {
  readonly nodes: number;
  readonly pods: number;
  readonly zones?: number;
  readonly constraints?: 'none' | 'spreadAndAntiAffinity';
  /** Pods per anti-affinity group (spreadAndAntiAffinity); must not exceed the node count. */
  readonly groupSize?: number;
}

export interface Workload { readonly nodes: KubeObject[]; readonly pods: KubeObject[] }

export function benchNode(i: number, zones: number): KubeObject {
  const name = `node-${i}`;
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, uid: `node-uid-${i}`, labels: { [benchHostnameKey]: name, [benchZoneKey]: `zone-${i % zones}` } },
    spec: {},
    status: { allocatable: { cpu: '4', memory: '32Gi', pods: '110' }, capacity: { cpu: '4', memory: '32Gi', pods: '110' } },
  };
}

export function benchPod(i: number, o: WorkloadOptions): KubeObject {
  const group = `g-${Math.floor(i / (o.groupSize ?? 100))}`;
  const heavy = o.constraints === 'spreadAndAntiAffinity';
  const all = { matchLabels: { app: 'bench' } };
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: `pod-${i}`, namespace: 'default', uid: `pod-uid-${i}`,
      labels: { app: 'bench', group },
      // One second apart: the queue's creation-time order is the index order.
      creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    spec: {
      containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } } }],
      ...(heavy ? {
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: benchZoneKey, whenUnsatisfiable: 'DoNotSchedule', labelSelector: all },
          { maxSkew: 1, topologyKey: benchHostnameKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: all },
        ],
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: benchHostnameKey }],
          },
        },
      } : {}),
    },
  };
}

export function benchWorkload(o: WorkloadOptions): Workload {
  const zones = o.zones ?? 10;
  if (!(o.nodes > 0 && zones > 0 && o.pods >= 0)) throw new Error(`scheduler workload: nodes (${o.nodes}) and zones (${zones}) must be positive, pods (${o.pods}) not negative`);
  if (o.constraints === 'spreadAndAntiAffinity' && (o.groupSize ?? 100) > o.nodes) {
    throw new Error(`scheduler workload: anti-affinity groups of ${o.groupSize ?? 100} pods cannot fit on ${o.nodes} nodes (one per node); lower the group size`);
  }
  return {
    nodes: Array.from({ length: o.nodes }, (_, i) => benchNode(i, zones)),
    pods: Array.from({ length: o.pods }, (_, i) => benchPod(i, o)),
  };
}
