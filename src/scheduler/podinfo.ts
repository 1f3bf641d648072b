/** Parsing pods and nodes into the framework's precomputed views (done once per object, not per cycle). */
import {
  asArray, asNumber, asRecord, asString, labelSelectorFromObject, matchesLabels, parseQuantityValue, parseRfc3339,
  quantityMilliValue, quantityToNumber, type JsonObject, type KubeObject,
} from '../api/index.js';
import { taintsOf, tolerationsOf } from '../controllers/framework/taints.js';
import type {
  AffinityTerm, HostPort, LabelMatcher, NodeInfo, NodeSelectorOp, NodeSelectorRequirement, NodeSelectorTerm,
  PdbInfo, PodAffinitySpec, PodInfo, Resource, TopologySpreadConstraint, WeightedAffinityTerm,
} from './types.js';

/** Upstream's scoring defaults for containers that request nothing (schedutil.DefaultMilliCPURequest). */
const defaultMilliCpuRequest = 100;
const defaultMemoryRequest = 200 * 1024 * 1024;

function emptyResource(): Resource {
  return { milliCpu: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0, scalar: new Map() };
}

function copyResource(r: Resource): Resource {
  return { milliCpu: r.milliCpu, memory: r.memory, ephemeralStorage: r.ephemeralStorage, allowedPodNumber: r.allowedPodNumber, scalar: new Map(r.scalar) };
}

function amount(value: unknown, milli: boolean): number {
  const q = parseQuantityValue(value);
  if (!q.ok) return 0;
  return milli ? Number(quantityMilliValue(q.quantity)) : Math.ceil(quantityToNumber(q.quantity));
}

/** A ResourceList (requests, allocatable, overhead) in scheduler units. */
function resourceFromList(list: unknown): Resource {
  const r = emptyResource();
  const rec = asRecord(list);
  if (rec === undefined) return r;
  for (const [name, v] of Object.entries(rec)) {
    switch (name) {
      case 'cpu': r.milliCpu = amount(v, true); break;
      case 'memory': r.memory = amount(v, false); break;
      case 'ephemeral-storage': r.ephemeralStorage = amount(v, false); break;
      case 'pods': r.allowedPodNumber = amount(v, false); break;
      default:
        // Extended resources and hugepages are counted; other native names are not scheduled on.
        if (name.includes('/') || name.startsWith('hugepages-')) r.scalar.set(name, amount(v, false));
    }
  }
  return r;
}

function addInto(into: Resource, r: Resource): void {
  into.milliCpu += r.milliCpu; into.memory += r.memory; into.ephemeralStorage += r.ephemeralStorage;
  for (const [k, v] of r.scalar) into.scalar.set(k, (into.scalar.get(k) ?? 0) + v);
}

function maxInto(into: Resource, r: Resource): void {
  into.milliCpu = Math.max(into.milliCpu, r.milliCpu); into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of r.scalar) into.scalar.set(k, Math.max(into.scalar.get(k) ?? 0, v));
}

/**
 * Effective requests (resourcehelper.PodRequests): the sum over containers, raised to any single
 * init container's request, plus the pod overhead. Restartable (sidecar) init containers add up.
 */
function podRequests(spec: JsonObject): Resource {
  const sum = emptyResource();
  for (const c of asArray(spec['containers'])) addInto(sum, resourceFromList(asRecord(asRecord(c)?.['resources'])?.['requests']));
  const sidecars = emptyResource();
  const initMax = emptyResource();
  for (const c of asArray(spec['initContainers'])) {
    const rec = asRecord(c) ?? {};
    const req = resourceFromList(asRecord(rec['resources'])?.['requests']);
    if (rec['restartPolicy'] === 'Always') { addInto(sidecars, req); continue; }
    const withSidecars = copyResource(req);
    addInto(withSidecars, sidecars);
    maxInto(initMax, withSidecars);
  }
  addInto(sum, sidecars);
  maxInto(sum, initMax);
  addInto(sum, resourceFromList(spec['overhead']));
  return sum;
}

function nonZero(spec: JsonObject): { milliCpu: number; memory: number } {
  let milliCpu = 0; let memory = 0;
  for (const c of asArray(spec['containers'])) {
    const req = asRecord(asRecord(asRecord(c)?.['resources'])?.['requests']) ?? {};
    milliCpu += req['cpu'] === undefined ? defaultMilliCpuRequest : amount(req['cpu'], true);
    memory += req['memory'] === undefined ? defaultMemoryRequest : amount(req['memory'], false);
  }
  const overhead = resourceFromList(spec['overhead']);
  return { milliCpu: milliCpu + overhead.milliCpu, memory: memory + overhead.memory };
}

