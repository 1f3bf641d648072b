import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { transfer, wrap, type Remote } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { address as makeAddress, hostOf, type Address } from '../primitives/address.js';
import type { ActorInfo, ActorSpec, HostSpec } from './actor.js';
import { ActorCell, type CellExit } from './cell.js';
import type { Clock, ClockSkew } from '../primitives/clock.js';
import type { DiskFault } from './storage.js';
import { clientActor, type InboxMessage } from './client-actor.js';
import { LogBuffer, type LogRecord } from './logger.js';
import { peerDownEnvelope, type Message, type OutgoingMessage } from '../primitives/envelope.js';
import { MemoryStorage } from './storage.js';
import { DEFAULT_INTENSITY, RestartTracker } from './supervision.js';
import { CLIENT_HOST, type ActorSystem, type KillOptions, type NetworkControl, type SystemEvent, type SystemOptions } from './system.js';
import { ThreadHost, type ThreadActorSpec, type ThreadEvent, type ThreadInit } from './thread-host.js';
import type { ThreadControl, WorkerData } from './worker-main.js';
import { bundledUrl } from './worker-url.js';
import { registryLoader } from './registry.js';
import { FaultTable, mergeStats, type FaultSpec, type NetworkConfig } from '../transport/network.js';

export interface ThreadedOptions extends SystemOptions {
  /**
   * URL of the registry module the threads load actor kinds from (exports `actors`, see
   * src/runtime/registry.ts). Workers run compiled JavaScript, so this is a dist/ module, e.g.
   * actors/registry.ts's `builtinRegistry()`.
   */
  readonly registry: string;
  /** threads: one worker per actor (default); packed: hosts spread over `threads` workers. */
  readonly placement?: 'threads' | 'packed';
  /** Worker count for packed placement (default 4). */
  readonly threads?: number;
  /** Root of the hosts' data directories; default a fresh temporary directory removed on stop. */
  readonly dataDir?: string;
  /** Batch messages per thread pair (default true). */
  readonly batching?: boolean;
  /**
   * How many threads boot at once on first start (default twice the CPU count). Booting a worker
   * is CPU work (~50 ms: Node's own bootstrap, then the bundle), yet 27 booting together on 2
   * cores took ~1.4 s of wall time for ~1.6 s of CPU (the cores half idle, the main thread, which
   * creates each worker and answers its handshake, starved), against ~0.8 s for 4 at a time.
   */
  readonly spawnConcurrency?: number;
  /** Node flags for the worker threads (e.g. `--cpu-prof` when profiling); default none. */
  readonly workerExecArgv?: readonly string[];
  /** Where actors' log records go (default: kept in `logs`, warnings and errors to stderr). */
  readonly onLog?: (record: LogRecord) => void;
}

interface Slot {
  readonly address: Address;
  spec: ActorSpec;
  readonly tracker: RestartTracker;
  thread: number;
  incarnation: number;
  /** What the supervisor knows beyond the thread's own view. */
  fate: 'live' | 'killed' | 'failed' | 'exited';
  lastExit: CellExit | undefined;
}

interface ThreadSlot {
  readonly index: number;
  readonly actors: Address[];
  worker: Worker | undefined;
  control: Remote<ThreadControl> | undefined;
  controlPort: MessagePort | undefined;
}

const MAIN_THREAD = 0;

function defaultSpawnConcurrency(): number {
  return 2 * availableParallelism();
}

/**
 * The cluster supervisor for real threads (placements `threads` and `packed`): spawns workers,
 * wires a direct MessagePort between every pair of threads, holds the fault table and pushes it
 * to every thread's relay, and restarts crashed actors by replacing their worker.
 */
export class ThreadedSystem implements ActorSystem {
  readonly placement: 'threads' | 'packed';
  readonly clientAddress: Address = makeAddress(CLIENT_HOST, 'main');
  readonly logs = new LogBuffer();
  private readonly events = new Subject<SystemEvent>();
  private readonly inbox = new Subject<InboxMessage>();
  readonly inbox$ = this.inbox.asObservable();
  readonly events$ = this.events.asObservable();
  readonly history: SystemEvent[] = [];
  private readonly slots = new Map<Address, Slot>();
  /** Chaos state of actors, given to every (re)start of theirs (clock-skew and disk-fault faults). */
  private readonly skews = new Map<Address, ClockSkew>();
  private readonly diskFaults = new Map<Address, DiskFault>();
  private readonly threads = new Map<number, ThreadSlot>();
  private readonly faults = new FaultTable();
  private readonly mainHost: ThreadHost;
  private readonly client: ActorCell;
  private readonly dataDir: string;
  private readonly ownsDataDir: boolean;
  private readonly workerUrl = bundledUrl(import.meta.url, 'worker-main.js');
  private stopping = false;
  readonly network: NetworkControl;
  /** Milliseconds from `start` until every actor thread reported its actors created. */
  startupMs = 0;

