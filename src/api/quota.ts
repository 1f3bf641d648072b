/**
 * Resource-quota arithmetic shared by the ResourceQuota admission plugin (src/apiserver) and the
 * resourcequota controller (src/controllers): what one object uses (upstream's evaluators in
 * pkg/quota/v1/evaluator/core) and how resource lists add up. Quantities stay exact (BigInt
 * nano-units) so "used + requested > hard" never suffers rounding.
 */
import { formatQuantity, parseQuantityValue, type Quantity } from './quantity.js';
import { asRecord, asString, type JsonObject } from './types.js';

/** Resource name → quantity ("requests.cpu" → 500m). */
export type ResourceList = ReadonlyMap<string, Quantity>;

const one: Quantity = { nanos: 1_000_000_000n, format: 'DecimalSI' };

/** `count/<resource>[.<group>]`: the generic object-count resource name. */
export function objectCountName(group: string, resource: string): string {
  return group === '' ? `count/${resource}` : `count/${resource}.${group}`;
}

/** Upstream's legacy object-count names (quota before `count/...` existed). */
const legacyCountNames: Readonly<Record<string, string>> = {
  pods: 'pods', services: 'services', configmaps: 'configmaps', secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims', replicationcontrollers: 'replicationcontrollers', resourcequotas: 'resourcequotas',
};

/** Parses a `hard` / `used` / `requests` map; unparsable entries are skipped (validation refuses them earlier). */
export function resourceListOf(value: unknown): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [k, v] of Object.entries(asRecord(value) ?? {})) {
    const q = parseQuantityValue(v);
    if (q.ok) out.set(k, q.quantity);
  }
  return out;
}

export function formatResourceList(list: ResourceList): Record<string, string> {
  return Object.fromEntries([...list.keys()].sort().map((k) => [k, formatQuantity(list.get(k)!)]));
}

export function addLists(a: ResourceList, b: ResourceList): Map<string, Quantity> {
  const out = new Map(a);
  for (const [k, q] of b) {
    const prev = out.get(k);
    out.set(k, prev === undefined ? q : { nanos: prev.nanos + q.nanos, format: prev.format });
  }
  return out;
}

function maxLists(a: ResourceList, b: ResourceList): Map<string, Quantity> {
  const out = new Map(a);
  for (const [k, q] of b) {
    const prev = out.get(k);
    if (prev === undefined || q.nanos > prev.nanos) out.set(k, q);
  }
  return out;
}

