import { createHash } from 'node:crypto';
import { Subject } from 'rxjs';
import { address as makeAddress, hostOf, type Address } from '../primitives/address.js';
import type { ActorInfo, ActorSpec, AnyActorDefinition, HostSpec } from './actor.js';
import { ActorCell, type CellExit, type Outbox } from './cell.js';
import { clientActor, type InboxMessage } from './client-actor.js';
import { SkewedClocks, VirtualClock, type ClockSkew } from '../primitives/clock.js';
import { LogBuffer, sinkLogger } from './logger.js';
import { SeededPrng, type Prng } from '../primitives/prng.js';
import { EnvelopeKind, peerDownEnvelope, type Effect, type Envelope, type Message, type OutgoingMessage } from '../primitives/envelope.js';
import { FaultyStorage, MemoryStorage, recordingStorage, type DiskFault, type Storage } from './storage.js';
import { DEFAULT_INTENSITY, RestartTracker } from './supervision.js';
import { CLIENT_HOST, type ActorSystem, type KillOptions, type NetworkControl, type SystemEvent, type SystemOptions } from './system.js';
import { decodeBatch, encodeBatch } from '../transport/codec.js';
import { FaultTable, NetworkModel, type FaultSpec } from '../transport/network.js';

export interface SimulatedOptions extends SystemOptions {
  readonly definitions: Readonly<Record<string, AnyActorDefinition>>;
  /** One-way latency of every link, before faults: a fixed value keeps each link FIFO. */
  readonly linkLatencyMs?: number;
  /** Round-trip every message through the wire codec, as threads do (default true). */
  readonly useCodec?: boolean;
  /** Record every actor's effects (the test kit reads them). */
  readonly recordEffects?: boolean;
}

/** Microtask turns granted to promise chains after each simulated event. */
const SETTLE_MICROTASK_TURNS = 32;

interface Slot {
  readonly address: Address;
  spec: ActorSpec;
  readonly definition: AnyActorDefinition;
  readonly tracker: RestartTracker;
  cell: ActorCell | undefined;
  incarnation: number;
  gaveUp: boolean;
  killed: boolean;
}

/**
 * Simulated placement: every actor on the calling thread, under a virtual clock, with one seeded
 * PRNG and one simulated network. Nothing happens between calls to `advance`/`runUntil`, and the
 * same seed replays the same run message for message.
 */
export class SimulatedSystem implements ActorSystem {
  readonly placement = 'simulated' as const;
  readonly clientAddress: Address = makeAddress(CLIENT_HOST, 'main');
  readonly clock = new VirtualClock();
  /** Each actor's own view of the clock (kept across its restarts: a skewed machine stays skewed). */
  private readonly clocks = new SkewedClocks<Address>(this.clock);
  private readonly diskFaults = new Map<Address, DiskFault>();
  readonly logs = new LogBuffer();
  readonly effects: { address: Address; effect: Effect }[] = [];
  private readonly events = new Subject<SystemEvent>();
  private readonly inbox = new Subject<InboxMessage>();
  readonly inbox$ = this.inbox.asObservable();
  readonly events$ = this.events.asObservable();
  readonly history: SystemEvent[] = [];
  private readonly random: Prng;
  private readonly model: NetworkModel;
  private readonly faults = new FaultTable();
  private readonly slots = new Map<Address, Slot>();
  private readonly storages = new Map<Address, MemoryStorage>();
  private readonly client: ActorCell;
  private readonly latencyMs: number;
  private readonly useCodec: boolean;
  private stopped = false;
  private readonly digest = createHash('sha256');
  private sent = 0;
  readonly network: NetworkControl;

  private constructor(private readonly options: SimulatedOptions) {
    this.random = new SeededPrng(options.seed ?? 1);
    this.model = new NetworkModel(this.random.fork('network'), options.traceLimit ?? 0);
    this.latencyMs = options.linkLatencyMs ?? 0.1;
    this.useCodec = options.useCodec ?? true;
    this.client = this.makeCell(this.clientAddress, clientActor((received) => this.inbox.next(received)), undefined, 0, undefined);
    this.network = this.makeNetworkControl();
  }

  static async start(options: SimulatedOptions): Promise<SimulatedSystem> {
    const system = new SimulatedSystem(options);
    await system.client.start();
    for (const host of options.hosts) system.addHost(host);
    for (const slot of system.slots.values()) system.spawn(slot);
    await system.settle();
    return system;
  }

