/**
 * A pod network in memory: listeners and UDP sockets keyed by `ip:port`, connections as
 * in-process Duplex pairs. Unit tests run images on it without sockets, and a placement without
 * sockets per pod (packed, simulated) can use it. DNS names resolve through a table the owner fills.
 */
import { Duplex } from 'node:stream';
import type { NetListener, PodNetwork, UdpEndpoint } from './image.js';

type Endpoint = { readonly host: string; readonly port: number };
type ConnectionHandler = (stream: Duplex, remote: Endpoint) => void;
type DatagramHandler = (data: Uint8Array, from: Endpoint) => void;

/** First port handed out for port 0 (Linux's ephemeral range starts at 32768). */
const ephemeralPortFirst = 32_768;
const ephemeralPortLast = 60_999;

/** One end of an in-memory connection: what is written here is read at the peer. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;

  override _read(): void {
    // Data is pushed by the peer's writes.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed) {
      done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      return;
    }
    peer.push(Buffer.from(chunk));
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.peer?.push(null);
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    if (peer !== undefined && !peer.destroyed) {
      peer.push(null);
      peer.destroy();
    }
    done(error);
  }
}

function duplexPair(): [Duplex, Duplex] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

function addressError(code: string, message: string): Error {
  return Object.assign(new Error(`${message} ${code}`), { code });
}

export class MemoryNetworkFabric {
  private readonly listeners = new Map<string, ConnectionHandler>();
  private readonly udpSockets = new Map<string, DatagramHandler[]>();
  private readonly names = new Map<string, readonly string[]>();
  private nextPort = ephemeralPortFirst;

  /** Makes `name` resolve (from any pod) to `ips`. */
  setName(name: string, ips: readonly string[]): void {
    this.names.set(name.replace(/\.$/, ''), ips);
  }

  podNetwork(podIp: string): PodNetwork {
    return {
      podIp,
      listen: (port, onConnection) => this.listen(podIp, port, onConnection),
      connect: (host, port) => this.connect(podIp, host, port),
      udp: (port) => this.udp(podIp, port),
      resolve: (name) => Promise.resolve(this.names.get(name.replace(/\.$/, '')) ?? []),
    };
  }

  private freePort(ip: string): number {
    for (let i = 0; i <= ephemeralPortLast - ephemeralPortFirst; i++) {
      const port = this.nextPort;
      this.nextPort = port >= ephemeralPortLast ? ephemeralPortFirst : port + 1;
      if (!this.listeners.has(`${ip}:${port}`) && !this.udpSockets.has(`${ip}:${port}`)) return port;
    }
    throw addressError('EADDRINUSE', `no free port on ${ip}`);
  }

  private async listen(ip: string, port: number, onConnection: ConnectionHandler): Promise<NetListener> {
    const bound = port === 0 ? this.freePort(ip) : port;
    const key = `${ip}:${bound}`;
    if (this.listeners.has(key)) throw addressError('EADDRINUSE', `listen ${key}`);
    this.listeners.set(key, onConnection);
    return { port: bound, close: async () => { if (this.listeners.get(key) === onConnection) this.listeners.delete(key); } };
  }

  private async connect(fromIp: string, host: string, port: number): Promise<Duplex> {
    const target = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? host : this.names.get(host)?.[0];
    if (target === undefined) throw addressError('ENOTFOUND', `getaddrinfo ${host}`);
    const handler = this.listeners.get(`${target}:${port}`);
    if (handler === undefined) throw addressError('ECONNREFUSED', `connect ${target}:${port}`);
    const [client, server] = duplexPair();
    handler(server, { host: fromIp, port: this.freePort(fromIp) });
    return client;
  }

  private async udp(ip: string, port: number): Promise<UdpEndpoint> {
    const bound = port === 0 ? this.freePort(ip) : port;
    const key = `${ip}:${bound}`;
    if (this.udpSockets.has(key)) throw addressError('EADDRINUSE', `bind ${key}`);
    const handlers: DatagramHandler[] = [];
    this.udpSockets.set(key, handlers);
    return {
      port: bound,
      send: (data, host, toPort) => {
        const copy = Uint8Array.from(data);
        // Asynchronous like a real datagram; lost when nobody listens (UDP).
        queueMicrotask(() => { for (const handler of this.udpSockets.get(`${host}:${toPort}`) ?? []) handler(copy, { host: ip, port: bound }); });
      },
      onMessage: (handler) => { handlers.push(handler); },
      close: async () => { if (this.udpSockets.get(key) === handlers) this.udpSockets.delete(key); },
    };
  }
}
