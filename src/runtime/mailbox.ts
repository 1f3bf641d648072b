import { Subject, type Observable } from 'rxjs';
import type { Envelope } from '../primitives/envelope.js';

/** Default bound on queued messages per actor (a limit on everything). */
export const DEFAULT_MAILBOX_LIMIT = 10_000;

/**
 * A bounded mailbox whose output is an RxJS stream. Messages flow out one at a time while the
 * mailbox is open; a paused mailbox holds them (Jepsen's pause nemesis, or an actor still
 * starting).
 *
 * Full-mailbox policy: refuse, do not block. `offer` returns false and the caller answers an ask
 * with a typed `$overloaded` reply (a tell is dropped and counted). Backpressure across threads
 * would let one slow actor stall every sender on its thread, which is worse than the explicit
 * refusal a 429 gives in Kubernetes.
 */
export class Mailbox {
  private readonly queue: Envelope[] = [];
  private head = 0;
  private paused: boolean;
  private draining = false;
  private readonly out = new Subject<Envelope>();
  readonly messages$: Observable<Envelope> = this.out.asObservable();
  refused = 0;

  constructor(readonly limit: number = DEFAULT_MAILBOX_LIMIT, startPaused = false) {
    if (!(limit >= 1)) throw new Error(`mailbox limit must be >= 1, got ${limit}`);
    this.paused = startPaused;
  }

  get size(): number {
    return this.queue.length - this.head;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  offer(envelope: Envelope): boolean {
    if (this.size >= this.limit) {
      this.refused++;
      return false;
    }
    this.queue.push(envelope);
    this.drain();
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.drain();
  }

  /** Discard everything queued (a kill: in-flight work is lost). */
  clear(): number {
    const dropped = this.size;
    this.queue.length = 0;
    this.head = 0;
    return dropped;
  }

  close(): void {
    this.clear();
    this.paused = true;
    this.out.complete();
  }

  private drain(): void {
    // Re-entrant offers (a handler delivering to its own mailbox) are queued, not recursed into.
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.paused && this.head < this.queue.length) {
        const envelope = this.queue[this.head]!;
        this.queue[this.head] = undefined as unknown as Envelope;
        this.head++;
        this.out.next(envelope);
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    } finally {
      this.draining = false;
    }
  }
}
