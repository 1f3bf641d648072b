/**
 * core/v1 Events for what controllers and schedulers do, as client-go's EventRecorder writes them: a repeat of
 * the same (object, type, reason, message) within the cache's memory bumps `count` and
 * `lastTimestamp` of the existing Event instead of creating another. Best effort, like upstream:
 * a failed write is reported and dropped, never retried into a storm; writes go through the
 * same fence as every other call of the component (`mayWrite`).
 */
import { formatRfc3339, type KubeObject } from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import type { KubeClient } from './client.js';

/** An Event to record about an object (what a controller or the scheduler reports). */
export interface EventRecord {
  readonly involvedObject: { readonly apiVersion: string; readonly kind: string; readonly namespace?: string; readonly name: string; readonly uid?: string };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** Distinct events remembered for aggregation (client-go's maxLruCacheEntries). */
const maxAggregatedEvents = 4096;
/** Events waiting to be written; more are dropped (and counted). */
const maxPendingEvents = 1000;

const eventRef = { apiVersion: 'v1', kind: 'Event' } as const;

export interface EventRecorderOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly component: string;
  readonly instance: string;
  readonly mayWrite: () => boolean;
  readonly onError: (error: unknown) => void;
}

interface Seen { readonly namespace: string; readonly name: string; count: number }

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly pending: Array<{ readonly event: EventRecord; readonly objectName: string | undefined }> = [];
  private writing = false;
  private serial = 0;
  dropped = 0;

  constructor(private readonly o: EventRecorderOptions) {}

  record(event: EventRecord, objectName: string | undefined): void {
    if (this.pending.length >= maxPendingEvents) {
      this.dropped++;
      return;
    }
    this.pending.push({ event, objectName });
    if (!this.writing) void this.drain();
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        if (!this.o.mayWrite()) continue;
        try {
          await this.write(resolveName(next.event, next.objectName));
        } catch (error) {
          this.o.onError(error);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private async write(event: EventRecord): Promise<void> {
    const key = JSON.stringify([event.involvedObject, event.type, event.reason, event.message]);
    const now = formatRfc3339(this.o.clock.wallNow());
    const seen = this.seen.get(key);
    if (seen !== undefined) {
      seen.count++;
      this.touch(key, seen);
      await this.o.client.patch(eventRef, seen.namespace, seen.name, { count: seen.count, lastTimestamp: now }, { type: 'merge' });
      return;
    }
    const namespace = event.involvedObject.namespace ?? 'default';
    // client-go names an Event after its object and the time in nanoseconds (hex); a serial keeps names unique within one ms.
    // BigInt: nanoseconds since 1970 exceed 2^53, and a float would round the serial away.
    const nanos = BigInt(Math.round(this.o.clock.wallNow())) * 1_000_000n + BigInt(this.serial++ % 1_000_000);
    const name = `${event.involvedObject.name}.${nanos.toString(16)}`;
    const body: KubeObject = {
      apiVersion: 'v1', kind: 'Event', metadata: { name, namespace },
      involvedObject: event.involvedObject, type: event.type, reason: event.reason, message: event.message,
      source: { component: this.o.component }, reportingComponent: this.o.component, reportingInstance: this.o.instance,
      firstTimestamp: now, lastTimestamp: now, count: 1,
    };
    await this.o.client.create(eventRef, body, { namespace });
    this.touch(key, { namespace, name, count: 1 });
  }

  private touch(key: string, seen: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, seen);
    if (this.seen.size > maxAggregatedEvents) this.seen.delete(this.seen.keys().next().value!);
  }
}

function resolveName(event: EventRecord, objectName: string | undefined): EventRecord {
  if (objectName === undefined || !event.message.includes('{name}')) return event;
  return { ...event, message: event.message.replaceAll('{name}', objectName) };
}
