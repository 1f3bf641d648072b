import type { MessagePort } from 'node:worker_threads';
import { fromEvent, map, type Subscription } from 'rxjs';
import { hostOf, type Address } from '../primitives/address.js';
import type { Clock } from '../primitives/clock.js';
import { EnvelopeKind, type Envelope, type Message } from '../primitives/envelope.js';
import { decodeBatch, encodeBatch } from './codec.js';
import type { NetworkModel } from './network.js';

/** Something that accepts envelopes addressed to actors on this thread. */
export interface LocalTarget {
  deliver(envelope: Envelope): void;
}

export interface RouterOptions {
  readonly threadIndex: number;
  readonly model: NetworkModel;
  readonly clock: Clock;
  /** Pack every message sent in one turn to the same thread into one post (default true). */
  readonly batching?: boolean;
  /** Flush a batch once it holds this many messages. */
  readonly maxBatch?: number;
  readonly onRejected?: (reason: string) => void;
}

/** Bound on messages held back by delay faults on one thread (beyond it they are dropped, counted). */
const MAX_DELAYED_MESSAGES = 200_000;
const DEFAULT_MAX_BATCH = 512;

/**
 * One thread's door to the network. It applies the relay's rules (the shared `NetworkModel`) to
 * every outgoing message, batches messages per destination thread, and talks to every other
 * thread over a direct MessagePort, so the data path never hops through the main thread.
 */
export class Router {
  private readonly peers = new Map<number, MessagePort>();
  private readonly peerSubscriptions = new Map<number, Subscription>();
  private routes = new Map<Address, number>();
  private readonly locals = new Map<Address, LocalTarget>();
  private readonly queues = new Map<number, Envelope[]>();
  private readonly batching: boolean;
  private readonly maxBatch: number;
  private delayed = 0;
  readonly counters = { postsOut: 0, batchesIn: 0, rejected: 0, noRoute: 0, delayOverflow: 0 };

  constructor(private readonly options: RouterOptions) {
    this.batching = options.batching ?? true;
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  }

  get threadIndex(): number {
    return this.options.threadIndex;
  }

  setRoutes(routes: Iterable<[Address, number]>): void {
    this.routes = new Map(routes);
  }

  attachLocal(addr: Address, target: LocalTarget): void {
    this.locals.set(addr, target);
  }

  detachLocal(addr: Address): void {
    this.locals.delete(addr);
  }

  addPeer(thread: number, port: MessagePort): void {
    this.removePeer(thread);
    this.peers.set(thread, port);
    const subscription = fromEvent(port as unknown as EventTarget, 'message')
      .pipe(map((event) => (event as MessageEvent).data as Uint8Array))
      .subscribe((bytes) => this.receive(bytes));
    port.start();
    this.peerSubscriptions.set(thread, subscription);
  }

  removePeer(thread: number): void {
    this.peerSubscriptions.get(thread)?.unsubscribe();
    this.peerSubscriptions.delete(thread);
    const port = this.peers.get(thread);
    if (port) port.close();
    this.peers.delete(thread);
    this.queues.delete(thread);
  }

  close(): void {
    for (const thread of [...this.peers.keys()]) this.removePeer(thread);
  }

  /**
   * The relay: decide each message's fate, then queue it for its thread (now or after a delay).
   * `reset`: a dead host's connection reset (`PeerDownNotice`), routed as if its host were up.
   */
  post(envelope: Envelope, reset = false): void {
    const model = this.options.model;
    const route = reset ? model.routeReset.bind(model) : model.route.bind(model);
    const routing = route(hostOf(envelope.from), hostOf(envelope.to), envelope.body.type);
    if (model.tracing) {
      model.record({
        atMs: this.options.clock.wallNow(),
        from: envelope.from,
        to: envelope.to,
        type: envelope.body.type,
        event: routing.deliver ? 'send' : 'lost',
        detail: routing.deliver ? routing.delaysMs.map((ms) => ms.toFixed(3)).join(',') : routing.reason,
      });
    }
    if (!routing.deliver) return; // lost on the wire: the sender learns only by its timeout
    for (const delayMs of routing.delaysMs) {
      if (delayMs <= 0) {
        this.enqueue(envelope);
      } else if (this.delayed >= MAX_DELAYED_MESSAGES) {
        this.counters.delayOverflow++;
      } else {
        this.delayed++;
        this.options.clock.setTimer(delayMs, () => {
          this.delayed--;
          this.enqueue(envelope);
        });
      }
    }
  }

  private enqueue(envelope: Envelope): void {
    const thread = this.routes.get(envelope.to);
    if (thread === undefined) {
      this.counters.noRoute++;
      this.refuseNoActor(envelope);
      return;
    }
    if (!this.batching) {
      this.send(thread, [envelope]);
      return;
    }
    let queue = this.queues.get(thread);
    if (!queue) {
      queue = [];
      this.queues.set(thread, queue);
    }
    queue.push(envelope);
    if (queue.length === 1) queueMicrotask(() => this.flush(thread));
    else if (queue.length >= this.maxBatch) this.flush(thread);
  }

  /** Send every queued batch now. */
  flushAll(): void {
    for (const thread of [...this.queues.keys()]) this.flush(thread);
  }

  flush(thread: number): void {
    const queue = this.queues.get(thread);
    if (!queue || queue.length === 0) return;
    this.queues.set(thread, []);
    this.send(thread, queue);
  }

  private send(thread: number, envelopes: Envelope[]): void {
    const bytes = encodeBatch(envelopes);
    if (thread === this.options.threadIndex) {
      // Same thread: still through the codec (copy semantics, same validation), never re-entrant.
      queueMicrotask(() => this.receive(bytes));
      return;
    }
    const port = this.peers.get(thread);
    if (!port) return; // the peer thread is dead or being replaced: the message vanishes
    this.counters.postsOut++;
    port.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  }

  private receive(bytes: Uint8Array): void {
    this.counters.batchesIn++;
    const { envelopes, rejected } = decodeBatch(bytes);
    for (const reason of rejected) {
      this.counters.rejected++;
      this.options.onRejected?.(reason);
    }
    for (const envelope of envelopes) {
      const target = this.locals.get(envelope.to);
      if (target) target.deliver(envelope);
      // A known actor that is not running here (killed, restarting) is a dead machine: silence.
      else if (!this.routes.has(envelope.to)) this.refuseNoActor(envelope);
    }
  }

  private refuseNoActor(envelope: Envelope): void {
    if (envelope.kind !== EnvelopeKind.Ask) return;
    const body: Message & { target: Address } = { type: '$no-actor', target: envelope.to };
    this.post({ kind: EnvelopeKind.Reply, from: envelope.to, to: envelope.from, id: envelope.id, body });
  }
}
