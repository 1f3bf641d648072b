/**
 * The in-memory Raft log: entries after the last snapshot, plus two marks: `committed` and
 * `stableIndex` (entries at or below it are on the shell's disk). Entries above `stableIndex` are
 * what the next Ready asks the shell to persist. The array is only ever pushed to, cut at the end
 * (conflicting suffix) or cut at the front (compaction), so appends are amortised O(1) and no
 * message causes a copy of the whole log.
 */
import { assert } from '../primitives/assert.js';
import type { Entry } from './types.js';


export class RaftLog {
  private entries: Entry[];
  /** Index and term of the last entry folded into the snapshot (0, 0 when none). */
  private snapIndex: number;
  private snapTerm: number;
  committed: number;
  stableIndex: number;

  constructor(snapIndex: number, snapTerm: number, entries: Entry[], committed: number) {
    this.snapIndex = snapIndex;
    this.snapTerm = snapTerm;
    this.entries = entries;
    for (let i = 0; i < entries.length; i++) {
      assert(entries[i]!.index === snapIndex + 1 + i, `restored entries not contiguous at ${snapIndex + 1 + i}`);
    }
    assert(committed >= snapIndex && committed <= this.lastIndex(), `restored commit ${committed} outside log`);
    this.committed = committed;
    this.stableIndex = this.lastIndex();
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  snapshotIndex(): number {
    return this.snapIndex;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapTerm : this.entries[n - 1]!.term;
  }

  /** Term of entry `i`, or undefined when compacted away or beyond the end. */
  term(i: number): number | undefined {
    if (i === this.snapIndex) return this.snapTerm;
    if (i < this.snapIndex) return undefined;
    return this.entries[i - this.snapIndex - 1]?.term;
  }

  entry(i: number): Entry | undefined {
    if (i <= this.snapIndex) return undefined;
    return this.entries[i - this.snapIndex - 1];
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** §5.4.1: is (lastIndex, lastTerm) at least as up to date as this log? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) limited to maxCount entries and maxBytes of data (always at least one). */
  slice(lo: number, hi: number, maxBytes: number, maxCount: number): Entry[] {
    assert(lo > this.snapIndex, `slice from compacted index ${lo}`);
    const end = Math.min(hi, this.lastIndex() + 1, lo + maxCount);
    if (end <= lo) return [];
    const base = this.snapIndex + 1;
    let bytes = 0;
    let stop = lo;
    while (stop < end) {
      bytes += this.entries[stop - base]!.data.byteLength;
      if (bytes > maxBytes && stop > lo) break;
      stop++;
    }
    return this.entries.slice(lo - base, stop - base);
  }

  /** The leader's own append: never replaces anything (Leader Append-Only). */
  appendOne(entry: Entry): void {
    assert(entry.index === this.lastIndex() + 1, `append of ${entry.index} after ${this.lastIndex()}`);
    this.entries.push(entry);
  }

  /**
   * The follower's append after a successful consistency check at prevIndex: skips entries it
   * already has, cuts the log at the first conflicting entry (§5.3) and appends the rest.
   * Returns the index of the last entry sent (the follower now matches the leader up to it).
   */
  maybeAppend(prevIndex: number, entries: readonly Entry[]): number {
    const last = this.lastIndex();
    let k = 0;
    while (k < entries.length) {
      const e = entries[k]!;
      if (e.index > last || this.term(e.index) !== e.term) break;
      k++;
    }
    if (k < entries.length) {
      const from = entries[k]!.index;
      assert(from > this.committed, `conflict at ${from} would overwrite committed entries (commit ${this.committed})`);
      if (from <= last) {
        this.entries.length = from - this.snapIndex - 1;
        if (this.stableIndex >= from) this.stableIndex = from - 1;
      }
      for (let j = k; j < entries.length; j++) this.entries.push(entries[j]!);
    }
    return prevIndex + entries.length;
  }

  /**
   * The last index at or below `index` whose term is <= `term`: no entry above it can match a
   * leader whose entry at `index` has `term` (etcd's findConflictByTerm). Stops at the snapshot.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapIndex) {
      const t = this.entries[i - this.snapIndex - 1]!.term;
      if (t <= term) return { index: i, term: t };
      i--;
    }
    return { index: this.snapIndex, term: this.snapTerm };
  }

  commitTo(i: number): void {
    assert(i <= this.lastIndex(), `commit ${i} beyond last index ${this.lastIndex()}`);
    assert(i >= this.committed, `commit index decreasing ${this.committed} -> ${i}`);
    this.committed = i;
  }

  unstableEntries(): Entry[] {
    if (this.stableIndex >= this.lastIndex()) return [];
    return this.entries.slice(this.stableIndex - this.snapIndex);
  }

  /** The shell persisted entries through (index, term); ignored if the log changed under it. */
  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.term(index) === term) this.stableIndex = index;
  }

  /** Drops entries up to `index` (inclusive), which a snapshot now covers. */
  compact(index: number): void {
    assert(index <= this.committed, `compacting uncommitted index ${index}`);
    assert(index <= this.stableIndex, `compacting unpersisted index ${index}`);
    if (index <= this.snapIndex) return;
    const term = this.term(index);
    assert(term !== undefined, `compacting unknown index ${index}`);
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restoreSnapshot(index: number, term: number): void {
    assert(index > this.committed, `snapshot ${index} not beyond commit ${this.committed}`);
    this.entries = [];
    this.snapIndex = index;
    this.snapTerm = term;
    this.committed = index;
    this.stableIndex = index;
  }
}
