/**
 * Operation histories, Jepsen style: one JSON object per line,
 * `{process, type: "invoke"|"ok"|"fail"|"info", f: "read"|"write"|"cas"|"delete", key, value, time}`
 * plus the optional `revision` (the store revision the reply carried) and `error` (why it failed).
 *
 * An operation is an `invoke` line followed later by exactly one completion line from the same
 * process: `ok` (it happened), `fail` (it certainly did not happen) or `info` (unknown: it may have
 * happened, possibly later, or never). An invoke without a completion at the end of the history is
 * treated as `info`. A process has at most one outstanding operation; after an `info` completion the
 * process may invoke again (the checkers treat the indefinite operation as concurrent with
 * everything after its invocation, so reuse does not weaken them).
 *
 * Values per `f`:
 *  - read:   invoke/fail/info carry `null`; `ok` carries the value read (`null` when the key is absent).
 *  - write:  the value written (never null), the same on the invoke and the completion.
 *  - cas:    `[expected, new]`, the same on invoke and completion; `expected: null` means "key absent".
 *            A compare that did not match is recorded as `fail` (the write certainly did not happen).
 *  - delete: `null`.
 * Unknown extra fields on a line are ignored (forward compatibility).
 */

export type ProcessId = number | string;
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type OpF = 'read' | 'write' | 'cas' | 'delete';
/** A stored value. `null` never is one: it means "absent". */
export type KvValue = string | number;
export type CasValue = readonly [expected: KvValue | null, next: KvValue];

interface OpBase {
  readonly process: ProcessId;
  readonly type: OpType;
  readonly key: string;
  /** Milliseconds, any origin shared by the whole history. */
  readonly time: number;
  readonly revision?: number;
  readonly error?: string;
}

export interface ReadOp extends OpBase { readonly f: 'read'; readonly value: KvValue | null }
export interface WriteOp extends OpBase { readonly f: 'write'; readonly value: KvValue }
export interface CasOp extends OpBase { readonly f: 'cas'; readonly value: CasValue }
export interface DeleteOp extends OpBase { readonly f: 'delete'; readonly value: null }
export type HistoryOp = ReadOp | WriteOp | CasOp | DeleteOp;

export type ValueFor<F extends OpF> = F extends 'write' ? KvValue : F extends 'cas' ? CasValue : null;

export const maxHistoryLines = 10_000_000;
export const maxKeyLengthChars = 4096;

const opTypes: readonly string[] = ['invoke', 'ok', 'fail', 'info'];
const opFs: readonly string[] = ['read', 'write', 'cas', 'delete'];

// ---------------------------------------------------------------------------------------------
// Completed operations: an invoke paired with its completion.

export type Outcome = 'ok' | 'fail' | 'info';

interface OperationBase {
  /** Position of the invoke line among all invokes (0-based): a stable identity. */
  readonly index: number;
  readonly process: ProcessId;
  readonly key: string;
  readonly outcome: Outcome;
  readonly invokeTime: number;
  /** `Infinity` when the outcome is `info` (it may take effect at any time after invocation). */
  readonly completeTime: number;
  readonly revision?: number;
  readonly error?: string;
}

/** For a read, `value` is what an `ok` read returned; `null` for fail/info (nothing was observed). */
export interface ReadOperation extends OperationBase { readonly f: 'read'; readonly value: KvValue | null }
export interface WriteOperation extends OperationBase { readonly f: 'write'; readonly value: KvValue }
export interface CasOperation extends OperationBase { readonly f: 'cas'; readonly value: CasValue }
export interface DeleteOperation extends OperationBase { readonly f: 'delete'; readonly value: null }
export type Operation = ReadOperation | WriteOperation | CasOperation | DeleteOperation;

