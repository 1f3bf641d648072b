/**
 * Cluster DNS answers (Kubernetes' DNS-based service discovery spec, as CoreDNS' `kubernetes`
 * plugin serves it), computed from Services, EndpointSlices and Pods. Pure: packets in, packets
 * out, encoded and decoded with `dns-packet`.
 *
 * - `svc.ns.svc.cluster.local` A: the ClusterIP; headless: the ready endpoint IPs;
 *   `hostname.svc.ns.svc.cluster.local` for endpoints with a hostname (StatefulSet pods).
 * - `_port._proto.svc.ns.svc.cluster.local` SRV for named ports (target the Service name, or each
 *   endpoint's name for headless Services).
 * - `a-b-c-d.ns.pod.cluster.local` A (CoreDNS `pods insecure`: answered from the name alone,
 *   the default in kubeadm's Corefile).
 * - PTR for ClusterIPs and endpoint IPs under in-addr.arpa.
 * - A name that exists with no record of the asked type (AAAA on a v4 cluster, TXT...) is NODATA:
 *   NOERROR, no answer, the zone's SOA in authority; a name that does not exist is NXDOMAIN with
 *   the SOA. Names outside the cluster zone are REFUSED: there is no upstream to forward to.
 * - TTL 5 s: CoreDNS' kubernetes plugin default (the brief said 30; upstream's value wins).
 * - UDP answers over 512 bytes (or the client's EDNS size) are truncated with TC set, so the
 *   client retries over TCP.
 */
import * as dnsPacket from 'dns-packet';
import { asArray, asNumber, asRecord, asString, type KubeObject } from '../api/index.js';

const clusterDomain = 'cluster.local';
const dnsTtlSeconds = 5;
const udpBytesDefault = 512;

interface Endpoint { readonly ip: string; readonly hostname?: string; readonly ready: boolean }

export interface ZoneInput {
  readonly services: readonly KubeObject[];
  readonly slices: readonly KubeObject[];
  readonly pods?: readonly KubeObject[];
  readonly domain?: string;
}

type Rr = dnsPacket.Answer;

export class ClusterZone {
  private readonly domain: string;
  /** Lower-case name → records (any type); a name present with no records is an empty non-terminal. */
  private readonly names = new Map<string, Rr[]>();

  constructor(input: ZoneInput) {
    this.domain = input.domain ?? clusterDomain;
    const d = this.domain;
    const bySvc = new Map<string, Endpoint[]>();
    for (const s of input.slices) {
      const svc = s.metadata?.labels?.['kubernetes.io/service-name'];
      if (svc === undefined || (asString(s['addressType']) ?? 'IPv4') !== 'IPv4') continue;
      const key = `${s.metadata?.namespace}/${svc}`;
      const list = bySvc.get(key) ?? [];
      for (const e of asArray(s['endpoints']).map(asRecord)) {
        const ip = asString(asArray(e?.['addresses'])[0]);
        if (ip === undefined) continue;
        const hostname = asString(e?.['hostname']);
        list.push({ ip, ready: asRecord(e?.['conditions'])?.['ready'] !== false, ...(hostname === undefined ? {} : { hostname }) });
      }
      bySvc.set(key, list);
    }
    this.touch(d);
    for (const svc of input.services) {
      const ns = svc.metadata?.namespace ?? 'default';
      const name = svc.metadata?.name ?? '';
      const spec = asRecord(svc['spec']) ?? {};
      const base = `${name}.${ns}.svc.${d}`;
      this.touch(base);
      const type = asString(spec['type']);
      if (type === 'ExternalName') {
        const target = asString(spec['externalName']);
        if (target !== undefined) this.add(base, { type: 'CNAME', name: base, ttl: dnsTtlSeconds, data: target });
        continue;
      }
      const clusterIp = asString(spec['clusterIP']);
      const headless = clusterIp === 'None';
      const endpoints = (bySvc.get(`${ns}/${name}`) ?? []).filter((e) => e.ready || spec['publishNotReadyAddresses'] === true);
      const targets: string[] = [];
      if (!headless && clusterIp !== undefined && clusterIp !== '') {
        this.add(base, { type: 'A', name: base, ttl: dnsTtlSeconds, data: clusterIp });
        this.addPtr(clusterIp, base);
        targets.push(base);
      } else if (headless) {
        for (const e of endpoints) {
          this.add(base, { type: 'A', name: base, ttl: dnsTtlSeconds, data: e.ip });
          // CoreDNS names an endpoint without hostname by its dashed IP.
          const host = `${e.hostname ?? e.ip.replaceAll('.', '-')}.${base}`;
          this.add(host, { type: 'A', name: host, ttl: dnsTtlSeconds, data: e.ip });
          this.addPtr(e.ip, host);
          targets.push(host);
        }
      }
      for (const p of asArray(spec['ports']).map(asRecord)) {
        const portName = asString(p?.['name']);
        const port = asNumber(p?.['port']);
        if (portName === undefined || portName === '' || port === undefined) continue;
        const proto = (asString(p?.['protocol']) ?? 'TCP').toLowerCase();
        const srv = `_${portName}._${proto}.${base}`;
        this.touch(srv);
        for (const target of targets) this.add(srv, { type: 'SRV', name: srv, ttl: dnsTtlSeconds, data: { priority: 0, weight: Math.floor(100 / targets.length), port, target } });
      }
    }
    this.touch(`svc.${d}`);
    this.touch(`pod.${d}`);
    // Pod IPs: PTR to the dashed name (CoreDNS answers pod A records from the name itself).
    for (const pod of input.pods ?? []) {
      const ip = asString(asRecord(pod['status'])?.['podIP']);
      const ns = pod.metadata?.namespace;
      if (ip === undefined || ns === undefined) continue;
      const name = `${ip.replaceAll('.', '-')}.${ns}.pod.${d}`;
      if (!this.names.has(ptrName(ip))) this.addPtr(ip, name);
    }
  }

