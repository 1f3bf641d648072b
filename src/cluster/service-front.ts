/**
 * The host's way into ClusterIPs (DESIGN §5): so that `curl 127.96.x.y` and `dig @127.96.0.10`
 * work from the shell, the main thread binds every ClusterIP:port (TCP and UDP) on loopback for
 * real and forwards each connection or datagram, behind a PROXY v1 header naming the ClusterIP
 * it was meant for, to a live node's kube-proxy service-proxy port. Nodes are tried round robin;
 * a refused connection (a dead node: its thread and sockets are gone) moves on to the next at
 * once, so the shell reaches every ClusterIP as long as any node lives.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { KubeObject } from '../api/index.js';
import type { ApiTransport } from '../client/api-transport.js';
import { KubeClient } from '../client/client.js';
import { Informer } from '../client/informer.js';
import type { Clock } from '../primitives/clock.js';
import { encodeProxyHeader } from '../proxy/proxy-header.js';
import { buildProxyTable, type ProxyProtocol } from '../proxy/rules.js';
import { pipeTcp, resetSocket, UdpFlows } from '../../actors/kube-proxy/relay.js';

export interface ServiceProxyTarget {
  readonly host: string;
  readonly tcpPort: number;
  readonly udpPort: number;
}

export interface ServiceFrontOptions {
  readonly transport: ApiTransport;
  readonly clock: Clock;
  /** Nodes' kube-proxy service-proxy addresses (the cluster updates them with setTargets). */
  readonly targets: readonly ServiceProxyTarget[];
  readonly warn: (message: string) => void;
  readonly udpIdleTimeoutMs?: number;
}

interface Bound { close(): void }

export class ServiceFront {
  private readonly services: Informer<KubeObject>;
  private targets: readonly ServiceProxyTarget[];
  private next = 0;
  private readonly bound = new Map<string, Bound>();
  private readonly failed = new Set<string>();
  private eaccesLogged = false;
  private queued = false;
  private stopped = false;

  constructor(private readonly o: ServiceFrontOptions) {
    this.targets = o.targets;
    this.services = new Informer({ client: new KubeClient({ transport: o.transport, clock: o.clock, userAgent: 'pocketkube-service-front' }), resource: { apiVersion: 'v1', kind: 'Service' }, onError: (e, c) => o.warn(`service front: ${c}: ${String(e)}`) });
    const queue = { onAdd: () => this.queueSync(), onUpdate: () => this.queueSync(), onDelete: () => this.queueSync() };
    this.services.addEventHandler(queue);
  }

  start(): void {
    this.services.start();
  }

  stop(): void {
    this.stopped = true;
    this.services.stop();
    for (const b of this.bound.values()) b.close();
    this.bound.clear();
  }

  setTargets(targets: readonly ServiceProxyTarget[]): void {
    this.targets = targets;
  }

  /** ClusterIP:port/proto keys bound now. */
  get boundKeys(): string[] {
    return [...this.bound.keys()].sort();
  }

  private queueSync(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    queueMicrotask(() => { this.queued = false; if (!this.stopped) this.sync(); });
  }

  private sync(): void {
    const table = buildProxyTable(this.services.list(), []);
    const want = new Set(table.byClusterIp.keys());
    for (const [key, b] of this.bound) if (!want.has(key)) { b.close(); this.bound.delete(key); }
    for (const key of this.failed) if (!want.has(key)) this.failed.delete(key);
    for (const key of want) {
      if (this.bound.has(key) || this.failed.has(key)) continue;
      const [protocol, address] = key.split(' ') as [ProxyProtocol, string];
      const [ip, portText] = address.split(':') as [string, string];
      const port = Number(portText);
      const onError = (error: NodeJS.ErrnoException): void => {
        this.bound.get(key)?.close();
        this.bound.delete(key);
        this.failed.add(key);
        if (error.code === 'EACCES') {
          if (!this.eaccesLogged) this.o.warn(`service front: cannot bind ${key} (EACCES): ports below 1024 need root or CAP_NET_BIND_SERVICE; ClusterIPs on such ports are not reachable from the host`);
          this.eaccesLogged = true;
        } else {
          this.o.warn(`service front: cannot bind ${key}: ${error.message}`);
        }
      };
      this.bound.set(key, protocol === 'TCP' ? this.bindTcp(ip, port, onError) : this.bindUdp(ip, port, onError));
    }
  }

  private bindTcp(ip: string, port: number, onError: (e: NodeJS.ErrnoException) => void): Bound {
    const server: Server = createServer({ noDelay: true }, (socket) => this.forwardTcp(socket, ip, port, 0));
    server.once('error', onError);
    server.listen(port, ip);
    return { close: () => server.close() };
  }

  private forwardTcp(socket: Socket, ip: string, port: number, attempt: number): void {
    socket.on('error', () => undefined);
    if (attempt >= this.targets.length) {
      resetSocket(socket);
      return;
    }
    const target = this.targets[this.next++ % this.targets.length]!;
    const header = encodeProxyHeader({ protocol: 'TCP4', sourceIp: socket.remoteAddress ?? '127.0.0.1', sourcePort: socket.remotePort ?? 0, destinationIp: ip, destinationPort: port });
    pipeTcp(socket, target.host, target.tcpPort, header, () => {
      this.forwardTcp(socket, ip, port, attempt + 1);
      return true;
    });
  }

  private bindUdp(ip: string, port: number, onError: (e: NodeJS.ErrnoException) => void): Bound {
    const front: UdpSocket = createSocket('udp4');
    const flows = new UdpFlows<{ attempt: number; last: Buffer }>({
      idleTimeoutMs: this.o.udpIdleTimeoutMs ?? 30_000, maxFlows: 4_096, now: () => this.o.clock.now(),
      onReply: (_flow, data, client) => front.send(data, client.port, client.address),
      // ECONNREFUSED on a connected UDP socket: that node's kube-proxy is gone; resend through the next.
      onError: (flow, error) => {
        flows.close(flow.key);
        if (error.code === 'ECONNREFUSED' && flow.tag.attempt + 1 < this.targets.length) this.relay(flows, flow.key, flow.tag.last, flow.tag.attempt + 1, ip, port, clientOf(flow.key));
      },
    });
    front.once('error', onError);
    front.on('message', (data, from) => {
      const key = `${from.address}:${from.port}`;
      const header = encodeProxyHeader({ protocol: 'UDP4', sourceIp: from.address, sourcePort: from.port, destinationIp: ip, destinationPort: port });
      this.relay(flows, key, Buffer.concat([header, data]), 0, ip, port, from);
    });
    front.bind(port, ip);
    return { close: () => { flows.closeAll(); try { front.close(); } catch { /* closed */ } } };
  }

  private relay(flows: UdpFlows<{ attempt: number; last: Buffer }>, key: string, datagram: Buffer, attempt: number, _ip: string, _port: number, from: { address: string; port: number }): void {
    let flow = flows.get(key);
    if (flow === undefined) {
      if (this.targets.length === 0) return;
      const target = this.targets[this.next++ % this.targets.length]!;
      flow = flows.open(key, { attempt, last: datagram }, { address: from.address, port: from.port, family: 'IPv4', size: 0 }, target.host, target.udpPort);
      if (flow === undefined) return;
    }
    flow.tag.last = datagram;
    flows.send(flow, datagram);
  }
}

function clientOf(key: string): { address: string; port: number } {
  const [address, port] = key.split(':') as [string, string];
  return { address, port: Number(port) };
}
