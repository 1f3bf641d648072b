/**
 * etcd's watch guarantees, checked against the store's authoritative event log:
 *  - ordered:      within a session, revisions never decrease;
 *  - unique:       no event (revision, key) is delivered twice to a watcher;
 *  - reliable:     no gaps: every log event matching the filter between the session's start and
 *                  the last revision it reached (last event or progress notification) is delivered;
 *  - atomic:       a revision's events are delivered together (same session, same response) and
 *                  never partially;
 *  - resumable:    a watch resumed after the last delivered revision skips no matching event, and a
 *                  compaction cancel happens only when the revision it still needed was compacted;
 *  - bookmarkable: a progress notification for revision p comes after every matching event <= p and
 *                  before none;
 *  - back-in-time: never an event below the session's start, nor below what a previous session of
 *                  the same watcher already delivered;
 *  - matches-log:  every delivered event is in the log, with the same type and value, and matches
 *                  the watcher's filter.
 * A watcher is a client's logical watch, made of sessions (the initial watch and every resume).
 * Reliability of a session's tail can only be checked up to what it claims to have reached: end
 * sessions with a progress notification (or `observedUntil`) to cover quiet tails.
 */
import { formatValue, type KvValue } from './history.js';
import type { CheckerVerdict } from './verdict.js';

export const defaultMaxReportedWatchViolations = 50;

export type WatchFilter =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  /** etcd's [key, range_end): keys k with start <= k < end (string order). */
  | { readonly kind: 'range'; readonly start: string; readonly end: string }
  | { readonly kind: 'all' };

export interface StoreEvent {
  readonly revision: number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  /** Compared when both the log and the delivered event carry it. */
  readonly value?: KvValue | null;
}

export type WatchItem =
  | {
    readonly kind: 'event';
    readonly revision: number;
    readonly key: string;
    readonly type: 'put' | 'delete';
    readonly value?: KvValue | null;
    /** Sequence number of the watch response that carried it, when known (for atomicity). */
    readonly response?: number;
  }
  | { readonly kind: 'progress'; readonly revision: number };

export interface WatchSession {
  /** The inclusive start revision the session asked for (the effective one: resolve "from now" to header revision + 1). */
  readonly startRevision: number;
  /** What was delivered, in order. */
  readonly items: readonly WatchItem[];
  /** The session was cancelled as compacted, with this compact revision. */
  readonly compactRevision?: number;
  /** The client knows the session had delivered everything up to this revision (e.g. a final header revision). */
  readonly observedUntil?: number;
}

export interface WatcherHistory {
  readonly watcher: string;
  readonly filter: WatchFilter;
  readonly sessions: readonly WatchSession[];
}

export interface StoreLog {
  /** Ordered by revision; several events may share a revision (a transaction). */
  readonly events: readonly StoreEvent[];
  /** The log is complete from this revision (default: its first event; earlier ones were compacted). */
  readonly fromRevision?: number;
  /** ... up to this revision (default: its last event). */
  readonly toRevision?: number;
}

export type WatchGuarantee = 'ordered' | 'unique' | 'reliable' | 'atomic' | 'resumable' | 'bookmarkable' | 'back-in-time' | 'matches-log';

export interface WatchViolation {
  readonly watcher: string;
  readonly guarantee: WatchGuarantee;
  /** Index of the session in the watcher's sessions. */
  readonly session: number;
  readonly revision: number;
  readonly detail: string;
}

export interface WatchVerdict extends CheckerVerdict {
  readonly watchers: number;
  readonly eventsDelivered: number;
  /** Bounded by maxReported; `violationCount` is the total. */
  readonly violations: readonly WatchViolation[];
  readonly violationCount: number;
}

export function matchesFilter(filter: WatchFilter, key: string): boolean {
  switch (filter.kind) {
    case 'key': return key === filter.key;
    case 'prefix': return key.startsWith(filter.prefix);
    case 'range': return key >= filter.start && key < filter.end;
    case 'all': return true;
    default: {
      const never: never = filter;
      throw new Error(`unreachable filter ${formatValue(never)}`);
    }
  }
}

interface IndexedLog {
  readonly events: readonly StoreEvent[];
  readonly byId: ReadonlyMap<string, StoreEvent>;
  readonly from: number;
  readonly to: number;
}

const eventId = (revision: number, key: string): string => `${revision}\u0000${key}`;

