import type { Subscription } from 'rxjs';
import { hostOf, isHostName, type Address } from '../primitives/address.js';
import type { Clock, TimerId } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { Storage } from './storage.js';
import {
  AskRefusedError,
  AskResetError,
  AskTimeoutError,
  EnvelopeKind,
  isRuntimeErrorReply,
  PEER_DOWN,
  type Effect,
  type Envelope,
  type Message,
  type OutgoingMessage,
  type RuntimeErrorReply,
} from '../primitives/envelope.js';
import {
  DEFAULT_ASK_TIMEOUT_MS,
  type ActorBehaviour,
  type ActorContext,
  type AnyActorDefinition,
  type ActorStatus,
  type AskOptions,
  type Incoming,
  type Logger,
} from './actor.js';
import { Mailbox, DEFAULT_MAILBOX_LIMIT } from './mailbox.js';
import { isProtocolError } from './validate.js';

/** Where a cell hands envelopes to: the network (one relay) of its thread or simulation. */
export interface Outbox {
  post(envelope: Envelope): void;
  /** Put everything queued on the wire now (batches otherwise leave at the end of the turn). */
  flush?(): void;
}

export interface CellServices {
  readonly clock: Clock;
  /** The unskewed wall clock (ActorContext.observerWallNow); default `clock`'s. */
  readonly observerWallNow?: () => number;
  readonly random: Prng;
  readonly storage: Storage;
  readonly outbox: Outbox;
  readonly log: Logger;
  /** Called once when the actor crashes or stops; the supervisor decides what follows. */
  readonly onExit: (address: Address, exit: CellExit) => void;
  /** Optional recorder of every effect (the test kit, traces). */
  readonly effects?: (effect: Effect) => void;
  /** Called when a message is refused at the boundary (malformed) or for lack of room. */
  readonly onRejected?: (address: Address, reason: string) => void;
}

export type CellExit = { readonly kind: 'crash'; readonly error: string } | { readonly kind: 'normal'; readonly reason: string };

/** Bound on outstanding asks per actor (a limit on everything). */
const MAX_PENDING_ASKS = 100_000;
/** Bound on named timers per actor. */
const MAX_TIMERS = 10_000;

interface PendingAsk {
  readonly target: Address;
  readonly messageType: string;
  readonly resolve: (message: Message) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerId;
}

/**
 * The runtime's side of one actor: its mailbox, its timers, its outstanding asks, and the
 * context its behaviour sees. Placement-independent: threads, packed and simulated placements
 * all host the same cells.
 */
export class ActorCell {
  private behaviour: ActorBehaviour | undefined;
  private readonly mailbox: Mailbox;
  private readonly subscription: Subscription;
  private readonly pending = new Map<number, PendingAsk>();
  private readonly timers = new Map<string, TimerId>();
  private nextAskId = 1;
  private state: ActorStatus = 'starting';
  private userPaused = false;
  lastError: string | undefined;
  readonly context: ActorContext;
  readonly counters = { received: 0, rejected: 0, refused: 0, lateReplies: 0, sent: 0 };

  constructor(
    readonly address: Address,
    readonly definition: AnyActorDefinition,
    private readonly config: unknown,
    readonly incarnation: number,
    private readonly services: CellServices,
    mailboxLimit: number = DEFAULT_MAILBOX_LIMIT,
  ) {
    this.mailbox = new Mailbox(mailboxLimit, true);
    this.subscription = this.mailbox.messages$.subscribe((envelope) => this.handle(envelope));
    this.context = this.makeContext();
  }

  get status(): ActorStatus {
    return this.state;
  }

  get mailboxSize(): number {
    return this.mailbox.size;
  }

  /** Create the behaviour; the mailbox opens once it exists. */
  async start(): Promise<void> {
    try {
      // Configs are checked by each definition's create(); the cell only carries them.
      const behaviour = await this.definition.create(this.context, this.config as never);
      if (this.state !== 'starting') return; // killed while starting
      this.behaviour = behaviour;
      this.state = this.userPaused ? 'paused' : 'running';
      if (!this.userPaused) this.mailbox.resume();
    } catch (error) {
      this.crash(error);
    }
  }

  /** An envelope addressed to this actor arrived from the network. */
  deliver(envelope: Envelope): void {
    if (this.isGone()) return; // a dead machine: messages vanish
    if (!this.mailbox.offer(envelope)) {
      this.counters.refused++;
      this.services.onRejected?.(this.address, 'mailbox full');
      if (envelope.kind === EnvelopeKind.Ask) {
        this.replyWith(envelope, { type: '$overloaded', target: this.address, mailboxLimit: this.mailbox.limit });
      }
    }
  }

