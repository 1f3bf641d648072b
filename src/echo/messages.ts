import type { Address } from '../primitives/address.js';
import { shapeValidator } from '../runtime/validate.js';

/**
 * The echo actor's protocol: a small actor for runtime tests, demos and the `bus` benchmark.
 */
export type EchoMessage =
  /** Ask: answered with `echoed`. Tell: an `echoed` goes back to the sender. */
  | { readonly type: 'echo'; readonly seq: number; readonly payload?: unknown; readonly sentAtMs?: number }
  /** Counted by the receiver (the sink side of a throughput run). */
  | { readonly type: 'echoed'; readonly seq: number; readonly payload?: unknown; readonly sentAtMs?: number }
  /** Pass around a ring: append self to `trail`, forward to `next` while `hops` remain. */
  | { readonly type: 'ring'; readonly hops: number; readonly trail: readonly string[] }
  /** A finished ring, sent to `reportTo`. */
  | { readonly type: 'ringDone'; readonly trail: readonly string[] }
  /** Ask: send `count` one-way `echoed` tells to `to`, `burst` per turn; answered at once. */
  | { readonly type: 'blast'; readonly to: Address; readonly count: number; readonly burst: number }
  | { readonly type: 'blastTick'; readonly to: Address; readonly remaining: number; readonly burst: number }
  /** Ask: make `count` sequential asks to `to` and answer with each round trip in microseconds. */
  | { readonly type: 'measureLatency'; readonly to: Address; readonly count: number }
  | { readonly type: 'latencies'; readonly roundTripsUs: readonly number[] }
  /** Ask: answered with `stats`. */
  | { readonly type: 'getStats' }
  | { readonly type: 'stats'; readonly echoes: number; readonly echoed: number; readonly rings: number; readonly incarnation: number }
  /** Throw inside the handler (supervision tests). */
  | { readonly type: 'crash'; readonly reason: string }
  /** Append `value` to durable storage and sync; answered with everything remembered. */
  | { readonly type: 'remember'; readonly value: string }
  | { readonly type: 'recall' }
  | { readonly type: 'recalled'; readonly values: readonly string[] };

export const validateEchoMessage = shapeValidator<EchoMessage>('echo', {
  echo: { seq: 'number', 'payload?': 'any', 'sentAtMs?': 'number' },
  echoed: { seq: 'number', 'payload?': 'any', 'sentAtMs?': 'number' },
  ring: { hops: 'number', trail: 'array' },
  ringDone: { trail: 'array' },
  blast: { to: 'string', count: 'number', burst: 'number' },
  blastTick: { to: 'string', remaining: 'number', burst: 'number' },
  measureLatency: { to: 'string', count: 'number' },
  latencies: { roundTripsUs: 'array' },
  getStats: {},
  stats: { echoes: 'number', echoed: 'number', rings: 'number', incarnation: 'number' },
  crash: { reason: 'string' },
  remember: { value: 'string' },
  recall: {},
  recalled: { values: 'array' },
});

export interface EchoConfig {
  /** Where `ring` messages go next. */
  readonly next?: Address;
  /** Where a finished ring is reported (`ringDone`). */
  readonly reportTo?: Address;
}