function indexLog(log: StoreLog): IndexedLog {
  const byId = new Map<string, StoreEvent>();
  let previous = -Infinity;
  for (const event of log.events) {
    if (!(event.revision >= previous)) throw new Error(`store log out of order at revision ${event.revision} (after ${previous})`);
    const id = eventId(event.revision, event.key);
    if (byId.has(id)) throw new Error(`store log has two events for key ${formatValue(event.key)} at revision ${event.revision}`);
    byId.set(id, event);
    previous = event.revision;
  }
  const from = log.fromRevision ?? log.events[0]?.revision ?? 0;
  const to = log.toRevision ?? log.events[log.events.length - 1]?.revision ?? 0;
  return { events: log.events, byId, from, to };
}

export function checkWatchGuarantees(watchers: readonly WatcherHistory[], log: StoreLog, maxReported = defaultMaxReportedWatchViolations): WatchVerdict {
  const indexed = indexLog(log);
  const violations: WatchViolation[] = [];
  let delivered = 0;
  for (const watcher of watchers) {
    const checker = new WatcherChecker(watcher, indexed, violations);
    delivered += checker.run();
  }
  const status = violations.length > 0 ? 'fail' : watchers.length === 0 ? 'unknown' : 'pass';
  return {
    status,
    explanation: explain(violations, watchers.length, delivered, maxReported),
    watchers: watchers.length,
    eventsDelivered: delivered,
    violations: violations.slice(0, maxReported),
    violationCount: violations.length,
  };
}

/** Walks one watcher's sessions in order, keeping a cursor into the matching log events. */
class WatcherChecker {
  private readonly matching: readonly StoreEvent[];
  private readonly delivered = new Set<string>();
  /** Where (session, response) each revision was first delivered, for atomicity. */
  private readonly revisionHome = new Map<number, { session: number; response: number | undefined }>();
  private readonly deliveredPerRevision = new Map<number, number>();
  private highest = -Infinity;
  private highestSession = -1;
  private session = 0;
  private cursor = 0;

  constructor(
    private readonly watcher: WatcherHistory,
    private readonly log: IndexedLog,
    private readonly violations: WatchViolation[],
  ) {
    this.matching = log.events.filter((e) => matchesFilter(watcher.filter, e.key) && e.revision >= log.from && e.revision <= log.to);
  }

  run(): number {
    let count = 0;
    let reached = -Infinity;
    let cancelledByCompaction = false;
    this.watcher.sessions.forEach((s, index) => {
      this.session = index;
      if (index > 0 && !cancelledByCompaction) this.checkResume(s, reached);
      this.cursor = this.firstAtOrAfter(s.startRevision);
      let sessionReached = s.startRevision - 1;
      let progress = -Infinity;
      for (const item of s.items) {
        if (item.kind === 'progress') {
          this.require(item.revision, true, 'bookmarkable', `progress notification for revision ${item.revision}`);
          progress = Math.max(progress, item.revision);
          sessionReached = Math.max(sessionReached, item.revision);
          continue;
        }
        count++;
        this.event(item, s, progress);
        sessionReached = Math.max(sessionReached, item.revision);
      }
      sessionReached = Math.max(sessionReached, s.observedUntil ?? -Infinity);
      this.require(sessionReached, true, 'reliable', `the end of session ${index} (reached revision ${sessionReached})`);
      if (s.compactRevision !== undefined) this.checkCompactionCancel(s, sessionReached);
      cancelledByCompaction = s.compactRevision !== undefined;
      reached = Math.max(reached, sessionReached);
    });
    return count;
  }

  private event(e: WatchItem & { kind: 'event' }, s: WatchSession, progress: number): void {
    const id = eventId(e.revision, e.key);
    if (this.delivered.has(id)) this.report('unique', e.revision, `event for ${formatValue(e.key)} at revision ${e.revision} delivered again`);
    if (e.revision < s.startRevision) {
      this.report('back-in-time', e.revision, `revision ${e.revision} delivered to a session that started at ${s.startRevision}`);
    } else if (e.revision < this.highest) {
      const across = this.highestSession !== this.session;
      this.report(across ? 'back-in-time' : 'ordered', e.revision, `revision ${e.revision} delivered after revision ${this.highest}${across ? ` (in session ${this.highestSession})` : ''}`);
    }
    if (e.revision <= progress) this.report('bookmarkable', e.revision, `revision ${e.revision} delivered after a progress notification for revision ${progress}`);
    this.checkAgainstLog(e);
    this.checkAtomicHome(e);
    // Everything of earlier revisions must have come before this event.
    this.require(e.revision, false, 'reliable', `revision ${e.revision}`);
    this.delivered.add(id);
    this.deliveredPerRevision.set(e.revision, (this.deliveredPerRevision.get(e.revision) ?? 0) + 1);
    if (e.revision >= this.highest) {
      this.highest = e.revision;
      this.highestSession = this.session;
    }
  }

