/**
 * Periodic etcd compaction, the way kube-apiserver does it (`--etcd-compaction-interval`): without
 * it nobody compacts and the store's MVCC history grows forever.
 *
 * Every apiserver runs one compactor. Each interval it tries to claim the round with a txn on
 * `compact_rev_key`: if the key's version still equals the version this compactor saw last, it
 * writes the revision it observed one round earlier (the version goes up by one) and compacts to
 * that revision; otherwise another apiserver claimed the round, and this one only learns the new
 * version and the current revision. So with many apiservers one compacts per interval, a crashed
 * winner is replaced one interval later, and the store keeps at least one interval of history:
 * watchers further behind than that get 410 Expired and re-list.
 *
 * The decision is pure (`claimRequest`, `decideClaim`); `compactOnce` does one round over a
 * KvClient; `Compactor` repeats it on an injected timer and never throws into its owner.
 */
import type { KvClient, KvError } from '../client/kv.js';
import type { Clock, TimerId } from '../primitives/clock.js';
import type { TxnRequest, TxnResponse } from '../store/index.js';
import { kvTimeoutMs } from './limits.js';

/** The key the apiservers coordinate on (kube-apiserver's name, outside /registry so no watch sees it). */
export const compactRevKey = 'compact_rev_key';
/** Longest accepted interval (a day); shorter than upstream's unbounded duration, long enough for anything useful. */
export const maxCompactionIntervalMs = 24 * 60 * 60 * 1000;
/** Revision digits accepted from the key's value (a number of at most 2^53 fits in 16). */
const maxRecordedRevisionDigits = 16;

export interface CompactorState {
  /** The version of `compact_rev_key` this compactor last saw: its logical time (0 while the key is absent). */
  readonly knownVersion: number;
  /** The revision observed at the previous round, which the next claimed round compacts to (0: none yet). */
  readonly pendingRevision: number;
}

export const initialCompactorState: CompactorState = { knownVersion: 0, pendingRevision: 0 };

export type ClaimDecision =
  /** This compactor claimed the round; `compactTo` absent on its first round (nothing observed before). */
  | { readonly kind: 'claimed'; readonly state: CompactorState; readonly compactTo?: number }
  /** Another compactor claimed a round since; `recordedRevision` is what it wrote (absent if unreadable). */
  | { readonly kind: 'lost'; readonly state: CompactorState; readonly recordedRevision?: number };

