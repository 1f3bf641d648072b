import type { Address } from '../primitives/address.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { Storage } from './storage.js';
import type { Message, OutgoingMessage } from '../primitives/envelope.js';
import type { ProtocolError } from './validate.js';

/**
 * What an actor's code sees of the world. Everything that touches time, randomness, the disk or
 * other actors goes through here, so that the same actor runs on a thread, packed with others,
 * or under simulation, and so that the test kit can record each effect as data.
 */
export interface ActorContext {
  readonly self: Address;
  readonly host: string;
  /** How many times this actor has been restarted (0 on first start). */
  readonly incarnation: number;
  readonly clock: Clock;
  /**
   * The wall clock of the machine the cluster runs on, which clock-skew faults leave alone: for
   * evidence that compares instances (their active intervals), never for behaviour.
   */
  observerWallNow(): number;
  readonly random: Prng;
  /** This actor's durable directory (survives restarts of the actor and of its host). */
  readonly storage: Storage;
  readonly log: Logger;
  /** One-way message; may be lost, delayed or duplicated by the network like any other. */
  send<M extends Message>(to: Address, message: M): void;
  /**
   * Request/response. Resolves with the reply; rejects with `AskTimeoutError` when no reply came
   * within `timeoutMs` (outcome unknown) or `AskRefusedError` when the runtime refused it.
   */
  ask<R extends Message = Message>(to: Address, message: OutgoingMessage, options?: AskOptions): Promise<R>;
  /** Deliver `message` to self after `delayMs`; a timer with the same key is replaced. */
  setTimer<M extends Message>(key: string, delayMs: number, message: M): void;
  cancelTimer(key: string): void;
  /**
   * Hand the messages sent so far to the network now, instead of at the end of this turn (where
   * they are batched): before a long blocking step, such as an fsync, that should not delay them.
   */
  flush(): void;
  /**
   * Run `fn` once every message being handled right now has been handled (same instant, before
   * anything else arrives): the natural point for a group commit of work those messages created.
   */
  defer(fn: () => void): void;
  /** Stop this actor normally (a transient actor is then not restarted). */
  stop(reason?: string): void;
}

export interface AskOptions {
  /** Deadline for the reply; default DEFAULT_ASK_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

export const DEFAULT_ASK_TIMEOUT_MS = 5_000;

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The sender of a delivered message, and the way to answer it when it was an ask. */
export interface Incoming {
  readonly from: Address;
  /** Present for asks. Call at most once, now or later. */
  readonly reply?: <M extends Message>(message: M) => void;
}

/** A running actor: the state lives in the object, messages come in one at a time. */
export interface ActorBehaviour<In extends Message = Message> {
  /**
   * Handle one message. Throwing (or rejecting the returned promise) crashes the actor: its
   * supervisor restarts it from durable state according to its restart policy. A returned
   * promise does not hold the mailbox: an actor that awaits must not assume it runs alone.
   */
  receive(message: In, incoming: Incoming): void | Promise<void>;
  /**
   * `host` was killed and its connections were reset (see `PeerDownNotice`): a failure detector
   * that never lies about a kill but says nothing about partitions. Called like `receive`, one
   * message at a time; throwing crashes the actor.
   */
  onPeerDown?(host: string): void;
  /** A small JSON-able summary for `inspect` (the control plane). */
  inspect?(): Record<string, unknown>;
  /** Graceful stop (never called when the actor or its host is killed). */
  stop?(): void;
}

/**
 * An actor kind: how to validate its protocol at the boundary and how to start one.
 * `Config` must be structured-cloneable (it is sent to worker threads).
 */
export interface ActorDefinition<In extends Message = Message, Config = unknown> {
  readonly kind: string;
  validate(raw: unknown): In | ProtocolError;
  create(context: ActorContext, config: Config): ActorBehaviour<In> | Promise<ActorBehaviour<In>>;
}

/** Erases the type parameters for registries holding many kinds. */
export type AnyActorDefinition = ActorDefinition<Message, never>;

export function defineActor<In extends Message, Config>(definition: ActorDefinition<In, Config>): ActorDefinition<In, Config> {
  return definition;
}

export type RestartPolicy = 'permanent' | 'transient' | 'temporary';

export interface ActorSpec {
  /** The actor part of the address (`etcd` in `master-1/etcd`). */
  readonly name: string;
  /** Registry key of the definition (actors/kinds.ts), unless `module` is given. */
  readonly kind: string;
  /** A file URL of a compiled ES module exporting `definition` (user-defined actors on threads). */
  readonly module?: string;
  readonly config?: unknown;
  /** permanent: always restarted; transient: restarted after a crash only; temporary: never. */
  readonly restart?: RestartPolicy;
  readonly mailboxLimit?: number;
}

export interface HostSpec {
  readonly name: string;
  readonly actors: readonly ActorSpec[];
}

export type ActorStatus = 'starting' | 'running' | 'paused' | 'crashed' | 'stopped' | 'killed' | 'failed';

export interface ActorInfo {
  readonly address: Address;
  readonly kind: string;
  readonly host: string;
  readonly status: ActorStatus;
  readonly restarts: number;
  /** Which life of the actor this is (0 first, +1 per restart or host restart). */
  readonly incarnation: number;
  readonly mailboxSize: number;
  readonly thread: number;
  readonly lastError?: string;
}
