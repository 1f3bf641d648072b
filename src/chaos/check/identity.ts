/**
 * "No two pods of one StatefulSet identity running at once" (pure): StatefulSet's at-most-one
 * guarantee, checked where it matters — on the nodes. The API cannot show a violation (a name is
 * unique there); an old pod whose node stopped reporting can still run its containers while a
 * replacement with the same name runs elsewhere (what a force delete allows). From samples of every
 * node's container runtime: at each sample, the running containers of pods carrying a StatefulSet
 * identity (label statefulset.kubernetes.io/pod-name), by pod uid.
 * - One identity with running containers of two pod uids (on any nodes) in two consecutive samples
 *   is a violation, with both uids and nodes as evidence. One sample is not enough: the nodes are
 *   asked at once but answer at different moments, so a replacement that started just after its
 *   predecessor stopped can look like both running.
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

/** Identity → the pod uids running it in one sample, where there are two or more. */
function doubled(o: IdentityObservation): Map<string, Map<string, string[]>> {
  const where = new Map<string, Map<string, string[]>>();
  for (const n of o.nodes) {
    for (const r of n.running ?? []) {
      const byUid = where.get(r.identity) ?? new Map<string, string[]>();
      byUid.set(r.uid, [...(byUid.get(r.uid) ?? []), n.node]);
      where.set(r.identity, byUid);
    }
  }
  return new Map([...where].filter(([, byUid]) => byUid.size > 1));
}

/** The identities running as the same two or more pods in `o` and the sample before it, described. */
function overlaps(previous: IdentityObservation | undefined, o: IdentityObservation): string[] {
  if (previous === undefined) return [];
  const before = doubled(previous);
  return [...doubled(o)].filter(([identity, byUid]) => {
    const earlier = before.get(identity);
    return earlier !== undefined && [...byUid.keys()].filter((uid) => earlier.has(uid)).length > 1;
  }).map(([identity, byUid]) =>
    `from ${Math.round(previous.timeMs)} to ${Math.round(o.timeMs)} ms ${identity} ran as ${[...byUid].map(([uid, nodes]) => `uid ${uid} on ${[...new Set(nodes)].join(', ')}`).join(' and ')}`);
}

export function checkStatefulSetIdentity(observations: readonly IdentityObservation[]): CheckerVerdict {
  const answered = observations.filter((o) => o.nodes.some((n) => n.running !== undefined));
  if (answered.length === 0) return { status: 'unknown', explanation: `no node's container runtime answered in any of ${observations.length} samples` };
  const ordered = [...answered].sort((a, b) => a.timeMs - b.timeMs);
  const violations = ordered.flatMap((o, i) => overlaps(ordered[i - 1], o));
  const partial = answered.filter((o) => o.nodes.some((n) => n.running === undefined)).length;
  const identities = new Set(answered.flatMap((o) => o.nodes.flatMap((n) => (n.running ?? []).map((r) => r.identity))));
  if (violations.length > 0) {
    return { status: 'fail', explanation: `${violations.length} samples saw one StatefulSet identity running twice: ${violations.slice(0, MAX_EXAMPLES).join('; ')}${violations.length > MAX_EXAMPLES ? '; …' : ''}` };
  }
  if (identities.size === 0) return { status: 'unknown', explanation: `no StatefulSet pod ran in ${answered.length} samples of the nodes, so there was nothing to check` };
  const complete = answered.length - partial;
  const fleeting = answered.filter((o) => doubled(o).size > 0).length;
  if (complete === 0) return { status: 'unknown', explanation: `every one of ${answered.length} samples missed a node's runtime, so none rules out an overlap` };
  return {
    status: 'pass',
    explanation: `${identities.size} StatefulSet identities, never two pods of one in consecutive samples of the nodes' runtimes (${answered.length} samples)`
      + `${partial === 0 ? '' : ` (${partial} of them missed a node that did not answer: they rule out an overlap only among the nodes that did)`}`
      + `${fleeting === 0 ? '' : `; ${fleeting} single samples showed two pods of one identity, never two samples in a row (a handover seen while the nodes answered at different moments)`}`,
  };
}
