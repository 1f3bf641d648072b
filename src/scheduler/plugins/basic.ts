/**
 * The small built-in plugins (upstream pkg/scheduler/framework/plugins): queue sort, gates,
 * cordons, nodeName, taints, node affinity, host ports, image locality and the default binder.
 */
import type { Taint } from '../../controllers/framework/taints.js';
import { tolerates } from '../../controllers/framework/taints.js';
import { matchesNodeTerm } from '../podinfo.js';
import {
  maxNodeScore, success, unresolvable, unschedulable, type BindPlugin, type FilterPlugin, type NodeInfo, type PluginContext,
  type PodInfo, type PreEnqueuePlugin, type PreFilterPlugin, type PreFilterResult, type QueueSortPlugin, type QueuedPodView,
  type ScorePlugin,
} from '../types.js';

/** Higher priority first, then earlier enqueue (upstream PrioritySort.Less). */
export function prioritySort(): QueueSortPlugin {
  return {
    name: 'PrioritySort',
    less: (a: QueuedPodView, b: QueuedPodView) => a.pod.priority > b.pod.priority || (a.pod.priority === b.pod.priority && a.timestampMs < b.timestampMs),
  };
}

export function schedulingGates(): PreEnqueuePlugin {
  return {
    name: 'SchedulingGates',
    preEnqueue: (pod: PodInfo) => pod.schedulingGates.length === 0 ? success
      : unresolvable(`waiting for scheduling gates: [${pod.schedulingGates.join(' ')}]`),
  };
}

const errReasonUnschedulable = 'node(s) were unschedulable';

export function nodeUnschedulable(): FilterPlugin {
  const toleration = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' } as const;
  return {
    name: 'NodeUnschedulable',
    filter: (_ctx, pod, node) => {
      if (!node.unschedulable) return success;
      const tolerated = pod.tolerations.some((t) => tolerates(t, { key: toleration.key, effect: toleration.effect }));
      return tolerated ? success : unresolvable(errReasonUnschedulable);
    },
  };
}

const errReasonNodeName = "node(s) didn't match the requested node name";

export function nodeName(): FilterPlugin & PreFilterPlugin {
  return {
    name: 'NodeName',
    preFilter: (_ctx, pod): PreFilterResult => pod.nodeName === '' ? { status: success } : { status: success, nodeNames: new Set([pod.nodeName]) },
    filter: (_ctx, pod, node) => pod.nodeName === '' || pod.nodeName === node.name ? success : unresolvable(errReasonNodeName),
  };
}

function untolerated(pod: PodInfo, taints: readonly Taint[], effects: (e: string) => boolean): Taint | undefined {
  return taints.find((taint) => effects(taint.effect) && !pod.tolerations.some((t) => tolerates(t, taint)));
}

/** DefaultNormalizeScore: scale to [0, 100] by the maximum; `reverse` flips it. */
function defaultNormalize(scores: Float64Array, reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) { scores[i] = reverse ? maxNodeScore : 0; continue; }
    const s = Math.trunc((maxNodeScore * scores[i]!) / max);
    scores[i] = reverse ? maxNodeScore - s : s;
  }
}

export function taintToleration(): FilterPlugin & ScorePlugin {
  const hard = (e: string) => e === 'NoSchedule' || e === 'NoExecute';
  return {
    name: 'TaintToleration',
    filter: (_ctx, pod, node) => {
      if (node.taints.length === 0) return success;
      const t = untolerated(pod, node.taints, hard);
      return t === undefined ? success : unresolvable(`node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`);
    },
    score: (_ctx, pod, node) => {
      // Most nodes have no taints: no per-node allocation for them.
      if (node.taints.length === 0) return 0;
      let n = 0;
      const tols = pod.tolerations.filter((t) => t.effect === undefined || t.effect === '' || t.effect === 'PreferNoSchedule');
      for (const taint of node.taints) if (taint.effect === 'PreferNoSchedule' && !tols.some((t) => tolerates(t, taint))) n++;
      return n;
    },
    normalizeScore: (_ctx, _pod, scores) => { defaultNormalize(scores, true); return success; },
  };
}

