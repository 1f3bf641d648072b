/**
 * `LocalKv`: the KvClient contract over one in-process StoreStateMachine + WatchHub, without Raft.
 * For unit tests of the layers above (apiserver registry, watch cache) and for prototyping. Every
 * call applies one command at the next log index, synchronously, and then polls the watch hub, so
 * watchers see a revision as soon as the write that made it resolves.
 *
 * Leases expire on the injected Clock (checked every `leaseCheckIntervalMs`). `setAvailable(false)`
 * makes every call fail with a definite `unavailable` error (to test readiness and error paths).
 */
import { Observable, type Subscriber } from 'rxjs';
import type { Clock, TimerId } from '../primitives/clock.js';
import {
  type ApplyResult, type Command, type CommandResponse, type DeleteRangeRequest, type DeleteRangeResponse,
  type LeaseGrantResponse, type PutRequest, type PutResponse, type RangeRequest, type RangeResponse, type TxnRequest,
  type TxnResponse, type WatchOptions, type WatchResponse, StoreStateMachine, WatchHub, defaultWatchOptions,
} from '../store/index.js';
import type { KvClient, KvResult, WatchSpec, WatchUpdate } from './kv.js';

export const leaseCheckIntervalMs = 500;
const defaultMinLeaseTtlSeconds = 1;

export interface LocalKvOptions {
  readonly clock: Clock;
  readonly watch?: WatchOptions;
  readonly minLeaseTtlSeconds?: number;
}

type ResponseOf<T extends CommandResponse['type']> = Extract<CommandResponse, { type: T }>['response'];

export class LocalKv implements KvClient {
  readonly machine: StoreStateMachine;
  private readonly hub: WatchHub;
  private readonly subscribers = new Map<number, Subscriber<WatchUpdate>>();
  private index = 0;
  private available = true;
  private leaseTimer: TimerId | undefined;
  private closed = false;

  constructor(private readonly options: LocalKvOptions) {
    this.machine = new StoreStateMachine({
      now: () => options.clock.now(), minLeaseTtlSeconds: options.minLeaseTtlSeconds ?? defaultMinLeaseTtlSeconds,
    });
    this.machine.lessor.promote(options.clock.now(), 0);
    this.hub = new WatchHub(this.machine.mvcc, options.watch ?? defaultWatchOptions);
    this.scheduleLeaseCheck();
  }

  /** Simulates losing the store: calls fail with `unavailable` until set back. */
  setAvailable(available: boolean): void {
    this.available = available;
  }

  /** Stops the lease timer and ends every watch. */
  close(): void {
    this.closed = true;
    if (this.leaseTimer !== undefined) this.options.clock.clearTimer(this.leaseTimer);
    for (const [id, sub] of this.subscribers) {
      this.hub.cancel(id);
      sub.next({ kind: 'canceled', reason: 'store closed' });
      sub.complete();
    }
    this.subscribers.clear();
  }

  get watcherCount(): number {
    return this.subscribers.size;
  }

  range(request: RangeRequest): Promise<KvResult<RangeResponse>> {
    return this.run({ type: 'range', request }, 'range');
  }

  put(request: PutRequest): Promise<KvResult<PutResponse>> {
    return this.run({ type: 'put', request }, 'put');
  }

  deleteRange(request: DeleteRangeRequest): Promise<KvResult<DeleteRangeResponse>> {
    return this.run({ type: 'deleteRange', request }, 'deleteRange');
  }

  txn(request: TxnRequest): Promise<KvResult<TxnResponse>> {
    return this.run({ type: 'txn', request }, 'txn');
  }

  async compact(revision: number): Promise<KvResult<{ readonly revision: number }>> {
    const r = await this.run({ type: 'compact', revision }, 'compact');
    return r.ok ? { ok: true, value: { revision: r.value.header.revision } } : r;
  }

  leaseGrant(ttlSeconds: number): Promise<KvResult<LeaseGrantResponse>> {
    return this.run({ type: 'leaseGrant', id: 0, ttlSeconds }, 'leaseGrant');
  }

