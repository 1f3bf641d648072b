import { defineActor, type AnyActorDefinition } from './actor.js';
import type { Address } from '../primitives/address.js';
import { peerDownNotice, type Message } from '../primitives/envelope.js';

export interface InboxMessage {
  readonly from: Address;
  readonly message: Message;
}

/**
 * The caller's own mailbox (`client/main`): replies to the caller's asks are settled by the cell;
 * any other message (watch events, notifications, `PeerDownNotice`s) is handed to `onMessage`,
 * the system's inbox.
 */
export function clientActor(onMessage: (received: InboxMessage) => void): AnyActorDefinition {
  return defineActor<Message, undefined>({
    kind: 'client',
    validate: (raw) => raw as Message,
    create: () => ({
      receive: (message, incoming) => onMessage({ from: incoming.from, message }),
      // Client libraries on this mailbox (EtcdClient) read resets from the inbox like any message.
      onPeerDown: (host) => onMessage(peerDownReceived(host)),
    }),
  }) as AnyActorDefinition;
}

/** A `PeerDownNotice` as an inbox entry, for client libraries that read resets from their inbox. */
export function peerDownReceived(host: string): InboxMessage {
  const { from, body } = peerDownNotice(host);
  return { from, message: body };
}
