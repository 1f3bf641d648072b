import type { MessagePort } from 'node:worker_threads';
import { join } from 'node:path';
import type { Address } from '../primitives/address.js';
import type { Envelope } from '../primitives/envelope.js';
import type { ActorInfo, AnyActorDefinition } from './actor.js';
import { ActorCell, type CellExit } from './cell.js';
import { sinkLogger, type LogRecord } from './logger.js';
import { SeededPrng } from '../primitives/prng.js';
import { RealClock } from './real-clock.js';
import { NO_SKEW, SkewedClocks, type ClockSkew } from '../primitives/clock.js';
import { FileStorage } from './file-storage.js';
import { FaultyStorage, MemoryStorage, type DiskFault, type Storage } from './storage.js';
import { hostOf, actorOf } from '../primitives/address.js';
import { NetworkModel, type NetworkConfig, type NetworkStats, type TraceEvent } from '../transport/network.js';
import { Router } from '../transport/router.js';

/** One actor as a thread is told to run it. */
export interface ThreadActorSpec {
  readonly address: Address;
  readonly kind: string;
  readonly module?: string;
  readonly config?: unknown;
  readonly incarnation: number;
  readonly mailboxLimit?: number;
  /** The actor's clock skew and disk fault (chaos), kept by the supervisor across thread replacements. */
  readonly clockSkew?: ClockSkew;
  readonly diskFault?: DiskFault;
}

/** What a thread is born with. */
export interface ThreadInit {
  readonly threadIndex: number;
  readonly seed: number;
  readonly batching: boolean;
  readonly traceLimit: number;
  /** Root of the hosts' data directories; undefined keeps storage in memory. */
  readonly dataDir: string | undefined;
  /** The registry module's URL (src/runtime/registry.ts) the thread loads actor kinds from. */
  readonly registry: string;
  readonly network: NetworkConfig;
  readonly routes: readonly [Address, number][];
  readonly actors: readonly ThreadActorSpec[];
}

/** News a thread sends to the supervisor on the main thread. */
export type ThreadEvent =
  | { readonly op: 'exit'; readonly address: Address; readonly incarnation: number; readonly exit: CellExit }
  | { readonly op: 'log'; readonly record: LogRecord }
  | { readonly op: 'rejected'; readonly address: Address | undefined; readonly reason: string };

export type DefinitionLoader = (kind: string, moduleUrl?: string) => Promise<AnyActorDefinition>;

/**
 * The actors of one thread and its router: what a worker runs (and what the main thread runs for
 * the client mailbox). Placement-independent pieces (cells, network model) come from the core.
 */
export class ThreadHost {
  readonly clock = new RealClock();
  /** Each actor's own view of the clock (kept across its restarts: a skewed machine stays skewed). */
  private readonly clocks = new SkewedClocks<Address>(this.clock);
  private readonly diskFaults = new Map<Address, DiskFault>();
  readonly model: NetworkModel;
  readonly router: Router;
  private readonly cells = new Map<Address, ActorCell>();
  private readonly storages = new Map<Address, Storage>();
  private readonly random: SeededPrng;

  constructor(
    private readonly init: ThreadInit,
    private readonly load: DefinitionLoader,
    private readonly emit: (event: ThreadEvent) => void,
  ) {
    this.random = new SeededPrng(init.seed);
    this.model = new NetworkModel(this.random.fork(`network#${init.threadIndex}`), init.traceLimit);
    this.model.apply(init.network);
    this.router = new Router({
      threadIndex: init.threadIndex,
      model: this.model,
      clock: this.clock,
      batching: init.batching,
      onRejected: (reason) => emit({ op: 'rejected', address: undefined, reason }),
    });
    this.router.setRoutes(init.routes);
  }

  addPeer(thread: number, port: MessagePort): void {
    this.router.addPeer(thread, port);
  }

  async startAll(): Promise<void> {
    await Promise.all(this.init.actors.map((spec) => this.startActor(spec)));
  }