  private checkAgainstLog(e: WatchItem & { kind: 'event' }): void {
    if (!matchesFilter(this.watcher.filter, e.key)) {
      this.report('matches-log', e.revision, `event for ${formatValue(e.key)} is outside the watched range`);
      return;
    }
    if (e.revision < this.log.from || e.revision > this.log.to) return;
    const logged = this.log.byId.get(eventId(e.revision, e.key));
    if (logged === undefined) {
      this.report('matches-log', e.revision, `no ${e.type} of ${formatValue(e.key)} at revision ${e.revision} in the store's log`);
    } else if (logged.type !== e.type || (logged.value !== undefined && e.value !== undefined && logged.value !== e.value)) {
      this.report('matches-log', e.revision, `delivered ${e.type} ${formatValue(e.value)} of ${formatValue(e.key)} at revision ${e.revision}, `
        + `the log has ${logged.type} ${formatValue(logged.value)}`);
    }
  }

  private checkAtomicHome(e: WatchItem & { kind: 'event' }): void {
    const home = this.revisionHome.get(e.revision);
    if (home === undefined) {
      this.revisionHome.set(e.revision, { session: this.session, response: e.response });
      return;
    }
    if (home.session !== this.session) {
      this.report('atomic', e.revision, `revision ${e.revision} split across sessions ${home.session} and ${this.session}`);
    } else if (home.response !== undefined && e.response !== undefined && home.response !== e.response) {
      this.report('atomic', e.revision, `revision ${e.revision} split across responses ${home.response} and ${e.response}`);
    }
  }

  /**
   * Moves the cursor past matching log events below `revision` (or up to it, inclusive) and
   * reports those never delivered: a partially delivered revision breaks atomicity, a wholly
   * missing one is a gap (charged to `guarantee`).
   */
  private require(revision: number, inclusive: boolean, guarantee: WatchGuarantee, context: string): void {
    const missing = new Map<number, StoreEvent[]>();
    while (this.cursor < this.matching.length) {
      const next = this.matching[this.cursor]!;
      if (inclusive ? next.revision > revision : next.revision >= revision) break;
      if (!this.delivered.has(eventId(next.revision, next.key))) {
        const list = missing.get(next.revision) ?? [];
        list.push(next);
        missing.set(next.revision, list);
      }
      this.cursor++;
    }
    for (const [rev, events] of missing) {
      const keys = events.map((e) => formatValue(e.key)).join(', ');
      const partial = this.deliveredPerRevision.get(rev) ?? 0;
      if (partial > 0) {
        this.report('atomic', rev, `revision ${rev} delivered partially: ${partial} events arrived, missing ${events.length} (${keys})`);
      } else {
        this.report(guarantee, rev, `missed revision ${rev} (${keys}) before ${context}`);
      }
    }
  }

  private checkResume(s: WatchSession, reached: number): void {
    if (s.startRevision <= reached + 1) return;
    const skipped = this.matching.filter((e) => e.revision > reached && e.revision < s.startRevision && !this.delivered.has(eventId(e.revision, e.key)));
    if (skipped.length === 0) return;
    const revs = [...new Set(skipped.map((e) => e.revision))];
    this.report('resumable', s.startRevision, `resumed at revision ${s.startRevision} after reaching ${reached}: skipped revisions ${revs.join(', ')}`);
  }

  private checkCompactionCancel(s: WatchSession, reached: number): void {
    const needed = Math.max(s.startRevision, reached + 1);
    if (needed >= s.compactRevision!) {
      this.report('resumable', needed, `cancelled as compacted at ${s.compactRevision} although it needed revision ${needed}, which was not compacted`);
    }
  }

  private firstAtOrAfter(revision: number): number {
    let lo = 0;
    let hi = this.matching.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.matching[mid]!.revision < revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private report(guarantee: WatchGuarantee, revision: number, detail: string): void {
    this.violations.push({ watcher: this.watcher.watcher, guarantee, session: this.session, revision, detail });
  }
}

function explain(violations: readonly WatchViolation[], watchers: number, delivered: number, maxReported: number): string {
  if (watchers === 0) return 'no watchers: nothing to check';
  if (violations.length === 0) {
    return `${watchers} watchers, ${delivered} events: ordered, unique, reliable, atomic, resumable, bookmarkable, never back in time, matching the log`;
  }
  const lines = violations.slice(0, maxReported).map((v) => `  ${v.watcher} session ${v.session} [${v.guarantee}] ${v.detail}`);
  const more = violations.length > maxReported ? [`  … and ${violations.length - maxReported} more`] : [];
  return [`${violations.length} watch guarantee violations (${watchers} watchers, ${delivered} events):`, ...lines, ...more].join('\n');
}
