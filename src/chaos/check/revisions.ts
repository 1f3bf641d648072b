/**
 * "Revisions never decrease" per client: each client (a process issuing ops one at a time, or a
 * watcher) must never see a store revision lower than one it saw before, whatever member answered.
 */
import { formatValue, type HistoryOp, type ProcessId } from './history.js';
import type { CheckerVerdict } from './verdict.js';

export const defaultMaxReportedRegressions = 20;

export interface RevisionObservation {
  readonly client: ProcessId;
  readonly revision: number;
  readonly time?: number;
  /** What carried the revision, for the explanation (e.g. "read k3"). */
  readonly label?: string;
}

export interface RevisionRegression {
  readonly client: ProcessId;
  readonly previous: RevisionObservation;
  readonly current: RevisionObservation;
  /** Index of `current` in the observations. */
  readonly position: number;
}

export interface RevisionsVerdict extends CheckerVerdict {
  readonly clients: number;
  readonly observations: number;
  readonly regressions: readonly RevisionRegression[];
  readonly regressionCount: number;
}

/** The revisions of `ok` completions, in history order (which is each process's order). */
export function revisionObservations(history: readonly HistoryOp[]): RevisionObservation[] {
  const result: RevisionObservation[] = [];
  for (const op of history) {
    if (op.type !== 'ok' || op.revision === undefined) continue;
    result.push({ client: op.process, revision: op.revision, time: op.time, label: `${op.f} ${formatValue(op.key)}` });
  }
  return result;
}

/** `observations` in the order each client saw them (interleaving across clients does not matter). */
export function checkRevisionsMonotonic(observations: readonly RevisionObservation[], maxReported = defaultMaxReportedRegressions): RevisionsVerdict {
  const highest = new Map<ProcessId, RevisionObservation>();
  const regressions: RevisionRegression[] = [];
  observations.forEach((current, position) => {
    if (!Number.isFinite(current.revision)) throw new Error(`observation ${position}: revision must be a finite number`);
    const previous = highest.get(current.client);
    if (previous !== undefined && current.revision < previous.revision) {
      regressions.push({ client: current.client, previous, current, position });
      return;
    }
    highest.set(current.client, current);
  });
  const status = regressions.length > 0 ? 'fail' : observations.length === 0 ? 'unknown' : 'pass';
  return {
    status,
    explanation: explain(regressions, highest.size, observations.length, maxReported),
    clients: highest.size,
    observations: observations.length,
    regressions: regressions.slice(0, maxReported),
    regressionCount: regressions.length,
  };
}

function describe(o: RevisionObservation): string {
  const parts = [`revision ${o.revision}`];
  if (o.label !== undefined) parts.push(`(${o.label})`);
  if (o.time !== undefined) parts.push(`at ${o.time} ms`);
  return parts.join(' ');
}

function explain(regressions: readonly RevisionRegression[], clients: number, count: number, maxReported: number): string {
  if (count === 0) return 'no revisions observed: nothing to check';
  if (regressions.length === 0) return `revisions never decreased for any of ${clients} clients (${count} observations)`;
  const lines = regressions.slice(0, maxReported).map((r) => `  client ${formatValue(r.client)} saw ${describe(r.current)} after ${describe(r.previous)}`);
  const more = regressions.length > maxReported ? [`  … and ${regressions.length - maxReported} more`] : [];
  return [`${regressions.length} revision regressions:`, ...lines, ...more].join('\n');
}
