/**
 * "Every acknowledged write is present": after healing, the final value of each key must be
 * explained by the writes the store acknowledged.
 *
 * The check is sound (it never blames a correct store) and deliberately simple; the
 * linearizability checker is the complete one (append the final reads to the history to give it
 * the same information). For each key with final value F (read after every op finished):
 *  1. Not overwritten: if an acknowledged write/cas/delete `w` does not leave F, the last mutation
 *     of the key came after it: some other write/cas/delete on the key that did not fail, leaves F,
 *     and had not completed before `w` was invoked (indefinite ops count: they may take effect at
 *     any time). If no such op exists, `w` was lost.
 *  2. Revisions (when the ok carries the revision the write created and the final mod revision of
 *     the key is given): a final mod revision below an acknowledged write's revision means the
 *     key's history was rolled back; equal to it with a different value means the write at that
 *     revision was replaced.
 *  3. Explained: F must be the initial value or the result of an op on the key that did not fail.
 */
import { describeOperation, formatValue, pairOperations, type HistoryOp, type KvValue, type Operation } from './history.js';
import type { CheckerVerdict } from './verdict.js';

export const defaultMaxReportedLostWrites = 20;

export interface AckedWritesOptions {
  /** Value of each key before the history; absent keys start absent. */
  readonly initial?: ReadonlyMap<string, KvValue | null>;
  /** `mod_revision` of each key in the final state (omit absent keys). Enables rule 2. */
  readonly finalModRevisions?: ReadonlyMap<string, number>;
  readonly maxReported?: number;
}

export interface LostWrite {
  readonly key: string;
  /** The acknowledged op that is missing; undefined when the final value itself is unexplained. */
  readonly op: Operation | undefined;
  readonly reason: string;
}

export interface AckedWritesVerdict extends CheckerVerdict {
  readonly ackedWrites: number;
  readonly keysChecked: number;
  /** Bounded by maxReported; `lostCount` is the total. */
  readonly lost: readonly LostWrite[];
  readonly lostCount: number;
  /** Keys with acknowledged writes that are missing from `finalState` (use null for absent keys). */
  readonly unobservedKeys: readonly string[];
}

type Mutation = Operation & { readonly f: 'write' | 'cas' | 'delete' };

function isMutation(op: Operation): op is Mutation {
  return op.f !== 'read';
}

function resultOf(op: Mutation): KvValue | null {
  switch (op.f) {
    case 'write': return op.value;
    case 'cas': return op.value[1];
    case 'delete': return null;
    default: {
      const never: never = op;
      throw new Error(`unreachable ${formatValue(never)}`);
    }
  }
}

/** `finalState`: the value of every key after healing; null for keys read as absent. */
export function checkAckedWritesPresent(
  history: readonly HistoryOp[],
  finalState: ReadonlyMap<string, KvValue | null>,
  options: AckedWritesOptions = {},
): AckedWritesVerdict {
  const byKey = new Map<string, Mutation[]>();
  for (const op of pairOperations(history)) {
    if (!isMutation(op) || op.outcome === 'fail') continue;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const lost: LostWrite[] = [];
  const unobservedKeys: string[] = [];
  let acked = 0;
  let keysChecked = 0;
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    const ackedHere = ops.filter((op) => op.outcome === 'ok').length;
    acked += ackedHere;
    if (!finalState.has(key)) {
      if (ackedHere > 0) unobservedKeys.push(key);
      continue;
    }
    keysChecked++;
    lost.push(...checkKey(key, ops, finalState.get(key) ?? null, options.initial?.get(key) ?? null, options.finalModRevisions?.get(key)));
  }
  // Rule 3 also applies to keys nobody wrote (or only failed writes touched).
  for (const [key, value] of [...finalState].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (byKey.has(key) || value === (options.initial?.get(key) ?? null)) continue;
    lost.push({ key, op: undefined, reason: `final value ${formatValue(value)} was never written by an op that did not fail` });
  }
  const maxReported = options.maxReported ?? defaultMaxReportedLostWrites;
  return {
    status: lost.length > 0 ? 'fail' : unobservedKeys.length > 0 || acked === 0 ? 'unknown' : 'pass',
    explanation: explainAcked(acked, keysChecked, lost, unobservedKeys, maxReported),
    ackedWrites: acked,
    keysChecked,
    lost: lost.slice(0, maxReported),
    lostCount: lost.length,
    unobservedKeys,
  };
}

function checkKey(key: string, ops: readonly Mutation[], final: KvValue | null, initial: KvValue | null, finalModRevision: number | undefined): LostWrite[] {
  const lost: LostWrite[] = [];
  // The latest any op producing `final` can have taken effect (Infinity for indefinite ones).
  let latestProducer = -Infinity;
  for (const m of ops) if (resultOf(m) === final) latestProducer = Math.max(latestProducer, m.completeTime);
  for (const w of ops) {
    if (w.outcome !== 'ok') continue;
    const result = resultOf(w);
    if (finalModRevision !== undefined && w.revision !== undefined && w.f !== 'delete') {
      if (finalModRevision < w.revision) {
        lost.push({ key, op: w, reason: `final mod revision ${finalModRevision} is older than the acknowledged write's revision ${w.revision}` });
        continue;
      }
      if (finalModRevision === w.revision && result !== final) {
        lost.push({ key, op: w, reason: `the final value ${formatValue(final)} carries the write's revision ${w.revision} but differs from it` });
        continue;
      }
    }
    if (result === final) continue;
    // The last mutation in any linearization produced `final`, and it cannot precede `w` entirely.
    if (latestProducer < w.invokeTime) {
      lost.push({ key, op: w, reason: `final value is ${formatValue(final)} and no write, cas or delete producing it could have followed` });
    }
  }
  const explained = final === initial || latestProducer > -Infinity;
  if (!explained) {
    lost.push({ key, op: undefined, reason: `final value ${formatValue(final)} was never written by an op that did not fail` });
  }
  return lost;
}

function explainAcked(acked: number, keys: number, lost: readonly LostWrite[], unobserved: readonly string[], maxReported: number): string {
  if (lost.length > 0) {
    const lines = lost.slice(0, maxReported).map((l) => `  key ${formatValue(l.key)}: ${l.op === undefined ? '' : `${describeOperation(l.op)}: `}${l.reason}`);
    const more = lost.length > maxReported ? [`  … and ${lost.length - maxReported} more`] : [];
    return [`${lost.length} acknowledged writes lost or final values unexplained (of ${acked} acknowledged writes on ${keys} keys):`, ...lines, ...more].join('\n');
  }
  if (acked === 0) return 'no acknowledged writes: nothing to check';
  if (unobserved.length > 0) {
    return `no lost writes among ${keys} keys checked, but ${unobserved.length} written keys have no final value: ${unobserved.slice(0, maxReported).map(formatValue).join(', ')}`;
  }
  return `all ${acked} acknowledged writes on ${keys} keys are present or were overwritten`;
}