  private constructor(private readonly options: ThreadedOptions) {
    this.placement = options.placement ?? 'threads';
    this.ownsDataDir = options.dataDir === undefined;
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'pocketkube-'));
    this.planThreads(options.hosts);
    this.mainHost = new ThreadHost(this.threadInit(MAIN_THREAD, []), registryLoader(options.registry), (event) => this.onThreadEvent(MAIN_THREAD, event));
    this.client = new ActorCell(this.clientAddress, clientActor((received) => this.inbox.next(received)), undefined, 0, { ...this.mainHost.cellServices(this.clientAddress, 0), storage: new MemoryStorage() });
    this.mainHost.adoptCell(this.client);
    this.network = this.makeNetworkControl();
  }

  static async start(options: ThreadedOptions): Promise<ThreadedSystem> {
    const begin = performance.now();
    const system = new ThreadedSystem(options);
    await system.client.start();
    try {
      await system.spawnAll();
    } catch (error) {
      await system.stop(); // no half-started system left behind, restarting threads that cannot start
      throw error;
    }
    system.startupMs = performance.now() - begin;
    return system;
  }

  get clock(): Clock {
    return this.mainHost.clock;
  }

  tell<M extends Message>(to: Address, message: M): void {
    this.client.context.send(to, message);
  }

  ask<R extends Message = Message>(to: Address, message: OutgoingMessage, options?: { timeoutMs?: number }): Promise<R> {
    return this.client.context.ask<R>(to, message, options);
  }

  async list(): Promise<ActorInfo[]> {
    const live = new Map<Address, ActorInfo>();
    await Promise.all(
      [...this.threads.values()].map(async (thread) => {
        if (!thread.control) return;
        for (const info of await thread.control.list()) live.set(info.address, info);
      }),
    );
    return [...this.slots.values()].map((slot) => {
      // A thread's answer may predate a restart the supervisor already began: only the current life counts.
      const info = live.get(slot.address);
      return this.describe(slot, info?.incarnation === slot.incarnation ? info : undefined);
    });
  }

  private describe(slot: Slot, info: ActorInfo | undefined): ActorInfo {
    return {
      address: slot.address,
      kind: slot.spec.kind,
      host: hostOf(slot.address),
      status: this.statusOf(slot, info),
      restarts: slot.tracker.restarts,
      incarnation: slot.incarnation,
      mailboxSize: info?.mailboxSize ?? 0,
      thread: slot.thread,
      ...(slot.lastExit?.kind === 'crash' ? { lastError: slot.lastExit.error } : {}),
    };
  }

  private statusOf(slot: Slot, info: ActorInfo | undefined): ActorInfo['status'] {
    switch (slot.fate) {
      case 'killed':
      case 'failed':
        return slot.fate;
      case 'exited':
        return slot.lastExit?.kind === 'normal' ? 'stopped' : 'crashed';
      case 'live':
        return info?.status ?? 'starting';
      default: {
        const unreachable: never = slot.fate;
        throw new Error(`unknown fate ${String(unreachable)}`);
      }
    }
  }

  async inspect(addr: Address): Promise<Record<string, unknown>> {
    const slot = this.slotOf(addr);
    const found = await this.threads.get(slot.thread)?.control?.inspect(addr);
    return found ?? { address: addr, status: slot.fate };
  }

  async pause(addr: Address): Promise<void> {
    await this.threads.get(this.slotOf(addr).thread)?.control?.pause(addr);
  }

  async resume(addr: Address): Promise<void> {
    await this.threads.get(this.slotOf(addr).thread)?.control?.resume(addr);
  }

  async skewClock(addr: Address, skew: ClockSkew): Promise<void> {
    const slot = this.slotOf(addr);
    // Kept here, so an actor started again (a crash replaces its thread) starts skewed too.
    if (skew.rate === 1 && skew.offsetMs === 0) this.skews.delete(addr);
    else this.skews.set(addr, skew);
    await this.tellThread(slot, (control) => control.skewClock(addr, skew));
  }

  /**
   * Tells a live actor's thread; returns once it answered, or its worker exited (a thread being
   * replaced never answers; its successor gets the state in the actor's spec).
   */
  private async tellThread(slot: Slot, call: (control: Remote<ThreadControl>) => Promise<void> | void): Promise<void> {
    const thread = this.threads.get(slot.thread);
    const worker = thread?.worker;
    if (slot.fate !== 'live' || thread?.control === undefined || worker === undefined) return;
    let onExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => { onExit = resolve; worker.once('exit', onExit); });
    try {
      await Promise.race([call(thread.control), exited]);
    } finally {
      worker.off('exit', onExit);
    }
  }

  async setDiskFault(addr: Address, fault: DiskFault | undefined): Promise<void> {
    const slot = this.slotOf(addr);
    // Kept here, so an actor the fault crashed starts again on the faulty disk until the heal.
    if (fault === undefined) this.diskFaults.delete(addr);
    else this.diskFaults.set(addr, fault);
    await this.tellThread(slot, (control) => control.setDiskFault(addr, fault));
  }

  async killHost(host: string, options: KillOptions = {}): Promise<void> {
    const config = this.faults.setHostDown(host, true);
    // Kill first and tell the others after: the doomed thread, busy as it may be, must not delay
    // the kill (or the resets) by answering a network update it no longer needs.
    await this.killAddresses(this.addressesOf(host), options);
    if (options.resetConnections !== false) {
      const survivors = [...this.slots.values()].filter((slot) => hostOf(slot.address) !== host && slot.fate === 'live').map((slot) => slot.address);
      for (const to of [...survivors, this.clientAddress]) this.mainHost.router.post(peerDownEnvelope(host, to), true);
      this.mainHost.router.flushAll();
    }
    await this.broadcastNetwork(config);
  }

  async restartHost(host: string): Promise<void> {
    await this.broadcastNetwork(this.faults.setHostDown(host, false));
    await this.restartAddresses(this.addressesOf(host).filter((a) => this.slots.get(a)!.fate === 'killed'));
  }

  async killActor(addr: Address): Promise<void> {
    await this.killAddresses([addr], {});
  }

  async restartActor(addr: Address): Promise<void> {
    await this.restartAddresses([addr]);
  }

  async reconfigureActor(addr: Address, config: unknown): Promise<void> {
    const slot = this.slotOf(addr);
    slot.spec = { ...slot.spec, config };
  }

  async wipeActorStorage(addr: Address): Promise<void> {
    const slot = this.slotOf(addr);
    if (slot.fate !== 'killed') throw new Error(`wipe ${addr}: kill it first`);
    rmSync(join(this.dataDir, hostOf(addr), addr.slice(addr.indexOf('/') + 1)), { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all([...this.threads.values()].map((thread) => this.terminate(thread)));
    this.mainHost.shutdown();
    this.client.kill();
    this.events.complete();
    this.inbox.complete();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The data directory of the hosts (their actors' durable storage lives below it). */
  get dataDirectory(): string {
    return this.dataDir;
  }

  private planThreads(hosts: readonly HostSpec[]): void {
    const packedThreads = Math.max(1, this.options.threads ?? 4);
    let next = 1;
    hosts.forEach((host, hostIndex) => {
      for (const spec of host.actors) {
        const addr = makeAddress(host.name, spec.name);
        if (this.slots.has(addr)) throw new Error(`duplicate actor ${addr}`);
        const thread = this.placement === 'threads' ? next++ : 1 + (hostIndex % packedThreads);
        this.slots.set(addr, { address: addr, spec, tracker: new RestartTracker(this.options.intensity ?? DEFAULT_INTENSITY), thread, incarnation: 0, fate: 'live', lastExit: undefined });
        let slot = this.threads.get(thread);
        if (!slot) {
          slot = { index: thread, actors: [], worker: undefined, control: undefined, controlPort: undefined };
          this.threads.set(thread, slot);
        }
        slot.actors.push(addr);
      }
    });
  }

  private routes(): [Address, number][] {
    return [[this.clientAddress, MAIN_THREAD], ...[...this.slots.values()].map((slot): [Address, number] => [slot.address, slot.thread])];
  }

  private threadInit(index: number, actors: readonly Address[]): ThreadInit {
    return {
      threadIndex: index,
      seed: (this.options.seed ?? 1) * 7919 + index,
      batching: this.options.batching ?? true,
      traceLimit: this.options.traceLimit ?? 0,
      dataDir: this.dataDir,
      registry: this.options.registry,
      network: this.faults.config(),
      routes: this.routes(),
      actors: actors.map((addr) => this.actorSpec(addr)),
    };
  }

  private actorSpec(addr: Address): ThreadActorSpec {
    const slot = this.slots.get(addr)!;
    const { spec } = slot;
    return {
      address: addr,
      kind: spec.kind,
      incarnation: slot.incarnation,
      ...(spec.module === undefined ? {} : { module: spec.module }),
      ...(spec.config === undefined ? {} : { config: spec.config }),
      ...(spec.mailboxLimit === undefined ? {} : { mailboxLimit: spec.mailboxLimit }),
      ...(this.skews.has(addr) ? { clockSkew: this.skews.get(addr)! } : {}),
      ...(this.diskFaults.has(addr) ? { diskFault: this.diskFaults.get(addr)! } : {}),
    };
  }

  /** First start: every pair of threads gets a direct channel before any actor runs. */
  private async spawnAll(): Promise<void> {
    const indices = [MAIN_THREAD, ...this.threads.keys()];
    const peersOf = new Map<number, { thread: number; port: MessagePort }[]>(indices.map((i) => [i, []]));
    for (let a = 0; a < indices.length; a++) {
      for (let b = a + 1; b < indices.length; b++) {
        const { port1, port2 } = new MessageChannel();
        peersOf.get(indices[a]!)!.push({ thread: indices[b]!, port: port1 });
        peersOf.get(indices[b]!)!.push({ thread: indices[a]!, port: port2 });
      }
    }
    for (const { thread, port } of peersOf.get(MAIN_THREAD)!) this.mainHost.addPeer(thread, port);
    // A bounded number of threads boot at once (see `spawnConcurrency`); the rest wait their turn,
    // each host's first actor first: composition lists what others depend on first (a master's
    // etcd, then its apiserver), so a quorum of etcd members boots before any apiserver.
    const queue = this.bootOrder();
    const lanes = Math.min(queue.length, Math.max(1, this.options.spawnConcurrency ?? defaultSpawnConcurrency()));
    let failed = false;
    await Promise.all(Array.from({ length: lanes }, async () => {
      for (let slot = queue.shift(); slot !== undefined && !failed && !this.stopping; slot = queue.shift()) {
        this.spawnWorker(slot, peersOf.get(slot.index)!);
        try {
          await this.untilStarted(slot);
        } catch (error) {
          failed = true; // the other lanes spawn no more: start() is about to stop the system
          throw error;
        }
      }
    }));
    for (const slot of this.slots.values()) this.emit({ event: 'started', address: slot.address, incarnation: 0, atMs: Date.now() });
  }

  /** Threads in the order of their first actors' places in their hosts, hosts in order within a place. */
  private bootOrder(): ThreadSlot[] {
    const rank = new Map<Address, number>();
    for (const host of this.options.hosts) host.actors.forEach((spec, i) => rank.set(makeAddress(host.name, spec.name), i));
    const first = (thread: ThreadSlot) => Math.min(...thread.actors.map((a) => rank.get(a)!));
    // Array.prototype.sort is stable: threads of equal rank keep their host order.
    return [...this.threads.values()].sort((a, b) => first(a) - first(b));
  }

  private spawnWorker(slot: ThreadSlot, peers: { thread: number; port: MessagePort }[]): void {
    const { port1: controlMain, port2: controlWorker } = new MessageChannel();
    const data: WorkerData = { init: this.threadInit(slot.index, slot.actors.filter((a) => this.slots.get(a)!.fate === 'live')), control: controlWorker, peers };
    const worker = new Worker(this.workerUrl, {
      workerData: data,
      transferList: [controlWorker, ...peers.map((peer) => peer.port)],
      execArgv: [...(this.options.workerExecArgv ?? [])],
      stderr: false,
      stdout: false,
    });
    slot.worker = worker;
    slot.controlPort = controlMain;
    slot.control = wrap<ThreadControl>(nodeEndpoint(controlMain as unknown as Parameters<typeof nodeEndpoint>[0]));
    worker.on('message', (event: ThreadEvent) => this.onThreadEvent(slot.index, event));
    worker.on('error', (error) => this.onThreadDied(slot, worker, `thread error: ${error.stack ?? String(error)}`));
    worker.on('exit', (code) => this.onThreadDied(slot, worker, `thread exited with code ${code}`));
  }

  /** Replace a thread's worker: fresh channels to every live thread, then the actors start anew. */
  /**
   * One respawn at a time: a respawning thread is wired only to threads that have a control
   * port, and `terminate` clears it at once, so two threads respawned together (the threads of
   * one restarted host) would each skip the other and never get a port between them; their
   * messages would then vanish (the router drops what has no port).
   */
  private respawnThread(slot: ThreadSlot): Promise<void> {
    const next = this.respawning.then(() => this.respawnThreadNow(slot));
    this.respawning = next.catch(() => undefined);
    return next;
  }

  private respawning: Promise<void> = Promise.resolve();

  private async respawnThreadNow(slot: ThreadSlot): Promise<void> {
    await this.terminate(slot);
    if (this.stopping) return;
    const peers: { thread: number; port: MessagePort }[] = [];
    const wiring: Promise<void>[] = [];
    const { port1: toMain, port2: mainEnd } = new MessageChannel();
    peers.push({ thread: MAIN_THREAD, port: toMain });
    this.mainHost.addPeer(slot.index, mainEnd);
    for (const other of this.threads.values()) {
      if (other.index === slot.index || !other.control) continue;
      const { port1, port2 } = new MessageChannel();
      peers.push({ thread: other.index, port: port1 });
      wiring.push(Promise.resolve(other.control.addPeer(slot.index, transfer(port2, [port2]))));
    }
    await Promise.all(wiring);
    this.spawnWorker(slot, peers);
    await this.untilStarted(slot);
  }

  /**
   * Resolves once the thread's actors run; rejects if its worker dies first (a missing bundle, a
   * crash during start-up): the supervisor has then been told, and the caller must not wait forever.
   */
  private async untilStarted(slot: ThreadSlot): Promise<void> {
    const worker = slot.worker!;
    const where = `thread ${slot.index} (${slot.actors.join(', ')})`;
    let onError: (error: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    const died = new Promise<never>((_, reject) => {
      onError = (error) => reject(new Error(`${where} died while starting: ${error.message}`));
      onExit = (code) => reject(new Error(`${where} exited with code ${code} while starting`));
    });
    worker.once('error', onError);
    worker.once('exit', onExit);
    try {
      await Promise.race([slot.control!.started(), died]);
    } finally {
      worker.off('error', onError);
      worker.off('exit', onExit);
    }
  }

  private async terminate(slot: ThreadSlot): Promise<void> {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.control = undefined;
    slot.controlPort?.close();
    slot.controlPort = undefined;
    this.mainHost.router.removePeer(slot.index);
    for (const other of this.threads.values()) {
      if (other.index !== slot.index) void other.control?.removePeer(slot.index);
    }
    if (worker) await worker.terminate();
  }

  private ownsWholeThread(addresses: readonly Address[], thread: ThreadSlot): boolean {
    return thread.actors.every((a) => addresses.includes(a));
  }

  private async killAddresses(addresses: readonly Address[], options: KillOptions): Promise<void> {
    const byThread = this.groupByThread(addresses);
    await Promise.all(
      [...byThread].map(async ([thread, list]) => {
        if (options.loseUnsynced === false) await thread.control?.syncAll();
        if (this.ownsWholeThread(list, thread)) await this.terminate(thread);
        else await thread.control?.killActors(list);
      }),
    );
    for (const addr of addresses) {
      this.slots.get(addr)!.fate = 'killed';
      this.emit({ event: 'killed', address: addr, atMs: Date.now() });
    }
  }

  private async restartAddresses(addresses: readonly Address[]): Promise<void> {
    const byThread = this.groupByThread(addresses);
    for (const addr of addresses) {
      const slot = this.slots.get(addr)!;
      slot.incarnation++;
      slot.fate = 'live';
      slot.lastExit = undefined;
      this.emit({ event: 'started', address: addr, incarnation: slot.incarnation, atMs: Date.now() });
    }
    await Promise.all(
      [...byThread].map(async ([thread, list]) => {
        if (!thread.worker || this.ownsWholeThread(list, thread)) await this.respawnThread(thread);
        else await Promise.all(list.map((addr) => thread.control!.startActor(this.actorSpec(addr))));
      }),
    );
  }

  private groupByThread(addresses: readonly Address[]): Map<ThreadSlot, Address[]> {
    const byThread = new Map<ThreadSlot, Address[]>();
    for (const addr of addresses) {
      const thread = this.threads.get(this.slotOf(addr).thread)!;
      byThread.set(thread, [...(byThread.get(thread) ?? []), addr]);
    }
    return byThread;
  }

  private onThreadEvent(thread: number, event: ThreadEvent): void {
    switch (event.op) {
      case 'exit':
        this.onActorExit(event.address, event.incarnation, event.exit);
        return;
      case 'log':
        if (this.options.onLog) this.options.onLog(event.record);
        else {
          this.logs.push(event.record);
          if (event.record.level === 'error' && !this.stopping) {
            const detail = String(event.record.fields?.['error'] ?? '').split('\n')[0];
            console.error(`[${event.record.source}] ${event.record.message}${detail ? `: ${detail}` : ''}`);
          }
        }
        return;
      case 'rejected':
        this.emit({ event: 'rejected', address: event.address ?? this.clientAddress, reason: `thread ${thread}: ${event.reason}`, atMs: Date.now() });
        return;
      default: {
        const unreachable: never = event;
        throw new Error(`unknown thread event ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onActorExit(addr: Address, incarnation: number, exit: CellExit): void {
    const slot = this.slots.get(addr);
    if (!slot || slot.incarnation !== incarnation || slot.fate !== 'live' || this.stopping) return;
    slot.lastExit = exit;
    const atMs = Date.now();
    this.emit(exit.kind === 'crash' ? { event: 'crashed', address: addr, error: exit.error, atMs } : { event: 'stopped', address: addr, reason: exit.reason, atMs });
    const decision = slot.tracker.decide(slot.spec.restart ?? 'permanent', exit, performance.now());
    if (decision === 'give-up') {
      slot.fate = 'failed';
      this.emit({ event: 'gave-up', address: addr, restarts: slot.tracker.restarts, atMs });
      return;
    }
    if (decision === 'leave-down') {
      slot.fate = 'exited';
      return;
    }
    this.emit({ event: 'restarting', address: addr, restarts: slot.tracker.restarts, atMs });
    void this.restartAddresses([addr]).catch((error: unknown) => {
      if (!this.stopping) console.error(`restart of ${addr} failed`, error);
    });
  }

  private onThreadDied(slot: ThreadSlot, worker: Worker, reason: string): void {
    if (slot.worker !== worker || this.stopping) return; // terminated on purpose, or already replaced
    slot.worker = undefined;
    for (const addr of slot.actors) {
      const actor = this.slots.get(addr)!;
      if (actor.fate === 'live') this.onActorExit(addr, actor.incarnation, { kind: 'crash', error: reason });
    }
  }

  private addressesOf(host: string): Address[] {
    const found = [...this.slots.keys()].filter((a) => hostOf(a) === host);
    if (found.length === 0) throw new Error(`no host ${JSON.stringify(host)}`);
    return found;
  }

  private slotOf(addr: Address): Slot {
    const slot = this.slots.get(addr);
    if (!slot) throw new Error(`no actor ${addr}`);
    return slot;
  }

  private emit(event: SystemEvent): void {
    this.history.push(event);
    this.events.next(event);
  }

  private async broadcastNetwork(config: NetworkConfig): Promise<void> {
    this.mainHost.setNetwork(config);
    await Promise.all([...this.threads.values()].map((thread) => thread.control?.setNetwork(config)));
  }

  private makeNetworkControl(): NetworkControl {
    return {
      inject: async (spec: FaultSpec) => {
        const { id, config } = this.faults.inject(spec);
        await this.broadcastNetwork(config);
        return id;
      },
      heal: async (id) => this.broadcastNetwork(this.faults.heal(id)),
      healAll: async () => this.broadcastNetwork(this.faults.healAll()),
      config: () => this.faults.config(),
      stats: async () => {
        const parts = await Promise.all([...this.threads.values()].map((thread) => thread.control?.stats() ?? {}));
        return mergeStats([this.mainHost.stats(), ...parts]);
      },
      trace: async () => {
        const parts = await Promise.all([...this.threads.values()].map((thread) => thread.control?.trace() ?? []));
        return [this.mainHost.trace(), ...parts].flat().sort((a, b) => a.atMs - b.atMs);
      },
    };
  }
}