/** A metav1.LabelSelector as a predicate; nil or invalid selects nothing. */
export function labelMatcher(sel: unknown): LabelMatcher {
  const r = labelSelectorFromObject(sel);
  if (!r.ok || r.value === 'nothing') return undefined;
  const reqs = r.value;
  if (reqs.length === 0) return () => true;
  return (labels) => matchesLabels(reqs, labels);
}

const nodeOps: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

function nodeRequirements(list: unknown): NodeSelectorRequirement[] {
  return asArray(list).map(asRecord).filter((e): e is JsonObject => e !== undefined).map((e) => ({
    key: asString(e['key']) ?? '',
    operator: (nodeOps.has(asString(e['operator']) ?? '') ? e['operator'] : 'In') as NodeSelectorOp,
    values: asArray(e['values']).map(String),
  }));
}

function nodeTerm(t: unknown): NodeSelectorTerm {
  const rec = asRecord(t) ?? {};
  return { matchExpressions: nodeRequirements(rec['matchExpressions']), matchFields: nodeRequirements(rec['matchFields']) };
}

function matchesNodeRequirement(r: NodeSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[r.key];
  switch (r.operator) {
    case 'In': return v !== undefined && r.values.includes(v);
    case 'NotIn': return v === undefined || !r.values.includes(v);
    case 'Exists': return v !== undefined;
    case 'DoesNotExist': return v === undefined;
    case 'Gt': return v !== undefined && r.values.length === 1 && Number.parseInt(v, 10) > Number.parseInt(r.values[0]!, 10);
    case 'Lt': return v !== undefined && r.values.length === 1 && Number.parseInt(v, 10) < Number.parseInt(r.values[0]!, 10);
    default: { const never: never = r.operator; throw new Error(`operator ${String(never)}`); }
  }
}

/** A term with no requirements matches nothing (upstream nodeaffinity). */
export function matchesNodeTerm(t: NodeSelectorTerm, node: NodeInfo): boolean {
  if (t.matchExpressions.length === 0 && t.matchFields.length === 0) return false;
  if (!t.matchExpressions.every((r) => matchesNodeRequirement(r, node.labels))) return false;
  return t.matchFields.every((r) => r.key === 'metadata.name' && matchesNodeRequirement(r, { 'metadata.name': node.name }));
}

function affinityTerm(t: unknown, podNamespace: string): AffinityTerm {
  const rec = asRecord(t) ?? {};
  const namespaces = asArray(rec['namespaces']).map(String);
  const nsSel = rec['namespaceSelector'];
  const nsSet = new Set(namespaces.length === 0 && (nsSel === undefined || nsSel === null) ? [podNamespace] : namespaces);
  const namespaceSelector = labelMatcher(nsSel);
  return {
    selector: labelMatcher(rec['labelSelector']),
    namespaces: nsSet,
    namespaceSelector,
    topologyKey: asString(rec['topologyKey']) ?? '',
    ...(nsSel === undefined || nsSel === null ? { key: `${JSON.stringify(rec['labelSelector'] ?? null)}\u0000${[...nsSet].sort().join(',')}` } : {}),
  };
}

function weighted(list: unknown, ns: string): WeightedAffinityTerm[] {
  return asArray(list).map(asRecord).filter((e): e is JsonObject => e !== undefined)
    .map((e) => ({ weight: asNumber(e['weight']) ?? 0, term: affinityTerm(e['podAffinityTerm'], ns) }));
}

