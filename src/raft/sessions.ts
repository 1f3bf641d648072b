/**
 * Client sessions for exactly-once commands (Raft dissertation §6.3). A client tags each command
 * with (clientId, seq); the state machine, while applying committed entries, asks the table first:
 * a (clientId, seq) already applied returns its cached result instead of running again, so a retry
 * after a timeout or a leader change never applies twice.
 *
 * The table is part of the replicated state: it changes only while applying entries, in log order,
 * and uses the entry's log index (never a clock) as its notion of "recent", so every replica evicts
 * the same sessions. It is serialised into state-machine snapshots with `toPlain()`/`fromPlain()`.
 *
 * Limits: `maxSessions` sessions (the one idle longest, by log index, is evicted first) and
 * `maxResultsPerSession` cached results per client (pipelined clients; the lowest seq is evicted
 * first). A seq below what is retained answers 'stale': the client must treat it as failed-unknown.
 * A client whose session was evicted is unknown again: a retry after that can apply twice, which is
 * why the limits must comfortably exceed the number of live clients.
 */

export interface SessionLimits {
  readonly maxSessions: number;
  readonly maxResultsPerSession: number;
}

export const defaultSessionLimits: SessionLimits = { maxSessions: 10_000, maxResultsPerSession: 64 };

export type SessionLookup<R> =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly result: R }
  | { readonly kind: 'stale' };

export interface SessionPlain<R> {
  readonly clientId: string;
  readonly lastActiveIndex: number;
  /** Every seq below this has been forgotten. */
  readonly floor: number;
  readonly results: readonly { readonly seq: number; readonly result: R }[];
}

/** Plain data (JSON/msgpack-able when R is); sessions in order of last activity, oldest first. */
export interface SessionTablePlain<R> {
  readonly sessions: readonly SessionPlain<R>[];
}

interface Session<R> {
  lastActiveIndex: number;
  floor: number;
  /** seq -> result, in insertion order (normally ascending seq). */
  readonly results: Map<number, R>;
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`session seq must be a non-negative integer, got ${seq}`);
}

export class SessionTable<R> {
  /** Map iteration order is the eviction order: a session is re-inserted on each activity. */
  private readonly sessions = new Map<string, Session<R>>();

  constructor(private readonly limits: SessionLimits = defaultSessionLimits) {
    if (!(limits.maxSessions >= 1 && limits.maxResultsPerSession >= 1)) throw new Error('session limits must be >= 1');
  }

  get size(): number {
    return this.sessions.size;
  }

  lookup(clientId: string, seq: number): SessionLookup<R> {
    checkSeq(seq);
    const s = this.sessions.get(clientId);
    if (!s) return { kind: 'new' };
    if (s.results.has(seq)) return { kind: 'duplicate', result: s.results.get(seq) as R };
    if (seq < s.floor) return { kind: 'stale' };
    return { kind: 'new' };
  }

  /** Caches `result` for (clientId, seq), applied at log index `index`. */
  record(clientId: string, seq: number, result: R, index: number): void {
    checkSeq(seq);
    let s = this.sessions.get(clientId);
    if (s) {
      if (index < s.lastActiveIndex) throw new Error(`session ${clientId}: apply index went back ${s.lastActiveIndex} -> ${index}`);
      this.sessions.delete(clientId);
    } else {
      s = { lastActiveIndex: index, floor: 0, results: new Map() };
    }
    s.lastActiveIndex = index;
    s.results.set(seq, result);
    this.sessions.set(clientId, s);
    while (s.results.size > this.limits.maxResultsPerSession) this.forgetLowest(s);
    while (this.sessions.size > this.limits.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
  }

  /**
   * Runs `command` unless (clientId, seq) was already applied, and caches its result.
   * Returns 'stale' without running when the seq is older than the cached window.
   */
  apply(clientId: string, seq: number, index: number, command: () => R): { readonly result: R; readonly duplicate: boolean } | { readonly stale: true } {
    const seen = this.lookup(clientId, seq);
    switch (seen.kind) {
      case 'duplicate':
        return { result: seen.result, duplicate: true };
      case 'stale':
        return { stale: true };
      case 'new': {
        const result = command();
        this.record(clientId, seq, result, index);
        return { result, duplicate: false };
      }
      default: {
        const unreachable: never = seen;
        throw new Error(`unknown lookup ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The client confirmed it received every reply up to `seq`: free those results. */
  acknowledge(clientId: string, seq: number): void {
    checkSeq(seq);
    const s = this.sessions.get(clientId);
    if (!s) return;
    for (const key of [...s.results.keys()]) if (key <= seq) s.results.delete(key);
    s.floor = Math.max(s.floor, seq + 1);
  }

  private forgetLowest(s: Session<R>): void {
    let lowest = Infinity;
    for (const key of s.results.keys()) if (key < lowest) lowest = key;
    s.results.delete(lowest);
    s.floor = Math.max(s.floor, lowest + 1);
  }

  toPlain(): SessionTablePlain<R> {
    const sessions: SessionPlain<R>[] = [];
    for (const [clientId, s] of this.sessions) {
      const results = [...s.results].map(([seq, result]) => ({ seq, result }));
      sessions.push({ clientId, lastActiveIndex: s.lastActiveIndex, floor: s.floor, results });
    }
    return { sessions };
  }

  /** Rebuilds a table from `toPlain()` output (as found in a snapshot); throws on malformed data. */
  static fromPlain<R>(plain: unknown, limits: SessionLimits = defaultSessionLimits): SessionTable<R> {
    const table = new SessionTable<R>(limits);
    const sessions = (plain as { sessions?: unknown } | null)?.sessions;
    if (!Array.isArray(sessions)) throw new Error('session table: sessions must be an array');
    for (const raw of sessions as unknown[]) {
      const s = raw as Partial<Record<keyof SessionPlain<R>, unknown>>;
      if (typeof s.clientId !== 'string' || typeof s.lastActiveIndex !== 'number' || typeof s.floor !== 'number' || !Array.isArray(s.results)) {
        throw new Error('session table: malformed session');
      }
      const results = new Map<number, R>();
      for (const r of s.results as unknown[]) {
        const seq = (r as { seq?: unknown }).seq;
        if (typeof seq !== 'number') throw new Error('session table: malformed result');
        checkSeq(seq);
        results.set(seq, (r as { result: R }).result);
      }
      table.sessions.set(s.clientId, { lastActiveIndex: s.lastActiveIndex, floor: s.floor, results });
    }
    return table;
  }
}