/** Upstream's podComputeUsageHelper: container requests / limits as quota resource names. */
export function computeUsage(requests: ResourceList, limits: ResourceList): Map<string, Quantity> {
  const out = new Map<string, Quantity>([['pods', one]]);
  for (const [name, q] of requests) {
    if (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage') {
      out.set(name, q);
      out.set(`requests.${name}`, q);
    } else if (name.startsWith('hugepages-')) {
      out.set(`requests.${name}`, q);
    }
  }
  for (const [name, q] of limits) {
    if (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage') out.set(`limits.${name}`, q);
  }
  return out;
}

const containersOf = (spec: JsonObject, field: 'containers' | 'initContainers'): JsonObject[] =>
  (Array.isArray(spec[field]) ? spec[field] as unknown[] : []).map((c) => asRecord(c) ?? {});

/** A container's requests and limits. */
export function containerResources(c: JsonObject): { requests: Map<string, Quantity>; limits: Map<string, Quantity> } {
  const r = asRecord(c['resources']) ?? {};
  return { requests: resourceListOf(r['requests']), limits: resourceListOf(r['limits']) };
}

/** Succeeded and Failed pods no longer use compute resources (upstream QuotaV1Pod). */
export function isTerminalPod(pod: JsonObject): boolean {
  const phase = asString(asRecord(pod['status'])?.['phase']);
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Upstream PodUsageFunc: count/pods always; compute resources only while the pod is not terminal. */
export function podUsage(pod: JsonObject): Map<string, Quantity> {
  const count = new Map<string, Quantity>([[objectCountName('', 'pods'), one]]);
  if (isTerminalPod(pod)) return count;
  const spec = asRecord(pod['spec']) ?? {};
  let requests: Map<string, Quantity> = new Map();
  let limits: Map<string, Quantity> = new Map();
  for (const c of containersOf(spec, 'containers')) {
    const r = containerResources(c);
    requests = addLists(requests, r.requests);
    limits = addLists(limits, r.limits);
  }
  // Init containers run one at a time before the others: the largest competes with the sum.
  for (const c of containersOf(spec, 'initContainers')) {
    const r = containerResources(c);
    requests = maxLists(requests, r.requests);
    limits = maxLists(limits, r.limits);
  }
  const overhead = resourceListOf(spec['overhead']);
  return addLists(count, computeUsage(addLists(requests, overhead), addLists(limits, overhead)));
}

/** What one stored object of `resource` in `group` counts against a quota. */
export function objectUsage(group: string, resource: string, obj: JsonObject): Map<string, Quantity> {
  if (group === '' && resource === 'pods') return podUsage(obj);
  const out = new Map<string, Quantity>([[objectCountName(group, resource), one]]);
  if (group !== '') return out;
  const legacy = legacyCountNames[resource];
  if (legacy !== undefined) out.set(legacy, one);
  const spec = asRecord(obj['spec']) ?? {};
  if (resource === 'services') {
    const type = asString(spec['type']);
    const ports = Array.isArray(spec['ports']) ? spec['ports'].length : 0;
    if (type === 'NodePort' || type === 'LoadBalancer') out.set('services.nodeports', { nanos: BigInt(ports) * one.nanos, format: 'DecimalSI' });
    if (type === 'LoadBalancer') out.set('services.loadbalancers', one);
  }
  if (resource === 'persistentvolumeclaims') {
    const storage = resourceListOf(asRecord(spec['resources'])?.['requests']).get('storage');
    if (storage !== undefined) out.set('requests.storage', storage);
  }
  return out;
}

/** Which quota resource names an object of `resource` could ever use (upstream MatchingResources). */
export function quotaResourceMatches(group: string, resource: string, name: string): boolean {
  if (name === objectCountName(group, resource)) return true;
  if (group !== '') return false;
  if (legacyCountNames[resource] === name) return true;
  switch (resource) {
    case 'pods':
      return ['cpu', 'memory', 'ephemeral-storage'].includes(name) || /^(requests|limits)\.(cpu|memory|ephemeral-storage)$/.test(name)
        || name.startsWith('requests.hugepages-');
    case 'services': return name === 'services.nodeports' || name === 'services.loadbalancers';
    case 'persistentvolumeclaims': return name === 'requests.storage';
    default: return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Scopes (upstream pkg/quota/v1/evaluator/core/pods.go podMatchesScopeFunc)

export type QuotaScope = 'Terminating' | 'NotTerminating' | 'BestEffort' | 'NotBestEffort' | 'PriorityClass' | 'CrossNamespacePodAffinity';

interface ScopeRequirement {
  readonly scopeName: string;
  readonly operator: string;
  readonly values: readonly string[];
}

/** spec.scopes and spec.scopeSelector.matchExpressions as one list of requirements (scopes: operator Exists). */
function scopeRequirements(quotaSpec: JsonObject): ScopeRequirement[] {
  const scopes = Array.isArray(quotaSpec['scopes']) ? quotaSpec['scopes'].filter((s): s is string => typeof s === 'string') : [];
  const expressions = asRecord(quotaSpec['scopeSelector'])?.['matchExpressions'];
  const selected = (Array.isArray(expressions) ? expressions : []).map((e) => asRecord(e) ?? {}).map((e) => ({
    scopeName: asString(e['scopeName']) ?? '', operator: asString(e['operator']) ?? '',
    values: Array.isArray(e['values']) ? e['values'].filter((v): v is string => typeof v === 'string') : [],
  }));
  return [...scopes.map((scopeName) => ({ scopeName, operator: 'Exists', values: [] })), ...selected];
}

/** QoS BestEffort: no container (init ones included) requests or limits cpu or memory. */
function isBestEffort(spec: JsonObject): boolean {
  return [...containersOf(spec, 'containers'), ...containersOf(spec, 'initContainers')].every((c) => {
    const r = containerResources(c);
    return !['cpu', 'memory'].some((n) => r.requests.has(n) || r.limits.has(n));
  });
}

function usesCrossNamespaceAffinity(spec: JsonObject): boolean {
  const affinity = asRecord(spec['affinity']) ?? {};
  const terms = ['podAffinity', 'podAntiAffinity'].flatMap((kind) => {
    const a = asRecord(affinity[kind]) ?? {};
    const required = Array.isArray(a['requiredDuringSchedulingIgnoredDuringExecution']) ? a['requiredDuringSchedulingIgnoredDuringExecution'] : [];
    const preferred = (Array.isArray(a['preferredDuringSchedulingIgnoredDuringExecution']) ? a['preferredDuringSchedulingIgnoredDuringExecution'] : [])
      .map((p) => asRecord(p)?.['podAffinityTerm']);
    return [...required, ...preferred].map((t) => asRecord(t) ?? {});
  });
  return terms.some((t) => (Array.isArray(t['namespaces']) && t['namespaces'].length > 0) || t['namespaceSelector'] !== undefined);
}

function podMatchesRequirement(pod: JsonObject, r: ScopeRequirement): boolean {
  const spec = asRecord(pod['spec']) ?? {};
  switch (r.scopeName as QuotaScope) {
    case 'Terminating': return typeof spec['activeDeadlineSeconds'] === 'number' && spec['activeDeadlineSeconds'] >= 0;
    case 'NotTerminating': return !(typeof spec['activeDeadlineSeconds'] === 'number' && spec['activeDeadlineSeconds'] >= 0);
    case 'BestEffort': return isBestEffort(spec);
    case 'NotBestEffort': return !isBestEffort(spec);
    case 'CrossNamespacePodAffinity': return usesCrossNamespaceAffinity(spec);
    case 'PriorityClass': {
      const priorityClass = asString(spec['priorityClassName']) ?? '';
      switch (r.operator) {
        case 'Exists': return priorityClass !== '';
        case 'DoesNotExist': return priorityClass === '';
        case 'In': return r.values.includes(priorityClass);
        case 'NotIn': return !r.values.includes(priorityClass);
        default: return false;
      }
    }
    default: return false;
  }
}

/**
 * Whether a quota with these scopes tracks this object: a quota without scopes tracks everything;
 * scopes select pods only (every requirement must match), as upstream's pod evaluator.
 */
export function quotaTracksObject(quotaSpec: JsonObject, group: string, resource: string, obj: JsonObject): boolean {
  const requirements = scopeRequirements(quotaSpec);
  if (requirements.length === 0) return true;
  if (group !== '' || resource !== 'pods') return false;
  return requirements.every((r) => podMatchesRequirement(obj, r));
}
