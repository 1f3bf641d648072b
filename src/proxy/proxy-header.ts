/**
 * How a connection reaches kube-proxy with its original destination. Loopback has no netfilter,
 * so instead of DNAT a client (a pod's network, or the host's Service front on the main thread)
 * connects to its node's kube-proxy and first sends a PROXY protocol v1 line (HAProxy's
 * proxy-protocol.txt §2.1): `PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n`, where dst:dstport
 * is the ClusterIP:port the client meant. kube-proxy reads it, picks an endpoint (session
 * affinity and traffic policy need the source), and pipes the rest of the stream.
 *
 * UDP datagrams carry the same line, with `UDP4`, in front of each payload (not in the v1 spec,
 * which is TCP only; same shape so one parser serves both). Replies come back without it, to the
 * socket that sent the datagram.
 */

/** The v1 spec's bound: a header line is at most 107 bytes, CRLF included. */
export const proxyHeaderBytesMax = 107;

export interface ProxyHeader {
  readonly protocol: 'TCP4' | 'UDP4';
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65_535;
}

export function encodeProxyHeader(header: ProxyHeader): Uint8Array {
  if (!ipv4.test(header.sourceIp) || !ipv4.test(header.destinationIp) || !isPort(header.sourcePort) || !isPort(header.destinationPort)) {
    throw new Error(`proxy header: bad address in ${JSON.stringify(header)}`);
  }
  return Buffer.from(`PROXY ${header.protocol} ${header.sourceIp} ${header.destinationIp} ${header.sourcePort} ${header.destinationPort}\r\n`, 'latin1');
}

export type ParsedProxyHeader =
  | { readonly kind: 'header'; readonly header: ProxyHeader; /** Bytes after the header line. */ readonly rest: Uint8Array }
  /** No CRLF yet and still within the bound: read more. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Parses the header at the start of `data` (the bytes received so far). */
export function parseProxyHeader(data: Uint8Array): ParsedProxyHeader {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return bytes.length >= proxyHeaderBytesMax ? { kind: 'invalid', reason: `no CRLF within ${proxyHeaderBytesMax} bytes` } : { kind: 'incomplete' };
  if (end + 2 > proxyHeaderBytesMax) return { kind: 'invalid', reason: `header longer than ${proxyHeaderBytesMax} bytes` };
  const parts = bytes.subarray(0, end).toString('latin1').split(' ');
  if (parts.length !== 6 || parts[0] !== 'PROXY') return { kind: 'invalid', reason: 'not a PROXY v1 line' };
  const [, protocol, sourceIp, destinationIp, sourcePortText, destinationPortText] = parts as [string, string, string, string, string, string];
  if (protocol !== 'TCP4' && protocol !== 'UDP4') return { kind: 'invalid', reason: `unsupported protocol ${protocol}` };
  const sourcePort = Number(sourcePortText);
  const destinationPort = Number(destinationPortText);
  if (!ipv4.test(sourceIp) || !ipv4.test(destinationIp) || !isPort(sourcePort) || !isPort(destinationPort)) return { kind: 'invalid', reason: 'bad address or port' };
  return { kind: 'header', header: { protocol, sourceIp, destinationIp, sourcePort, destinationPort }, rest: bytes.subarray(end + 2) };
}
