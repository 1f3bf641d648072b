/**
 * The Endpoints and EndpointSlice controllers (pkg/controller/endpoint, endpointslice): for
 * every Service with a selector, the addresses of the pods it selects, with each service port
 * resolved per pod (a named targetPort finds that pod's container port of that name, so pods
 * with different numbers for one name land in different subsets or slices). Headless Services
 * without ports get address-only entries and the `service.kubernetes.io/headless` label.
 * Endpoints: ready pods in `addresses`, others in `notReadyAddresses`, terminating pods left
 * out (unless publishNotReadyAddresses). EndpointSlice: terminating pods stay, with their
 * ready / serving / terminating conditions.
 */
import { asArray, asNumber, asRecord, asString, deepClone, deepEqual, matchesLabels, type JsonObject, type KubeObject } from '../api/index.js';
import { objectKey } from '../client/cache.js';
import {
  canonicalJson as canonical, controllerRefFor, ignoreEvent, isPodReady, kinds, nameOf, noActions, sequential, steps,
  type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

const headlessLabel = 'service.kubernetes.io/headless';
const serviceNameLabel = 'kubernetes.io/service-name';
const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
const managedByValue = 'endpointslice-controller.k8s.io';
/** Upstream --max-endpoints-per-slice default. */
const maxEndpointsPerSlice = 100;
/** Upstream maxCapacity of an Endpoints object; beyond it addresses are truncated. */
const maxEndpointsCapacity = 1000;

interface ServicePort { name?: string; port: number; targetPort: number | string; protocol: string; appProtocol?: string }

function servicePorts(svc: KubeObject): ServicePort[] {
  return asArray(asRecord(svc['spec'])?.['ports']).map(asRecord).filter((p): p is JsonObject => p !== undefined).map((p) => ({
    ...(asString(p['name']) === undefined || p['name'] === '' ? {} : { name: asString(p['name'])! }),
    port: asNumber(p['port']) ?? 0,
    targetPort: typeof p['targetPort'] === 'number' || typeof p['targetPort'] === 'string' ? p['targetPort'] : (asNumber(p['port']) ?? 0),
    protocol: asString(p['protocol']) ?? 'TCP',
    ...(asString(p['appProtocol']) === undefined ? {} : { appProtocol: asString(p['appProtocol'])! }),
  }));
}

function serviceSelector(svc: KubeObject): Record<string, string> | undefined {
  const sel = asRecord(asRecord(svc['spec'])?.['selector']);
  return sel === undefined ? undefined : (sel as Record<string, string>);
}

function isHeadless(svc: KubeObject): boolean {
  return asRecord(svc['spec'])?.['clusterIP'] === 'None';
}

function publishNotReady(svc: KubeObject): boolean {
  return asRecord(svc['spec'])?.['publishNotReadyAddresses'] === true;
}

/** podutil.FindPort: a number is used as is; a name must match a container port of that protocol. */
function findPort(pod: KubeObject, sp: ServicePort): number | undefined {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  if (/^\d+$/.test(sp.targetPort)) return Number(sp.targetPort);
  for (const c of asArray(asRecord(pod['spec'])?.['containers'])) {
    for (const p of asArray(asRecord(c)?.['ports'])) {
      const r = asRecord(p);
      if (r?.['name'] === sp.targetPort && (asString(r['protocol']) ?? 'TCP') === sp.protocol) return asNumber(r['containerPort']);
    }
  }
  return undefined;
}

function podIp(pod: KubeObject): string | undefined {
  const status = asRecord(pod['status']) ?? {};
  const ips = asArray(status['podIPs']).map((x) => asString(asRecord(x)?.['ip'])).filter((x): x is string => x !== undefined && x !== '');
  return ips[0] ?? (asString(status['podIP']) === '' ? undefined : asString(status['podIP']));
}

/** ShouldPodBeInEndpoints. */
function shouldBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (podIp(pod) === undefined) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp !== undefined) return false;
  const phase = asString(asRecord(pod['status'])?.['phase']);
  const restart = asString(asRecord(pod['spec'])?.['restartPolicy']) ?? 'Always';
  if (restart === 'Never') return phase !== 'Failed' && phase !== 'Succeeded';
  if (restart === 'OnFailure') return phase !== 'Succeeded';
  return true;
}

function selectedPods(cache: CacheView, svc: KubeObject, selector: Record<string, string>): KubeObject[] {
  const reqs = Object.keys(selector).sort().map((key) => ({ key, operator: 'Equals' as const, values: [selector[key]!] }));
  return cache.list(kinds.pod, svc.metadata?.namespace).filter((p) => matchesLabels(reqs, p.metadata?.labels)) as KubeObject[];
}