const errReasonPodAffinityNode = "node(s) didn't match Pod's node affinity/selector";

export function nodeMatchesPod(pod: PodInfo, node: NodeInfo): boolean {
  for (const k in pod.nodeSelector) if (node.labels[k] !== pod.nodeSelector[k]) return false;
  const terms = pod.affinity.requiredNodeTerms;
  return terms === undefined || terms.some((t) => matchesNodeTerm(t, node));
}

export function nodeAffinity(): FilterPlugin & ScorePlugin & PreFilterPlugin {
  return {
    name: 'NodeAffinity',
    preFilter: (_ctx, pod) => {
      // A required term that pins metadata.name narrows the candidate nodes (upstream PreFilterResult).
      const terms = pod.affinity.requiredNodeTerms;
      if (terms === undefined || terms.length === 0) return { status: success };
      const names = new Set<string>();
      for (const t of terms) {
        const f = t.matchFields.find((r) => r.key === 'metadata.name' && r.operator === 'In');
        if (f === undefined || t.matchExpressions.length > 0) return { status: success };
        for (const v of f.values) names.add(v);
      }
      return { status: success, nodeNames: names };
    },
    filter: (_ctx, pod, node) => nodeMatchesPod(pod, node) ? success : unresolvable(errReasonPodAffinityNode),
    score: (_ctx, pod, node) => {
      let s = 0;
      if (pod.affinity.preferredNodeTerms.length === 0) return 0;
      for (const p of pod.affinity.preferredNodeTerms) if (p.weight !== 0 && matchesNodeTerm(p.term, node)) s += p.weight;
      return s;
    },
    normalizeScore: (_ctx, _pod, scores) => { defaultNormalize(scores, false); return success; },
  };
}

const errReasonPorts = "node(s) didn't have free ports for the requested pod ports";

function portsConflict(pod: PodInfo, node: NodeInfo): boolean {
  for (const want of pod.hostPorts) {
    for (const used of node.usedPorts) {
      const [proto, ip, port] = used.split('/');
      if (proto !== want.protocol || Number(port) !== want.port) continue;
      if (ip === want.ip || ip === '0.0.0.0' || want.ip === '0.0.0.0') return true;
    }
  }
  return false;
}

export function nodePorts(): FilterPlugin {
  return {
    name: 'NodePorts',
    filter: (_ctx, pod, node) => pod.hostPorts.length === 0 || node.usedPorts.size === 0 || !portsConflict(pod, node) ? success : unschedulable(errReasonPorts),
  };
}

const mb = 1024 * 1024;
const minThreshold = 23 * mb;
const maxContainerThreshold = 1000 * mb;

function normalizedImage(name: string): string {
  const slash = name.lastIndexOf('/');
  return name.includes('@') || name.slice(slash + 1).includes(':') ? name : `${name}:latest`;
}

/** Upstream ImageLocality: sizes of images already present, scaled by how widely they are spread. */
export function imageLocality(): ScorePlugin {
  return {
    name: 'ImageLocality',
    score: (ctx: PluginContext, pod: PodInfo, node: NodeInfo) => {
      const total = ctx.snapshot.nodes.length;
      if (pod.images.length === 0 || node.images.size === 0 || total === 0) return 0;
      let sum = 0;
      for (const img of pod.images) {
        const n = normalizedImage(img);
        const size = node.images.get(n) ?? node.images.get(img);
        if (size !== undefined) sum += size * (ctx.snapshot.imageNodeCount(node.images.has(n) ? n : img) / total);
      }
      const max = maxContainerThreshold * pod.images.length;
      const clamped = Math.min(Math.max(sum, minThreshold), max);
      return Math.trunc((maxNodeScore * (clamped - minThreshold)) / (max - minThreshold));
    },
  };
}

export function defaultBinder(): BindPlugin {
  return {
    name: 'DefaultBinder',
    bind: (_ctx, pod, node) => ({ status: success, action: { type: 'bind', namespace: pod.namespace, name: pod.name, uid: pod.uid, nodeName: node } }),
  };
}

;
