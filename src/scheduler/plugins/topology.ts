/** PodTopologySpread and InterPodAffinity (upstream semantics; counts built in PreFilter/PreScore). */
import { isRecord } from '../../api/index.js';
import {
  maxNodeScore, success, unresolvable, unschedulable, type AffinityTerm, type FilterPlugin, type NodeInfo, type PluginContext,
  type PodInfo, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type SnapshotView, type TopologySpreadConstraint,
} from '../types.js';
import { derivedOf } from '../podinfo.js';
import { nodeMatchesPod } from './basic.js';
import { built, refused, unknownArgKey, type PluginFactory } from './args.js';

const hostnameKey = 'kubernetes.io/hostname';
const zoneKey = 'topology.kubernetes.io/zone';

const errReasonSpread = "node(s) didn't match pod topology spread constraints";
const errReasonSpreadLabel = "node(s) didn't match pod topology spread constraints (missing required label)";

/**
 * Upstream's system default constraints select the pod's siblings through its Services,
 * ReplicaSets and StatefulSets; the core has no listers, so siblings are the pods with the same
 * controller owner (what those selectors match in practice).
 */
function systemDefaults(pod: PodInfo): TopologySpreadConstraint[] {
  const owner = pod.pod.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (owner === undefined) return [];
  const selector = (_labels: Readonly<Record<string, string>>) => true;
  return [
    { maxSkew: 3, topologyKey: hostnameKey, whenUnsatisfiable: 'ScheduleAnyway', selector, minDomains: 1, ownerUid: owner.uid } as TopologySpreadConstraint,
    { maxSkew: 5, topologyKey: zoneKey, whenUnsatisfiable: 'ScheduleAnyway', selector, minDomains: 1, ownerUid: owner.uid } as TopologySpreadConstraint,
  ];
}

function counts(c: TopologySpreadConstraint, pod: PodInfo, p: PodInfo): boolean {
  if (p.namespace !== pod.namespace || p.terminating || c.selector === undefined) return false;
  const ownerUid = (c as { ownerUid?: string }).ownerUid;
  if (ownerUid !== undefined) return p.pod.metadata?.ownerReferences?.some((o) => o.uid === ownerUid && o.controller === true) === true;
  return c.selector(p.labels);
}

function countPods(node: NodeInfo, c: TopologySpreadConstraint, pod: PodInfo): number {
  let n = 0;
  for (const p of node.pods) if (counts(c, pod, p)) n++;
  return n;
}

/** The memo key of `c`'s per-node counts for `pod` (built once per cycle: a fresh string per node would cost its hashing). */
function countKey(c: TopologySpreadConstraint, pod: PodInfo): string | undefined {
  const ownerUid = (c as { ownerUid?: string }).ownerUid;
  const sel = ownerUid !== undefined ? `owner:${ownerUid}` : c.selectorKey;
  return sel === undefined ? undefined : `PodTopologySpread\u0000${pod.namespace}\u0000${sel}`;
}

/** Pods on `node` counted by `c` for `pod`, memoised per node under `key` (the count depends only on its pods). */
function countOn(node: NodeInfo, c: TopologySpreadConstraint, pod: PodInfo, key: string | undefined): number {
  return key === undefined ? countPods(node, c, pod) : derivedOf(node, key, () => countPods(node, c, pod));
}