  /** The response to one decoded query (any transport). */
  answer(query: dnsPacket.DecodedPacket): dnsPacket.Packet {
    const q = query.questions?.[0];
    const base: dnsPacket.Packet = { type: 'response', id: query.id ?? 0, flags: dnsPacket.RECURSION_DESIRED & (query.flags ?? 0), questions: q === undefined ? [] : [q], answers: [], authorities: [], additionals: [] };
    if (q === undefined || query.questions!.length !== 1) return { ...base, flags: (base.flags ?? 0) | rcode.FORMERR };
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const inZone = name === this.domain || name.endsWith(`.${this.domain}`);
    const inReverse = name.endsWith('.in-addr.arpa');
    if (!inZone && !inReverse) return { ...base, flags: (base.flags ?? 0) | rcode.REFUSED };
    const aa = (base.flags ?? 0) | dnsPacket.AUTHORITATIVE_ANSWER;
    const records = this.lookup(name);
    if (records === undefined) return { ...base, flags: aa | rcode.NXDOMAIN, authorities: [this.soa(inZone)] };
    const matching = records.filter((r) => r.type === q.type || (q.type as string) === 'ANY');
    const cname = records.filter((r) => r.type === 'CNAME');
    const answers = matching.length > 0 ? matching : cname;
    if (answers.length === 0) return { ...base, flags: aa, authorities: [this.soa(inZone)] };
    return { ...base, flags: aa, answers: answers.map((r) => ({ ...r, name: q.name })) };
  }

  private lookup(name: string): Rr[] | undefined {
    const have = this.names.get(name);
    if (have !== undefined) return have;
    // a-b-c-d.ns.pod.cluster.local
    const pod = new RegExp(`^(\\d{1,3})-(\\d{1,3})-(\\d{1,3})-(\\d{1,3})\\.[a-z0-9-]+\\.pod\\.${this.domain.replaceAll('.', '\\.')}$`).exec(name);
    if (pod !== null && pod.slice(1).every((o) => Number(o) <= 255)) return [{ type: 'A', name, ttl: dnsTtlSeconds, data: pod.slice(1).join('.') }];
    // Empty non-terminals (`ns.svc.cluster.local`) exist: NODATA, not NXDOMAIN (RFC 8020).
    for (const key of this.names.keys()) if (key.endsWith(`.${name}`)) return [];
    return undefined;
  }

  private soa(inZone: boolean): Rr {
    const zone = inZone ? this.domain : 'in-addr.arpa';
    return {
      type: 'SOA', name: zone, ttl: dnsTtlSeconds,
      data: { mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: dnsTtlSeconds },
    };
  }

  private touch(name: string): void {
    const n = name.toLowerCase();
    if (!this.names.has(n)) this.names.set(n, []);
  }

  private add(name: string, rr: Rr): void {
    const n = name.toLowerCase();
    const list = this.names.get(n);
    if (list === undefined) this.names.set(n, [rr]);
    else list.push(rr);
  }

  private addPtr(ip: string, target: string): void {
    const n = ptrName(ip);
    this.add(n, { type: 'PTR', name: n, ttl: dnsTtlSeconds, data: target });
  }
}

function ptrName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

const rcode = { FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** Encodes a response for UDP: over the client's limit (512, or its EDNS size), answers are dropped and TC set. */
function encodeUdp(response: dnsPacket.Packet, query: dnsPacket.DecodedPacket): Buffer {
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const limit = Math.max(udpBytesDefault, opt?.udpPayloadSize ?? udpBytesDefault);
  const full = dnsPacket.encode(response);
  if (full.length <= limit) return full;
  return dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [], additionals: [] });
}

/** Answers one raw query; undefined when it cannot be decoded (dropped, as CoreDNS does). */
export function answerRaw(zone: ClusterZone, data: Uint8Array, transport: 'udp' | 'tcp'): Buffer | undefined {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(Buffer.from(data));
  } catch {
    return undefined;
  }
  if (query.type !== 'query') return undefined;
  const response = zone.answer(query);
  return transport === 'udp' ? encodeUdp(response, query) : dnsPacket.encode(response);
}

/** TCP framing (RFC 1035 §4.2.2): each message prefixed with its 2-byte length; yields whole messages. */
export class TcpFramer {
  private buffered = Buffer.alloc(0);

  push(chunk: Uint8Array): Buffer[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (this.buffered.length < 2 + length) break;
      out.push(this.buffered.subarray(2, 2 + length));
      this.buffered = this.buffered.subarray(2 + length);
    }
    return out;
  }

  static frame(message: Uint8Array): Buffer {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(message.byteLength);
    return Buffer.concat([head, message]);
  }
}
