/**
 * "No two pods of one StatefulSet identity running at once" (pure): StatefulSet's at-most-one
 * guarantee, checked where it matters — on the nodes. The API cannot show a violation (a name is
 * unique there); an old pod whose node stopped reporting can still run its containers while a
 * replacement with the same name runs elsewhere (what a force delete allows). From samples of every
 * node's container runtime: at each sample, the running containers of pods carrying a StatefulSet
 * identity (label statefulset.kubernetes.io/pod-name), by pod uid.
 * - A sample in which one identity has running containers of two pod uids (on any nodes) is a
 *   violation, with both uids and nodes as evidence.
 * - A node that did not answer (its runtime down or paused) is unobserved in that sample: the
 *   sample can prove an overlap among the nodes that answered, never the absence of one, and the
 *   detail says how many samples were partial.
 * Sampling can miss an overlap shorter than its period; a verdict with no complete sample is unknown.
 */
import type { CheckerVerdict } from './verdict.js';

export interface RunningIdentity {
  /** `namespace/name`: the StatefulSet identity. */
  readonly identity: string;
  readonly uid: string;
}

export interface NodeRuntimeSample {
  readonly node: string;
  /** Absent when the node's runtime did not answer. */
  readonly running?: readonly RunningIdentity[];
}

export interface IdentityObservation {
  readonly timeMs: number;
  readonly nodes: readonly NodeRuntimeSample[];
}

const MAX_EXAMPLES = 5;

/** The identities running as two or more pods in one sample, described. */
function overlaps(o: IdentityObservation): string[] {
  const where = new Map<string, Map<string, string[]>>();
  for (const n of o.nodes) {
    for (const r of n.running ?? []) {
      const byUid = where.get(r.identity) ?? new Map<string, string[]>();
      byUid.set(r.uid, [...(byUid.get(r.uid) ?? []), n.node]);
      where.set(r.identity, byUid);
    }
  }
  return [...where].filter(([, byUid]) => byUid.size > 1).map(([identity, byUid]) =>
    `at ${Math.round(o.timeMs)} ms ${identity} ran as ${[...byUid].map(([uid, nodes]) => `uid ${uid} on ${[...new Set(nodes)].join(', ')}`).join(' and ')}`);
}

export function checkStatefulSetIdentity(observations: readonly IdentityObservation[]): CheckerVerdict {
  const answered = observations.filter((o) => o.nodes.some((n) => n.running !== undefined));
  if (answered.length === 0) return { status: 'unknown', explanation: `no node's container runtime answered in any of ${observations.length} samples` };
  const violations = answered.flatMap(overlaps);
  const partial = answered.filter((o) => o.nodes.some((n) => n.running === undefined)).length;
  const identities = new Set(answered.flatMap((o) => o.nodes.flatMap((n) => (n.running ?? []).map((r) => r.identity))));
  if (violations.length > 0) {
    return { status: 'fail', explanation: `${violations.length} samples saw one StatefulSet identity running twice: ${violations.slice(0, MAX_EXAMPLES).join('; ')}${violations.length > MAX_EXAMPLES ? '; …' : ''}` };
  }
  if (identities.size === 0) return { status: 'unknown', explanation: `no StatefulSet pod ran in ${answered.length} samples of the nodes, so there was nothing to check` };
  const complete = answered.length - partial;
  if (complete === 0) return { status: 'unknown', explanation: `every one of ${answered.length} samples missed a node's runtime, so none rules out an overlap` };
  return {
    status: 'pass',
    explanation: `${identities.size} StatefulSet identities, each running as at most one pod in all ${answered.length} samples of the nodes' runtimes`
      + `${partial === 0 ? '' : ` (${partial} of them missed a node that did not answer: they rule out an overlap only among the nodes that did)`}`,
  };
}