  async startActor(spec: ThreadActorSpec): Promise<void> {
    this.cells.get(spec.address)?.kill();
    this.clocks.of(spec.address).set(spec.clockSkew ?? NO_SKEW);
    this.setDiskFault(spec.address, spec.diskFault);
    const definition = await this.load(spec.kind, spec.module);
    const cell = this.makeCell(spec, definition);
    this.cells.set(spec.address, cell);
    this.router.attachLocal(spec.address, cell);
    await cell.start();
  }

  /** Hosts a cell built elsewhere (the main thread's client mailbox). */
  adoptCell(cell: ActorCell): void {
    this.cells.set(cell.address, cell);
    this.router.attachLocal(cell.address, cell);
  }


  /** A disk fault on the actor's storage (undefined heals it); kept across its restarts on this thread. */
  setDiskFault(address: Address, fault: DiskFault | undefined): void {
    if (fault === undefined) this.diskFaults.delete(address);
    else this.diskFaults.set(address, fault);
  }

  skewClock(address: Address, skew: ClockSkew): void {
    this.clocks.of(address).set(skew);
  }

  cellServices(address: Address, incarnation: number) {
    return {
      clock: this.clocks.of(address),
      observerWallNow: () => this.clock.wallNow(),
      random: this.random.fork(`${address}#${incarnation}`),
      outbox: { post: (envelope: Envelope) => this.router.post(envelope), flush: () => this.router.flushAll() },
      log: sinkLogger(address, () => this.clock.wallNow(), (record) => this.emit({ op: 'log', record })),
      onExit: (a: Address, exit: CellExit) => {
        this.router.detachLocal(a);
        this.emit({ op: 'exit', address: a, incarnation, exit });
      },
      onRejected: (a: Address, reason: string) => this.emit({ op: 'rejected', address: a, reason }),
    };
  }

  /** Make every actor's appended data durable (a kill that models a process crash, not a power cut). */
  syncAll(): void {
    for (const storage of this.storages.values()) for (const name of storage.list()) storage.sync(name);
  }

  killActors(addresses: readonly Address[]): void {
    for (const address of addresses) {
      this.cells.get(address)?.kill();
      this.cells.delete(address);
      this.router.detachLocal(address);
    }
  }

  list(): ActorInfo[] {
    return [...this.cells.values()].map((cell) => ({
      address: cell.address,
      kind: cell.definition.kind,
      host: hostOf(cell.address),
      status: cell.status,
      restarts: cell.incarnation,
      incarnation: cell.incarnation,
      mailboxSize: cell.mailboxSize,
      thread: this.init.threadIndex,
      ...(cell.lastError === undefined ? {} : { lastError: cell.lastError }),
    }));
  }

  inspect(address: Address): Record<string, unknown> | undefined {
    const cell = this.cells.get(address);
    return cell ? { ...cell.inspect(), thread: this.init.threadIndex } : undefined;
  }

  pause(address: Address): void {
    this.cells.get(address)?.pause();
  }

  resume(address: Address): void {
    this.cells.get(address)?.resume();
  }

  setNetwork(config: NetworkConfig): void {
    this.model.apply(config);
  }

  setRoutes(routes: readonly [Address, number][]): void {
    this.router.setRoutes(routes);
  }

  stats(): NetworkStats {
    return this.model.snapshotStats();
  }

  trace(): TraceEvent[] {
    return this.model.traceEvents();
  }

  shutdown(): void {
    for (const cell of this.cells.values()) cell.kill();
    this.cells.clear();
    this.clock.clearAll();
    this.router.close();
  }

  private makeCell(spec: ThreadActorSpec, definition: AnyActorDefinition): ActorCell {
    // In-memory storage lives as long as the thread: it does not survive a thread restart.
    const storage: Storage = this.init.dataDir
      ? new FileStorage(join(this.init.dataDir, hostOf(spec.address), actorOf(spec.address)))
      : (this.storages.get(spec.address) ?? new MemoryStorage());
    this.storages.set(spec.address, storage);
    const faulty = new FaultyStorage(storage, () => this.diskFaults.get(spec.address));
    return new ActorCell(spec.address, definition, spec.config, spec.incarnation, { ...this.cellServices(spec.address, spec.incarnation), storage: faulty }, spec.mailboxLimit);
  }
}
