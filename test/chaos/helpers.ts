import type { CasValue, HistoryOp, KvValue, OpF, Operation, ProcessId } from '../../src/chaos/check/history.js';
import { SeededPrng, type Prng } from '../../src/primitives/prng.js';

/** One operation of a hand-written history. `end` undefined: never completed. */
export interface Spec {
  readonly p: ProcessId;
  readonly f: OpF;
  readonly key?: string;
  /** write: value; cas: [expected, new]; read: value read (ok only). */
  readonly value?: KvValue | null | CasValue;
  readonly start: number;
  readonly end?: number;
  readonly type?: 'ok' | 'fail' | 'info';
  readonly revision?: number;
}

interface Timed { readonly time: number; readonly group: number; readonly seq: number; readonly completion: boolean; readonly op: HistoryOp }

/**
 * Turns specs into invoke/completion lines ordered by time. On ties, completions of earlier ops come
 * first, then invokes and zero-length ops in spec order (so a process's ops stay sequential).
 */
export function history(specs: readonly Spec[]): HistoryOp[] {
  const lines: Timed[] = [];
  specs.forEach((s, seq) => {
    const key = s.key ?? 'x';
    const invokeValue = s.f === 'read' || s.f === 'delete' ? null : (s.value ?? null);
    lines.push({ time: s.start, group: 1, seq, completion: false, op: { process: s.p, type: 'invoke', f: s.f, key, value: invokeValue, time: s.start } as HistoryOp });
    if (s.end === undefined) return;
    const type = s.type ?? 'ok';
    const value = s.f === 'read' ? (type === 'ok' ? (s.value ?? null) : null) : invokeValue;
    const op = { process: s.p, type, f: s.f, key, value, time: s.end, ...(s.revision === undefined ? {} : { revision: s.revision }) } as HistoryOp;
    lines.push({ time: s.end, group: s.end === s.start ? 1 : 0, seq, completion: true, op });
  });
  lines.sort((x, y) => x.time - y.time || x.group - y.group || x.seq - y.seq || Number(x.completion) - Number(y.completion));
  return lines.map((l) => l.op);
}

export interface GeneratorOptions {
  readonly processes?: number;
  readonly keys?: number;
  readonly ops?: number;
  /** Fraction of ops that end with `info`; half of those take effect (possibly after the info). */
  readonly infoRate?: number;
  /** Fraction of writes/deletes recorded as `fail` (never applied). */
  readonly failRate?: number;
  readonly maxDurationMs?: number;
}

export interface GeneratedOp {
  readonly spec: Spec;
  /** Where the op took effect in the simulated sequential register; undefined if it never did. */
  readonly effectAt: number | undefined;
}

interface Draft {
  p: number;
  f: OpF;
  key: string;
  value: KvValue | null | CasValue;
  start: number;
  end: number;
  type: 'ok' | 'fail' | 'info';
  effectAt: number | undefined;
}

/**
 * Random linearizable histories: each process runs ops back to back with random durations; each op
 * takes effect on a sequential register at a random point inside its window (an `info` op anywhere
 * after its invoke, or never). Read results and cas outcomes come from that register, so the
 * history is linearizable by construction. Written values are unique.
 */
export function randomLinearizableHistory(seed: number, options: GeneratorOptions = {}): { history: HistoryOp[]; ops: GeneratedOp[] } {
  const prng = new SeededPrng(seed);
  const processes = options.processes ?? 8;
  const keyCount = options.keys ?? 10;
  const total = options.ops ?? 1000;
  const infoRate = options.infoRate ?? 0.02;
  const failRate = options.failRate ?? 0.02;
  const maxDuration = options.maxDurationMs ?? 20;
  const freeAt = new Array<number>(processes).fill(0);
  const written = new Map<string, KvValue[]>();
  const drafts: Draft[] = [];
  for (let i = 0; i < total; i++) {
    const p = prng.int(processes);
    const key = `k${prng.int(keyCount)}`;
    const start = freeAt[p]! + prng.int(4);
    const end = start + 1 + prng.int(maxDuration);
    freeAt[p] = end;
    const roll = prng.next();
    const f: OpF = roll < 0.45 ? 'read' : roll < 0.8 ? 'write' : roll < 0.95 ? 'cas' : 'delete';
    const history = written.get(key) ?? [];
    const fresh = `v${i}`;
    let value: KvValue | null | CasValue = null;
    if (f === 'write') value = fresh;
    if (f === 'cas') {
      const recent = history.slice(-3);
      const expected = recent.length === 0 || prng.next() < 0.2 ? null : recent[prng.int(recent.length)]!;
      value = [expected, fresh];
    }
    if (f === 'write' || f === 'cas') written.set(key, [...history, fresh]);
    let type: Draft['type'] = 'ok';
    let effectAt: number | undefined = prng.between(start, end);
    const outcomeRoll = prng.next();
    if (outcomeRoll < infoRate) {
      type = 'info';
      effectAt = prng.next() < 0.5 ? undefined : prng.between(start, end + 5 * maxDuration);
    } else if (outcomeRoll < infoRate + failRate && f !== 'read') {
      type = 'fail';
      effectAt = undefined;
    }
    drafts.push({ p, f, key, value, start, end, type, effectAt });
  }
  applySequentially(drafts);
  const ops: GeneratedOp[] = drafts.map((d) => ({
    spec: { p: d.p, f: d.f, key: d.key, value: d.value, start: d.start, end: d.end, type: d.type },
    effectAt: d.effectAt,
  }));
  return { history: history(ops.map((o) => o.spec)), ops };
}

