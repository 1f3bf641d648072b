/**
 * `ApiTransport` over actor messages to the apiserver actors (`master-N/apiserver`), for
 * in-process clients and in-cluster components: the traffic crosses the network relay, so chaos
 * (kills, partitions, delays) reaches it like it reaches kubectl's TCP connections.
 *
 * Failover: a request goes to the apiserver that last answered; a refusal (the runtime's, or an
 * apiserver that is still starting) moves it to the next one. A silent apiserver (ask timeout)
 * is suspected for a while; reads then move on too, but a write whose ask timed out may have
 * happened, so it fails with a TransportError('timeout') instead of being sent twice.
 */
import { Observable, type Subscription } from 'rxjs';
import type { Address } from '../primitives/address.js';
import { sleep, type Clock } from '../primitives/clock.js';
import { AskRefusedError, AskTimeoutError } from '../primitives/envelope.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchEvent, ApiWatchResult } from '../client/api-transport.js';
import type { ActorPort } from '../client/actor-port.js';
import { TransportError } from '../client/errors.js';
import { validateApiserverReply, type ApiserverReply } from './messages.js';

export interface ActorApiTransportOptions {
  /** The apiserver actors, in preference order (`master-1/apiserver`, ...). */
  readonly servers: readonly Address[];
  /** One attempt at one apiserver (default 10 s: the core's own request timeout is 60 s, most answers take ms). */
  readonly attemptTimeoutMs?: number;
  /** A watch whose apiserver sent nothing (not even a heartbeat) for this long fails (default 2 s). */
  readonly watchIdleMs?: number;
  /** An apiserver that timed out is tried last for this long (default 5 s). */
  readonly suspectMs?: number;
  /** Events buffered between the watch's start and the caller's subscribe (default 10,000). */
  readonly maxBufferedEvents?: number;
  /** Bearer token added to requests that carry no Authorization header (the apiserver authenticates it). */
  readonly token?: string;
}

type WatchReply = Extract<ApiserverReply, { type: 'apiWatchEvent' | 'apiWatchEnd' | 'apiWatchHeartbeat' }>;

/** Shared by every transport in this thread: transports on one port must never reuse a watch id. */
let nextWatchId = 1;

const isSafeToRepeat = (request: ApiRequest): boolean => request.method === 'GET';

export class ActorApiTransport implements ApiTransport {
  private current = 0;
  private readonly suspects = new Map<Address, number>();
  private readonly attemptTimeoutMs: number;
  private readonly watchIdleMs: number;
  private readonly suspectMs: number;
  private readonly maxBufferedEvents: number;

  constructor(private readonly port: ActorPort, private readonly options: ActorApiTransportOptions) {
    if (options.servers.length === 0) throw new Error('ActorApiTransport: no apiservers given');
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.watchIdleMs = options.watchIdleMs ?? 2_000;
    this.suspectMs = options.suspectMs ?? 5_000;
    this.maxBufferedEvents = options.maxBufferedEvents ?? 10_000;
  }

  /** The apiserver the next request goes to first. */
  get preferred(): Address {
    return this.order()[0]!;
  }

  async request(given: ApiRequest): Promise<ApiResponse> {
    const request = this.authorized(given);
    const reply = await this.askAround(request, { type: 'apiRequest', request });
    if (reply.reply.type === 'apiResponse') return reply.reply.response;
    throw new TransportError('protocol', `unexpected reply ${reply.reply.type} from ${reply.server}`);
  }

  async watch(given: ApiRequest): Promise<ApiWatchResult> {
    const request = this.authorized(given);
    if (request.query['watch'] !== 'true' && request.query['watch'] !== '1') throw new Error('watch() needs watch=true in the query');
    const watchId = nextWatchId++;
    // Listen before asking: events may follow the reply at once.
    const stream = new WatchStream(this.port, watchId, this.maxBufferedEvents);
    try {
      const { server, reply } = await this.askAround(request, { type: 'apiWatch', watchId, request });
      if (reply.type === 'apiResponse') {
        stream.close();
        return { kind: 'response', response: reply.response };
      }
      if (reply.type !== 'apiWatchStarted') throw new TransportError('protocol', `unexpected reply ${reply.type} from ${server}`);
      return { kind: 'stream', events: stream.follow(server, this.watchIdleMs, () => this.suspect(server)) };
    } catch (error) {
      stream.close();
      throw error;
    }
  }