export function isKvValue(value: unknown): value is KvValue {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

export function sameValue(a: KvValue | null, b: KvValue | null): boolean {
  return a === b;
}

export function formatValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function describeOperation(op: Operation): string {
  const end = op.outcome === 'info' ? 'info (indefinite)' : `${op.outcome} at ${op.completeTime} ms`;
  const rev = op.revision === undefined ? '' : ` rev ${op.revision}`;
  return `process ${formatValue(op.process)} ${op.f} ${formatValue(op.key)} ${formatValue(op.value)} `
    + `(invoked at ${op.invokeTime} ms, ${end}${rev})`;
}

// ---------------------------------------------------------------------------------------------
// Validation of single lines and of pairing.

type LineCheck = { ok: true; op: HistoryOp } | { ok: false; message: string };

function checkValueFor(f: OpF, type: OpType, value: unknown): string | undefined {
  switch (f) {
    case 'read':
      if (type === 'ok') return value === null || isKvValue(value) ? undefined : 'read ok value must be a string, a finite number or null';
      return value === null ? undefined : `read ${type} value must be null`;
    case 'write':
      return isKvValue(value) ? undefined : 'write value must be a string or a finite number';
    case 'cas': {
      if (!Array.isArray(value) || value.length !== 2) return 'cas value must be [expected, new]';
      const [expected, next] = value as unknown[];
      if (!(expected === null || isKvValue(expected))) return 'cas expected must be a string, a finite number or null';
      return isKvValue(next) ? undefined : 'cas new value must be a string or a finite number';
    }
    case 'delete':
      return value === null ? undefined : 'delete value must be null';
    default: {
      const never: never = f;
      throw new Error(`unreachable f ${String(never)}`);
    }
  }
}

function checkLine(raw: unknown): LineCheck {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, message: 'not a JSON object' };
  const o = raw as Record<string, unknown>;
  const { process, type, f, key, value, time, revision, error } = o;
  if (!(typeof process === 'string' || (typeof process === 'number' && Number.isFinite(process)))) {
    return { ok: false, message: 'process must be a number or a string' };
  }
  if (typeof type !== 'string' || !opTypes.includes(type)) return { ok: false, message: `type must be one of ${opTypes.join('|')}, got ${formatValue(type)}` };
  if (typeof f !== 'string' || !opFs.includes(f)) return { ok: false, message: `f must be one of ${opFs.join('|')}, got ${formatValue(f)}` };
  if (typeof key !== 'string') return { ok: false, message: 'key must be a string' };
  if (key.length > maxKeyLengthChars) return { ok: false, message: `key longer than ${maxKeyLengthChars} characters` };
  if (!('value' in o)) return { ok: false, message: 'value is missing (use null)' };
  if (typeof time !== 'number' || !Number.isFinite(time)) return { ok: false, message: 'time must be a finite number (ms)' };
  if (revision !== undefined && !(typeof revision === 'number' && Number.isSafeInteger(revision) && revision >= 0)) {
    return { ok: false, message: 'revision must be a non-negative integer' };
  }
  if (error !== undefined && typeof error !== 'string') return { ok: false, message: 'error must be a string' };
  const valueProblem = checkValueFor(f as OpF, type as OpType, value);
  if (valueProblem !== undefined) return { ok: false, message: valueProblem };
  const op = { process, type, f, key, value, time } as Record<string, unknown>;
  if (Array.isArray(value)) op.value = [value[0], value[1]];
  if (revision !== undefined) op.revision = revision;
  if (error !== undefined) op.error = error;
  return { ok: true, op: op as unknown as HistoryOp };
}

function sameInvokedValue(a: HistoryOp, b: HistoryOp): boolean {
  if (a.f === 'cas' && b.f === 'cas') return a.value[0] === b.value[0] && a.value[1] === b.value[1];
  if (a.f === 'read' && b.f === 'read') return true;
  return a.value === b.value;
}

export type HistoryProblem = { readonly position: number; readonly message: string };

/**
 * Checks pairing: one outstanding op per process, completions match their invoke (f, key, value)
 * and do not complete before they were invoked. `position` is the 0-based index into `ops`.
 */
export class PairingValidator {
  private readonly outstanding = new Map<ProcessId, { op: HistoryOp; position: number }>();

  /** `where` names a position in messages (a file line, an array index). */
  constructor(private readonly where: (position: number) => string) {}