function hasKeys(node: NodeInfo, cs: readonly TopologySpreadConstraint[]): boolean {
  for (const c of cs) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

/** The smallest count per constraint (0 below minDomains): the skew's baseline. */
function minsOf(cs: readonly TopologySpreadConstraint[], cnt: ReadonlyArray<ReadonlyMap<string, number>>): number[] {
  return cs.map((c, i) => {
    const m = cnt[i]!;
    if (m.size < c.minDomains) return 0;
    let min = Number.POSITIVE_INFINITY;
    for (const v of m.values()) if (v < min) min = v;
    return min === Number.POSITIVE_INFINITY ? 0 : min;
  });
}

interface SpreadPre { readonly constraints: readonly TopologySpreadConstraint[]; readonly counts: Array<Map<string, number>>; readonly mins: number[] }
interface SpreadScore {
  readonly constraints: readonly TopologySpreadConstraint[];
  readonly counts: Array<Map<string, number>>;
  readonly weights: number[];
  /** Upstream requireAllTopologies: false for the system defaults, so a node without a zone label still spreads by hostname. */
  readonly requireAll: boolean;
}

export const podTopologySpread: PluginFactory = (args) => {
  const name = 'PodTopologySpread';
  const bad = unknownArgKey(args, ['defaultingType', 'defaultConstraints']);
  if (bad !== undefined) return refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  const defaulting = args?.['defaultingType'] ?? 'System';
  if (defaulting !== 'System' && defaulting !== 'List') return refused(name, `defaultingType ${JSON.stringify(defaulting)} must be System or List`);
  if (defaulting === 'System' && args?.['defaultConstraints'] !== undefined) return refused(name, 'when .defaultingType is "System", .defaultConstraints must be empty');
  const listDefaults = Array.isArray(args?.['defaultConstraints']) ? (args['defaultConstraints'] as unknown[]).filter(isRecord) : [];
  const constraintsOf = (pod: PodInfo): readonly TopologySpreadConstraint[] => {
    if (pod.topologySpread.length > 0) return pod.topologySpread;
    if (defaulting === 'System') return systemDefaults(pod);
    const owner = pod.pod.metadata?.ownerReferences?.find((o) => o.controller === true);
    if (owner === undefined) return [];
    return listDefaults.map((d) => ({
      maxSkew: Number(d['maxSkew'] ?? 1), topologyKey: String(d['topologyKey'] ?? ''),
      whenUnsatisfiable: d['whenUnsatisfiable'] === 'DoNotSchedule' ? 'DoNotSchedule' : 'ScheduleAnyway',
      selector: () => true, minDomains: 1, ownerUid: owner.uid,
    } as TopologySpreadConstraint));
  };
  const countAll = (snap: SnapshotView, pod: PodInfo, cs: readonly TopologySpreadConstraint[], requireAll = true): Array<Map<string, number>> => {
    const out = cs.map(() => new Map<string, number>());
    const keys = cs.map((c) => countKey(c, pod));
    for (const node of snap.nodes) {
      // nodeAffinityPolicy Honor (default): only nodes the pod could go to count as domains.
      if ((requireAll && !hasKeys(node, cs)) || !nodeMatchesPod(pod, node)) continue;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i]!;
        const v = node.labels[c.topologyKey];
        if (v === undefined) continue;
        const n = node.pods.length === 0 ? 0 : countOn(node, c, pod, keys[i]);
        out[i]!.set(v, (out[i]!.get(v) ?? 0) + n);
      }
    }
    return out;
  };
  const key = 'PreFilterPodTopologySpread';
  /** Upstream preFilterState.updateWithPod: `other` counted (delta 1) or not (-1) on `node`; a new state value. */
  const updateSpread = (ctx: PluginContext, pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number) => {
    const pre = ctx.state.read<SpreadPre>(key);
    if (pre === undefined || !hasKeys(node, pre.constraints) || !nodeMatchesPod(pod, node)) return success;
    let changed = false;
    const cnt = pre.counts.map((m, i) => {
      const c = pre.constraints[i]!;
      if (!counts(c, pod, other)) return m;
      changed = true;
      const v = node.labels[c.topologyKey]!;
      const next = new Map(m);
      next.set(v, (next.get(v) ?? 0) + delta);
      return next;
    });
    if (changed) ctx.state.write(key, { constraints: pre.constraints, counts: cnt, mins: minsOf(pre.constraints, cnt) } satisfies SpreadPre);
    return success;
  };
  const scoreKey = 'PreScorePodTopologySpread';
  const plugin: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
    name,
    preFilter: (ctx, pod) => {
      const cs = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
      if (cs.length === 0) return { status: { code: 'Skip', reasons: [] } };
      const cnt = countAll(ctx.snapshot, pod, cs);
      ctx.state.write(key, { constraints: cs, counts: cnt, mins: minsOf(cs, cnt) } satisfies SpreadPre);
      return { status: success };
    },
    addPod: (ctx, pod, other, node) => updateSpread(ctx, pod, other, node, 1),
    removePod: (ctx, pod, other, node) => updateSpread(ctx, pod, other, node, -1),
    filter: (ctx, pod, node) => {
      const pre = ctx.state.read<SpreadPre>(key);
      if (pre === undefined) return success;
      for (let i = 0; i < pre.constraints.length; i++) {
        const c = pre.constraints[i]!;
        const v = node.labels[c.topologyKey];
        if (v === undefined) return unresolvable(errReasonSpreadLabel);
        const self = c.selector !== undefined && c.selector(pod.labels) ? 1 : 0;
        const skew = (pre.counts[i]!.get(v) ?? 0) + self - pre.mins[i]!;
        if (skew > c.maxSkew) return unschedulable(errReasonSpread);
      }
      return success;
    },
    preScore: (ctx, pod, nodes) => {
      const cs = constraintsOf(pod).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
      if (cs.length === 0) return { code: 'Skip', reasons: [] };
      const requireAll = pod.topologySpread.length > 0 || defaulting !== 'System';
      const cnt = countAll(ctx.snapshot, pod, cs, requireAll);
      // Weight by the number of domains among the filtered nodes (upstream topologyNormalizingWeight).
      const weights = cs.map((c) => {
        const domains = new Set<string>();
        for (const n of nodes) { const v = n.labels[c.topologyKey]; if (v !== undefined) domains.add(v); }
        const size = c.topologyKey === hostnameKey ? nodes.length : domains.size;
        return Math.log(size + 2);
      });
      ctx.state.write(scoreKey, { constraints: cs, counts: cnt, weights, requireAll } satisfies SpreadScore);
      return success;
    },
    score: (ctx, _pod, node) => {
      const pre = ctx.state.read<SpreadScore>(scoreKey);
      if (pre === undefined) return 0;
      if (pre.requireAll && !hasKeys(node, pre.constraints)) return -1; // ignored: scored 0 after normalising
      let s = 0;
      for (let i = 0; i < pre.constraints.length; i++) {
        const c = pre.constraints[i]!;
        const value = node.labels[c.topologyKey];
        if (value === undefined) continue;
        const cnt = pre.counts[i]!.get(value) ?? 0;
        s += cnt * pre.weights[i]! + (c.maxSkew - 1);
      }
      return Math.round(s);
    },
    normalizeScore: (ctx, _pod, scores) => {
      if (ctx.state.read<SpreadScore>(scoreKey) === undefined) return success;
      let min = Number.POSITIVE_INFINITY; let max = 0;
      for (const s of scores) { if (s < 0) continue; if (s < min) min = s; if (s > max) max = s; }
      for (let i = 0; i < scores.length; i++) {
        const s = scores[i]!;
        if (s < 0) { scores[i] = 0; continue; }
        scores[i] = max === 0 ? maxNodeScore : Math.trunc((maxNodeScore * (max + min - s)) / max);
      }
      return success;
    },
  };
  return built(plugin);
};