function parseAffinity(spec: JsonObject, ns: string): PodAffinitySpec {
  const aff = asRecord(spec['affinity']) ?? {};
  const na = asRecord(aff['nodeAffinity']) ?? {};
  const req = asRecord(na['requiredDuringSchedulingIgnoredDuringExecution']);
  const pa = asRecord(aff['podAffinity']) ?? {};
  const paa = asRecord(aff['podAntiAffinity']) ?? {};
  return {
    requiredNodeTerms: req === undefined ? undefined : asArray(req['nodeSelectorTerms']).map(nodeTerm),
    preferredNodeTerms: asArray(na['preferredDuringSchedulingIgnoredDuringExecution']).map(asRecord).filter((e): e is JsonObject => e !== undefined)
      .map((e) => ({ weight: asNumber(e['weight']) ?? 0, term: nodeTerm(e['preference']) })),
    requiredAffinity: asArray(pa['requiredDuringSchedulingIgnoredDuringExecution']).map((t) => affinityTerm(t, ns)),
    requiredAntiAffinity: asArray(paa['requiredDuringSchedulingIgnoredDuringExecution']).map((t) => affinityTerm(t, ns)),
    preferredAffinity: weighted(pa['preferredDuringSchedulingIgnoredDuringExecution'], ns),
    preferredAntiAffinity: weighted(paa['preferredDuringSchedulingIgnoredDuringExecution'], ns),
  };
}

function parseSpread(spec: JsonObject, labels: Readonly<Record<string, string>>): TopologySpreadConstraint[] {
  return asArray(spec['topologySpreadConstraints']).map(asRecord).filter((e): e is JsonObject => e !== undefined).map((c) => {
    // matchLabelKeys: the pod's own values for these keys are ANDed into the selector.
    const sel = asRecord(c['labelSelector']);
    const keys = asArray(c['matchLabelKeys']).map(String).filter((k) => labels[k] !== undefined);
    const merged = sel === undefined || keys.length === 0 ? sel
      : { ...sel, matchExpressions: [...asArray(sel['matchExpressions']), ...keys.map((k) => ({ key: k, operator: 'In', values: [labels[k]] }))] };
    return {
      maxSkew: asNumber(c['maxSkew']) ?? 1,
      topologyKey: asString(c['topologyKey']) ?? '',
      whenUnsatisfiable: c['whenUnsatisfiable'] === 'ScheduleAnyway' ? 'ScheduleAnyway' : 'DoNotSchedule',
      selector: labelMatcher(merged),
      minDomains: asNumber(c['minDomains']) ?? 1,
      selectorKey: JSON.stringify(merged ?? null),
    };
  });
}

export function newPodInfo(pod: KubeObject): PodInfo {
  const spec = asRecord(pod['spec']) ?? {};
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? 'default';
  const labels = meta.labels ?? {};
  const hostPorts: HostPort[] = [];
  const images: string[] = [];
  for (const c of [...asArray(spec['initContainers']), ...asArray(spec['containers'])]) {
    const rec = asRecord(c) ?? {};
    const image = asString(rec['image']);
    if (image !== undefined) images.push(image);
    for (const p of asArray(rec['ports'])) {
      const port = asRecord(p) ?? {};
      const hp = asNumber(port['hostPort']);
      if (hp === undefined || hp <= 0) continue;
      hostPorts.push({ ip: asString(port['hostIP']) ?? '0.0.0.0', protocol: asString(port['protocol']) ?? 'TCP', port: hp });
    }
  }
  const nz = nonZero(spec);
  return {
    pod,
    key: `${namespace}/${meta.name ?? ''}`,
    uid: meta.uid ?? '',
    namespace,
    name: meta.name ?? '',
    labels,
    priority: asNumber(spec['priority']) ?? 0,
    creationMs: parseRfc3339(asString(meta.creationTimestamp) ?? '') ?? 0,
    schedulerName: asString(spec['schedulerName']) ?? 'default-scheduler',
    nodeName: asString(spec['nodeName']) ?? '',
    requests: podRequests(spec),
    nonZeroMilliCpu: nz.milliCpu,
    nonZeroMemory: nz.memory,
    tolerations: tolerationsOf(pod),
    hostPorts,
    images,
    schedulingGates: asArray(spec['schedulingGates']).map((g) => asString(asRecord(g)?.['name']) ?? '').filter((g) => g !== ''),
    nodeSelector: (asRecord(spec['nodeSelector']) ?? {}) as Record<string, string>,
    affinity: parseAffinity(spec, namespace),
    topologySpread: parseSpread(spec, labels),
    preemptionPolicy: spec['preemptionPolicy'] === 'Never' ? 'Never' : 'PreemptLowerPriority',
    terminating: meta.deletionTimestamp !== undefined,
  };
}

function hasAffinityTerms(p: PodInfo): boolean {
  const a = p.affinity;
  return a.requiredAffinity.length + a.requiredAntiAffinity.length + a.preferredAffinity.length + a.preferredAntiAffinity.length > 0;
}

function portKey(p: HostPort): string {
  return `${p.protocol}/${p.ip}/${p.port}`;
}

