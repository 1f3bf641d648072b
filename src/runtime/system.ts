import type { Observable } from 'rxjs';
import type { Address } from '../primitives/address.js';
import type { Clock, ClockSkew } from '../primitives/clock.js';
import type { DiskFault } from './storage.js';
import type { ActorInfo, AnyActorDefinition, HostSpec } from './actor.js';
import type { Message, OutgoingMessage } from '../primitives/envelope.js';
import type { InboxMessage } from './client-actor.js';
import type { RestartIntensity } from './supervision.js';
import type { FaultId, FaultSpec, NetworkConfig, NetworkStats, TraceEvent } from '../transport/network.js';

export type Placement = 'threads' | 'packed' | 'simulated';

/** Lifecycle news from the supervisor, for reports and tests. */
export type SystemEvent =
  | { readonly event: 'started'; readonly address: Address; readonly incarnation: number; readonly atMs: number }
  | { readonly event: 'crashed'; readonly address: Address; readonly error: string; readonly atMs: number }
  | { readonly event: 'stopped'; readonly address: Address; readonly reason: string; readonly atMs: number }
  | { readonly event: 'restarting'; readonly address: Address; readonly restarts: number; readonly atMs: number }
  | { readonly event: 'gave-up'; readonly address: Address; readonly restarts: number; readonly atMs: number }
  | { readonly event: 'killed'; readonly address: Address; readonly atMs: number }
  | { readonly event: 'rejected'; readonly address: Address; readonly reason: string; readonly atMs: number };

export interface KillOptions {
  /**
   * Lose what the host appended to storage but had not synced (a power cut before fsync): the
   * default, as a kill is a power cut. `false` models a process crash whose writes the OS keeps.
   */
  readonly loseUnsynced?: boolean;
  /**
   * Reset the host's connections (default true): every actor on another host hears of the death at
   * once (`PeerDownNotice`), as from the kernel of a killed process. `false`: the machine vanished
   * without a word (power loss, kernel panic); the others find out by their timeouts.
   */
  readonly resetConnections?: boolean;
}

export interface SystemOptions {
  readonly hosts: readonly HostSpec[];
  readonly seed?: number;
  readonly intensity?: RestartIntensity;
  /** Trace events kept per relay (0: no trace). */
  readonly traceLimit?: number;
  /** Definitions by kind (simulated placement; threads load theirs from `ThreadedOptions.registry`). */
  readonly definitions?: Readonly<Record<string, AnyActorDefinition>>;
}

/**
 * The cluster supervisor's face, the same under every placement: send to actors, inspect and
 * steer them, inject network faults, kill and restart hosts.
 */
export interface ActorSystem {
  readonly placement: Placement;
  /** The address the caller's own messages come from (host `client`). */
  readonly clientAddress: Address;
  /** The clock the caller's side runs on (virtual under simulation). */
  readonly clock: Clock;
  readonly events$: Observable<SystemEvent>;
  /** Messages sent to `clientAddress` that are not replies (watch events, notifications). */
  readonly inbox$: Observable<InboxMessage>;
  tell<M extends Message>(to: Address, message: M): void;
  ask<R extends Message = Message>(to: Address, message: OutgoingMessage, options?: { timeoutMs?: number }): Promise<R>;
  list(): Promise<ActorInfo[]>;
  inspect(address: Address): Promise<Record<string, unknown>>;
  pause(address: Address): Promise<void>;
  resume(address: Address): Promise<void>;
  /** Skew one actor's clock (rate and wall offset; NO_SKEW sets it right); it stays skewed across the actor's restarts. */
  skewClock(address: Address, skew: ClockSkew): Promise<void>;
  /** A disk fault on one actor's storage (undefined heals it). */
  setDiskFault(address: Address, fault: DiskFault | undefined): Promise<void>;
  killHost(host: string, options?: KillOptions): Promise<void>;
  restartHost(host: string): Promise<void>;
  killActor(address: Address): Promise<void>;
  restartActor(address: Address): Promise<void>;
  /** Give a (stopped or killed) actor a new config for its next start. */
  reconfigureActor(address: Address, config: unknown): Promise<void>;
  /** Replace a killed actor's disk with an empty one (a member replaced by a wiped machine). */
  wipeActorStorage(address: Address): Promise<void>;
  readonly network: NetworkControl;
  stop(): Promise<void>;
}

export interface NetworkControl {
  inject(spec: FaultSpec): Promise<FaultId>;
  heal(id: FaultId): Promise<void>;
  healAll(): Promise<void>;
  config(): NetworkConfig;
  stats(): Promise<NetworkStats>;
  trace(): Promise<TraceEvent[]>;
}

export const CLIENT_HOST = 'client';
