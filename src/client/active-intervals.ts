/**
 * The evidence behind "at most one active controller-manager (or scheduler) at any moment"
 * (DESIGN §7): each term an instance acts as the Lease holder is an interval on its clock,
 * recorded durably (appended and fsynced at the start and at the end of every term), so a power
 * cut does not erase it. A term whose end was never written (the instance died while active) is
 * closed on the next start as `crashed`, bounded by that restart.
 */
import type { Storage } from '../runtime/storage.js';

export interface ActiveInterval {
  readonly identity: string;
  readonly startMs: number;
  /** Absent while the term lasts, and for a term cut short by a crash. */
  readonly endMs?: number;
  /** The instance died while active: the term ended at some moment before this (its restart). */
  readonly crashedBeforeMs?: number;
}

export interface IntervalRecord {
  readonly intervals: readonly ActiveInterval[];
  /** Terms dropped from the record (bounded memory). */
  readonly dropped: number;
}

/** Terms kept; the file is rewritten with the last ones when it has twice as many. */
export const maxRecordedIntervals = 1_000;
const fileName = 'active-intervals.jsonl';

type Line = { readonly s: number } | { readonly e: number };

export class ActiveIntervalLog {
  private intervals: ActiveInterval[] = [];
  private dropped = 0;
  private linesInFile = 0;

  /** `storage` absent: kept in memory only (tests, a single instance without a data directory). */
  constructor(private readonly identity: string, private readonly storage?: Storage, nowMs?: number) {
    if (storage === undefined) return;
    const bytes = storage.read(fileName);
    if (bytes === undefined) return;
    for (const raw of new TextDecoder().decode(bytes).split('\n')) {
      if (raw === '') continue;
      this.linesInFile++;
      const line = parseLine(raw);
      // A torn last line (power cut mid-append) carries no fsynced fact: skip it.
      if (line === undefined) continue;
      if ('s' in line) {
        // A start after an unended term: that term was cut short by a crash before this restart.
        this.markCrashed(line.s);
        this.push({ identity, startMs: line.s });
      } else this.close(line.e);
    }
    if (nowMs !== undefined) this.markCrashed(nowMs);
  }

  private markCrashed(beforeMs: number): void {
    const open = this.intervals.at(-1);
    if (open !== undefined && open.endMs === undefined && open.crashedBeforeMs === undefined) {
      this.intervals[this.intervals.length - 1] = { ...open, crashedBeforeMs: beforeMs };
    }
  }

  get active(): boolean {
    const last = this.intervals.at(-1);
    return last !== undefined && last.endMs === undefined && last.crashedBeforeMs === undefined;
  }

  begin(startMs: number): void {
    if (this.active) throw new Error(`${this.identity}: a term began while one is open`);
    this.push({ identity: this.identity, startMs });
    this.write({ s: startMs });
  }

  end(endMs: number): void {
    if (!this.active) return;
    this.close(endMs);
    this.write({ e: endMs });
  }

  snapshot(): IntervalRecord {
    return { intervals: [...this.intervals], dropped: this.dropped };
  }

  private push(interval: ActiveInterval): void {
    this.intervals.push(interval);
    if (this.intervals.length > maxRecordedIntervals) {
      this.intervals.shift();
      this.dropped++;
    }
  }

  private close(endMs: number): void {
    const last = this.intervals.at(-1);
    if (last !== undefined && last.endMs === undefined && last.crashedBeforeMs === undefined) this.intervals[this.intervals.length - 1] = { ...last, endMs };
  }

  private write(line: Line): void {
    const storage = this.storage;
    if (storage === undefined) return;
    if (this.linesInFile >= 2 * maxRecordedIntervals) {
      storage.writeAtomic(fileName, new TextEncoder().encode(this.intervals.map(linesOf).join('')));
      this.linesInFile = this.intervals.reduce((n, i) => n + (i.endMs === undefined ? 1 : 2), 0);
      return;
    }
    storage.append(fileName, new TextEncoder().encode(`${JSON.stringify(line)}\n`));
    storage.sync(fileName);
    this.linesInFile++;
  }
}

function linesOf(i: ActiveInterval): string {
  return `${JSON.stringify({ s: i.startMs })}\n${i.endMs === undefined ? '' : `${JSON.stringify({ e: i.endMs })}\n`}`;
}

function parseLine(raw: string): Line | undefined {
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const r = v as Record<string, unknown>;
    if (typeof r['s'] === 'number') return { s: r['s'] };
    if (typeof r['e'] === 'number') return { e: r['e'] };
    return undefined;
  } catch {
    return undefined;
  }
}
