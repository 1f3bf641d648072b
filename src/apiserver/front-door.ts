/**
 * The HA front door (DESIGN §5: 127.0.0.1:6443): a TCP load balancer in front of the apiservers.
 * TLS passes through untouched (the serving certificate carries 127.0.0.1 and every master IP), so
 * bearer tokens stay end-to-end encrypted. Each backend is health-checked with `GET /readyz` over TLS
 * trusting the cluster CA; each new connection goes to the next healthy backend, round-robin. A
 * backend that dies takes its connections with it; clients reconnect and land elsewhere.
 *
 * With no backend healthy, connections go to every backend in turn (Envoy's "panic mode"): every
 * apiserver fails `/readyz` at once when etcd is between leaders, yet each serves again the moment
 * it has one, so dropping connections then would only turn a slow request into a failed one (a
 * POST is not retried). A backend that refuses the connection is still skipped.
 */
import { readyz } from './readyz.js';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Clock, TimerId } from '../primitives/clock.js';
import { RealClock } from '../runtime/real-clock.js';
import {
  frontDoorConnectTimeoutMs, frontDoorHealthIntervalMs, frontDoorHealthTimeoutMs, frontDoorUnhealthyAfterFailures, maxFrontDoorConnections,
} from './limits.js';

const defaultFrontDoorHost = '127.0.0.1';
const defaultFrontDoorPort = 6443;

export interface Backend {
  readonly host: string;
  readonly port: number;
}

export interface FrontDoorOptions {
  readonly backends: readonly Backend[];
  /** The cluster CA, to verify each backend's serving certificate during health checks. */
  readonly caPem: string;
  readonly host?: string;
  readonly port?: number;
  readonly clock?: Clock;
  readonly healthIntervalMs?: number;
  readonly unhealthyAfterFailures?: number;
}

interface BackendState {
  readonly backend: Backend;
  failures: number;
  healthy: boolean;
  connections: number;
}

export class FrontDoor {
  private readonly states: BackendState[];
  private readonly clients = new Set<Socket>();
  private next = 0;
  private timer: TimerId | undefined;
  private closed = false;
  /** The backend the most recent connection went to (tests and chaos reports). */
  lastBackend: Backend | undefined;

  /** The healthy backend holding the most open connections now (chaos targets: the busiest master); undefined with none open. */
  busiestBackend(): Backend | undefined {
    let best: { backend: Backend; connections: number } | undefined;
    for (const s of this.states) if (s.healthy && s.connections > 0 && (best === undefined || s.connections > best.connections)) best = s;
    return best?.backend;
  }

  private constructor(private readonly server: Server, private readonly o: FrontDoorOptions, private readonly clock: Clock, readonly host: string, readonly port: number) {
    this.states = o.backends.map((backend) => ({ backend, failures: 0, healthy: true, connections: 0 }));
    server.on('connection', (socket) => this.accept(socket));
  }

  static listen(o: FrontDoorOptions): Promise<FrontDoor> {
    if (o.backends.length === 0) throw new Error('front door: no backends');
    const server = createServer({ pauseOnConnect: true });
    server.maxConnections = maxFrontDoorConnections;
    const host = o.host ?? defaultFrontDoorHost;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? defaultFrontDoorPort, host, () => {
        server.off('error', reject);
        const addr = server.address();
        const port = typeof addr === 'object' && addr !== null ? addr.port : (o.port ?? defaultFrontDoorPort);
        const door = new FrontDoor(server, o, o.clock ?? new RealClock(), host, port);
        door.scheduleHealthChecks(0);
        resolve(door);
      });
    });
  }

  get url(): string {
    return `https://${this.host}:${this.port}`;
  }

  healthyBackends(): Backend[] {
    return this.states.filter((s) => s.healthy).map((s) => s.backend);
  }

  /** Runs one round of health checks now (tests use it instead of waiting for the interval). */
  async checkNow(): Promise<void> {
    await Promise.all(this.states.map((s) => this.check(s)));
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    for (const c of this.clients) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private scheduleHealthChecks(delayMs: number): void {
    if (this.closed) return;
    this.timer = this.clock.setTimer(delayMs, () => {
      void this.checkNow().then(() => this.scheduleHealthChecks(this.o.healthIntervalMs ?? frontDoorHealthIntervalMs));
    });
  }

  private async check(s: BackendState): Promise<void> {
    this.record(s, await readyz(`https://${s.backend.host}:${s.backend.port}`, this.o.caPem, frontDoorHealthTimeoutMs));
  }

  private record(s: BackendState, ok: boolean): void {
    if (ok) {
      s.failures = 0;
      s.healthy = true;
      return;
    }
    s.failures++;
    if (s.failures >= (this.o.unhealthyAfterFailures ?? frontDoorUnhealthyAfterFailures)) s.healthy = false;
  }

  /** Healthy backends (all of them when none is) in round-robin order starting at the next one. */
  private candidates(): BackendState[] {
    const healthy = this.states.filter((s) => s.healthy);
    const pool = healthy.length === 0 ? this.states : healthy;
    const start = this.next++ % pool.length;
    return [...pool.slice(start), ...pool.slice(0, start)];
  }

  private accept(client: Socket): void {
    this.clients.add(client);
    client.on('close', () => this.clients.delete(client));
    client.on('error', () => client.destroy());
    this.forward(client, this.candidates());
  }

  private forward(client: Socket, candidates: BackendState[]): void {
    const s = candidates.shift();
    if (s === undefined || client.destroyed) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: s.backend.host, port: s.backend.port });
    upstream.setTimeout(frontDoorConnectTimeoutMs);
    const fail = (): void => {
      upstream.destroy();
      // Refused before any byte went through: count it against the backend and try the next one.
      this.record(s, false);
      this.forward(client, candidates);
    };
    upstream.once('timeout', fail);
    upstream.once('error', fail);
    upstream.once('connect', () => {
      upstream.off('timeout', fail);
      upstream.off('error', fail);
      upstream.setTimeout(0);
      this.lastBackend = s.backend;
      s.connections++;
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => { s.connections--; client.destroy(); });
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
