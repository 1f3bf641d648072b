/**
 * One node's kube-proxy on real loopback sockets: informers on Services and EndpointSlices feed
 * the pure table of src/proxy/rules.ts; this shell binds the node's service-proxy port (TCP and
 * UDP, for PROXY-headed traffic from the node's pods and from the host's Service front) and every
 * NodePort on the node's address, and moves the bytes (relay.ts).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { KubeObject } from '../../src/api/index.js';
import type { KubeClient } from '../../src/client/client.js';
import { Informer } from '../../src/client/informer.js';
import type { Clock } from '../../src/primitives/clock.js';
import type { Prng } from '../../src/primitives/prng.js';
import type { KubeProxyCounters } from '../../src/proxy/messages.js';
import { parseProxyHeader, proxyHeaderBytesMax } from '../../src/proxy/proxy-header.js';
import { buildProxyTable, clusterIpKey, EndpointPicker, nodePortKey, usableEndpoints, type ProxyMode, type ProxyProtocol, type ProxyTable, type ServicePortRule, type TrafficSource } from '../../src/proxy/rules.js';
import { pipeTcp, readHead, resetSocket, UdpFlows, type UdpFlow } from './relay.js';

const servicesRef = { apiVersion: 'v1', kind: 'Service' } as const;
const slicesRef = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' } as const;
/** A client that connects and sends no header within this long is dropped. */
const headerTimeoutMs = 10_000;
const maxUdpFlows = 4_096;

export interface ProxierOptions {
  /** The sabotage of a chaos acceptance run: endpoints that are not ready are used as if they were. */
  readonly useUnreadyEndpoints?: boolean;
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly prng: Prng;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly serviceProxyPort: number;
  readonly mode: ProxyMode;
  readonly udpIdleTimeoutMs: number;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
}

interface FlowTag {
  readonly rule: string;
  readonly ip: string;
  readonly port: number;
  /** Where replies go out from. */
  readonly via: UdpSocket;
}

type Counters = { -readonly [K in keyof KubeProxyCounters]: number };

export class KubeProxier {
  private readonly services: Informer<KubeObject>;
  private readonly slices: Informer<KubeObject>;
  private readonly picker: EndpointPicker;
  private table: ProxyTable = buildProxyTable([], []);
  private syncQueued = false;
  private stopped = false;
  private tcpServer: Server | undefined;
  private udpServer: UdpSocket | undefined;
  private readonly nodePorts = new Map<string, { close(): void }>();
  /** NodePorts that failed to bind, so the error is logged once per port, not on every sync. */
  private readonly failedBinds = new Set<string>();
  private readonly flows: UdpFlows<FlowTag>;
  private readonly counters: Counters = { tcpConnections: 0, rejected: 0, udpFlows: 0, udpDatagrams: 0, bindErrors: 0, syncs: 0 };

  constructor(private readonly o: ProxierOptions) {
    const onError = (what: string) => (error: unknown, context: string) => o.warn(`kube-proxy: informer ${what}: ${context}`, { error: String(error) });
    this.services = new Informer({ client: o.client, resource: servicesRef, onError: onError('services') });
    this.slices = new Informer({ client: o.client, resource: slicesRef, onError: onError('endpointslices') });
    const queue = { onAdd: () => this.queueSync(), onUpdate: () => this.queueSync(), onDelete: () => this.queueSync() };
    this.services.addEventHandler(queue);
    this.slices.addEventHandler(queue);
    this.picker = new EndpointPicker(o.mode, o.prng);
    this.flows = new UdpFlows<FlowTag>({
      idleTimeoutMs: o.udpIdleTimeoutMs, maxFlows: maxUdpFlows, now: () => o.clock.now(),
      onReply: (flow, data, client) => flow.tag.via.send(data, client.port, client.address),
      onError: (flow) => this.flows.close(flow.key),
    });
  }

