/**
 * "No pod bound twice, no node over-committed" (pure): from samples of every pod (its node,
 * requests, phase) and every node (its allocatable), taken through the API during a run.
 * - bound once: a pod (by uid) seen on one node is never seen on another;
 * - not over-committed: at every sample, the pods bound to a node and not finished request no
 *   more CPU and memory than its allocatable, and are no more than its pod capacity; a pod the
 *   kubelet refused for lack of room (OutOfcpu, OutOfmemory, OutOfpods) was bound where it did not
 *   fit, and counts as over-commitment too.
 * Sampling can miss a state that lasted less than its period; a verdict with no sample is unknown.
 */
import type { CheckerVerdict } from './verdict.js';

export interface PodPlacement {
  readonly uid: string;
  /** `namespace/name`. */
  readonly name: string;
  readonly node?: string;
  /** Requests: CPU in cores, memory in bytes (the pod's effective request). */
  readonly cpu: number;
  readonly memory: number;
  readonly phase: string;
  /** status.reason (OutOfcpu ... when the kubelet refused it). */
  readonly reason?: string;
}

export interface NodeCapacity {
  readonly name: string;
  readonly cpu: number;
  readonly memory: number;
  readonly pods: number;
}

export interface PlacementObservation {
  readonly timeMs: number;
  /** Absent when the API could not be read at that moment. */
  readonly pods?: readonly PodPlacement[];
  readonly nodes?: readonly NodeCapacity[];
}

const REFUSED_FOR_ROOM = /^OutOf(cpu|memory|pods)$/;
const MAX_EXAMPLES = 5;
/** Rounding slack for sums of fractional cores and bytes. */
const EPSILON = 1e-9;

function finished(p: PodPlacement): boolean {
  return p.phase === 'Succeeded' || (p.phase === 'Failed' && !REFUSED_FOR_ROOM.test(p.reason ?? ''));
}

function overCommitted(o: PlacementObservation): string[] {
  const out: string[] = [];
  for (const node of o.nodes ?? []) {
    const bound = (o.pods ?? []).filter((p) => p.node === node.name && !finished(p));
    const cpu = bound.reduce((n, p) => n + p.cpu, 0);
    const memory = bound.reduce((n, p) => n + p.memory, 0);
    const refused = bound.filter((p) => REFUSED_FOR_ROOM.test(p.reason ?? ''));
    const over = [
      ...(cpu > node.cpu + EPSILON ? [`cpu ${round(cpu)} of ${node.cpu}`] : []),
      ...(memory > node.memory + EPSILON ? [`memory ${memory} of ${node.memory} bytes`] : []),
      ...(bound.length > node.pods ? [`${bound.length} pods of ${node.pods}`] : []),
      ...(refused.length > 0 ? [`the kubelet refused ${refused.map((p) => `${p.name} (${p.reason})`).join(', ')}`] : []),
    ];
    if (over.length > 0) out.push(`at ${Math.round(o.timeMs)} ms ${node.name}: ${over.join('; ')}`);
  }
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export function checkPlacementSafety(observations: readonly PlacementObservation[]): CheckerVerdict {
  const read = observations.filter((o) => o.pods !== undefined && o.nodes !== undefined);
  if (read.length === 0) return { status: 'unknown', explanation: `no sample of the pods and nodes could be read (${observations.length} tried)` };
  const nodeOf = new Map<string, { node: string; name: string; timeMs: number }>();
  const movedPods: string[] = [];
  const over: string[] = [];
  for (const o of [...read].sort((a, b) => a.timeMs - b.timeMs)) {
    for (const p of o.pods!) {
      if (p.node === undefined) continue;
      const seen = nodeOf.get(p.uid);
      if (seen === undefined) nodeOf.set(p.uid, { node: p.node, name: p.name, timeMs: o.timeMs });
      else if (seen.node !== p.node && movedPods.length < MAX_EXAMPLES) movedPods.push(`${p.name} (uid ${p.uid}) on ${seen.node} at ${Math.round(seen.timeMs)} ms, on ${p.node} at ${Math.round(o.timeMs)} ms`);
    }
    over.push(...overCommitted(o));
  }
  const problems = [
    ...(movedPods.length > 0 ? [`bound twice: ${movedPods.join('; ')}`] : []),
    ...(over.length > 0 ? [`over-committed (${over.length} node samples): ${over.slice(0, MAX_EXAMPLES).join('; ')}`] : []),
  ];
  if (problems.length > 0) return { status: 'fail', explanation: problems.join('\n') };
  return { status: 'pass', explanation: `${nodeOf.size} pods each bound to one node, no node over-committed in ${read.length} samples (a state shorter than the sampling period can be missed)` };
}