  async leaseRevoke(id: number): Promise<KvResult<{ readonly revision: number }>> {
    const r = await this.run({ type: 'leaseRevoke', id }, 'leaseRevoke');
    return r.ok ? { ok: true, value: { revision: r.value.header.revision } } : r;
  }

  async leaseKeepAlive(id: number): Promise<KvResult<{ readonly ttlSeconds: number }>> {
    const down = this.unavailable<{ readonly ttlSeconds: number }>();
    if (down) return down;
    const r = this.machine.lessor.keepAlive(id, this.options.clock.now());
    return r.ok ? { ok: true, value: { ttlSeconds: r.value.ttlSeconds } } : { ok: false, error: { code: 'store', definite: true, error: r.error } };
  }

  async currentRevision(): Promise<KvResult<number>> {
    return this.unavailable<number>() ?? { ok: true, value: this.machine.mvcc.currentRevision };
  }

  watch(spec: WatchSpec): Observable<WatchUpdate> {
    return new Observable<WatchUpdate>((subscriber) => {
      if (this.closed || !this.available) {
        subscriber.next({ kind: 'canceled', reason: 'store unavailable' });
        subscriber.complete();
        return undefined;
      }
      const created = this.hub.watch({ ...spec, ...(spec.startRevision ? { startRevision: spec.startRevision } : {}) });
      if (!created.ok) {
        subscriber.next({ kind: 'canceled', reason: created.error.code });
        subscriber.complete();
        return undefined;
      }
      const first = created.value[0]!;
      this.subscribers.set(first.watchId, subscriber);
      for (const resp of created.value.slice(1)) this.deliver(resp);
      // History owed from startRevision goes out at once, not at the next write.
      queueMicrotask(() => this.poll());
      return () => {
        if (this.subscribers.delete(first.watchId)) this.hub.cancel(first.watchId);
      };
    });
  }

  private unavailable<T>(): KvResult<T> | undefined {
    if (this.closed) return { ok: false, error: { code: 'unavailable', definite: true, message: 'store closed' } };
    if (!this.available) return { ok: false, error: { code: 'unavailable', definite: true, message: 'store unavailable' } };
    return undefined;
  }

  private async run<T extends CommandResponse['type']>(command: Command, type: T): Promise<KvResult<ResponseOf<T>>> {
    const down = this.unavailable<ResponseOf<T>>();
    if (down) return down;
    const result: ApplyResult = this.machine.apply(command, ++this.index);
    if (command.type !== 'range') this.poll();
    if (!result.ok) return { ok: false, error: { code: 'store', definite: true, error: result.error } };
    if (result.value.type !== type) throw new Error(`LocalKv: ${type} answered with ${result.value.type}`);
    return { ok: true, value: result.value.response as ResponseOf<T> };
  }

  private poll(): void {
    for (const resp of this.hub.poll()) this.deliver(resp);
  }

  private deliver(resp: WatchResponse): void {
    const sub = this.subscribers.get(resp.watchId);
    if (!sub) return;
    if (resp.canceled) {
      this.subscribers.delete(resp.watchId);
      sub.next({ kind: 'canceled', reason: resp.cancelReason ?? 'canceled', ...(resp.compactRevision !== undefined ? { compactRevision: resp.compactRevision } : {}) });
      sub.complete();
      return;
    }
    if (resp.events.length === 0) {
      sub.next({ kind: 'progress', revision: resp.header.revision });
      return;
    }
    // In-process delivery is synchronous: the subscriber has consumed the events when next returns.
    sub.next({ kind: 'events', revision: resp.header.revision, events: resp.events });
    this.hub.ack(resp.watchId, resp.events.length);
  }

  private scheduleLeaseCheck(): void {
    this.leaseTimer = this.options.clock.setTimer(leaseCheckIntervalMs, () => {
      if (this.closed) return;
      for (const id of this.machine.lessor.expired(this.options.clock.now())) void this.leaseRevoke(id);
      this.scheduleLeaseCheck();
    });
  }
}