  /** Binds the service-proxy port (TCP and UDP) on the node's address. */
  async bind(): Promise<void> {
    const tcp = createServer({ noDelay: true }, (socket) => this.onServiceProxyConnection(socket));
    const udp = createSocket('udp4');
    udp.on('message', (data, from) => this.onServiceProxyDatagram(udp, data, from));
    await Promise.all([
      new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(this.o.serviceProxyPort, this.o.nodeIp, () => { tcp.off('error', reject); resolve(); }); }),
      new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(this.o.serviceProxyPort, this.o.nodeIp, () => { udp.off('error', reject); resolve(); }); }),
    ]).catch((error: unknown) => {
      this.counters.bindErrors++;
      tcp.close();
      try { udp.close(); } catch { /* not bound */ }
      throw new Error(`kube-proxy: cannot bind the service proxy on ${this.o.nodeIp}:${this.o.serviceProxyPort}: ${String(error)}`);
    });
    tcp.on('error', (error) => this.o.warn('kube-proxy: service proxy (TCP) failed', { error: String(error) }));
    udp.on('error', (error) => this.o.warn('kube-proxy: service proxy (UDP) failed', { error: String(error) }));
    this.tcpServer = tcp;
    this.udpServer = udp;
  }

  /** List+watch Services and EndpointSlices (once the apiserver answers). */
  startInformers(): void {
    if (this.stopped) return;
    this.services.start();
    this.slices.start();
  }

  stop(): void {
    this.stopped = true;
    this.services.stop();
    this.slices.stop();
    this.tcpServer?.close();
    try { this.udpServer?.close(); } catch { /* closed */ }
    for (const s of this.nodePorts.values()) s.close();
    this.nodePorts.clear();
    this.flows.closeAll();
  }

  get synced(): boolean {
    return this.services.hasSynced() && this.slices.hasSynced();
  }

  get current(): ProxyTable {
    return this.table;
  }

  status(): KubeProxyCounters & { readonly synced: boolean; readonly rules: number; readonly nodePortsBound: number; readonly activeUdpFlows: number } {
    return { ...this.counters, synced: this.synced, rules: this.table.rules.length, nodePortsBound: this.nodePorts.size, activeUdpFlows: this.flows.size };
  }

  /** Many events in one turn make one rebuild (upstream's BoundedFrequencyRunner, without its minimum interval). */
  private queueSync(): void {
    if (this.syncQueued || this.stopped) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      if (!this.stopped) this.sync();
    });
  }

  private sync(): void {
    this.counters.syncs++;
    const slices = this.slices.list();
    this.table = buildProxyTable(this.services.list(), this.o.useUnreadyEndpoints === true ? slices.map(everyEndpointReady) : slices);
    this.picker.expire(this.table, this.o.clock.now());
    // Like kube-proxy's conntrack cleanup for UDP: a flow to an endpoint no longer usable is dropped, so the next datagram picks again.
    this.flows.closeWhere((flow) => {
      const rule = this.table.rules.find((r) => r.key === flow.tag.rule);
      if (rule === undefined) return true;
      const source: TrafficSource = flow.key.startsWith('node|') ? 'external' : 'internal';
      return !usableEndpoints(rule, source, this.o.nodeName).some((e) => e.ip === flow.tag.ip && e.port === flow.tag.port);
    });
    this.syncNodePorts();
  }

  private syncNodePorts(): void {
    const want = new Set(this.table.byNodePort.keys());
    for (const [key, socket] of this.nodePorts) {
      if (want.has(key)) continue;
      socket.close();
      this.nodePorts.delete(key);
    }
    for (const key of this.failedBinds) if (!want.has(key)) this.failedBinds.delete(key);
    for (const key of want) {
      if (this.nodePorts.has(key) || this.failedBinds.has(key)) continue;
      const [protocol, portText] = key.split(' ') as [ProxyProtocol, string];
      const port = Number(portText);
      const failed = (error: unknown): void => {
        this.nodePorts.delete(key);
        this.failedBinds.add(key);
        this.counters.bindErrors++;
        this.o.warn(`kube-proxy: cannot bind NodePort ${protocol} ${this.o.nodeIp}:${port}`, { error: String(error) });
      };
      if (protocol === 'TCP') {
        const server = createServer({ noDelay: true }, (socket) => this.onNodePortConnection(port, socket));
        server.once('error', failed);
        server.listen(port, this.o.nodeIp);
        this.nodePorts.set(key, { close: () => server.close() });
      } else {
        const socket = createSocket('udp4');
        socket.once('error', (error) => { failed(error); try { socket.close(); } catch { /* closed */ } });
        socket.on('message', (data, from) => this.onNodePortDatagram(socket, port, data, from));
        socket.bind(port, this.o.nodeIp);
        this.nodePorts.set(key, { close: () => { try { socket.close(); } catch { /* closed */ } } });
      }
    }
  }

  private pick(rule: ServicePortRule, source: TrafficSource, clientIp: string) {
    return this.picker.pick(rule, { source, clientIp, nodeName: this.o.nodeName, nowMs: this.o.clock.now() });
  }

  private onServiceProxyConnection(socket: Socket): void {
    socket.on('error', () => undefined);
    readHead(socket, proxyHeaderBytesMax, (data) => {
      const parsed = parseProxyHeader(data);
      if (parsed.kind !== 'header' || parsed.header.protocol !== 'TCP4') {
        this.counters.rejected++;
        resetSocket(socket);
        return;
      }
      const h = parsed.header;
      const rule = this.table.byClusterIp.get(clusterIpKey('TCP', h.destinationIp, h.destinationPort));
      this.connect(socket, rule, 'internal', h.sourceIp, parsed.rest);
    }, headerTimeoutMs);
  }

  private onNodePortConnection(port: number, socket: Socket): void {
    socket.on('error', () => undefined);
    const rule = this.table.byNodePort.get(nodePortKey('TCP', port));
    this.connect(socket, rule, 'external', socket.remoteAddress ?? '', new Uint8Array(0));
  }

  private connect(socket: Socket, rule: ServicePortRule | undefined, source: TrafficSource, clientIp: string, first: Uint8Array): void {
    const choice = rule === undefined ? undefined : this.pick(rule, source, clientIp);
    if (choice?.kind !== 'endpoint') {
      this.counters.rejected++;
      resetSocket(socket);
      return;
    }
    this.counters.tcpConnections++;
    // A pod's connection reaches the backend from the pod's IP (no masquerade inside the cluster),
    // so the backend sees who called, and a NetworkChaos on the backend can tell its peers.
    const fromPod = source === 'internal' && /^127\.\d+\.\d+\.\d+$/.test(clientIp) ? clientIp : undefined;
    pipeTcp(socket, choice.endpoint.ip, choice.endpoint.port, first, undefined, fromPod);
  }

  private onServiceProxyDatagram(via: UdpSocket, data: Buffer, from: RemoteInfo): void {
    const parsed = parseProxyHeader(data);
    if (parsed.kind !== 'header' || parsed.header.protocol !== 'UDP4') {
      this.counters.rejected++;
      return;
    }
    const h = parsed.header;
    this.relay(via, `pod|${from.address}:${from.port}|${h.destinationIp}:${h.destinationPort}`,
      this.table.byClusterIp.get(clusterIpKey('UDP', h.destinationIp, h.destinationPort)), 'internal', h.sourceIp, parsed.rest, from);
  }

  private onNodePortDatagram(via: UdpSocket, port: number, data: Buffer, from: RemoteInfo): void {
    this.relay(via, `node|${from.address}:${from.port}|${port}`, this.table.byNodePort.get(nodePortKey('UDP', port)), 'external', from.address, data, from);
  }

  private relay(via: UdpSocket, key: string, rule: ServicePortRule | undefined, source: TrafficSource, clientIp: string, payload: Uint8Array, from: RemoteInfo): void {
    this.counters.udpDatagrams++;
    let flow: UdpFlow<FlowTag> | undefined = this.flows.get(key);
    if (flow === undefined) {
      const choice = rule === undefined ? undefined : this.pick(rule, source, clientIp);
      // UDP has no reset to send without ICMP: a datagram with nowhere to go is dropped.
      if (rule === undefined || choice?.kind !== 'endpoint') {
        this.counters.rejected++;
        return;
      }
      flow = this.flows.open(key, { rule: rule.key, ip: choice.endpoint.ip, port: choice.endpoint.port, via }, from, choice.endpoint.ip, choice.endpoint.port);
      if (flow === undefined) {
        this.counters.rejected++;
        return;
      }
      this.counters.udpFlows++;
    }
    this.flows.send(flow, payload);
  }
}

/** A copy of `slice` whose every endpoint says ready (the cached object is left alone). */
function everyEndpointReady(slice: KubeObject): KubeObject {
  const endpoints = (slice['endpoints'] ?? []) as { conditions?: Record<string, unknown> }[];
  return { ...slice, endpoints: endpoints.map((e) => ({ ...e, conditions: { ...e.conditions, ready: true, serving: true } })) };
}