  accept(op: HistoryOp, position: number): string | undefined {
    const open = this.outstanding.get(op.process);
    if (op.type === 'invoke') {
      if (open !== undefined) {
        return `process ${formatValue(op.process)} invoked a new op while its op from ${this.where(open.position)} is outstanding`;
      }
      this.outstanding.set(op.process, { op, position });
      return undefined;
    }
    if (open === undefined) return `process ${formatValue(op.process)} completed (${op.type}) an op it never invoked`;
    const inv = open.op;
    if (inv.f !== op.f || inv.key !== op.key) {
      return `completion ${op.f} ${formatValue(op.key)} does not match the invoke at ${this.where(open.position)} (${inv.f} ${formatValue(inv.key)})`;
    }
    if (!sameInvokedValue(inv, op)) {
      return `completion value ${formatValue(op.value)} differs from the invoke at ${this.where(open.position)} (${formatValue(inv.value)})`;
    }
    if (op.time < inv.time) return `completion time ${op.time} is before its invoke time ${inv.time} (${this.where(open.position)})`;
    this.outstanding.delete(op.process);
    return undefined;
  }
}

export function validateHistory(ops: readonly HistoryOp[]): HistoryProblem | undefined {
  const pairing = new PairingValidator((position) => `op #${position}`);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const check = checkLine(op);
    if (!check.ok) return { position: i, message: check.message };
    const problem = pairing.accept(op, i);
    if (problem !== undefined) return { position: i, message: problem };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// JSON lines.

export type ParseResult =
  | { readonly ok: true; readonly ops: HistoryOp[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

/** Parses and validates a JSONL history. Blank lines are skipped; `line` in errors is 1-based. */
export function parseHistory(jsonl: string): ParseResult {
  const lines = jsonl.split('\n');
  if (lines.length > maxHistoryLines) return { ok: false, line: maxHistoryLines + 1, message: `line ${maxHistoryLines + 1}: history longer than ${maxHistoryLines} lines` };
  const ops: HistoryOp[] = [];
  const lineOf: number[] = [];
  const pairing = new PairingValidator((position) => `line ${lineOf[position] ?? '?'}`);
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    const lineNo = i + 1;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return fail(lineNo, `invalid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const check = checkLine(raw);
    if (!check.ok) return fail(lineNo, check.message);
    lineOf.push(lineNo);
    const problem = pairing.accept(check.op, ops.length);
    if (problem !== undefined) return fail(lineNo, problem);
    ops.push(check.op);
  }
  return { ok: true, ops };
}

function fail(line: number, message: string): ParseResult {
  return { ok: false, line, message: `line ${line}: ${message}` };
}

export function parseHistoryOrThrow(jsonl: string): HistoryOp[] {
  const result = parseHistory(jsonl);
  if (!result.ok) throw new Error(`invalid history: ${result.message}`);
  return result.ops;
}

/** Field order is fixed (process, type, f, key, value, time, revision, error) so files diff well. */
export function toJsonl(ops: readonly HistoryOp[]): string {
  let out = '';
  for (const op of ops) {
    const line: Record<string, unknown> = { process: op.process, type: op.type, f: op.f, key: op.key, value: op.value, time: op.time };
    if (op.revision !== undefined) line.revision = op.revision;
    if (op.error !== undefined) line.error = op.error;
    out += JSON.stringify(line) + '\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pairing into operations.

/**
 * Pairs invokes with completions (in invoke order). Invokes never completed become `info`.
 * Throws on an invalid history: validate untrusted input with `parseHistory` first.
 */
export function pairOperations(history: readonly HistoryOp[]): Operation[] {
  const problem = validateHistory(history);
  if (problem !== undefined) throw new Error(`invalid history at op #${problem.position}: ${problem.message}`);
  const result: Operation[] = [];
  const open = new Map<ProcessId, { invoke: HistoryOp; index: number }>();
  for (const op of history) {
    if (op.type === 'invoke') {
      open.set(op.process, { invoke: op, index: result.length });
      result.push(makeOperation(op, undefined, result.length));
      continue;
    }
    const pending = open.get(op.process)!;
    open.delete(op.process);
    result[pending.index] = makeOperation(pending.invoke, op, pending.index);
  }
  return result;
}

function makeOperation(invoke: HistoryOp, completion: HistoryOp | undefined, index: number): Operation {
  const outcome: Outcome = completion === undefined || completion.type === 'invoke' ? 'info' : completion.type;
  const base = {
    index,
    process: invoke.process,
    key: invoke.key,
    outcome,
    invokeTime: invoke.time,
    completeTime: outcome === 'info' ? Infinity : completion!.time,
  };
  const extra: { revision?: number; error?: string } = {};
  if (completion?.revision !== undefined) extra.revision = completion.revision;
  if (completion?.error !== undefined) extra.error = completion.error;
  switch (invoke.f) {
    case 'read':
      return { ...base, ...extra, f: 'read', value: outcome === 'ok' && completion!.f === 'read' ? completion!.value : null };
    case 'write':
      return { ...base, ...extra, f: 'write', value: invoke.value };
    case 'cas':
      return { ...base, ...extra, f: 'cas', value: invoke.value };
    case 'delete':
      return { ...base, ...extra, f: 'delete', value: null };
    default: {
      const never: never = invoke;
      throw new Error(`unreachable op ${formatValue(never)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Recording.

export interface OkResult {
  /** Required for a read (the value read, `null` when absent); must be omitted otherwise. */
  readonly value?: KvValue | null;
  readonly revision?: number;
}

export class OpHandle {
  private done = false;

  constructor(
    private readonly recorder: HistoryRecorder,
    readonly process: ProcessId,
    readonly f: OpF,
    readonly key: string,
    readonly value: KvValue | null | CasValue,
    readonly invokeTime: number,
  ) {}

  get completed(): boolean {
    return this.done;
  }

  ok(time: number, result: OkResult = {}): void {
    this.complete('ok', time, result.value, result.revision, undefined);
  }

  fail(time: number, error?: string): void {
    this.complete('fail', time, undefined, undefined, error);
  }

  info(time: number, error?: string): void {
    this.complete('info', time, undefined, undefined, error);
  }

  private complete(type: 'ok' | 'fail' | 'info', time: number, readValue: KvValue | null | undefined, revision: number | undefined, error: string | undefined): void {
    if (this.done) throw new Error(`op of process ${formatValue(this.process)} completed twice`);
    if (!(time >= this.invokeTime)) throw new Error(`completion time ${time} before invoke time ${this.invokeTime}`);
    let value: KvValue | null | CasValue = this.value;
    if (this.f === 'read') {
      if (type === 'ok') {
        if (readValue === undefined) throw new Error('a read ok must carry the value read (null when absent)');
        value = readValue;
      } else {
        value = null;
      }
    } else if (readValue !== undefined) {
      throw new Error(`a ${this.f} ok carries no value (it is the invoked one)`);
    }
    this.done = true;
    this.recorder.record(this, type, value, time, revision, error);
  }
}

/**
 * Builds a history in memory. Enforces one outstanding op per process. Times are supplied by the
 * caller (this is a pure core); completions may arrive in any order across processes.
 */
export class HistoryRecorder {
  private readonly log: HistoryOp[] = [];
  private readonly open = new Map<ProcessId, OpHandle>();

  constructor(readonly maxOps = maxHistoryLines) {}

  invoke<F extends OpF>(process: ProcessId, f: F, key: string, value: ValueFor<F>, time: number): OpHandle {
    if (this.open.has(process)) throw new Error(`process ${formatValue(process)} already has an outstanding op`);
    const handle = new OpHandle(this, process, f, key, value as KvValue | null | CasValue, time);
    this.push({ process, type: 'invoke', f, key, value, time });
    this.open.set(process, handle);
    return handle;
  }

  /** Called by `OpHandle`; not for direct use. */
  record(handle: OpHandle, type: 'ok' | 'fail' | 'info', value: KvValue | null | CasValue, time: number, revision: number | undefined, error: string | undefined): void {
    if (this.open.get(handle.process) !== handle) throw new Error(`process ${formatValue(handle.process)} has no such outstanding op`);
    this.open.delete(handle.process);
    const op: Record<string, unknown> = { process: handle.process, type, f: handle.f, key: handle.key, value, time };
    if (revision !== undefined) op.revision = revision;
    if (error !== undefined) op.error = error;
    this.push(op);
  }

  /** Processes with an op in flight. */
  outstanding(): ProcessId[] {
    return [...this.open.keys()];
  }

  get ops(): readonly HistoryOp[] {
    return this.log;
  }

  toJsonl(): string {
    return toJsonl(this.log);
  }

  private push(raw: object): void {
    if (this.log.length >= this.maxOps) throw new Error(`history is full (${this.maxOps} ops)`);
    const check = checkLine(raw);
    if (!check.ok) throw new Error(`invalid op: ${check.message}`);
    this.log.push(check.op);
  }
}
