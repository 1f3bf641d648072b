/** Pod and node builders shared by the scheduler tests. */
import type { KubeObject } from '../../src/api/index.js';
import { newPodInfo } from '../../src/scheduler/podinfo.js';
import type { PodInfo } from '../../src/scheduler/types.js';

let uidSeq = 0;

export interface PodOpts {
  cpu?: string; memory?: string; node?: string; labels?: Record<string, string>; spec?: Record<string, unknown>;
  ns?: string; priority?: number; created?: string; status?: Record<string, unknown>; uid?: string;
}

export function podObject(name: string, o: PodOpts = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (o.cpu !== undefined) requests['cpu'] = o.cpu;
  if (o.memory !== undefined) requests['memory'] = o.memory;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: o.ns ?? 'default', uid: o.uid ?? `u-${name}-${uidSeq++}`, labels: o.labels ?? {}, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z' },
    spec: {
      containers: [{ name: 'c', image: 'nginx', resources: { requests } }],
      ...(o.node === undefined ? {} : { nodeName: o.node }),
      ...(o.priority === undefined ? {} : { priority: o.priority }),
      ...o.spec,
    },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

export function pod(name: string, o: PodOpts = {}): PodInfo {
  return newPodInfo(podObject(name, o));
}

export interface NodeOpts { cpu?: string; memory?: string; pods?: string; labels?: Record<string, string>; taints?: unknown[]; unschedulable?: boolean }

export function node(name: string, o: NodeOpts = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints === undefined ? {} : { taints: o.taints }), ...(o.unschedulable === true ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' } },
  };
}
