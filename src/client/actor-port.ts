import { Observable } from 'rxjs';
import type { Address } from '../primitives/address.js';
import type { Clock } from '../primitives/clock.js';
import type { InboxMessage } from '../runtime/client-actor.js';
import type { ActorContext } from '../runtime/actor.js';
import type { Message, OutgoingMessage } from '../primitives/envelope.js';
import type { ActorSystem } from '../runtime/system.js';

/**
 * What a client library needs of its host to talk to actors: ask, send, a clock, and the stream
 * of messages addressed to it. An actor provides one from its context (feeding `incoming$` from
 * its own receive); the main thread gets one from the actor system.
 */
export interface ActorPort {
  readonly self: Address;
  readonly clock: Clock;
  ask<R extends Message = Message>(to: Address, message: OutgoingMessage, options: { timeoutMs: number }): Promise<R>;
  send<M extends Message>(to: Address, message: M): void;
  readonly incoming$: Observable<InboxMessage>;
}

export function systemPort(system: ActorSystem): ActorPort {
  return {
    self: system.clientAddress,
    clock: system.clock,
    ask: (to, message, options) => system.ask(to, message, options),
    send: (to, message) => system.tell(to, message),
    incoming$: system.inbox$,
  };
}

export function contextPort(context: ActorContext, incoming$: Observable<InboxMessage>): ActorPort {
  return {
    self: context.self,
    clock: context.clock,
    ask: (to, message, options) => context.ask(to, message, options),
    send: (to, message) => context.send(to, message),
    incoming$,
  };
}

