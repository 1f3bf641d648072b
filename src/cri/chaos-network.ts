/**
 * Chaos Mesh's NetworkChaos on the data path. Chaos Mesh's daemon puts tc and iptables rules in
 * the pod's network namespace; here a PodNetwork decorator applies the pod's rules to what it
 * sends (egress) and receives (ingress), matched by peer IP (a rule without peers matches all):
 * - partition: a connection to or from a partitioned peer is not set up. A connect waits, as a
 *   dropped SYN does, until the partition heals or its timeout passes (then ETIMEDOUT). An accepted
 *   connection is held from the app. On an established stream the data is held while the
 *   partition lasts and delivered after it (TCP retransmits). Datagrams are dropped.
 * - delay: each chunk (datagram) waits latency ± jitter; a stream keeps its order.
 * - loss: a datagram is dropped with the probability. On a stream the lost segment is sent again,
 *   so the chunk waits one retransmission timeout more (200 ms, Linux's minimum, doubling each time).
 * - duplicate: a datagram arrives twice with the probability; a stream is unchanged (TCP drops
 *   duplicates).
 * DNS goes to the pod's nameservers, so a partition from them fails name lookups (EAI_AGAIN).
 * Time and randomness come from the runtime's clock and seeded PRNG.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { sleep, type Clock, type TimerId } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { NetListener, PodNetwork, UdpEndpoint } from './image.js';
import type { NetworkChaosRule } from './messages.js';

/** Linux's minimum retransmission timeout: what one lost segment costs a stream. */
export const retransmitTimeoutMs = 200;
/** A segment lost this many times in a row is delivered anyway (the bound on what loss adds). */
const retransmitsMax = 6;
/** The connect timeout the inner networks default to. */
const connectTimeoutMsDefault = 30_000;
/** resolv.conf's timeout:2 attempts:2, as the loopback network resolves. */
const dnsTimeoutMs = 4_000;
/** Bytes a stream's sender may queue before writes wait (a socket's send buffer). */
const sendQueueBytesMax = 256 * 1024;
/** Bytes held or delayed on their way in before the socket is paused (a receive window). */
const receiveQueueBytesMax = 256 * 1024;

export interface ChaosNetworkDeps {
  readonly clock: Clock;
  readonly prng: Prng;
  /** The pod's nameservers (its resolv.conf): a partition from them fails lookups. */
  readonly nameservers: readonly string[];
}