export type CompactionOutcome =
  /** Claimed the first round: the revision to compact to is recorded for the next one. */
  | { readonly kind: 'claimed'; readonly nextRevision: number }
  | { readonly kind: 'compacted'; readonly revision: number; readonly nextRevision: number }
  /** Claimed, but the store was already compacted at or past the revision (by hand, or a slow round). */
  | { readonly kind: 'alreadyCompacted'; readonly revision: number; readonly compactRevision: number }
  /** Another apiserver claimed the round. */
  | { readonly kind: 'observed'; readonly version: number; readonly recordedRevision?: number }
  /** The claim or the compaction failed; the next interval tries again. */
  | { readonly kind: 'failed'; readonly stage: 'claim' | 'compact'; readonly error: KvError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The claim: put the pending revision if the key is still at the version this compactor knows. */
export function claimRequest(state: CompactorState): TxnRequest {
  return {
    compare: [{ key: compactRevKey, target: 'version', result: '=', operand: state.knownVersion }],
    success: [{ type: 'put', request: { key: compactRevKey, value: encoder.encode(String(state.pendingRevision)) } }],
    failure: [{ type: 'range', request: { key: compactRevKey } }],
  };
}

/** What the claim's answer means for this compactor. */
export function decideClaim(state: CompactorState, response: TxnResponse): ClaimDecision {
  const first = response.responses[0];
  if (response.succeeded) {
    if (first?.type !== 'put') throw new Error(`compactor: a claimed round answered ${first?.type ?? 'nothing'}, not put`);
    const next: CompactorState = { knownVersion: state.knownVersion + 1, pendingRevision: response.header.revision };
    return state.pendingRevision > 0 ? { kind: 'claimed', state: next, compactTo: state.pendingRevision } : { kind: 'claimed', state: next };
  }
  if (first?.type !== 'range') throw new Error(`compactor: a lost round answered ${first?.type ?? 'nothing'}, not range`);
  const kv = first.response.kvs[0];
  const next: CompactorState = { knownVersion: kv?.version ?? 0, pendingRevision: response.header.revision };
  const recorded = kv === undefined ? undefined : parseRevision(kv.value);
  return recorded === undefined ? { kind: 'lost', state: next } : { kind: 'lost', state: next, recordedRevision: recorded };
}

function parseRevision(value: Uint8Array): number | undefined {
  const text = decoder.decode(value);
  if (text.length === 0 || text.length > maxRecordedRevisionDigits || !/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * One round. A failed claim keeps the state: if the put applied after all, the next claim fails
 * on the version and learns it. A failed compaction still advances it: the round was claimed.
 */
export async function compactOnce(kv: KvClient, state: CompactorState, timeoutMs = kvTimeoutMs):
  Promise<{ readonly state: CompactorState; readonly outcome: CompactionOutcome }> {
  const claim = await kv.txn(claimRequest(state), { timeoutMs });
  if (!claim.ok) return { state, outcome: { kind: 'failed', stage: 'claim', error: claim.error } };
  const decision = decideClaim(state, claim.value);
  if (decision.kind === 'lost') {
    const { knownVersion } = decision.state;
    const outcome: CompactionOutcome = decision.recordedRevision === undefined
      ? { kind: 'observed', version: knownVersion }
      : { kind: 'observed', version: knownVersion, recordedRevision: decision.recordedRevision };
    return { state: decision.state, outcome };
  }
  const nextRevision = decision.state.pendingRevision;
  if (decision.compactTo === undefined) return { state: decision.state, outcome: { kind: 'claimed', nextRevision } };
  const compacted = await kv.compact(decision.compactTo, { timeoutMs });
  if (compacted.ok) return { state: decision.state, outcome: { kind: 'compacted', revision: decision.compactTo, nextRevision } };
  const { error } = compacted;
  if (error.code === 'store' && error.error.code === 'compacted') {
    return { state: decision.state, outcome: { kind: 'alreadyCompacted', revision: decision.compactTo, compactRevision: error.error.compactRevision } };
  }
  return { state: decision.state, outcome: { kind: 'failed', stage: 'compact', error } };
}

/** One pending wake-up at a time: an actor's context timer, or a Clock (`clockWakeUp`). */
export interface WakeUp {
  /** Calls `fire` once after `delayMs`, replacing any pending call. */
  set(delayMs: number, fire: () => void): void;
  cancel(): void;
}

export function clockWakeUp(clock: Pick<Clock, 'setTimer' | 'clearTimer'>): WakeUp {
  let pending: TimerId | undefined;
  const cancel = (): void => {
    if (pending !== undefined) clock.clearTimer(pending);
    pending = undefined;
  };
  return {
    set: (delayMs, fire) => {
      cancel();
      pending = clock.setTimer(delayMs, () => {
        pending = undefined;
        fire();
      });
    },
    cancel,
  };
}

export interface CompactorOptions {
  readonly kv: KvClient;
  readonly intervalMs: number;
  readonly wakeUp: WakeUp;
  /** Deadline of each call (the claim, the compaction). */
  readonly callTimeoutMs?: number;
  /** Every round's outcome, for logs and tests; must not throw. */
  readonly onOutcome?: (outcome: CompactionOutcome) => void;
  /** A round that threw (a broken invariant): reported here and retried next interval. */
  readonly onError?: (error: unknown) => void;
}

export interface CompactorStats {
  readonly rounds: number;
  readonly compactions: number;
  readonly failures: number;
  /** The last revision this compactor compacted to (0: none). */
  readonly lastCompactedRevision: number;
  readonly state: CompactorState;
}

/** Runs `compactOnce` every interval (the first after one interval), one round at a time, until stopped. */
export class Compactor {
  private state = initialCompactorState;
  private running = false;
  private stopped = true;
  private rounds = 0;
  private compactions = 0;
  private failures = 0;
  private lastCompacted = 0;

  constructor(private readonly o: CompactorOptions) {
    if (!(Number.isSafeInteger(o.intervalMs) && o.intervalMs > 0 && o.intervalMs <= maxCompactionIntervalMs)) {
      throw new Error(`compactor: interval must be 1..${maxCompactionIntervalMs} ms, got ${o.intervalMs}`);
    }
  }

  get stats(): CompactorStats {
    return { rounds: this.rounds, compactions: this.compactions, failures: this.failures, lastCompactedRevision: this.lastCompacted, state: this.state };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (!this.running) this.arm();
  }

  /** No further round starts; one in flight finishes but does not re-arm. */
  stop(): void {
    this.stopped = true;
    this.o.wakeUp.cancel();
  }

  private arm(): void {
    this.o.wakeUp.set(this.o.intervalMs, () => void this.round());
  }

  private async round(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    try {
      const { state, outcome } = await compactOnce(this.o.kv, this.state, this.o.callTimeoutMs);
      this.state = state;
      this.count(outcome);
      this.o.onOutcome?.(outcome);
    } catch (error) {
      this.failures++;
      this.o.onError?.(error);
    } finally {
      this.rounds++;
      this.running = false;
      if (!this.stopped) this.arm();
    }
  }

  private count(outcome: CompactionOutcome): void {
    switch (outcome.kind) {
      case 'compacted':
        this.compactions++;
        this.lastCompacted = outcome.revision;
        return;
      case 'failed':
        this.failures++;
        return;
      case 'claimed':
      case 'alreadyCompacted':
      case 'observed':
        return;
      default: {
        const never: never = outcome;
        throw new Error(`compactor: unhandled outcome ${JSON.stringify(never)}`);
      }
    }
  }
}
