/**
 * "At most one active controller-manager (or scheduler) at any moment" (DESIGN §7), from the
 * instances' recorded active intervals. Two intervals of different instances that overlap are a
 * violation. A term cut short by a crash has no recorded end: it ended by the instance's death
 * when the caller knows it (the chaos engine knows when it killed a host), otherwise only by its
 * restart — an overlap that depends on such an unknown end is `unknown`, never a pass.
 */
import type { ActiveInterval } from '../../client/active-intervals.js';
import type { CheckerVerdict } from './verdict.js';

export interface SingleActiveInput {
  readonly component: string;
  readonly intervals: readonly ActiveInterval[];
  /** When each instance was killed (wall ms), so a crashed term ends at the first death after its start. */
  readonly deathsMs?: ReadonlyMap<string, readonly number[]>;
  /** Instances whose record could not be read: their terms are unknown. */
  readonly missing?: readonly string[];
  /** Open terms end here (when the record was read). */
  readonly nowMs: number;
}

export interface Overlap {
  readonly a: ActiveInterval;
  readonly b: ActiveInterval;
  readonly overlapMs: number;
  /** The overlap rests on a crashed term's unknown end. */
  readonly uncertain: boolean;
}

export interface SingleActiveVerdict extends CheckerVerdict {
  readonly overlaps: readonly Overlap[];
  readonly terms: number;
}

interface Span { readonly interval: ActiveInterval; readonly endMs: number; readonly uncertain: boolean }

function spanOf(i: ActiveInterval, input: SingleActiveInput): Span {
  if (i.endMs !== undefined) return { interval: i, endMs: i.endMs, uncertain: false };
  if (i.crashedBeforeMs === undefined) return { interval: i, endMs: input.nowMs, uncertain: false };
  const death = (input.deathsMs?.get(i.identity) ?? []).filter((d) => d >= i.startMs && d <= i.crashedBeforeMs!).sort((x, y) => x - y)[0];
  return death === undefined ? { interval: i, endMs: i.crashedBeforeMs, uncertain: true } : { interval: i, endMs: death, uncertain: false };
}

export function checkSingleActive(input: SingleActiveInput): SingleActiveVerdict {
  const spans = input.intervals.map((i) => spanOf(i, input)).sort((x, y) => x.interval.startMs - y.interval.startMs);
  const overlaps: Overlap[] = [];
  for (let i = 0; i < spans.length; i++) {
    for (let j = i + 1; j < spans.length && spans[j]!.interval.startMs < spans[i]!.endMs; j++) {
      const [a, b] = [spans[i]!, spans[j]!];
      if (a.interval.identity === b.interval.identity) continue;
      overlaps.push({ a: a.interval, b: b.interval, overlapMs: Math.min(a.endMs, b.endMs) - b.interval.startMs, uncertain: a.uncertain || b.uncertain });
    }
  }
  const terms = spans.length;
  const definite = overlaps.filter((o) => !o.uncertain);
  const describe = (o: Overlap) => `  ${o.a.identity} (from ${o.a.startMs}) and ${o.b.identity} (from ${o.b.startMs}) were both active for ${o.overlapMs} ms${o.uncertain ? ' (if the crashed term lasted until its restart)' : ''}`;
  if (definite.length > 0) {
    return { status: 'fail', explanation: [`two active ${input.component}s at once (${definite.length} overlaps):`, ...definite.map(describe)].join('\n'), overlaps, terms };
  }
  if (overlaps.length > 0) {
    return { status: 'unknown', explanation: [`a crashed ${input.component} term has no known end and may overlap its successor:`, ...overlaps.map(describe)].join('\n'), overlaps, terms };
  }
  if ((input.missing ?? []).length > 0) {
    return { status: 'unknown', explanation: `the active intervals of ${input.missing!.join(', ')} could not be read`, overlaps, terms };
  }
  if (terms === 0) return { status: 'unknown', explanation: `no ${input.component} was ever active: nothing to check`, overlaps, terms };
  const holders = new Set(spans.map((s) => s.interval.identity)).size;
  return { status: 'pass', explanation: `${terms} active terms of ${holders} ${input.component} instances, none overlapping`, overlaps, terms };
}