type Direction = NetworkChaosRule['direction'];

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const isIpv4 = (host: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(host);

export class ChaosPodNetwork implements PodNetwork {
  private rules: readonly NetworkChaosRule[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(private readonly inner: PodNetwork, private readonly deps: ChaosNetworkDeps) {}

  get podIp(): string {
    return this.inner.podIp;
  }

  /** Replaces the pod's rules (every NetworkChaos on it, together); held traffic looks again. */
  setRules(rules: readonly NetworkChaosRule[]): void {
    this.rules = rules;
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` on every change of the rules until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private matching(direction: Direction, peer: string, action: NetworkChaosRule['action']): NetworkChaosRule[] {
    return this.rules.filter((r) => r.direction === direction && r.action === action && (r.peers === undefined || r.peers.includes(peer)));
  }

  /** Data to (egress) or from (ingress) `peer` is held. */
  held(direction: Direction, peer: string): boolean {
    return this.matching(direction, peer, 'partition').length > 0;
  }

  /** A connection with `peer` cannot be set up: either way is cut (a SYN or its answer is dropped). */
  private cut(peer: string): boolean {
    return this.held('egress', peer) || this.held('ingress', peer);
  }

  /** What one chunk to or from `peer` waits: the delays, plus a retransmission per loss drawn. */
  streamDelayMs(direction: Direction, peer: string): number {
    let ms = this.latencyMs(direction, peer);
    for (const rule of this.matching(direction, peer, 'loss')) {
      for (let rto = retransmitTimeoutMs, n = 0; n < retransmitsMax && this.deps.prng.next() < (rule.probability ?? 0); n++, rto *= 2) ms += rto;
    }
    return ms;
  }

  private latencyMs(direction: Direction, peer: string): number {
    let ms = 0;
    for (const rule of this.matching(direction, peer, 'delay')) {
      const jitter = rule.jitterMs ?? 0;
      ms += Math.max(0, (rule.latencyMs ?? 0) + (jitter === 0 ? 0 : this.deps.prng.between(-jitter, jitter)));
    }
    return ms;
  }

  /** How many copies of a datagram to or from `peer` arrive (0 when dropped or lost, 2 when duplicated). */
  private datagramCopies(direction: Direction, peer: string): number {
    if (this.held(direction, peer)) return 0;
    if (this.matching(direction, peer, 'loss').some((r) => this.deps.prng.next() < (r.probability ?? 0))) return 0;
    return this.matching(direction, peer, 'duplicate').some((r) => this.deps.prng.next() < (r.probability ?? 0)) ? 2 : 1;
  }

  /** Resolves once `blocked()` is false (checked on each change of the rules), or false when `timeoutMs` passes first. */
  private waitUntilOpen(blocked: () => boolean, timeoutMs: number): Promise<boolean> {
    if (!blocked()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.deps.clock.setTimer(timeoutMs, () => { stop(); resolve(false); });
      const stop = this.onChange(() => {
        if (blocked()) return;
        stop();
        this.deps.clock.clearTimer(timer);
        resolve(true);
      });
    });
  }

  listen(port: number, onConnection: (stream: Duplex, remote: { readonly host: string; readonly port: number }) => void): Promise<NetListener> {
    return this.inner.listen(port, (stream, remote) => {
      const gated = new GatedStream(stream, remote.host, this, this.deps.clock);
      if (!this.cut(remote.host)) {
        onConnection(gated, remote);
        return;
      }
      // Held from the app until the partition heals; the peer's retries (or its timeout) decide.
      // While held nobody else listens: a reset is not an app's error, and a peer that gave up
      // (its socket closed) ends the held stream.
      const ignore = (): void => undefined;
      gated.on('error', ignore);
      const drop = (): void => { stop(); gated.destroy(); };
      stream.once('close', drop);
      const stop = this.onChange(() => {
        if (this.cut(remote.host) || gated.destroyed) return;
        stop();
        stream.off('close', drop);
        gated.off('error', ignore);
        onConnection(gated, remote);
      });
      gated.once('close', stop);
    });
  }

  async connect(host: string, port: number, options?: { readonly timeoutMs?: number }): Promise<Duplex> {
    const ip = isIpv4(host) ? host : (await this.resolve(host))[0];
    if (ip === undefined) throw withCode(`getaddrinfo ENOTFOUND ${host}`, 'ENOTFOUND');
    const timeoutMs = options?.timeoutMs ?? connectTimeoutMsDefault;
    const startMs = this.deps.clock.now();
    if (!(await this.waitUntilOpen(() => this.cut(ip), timeoutMs))) throw withCode(`connect ETIMEDOUT ${ip}:${port}`, 'ETIMEDOUT');
    const setupMs = this.latencyMs('egress', ip) + this.latencyMs('ingress', ip);
    if (setupMs > 0) await sleep(this.deps.clock, setupMs);
    const left = Math.max(1, timeoutMs - (this.deps.clock.now() - startMs));
    return new GatedStream(await this.inner.connect(ip, port, { timeoutMs: left }), ip, this, this.deps.clock);
  }

  async udp(port: number): Promise<UdpEndpoint> {
    const inner = await this.inner.udp(port);
    const clock = this.deps.clock;
    const pending = new Set<TimerId>();
    let closed = false;
    // A delayed datagram due after close is lost (the socket is gone), never a throw in a timer.
    const later = (ms: number, fn: () => void): void => {
      const run = (): void => {
        if (closed) return;
        try { fn(); } catch { /* the socket closed under it: lost, as UDP loses it */ }
      };
      if (ms <= 0) { run(); return; }
      const id = clock.setTimer(ms, () => { pending.delete(id); run(); });
      pending.add(id);
    };
    return {
      port: inner.port,
      send: (data, host, toPort) => {
        const copies = this.datagramCopies('egress', host);
        for (let i = 0; i < copies; i++) later(this.latencyMs('egress', host), () => inner.send(data, host, toPort));
      },
      onMessage: (handler) => inner.onMessage((data, from) => {
        const copies = this.datagramCopies('ingress', from.host);
        for (let i = 0; i < copies; i++) later(this.latencyMs('ingress', from.host), () => handler(data, from));
      }),
      close: () => {
        closed = true;
        for (const id of pending) clock.clearTimer(id);
        pending.clear();
        return inner.close();
      },
    };
  }

  async resolve(name: string): Promise<readonly string[]> {
    const servers = this.deps.nameservers;
    const unreachable = (): boolean => (servers.length === 0 ? this.cut('') : servers.every((s) => this.cut(s)));
    if (this.rules.length > 0 && unreachable()) {
      if (!(await this.waitUntilOpen(unreachable, dnsTimeoutMs))) throw withCode(`getaddrinfo EAI_AGAIN ${name}`, 'EAI_AGAIN');
    }
    const server = servers[0] ?? '';
    const delayMs = this.latencyMs('egress', server) + this.latencyMs('ingress', server);
    if (delayMs > 0) await sleep(this.deps.clock, delayMs);
    return this.inner.resolve(name);
  }
}

interface Queued {
  readonly chunk: Buffer | null;
  readonly atMs: number;
  releaseMs?: number;
}

/** One direction of a stream: chunks released in order, each after its delay, none while held. */
class Lane {
  private readonly queue: Queued[] = [];
  private timer: TimerId | undefined;
  private lastReleaseMs = 0;
  bytes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly isHeld: () => boolean,
    private readonly delayMs: () => number,
    private readonly deliver: (chunk: Buffer | null) => void,
  ) {}

  get empty(): boolean {
    return this.queue.length === 0;
  }

  push(chunk: Buffer | null): void {
    this.queue.push({ chunk, atMs: this.clock.now() });
    this.bytes += chunk?.length ?? 0;
    this.pump();
  }

  pump(): void {
    while (this.timer === undefined && this.queue.length > 0 && !this.isHeld()) {
      const head = this.queue[0]!;
      head.releaseMs ??= Math.max(this.lastReleaseMs, head.atMs + this.delayMs());
      const waitMs = head.releaseMs - this.clock.now();
      if (waitMs > 0) {
        this.timer = this.clock.setTimer(waitMs, () => { this.timer = undefined; this.pump(); });
        return;
      }
      this.queue.shift();
      this.bytes -= head.chunk?.length ?? 0;
      this.lastReleaseMs = head.releaseMs;
      this.deliver(head.chunk);
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.bytes = 0;
  }
}

/** A pod's stream with `peer`, through the pod's rules; the inner stream is the socket. */
class GatedStream extends Duplex {
  private readonly egress: Lane;
  private readonly ingress: Lane;
  private readonly unsubscribe: () => void;
  /** Writes waiting for the send queue to drain (a full send buffer). */
  private waitingWrite: (() => void) | undefined;
  private finishing: (() => void) | undefined;
  private endSeen = false;
  private innerClosed = false;
  private ingressEnded = false;
  /** The socket's own buffer is full (its write returned false): the lane waits for 'drain'. */
  private innerFull = false;
  /** The app reads (its buffer has room): the socket may flow. */
  private wantsData = true;
  private forwardsTimeout = false;

  constructor(private readonly inner: Duplex, peer: string, net: ChaosPodNetwork, clock: Clock) {
    super({ allowHalfOpen: true });
    this.egress = new Lane(clock, () => this.innerFull || net.held('egress', peer), () => net.streamDelayMs('egress', peer), (chunk) => this.sendOut(chunk));
    this.ingress = new Lane(clock, () => net.held('ingress', peer), () => net.streamDelayMs('ingress', peer), (chunk) => this.takeIn(chunk));
    this.unsubscribe = net.onChange(() => { this.egress.pump(); this.ingress.pump(); });
    // As the raw socket would be used: node:http sets no-delay on sockets it accepts or opens.
    this.setNoDelay(true);
    inner.on('data', (chunk: Buffer) => {
      this.ingress.push(chunk);
      this.flowIn();
    });
    inner.on('drain', () => {
      this.innerFull = false;
      this.egress.pump();
    });
    inner.on('end', () => this.endOfInput());
    inner.on('error', (error: Error) => this.destroy(error));
    // A closed socket: what was received still reaches the app (after its delay), then the end;
    // our side ends too, and the stream closes once the app has read it all.
    inner.on('close', () => {
      if (this.destroyed) return;
      this.innerClosed = true;
      this.endOfInput();
      if (this.ingressEnded) this.end();
    });
  }

  /**
   * A socket's options reach the socket: node:http turns Nagle off (setNoDelay) on what it is
   * given, and without that each small write waits for the peer's delayed ACK (~40 ms).
   */
  setNoDelay(noDelay = true): this {
    (this.inner as Partial<Pick<Socket, 'setNoDelay'>>).setNoDelay?.(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelayMs = 0): this {
    (this.inner as Partial<Pick<Socket, 'setKeepAlive'>>).setKeepAlive?.(enable, initialDelayMs);
    return this;
  }

  /** The socket's idle timeout, re-emitted here as 'timeout' (node:http closes idle keep-alive connections with it). */
  setTimeout(timeoutMs: number, onTimeout?: () => void): this {
    const inner = this.inner as Partial<Pick<Socket, 'setTimeout'>>;
    if (inner.setTimeout === undefined) return this;
    inner.setTimeout(timeoutMs);
    if (!this.forwardsTimeout) {
      this.forwardsTimeout = true;
      this.inner.on('timeout', () => this.emit('timeout'));
    }
    if (onTimeout !== undefined) this.once('timeout', onTimeout);
    return this;
  }

  /** Backpressure both ways of the lane: the socket flows only while the app reads and the lane has room. */
  private flowIn(): void {
    if (this.destroyed) return;
    if (this.wantsData && this.ingress.bytes < receiveQueueBytesMax) this.inner.resume();
    else this.inner.pause();
  }

  private endOfInput(): void {
    if (this.endSeen || this.destroyed) return;
    this.endSeen = true;
    this.ingress.push(null);
  }

  private sendOut(chunk: Buffer | null): void {
    // Written to a socket already reset: lost, as the kernel would lose it.
    if (chunk !== null && !this.inner.destroyed && !this.inner.write(chunk)) this.innerFull = true;
    if (this.egress.bytes < sendQueueBytesMax && this.waitingWrite !== undefined) {
      const resume = this.waitingWrite;
      this.waitingWrite = undefined;
      resume();
    }
    if (this.egress.empty && this.finishing !== undefined) {
      const finish = this.finishing;
      this.finishing = undefined;
      finish();
    }
  }

  private takeIn(chunk: Buffer | null): void {
    if (chunk === null) {
      this.ingressEnded = true;
      this.push(null);
      if (this.innerClosed) this.end();
      return;
    }
    if (!this.push(chunk)) this.wantsData = false;
    this.flowIn();
  }

  override _read(): void {
    this.wantsData = true;
    this.flowIn();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.egress.push(Buffer.from(chunk));
    if (this.egress.bytes < sendQueueBytesMax) done();
    else this.waitingWrite = () => done();
  }

  override _final(done: (error?: Error | null) => void): void {
    const end = (): void => {
      if (!this.inner.destroyed && !this.inner.writableEnded) this.inner.end();
      done();
    };
    if (this.egress.empty) end();
    else this.finishing = end;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.unsubscribe();
    this.egress.stop();
    this.ingress.stop();
    this.inner.destroy();
    done(error);
  }
}
