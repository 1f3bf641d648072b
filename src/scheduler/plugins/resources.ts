/** NodeResourcesFit and NodeResourcesBalancedAllocation with upstream's scoring strategies. */
import { asArray, asNumber, asRecord, asString, type JsonObject } from '../../api/index.js';
import { maxNodeScore, success, unschedulable, type FilterPlugin, type NodeInfo, type PodInfo, type ScorePlugin } from '../types.js';
import { built, refused, unknownArgKey, type PluginFactory } from './args.js';

export interface ResourceSpec { readonly name: string; readonly weight: number }
export type ScoringStrategy =
  | { readonly type: 'LeastAllocated'; readonly resources: readonly ResourceSpec[] }
  | { readonly type: 'MostAllocated'; readonly resources: readonly ResourceSpec[] }
  | { readonly type: 'RequestedToCapacityRatio'; readonly resources: readonly ResourceSpec[]; readonly shape: ReadonlyArray<{ utilization: number; score: number }> };

const defaultResources: readonly ResourceSpec[] = [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }];

/** Whether the pod fits (insufficientResources without building the reasons: Filter's hot path). */
function fitsResources(pod: PodInfo, node: NodeInfo): boolean {
  const a = node.allocatable; const r = node.requested; const q = pod.requests;
  if (node.pods.length + 1 > a.allowedPodNumber) return false;
  if (q.milliCpu > 0 && q.milliCpu > a.milliCpu - r.milliCpu) return false;
  if (q.memory > 0 && q.memory > a.memory - r.memory) return false;
  if (q.ephemeralStorage > 0 && q.ephemeralStorage > a.ephemeralStorage - r.ephemeralStorage) return false;
  if (q.scalar.size > 0) for (const [name, v] of q.scalar) if (v > 0 && v > (a.scalar.get(name) ?? 0) - (r.scalar.get(name) ?? 0)) return false;
  return true;
}

/** Every failing resource is a reason (upstream Fits: "Too many pods", "Insufficient cpu", ...). */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const reasons: string[] = [];
  const a = node.allocatable; const r = node.requested; const q = pod.requests;
  if (node.pods.length + 1 > a.allowedPodNumber) reasons.push('Too many pods');
  if (q.milliCpu > 0 && q.milliCpu > a.milliCpu - r.milliCpu) reasons.push('Insufficient cpu');
  if (q.memory > 0 && q.memory > a.memory - r.memory) reasons.push('Insufficient memory');
  if (q.ephemeralStorage > 0 && q.ephemeralStorage > a.ephemeralStorage - r.ephemeralStorage) reasons.push('Insufficient ephemeral-storage');
  for (const [name, v] of q.scalar) if (v > 0 && v > (a.scalar.get(name) ?? 0) - (r.scalar.get(name) ?? 0)) reasons.push(`Insufficient ${name}`);
  return reasons;
}

/**
 * Requested (with the pod) and allocatable of one resource; CPU and memory use the non-zero
 * defaults. Two functions rather than a tuple: this runs per node per pod, without allocating.
 */
function requestedOf(name: string, pod: PodInfo, node: NodeInfo): number {
  switch (name) {
    case 'cpu': return node.nonZeroMilliCpu + pod.nonZeroMilliCpu;
    case 'memory': return node.nonZeroMemory + pod.nonZeroMemory;
    case 'ephemeral-storage': return node.requested.ephemeralStorage + pod.requests.ephemeralStorage;
    default: return (node.requested.scalar.get(name) ?? 0) + (pod.requests.scalar.get(name) ?? 0);
  }
}

function allocatableOf(name: string, node: NodeInfo): number {
  switch (name) {
    case 'cpu': return node.allocatable.milliCpu;
    case 'memory': return node.allocatable.memory;
    case 'ephemeral-storage': return node.allocatable.ephemeralStorage;
    default: return node.allocatable.scalar.get(name) ?? 0;
  }
}

function interpolate(shape: ReadonlyArray<{ utilization: number; score: number }>, u: number): number {
  const first = shape[0]!; const last = shape[shape.length - 1]!;
  if (u <= first.utilization) return first.score;
  if (u >= last.utilization) return last.score;
  for (let i = 1; i < shape.length; i++) {
    const a = shape[i - 1]!; const b = shape[i]!;
    // Integer arithmetic, as upstream's BuildBrokenLinearFunction (int64 division).
    if (u <= b.utilization) return a.score + Math.trunc(((b.score - a.score) * (u - a.utilization)) / (b.utilization - a.utilization));
  }
  return last.score;
}

/** One resource's score under the strategy (upstream's least_allocated.go, most_allocated.go, requested_to_capacity_ratio.go). */
function resourceScore(s: ScoringStrategy, req: number, cap: number): number {
  switch (s.type) {
    case 'LeastAllocated': return cap === 0 || req > cap ? 0 : Math.trunc(((cap - req) * maxNodeScore) / cap);
    case 'MostAllocated': return cap === 0 ? 0 : Math.trunc((Math.min(req, cap) * maxNodeScore) / cap);
    case 'RequestedToCapacityRatio': return interpolate(s.shape, cap === 0 || req > cap ? 100 : Math.trunc((req * 100) / cap));
    default: { const never: never = s; throw new Error(`strategy ${String(never)}`); }
  }
}