  pause(): void {
    this.userPaused = true;
    this.mailbox.pause();
    if (this.state === 'running') this.state = 'paused';
  }

  resume(): void {
    this.userPaused = false;
    if (this.state === 'paused') this.state = 'running';
    if (this.behaviour && this.state === 'running') this.mailbox.resume();
  }

  /** Abrupt end: no stop hook, queued messages lost, asks abandoned (their timers cleared). */
  kill(): void {
    if (this.isGone()) return;
    this.state = 'killed';
    this.teardown();
  }

  inspect(): Record<string, unknown> {
    let summary: Record<string, unknown>;
    try {
      summary = this.behaviour?.inspect?.() ?? {};
    } catch (error) {
      summary = { inspectError: String(error) };
    }
    return {
      address: this.address,
      kind: this.definition.kind,
      status: this.state,
      incarnation: this.incarnation,
      mailboxSize: this.mailbox.size,
      pendingAsks: this.pending.size,
      timers: this.timers.size,
      counters: { ...this.counters },
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      summary,
    };
  }

  private isGone(): boolean {
    return this.state === 'killed' || this.state === 'crashed' || this.state === 'stopped' || this.state === 'failed';
  }

  private teardown(): void {
    this.mailbox.close();
    this.subscription.unsubscribe();
    for (const timer of this.timers.values()) this.services.clock.clearTimer(timer);
    this.timers.clear();
    for (const ask of this.pending.values()) this.services.clock.clearTimer(ask.timer);
    this.pending.clear();
  }

