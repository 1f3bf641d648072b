/**
 * A pod's stub resolver, as glibc/musl read resolv.conf: the names to try for a query (search
 * path and ndots, Kubernetes sets ndots:5), and real DNS A queries and answers encoded with
 * dns-packet. No /etc/hosts, no system resolver: only the pod's nameservers (cluster DNS).
 */
import dnsPacket from 'dns-packet';
import type { DnsConfig } from './messages.js';

/** resolv.conf's default ndots. */
const defaultNdots = 1;
/** resolv.conf allows at most 6 search domains (glibc's MAXDNSRCH) and 3 nameservers (MAXNS). */
const searchDomainsMax = 6;
export const nameserversMax = 3;

function ndotsOf(options: readonly string[]): number {
  for (const option of options) {
    const match = /^ndots:(\d+)$/.exec(option);
    if (match !== null) return Math.min(15, Number(match[1]));
  }
  return defaultNdots;
}

/** The fully qualified names to ask, in order. */
export function queryCandidates(name: string, dns: Pick<DnsConfig, 'searches' | 'options'>): string[] {
  if (name.endsWith('.')) return [name.slice(0, -1)];
  const searches = dns.searches.slice(0, searchDomainsMax).map((domain) => `${name}.${domain.replace(/\.$/, '')}`);
  const dots = name.split('.').length - 1;
  return dots >= ndotsOf(dns.options) ? [name, ...searches] : [...searches, name];
}

export function encodeAQuery(name: string, id: number): Uint8Array {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
}

export type DnsAnswer =
  | { readonly kind: 'answer'; readonly ips: readonly string[] }
  /** NXDOMAIN, or NOERROR without A records (NODATA): try the next candidate. */
  | { readonly kind: 'none'; readonly rcode: string }
  /** SERVFAIL, REFUSED, …: the server could not answer. */
  | { readonly kind: 'failure'; readonly rcode: string };

/** Decodes a response to query `id`; undefined when it is not one (wrong id, not a response, garbage). */
export function decodeAAnswer(data: Uint8Array, id: number): DnsAnswer | undefined {
  let packet: ReturnType<typeof dnsPacket.decode>;
  try {
    packet = dnsPacket.decode(Buffer.from(data));
  } catch {
    return undefined;
  }
  if (packet.type !== 'response' || packet.id !== id) return undefined;
  // dns-packet decodes the rcode (its types omit the field).
  const rcode = (packet as { rcode?: string }).rcode ?? 'NOERROR';
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return { kind: 'failure', rcode };
  const ips = (packet.answers ?? []).flatMap((answer) => (answer.type === 'A' && typeof answer.data === 'string' ? [answer.data] : []));
  return ips.length > 0 ? { kind: 'answer', ips } : { kind: 'none', rcode };
}