function strategyScore(s: ScoringStrategy, pod: PodInfo, node: NodeInfo): number {
  let total = 0; let weights = 0;
  for (const { name, weight } of s.resources) {
    const req = requestedOf(name, pod, node); const cap = allocatableOf(name, node);
    // A resource the pod does not request is skipped, except cpu/memory (non-zero defaults apply).
    if (name !== 'cpu' && name !== 'memory' && (pod.requests.scalar.get(name) ?? 0) === 0 && name !== 'ephemeral-storage') continue;
    if (s.type === 'RequestedToCapacityRatio' && cap === 0) continue;
    const score = resourceScore(s, req, cap);
    // RequestedToCapacityRatio leaves zero scores out of the weighted mean and rounds it; the others truncate.
    if (s.type === 'RequestedToCapacityRatio' && score <= 0) continue;
    total += score * weight; weights += weight;
  }
  if (weights === 0) return 0;
  return s.type === 'RequestedToCapacityRatio' ? Math.round(total / weights) : Math.trunc(total / weights);
}

function parseResources(v: unknown): ResourceSpec[] | string {
  if (v === undefined) return [...defaultResources];
  const out: ResourceSpec[] = [];
  for (const e of asArray(v)) {
    const rec = asRecord(e) ?? {};
    const name = asString(rec['name']);
    const weight = rec['weight'] === undefined ? 1 : asNumber(rec['weight']);
    if (name === undefined || name === '') return 'scoringStrategy.resources[].name is required';
    if (weight === undefined || !Number.isInteger(weight) || weight < 1 || weight > 100) return `scoringStrategy.resources[${name}].weight must be in the range [1, 100]`;
    out.push({ name, weight });
  }
  return out;
}

function parseScoringStrategy(v: unknown): ScoringStrategy | string {
  if (v === undefined) return { type: 'LeastAllocated', resources: defaultResources };
  const rec = asRecord(v);
  if (rec === undefined) return 'scoringStrategy must be an object';
  const bad = unknownArgKey(rec, ['type', 'resources', 'requestedToCapacityRatio']);
  if (bad !== undefined) return `unknown field ${JSON.stringify(bad)} in scoringStrategy`;
  const resources = parseResources(rec['resources']);
  if (typeof resources === 'string') return resources;
  const type = asString(rec['type']) ?? 'LeastAllocated';
  switch (type) {
    case 'LeastAllocated': case 'MostAllocated': return { type, resources };
    case 'RequestedToCapacityRatio': {
      const shape = asArray(asRecord(rec['requestedToCapacityRatio'])?.['shape']).map((p) => ({ utilization: asNumber(asRecord(p)?.['utilization']) ?? -1, score: asNumber(asRecord(p)?.['score']) ?? -1 }));
      if (shape.length === 0) return 'scoringStrategy.requestedToCapacityRatio.shape must have at least one point';
      for (let i = 0; i < shape.length; i++) {
        const p = shape[i]!;
        if (p.utilization < 0 || p.utilization > 100) return 'shape utilization must be in the range [0, 100]';
        if (p.score < 0 || p.score > 10) return 'shape score must be in the range [0, 10]';
        if (i > 0 && p.utilization <= shape[i - 1]!.utilization) return 'shape utilization values must be sorted in increasing order';
      }
      // Shape scores are 0..10; node scores are 0..100.
      return { type, resources, shape: shape.map((p) => ({ utilization: p.utilization, score: p.score * (maxNodeScore / 10) })) };
    }
    default: return `scoringStrategy.type ${JSON.stringify(type)} is not one of LeastAllocated, MostAllocated, RequestedToCapacityRatio`;
  }
}

export const nodeResourcesFit: PluginFactory = (args: JsonObject | undefined) => {
  const name = 'NodeResourcesFit';
  const bad = unknownArgKey(args, ['scoringStrategy', 'ignoredResources', 'ignoredResourceGroups']);
  if (bad !== undefined) return refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  const strategy = parseScoringStrategy(args?.['scoringStrategy']);
  if (typeof strategy === 'string') return refused(name, strategy);
  const plugin: FilterPlugin & ScorePlugin = {
    name,
    filter: (_ctx, pod, node) => {
      if (fitsResources(pod, node)) return success;
      const reasons = insufficientResources(pod, node);
      return reasons.length === 0 ? success : unschedulable(...reasons);
    },
    score: (_ctx, pod, node) => strategyScore(strategy, pod, node),
  };
  return built(plugin);
};

/** Upstream balancedResourceScorer: 1 - standard deviation of the requested fractions. */
function balancedScore(pod: PodInfo, node: NodeInfo, resources: readonly ResourceSpec[]): number {
  // The common case (two resources) without an array.
  if (resources.length === 2) {
    const c0 = allocatableOf(resources[0]!.name, node); const c1 = allocatableOf(resources[1]!.name, node);
    if (c0 !== 0 && c1 !== 0) {
      const f0 = Math.min(1, requestedOf(resources[0]!.name, pod, node) / c0); const f1 = Math.min(1, requestedOf(resources[1]!.name, pod, node) / c1);
      return Math.trunc((1 - Math.abs(f0 - f1) / 2) * maxNodeScore);
    }
  }
  const fractions: number[] = [];
  for (const { name } of resources) {
    const cap = allocatableOf(name, node);
    if (cap === 0) continue;
    fractions.push(Math.min(1, requestedOf(name, pod, node) / cap));
  }
  if (fractions.length === 0) return 0;
  let std: number;
  if (fractions.length === 2) std = Math.abs(fractions[0]! - fractions[1]!) / 2;
  else {
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    std = Math.sqrt(fractions.reduce((a, f) => a + (f - mean) * (f - mean), 0) / fractions.length);
  }
  return Math.trunc((1 - std) * maxNodeScore);
}

export const nodeResourcesBalancedAllocation: PluginFactory = (args) => {
  const name = 'NodeResourcesBalancedAllocation';
  const bad = unknownArgKey(args, ['resources']);
  if (bad !== undefined) return refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  const resources = parseResources(args?.['resources']);
  if (typeof resources === 'string') return refused(name, resources);
  const plugin: ScorePlugin = { name, score: (_ctx, pod, node) => balancedScore(pod, node, resources) };
  return built(plugin);
};
