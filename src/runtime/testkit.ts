import { address as makeAddress, type Address } from '../primitives/address.js';
import { defineActor, type ActorSpec, type AnyActorDefinition, type HostSpec } from './actor.js';
import type { Effect, Message, OutgoingMessage } from '../primitives/envelope.js';
import { SimulatedSystem } from './simulated.js';
import { DEFAULT_TRACE_LIMIT } from '../transport/network.js';
import type { MemoryStorage } from './storage.js';

export interface ProbeRecord {
  readonly atMs: number;
  readonly from: Address;
  readonly message: Message;
}

const PROBE_HOST = 'probe';

/** An actor that accepts anything and records it: the test's ears inside the simulation. */
function probeDefinition(inbox: ProbeRecord[]): AnyActorDefinition {
  return defineActor<Message, undefined>({
    kind: 'probe',
    validate: (raw) => raw as Message,
    create: (context) => ({
      receive: (message, incoming) => {
        inbox.push({ atMs: context.clock.now(), from: incoming.from, message });
      },
    }),
  }) as AnyActorDefinition;
}

export interface TestKitOptions<Config> {
  readonly config?: Config;
  readonly seed?: number;
  /** Address of the actor under test; default `test/subject`. */
  readonly host?: string;
  readonly name?: string;
  /** Other actors to run beside it (peers it talks to). */
  readonly peers?: readonly HostSpec[];
  readonly definitions?: Readonly<Record<string, AnyActorDefinition>>;
  readonly restart?: ActorSpec['restart'];
}

/**
 * Unit tests for one actor (or a few): runs it in simulated placement, lets the test send and
 * ask as `probe/probe`, advance virtual time, and assert on everything the actor sent, replied,
 * timed and persisted (as `Effect` data) and on what reached the probe.
 */
export class ActorTestKit {
  readonly probeAddress: Address = makeAddress(PROBE_HOST, 'probe');

  private constructor(
    readonly system: SimulatedSystem,
    readonly subject: Address,
    /** Everything that reached the probe, in arrival order. */
    readonly probeInbox: ProbeRecord[],
  ) {}

  static async start<Config>(definition: AnyActorDefinition, options: TestKitOptions<Config> = {}): Promise<ActorTestKit> {
    const host = options.host ?? 'test';
    const name = options.name ?? 'subject';
    const inbox: ProbeRecord[] = [];
    const probe = probeDefinition(inbox);
    const system = await SimulatedSystem.start({
      seed: options.seed ?? 1,
      recordEffects: true,
      traceLimit: DEFAULT_TRACE_LIMIT,
      definitions: { ...options.definitions, [definition.kind]: definition, probe },
      hosts: [
        { name: host, actors: [{ name, kind: definition.kind, config: options.config, restart: options.restart ?? 'permanent' }] },
        { name: PROBE_HOST, actors: [{ name: 'probe', kind: 'probe' }] },
        ...(options.peers ?? []),
      ],
    });
    return new ActorTestKit(system, makeAddress(host, name), inbox);
  }

  /** Tell the subject `message` from the probe, and let it be handled. */
  async send<M extends Message>(message: M, options: { from?: Address } = {}): Promise<void> {
    const probe = this.system.cellOf(options.from ?? this.probeAddress);
    if (!probe) throw new Error(`test kit: no sender ${options.from}`);
    probe.context.send(this.subject, message);
    await this.system.advance(1);
  }

  /** Ask the subject and drive virtual time until it answers (or the ask times out). */
  ask<R extends Message = Message>(message: OutgoingMessage, timeoutMs = 5_000): Promise<R> {
    const probe = this.system.cellOf(this.probeAddress)!;
    return this.system.drive(probe.context.ask<R>(this.subject, message, { timeoutMs }), timeoutMs + 1);
  }

  advance(ms: number): Promise<void> {
    return this.system.advance(ms);
  }

  /** Every effect of the subject so far (or of another actor). */
  effects(of: Address = this.subject): Effect[] {
    return this.system.effects.filter((entry) => entry.address === of).map((entry) => entry.effect);
  }

  sent(of: Address = this.subject): { to: Address; message: Message }[] {
    return this.effects(of).flatMap((effect) => (effect.effect === 'send' || effect.effect === 'ask' ? [{ to: effect.to, message: effect.message }] : []));
  }

  replies(of: Address = this.subject): Message[] {
    return this.effects(of).flatMap((effect) => (effect.effect === 'reply' ? [effect.message] : []));
  }

  persisted(of: Address = this.subject): Extract<Effect, { effect: 'persist' }>[] {
    return this.effects(of).filter((effect): effect is Extract<Effect, { effect: 'persist' }> => effect.effect === 'persist');
  }

  /** The subject's simulated disk. */
  storage(of: Address = this.subject): MemoryStorage {
    return this.system.storageOf(of);
  }

  stop(): Promise<void> {
    return this.system.stop();
  }
}