// ---------------------------------------------------------------------------------------------

const errReasonAffinity = "node(s) didn't match pod affinity rules";
const errReasonAntiAffinity = "node(s) didn't match pod anti-affinity rules";
const errReasonExistingAntiAffinity = "node(s) didn't satisfy existing pods anti-affinity rules";

function termMatches(term: AffinityTerm, snap: SnapshotView, target: PodInfo): boolean {
  if (term.selector === undefined || !term.selector(target.labels)) return false;
  if (term.namespaces.has(target.namespace)) return true;
  return term.namespaceSelector !== undefined && term.namespaceSelector(snap.namespaceLabels(target.namespace));
}

/** Labels as a canonical string (sorted keys). */
function labelSignature(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join('\u0001');
}

/** Pods on `node` that `t` selects; memoised unless the term reads namespace labels (which change apart from the node). */
function termCountOn(node: NodeInfo, snap: SnapshotView, t: AffinityTerm, key: string | undefined): number {
  const count = () => { let n = 0; for (const p of node.pods) if (termMatches(t, snap, p)) n++; return n; };
  return key === undefined ? count() : derivedOf(node, key, count);
}

const termKey = (t: AffinityTerm): string | undefined => (t.key === undefined ? undefined : `InterPodAffinity\u0000term\u0000${t.key}`);

/** (topologyKey, number of terms) of the required anti-affinity terms of `node`'s pods that select `pod`. */
function existingAntiOn(node: NodeInfo, snap: SnapshotView, pod: PodInfo, memoKey: string): ReadonlyArray<readonly [string, number]> {
  let cacheable = true;
  const compute = (): Array<readonly [string, number]> => {
    const byKey = new Map<string, number>();
    for (const p of node.podsWithRequiredAntiAffinity) {
      for (const t of p.affinity.requiredAntiAffinity) {
        if (t.key === undefined) cacheable = false;
        if (termMatches(t, snap, pod)) byKey.set(t.topologyKey, (byKey.get(t.topologyKey) ?? 0) + 1);
      }
    }
    return [...byKey];
  };
  const hit = node.derived?.get(memoKey) as Array<readonly [string, number]> | undefined;
  if (hit !== undefined) return hit;
  const v = compute();
  return cacheable ? derivedOf(node, memoKey, () => v) : v;
}

interface AffinityPre {
  /** "key\u0000value" → number of existing pods whose required anti-affinity forbids the pod there. */
  readonly existingAnti: Map<string, number>;
  readonly affinityCounts: Array<Map<string, number>>;
  readonly antiCounts: Array<Map<string, number>>;
  readonly noMatchAnywhere: boolean;
}

