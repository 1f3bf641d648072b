import type { Address } from './address.js';

/** Every message is a plain object with a string `type`: the discriminant of its protocol's union. */
export interface Message {
  readonly type: string;
}

/**
 * A message literal as callers write it (`{ type: 'echo', seq: 1 }`): any fields beside `type`.
 * Used where the reply type is named explicitly and the message type cannot be inferred.
 */
export type OutgoingMessage = Message & { readonly [field: string]: unknown };

/** How an envelope travels: a one-way tell, an ask awaiting a reply, or the reply itself. */
export const EnvelopeKind = { Tell: 0, Ask: 1, Reply: 2 } as const;
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/**
 * The unit the network carries. `id` correlates an ask with its reply (0 for tells). It travels as
 * this very object, msgpack-encoded in batches (src/transport/codec.ts).
 */
export interface Envelope {
  readonly kind: EnvelopeKind;
  readonly from: Address;
  readonly to: Address;
  readonly id: number;
  readonly body: Message;
}

/**
 * What the runtime tells every actor on the other hosts when a host is killed: the dead host's
 * connections were reset, as a kernel resets a killed process's TCP connections at once. It
 * travels from `<host>/kernel` through the network like any packet, so a partitioned or cut link
 * never carries it: a host that is only unreachable is found out by timeouts alone. On arrival the
 * runtime ends the receiver's asks pending at that host (`AskResetError`) and calls
 * `ActorBehaviour.onPeerDown`; it never reaches `receive`.
 */
export interface PeerDownNotice {
  readonly type: '$peer-down';
  readonly host: string;
}

export const PEER_DOWN = '$peer-down';

/** The actor name a host's resets come from. */
const KERNEL_ACTOR = 'kernel';

export function peerDownNotice(deadHost: string): { readonly from: Address; readonly body: PeerDownNotice } {
  return { from: `${deadHost}/${KERNEL_ACTOR}`, body: { type: PEER_DOWN, host: deadHost } };
}

export function peerDownEnvelope(deadHost: string, to: Address): Envelope {
  return { kind: EnvelopeKind.Tell, to, id: 0, ...peerDownNotice(deadHost) };
}

/**
 * Replies the runtime itself sends instead of the target actor. Typed so that callers can tell a
 * definite refusal (`rejected`, `overloaded`: the message was not processed) from silence.
 */
export type RuntimeErrorReply =
  | { readonly type: '$overloaded'; readonly target: Address; readonly mailboxLimit: number }
  | { readonly type: '$rejected'; readonly target: Address; readonly reason: string }
  | { readonly type: '$no-actor'; readonly target: Address }
  | { readonly type: '$crashed'; readonly target: Address; readonly reason: string };

export function isRuntimeErrorReply(message: Message): message is RuntimeErrorReply {
  return message.type.startsWith('$');
}

/** An `ask` got no reply before its deadline: the outcome is unknown (the target may have acted). */
export class AskTimeoutError extends Error {
  readonly kind = 'ask-timeout';
  constructor(readonly target: Address, readonly messageType: string, readonly timeoutMs: number) {
    super(`ask ${messageType} to ${target} timed out after ${timeoutMs} ms`);
    this.name = 'AskTimeoutError';
  }
}

/**
 * An `ask` ended because the target's host was killed while it was pending (its connection was
 * reset, see `PeerDownNotice`): no reply will come and, as after a timeout, the outcome is unknown.
 */
export class AskResetError extends AskTimeoutError {
  constructor(target: Address, messageType: string, readonly host: string) {
    super(target, messageType, 0);
    this.message = `ask ${messageType} to ${target}: connection reset (host ${host} was killed); outcome unknown`;
    this.name = 'AskResetError';
  }
}

/** An `ask` was refused by the runtime: the target definitely did not process it. */
export class AskRefusedError extends Error {
  readonly kind = 'ask-refused';
  constructor(readonly target: Address, readonly reply: RuntimeErrorReply) {
    super(`ask to ${target} refused: ${describeRuntimeError(reply)}`);
    this.name = 'AskRefusedError';
  }
}

function describeRuntimeError(reply: RuntimeErrorReply): string {
  switch (reply.type) {
    case '$overloaded':
      return `mailbox full (limit ${reply.mailboxLimit})`;
    case '$rejected':
      return `malformed message: ${reply.reason}`;
    case '$no-actor':
      return 'no such actor';
    case '$crashed':
      return `actor crashed while handling it: ${reply.reason}`;
    default: {
      const unreachable: never = reply;
      return String(unreachable);
    }
  }
}

/**
 * What an actor did, as data: the test kit asserts on these, the trace records them.
 */
export type Effect =
  | { readonly effect: 'send'; readonly atMs: number; readonly to: Address; readonly message: Message }
  | { readonly effect: 'ask'; readonly atMs: number; readonly to: Address; readonly message: Message; readonly timeoutMs: number }
  | { readonly effect: 'reply'; readonly atMs: number; readonly to: Address; readonly message: Message }
  | { readonly effect: 'timer'; readonly atMs: number; readonly key: string; readonly delayMs: number; readonly message: Message }
  | { readonly effect: 'cancel-timer'; readonly atMs: number; readonly key: string }
  | { readonly effect: 'persist'; readonly atMs: number; readonly op: 'append' | 'sync' | 'write' | 'truncate' | 'remove'; readonly file: string; readonly bytes: number }
  | { readonly effect: 'stop'; readonly atMs: number; readonly reason: string };
