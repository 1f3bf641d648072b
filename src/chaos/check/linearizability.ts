/**
 * Linearizability checker for a key-value store whose keys are independent registers
 * (read / write / cas / delete), in the style of Wing & Gong, Lowe, and Porcupine.
 *
 * - P-compositionality: a history is linearizable iff each key's sub-history is, so keys are
 *   checked separately.
 * - Per key, a depth-first search over linearization points on a doubly linked list of call and
 *   return events ("lift"/"unlift" an op when it is linearized/undone), memoising every
 *   (set of linearized ops, register value) pair already explored (Lowe's cache), backtracking
 *   when a return event is reached before its op was linearized.
 * - `fail` ops certainly did not happen: removed. `info` ops (and invokes never completed) may take
 *   effect at any point after their invoke, or never: they get no return event, so the search may
 *   place them anywhere later and succeeds once every definite op is linearized (the model forks).
 *   Indefinite reads observed nothing and are removed. An indefinite write or cas whose new value
 *   no read or cas ever observes is removed too: a value nobody can tell apart cannot be what makes
 *   a linearization possible, so dropping it loses no valid order (and keeps timeouts cheap).
 * - Ties: when a return and a call have the same time, the call is ordered first, i.e. the two ops
 *   count as concurrent. This can only accept more histories, never reject a correct one.
 * - Pruning that keeps the search exact (each rule only skips orders that have an equivalent one the
 *   search still explores; cross-checked against an exhaustive search in the tests): a legal read
 *   among the candidates is linearized without branching; an indefinite write/cas whose unique value
 *   a definite op observed gets that observer's return time; open-ended ops are never placed where
 *   they change nothing, and open-ended ops with the same effect are placed in call order.
 *
 * Bounded: a budget of explored states per key and an optional deadline (an injected `now()`).
 * On a violation the witness is the minimal failing prefix of that key's events (binary search:
 * non-linearizable prefixes are closed under extension), its last completed op, the ops overlapping
 * it, and the longest partial linearization the search found.
 */
import { describeOperation, formatValue, pairOperations, type HistoryOp, type KvValue, type Operation } from './history.js';

export const defaultMaxStatesPerKey = 500_000;
export const defaultMaxWitnessOps = 30;
const deadlineCheckEverySteps = 1024;

export interface LinearizabilityOptions {
  /** Value of each key before the history starts; absent keys start absent (null). */
  readonly initial?: ReadonlyMap<string, KvValue | null>;
  /** Explored (linearized-set, value) states per key before giving up with 'unknown'. */
  readonly maxStatesPerKey?: number;
  /** Give up with 'unknown' once `now() >= atMs`. Checked every few thousand search steps. */
  readonly deadline?: { readonly now: () => number; readonly atMs: number };
  /** Bound on the ops listed in a witness. */
  readonly maxWitnessOps?: number;
  /** Search for the minimal failing prefix on a violation (default true). */
  readonly minimizeWitness?: boolean;
}

export interface LinearizabilityWitness {
  /** The op whose completion first makes the key's history non-linearizable. */
  readonly failingOp: Operation;
  /** Other ops of the key that overlap `failingOp` in time (bounded by maxWitnessOps). */
  readonly concurrentOps: readonly Operation[];
  /** Ops of the key in the minimal failing prefix (after removing fail ops and indefinite reads). */
  readonly prefixOps: number;
  /** False when minimisation ran out of budget: the prefix is failing but maybe not minimal. */
  readonly minimal: boolean;
  /** The last ops (bounded) of the longest partial linearization found for that prefix. */
  readonly longestLinearization: readonly Operation[];
  readonly longestLinearizationLength: number;
  /** The register's value after that partial linearization. */
  readonly valueAfterLongest: KvValue | null;
}

export type LinearizabilityResult =
  | { readonly valid: true; readonly keys: number; readonly ops: number; readonly exploredStates: number }
  | {
    readonly valid: false;
    readonly key: string;
    readonly explanation: string;
    readonly witness: LinearizabilityWitness;
    /** Every key found non-linearizable (the witness is for `key`, the first in sort order). */
    readonly failedKeys: readonly string[];
    readonly exploredStates: number;
  }
  | { readonly valid: 'unknown'; readonly reason: string; readonly unknownKeys: readonly string[]; readonly exploredStates: number };