  /** The simulated disk of an actor (kept across its restarts). */
  storageOf(addr: Address): MemoryStorage {
    let storage = this.storages.get(addr);
    if (!storage) {
      storage = new MemoryStorage();
      this.storages.set(addr, storage);
    }
    return storage;
  }

  cellOf(addr: Address): ActorCell | undefined {
    return this.slots.get(addr)?.cell;
  }

  /** Run every event due within the next `ms` of virtual time. */
  async advance(ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    for (;;) {
      const due = this.clock.nextDueMs();
      if (due === undefined || due > until || this.stopped) break;
      this.clock.runNext();
      await this.settle();
    }
    this.clock.advance(Math.max(0, until - this.clock.now()));
    await this.settle();
  }

  /** Run until `done()` holds (checked after every event) or `maxMs` of virtual time pass. */
  async runUntil(done: () => boolean, maxMs: number): Promise<boolean> {
    const until = this.clock.now() + maxMs;
    await this.settle();
    while (!done()) {
      const due = this.clock.nextDueMs();
      if (due === undefined || due > until || this.stopped) return done();
      this.clock.runNext();
      await this.settle();
    }
    return true;
  }

  /**
   * Awaits `promise` while driving virtual time: the simulated counterpart of waiting for an
   * answer on real threads.
   */
  async drive<T>(promise: Promise<T>, maxMs = 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    await this.runUntil(() => settled, maxMs);
    if (!settled) throw new Error(`simulation: promise still pending after ${maxMs} ms of virtual time`);
    return tracked;
  }

  tell<M extends Message>(to: Address, message: M): void {
    this.client.context.send(to, message);
  }

  ask<R extends Message = Message>(to: Address, message: OutgoingMessage, options?: { timeoutMs?: number }): Promise<R> {
    return this.client.context.ask<R>(to, message, options);
  }

  async list(): Promise<ActorInfo[]> {
    return [...this.slots.values()].map((slot) => this.info(slot));
  }

  async inspect(addr: Address): Promise<Record<string, unknown>> {
    const slot = this.slotOf(addr);
    return slot.cell?.inspect() ?? { address: addr, status: this.info(slot).status };
  }

  async pause(addr: Address): Promise<void> {
    this.slotOf(addr).cell?.pause();
  }

  async resume(addr: Address): Promise<void> {
    this.slotOf(addr).cell?.resume();
    await this.settle();
  }

  async setDiskFault(addr: Address, fault: DiskFault | undefined): Promise<void> {
    this.slotOf(addr);
    // A stalled fsync blocks its thread; under simulation every actor shares the one thread.
    if (fault?.kind === 'stall') throw new Error(`a stalled disk needs threads placement (under simulation a stall would stop every actor): ${addr}`);
    if (fault === undefined) this.diskFaults.delete(addr);
    else this.diskFaults.set(addr, fault);
  }

  async skewClock(addr: Address, skew: ClockSkew): Promise<void> {
    this.slotOf(addr);
    this.clocks.of(addr).set(skew);
  }


  async killHost(host: string, options: KillOptions = {}): Promise<void> {
    this.model.apply(this.faults.setHostDown(host, true));
    for (const slot of this.slots.values()) {
      if (hostOf(slot.address) !== host) continue;
      this.killSlot(slot);
      this.storages.get(slot.address)?.crash({ loseUnsynced: options.loseUnsynced ?? true });
    }
    if (options.resetConnections === false) return;
    const survivors = [...this.slots.values()].filter((slot) => hostOf(slot.address) !== host && !slot.killed).map((slot) => slot.address);
    for (const to of [...survivors, this.clientAddress]) this.post(peerDownEnvelope(host, to), true);
  }

  async restartHost(host: string): Promise<void> {
    this.model.apply(this.faults.setHostDown(host, false));
    for (const slot of this.slots.values()) {
      if (hostOf(slot.address) === host && slot.killed) this.respawn(slot);
    }
    await this.settle();
  }

  async killActor(addr: Address): Promise<void> {
    const slot = this.slotOf(addr);
    this.killSlot(slot);
    this.storages.get(addr)?.crash({ loseUnsynced: false });
  }

  async restartActor(addr: Address): Promise<void> {
    this.respawn(this.slotOf(addr));
    await this.settle();
  }

  async reconfigureActor(addr: Address, config: unknown): Promise<void> {
    const slot = this.slotOf(addr);
    slot.spec = { ...slot.spec, config };
  }

