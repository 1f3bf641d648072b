import { defineActor } from './actor.js';
import type { Message } from './protocol.js';
import { protocolError } from './validate.js';

/**
 * The caller's own mailbox (`client/main`): it only receives replies to the caller's asks, which
 * the cell settles before any validation, so every other message is refused.
 */
export const clientActor = defineActor<Message, undefined>({
  kind: 'client',
  validate: (raw) => protocolError(`the client mailbox accepts replies only, got ${JSON.stringify((raw as Message | undefined)?.type)}`),
  create: () => ({ receive: () => undefined }),
});
