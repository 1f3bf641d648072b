import { defineActor, type AnyActorDefinition } from './actor.js';
import type { Address } from './address.js';
import type { Message } from './protocol.js';

export interface InboxMessage {
  readonly from: Address;
  readonly message: Message;
}

/**
 * The caller's own mailbox (`client/main`): replies to the caller's asks are settled by the cell;
 * any other message (watch events, notifications) is handed to `onMessage`, the system's inbox.
 */
export function clientActor(onMessage: (received: InboxMessage) => void): AnyActorDefinition {
  return defineActor<Message, undefined>({
    kind: 'client',
    validate: (raw) => raw as Message,
    create: () => ({ receive: (message, incoming) => onMessage({ from: incoming.from, message }) }),
  }) as AnyActorDefinition;
}