  async wipeActorStorage(addr: Address): Promise<void> {
    const slot = this.slotOf(addr);
    if (!slot.killed) throw new Error(`wipe ${addr}: kill it first`);
    this.storages.set(addr, new MemoryStorage());
  }

  async stop(): Promise<void> {
    for (const slot of this.slots.values()) slot.cell?.kill();
    this.client.kill();
    this.stopped = true;
    this.events.complete();
    this.inbox.complete();
  }

  /**
   * A hash of every message sent so far: when, from and to whom, its delays, and its bytes on the
   * wire (type only without the codec). Two runs of one seed must give the same hash; a
   * difference is a determinism bug (something read the wall clock, real randomness or I/O).
   */
  traceHash(): { readonly sha256: string; readonly messages: number } {
    return { sha256: this.digest.copy().digest('hex'), messages: this.sent };
  }

  /** Message trace of the run so far (needs `traceLimit`). */
  trace() {
    return this.model.traceEvents();
  }

  private addHost(host: HostSpec): void {
    for (const spec of host.actors) {
      const addr = makeAddress(host.name, spec.name);
      if (this.slots.has(addr)) throw new Error(`duplicate actor ${addr}`);
      const definition = this.options.definitions[spec.kind];
      if (!definition) throw new Error(`no actor definition for kind ${JSON.stringify(spec.kind)} (${addr})`);
      this.slots.set(addr, {
        address: addr,
        spec,
        definition,
        tracker: new RestartTracker(this.options.intensity ?? DEFAULT_INTENSITY),
        cell: undefined,
        incarnation: 0,
        gaveUp: false,
        killed: false,
      });
    }
  }

  private spawn(slot: Slot): void {
    slot.killed = false;
    slot.cell = this.makeCell(slot.address, slot.definition, slot.spec.config, slot.incarnation, slot.spec.mailboxLimit);
    this.emit({ event: 'started', address: slot.address, incarnation: slot.incarnation, atMs: this.clock.now() });
    void slot.cell.start();
  }

  private respawn(slot: Slot): void {
    slot.cell?.kill();
    slot.incarnation++;
    slot.gaveUp = false;
    this.spawn(slot);
  }

  private killSlot(slot: Slot): void {
    slot.cell?.kill();
    slot.killed = true;
    this.emit({ event: 'killed', address: slot.address, atMs: this.clock.now() });
  }

  private makeCell(addr: Address, definition: AnyActorDefinition, config: unknown, incarnation: number, mailboxLimit: number | undefined): ActorCell {
    const outbox: Outbox = { post: (envelope) => this.post(envelope) };
    const record = this.options.recordEffects ? (effect: Effect) => this.effects.push({ address: addr, effect }) : undefined;
    const disk = new FaultyStorage(this.storageOf(addr), () => this.diskFaults.get(addr));
    const storage: Storage = record
      ? recordingStorage(disk, (op, file, bytes) => record({ effect: 'persist', atMs: this.clock.now(), op, file, bytes }))
      : disk;
    return new ActorCell(
      addr,
      definition,
      config,
      incarnation,
      {
        clock: this.clocks.of(addr),
        observerWallNow: () => this.clock.wallNow(),
        random: this.random.fork(`${addr}#${incarnation}`),
        storage,
        outbox,
        log: sinkLogger(addr, () => this.clock.now(), this.logs.push),
        onExit: (a, exit) => this.onExit(a, exit),
        ...(record ? { effects: record } : {}),
        onRejected: (a, reason) => this.emit({ event: 'rejected', address: a, reason, atMs: this.clock.now() }),
      },
      mailboxLimit,
    );
  }

  private onExit(addr: Address, exit: CellExit): void {
    const slot = this.slots.get(addr);
    if (!slot) return;
    const atMs = this.clock.now();
    this.emit(exit.kind === 'crash' ? { event: 'crashed', address: addr, error: exit.error, atMs } : { event: 'stopped', address: addr, reason: exit.reason, atMs });
    const decision = slot.tracker.decide(slot.spec.restart ?? 'permanent', exit, atMs);
    if (decision === 'give-up') {
      slot.gaveUp = true;
      this.emit({ event: 'gave-up', address: addr, restarts: slot.tracker.restarts, atMs });
    } else if (decision === 'restart') {
      this.emit({ event: 'restarting', address: addr, restarts: slot.tracker.restarts, atMs });
      this.clock.setTimer(0, () => {
        if (!slot.killed) this.respawn(slot);
      });
    }
  }

