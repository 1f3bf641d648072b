/**
 * All history checkers over one chaos run, reduced to a verdict. A checker whose input is not
 * provided (no final state, no watchers, no hashes, no revisions in the history) is left out, not
 * counted as a pass; an input given as `{ unavailable: reason }` (the run meant to check it but
 * could not collect the data) is an 'unknown' row with that reason, so the table never hides it;
 * a checker that cannot decide is 'unknown' too.
 */
import { checkAckedWritesPresent } from './acked-writes.js';
import { checkElectionSafety, type RoleObservation } from './election.js';
import { checkHashesEqual, type MemberHash } from './hashes.js';
import type { HistoryOp, KvValue } from './history.js';
import { checkLinearizability, type LinearizabilityOptions } from './linearizability.js';
import { checkRevisionsMonotonic, revisionObservations } from './revisions.js';
import { aggregate, linearizabilityCheckResult, toCheckResult, type CheckResult, type Verdict } from './verdict.js';
import { checkWatchGuarantees, type StoreLog, type WatcherHistory } from './watch.js';

export interface RunCheckInput {
  readonly history: readonly HistoryOp[];
  /** Values of keys before the run (absent keys start absent). */
  readonly initial?: ReadonlyMap<string, KvValue | null>;
  readonly linearizability?: Omit<LinearizabilityOptions, 'initial'>;
  /** Final value of every key after healing (null when absent): enables the acked-writes check. */
  readonly finalState?: ReadonlyMap<string, KvValue | null>;
  readonly finalModRevisions?: ReadonlyMap<string, number>;
  /** Watchers and the store's event log: enable the watch check. */
  readonly watch?: { readonly watchers: readonly WatcherHistory[]; readonly log: StoreLog } | Unavailable;
  readonly memberHashes?: readonly MemberHash[] | Unavailable;
  /** Every member of the cluster: the hash check then needs a hash from each of them. */
  readonly members?: readonly string[];
  /** Members' roles and terms sampled during the run: enable the election-safety check. */
  readonly roles?: readonly RoleObservation[] | Unavailable;
}

/** Data a run meant to check but could not collect, and why. */
export interface Unavailable {
  readonly unavailable: string;
}

function isUnavailable(input: object): input is Unavailable {
  return 'unavailable' in input;
}

function unknownRow(name: string, input: Unavailable): CheckResult {
  return { name, status: 'unknown', detail: `could not run: ${input.unavailable}` };
}

export function checkRun(input: RunCheckInput): Verdict {
  const initial = input.initial ?? new Map<string, KvValue | null>();
  const results: CheckResult[] = [linearizabilityCheckResult(checkLinearizability(input.history, { ...input.linearizability, initial }))];
  // Only when the recorder captured revisions.
  const revisions = revisionObservations(input.history);
  if (revisions.length > 0) results.push(toCheckResult('revisions-monotonic', checkRevisionsMonotonic(revisions)));
  if (input.finalState !== undefined) {
    const options = input.finalModRevisions === undefined ? { initial } : { initial, finalModRevisions: input.finalModRevisions };
    results.push(toCheckResult('acked-writes-present', checkAckedWritesPresent(input.history, input.finalState, options)));
  }
  if (input.watch !== undefined) {
    results.push(isUnavailable(input.watch) ? unknownRow('watch-guarantees', input.watch) : toCheckResult('watch-guarantees', checkWatchGuarantees(input.watch.watchers, input.watch.log)));
  }
  if (input.memberHashes !== undefined) {
    results.push(isUnavailable(input.memberHashes) ? unknownRow('member-hashes-equal', input.memberHashes) : toCheckResult('member-hashes-equal', checkHashesEqual(input.memberHashes, input.members)));
  }
  if (input.roles !== undefined) {
    results.push(isUnavailable(input.roles) ? unknownRow('election-safety', input.roles) : toCheckResult('election-safety', checkElectionSafety(input.roles)));
  }
  return aggregate(results);
}