function address(svc: KubeObject, pod: KubeObject): JsonObject {
  const spec = asRecord(pod['spec']) ?? {};
  const out: JsonObject = { ip: podIp(pod) };
  const hostname = asString(spec['hostname']);
  if (hostname !== undefined && hostname !== '' && spec['subdomain'] === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace) out['hostname'] = hostname;
  const node = asString(spec['nodeName']);
  if (node !== undefined && node !== '') out['nodeName'] = node;
  out['targetRef'] = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  return out;
}

/** Port lists of one pod: one entry per service port it resolves (none resolved: the pod is left out of that port). */
function resolvedPorts(pod: KubeObject, ports: readonly ServicePort[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    out.push({ ...(sp.name === undefined ? {} : { name: sp.name }), port, protocol: sp.protocol, ...(sp.appProtocol === undefined ? {} : { appProtocol: sp.appProtocol }) });
  }
  return out;
}

const byJson = (a: unknown, b: unknown) => { const x = canonical(a), y = canonical(b); return x < y ? -1 : x > y ? 1 : 0; };

function endpointsLabels(svc: KubeObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  if (isHeadless(svc)) labels[headlessLabel] = '';
  else delete labels[headlessLabel];
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/**
 * The subsets upstream computes, repacked (RepackSubsets): each address collects the ports it
 * serves, then addresses with the same port set share a subset. Sorted, so equal inputs give
 * equal objects.
 */
function desiredSubsets(svc: KubeObject, pods: readonly KubeObject[]): JsonObject[] {
  const ports = servicePorts(svc);
  const tolerate = publishNotReady(svc);
  const perAddress = new Map<string, { addr: JsonObject; ready: boolean; ports: Map<string, JsonObject> }>();
  for (const pod of pods) {
    if (!shouldBeInEndpoints(pod, tolerate)) continue;
    const addr = address(svc, pod);
    const ready = tolerate || isPodReady(pod);
    const portList = ports.length === 0 ? (isHeadless(svc) ? [] : undefined) : resolvedPorts(pod, ports);
    if (portList === undefined || (ports.length > 0 && portList.length === 0)) continue;
    const k = `${ready ? 'r' : 'n'}${canonical(addr)}`;
    let e = perAddress.get(k);
    if (e === undefined) perAddress.set(k, (e = { addr, ready, ports: new Map() }));
    for (const p of portList) e.ports.set(canonical(p), p);
  }
  const bySet = new Map<string, { ports: JsonObject[]; addresses: JsonObject[]; notReadyAddresses: JsonObject[] }>();
  for (const e of perAddress.values()) {
    const plist = [...e.ports.values()].sort(byJson);
    const k = canonical(plist);
    let g = bySet.get(k);
    if (g === undefined) bySet.set(k, (g = { ports: plist, addresses: [], notReadyAddresses: [] }));
    (e.ready ? g.addresses : g.notReadyAddresses).push(e.addr);
  }
  const subsets = [...bySet.values()].map((g) => {
    const s: JsonObject = {};
    if (g.addresses.length > 0) s['addresses'] = g.addresses.sort(byIp);
    if (g.notReadyAddresses.length > 0) s['notReadyAddresses'] = g.notReadyAddresses.sort(byIp);
    if (g.ports.length > 0) s['ports'] = g.ports;
    return s;
  });
  return subsets.sort(byJson);
}

function byIp(a: JsonObject, b: JsonObject): number {
  const x = `${String(a['ip'])}/${String(asRecord(a['targetRef'])?.['uid'] ?? '')}`;
  const y = `${String(b['ip'])}/${String(asRecord(b['targetRef'])?.['uid'] ?? '')}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Upstream truncates an Endpoints object past maxCapacity addresses and says so in an annotation. */
function truncate(subsets: JsonObject[]): { subsets: JsonObject[]; truncated: boolean } {
  let total = 0;
  for (const s of subsets) total += asArray(s['addresses']).length + asArray(s['notReadyAddresses']).length;
  if (total <= maxEndpointsCapacity) return { subsets, truncated: false };
  let left = maxEndpointsCapacity;
  const out: JsonObject[] = [];
  for (const s of subsets) {
    if (left <= 0) break;
    const ready = asArray(s['addresses']).slice(0, left);
    left -= ready.length;
    const notReady = asArray(s['notReadyAddresses']).slice(0, left);
    left -= notReady.length;
    out.push({ ...s, ...(ready.length > 0 ? { addresses: ready } : {}), ...(notReady.length > 0 ? { notReadyAddresses: notReady } : {}) });
  }
  return { subsets: out, truncated: true };
}

export function reconcileEndpoints(key: string, cache: CacheView, _ctx: ReconcileContext): ReconcileResult {
  const svc = cache.get(kinds.service, key);
  const current = cache.get(kinds.endpoints, key);
  if (svc === undefined) {
    if (current === undefined) return noActions;
    return { steps: steps({ execution: sequential, actions: [{ type: 'delete', resource: kinds.endpoints, namespace: current.metadata?.namespace, name: nameOf(current), options: { preconditions: { uid: current.metadata?.uid ?? '' } } }] }) };
  }
  const selector = serviceSelector(svc);
  if (asRecord(svc['spec'])?.['type'] === 'ExternalName' || selector === undefined) return noActions;
  const { subsets, truncated } = truncate(desiredSubsets(svc, selectedPods(cache, svc, selector)));
  const labels = endpointsLabels(svc);
  const curAnn = current?.metadata?.annotations ?? {};
  const annotations: Record<string, string> = { ...curAnn };
  if (truncated) annotations['endpoints.kubernetes.io/over-capacity'] = 'truncated';
  else delete annotations['endpoints.kubernetes.io/over-capacity'];
  if (current !== undefined && deepEqual(asArray(current['subsets']), subsets) && deepEqual(current.metadata?.labels ?? {}, labels) && deepEqual(curAnn, annotations)) return noActions;
  let action: ApiAction;
  if (current === undefined) {
    action = {
      type: 'create', resource: kinds.endpoints, namespace: svc.metadata?.namespace,
      body: { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: nameOf(svc), namespace: svc.metadata?.namespace, labels, ...(truncated ? { annotations } : {}) }, subsets },
    };
  } else {
    const body = deepClone(current);
    body.metadata = { ...body.metadata, labels };
    if (Object.keys(annotations).length > 0) body.metadata.annotations = annotations;
    else delete body.metadata.annotations;
    body['subsets'] = subsets;
    action = { type: 'update', resource: kinds.endpoints, body };
  }
  return { steps: steps({ execution: sequential, actions: [action] }) };
}

// ---------------------------------------------------------------------------------------------
// EndpointSlice

function sliceEndpoint(svc: KubeObject, pod: KubeObject): JsonObject {
  const serving = isPodReady(pod);
  const terminating = pod.metadata?.deletionTimestamp !== undefined;
  // A terminating pod is never "ready" unless the Service publishes not-ready addresses.
  const ready = publishNotReady(svc) || (serving && !terminating);
  const spec = asRecord(pod['spec']) ?? {};
  const out: JsonObject = { addresses: [podIp(pod)], conditions: { ready, serving, terminating } };
  const hostname = asString(spec['hostname']);
  if (hostname !== undefined && hostname !== '' && spec['subdomain'] === svc.metadata?.name) out['hostname'] = hostname;
  out['targetRef'] = { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid };
  const node = asString(spec['nodeName']);
  if (node !== undefined && node !== '') out['nodeName'] = node;
  return out;
}

function sliceLabels(svc: KubeObject): Record<string, string> {
  return { ...endpointsLabels(svc), [serviceNameLabel]: nameOf(svc), [managedByLabel]: managedByValue };
}

function ownedSlices(cache: CacheView, svc: KubeObject): KubeObject[] {
  return cache.list(kinds.endpointSlice, svc.metadata?.namespace).filter((s) =>
    s.metadata?.labels?.[serviceNameLabel] === nameOf(svc) && s.metadata?.labels?.[managedByLabel] === managedByValue) as KubeObject[];
}

/**
 * Desired slices: endpoints grouped by their resolved port list, packed up to
 * maxEndpointsPerSlice. Existing slices with the same ports are reused in name order (updated
 * only when different), missing ones created, surplus deleted.
 */
export function reconcileEndpointSlices(key: string, cache: CacheView, _ctx: ReconcileContext): ReconcileResult {
  const svc = cache.get(kinds.service, key);
  // Slices of a deleted Service go with it (they are owned: the garbage collector removes them).
  if (svc === undefined) return noActions;
  const selector = serviceSelector(svc);
  if (asRecord(svc['spec'])?.['type'] === 'ExternalName' || selector === undefined) return noActions;
  const ports = servicePorts(svc);
  const groups = new Map<string, { ports: JsonObject[]; endpoints: JsonObject[] }>();
  for (const pod of selectedPods(cache, svc, selector)) {
    if (!shouldBeInEndpoints(pod, true)) continue;
    if (ports.length === 0 && !isHeadless(svc)) continue;
    const portList = ports.length === 0 ? [] : resolvedPorts(pod, ports);
    if (ports.length > 0 && portList.length === 0) continue;
    const k = canonical(portList);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = { ports: portList, endpoints: [] }));
    g.endpoints.push(sliceEndpoint(svc, pod));
  }
  const desired: Array<{ ports: JsonObject[]; endpoints: JsonObject[] }> = [];
  for (const k of [...groups.keys()].sort()) {
    const g = groups.get(k)!;
    g.endpoints.sort((a, b) => byIp({ ip: asArray(a['addresses'])[0], targetRef: a['targetRef'] }, { ip: asArray(b['addresses'])[0], targetRef: b['targetRef'] }));
    for (let i = 0; i < g.endpoints.length; i += maxEndpointsPerSlice) desired.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + maxEndpointsPerSlice) });
  }
  // A Service with a selector but no endpoints still gets one empty slice (so consumers see "none").
  if (desired.length === 0) desired.push({ ports: [], endpoints: [] });
  const labels = sliceLabels(svc);
  const existing = ownedSlices(cache, svc).sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));
  const unused = new Set(existing);
  const actions: ApiAction[] = [];
  const deferredCreates: ApiAction[] = [];
  for (const want of desired) {
    const match = [...unused].find((s) => deepEqual(asArray(s['ports']), want.ports));
    const addressType = String(asArray(want.endpoints[0]?.['addresses'])[0] ?? '').includes(':') ? 'IPv6' : 'IPv4';
    if (match !== undefined) {
      unused.delete(match);
      if (deepEqual(asArray(match['endpoints']), want.endpoints) && deepEqual(match.metadata?.labels ?? {}, labels)) continue;
      const body = deepClone(match);
      body.metadata = { ...body.metadata, labels };
      body['endpoints'] = want.endpoints;
      actions.push({ type: 'update', resource: kinds.endpointSlice, body });
      continue;
    }
    deferredCreates.push({
      type: 'create', resource: kinds.endpointSlice, namespace: svc.metadata?.namespace,
      body: {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { generateName: `${nameOf(svc)}-`, namespace: svc.metadata?.namespace, labels, ownerReferences: [controllerRefFor(svc, kinds.service)] },
        addressType, endpoints: want.endpoints, ports: want.ports,
      },
    });
  }
  const deletes: ApiAction[] = [...unused].map((s) => ({
    type: 'delete', resource: kinds.endpointSlice, namespace: s.metadata?.namespace, name: nameOf(s), options: { preconditions: { uid: s.metadata?.uid ?? '' } },
  }));
  return { steps: steps({ execution: sequential, actions: [...actions, ...deferredCreates] }, { execution: { kind: 'parallel' }, actions: deletes }) };
}

// ---------------------------------------------------------------------------------------------
// Event handlers (shared): a pod concerns the Services in its namespace that select it.

function servicesSelecting(cache: CacheView, pod: KubeObject): string[] {
  const keys: string[] = [];
  for (const svc of cache.list(kinds.service, pod.metadata?.namespace)) {
    const sel = serviceSelector(svc);
    if (sel === undefined || Object.keys(sel).length === 0) continue;
    if (Object.entries(sel).every(([k, v]) => pod.metadata?.labels?.[k] === v)) keys.push(objectKey(svc));
  }
  return keys;
}

function mapPod(event: WatchEvent, cache: CacheView): EventMapping {
  const objs = event.type === 'update' ? [event.oldObj, event.newObj] : [event.obj];
  if (event.type === 'update' && event.oldObj.metadata?.resourceVersion === event.newObj.metadata?.resourceVersion) return ignoreEvent;
  const keys = new Set(objs.flatMap((p) => servicesSelecting(cache, p)));
  return { enqueue: [...keys].map((key) => ({ key })) };
}

function mapService(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  return { enqueue: [{ key: objectKey(obj) }] };
}

/** An Endpoints object changed or vanished behind the controller's back: put it right. */
function mapEndpoints(event: WatchEvent): EventMapping {
  if (event.type === 'add') return ignoreEvent;
  const obj = event.type === 'update' ? event.newObj : event.obj;
  return { enqueue: [{ key: objectKey(obj) }] };
}

function mapSlice(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  const svc = obj.metadata?.labels?.[serviceNameLabel];
  if (svc === undefined || obj.metadata?.labels?.[managedByLabel] !== managedByValue) return ignoreEvent;
  return { enqueue: [{ key: `${obj.metadata?.namespace}/${svc}` }] };
}

export const endpointsController: ControllerDefinition = {
  name: 'endpoints',
  primary: kinds.service,
  workers: 5,
  watches: [
    { kind: kinds.service, map: (e) => mapService(e) },
    { kind: kinds.pod, map: mapPod },
    { kind: kinds.endpoints, map: (e) => mapEndpoints(e) },
  ],
  reconcile: reconcileEndpoints,
};

export const endpointSliceController: ControllerDefinition = {
  name: 'endpointslice',
  primary: kinds.service,
  workers: 5,
  watches: [
    { kind: kinds.service, map: (e) => mapService(e) },
    { kind: kinds.pod, map: mapPod },
    { kind: kinds.endpointSlice, map: (e) => mapSlice(e) },
  ],
  reconcile: reconcileEndpointSlices,
};