  /** `reset`: a dead host's connection reset (`PeerDownNotice`), routed as if its host were up. */
  private post(envelope: Envelope, reset = false): void {
    const fromHost = hostOf(envelope.from);
    const toHost = hostOf(envelope.to);
    const routing = reset ? this.model.routeReset(fromHost, toHost, envelope.body.type) : this.model.route(fromHost, toHost, envelope.body.type);
    const atMs = this.clock.now();
    if (!routing.deliver) {
      this.model.record({ atMs, from: envelope.from, to: envelope.to, type: envelope.body.type, event: 'lost', detail: routing.reason });
      return;
    }
    const bytes = this.useCodec ? encodeBatch([envelope]) : undefined;
    const wire = bytes === undefined ? envelope : this.decoded(bytes, envelope.to);
    if (!wire) return;
    const delays = routing.delaysMs.map((ms) => ms.toFixed(3)).join(',');
    this.digest.update(`${atMs.toFixed(3)} ${envelope.from}>${envelope.to} ${delays}\n`);
    this.digest.update(bytes ?? envelope.body.type);
    this.sent++;
    this.model.record({ atMs, from: envelope.from, to: envelope.to, type: envelope.body.type, event: 'send', detail: delays });
    for (const delayMs of routing.delaysMs) {
      this.clock.setTimer(this.latencyMs + delayMs, () => this.arrive(wire));
    }
  }

  private decoded(bytes: Uint8Array, to: Address): Envelope | undefined {
    const decoded = decodeBatch(bytes);
    if (decoded.rejected.length > 0) {
      this.emit({ event: 'rejected', address: to, reason: decoded.rejected.join('; '), atMs: this.clock.now() });
      return undefined;
    }
    return decoded.envelopes[0];
  }

  private arrive(envelope: Envelope): void {
    this.model.record({ atMs: this.clock.now(), from: envelope.from, to: envelope.to, type: envelope.body.type, event: 'deliver', detail: '' });
    const target = envelope.to === this.clientAddress ? this.client : this.slots.get(envelope.to)?.cell;
    if (target) {
      target.deliver(envelope);
      return;
    }
    if (!this.slots.has(envelope.to) && envelope.kind === EnvelopeKind.Ask) {
      this.post({ kind: EnvelopeKind.Reply, from: envelope.to, to: envelope.from, id: envelope.id, body: { type: '$no-actor', target: envelope.to } as Message });
    }
  }

  private slotOf(addr: Address): Slot {
    const slot = this.slots.get(addr);
    if (!slot) throw new Error(`no actor ${addr}`);
    return slot;
  }

  private info(slot: Slot): ActorInfo {
    const cell = slot.cell;
    const status = slot.gaveUp ? 'failed' : slot.killed ? 'killed' : (cell?.status ?? 'starting');
    return {
      address: slot.address,
      kind: slot.spec.kind,
      host: hostOf(slot.address),
      status,
      restarts: slot.tracker.restarts,
      incarnation: slot.incarnation,
      mailboxSize: cell?.mailboxSize ?? 0,
      thread: 0,
      ...(cell?.lastError === undefined ? {} : { lastError: cell.lastError }),
    };
  }

  private emit(event: SystemEvent): void {
    this.history.push(event);
    this.events.next(event);
  }

  /**
   * Let promise continuations (async actor and client code) and stream callbacks run before the
   * next event. Microtask turns and one nextTick, not a trip through the event loop (which costs
   * ~10 µs per event): deeper chains simply continue after the next event, still in a
   * deterministic order.
   */
  private async settle(): Promise<void> {
    for (let turn = 0; turn < SETTLE_MICROTASK_TURNS; turn++) await undefined;
    // process.nextTick callbacks (node:stream's events: in-memory pod connections, node:http over
    // them) run only once the microtask queue is empty, which a loop of awaits never lets happen:
    // waiting for one tick lets every other chain run dry, then the ticks run, in program order.
    await new Promise<void>((resolve) => { process.nextTick(resolve); });
  }

  private makeNetworkControl(): NetworkControl {
    return {
      inject: async (spec: FaultSpec) => {
        const { id, config } = this.faults.inject(spec);
        this.model.apply(config);
        return id;
      },
      heal: async (id) => this.model.apply(this.faults.heal(id)),
      healAll: async () => this.model.apply(this.faults.healAll()),
      config: () => this.faults.config(),
      stats: async () => this.model.snapshotStats(),
      trace: async () => this.model.traceEvents(),
    };
  }
}