  private authorized(request: ApiRequest): ApiRequest {
    if (this.options.token === undefined || request.headers['authorization'] !== undefined) return request;
    return { ...request, headers: { ...request.headers, authorization: `Bearer ${this.options.token}` } };
  }

  /** Apiservers in the order to try: the last good one first, suspects last. */
  private order(): Address[] {
    const servers = this.options.servers;
    const rotated = servers.map((_, i) => servers[(this.current + i) % servers.length]!);
    const now = this.port.clock.now();
    const healthy = rotated.filter((s) => !((this.suspects.get(s) ?? -Infinity) > now));
    return [...healthy, ...rotated.filter((s) => !healthy.includes(s))];
  }

  private suspect(server: Address): void {
    this.suspects.set(server, this.port.clock.now() + this.suspectMs);
  }

  private settleOn(server: Address): void {
    this.current = this.options.servers.indexOf(server);
    this.suspects.delete(server);
  }

  private async askAround(request: ApiRequest, message: { readonly type: string; readonly [k: string]: unknown }): Promise<{ server: Address; reply: ApiserverReply }> {
    const reasons: string[] = [];
    for (const server of this.order()) {
      let raw: unknown;
      try {
        raw = await this.port.ask(server, message, { timeoutMs: this.attemptTimeoutMs });
      } catch (error) {
        if (error instanceof AskTimeoutError) {
          this.suspect(server);
          if (!isSafeToRepeat(request) || message.type === 'apiWatch') {
            throw new TransportError('timeout', `${request.method} ${request.path}: ${server} did not answer within ${this.attemptTimeoutMs} ms (outcome unknown)`);
          }
          reasons.push(`${server}: no answer`);
          continue;
        }
        if (error instanceof AskRefusedError) {
          if (error.reply.type === '$rejected') throw new TransportError('protocol', error.message);
          reasons.push(`${server}: ${error.message}`);
          continue;
        }
        throw error;
      }
      const reply = validateApiserverReply(raw);
      if (reply === undefined) throw new TransportError('protocol', `malformed reply from ${server}`);
      if (reply.type === 'apiUnavailable') {
        reasons.push(reply.reason);
        continue;
      }
      this.settleOn(server);
      return { server, reply };
    }
    throw new TransportError('unreachable', `${request.method} ${request.path}: no apiserver could serve it (${reasons.join('; ')})`);
  }
}

/**
 * The client end of one in-cluster watch: buffers what arrives before the caller subscribes,
 * follows heartbeats, and fails the stream when the apiserver forgets the watch or goes silent,
 * so the resuming watch (src/client/watch.ts) re-watches through another apiserver.
 */
class WatchStream {
  private readonly buffer: WatchReply[] = [];
  private sink: ((reply: WatchReply) => void) | undefined;
  private overflow = false;
  private readonly subscription: Subscription;
  private server: Address | undefined;

  constructor(private readonly port: ActorPort, private readonly watchId: number, private readonly maxBuffered: number) {
    this.subscription = port.incoming$.subscribe((received) => {
      if (this.server !== undefined && received.from !== this.server) return;
      const reply = validateApiserverReply(received.message);
      if (reply === undefined || !this.concerns(reply)) return;
      // Before the start was confirmed, heartbeats predate the watch (or come from another apiserver).
      if (reply.type === 'apiWatchHeartbeat' && this.server === undefined) return;
      if (this.sink) this.sink(reply);
      else if (this.buffer.length < this.maxBuffered) this.buffer.push(reply);
      else this.overflow = true;
    });
  }