export function checkLinearizability(history: readonly HistoryOp[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  return checkOperationsLinearizable(pairOperations(history), options);
}

export function checkOperationsLinearizable(ops: readonly Operation[], options: LinearizabilityOptions = {}): LinearizabilityResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys = [...byKey.keys()].sort();
  const limits: SearchLimits = {
    maxStates: options.maxStatesPerKey ?? defaultMaxStatesPerKey,
    deadline: options.deadline,
  };
  let explored = 0;
  const failedKeys: string[] = [];
  const unknown: { key: string; reason: string }[] = [];
  let firstFailure: { key: string; witness: LinearizabilityWitness } | undefined;
  for (const key of keys) {
    const initial = options.initial?.get(key) ?? null;
    const keyOps = byKey.get(key)!;
    const outcome = checkKey(keyOps, initial, limits, firstFailure === undefined && (options.minimizeWitness ?? true), options.maxWitnessOps ?? defaultMaxWitnessOps);
    explored += outcome.states;
    if (outcome.kind === 'fail') {
      failedKeys.push(key);
      firstFailure ??= { key, witness: outcome.witness };
    } else if (outcome.kind === 'unknown') {
      unknown.push({ key, reason: outcome.reason });
    }
  }
  if (firstFailure !== undefined) {
    return {
      valid: false,
      key: firstFailure.key,
      explanation: explain(firstFailure.key, firstFailure.witness, byKey.get(firstFailure.key)!.length),
      witness: firstFailure.witness,
      failedKeys,
      exploredStates: explored,
    };
  }
  if (unknown.length > 0) {
    const reason = unknown.map((u) => `key ${formatValue(u.key)}: ${u.reason}`).join('; ');
    return { valid: 'unknown', reason, unknownKeys: unknown.map((u) => u.key), exploredStates: explored };
  }
  return { valid: true, keys: keys.length, ops: ops.length, exploredStates: explored };
}

// ---------------------------------------------------------------------------------------------
// One key.

type KeyOutcome =
  | { kind: 'ok'; states: number }
  | { kind: 'fail'; states: number; witness: LinearizabilityWitness }
  | { kind: 'unknown'; states: number; reason: string };

function checkKey(ops: readonly Operation[], initial: KvValue | null, limits: SearchLimits, minimize: boolean, maxWitnessOps: number): KeyOutcome {
  const model = prepare(ops, initial);
  const full = search(model, limits);
  if (full.kind === 'ok') return { kind: 'ok', states: full.states };
  if (full.kind === 'unknown') return { kind: 'unknown', states: full.states, reason: full.reason };
  let states = full.states;
  let failing: { model: Model; events: number } = { model, events: model.events.length };
  let minimal = true;
  if (minimize) {
    let lo = 1;
    let hi = model.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const prefix = prepare(prefixOps(model, mid), initial);
      const attempt = search(prefix, limits);
      states += attempt.states;
      if (attempt.kind === 'fail') {
        hi = mid;
        failing = { model: prefix, events: mid };
      } else if (attempt.kind === 'ok') {
        lo = mid + 1;
      } else {
        minimal = false;
        break;
      }
    }
  } else {
    minimal = false;
  }
  // Searched once more, recording the deepest partial linearization (costly, so only here).
  const traced = search(failing.model, limits, true);
  states += traced.states;
  const longest = traced.kind === 'fail' ? traced : { longest: [], longestState: failing.model.initial };
  return { kind: 'fail', states, witness: buildWitness(ops, model, { ...failing, outcome: longest }, minimal, maxWitnessOps) };
}

/** The ops seen by the first `eventCount` events; ops whose return falls outside become indefinite. */
function prefixOps(model: Model, eventCount: number): Operation[] {
  const called = new Set<number>();
  const returned = new Set<number>();
  for (let i = 0; i < eventCount; i++) {
    const ev = model.events[i]!;
    (isCallNode(ev) ? called : returned).add(ev >> 1);
  }
  const result: Operation[] = [];
  for (const j of called) {
    const op = model.ops[j]!;
    // Indefinite ops are re-bounded by simplify() against the observers inside the prefix.
    if (returned.has(j) && op.outcome === 'ok') result.push(op);
    else if (op.f !== 'read') result.push({ ...op, outcome: 'info', completeTime: Infinity });
  }
  return result;
}

function buildWitness(
  keyOps: readonly Operation[],
  full: Model,
  failing: { model: Model; outcome: { longest: readonly number[]; longestState: number }; events: number },
  minimal: boolean,
  maxWitnessOps: number,
): LinearizabilityWitness {
  const original = new Map<number, Operation>(keyOps.map((op) => [op.index, op]));
  const toOriginal = (op: Operation): Operation => original.get(op.index) ?? op;
  const lastEvent = full.events[failing.events - 1]!;
  const failingOp = full.ops[lastEvent >> 1]!;
  const concurrentOps = failing.model.ops
    .map(toOriginal)
    .filter((op) => op.index !== failingOp.index && op.invokeTime <= failingOp.completeTime && op.completeTime >= failingOp.invokeTime)
    .slice(0, maxWitnessOps);
  const longest = failing.outcome.longest.map((j) => toOriginal(failing.model.ops[j]!));
  return {
    failingOp: toOriginal(failingOp),
    concurrentOps,
    prefixOps: failing.model.ops.length,
    minimal,
    longestLinearization: longest.slice(Math.max(0, longest.length - maxWitnessOps)),
    longestLinearizationLength: longest.length,
    valueAfterLongest: failing.model.values[failing.outcome.longestState] ?? null,
  };
}