  private handle(envelope: Envelope): void {
    if (envelope.kind === EnvelopeKind.Reply) {
      this.settleAsk(envelope);
      return;
    }
    if (envelope.body.type === PEER_DOWN) {
      this.handlePeerDown(envelope);
      return;
    }
    const validated = this.definition.validate(envelope.body);
    if (isProtocolError(validated)) {
      this.counters.rejected++;
      this.services.log.warn('rejected malformed message', { from: envelope.from, reason: validated.protocolError });
      this.services.onRejected?.(this.address, validated.protocolError);
      if (envelope.kind === EnvelopeKind.Ask) {
        this.replyWith(envelope, { type: '$rejected', target: this.address, reason: validated.protocolError });
      }
      return;
    }
    this.counters.received++;
    const incoming: Incoming = envelope.kind === EnvelopeKind.Ask ? { from: envelope.from, reply: this.replier(envelope) } : { from: envelope.from };
    try {
      const result = this.behaviour!.receive(validated, incoming);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).catch((error: unknown) => this.crash(error));
      }
    } catch (error) {
      if (envelope.kind === EnvelopeKind.Ask) {
        this.replyWith(envelope, { type: '$crashed', target: this.address, reason: String(error) });
      }
      this.crash(error);
    }
  }

  private handlePeerDown(envelope: Envelope): void {
    const host = (envelope.body as { host?: unknown }).host;
    if (envelope.kind !== EnvelopeKind.Tell || !isHostName(host)) {
      this.counters.rejected++;
      this.services.onRejected?.(this.address, `malformed ${PEER_DOWN} notice`);
      return;
    }
    this.counters.received++;
    // Asks pending at the dead host end now, as calls on a reset connection do.
    for (const [id, ask] of this.pending) {
      if (hostOf(ask.target) !== host) continue;
      this.pending.delete(id);
      this.services.clock.clearTimer(ask.timer);
      ask.reject(new AskResetError(ask.target, ask.messageType, host));
    }
    try {
      this.behaviour!.onPeerDown?.(host);
    } catch (error) {
      this.crash(error);
    }
  }

  private replier(envelope: Envelope): <M extends Message>(message: M) => void {
    let replied = false;
    return <M extends Message>(message: M) => {
      if (replied) throw new Error(`${this.address}: replied twice to ask ${envelope.id} from ${envelope.from}`);
      replied = true;
      if (this.isGone()) return;
      this.record({ effect: 'reply', atMs: this.services.clock.now(), to: envelope.from, message });
      this.replyWith(envelope, message);
    };
  }

  private replyWith(envelope: Envelope, message: Message | RuntimeErrorReply): void {
    this.services.outbox.post({ kind: EnvelopeKind.Reply, from: this.address, to: envelope.from, id: envelope.id, body: message });
  }

  private settleAsk(envelope: Envelope): void {
    const ask = this.pending.get(envelope.id);
    if (!ask) {
      this.counters.lateReplies++; // after a timeout, or a duplicate from the network
      return;
    }
    this.pending.delete(envelope.id);
    this.services.clock.clearTimer(ask.timer);
    if (isRuntimeErrorReply(envelope.body)) ask.reject(new AskRefusedError(envelope.from, envelope.body as RuntimeErrorReply));
    else ask.resolve(envelope.body);
  }

  private crash(error: unknown): void {
    if (this.isGone()) return;
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.lastError = text;
    this.state = 'crashed';
    this.services.log.error('actor crashed', { error: text });
    this.teardown();
    this.services.onExit(this.address, { kind: 'crash', error: text });
  }

  private record(effect: Effect): void {
    this.services.effects?.(effect);
  }

  private makeContext(): ActorContext {
    // The context is handed to user code, which may destructure it: no `this` inside.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const cell = this;
    const services = this.services;
    return {
      self: this.address,
      host: hostOf(this.address),
      incarnation: this.incarnation,
      clock: services.clock,
      observerWallNow: () => (services.observerWallNow ?? (() => services.clock.wallNow()))(),
      random: services.random,
      storage: services.storage,
      log: services.log,
      send<M extends Message>(to: Address, message: M): void {
        if (cell.isGone()) return;
        cell.counters.sent++;
        if (services.effects) cell.record({ effect: 'send', atMs: services.clock.now(), to, message });
        services.outbox.post({ kind: EnvelopeKind.Tell, from: cell.address, to, id: 0, body: message });
      },
      ask<R extends Message>(to: Address, message: OutgoingMessage, options?: AskOptions): Promise<R> {
        return cell.ask(to, message, options) as Promise<R>;
      },
      setTimer<M extends Message>(key: string, delayMs: number, message: M): void {
        cell.setTimer(key, delayMs, message);
      },
      cancelTimer(key: string): void {
        const timer = cell.timers.get(key);
        if (timer === undefined) return;
        services.clock.clearTimer(timer);
        cell.timers.delete(key);
        cell.record({ effect: 'cancel-timer', atMs: services.clock.now(), key });
      },
      flush(): void {
        services.outbox.flush?.();
      },
      defer(fn: () => void): void {
        queueMicrotask(() => {
          if (cell.isGone()) return;
          try {
            fn();
          } catch (error) {
            cell.crash(error);
          }
        });
      },
      stop(reason = 'stopped'): void {
        if (cell.isGone()) return;
        cell.record({ effect: 'stop', atMs: services.clock.now(), reason });
        try {
          cell.behaviour?.stop?.();
        } finally {
          cell.state = 'stopped';
          cell.teardown();
          services.onExit(cell.address, { kind: 'normal', reason });
        }
      },
    };
  }

  private ask(to: Address, message: Message, options?: AskOptions): Promise<Message> {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new Error(`ask timeout must be > 0 ms, got ${timeoutMs}`);
    if (this.isGone()) return new Promise(() => undefined); // a dead actor's continuations never run
    if (this.pending.size >= MAX_PENDING_ASKS) {
      return Promise.reject(new AskRefusedError(to, { type: '$overloaded', target: this.address, mailboxLimit: MAX_PENDING_ASKS }));
    }
    const id = this.nextAskId++;
    const clock = this.services.clock;
    this.record({ effect: 'ask', atMs: clock.now(), to, message, timeoutMs });
    return new Promise<Message>((resolve, reject) => {
      const timer = clock.setTimer(timeoutMs, () => {
        if (!this.pending.delete(id)) return;
        reject(new AskTimeoutError(to, message.type, timeoutMs));
      });
      this.pending.set(id, { target: to, messageType: message.type, resolve, reject, timer });
      this.counters.sent++;
      this.services.outbox.post({ kind: EnvelopeKind.Ask, from: this.address, to, id, body: message });
    });
  }

  private setTimer(key: string, delayMs: number, message: Message): void {
    if (this.isGone()) return;
    const existing = this.timers.get(key);
    if (existing !== undefined) this.services.clock.clearTimer(existing);
    else if (this.timers.size >= MAX_TIMERS) throw new Error(`${this.address}: more than ${MAX_TIMERS} timers`);
    this.record({ effect: 'timer', atMs: this.services.clock.now(), key, delayMs, message });
    const timer = this.services.clock.setTimer(delayMs, () => {
      this.timers.delete(key);
      // Timers arrive through the mailbox, so a paused actor sees them only when resumed.
      this.deliver({ kind: EnvelopeKind.Tell, from: this.address, to: this.address, id: 0, body: message });
    });
    this.timers.set(key, timer);
  }
}