  private concerns(reply: ApiserverReply): reply is WatchReply {
    switch (reply.type) {
      case 'apiWatchEvent':
      case 'apiWatchEnd':
        return reply.watchId === this.watchId;
      case 'apiWatchHeartbeat':
        return true;
      default:
        return false;
    }
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  follow(server: Address, idleMs: number, onSilence: () => void): Observable<ApiWatchEvent> {
    this.server = server;
    let subscribed = false;
    return new Observable<ApiWatchEvent>((subscriber) => {
      if (subscribed) {
        subscriber.error(new Error('an actor watch stream can be subscribed once'));
        return undefined;
      }
      subscribed = true;
      const clock = this.port.clock;
      let lastHeardMs = clock.now();
      let timer = 0;
      let done = false;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        clock.clearTimer(timer);
        this.close();
        if (error) subscriber.error(error);
        else subscriber.complete();
      };
      const check = (): void => {
        if (done) return;
        if (clock.now() - lastHeardMs >= idleMs) {
          onSilence();
          this.port.send(server, { type: 'apiWatchCancel', watchId: this.watchId });
          finish(new TransportError('broken', `watch ${this.watchId}: ${server} went silent for ${idleMs} ms`));
          return;
        }
        timer = clock.setTimer(idleMs / 4, check);
      };
      let lastSeq = 0;
      const handle = (reply: WatchReply): void => {
        if (done) return;
        lastHeardMs = clock.now();
        if (reply.type !== 'apiWatchHeartbeat' && reply.seq !== undefined) {
          if (reply.seq !== lastSeq + 1) {
            // A lost tell: fail the stream so the resuming watch re-watches from the last resourceVersion it saw.
            this.port.send(server, { type: 'apiWatchCancel', watchId: this.watchId });
            finish(new TransportError('broken', `watch ${this.watchId}: message ${lastSeq + 1} from ${server} was lost`));
            return;
          }
          lastSeq = reply.seq;
        }
        switch (reply.type) {
          case 'apiWatchEvent':
            subscriber.next(reply.event);
            return;
          case 'apiWatchEnd':
            finish();
            return;
          case 'apiWatchHeartbeat':
            if (!reply.watchIds.includes(this.watchId)) finish(new TransportError('broken', `watch ${this.watchId}: ${server} no longer has it`));
            return;
          default: {
            const unreachable: never = reply;
            throw new Error(`unknown watch reply ${JSON.stringify(unreachable)}`);
          }
        }
      };
      if (this.overflow) {
        finish(new TransportError('broken', `watch ${this.watchId}: more than ${this.maxBuffered} events before subscribe`));
        return undefined;
      }
      for (const reply of this.buffer.splice(0)) handle(reply);
      this.sink = handle;
      timer = clock.setTimer(idleMs / 4, check);
      return () => {
        if (!done) this.port.send(server, { type: 'apiWatchCancel', watchId: this.watchId });
        done = true;
        clock.clearTimer(timer);
        this.close();
      };
    });
  }
}

/** How often a starting component asks for `/readyz` (one actor message each). */
const apiserverReadyPollMs = 50;

/**
 * Resolves true once an apiserver answers `/readyz` with 200, false if `stopped()` first. Control
 * plane components wait for this before starting informers and leader election, as upstream's
 * wait for the apiserver's health: until then every list, watch and Lease attempt would be refused
 * (503) and backed off, while the refusals cost the starting apiservers and etcd members their CPU.
 */
export async function whenApiserverReady(transport: ApiTransport, clock: Clock, stopped: () => boolean): Promise<boolean> {
  while (!stopped()) {
    const ready = await transport.request({ method: 'GET', path: '/readyz', query: {}, headers: {} }).then((r) => r.status === 200, () => false);
    if (stopped()) return false;
    if (ready) return true;
    await sleep(clock, apiserverReadyPollMs);
  }
  return false;
}
