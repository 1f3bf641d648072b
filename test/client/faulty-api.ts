/**
 * A thin fault wrapper over a real ApiTransport (the in-memory ApiServerCore, see helpers.ts): it
 * logs and counts what passes, and injects the faults client tests need — requests answered with a
 * chosen Status (a 410 to a watch, a 500, a 403), timing out, refused or hanging; latency on the
 * virtual clock; open watch streams ended (server timeout, failover), broken (connection reset),
 * sent an ERROR event, or held back and released as one burst; per-client links that can be cut.
 * Everything else is the apiserver's own answer.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { JsonObject, Status } from '../../src/api/index.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchEvent, ApiWatchResult } from '../../src/client/api-transport.js';
import { TransportError } from '../../src/client/errors.js';
import type { Clock } from '../../src/primitives/clock.js';
import type { Prng } from '../../src/primitives/prng.js';

export type Fault =
  /** Answered with this Status instead of reaching the apiserver (for a watch: before streaming). */
  | { readonly kind: 'status'; readonly status: Status }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unreachable' }
  /** Never answers (the client's deadline must catch it). */
  | { readonly kind: 'hang' };

export interface FaultyApiOptions {
  readonly clock: Clock;
  /** Requests take [minMs, maxMs) to arrive and as long to come back. */
  readonly latency?: { readonly prng: Prng; readonly minMs: number; readonly maxMs: number } | undefined;
}

interface LiveWatch {
  readonly subscriber: Subscriber<ApiWatchEvent>;
  /** Events held back by `holdWatches`, delivered by `releaseWatches`. */
  held: ApiWatchEvent[] | undefined;
}

const fail = (s: Status): ApiResponse => ({ status: s.code, contentType: 'application/json', body: s });

export class FaultyApi implements ApiTransport {
  private readonly faults: Array<{ fault: Fault; match: (r: ApiRequest) => boolean; remaining: number }> = [];
  private readonly live = new Set<LiveWatch>();
  private holding = false;
  /** Every request that reached this wrapper, watches included, in order. */
  readonly requests: ApiRequest[] = [];
  watchRequests = 0;
  /** Watch streams ever subscribed (a transport frees a stream's connection only when it is). */
  watchSubscriptions = 0;

  constructor(private readonly inner: ApiTransport, private readonly options: FaultyApiOptions) {}

  /** Watch streams open through this wrapper now. */
  get openWatches(): number {
    return this.live.size;
  }

  /** The next `count` requests matching `match` (default: all) fail with `fault`. */
  failNext(fault: Fault, count = 1, match: (r: ApiRequest) => boolean = () => true): void {
    this.faults.push({ fault, match, remaining: count });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Ends every open watch stream normally (server timeout, failover). */
  dropWatches(): void {
    for (const w of this.takeLive()) w.subscriber.complete();
  }

  /** Breaks every open watch stream (connection reset). */
  breakWatches(): void {
    for (const w of this.takeLive()) w.subscriber.error(new TransportError('broken', 'connection reset'));
  }

  /** Sends an ERROR event with `status` on every open watch stream. */
  sendWatchError(status: Status): void {
    for (const w of [...this.live]) w.subscriber.next({ type: 'ERROR', object: status as unknown as JsonObject });
  }

  /** Holds back the events of open (and new) watch streams, as a slow link does. */
  holdWatches(): void {
    this.holding = true;
    for (const w of this.live) w.held ??= [];
  }

  /** Delivers everything held, stream by stream, as one synchronous burst. */
  releaseWatches(): void {
    this.holding = false;
    for (const w of [...this.live]) {
      const held = w.held ?? [];
      w.held = undefined;
      for (const e of held) w.subscriber.next(e);
    }
  }

  /** A link of its own for one client among many: cut it to make that client's requests fail or hang. */
  connection(): FaultyLink {
    return new FaultyLink(this);
  }

  async request(request: ApiRequest): Promise<ApiResponse> {
    this.requests.push(request);
    await this.delay();
    const fault = this.takeFault(request);
    if (fault !== undefined) return await this.applyFault(fault);
    const response = await this.inner.request(request);
    await this.delay();
    return response;
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    this.requests.push(request);
    this.watchRequests++;
    await this.delay();
    const fault = this.takeFault(request);
    if (fault !== undefined) return { kind: 'response', response: await this.applyFault(fault) };
    const result = await this.inner.watch(request);
    if (result.kind === 'response') return result;
    return { kind: 'stream', events: this.tracked(result.events) };
  }

  /** The apiserver's stream, registered while subscribed so that faults can reach it. */
  private tracked(events: Observable<ApiWatchEvent>): Observable<ApiWatchEvent> {
    return new Observable<ApiWatchEvent>((subscriber) => {
      this.watchSubscriptions++;
      const w: LiveWatch = { subscriber, held: this.holding ? [] : undefined };
      this.live.add(w);
      const inner = events.subscribe({
        next: (e) => {
          if (w.held !== undefined) w.held.push(e);
          else subscriber.next(e);
        },
        error: (error: unknown) => { this.live.delete(w); subscriber.error(error); },
        complete: () => { this.live.delete(w); subscriber.complete(); },
      });
      return () => {
        this.live.delete(w);
        inner.unsubscribe();
      };
    });
  }

  private takeLive(): LiveWatch[] {
    const all = [...this.live];
    this.live.clear();
    return all;
  }

  private async delay(): Promise<void> {
    const { clock, latency } = this.options;
    if (latency === undefined) return;
    const ms = latency.prng.between(latency.minMs, latency.maxMs);
    await new Promise<void>((resolve) => clock.setTimer(ms, resolve));
  }

  private takeFault(request: ApiRequest): Fault | undefined {
    const entry = this.faults.find((f) => f.remaining > 0 && f.match(request));
    if (entry === undefined) return undefined;
    entry.remaining--;
    return entry.fault;
  }

  private async applyFault(fault: Fault): Promise<ApiResponse> {
    switch (fault.kind) {
      case 'status': return fail(fault.status);
      case 'timeout': throw new TransportError('timeout', 'injected timeout');
      case 'unreachable': throw new TransportError('unreachable', 'injected: connection refused');
      case 'hang': return await new Promise<ApiResponse>(() => undefined);
      default: {
        const never: never = fault;
        throw new Error(`unknown fault ${JSON.stringify(never)}`);
      }
    }
  }
}

/** One client's link to the wrapper: `mode` cuts it (refused, or silent) or brings it back up. */
export class FaultyLink implements ApiTransport {
  mode: 'up' | 'unreachable' | 'hang' = 'up';

  constructor(private readonly server: FaultyApi) {}

  async request(request: ApiRequest): Promise<ApiResponse> {
    await this.check();
    const response = await this.server.request(request);
    await this.check();
    return response;
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    await this.check();
    return await this.server.watch(request);
  }

  private async check(): Promise<void> {
    if (this.mode === 'unreachable') throw new TransportError('unreachable', 'link cut');
    if (this.mode === 'hang') await new Promise<never>(() => undefined);
  }
}

/** Matches watch requests only. */
export const watches = (r: ApiRequest): boolean => r.query['watch'] === 'true';
