/**
 * The byte-moving half of a userspace proxy, shared by kube-proxy and the host's Service front
 * (src/cluster/service-front.ts): piping a TCP connection to a target, and UDP flows — one socket
 * per client flow, connected to its target, closed after an idle timeout — whose replies go back
 * to the client through the socket that received its datagrams.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

/**
 * Pipes `client` to host:port, writing `first` ahead of the client's bytes; resets the client if
 * the target refuses. `localAddress` binds the upstream side to it (a pod's own IP, as a pod's
 * traffic to a Service reaches its backend from the pod's IP, DNAT without masquerade).
 */
export function pipeTcp(client: Socket, host: string, port: number, first: Uint8Array, onRefused?: () => boolean, localAddress?: string): void {
  client.pause();
  const upstream = connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
  upstream.setNoDelay(true);
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    if (first.byteLength > 0) upstream.write(first);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (!connected && onRefused !== undefined && error.code === 'ECONNREFUSED' && onRefused()) return;
    resetSocket(client);
  });
  client.on('error', () => upstream.destroy());
  // Half-closes travel with pipe(); a close of either side ends the other.
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => { if (connected) client.destroy(); });
}

/** Closes with a TCP RST (what a REJECT --reject-with tcp-reset looks like to the client). */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** Reads until the PROXY header's CRLF (or `limit` bytes), then hands over what was read. */
export function readHead(socket: Socket, limit: number, onHead: (data: Buffer) => void, timeoutMs: number): void {
  let buffered = Buffer.alloc(0);
  const timer = setTimeout(() => resetSocket(socket), timeoutMs);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.indexOf('\r\n') >= 0 || buffered.length >= limit) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      onHead(buffered);
    }
  };
  socket.on('data', onData);
  socket.once('close', () => clearTimeout(timer));
  socket.on('error', () => clearTimeout(timer));
}

export interface UdpFlow<Tag> {
  readonly key: string;
  readonly tag: Tag;
  readonly socket: UdpSocket;
  lastMs: number;
}

/**
 * UDP flows of one receiving socket. A flow is keyed by the client's address and whatever the
 * caller adds (its destination); its socket is connected to the target, so the kernel tells us
 * when nothing listens there (ECONNREFUSED from the ICMP port-unreachable on loopback).
 */
export class UdpFlows<Tag> {
  private readonly flows = new Map<string, UdpFlow<Tag>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: {
    readonly idleTimeoutMs: number;
    readonly maxFlows: number;
    readonly now: () => number;
    /** A reply from the target for the client of `flow`. */
    readonly onReply: (flow: UdpFlow<Tag>, data: Buffer, client: RemoteInfo) => void;
    readonly onError?: (flow: UdpFlow<Tag>, error: NodeJS.ErrnoException) => void;
  }) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.min(o.idleTimeoutMs, 5_000)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.flows.size;
  }

  get(key: string): UdpFlow<Tag> | undefined {
    return this.flows.get(key);
  }

  /** Opens a flow to host:port for `client`; undefined when the table is full. */
  open(key: string, tag: Tag, client: RemoteInfo, host: string, port: number): UdpFlow<Tag> | undefined {
    if (this.flows.size >= this.o.maxFlows) this.sweep();
    if (this.flows.size >= this.o.maxFlows) return undefined;
    const socket = createSocket('udp4');
    const flow: UdpFlow<Tag> = { key, tag, socket, lastMs: this.o.now() };
    socket.on('message', (data) => {
      flow.lastMs = this.o.now();
      this.o.onReply(flow, data, client);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.o.onError?.(flow, error));
    socket.connect(port, host);
    this.flows.set(key, flow);
    return flow;
  }

  send(flow: UdpFlow<Tag>, data: Uint8Array): void {
    flow.lastMs = this.o.now();
    const go = (): void => {
      try {
        flow.socket.send(data);
      } catch {
        // Closed meanwhile: the datagram is lost, as UDP may lose it anyway.
      }
    };
    // connect() is asynchronous; a send before it completes would throw ERR_SOCKET_DGRAM_NOT_CONNECTED.
    try {
      flow.socket.remoteAddress();
      go();
    } catch {
      flow.socket.once('connect', go);
    }
  }

  close(key: string): void {
    const flow = this.flows.get(key);
    if (flow === undefined) return;
    this.flows.delete(key);
    try {
      flow.socket.close();
    } catch {
      // already closed
    }
  }

  /** Closes the flows `drop` says no longer hold (e.g. their endpoint went away). */
  closeWhere(drop: (flow: UdpFlow<Tag>) => boolean): void {
    for (const [key, flow] of this.flows) if (drop(flow)) this.close(key);
  }

  closeAll(): void {
    clearInterval(this.sweeper);
    for (const key of [...this.flows.keys()]) this.close(key);
  }

  private sweep(): void {
    const now = this.o.now();
    for (const [key, flow] of this.flows) if (now - flow.lastMs > this.o.idleTimeoutMs) this.close(key);
  }
}
