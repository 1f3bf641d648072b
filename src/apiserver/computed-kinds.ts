/**
 * Read-only kinds computed on every read, never stored:
 *   v1 componentstatuses — one `etcd-<i>` per store member, from the store's health as this
 *     apiserver reaches it (kube-apiserver probes each --etcd-servers entry; here the apiserver
 *     reaches the store through one client, so every member reports that one probe);
 *   apiregistration.k8s.io/v1 apiservices — one per served group-version, all Local and Available
 *     (nothing here is aggregated; kube-apiserver's autoregister controller writes the same objects).
 */
import { joinApiVersion, type JsonObject, methodNotAllowed, notFound, type ResourceInfo, servedGroupVersions } from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import { jsonResponse, statusResponse } from './request.js';
import { render, type RestCall } from './rest.js';

export interface ComputedDeps {
  /** undefined when the store answers, else why not. */
  readonly storeHealth: () => Promise<string | undefined>;
  readonly etcdMembers: number;
  /** When this apiserver started (the APIServices' creation and transition time). */
  readonly startedIso: string;
}

export function isComputedKind(info: ResourceInfo): boolean {
  return (info.group === '' && info.kind === 'ComponentStatus') || (info.group === 'apiregistration.k8s.io' && info.kind === 'APIService');
}

/** kube-apiserver's groupPriorityMinimum per group (pkg/controlplane/apiserver aggregator priorities). */
const groupPriority: Readonly<Record<string, number>> = {
  '': 18000, 'apiregistration.k8s.io': 18000, apps: 17800, 'events.k8s.io': 17750, 'authentication.k8s.io': 17700,
  'authorization.k8s.io': 17600, autoscaling: 17500, batch: 17400, 'certificates.k8s.io': 17300, 'networking.k8s.io': 17200,
  policy: 17100, 'rbac.authorization.k8s.io': 17000, 'storage.k8s.io': 16800, 'admissionregistration.k8s.io': 16700,
  'scheduling.k8s.io': 16600, 'coordination.k8s.io': 16500, 'apiextensions.k8s.io': 16400, 'node.k8s.io': 16300,
  'discovery.k8s.io': 16200, 'flowcontrol.apiserver.k8s.io': 16100,
};
const defaultGroupPriority = 1000;
const defaultVersionPriority = 15;

function apiServices(startedIso: string): JsonObject[] {
  return servedGroupVersions().map(({ group, version }) => ({
    kind: 'APIService', apiVersion: 'apiregistration.k8s.io/v1',
    metadata: { name: `${version}.${group}`, creationTimestamp: startedIso, labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
    spec: { ...(group === '' ? {} : { group }), version, groupPriorityMinimum: groupPriority[group] ?? defaultGroupPriority, versionPriority: defaultVersionPriority },
    status: { conditions: [{ type: 'Available', status: 'True', lastTransitionTime: startedIso, reason: 'Local', message: 'Local APIServices are always available' }] },
  }));
}

async function componentStatuses(d: ComputedDeps): Promise<JsonObject[]> {
  const problem = await d.storeHealth();
  return Array.from({ length: d.etcdMembers }, (_, i) => ({
    kind: 'ComponentStatus', apiVersion: 'v1', metadata: { name: `etcd-${i}` },
    conditions: [problem === undefined ? { type: 'Healthy', status: 'True', message: 'ok' } : { type: 'Healthy', status: 'False', error: problem }],
  }));
}

/** GET of a computed kind (list or one by name). Other verbs are refused before this by the verbs check. */
export async function answerComputed(c: RestCall, d: ComputedDeps): Promise<ApiResponse> {
  const info = c.route.info;
  if (c.method !== 'GET' || c.route.subresource !== undefined) return statusResponse(methodNotAllowed());
  const all = info.kind === 'ComponentStatus' ? await componentStatuses(d) : apiServices(d.startedIso);
  const name = c.route.name;
  const objects = name === undefined ? all : all.filter((o) => (o['metadata'] as JsonObject)['name'] === name);
  if (name !== undefined && objects.length === 0) return statusResponse(notFound({ group: info.group, resource: info.resource }, name));
  const out = render(c, objects, name !== undefined, '0');
  if (!out.ok) return statusResponse(out.status);
  // kubectl prints this as "Warning: v1 ComponentStatus is deprecated in v1.19+", as upstream sends it.
  const warning: Record<string, string> = info.kind === 'ComponentStatus'
    ? { warning: `299 - "${joinApiVersion(info.group, info.version)} ComponentStatus is deprecated in v1.19+"` } : {};
  return jsonResponse(200, out.value, warning);
}
