/**
 * The pod network of threads placement: real loopback sockets bound to the pod's IP (DESIGN §5).
 * A connection to a ClusterIP (inside the Service CIDR) goes to the node's kube-proxy with a
 * PROXY v1 header naming the ClusterIP (src/proxy/proxy-header.ts), since loopback has no DNAT;
 * UDP to a ClusterIP carries the same header in front of each datagram. Names resolve with real
 * DNS queries to the pod's nameservers (cluster DNS, itself a ClusterIP), search path and ndots.
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock } from '../../src/primitives/clock.js';
import type { NetListener, PodNetwork, UdpEndpoint } from '../../src/cri/image.js';
import { cidrContains, parseCidr, type Ipv4Cidr } from '../../src/cri/ipam.js';
import type { ContainerRuntimeConfig } from '../../src/cri/messages.js';
import { decodeAAnswer, encodeAQuery, nameserversMax, queryCandidates, type DnsAnswer } from '../../src/cri/resolver.js';
import type { SandboxNetworkSpec } from '../../src/cri/runtime.js';
import { encodeProxyHeader } from '../../src/proxy/proxy-header.js';

/** Default connect timeout (Linux's SYN retries take ~2 min; a pod on loopback needs far less). */
const connectTimeoutMsDefault = 30_000;
/** resolv.conf's timeout:5 attempts:2 are upstream's defaults; pods on one machine answer in ms. */
const dnsTimeoutMs = 2_000;
const dnsAttempts = 2;
const ipv4 = /^\d+\.\d+\.\d+\.\d+$/;

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class LoopbackPodNetwork implements PodNetwork {
  private readonly serviceCidr: Ipv4Cidr;

  constructor(
    private readonly spec: SandboxNetworkSpec,
    private readonly config: Pick<ContainerRuntimeConfig, 'serviceProxy' | 'serviceCidr'>,
    private readonly clock: Clock,
  ) {
    const cidr = parseCidr(config.serviceCidr);
    if (!cidr.ok) throw new Error(`container runtime: serviceCidr: ${cidr.message}`);
    this.serviceCidr = cidr.value;
  }

  get podIp(): string {
    return this.spec.podIp;
  }

  private isService(ip: string): boolean {
    return cidrContains(this.serviceCidr, ip);
  }

  listen(port: number, onConnection: (stream: Duplex, remote: { readonly host: string; readonly port: number }) => void): Promise<NetListener> {
    const server = net.createServer((socket) => onConnection(socket, { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.podIp, port, exclusive: true }, () => {
        server.off('error', reject);
        const bound = server.address();
        resolve({
          port: typeof bound === 'object' && bound !== null ? bound.port : port,
          // Closing a listening socket frees its port at once; accepted connections live on (as with close(2)).
          close: async () => { server.close(); },
        });
      });
    });
  }

  async connect(host: string, port: number, options?: { readonly timeoutMs?: number }): Promise<Duplex> {
    const ip = ipv4.test(host) ? host : (await this.resolve(host))[0];
    if (ip === undefined) throw withCode(`getaddrinfo ENOTFOUND ${host}`, 'ENOTFOUND');
    const viaProxy = this.isService(ip);
    const target = viaProxy ? { host: this.config.serviceProxy.host, port: this.config.serviceProxy.tcpPort } : { host: ip, port };
    const socket = net.connect({ ...target, localAddress: this.podIp });
    await this.connected(socket, options?.timeoutMs ?? connectTimeoutMsDefault, `${ip}:${port}`);
    if (viaProxy) socket.write(encodeProxyHeader({ protocol: 'TCP4', sourceIp: this.podIp, sourcePort: socket.localPort ?? 0, destinationIp: ip, destinationPort: port }));
    return socket;
  }

  private connected(socket: net.Socket, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        socket.destroy();
        reject(withCode(`connect ETIMEDOUT ${what}`, 'ETIMEDOUT'));
      });
      socket.once('connect', () => { this.clock.clearTimer(timer); resolve(); });
      socket.once('error', (error) => { this.clock.clearTimer(timer); reject(error); });
    });
  }

  async udp(port: number): Promise<UdpEndpoint> {
    const socket = await this.bindUdp(port);
    const bound = socket.address().port;
    return {
      port: bound,
      send: (data, host, toPort) => this.sendDatagram(socket, bound, data, host, toPort),
      onMessage: (handler) => { socket.on('message', (message, from) => handler(message, { host: from.address, port: from.port })); },
      close: () => new Promise<void>((done) => { socket.close(() => done()); }),
    };
  }

  private bindUdp(port: number): Promise<dgram.Socket> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address: this.podIp, exclusive: true }, () => {
        socket.off('error', reject);
        // A late error (ICMP unreachable on a send) must not crash the thread.
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  private sendDatagram(socket: dgram.Socket, fromPort: number, data: Uint8Array, host: string, port: number): void {
    if (!this.isService(host)) {
      socket.send(data, port, host);
      return;
    }
    const header = encodeProxyHeader({ protocol: 'UDP4', sourceIp: this.podIp, sourcePort: fromPort, destinationIp: host, destinationPort: port });
    socket.send(Buffer.concat([header, data]), this.config.serviceProxy.udpPort, this.config.serviceProxy.host);
  }

  async resolve(name: string): Promise<readonly string[]> {
    if (ipv4.test(name)) return [name];
    const dns = this.spec.dnsConfig;
    const servers = dns?.servers.slice(0, nameserversMax) ?? [];
    if (dns === undefined || servers.length === 0) return [];
    let reached = false;
    for (const candidate of queryCandidates(name, dns)) {
      const answer = await this.ask(servers, candidate);
      if (answer !== undefined) reached = true;
      if (answer?.kind === 'answer') return answer.ips;
    }
    if (!reached) throw withCode(`connection timed out; no servers could be reached (${servers.join(', ')})`, 'ETIMEDOUT');
    return [];
  }

  /** One name against the nameservers in turn, `dnsAttempts` rounds; undefined: none answered. */
  private async ask(servers: readonly string[], name: string): Promise<DnsAnswer | undefined> {
    for (let attempt = 0; attempt < dnsAttempts; attempt++) {
      for (const server of servers) {
        const answer = await this.query(server, name);
        if (answer !== undefined && answer.kind !== 'failure') return answer;
      }
    }
    return undefined;
  }

  private async query(server: string, name: string): Promise<DnsAnswer | undefined> {
    const socket = await this.bindUdp(0);
    const id = randomInt(65_536);
    try {
      return await new Promise<DnsAnswer | undefined>((resolve) => {
        const timer = this.clock.setTimer(dnsTimeoutMs, () => resolve(undefined));
        socket.on('message', (message) => {
          const answer = decodeAAnswer(message, id);
          if (answer === undefined) return;
          this.clock.clearTimer(timer);
          resolve(answer);
        });
        this.sendDatagram(socket, socket.address().port, encodeAQuery(name, id), server, 53);
      });
    } finally {
      socket.close();
    }
  }
}
