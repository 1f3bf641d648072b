/** Fixture builders for controller unit tests (plain JSON as the informers would cache it). */
import { formatRfc3339, type KubeObject, type OwnerReference } from '../../src/api/index.js';
import { Expectations, type ReconcileContext } from '../../src/controllers/framework/index.js';

/** 2026-01-01T00:10:00Z. */
export const t0 = 1_767_225_600_000 + 600_000;
export const at = (offsetSeconds: number) => formatRfc3339(t0 + offsetSeconds * 1000);

export function ctx(nowMs = t0, expectations = new Expectations()): ReconcileContext {
  return { nowMs, expectations };
}

export const template = (labels: Record<string, string>, image = 'nginx:1.14.2') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image }] },
});

export function replicaSet(name: string, replicas: number, o: { uid?: string; labels?: Record<string, string>; owner?: OwnerReference; generation?: number; minReadySeconds?: number; status?: Record<string, unknown>; annotations?: Record<string, string>; created?: number; image?: string } = {}): KubeObject {
  const labels = o.labels ?? { app: 'web' };
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name, namespace: 'default', uid: o.uid ?? `uid-${name}`, resourceVersion: '10', generation: o.generation ?? 1,
      creationTimestamp: at(o.created ?? 0), labels,
      ...(o.owner === undefined ? {} : { ownerReferences: [o.owner] }),
      ...(o.annotations === undefined ? {} : { annotations: o.annotations }),
    },
    spec: { replicas, selector: { matchLabels: labels }, template: template(labels, o.image), ...(o.minReadySeconds === undefined ? {} : { minReadySeconds: o.minReadySeconds }) },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

export function ownerRef(kind: string, name: string, uid = `uid-${name}`): OwnerReference {
  return { apiVersion: kind === 'Deployment' || kind === 'ReplicaSet' ? 'apps/v1' : 'v1', kind, name, uid, controller: true, blockOwnerDeletion: true };
}

export interface PodOpts {
  owner?: OwnerReference;
  labels?: Record<string, string>;
  node?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  /** Seconds after t0 when Ready turned True; undefined: not ready. */
  readySince?: number;
  created?: number;
  deleting?: boolean;
  restarts?: number;
  ip?: string;
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  hostname?: string;
  subdomain?: string;
}

export function pod(name: string, o: PodOpts = {}): KubeObject {
  const ready = o.readySince !== undefined;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '20', creationTimestamp: at(o.created ?? 0),
      labels: o.labels ?? { app: 'web' },
      ...(o.owner === undefined ? {} : { ownerReferences: [o.owner] }),
      ...(o.deleting === true ? { deletionTimestamp: at(100), deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'nginx', ...(o.ports === undefined ? {} : { ports: o.ports }) }],
      ...(o.node === undefined ? {} : { nodeName: o.node }),
      ...(o.hostname === undefined ? {} : { hostname: o.hostname }),
      ...(o.subdomain === undefined ? {} : { subdomain: o.subdomain }),
    },
    status: {
      phase: o.phase ?? (o.node === undefined ? 'Pending' : 'Running'),
      ...(o.ip === undefined ? {} : { podIP: o.ip, podIPs: [{ ip: o.ip }] }),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: at(o.readySince ?? 0) }],
      ...(o.restarts === undefined ? {} : { containerStatuses: [{ name: 'c', restartCount: o.restarts, ready }] }),
    },
  };
}
