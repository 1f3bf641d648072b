/**
 * Verdicts: every checker reduces to `{ name, status, detail }`; a run's verdict is the worst of them.
 * 'unknown' is not a pass: it means a checker could not decide (budget, missing data) and the run
 * proves nothing about that property.
 */
import type { LinearizabilityResult } from './linearizability.js';

export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** Human explanation: what was checked and, on fail/unknown, why. */
  readonly detail: string;
}

export interface Verdict {
  readonly status: CheckStatus;
  readonly results: readonly CheckResult[];
  /** One line per checker, failures first. */
  readonly summary: string;
}

/** What the other checkers return; `explanation` is for humans. */
export interface CheckerVerdict {
  readonly status: CheckStatus;
  readonly explanation: string;
}

const severity: Record<CheckStatus, number> = { pass: 0, unknown: 1, fail: 2 };

/** Fail if any failed; otherwise unknown if any is unknown or there are no results; else pass. */
export function aggregate(results: readonly CheckResult[]): Verdict {
  let status: CheckStatus = results.length === 0 ? 'unknown' : 'pass';
  for (const r of results) if (severity[r.status] > severity[status]) status = r.status;
  const ordered = [...results].sort((a, b) => severity[b.status] - severity[a.status]);
  const lines = ordered.map((r) => `${r.status.toUpperCase().padEnd(7)} ${r.name}: ${firstLine(r.detail)}`);
  const head = results.length === 0 ? 'UNKNOWN: no checks ran' : `${status.toUpperCase()}: ${count(results, 'fail')} failed, `
    + `${count(results, 'unknown')} unknown, ${count(results, 'pass')} passed of ${results.length} checks`;
  return { status, results, summary: [head, ...lines].join('\n') };
}

export function toCheckResult(name: string, verdict: CheckerVerdict): CheckResult {
  return { name, status: verdict.status, detail: verdict.explanation };
}

export function linearizabilityCheckResult(result: LinearizabilityResult, name = 'linearizability'): CheckResult {
  if (result.valid === true) {
    return { name, status: 'pass', detail: `${result.ops} ops on ${result.keys} keys are linearizable (${result.exploredStates} states explored)` };
  }
  if (result.valid === false) return { name, status: 'fail', detail: result.explanation };
  return { name, status: 'unknown', detail: `could not decide: ${result.reason}` };
}

function count(results: readonly CheckResult[], status: CheckStatus): number {
  return results.filter((r) => r.status === status).length;
}

function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i === -1 ? text : `${text.slice(0, i)} …`;
}
