/**
 * Election Safety (Raft, Figure 3): at most one leader in a given term. The input is what members
 * said of themselves when sampled (role and term from their status); two different members seen
 * as leader of the same term is a violation. Sampling can miss a short-lived second leader, so a
 * pass means "none seen", never "none existed".
 */
import type { CheckerVerdict } from './verdict.js';

export interface RoleObservation {
  readonly member: string;
  readonly term: number;
  readonly role: string;
  readonly time?: number;
}

export interface ElectionSafetyVerdict extends CheckerVerdict {
  /** Terms in which more than one member claimed leadership, with those members. */
  readonly violations: readonly { readonly term: number; readonly leaders: readonly string[] }[];
  readonly termsWithLeader: number;
  readonly observations: number;
}

export function checkElectionSafety(observations: readonly RoleObservation[]): ElectionSafetyVerdict {
  const leadersByTerm = new Map<number, Set<string>>();
  for (const o of observations) {
    if (!Number.isSafeInteger(o.term) || o.term < 0) throw new Error(`observation of ${o.member}: term must be a non-negative integer, got ${o.term}`);
    if (o.role !== 'leader') continue;
    let leaders = leadersByTerm.get(o.term);
    if (leaders === undefined) leadersByTerm.set(o.term, (leaders = new Set()));
    leaders.add(o.member);
  }
  const violations = [...leadersByTerm].filter(([, leaders]) => leaders.size > 1).sort(([a], [b]) => a - b).map(([term, leaders]) => ({ term, leaders: [...leaders].sort() }));
  const termsWithLeader = leadersByTerm.size;
  if (violations.length > 0) {
    const lines = violations.map((v) => `  term ${v.term}: ${v.leaders.join(' and ')} were leaders`);
    return { status: 'fail', explanation: [`two leaders in one term (${violations.length} terms):`, ...lines].join('\n'), violations, termsWithLeader, observations: observations.length };
  }
  if (termsWithLeader === 0) {
    return { status: 'unknown', explanation: `no leader seen in ${observations.length} status samples: nothing to check`, violations, termsWithLeader, observations: observations.length };
  }
  return { status: 'pass', explanation: `one leader per term in ${termsWithLeader} terms (${observations.length} status samples; a leader shorter than the sampling interval can be missed)`, violations, termsWithLeader, observations: observations.length };
}
