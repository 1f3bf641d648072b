import type { Address } from '../../primitives/address.js';
import type { Prng } from '../../primitives/prng.js';
import type { EtcdClient } from '../../client/etcd-client.js';
import type { KvError, KvResult } from '../../client/kv.js';
import { HistoryRecorder, type KvValue, type OpHandle, type WatchItem } from '../check/index.js';

export const CHAOS_PREFIX = '/chaos/';

export interface WorkloadOptions {
  readonly processes: number;
  readonly keys: number;
  /** Pause between a process's operations. */
  readonly thinkMs: number;
  /** Per-operation deadline (etcd's robustness tests use 200 ms; a little more rides out an election). */
  readonly opTimeoutMs: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = { processes: 6, keys: 10, thinkMs: 10, opTimeoutMs: 1_000 };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function keyName(index: number): string {
  return `${CHAOS_PREFIX}k${index}`;
}

function valueOf(bytes: Uint8Array | undefined): KvValue | null {
  return bytes === undefined ? null : decoder.decode(bytes);
}

function outcome<T>(handle: OpHandle, now: number, result: KvResult<T>, onOk: (value: T) => void): void {
  if (result.ok) onOk(result.value);
  else complete(handle, now, result.error);
}

/** A definite error certainly did not happen (fail); anything else may have (info). */
function complete(handle: OpHandle, now: number, error: KvError): void {
  const text = error.code === 'store' ? `store: ${error.error.code}` : `${error.code}: ${error.message}`;
  if (error.definite) handle.fail(now, text);
  else handle.info(now, text);
}

/**
 * Clients reading, writing and compare-and-setting a few keys, recording every operation as a
 * history (invoke, then ok / fail / info) for the checkers. Written values are unique, which keeps
 * the linearizability search small.
 */
export class KvWorkload {
  readonly history = new HistoryRecorder();
  private running = true;
  private written = 0;
  readonly done: Promise<void>[] = [];

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly random: Prng,
    private readonly options: WorkloadOptions,
  ) {}

  /** Start `client` as process `process`; it runs until `stop()`. */
  start(process: number | string, client: EtcdClient): void {
    this.done.push(this.loop(process, client));
  }

  stop(): Promise<void[]> {
    this.running = false;
    return Promise.all(this.done);
  }

  get ackedWrites(): number {
    return this.history.ops.filter((op) => op.type === 'ok' && op.f !== 'read').length;
  }

  private async loop(process: number | string, client: EtcdClient): Promise<void> {
    while (this.running) {
      const key = keyName(this.random.int(this.options.keys));
      const roll = this.random.next();
      if (roll < 0.45) await this.read(process, client, key);
      else if (roll < 0.85) await this.write(process, client, key);
      else if (roll < 0.95) await this.cas(process, client, key);
      else await this.remove(process, client, key);
      await this.sleep(this.options.thinkMs);
    }
  }

  private nextValue(process: number | string): string {
    return `${process}:${++this.written}`;
  }

  async read(process: number | string, client: EtcdClient, key: string): Promise<void> {
    const handle = this.history.invoke(process, 'read', key, null, this.now());
    const result = await client.range({ key }, { timeoutMs: this.options.opTimeoutMs });
    outcome(handle, this.now(), result, (value) => handle.ok(this.now(), { value: valueOf(value.kvs[0]?.value), revision: value.header.revision }));
  }

  async write(process: number | string, client: EtcdClient, key: string, value = this.nextValue(process)): Promise<boolean> {
    const handle = this.history.invoke(process, 'write', key, value, this.now());
    const result = await client.put({ key, value: encoder.encode(value) }, { timeoutMs: this.options.opTimeoutMs });
    outcome(handle, this.now(), result, (response) => handle.ok(this.now(), { revision: response.header.revision }));
    return result.ok;
  }

  private async cas(process: number | string, client: EtcdClient, key: string): Promise<void> {
    const seen = await client.range({ key }, { timeoutMs: this.options.opTimeoutMs });
    if (!seen.ok) return;
    const expected = valueOf(seen.value.kvs[0]?.value);
    const next = this.nextValue(process);
    const handle = this.history.invoke(process, 'cas', key, [expected, next] as const, this.now());
    const compare = expected === null
      ? { key, target: 'createRevision' as const, result: '=' as const, operand: 0 }
      : { key, target: 'value' as const, result: '=' as const, operand: encoder.encode(String(expected)) };
    const result = await client.txn({ compare: [compare], success: [{ type: 'put', request: { key, value: encoder.encode(next) } }], failure: [] }, { timeoutMs: this.options.opTimeoutMs });
    outcome(handle, this.now(), result, (response) => {
      if (response.succeeded) handle.ok(this.now(), { revision: response.header.revision });
      else handle.fail(this.now(), 'compare failed');
    });
  }

  private async remove(process: number | string, client: EtcdClient, key: string): Promise<void> {
    const handle = this.history.invoke(process, 'delete', key, null, this.now());
    const result = await client.deleteRange({ key }, { timeoutMs: this.options.opTimeoutMs });
    outcome(handle, this.now(), result, (response) => handle.ok(this.now(), { revision: response.header.revision }));
  }
}

/** Records what one watcher delivered, for the watch-guarantees checker. */
export class WatchRecorder {
  readonly items: WatchItem[] = [];
  private responses = 0;
  canceled: string | undefined;

  constructor(readonly member: Address | 'any') {}

  onUpdate(update: import('../../client/kv.js').WatchUpdate): void {
    switch (update.kind) {
      case 'events': {
        const response = ++this.responses;
        for (const event of update.events) {
          this.items.push({ kind: 'event', revision: event.kv.modRevision, key: event.kv.key, type: event.type, value: event.type === 'put' ? valueOf(event.kv.value) : null, response });
        }
        return;
      }
      case 'progress':
        this.items.push({ kind: 'progress', revision: update.revision });
        return;
      case 'canceled':
        this.canceled = update.reason;
        return;
      default: {
        const unreachable: never = update;
        throw new Error(`unknown update ${JSON.stringify(unreachable)}`);
      }
    }
  }

  get lastRevision(): number {
    let last = 0;
    for (const item of this.items) last = Math.max(last, item.revision);
    return last;
  }
}