export function newNodeInfo(node: KubeObject): NodeInfo {
  const info: NodeInfo = {
    name: node.metadata?.name ?? '', node, labels: {}, taints: [], unschedulable: false,
    allocatable: emptyResource(), requested: emptyResource(), nonZeroMilliCpu: 0, nonZeroMemory: 0,
    pods: [], podsWithAffinity: [], podsWithRequiredAntiAffinity: [], usedPorts: new Set(), images: new Map(), generation: 0,
  };
  setNode(info, node);
  return info;
}

export function setNode(info: NodeInfo, node: KubeObject): void {
  info.derived = undefined;
  const status = asRecord(node['status']) ?? {};
  info.node = node;
  info.labels = node.metadata?.labels ?? {};
  info.taints = taintsOf(node);
  info.unschedulable = asRecord(node['spec'])?.['unschedulable'] === true;
  info.allocatable = resourceFromList(status['allocatable'] ?? status['capacity']);
  info.images = new Map();
  for (const img of asArray(status['images'])) {
    const rec = asRecord(img) ?? {};
    const size = asNumber(rec['sizeBytes']) ?? 0;
    for (const n of asArray(rec['names'])) if (typeof n === 'string') info.images.set(n, size);
  }
}

export function addPodToNode(info: NodeInfo, p: PodInfo): void {
  info.derived = undefined;
  info.pods.push(p);
  if (hasAffinityTerms(p)) info.podsWithAffinity.push(p);
  if (p.affinity.requiredAntiAffinity.length > 0) info.podsWithRequiredAntiAffinity.push(p);
  addInto(info.requested, p.requests);
  info.nonZeroMilliCpu += p.nonZeroMilliCpu;
  info.nonZeroMemory += p.nonZeroMemory;
  for (const hp of p.hostPorts) info.usedPorts.add(portKey(hp));
}

export function removePodFromNode(info: NodeInfo, uid: string): boolean {
  const i = info.pods.findIndex((p) => p.uid === uid);
  if (i < 0) return false;
  info.derived = undefined;
  const p = info.pods[i]!;
  info.pods.splice(i, 1);
  info.podsWithAffinity = info.podsWithAffinity.filter((q) => q.uid !== uid);
  info.podsWithRequiredAntiAffinity = info.podsWithRequiredAntiAffinity.filter((q) => q.uid !== uid);
  const r = info.requested;
  r.milliCpu -= p.requests.milliCpu; r.memory -= p.requests.memory; r.ephemeralStorage -= p.requests.ephemeralStorage;
  for (const [k, v] of p.requests.scalar) r.scalar.set(k, (r.scalar.get(k) ?? 0) - v);
  info.nonZeroMilliCpu -= p.nonZeroMilliCpu;
  info.nonZeroMemory -= p.nonZeroMemory;
  info.usedPorts = new Set(info.pods.flatMap((q) => q.hostPorts.map(portKey)));
  return true;
}

/** `compute()` (never undefined) memoised on the node under `key` (see NodeInfo.derived). */
export function derivedOf<T>(node: NodeInfo, key: string, compute: () => T): T {
  let m = node.derived;
  if (m === undefined) node.derived = m = new Map();
  const hit = m.get(key);
  if (hit !== undefined) return hit as T;
  const v = compute();
  // Bounded: a node seen by many distinct selectors starts over rather than grow without limit.
  if (m.size >= 4096) m.clear();
  m.set(key, v);
  return v;
}

/** A copy shares `derived` (same pods, same values); mutating either drops only its own map. */
export function cloneNodeInfo(n: NodeInfo): NodeInfo {
  return {
    ...n, allocatable: n.allocatable, requested: copyResource(n.requested), pods: [...n.pods],
    podsWithAffinity: [...n.podsWithAffinity], podsWithRequiredAntiAffinity: [...n.podsWithRequiredAntiAffinity], usedPorts: new Set(n.usedPorts),
  };
}

/** A PodDisruptionBudget as preemption reads it: its namespace, selector and status.disruptionsAllowed. */
export function pdbInfo(pdb: KubeObject): PdbInfo {
  return {
    namespace: pdb.metadata?.namespace ?? 'default',
    selector: labelMatcher(asRecord(pdb['spec'])?.['selector']),
    disruptionsAllowed: asNumber(asRecord(pdb['status'])?.['disruptionsAllowed']) ?? 0,
  };
}