function explain(key: string, w: LinearizabilityWitness, keyOpCount: number): string {
  const lines = [
    `key ${formatValue(key)} is not linearizable: no order of the ${w.prefixOps} ops of its ${w.minimal ? 'minimal ' : ''}failing prefix `
      + `(of ${keyOpCount} ops on the key) explains ${describeOperation(w.failingOp)}.`,
    `The longest consistent order found places ${w.longestLinearizationLength} ops and leaves the value ${formatValue(w.valueAfterLongest)}`
      + (w.longestLinearization.length > 0 ? `; it ends with:` : '.'),
    ...w.longestLinearization.map((op) => `  ${describeOperation(op)}`),
  ];
  if (w.concurrentOps.length > 0) {
    lines.push('Ops overlapping the failing op:', ...w.concurrentOps.map((op) => `  ${describeOperation(op)}`));
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The register model, with values interned to small integers (0 = absent).

const kindRead = 0;
const kindWrite = 1;
const kindCas = 2;
const kindDelete = 3;
type Kind = typeof kindRead | typeof kindWrite | typeof kindCas | typeof kindDelete;

interface Model {
  readonly ops: readonly Operation[];
  readonly kind: Uint8Array;
  /** Read: value read. Write: value written. Cas: expected value. */
  readonly a: Int32Array;
  /** Cas: new value. */
  readonly b: Int32Array;
  readonly definite: Uint8Array;
  readonly values: readonly (KvValue | null)[];
  readonly initial: number;
  /** Call node of op j is 2j, its return node 2j+1; sorted by time, calls before returns on ties. */
  readonly events: Int32Array;
  /** For an open-ended op: the previous open-ended op (in call order) with the same effect, or -1. */
  readonly sameEffectBefore: Int32Array;
}

function isCallNode(node: number): boolean {
  return (node & 1) === 0;
}

function internKey(value: KvValue): string {
  return typeof value === 'string' ? `s${value}` : `n${value}`;
}

/**
 * Drops ops that cannot matter and bounds indefinite ops whose effect was observed:
 * - fail ops and indefinite reads: no effect, nothing observed.
 * - an indefinite write/cas whose new value nobody observes: see the header.
 * - an indefinite write/cas whose value is written by no other op (and is not the initial value)
 *   and is observed by a definite op certainly happened before that observer returned: it gets that
 *   return time, so the search need not carry it along as an open choice for the rest of the history.
 */
function simplify(keyOps: readonly Operation[], initial: KvValue | null): Operation[] {
  const observed = new Set<string>();
  const earliestDefiniteObserver = new Map<string, number>();
  const writers = new Map<string, number>();
  for (const op of keyOps) {
    if (op.outcome === 'fail') continue;
    const seen = op.f === 'read' && op.outcome === 'ok' ? op.value : op.f === 'cas' ? op.value[0] : null;
    if (seen !== null) {
      const k = internKey(seen);
      observed.add(k);
      if (op.outcome === 'ok') earliestDefiniteObserver.set(k, Math.min(earliestDefiniteObserver.get(k) ?? Infinity, op.completeTime));
    }
    const wrote = op.f === 'write' ? op.value : op.f === 'cas' ? op.value[1] : null;
    if (wrote !== null) writers.set(internKey(wrote), (writers.get(internKey(wrote)) ?? 0) + 1);
  }
  const initialKey = initial === null ? undefined : internKey(initial);
  const result: Operation[] = [];
  for (const op of keyOps) {
    if (op.outcome === 'fail') continue;
    if (op.outcome === 'ok' || op.f === 'delete') {
      result.push(op);
      continue;
    }
    if (op.f === 'read') continue;
    const k = internKey(op.f === 'write' ? op.value : op.value[1]);
    if (!observed.has(k)) continue;
    const by = earliestDefiniteObserver.get(k);
    const unique = writers.get(k) === 1 && k !== initialKey;
    result.push(unique && by !== undefined && by >= op.invokeTime ? { ...op, completeTime: by } : op);
  }
  return result;
}

function prepare(keyOps: readonly Operation[], initial: KvValue | null): Model {
  const ops = simplify(keyOps, initial);
  const ids = new Map<string, number>();
  const values: (KvValue | null)[] = [null];
  const intern = (value: KvValue | null): number => {
    if (value === null) return 0;
    const k = internKey(value);
    let id = ids.get(k);
    if (id === undefined) {
      id = values.length;
      values.push(value);
      ids.set(k, id);
    }
    return id;
  };
  const n = ops.length;
  const kind = new Uint8Array(n);
  const a = new Int32Array(n);
  const b = new Int32Array(n);
  const definite = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const op = ops[j]!;
    definite[j] = Number.isFinite(op.completeTime) ? 1 : 0;
    switch (op.f) {
      case 'read': kind[j] = kindRead; a[j] = intern(op.value); break;
      case 'write': kind[j] = kindWrite; a[j] = intern(op.value); break;
      case 'cas': kind[j] = kindCas; a[j] = intern(op.value[0]); b[j] = intern(op.value[1]); break;
      case 'delete': kind[j] = kindDelete; break;
      default: {
        const never: never = op;
        throw new Error(`unreachable ${formatValue(never)}`);
      }
    }
  }
  const events = sortEvents(ops, definite);
  return { ops, kind, a, b, definite, values, initial: intern(initial), events, sameEffectBefore: chainSameEffects(events, kind, a, b, definite) };
}

function sortEvents(ops: readonly Operation[], definite: Uint8Array): Int32Array {
  const nodes: number[] = [];
  for (let j = 0; j < ops.length; j++) {
    nodes.push(2 * j);
    if (definite[j] === 1) nodes.push(2 * j + 1);
  }
  const time = (node: number): number => {
    const op = ops[node >> 1]!;
    return isCallNode(node) ? op.invokeTime : op.completeTime;
  };
  nodes.sort((x, y) => time(x) - time(y) || (x & 1) - (y & 1) || x - y);
  return Int32Array.from(nodes);
}

/**
 * Open-ended ops (no return event) with the same effect are interchangeable: swapping two of them
 * in a linearization keeps it valid, so the search only linearizes them in call order.
 */
function chainSameEffects(events: Int32Array, kind: Uint8Array, a: Int32Array, b: Int32Array, definite: Uint8Array): Int32Array {
  const before = new Int32Array(kind.length).fill(-1);
  const lastOfEffect = new Map<string, number>();
  for (const node of events) {
    const j = node >> 1;
    if (!isCallNode(node) || definite[j] === 1) continue;
    const effect = `${kind[j]}/${a[j]}/${b[j]}`;
    before[j] = lastOfEffect.get(effect) ?? -1;
    lastOfEffect.set(effect, j);
  }
  return before;
}

/** Returns the new value, or -1 when the op is not legal in `state`. */
function step(model: Model, j: number, state: number): number {
  const kind = model.kind[j]! as Kind;
  switch (kind) {
    case kindRead: return model.a[j] === state ? state : -1;
    case kindWrite: return model.a[j]!;
    case kindCas: return model.a[j] === state ? model.b[j]! : -1;
    case kindDelete: return 0;
    default: {
      const never: never = kind;
      throw new Error(`unreachable kind ${String(never)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The search.

interface SearchLimits {
  readonly maxStates: number;
  readonly deadline: { readonly now: () => number; readonly atMs: number } | undefined;
}

interface SearchFail { kind: 'fail'; states: number; longest: number[]; longestState: number }
type SearchOutcome = { kind: 'ok'; states: number } | SearchFail | { kind: 'unknown'; states: number; reason: string };

/** Zobrist-style per-op hash so the hash of the linearized set updates in O(1). */
function opHash(j: number): number {
  let z = (j + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The set of linearized ops. Ops are numbered in invoke order and the search linearizes roughly in
 * that order, so the set is "all ops below a low-water mark" plus a few words: the cache stores
 * only the words between the first not-full word and the last non-empty one.
 */
class LinearizedSet {
  readonly words: Uint32Array;
  /** Every word below `lo` is all ones. */
  lo = 0;
  /** Every word from `hi` on is zero. */
  hi = 0;

  constructor(size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }

  has(j: number): boolean {
    return (this.words[j >>> 5]! & (1 << (j & 31))) !== 0;
  }

  add(j: number): void {
    const w = j >>> 5;
    this.words[w]! |= 1 << (j & 31);
    if (w + 1 > this.hi) this.hi = w + 1;
    while (this.lo < this.hi && this.words[this.lo] === 0xffffffff) this.lo++;
  }

  remove(j: number): void {
    const w = j >>> 5;
    this.words[w]! &= ~(1 << (j & 31));
    if (w < this.lo) this.lo = w;
    while (this.hi > this.lo && this.words[this.hi - 1] === 0) this.hi--;
  }
}

class StateCache {
  private readonly table = new Map<number, { lo: number; middle: Uint32Array; state: number }[]>();

  /** Adds (set, state) unless present; returns whether it was added. */
  add(hash: number, set: LinearizedSet, state: number): boolean {
    const key = (hash ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0;
    let bucket = this.table.get(key);
    if (bucket === undefined) this.table.set(key, (bucket = []));
    const { lo, hi, words } = set;
    for (const entry of bucket) {
      if (entry.state === state && entry.lo === lo && entry.middle.length === hi - lo && sameWords(entry.middle, words, lo)) return false;
    }
    bucket.push({ lo, middle: words.slice(lo, hi), state });
    return true;
  }
}

function sameWords(middle: Uint32Array, words: Uint32Array, lo: number): boolean {
  for (let i = 0; i < middle.length; i++) if (middle[i] !== words[lo + i]) return false;
  return true;
}

/**
 * An open-ended op that changes nothing here can be left out instead (it need not happen at all),
 * and same-effect open-ended ops go in call order (see chainSameEffects). Both only prune orders
 * that have an equivalent one the search still explores.
 */
function skipOpenEnded(model: Model, j: number, state: number, after: number, linearized: LinearizedSet): boolean {
  if (after === state) return true;
  const previous = model.sameEffectBefore[j]!;
  return previous !== -1 && !linearized.has(previous);
}

function search(model: Model, limits: SearchLimits, trackLongest = false): SearchOutcome {
  const n = model.ops.length;
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = head;
  for (const node of model.events) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  const unlink = (node: number): void => {
    next[prev[node]!] = next[node]!;
    if (next[node] !== -1) prev[next[node]!] = prev[node]!;
  };
  const relink = (node: number): void => {
    next[prev[node]!] = node;
    if (next[node] !== -1) prev[next[node]!] = node;
  };
  const hashes = new Uint32Array(n);
  for (let j = 0; j < n; j++) hashes[j] = opHash(j);
  const linearized = new LinearizedSet(n);
  const cache = new StateCache();
  const stackOps = new Int32Array(n);
  const stackStates = new Int32Array(n);
  let depth = 0;
  let state = model.initial;
  let hash = 0;
  let states = 0;
  let steps = 0;
  let longest: number[] = [];
  let longestState = model.initial;
  let node = next[head]!;
  while (true) {
    if (++steps % deadlineCheckEverySteps === 0 && limits.deadline !== undefined && limits.deadline.now() >= limits.deadline.atMs) {
      return { kind: 'unknown', states, reason: `deadline passed after ${states} explored states` };
    }
    // Only indefinite calls are left past this point (every definite call is followed by its return).
    if (node === -1) return { kind: 'ok', states };
    if (isCallNode(node)) {
      const j = node >> 1;
      const after = step(model, j, state);
      if (after === -1 || (model.definite[j] === 0 && skipOpenEnded(model, j, state, after, linearized))) {
        node = next[node]!;
        continue;
      }
      linearized.add(j);
      if (cache.add(hash ^ hashes[j]!, linearized, after)) {
        if (++states > limits.maxStates) return { kind: 'unknown', states, reason: `state budget of ${limits.maxStates} exhausted` };
        stackOps[depth] = j;
        stackStates[depth] = state;
        depth++;
        state = after;
        hash ^= hashes[j]!;
        unlink(node);
        if (model.definite[j] === 1) unlink(node + 1);
        node = next[head]!;
        continue;
      }
      linearized.remove(j);
      // A legal read among the candidates can always go first (it changes nothing and its call
      // precedes every pending return), so if that was explored and failed, so does this state.
      if (model.kind[j] !== kindRead) {
        node = next[node]!;
        continue;
      }
    }
    // A return reached before its op was linearized: undo the last choice.
    if (trackLongest && depth > longest.length) {
      longest = Array.from(stackOps.subarray(0, depth));
      longestState = state;
    }
    // Undo down to the last op that was a real choice: trying alternatives to a legal read is
    // pointless for the reason above.
    let j: number;
    do {
      if (depth === 0) return { kind: 'fail', states, longest, longestState };
      depth--;
      j = stackOps[depth]!;
      state = stackStates[depth]!;
      hash ^= hashes[j]!;
      linearized.remove(j);
      if (model.definite[j] === 1) relink(2 * j + 1);
      relink(2 * j);
    } while (model.kind[j] === kindRead);
    node = next[2 * j]!;
  }
}