function applySequentially(drafts: Draft[]): void {
  const order = drafts.filter((d) => d.effectAt !== undefined).sort((x, y) => x.effectAt! - y.effectAt!);
  const state = new Map<string, KvValue>();
  for (const d of order) {
    const current = state.get(d.key) ?? null;
    switch (d.f) {
      case 'read':
        if (d.type === 'ok') d.value = current;
        break;
      case 'write':
        state.set(d.key, d.value as KvValue);
        break;
      case 'cas': {
        const [expected, next] = d.value as CasValue;
        if (expected === current) {
          state.set(d.key, next);
        } else {
          // The compare did not match: a definite cas becomes `fail`; an info one simply did nothing.
          if (d.type === 'ok') d.type = 'fail';
          d.effectAt = undefined;
        }
        break;
      }
      case 'delete':
        state.delete(d.key);
        break;
    }
  }
}

/**
 * Exhaustive reference checker for tiny single-register histories: tries every order that respects
 * real time (an op precedes another when it returned strictly before the other was invoked),
 * with indefinite ops optional. Exponential; for cross-checking the real checker only.
 */
export function bruteForceLinearizable(ops: readonly Operation[], initial: KvValue | null = null): boolean {
  const live = ops.filter((op) => op.outcome !== 'fail' && !(op.f === 'read' && op.outcome === 'info'));
  const used = new Array<boolean>(live.length).fill(false);
  const go = (state: KvValue | null, remainingDefinite: number): boolean => {
    if (remainingDefinite === 0) return true;
    for (let i = 0; i < live.length; i++) {
      if (used[i]) continue;
      const op = live[i]!;
      const blocked = live.some((other, k) => !used[k] && k !== i && other.completeTime < op.invokeTime);
      if (blocked) continue;
      let next: KvValue | null;
      if (op.f === 'read') {
        if (op.value !== state) continue;
        next = state;
      } else if (op.f === 'write') {
        next = op.value;
      } else if (op.f === 'cas') {
        if (op.value[0] !== state) continue;
        next = op.value[1];
      } else {
        next = null;
      }
      used[i] = true;
      const ok = go(next, remainingDefinite - (op.outcome === 'ok' ? 1 : 0));
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(initial, live.filter((op) => op.outcome === 'ok').length);
}

/** Small random single-key histories, mostly not linearizable, for cross-checking. */
export function randomTinyHistory(prng: Prng, maxOps: number, infoRate = 0.15): Spec[] {
  const processes = 1 + prng.int(4);
  const count = 1 + prng.int(maxOps);
  const freeAt = new Array<number>(processes).fill(0);
  const pick = (): KvValue | null => (prng.next() < 0.2 ? null : 1 + prng.int(3));
  const specs: Spec[] = [];
  for (let i = 0; i < count; i++) {
    const p = prng.int(processes);
    const start = freeAt[p]! + prng.int(6);
    const end = start + prng.int(12);
    freeAt[p] = end;
    const roll = prng.next();
    const outcomeRoll = prng.next();
    const type = outcomeRoll < infoRate ? 'info' : outcomeRoll < infoRate + 0.15 ? 'fail' : 'ok';
    const fresh = 1 + prng.int(3);
    if (roll < 0.4) specs.push({ p, f: 'read', value: pick(), start, end, type: type === 'fail' ? 'ok' : type });
    else if (roll < 0.7) specs.push({ p, f: 'write', value: fresh, start, end, type });
    else if (roll < 0.9) specs.push({ p, f: 'cas', value: [pick(), fresh], start, end, type });
    else specs.push({ p, f: 'delete', start, end, type });
  }
  return specs;
}