const pairKey = (k: string, v: string) => `${k}\u0000${v}`;

export const interPodAffinity: PluginFactory = (args) => {
  const name = 'InterPodAffinity';
  const bad = unknownArgKey(args, ['hardPodAffinityWeight', 'ignorePreferredTermsOfExistingPods']);
  if (bad !== undefined) return refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  const hard = args?.['hardPodAffinityWeight'] ?? 1;
  if (typeof hard !== 'number' || !Number.isInteger(hard) || hard < 0 || hard > 100) return refused(name, 'hardPodAffinityWeight must be in the range [0, 100]');
  const ignoreExisting = args?.['ignorePreferredTermsOfExistingPods'] === true;
  const key = 'PreFilterInterPodAffinity';
  /** Upstream preFilterState.updateWithPod: `other`'s terms against the pod and the pod's terms against `other`, on `node`. */
  const updateAffinity = (ctx: PluginContext, pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number) => {
    const pre = ctx.state.read<AffinityPre>(key);
    if (pre === undefined) return success;
    const snap = ctx.snapshot; const a = pod.affinity;
    let existingAnti = pre.existingAnti;
    for (const t of other.affinity.requiredAntiAffinity) {
      const v = node.labels[t.topologyKey];
      if (v === undefined || !termMatches(t, snap, pod)) continue;
      if (existingAnti === pre.existingAnti) existingAnti = new Map(existingAnti);
      const k = pairKey(t.topologyKey, v);
      existingAnti.set(k, (existingAnti.get(k) ?? 0) + delta);
    }
    const bump = (terms: readonly AffinityTerm[], maps: ReadonlyArray<Map<string, number>>) => maps.map((m, i) => {
      const t = terms[i]!;
      const v = node.labels[t.topologyKey];
      if (v === undefined || !termMatches(t, snap, other)) return m;
      const next = new Map(m);
      next.set(v, (next.get(v) ?? 0) + delta);
      return next;
    });
    const affinityCounts = bump(a.requiredAffinity, pre.affinityCounts);
    const antiCounts = bump(a.requiredAntiAffinity, pre.antiCounts);
    const any = affinityCounts.some((m) => [...m.values()].some((n) => n > 0));
    ctx.state.write(key, { existingAnti, affinityCounts, antiCounts, noMatchAnywhere: !any } satisfies AffinityPre);
    return success;
  };
  const scoreKey = 'PreScoreInterPodAffinity';
  const plugin: PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin = {
    name,
    preFilter: (ctx, pod) => {
      const snap = ctx.snapshot; const a = pod.affinity;
      const existingAnti = new Map<string, number>();
      // Which existing pods' anti-affinity terms match this pod depends on its namespace and labels only.
      const antiKey = snap.havePodsWithRequiredAntiAffinity.length === 0 ? '' : `InterPodAffinity\u0000existingAnti\u0000${pod.namespace}\u0000${labelSignature(pod.labels)}`;
      for (const node of snap.havePodsWithRequiredAntiAffinity) {
        for (const [topologyKey, n] of existingAntiOn(node, snap, pod, antiKey)) {
          const v = node.labels[topologyKey];
          if (v !== undefined) existingAnti.set(pairKey(topologyKey, v), (existingAnti.get(pairKey(topologyKey, v)) ?? 0) + n);
        }
      }
      if (existingAnti.size === 0 && a.requiredAffinity.length === 0 && a.requiredAntiAffinity.length === 0) return { status: { code: 'Skip', reasons: [] } };
      const affinityCounts = a.requiredAffinity.map(() => new Map<string, number>());
      const antiCounts = a.requiredAntiAffinity.map(() => new Map<string, number>());
      let any = false;
      const affinityKeys = a.requiredAffinity.map(termKey);
      const antiKeys = a.requiredAntiAffinity.map(termKey);
      if (a.requiredAffinity.length + a.requiredAntiAffinity.length > 0) {
        for (const node of snap.nodes) {
          if (node.pods.length === 0) continue;
          for (let i = 0; i < a.requiredAffinity.length; i++) {
            const t = a.requiredAffinity[i]!;
            const v = node.labels[t.topologyKey];
            if (v === undefined) continue;
            const n = termCountOn(node, snap, t, affinityKeys[i]);
            if (n > 0) { any = true; affinityCounts[i]!.set(v, (affinityCounts[i]!.get(v) ?? 0) + n); }
          }
          for (let i = 0; i < a.requiredAntiAffinity.length; i++) {
            const t = a.requiredAntiAffinity[i]!;
            const v = node.labels[t.topologyKey];
            if (v === undefined) continue;
            const n = termCountOn(node, snap, t, antiKeys[i]);
            if (n > 0) antiCounts[i]!.set(v, (antiCounts[i]!.get(v) ?? 0) + n);
          }
        }
      }
      ctx.state.write(key, { existingAnti, affinityCounts, antiCounts, noMatchAnywhere: !any } satisfies AffinityPre);
      return { status: success };
    },
    addPod: (ctx, pod, other, node) => updateAffinity(ctx, pod, other, node, 1),
    removePod: (ctx, pod, other, node) => updateAffinity(ctx, pod, other, node, -1),
    filter: (ctx, pod, node) => {
      const pre = ctx.state.read<AffinityPre>(key);
      if (pre === undefined) return success;
      const a = pod.affinity;
      // Affinity: every term needs a matching pod in the node's domain, unless no pod matches
      // anywhere and the pod matches its own terms (the first replica of a group).
      for (let i = 0; i < a.requiredAffinity.length; i++) {
        const t = a.requiredAffinity[i]!;
        const v = node.labels[t.topologyKey];
        const ok = v !== undefined && (pre.affinityCounts[i]!.get(v) ?? 0) > 0;
        if (!ok) {
          const selfOk = pre.noMatchAnywhere && v !== undefined && a.requiredAffinity.every((tt) => termMatches(tt, ctx.snapshot, pod));
          if (!selfOk) return unresolvable(errReasonAffinity);
        }
      }
      for (let i = 0; i < a.requiredAntiAffinity.length; i++) {
        const t = a.requiredAntiAffinity[i]!;
        const v = node.labels[t.topologyKey];
        if (v !== undefined && (pre.antiCounts[i]!.get(v) ?? 0) > 0) return unschedulable(errReasonAntiAffinity);
      }
      if (pre.existingAnti.size > 0) {
        for (const k in node.labels) if ((pre.existingAnti.get(pairKey(k, node.labels[k]!)) ?? 0) > 0) return unschedulable(errReasonExistingAntiAffinity);
      }
      return success;
    },
    preScore: (ctx, pod) => {
      const snap = ctx.snapshot; const a = pod.affinity;
      const hasPreferred = a.preferredAffinity.length + a.preferredAntiAffinity.length > 0;
      const nodes = hasPreferred ? snap.nodes : snap.havePodsWithAffinity;
      if (nodes.length === 0) return { code: 'Skip', reasons: [] };
      const scores = new Map<string, number>();
      const add = (k: string, v: string | undefined, w: number) => { if (v !== undefined && w !== 0) scores.set(pairKey(k, v), (scores.get(pairKey(k, v)) ?? 0) + w); };
      for (const node of nodes) {
        for (const p of hasPreferred ? node.pods : node.podsWithAffinity) {
          for (const w of a.preferredAffinity) if (termMatches(w.term, snap, p)) add(w.term.topologyKey, node.labels[w.term.topologyKey], w.weight);
          for (const w of a.preferredAntiAffinity) if (termMatches(w.term, snap, p)) add(w.term.topologyKey, node.labels[w.term.topologyKey], -w.weight);
          if (hard > 0) for (const t of p.affinity.requiredAffinity) if (termMatches(t, snap, pod)) add(t.topologyKey, node.labels[t.topologyKey], hard);
          if (!ignoreExisting) {
            for (const w of p.affinity.preferredAffinity) if (termMatches(w.term, snap, pod)) add(w.term.topologyKey, node.labels[w.term.topologyKey], w.weight);
            for (const w of p.affinity.preferredAntiAffinity) if (termMatches(w.term, snap, pod)) add(w.term.topologyKey, node.labels[w.term.topologyKey], -w.weight);
          }
        }
      }
      if (scores.size === 0) return { code: 'Skip', reasons: [] };
      ctx.state.write(scoreKey, scores);
      return success;
    },
    score: (ctx: PluginContext, _pod, node) => {
      const scores = ctx.state.read<Map<string, number>>(scoreKey);
      if (scores === undefined) return 0;
      let s = 0;
      for (const k in node.labels) s += scores.get(pairKey(k, node.labels[k]!)) ?? 0;
      return s;
    },
    normalizeScore: (ctx, _pod, scores) => {
      if (ctx.state.read(scoreKey) === undefined) return success;
      let min = Number.POSITIVE_INFINITY; let max = Number.NEGATIVE_INFINITY;
      for (const s of scores) { if (s < min) min = s; if (s > max) max = s; }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((maxNodeScore * (scores[i]! - min)) / diff) : 0;
      return success;
    },
  };
  return built(plugin);
};
