/**
 * Minimal X.509 v3 certificate builder for ECDSA P-256 keys.
 *
 * Why not forge's own certificate builder: forge signs and encodes RSA keys only, and RSA 2048 key
 * generation costs ~300 ms each on a busy core, too slow for tests that build many clusters. So keys
 * come from node:crypto (EC P-256 in ~1 ms), the DER is assembled with forge's ASN.1 primitives, and
 * node:crypto signs the TBSCertificate. The profile follows what Go's crypto/x509 (kubectl) and
 * OpenSSL (Node's tls) expect: positive random serial, SANs, critical basicConstraints and keyUsage,
 * serverAuth/clientAuth extended key usage, subject/authority key identifiers.
 */
import { createHash, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';
import forge from 'node-forge';

const asn1 = forge.asn1;
type Asn1 = forge.asn1.Asn1;

const oid = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** keyUsage bit positions (RFC 5280 4.2.1.3), bit 0 is the most significant bit of the first byte. */
const keyUsageBit = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;
export type KeyUsage = keyof typeof keyUsageBit;

export const maxSubjectAltNames = 256;
const serialNumberBytes = 16;

export interface DistinguishedName {
  readonly commonName: string;
  readonly organizations?: readonly string[];
}

export interface CertificateSpec {
  readonly subject: DistinguishedName;
  readonly issuer: DistinguishedName;
  /** The certified key (EC P-256 public key). */
  readonly publicKey: KeyObject;
  /** The signer's key (EC P-256 private key); for a self-signed certificate, the private half of publicKey. */
  readonly signingKey: KeyObject;
  /** Subject key identifier of the issuer; omitted for self-signed certificates. */
  readonly authorityKeyId?: Buffer;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly isCa: boolean;
  readonly keyUsages: readonly KeyUsage[];
  readonly extKeyUsages: readonly ('serverAuth' | 'clientAuth')[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export interface BuiltCertificate {
  readonly pem: string;
  readonly der: Buffer;
  readonly subjectKeyId: Buffer;
}

const bin = (b: Buffer): string => b.toString('binary');
const node = (tagClass: forge.asn1.Class, type: number, constructed: boolean, value: string | Asn1[]): Asn1 =>
  asn1.create(tagClass, type, constructed, value);
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;
const seq = (items: Asn1[]): Asn1 => node(U, T.SEQUENCE, true, items);
const oidNode = (dotted: string): Asn1 => node(U, T.OID, false, asn1.oidToDer(dotted).getBytes());
const derOf = (value: Asn1): Buffer => Buffer.from(asn1.toDer(value).getBytes(), 'binary');

/** Subject key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
export function subjectKeyIdOf(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(ecPublicPoint(publicKey)).digest();
}

function ecPublicPoint(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || jwk.x === undefined || jwk.y === undefined) {
    throw new Error(`x509: only EC P-256 keys are supported, got ${String(jwk.kty)}/${String(jwk.crv)}`);
  }
  return Buffer.concat([Buffer.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

function nameNode(dn: DistinguishedName): Asn1 {
  const rdn = (type: string, value: string): Asn1 =>
    node(U, T.SET, true, [seq([oidNode(type), node(U, T.UTF8, false, forge.util.encodeUtf8(value))])]);
  const rdns = (dn.organizations ?? []).map((o) => rdn(oid.organization, o));
  rdns.push(rdn(oid.commonName, dn.commonName));
  return seq(rdns);
}

/** RFC 5280: UTCTime through 2049, GeneralizedTime from 2050. */
function timeNode(ms: number): Asn1 {
  const date = new Date(Math.floor(ms / 1000) * 1000);
  return date.getUTCFullYear() < 2050
    ? node(U, T.UTCTIME, false, asn1.dateToUtcTime(date))
    : node(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function positiveSerial(): Asn1 {
  const serial = randomBytes(serialNumberBytes);
  // Clear the sign bit and keep the first byte non-zero so the DER INTEGER is positive and minimal.
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return node(U, T.INTEGER, false, bin(serial));
}

function keyUsageBits(usages: readonly KeyUsage[]): Asn1 {
  let bits = 0;
  for (const u of usages) bits |= 0x80 >> keyUsageBit[u];
  if (bits === 0) throw new Error('x509: keyUsage needs at least one usage');
  // DER BIT STRING: trailing zero bits are dropped and counted in the leading "unused bits" byte.
  let unused = 0;
  while (((bits >> unused) & 1) === 0) unused++;
  return node(U, T.BITSTRING, false, String.fromCharCode(unused, bits));
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oidNode(id)];
  if (critical) parts.push(node(U, T.BOOLEAN, false, String.fromCharCode(0xff)));
  parts.push(node(U, T.OCTETSTRING, false, bin(derOf(value))));
  return seq(parts);
}

export function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new Error(`x509: not an IPv4 address: ${ip}`);
  return Buffer.from(ip.split('.').map(Number));
}

function subjectAltNames(dnsNames: readonly string[], ips: readonly string[]): Asn1 {
  const C = asn1.Class.CONTEXT_SPECIFIC;
  return seq([
    ...dnsNames.map((d) => node(C, 2, false, d)),
    ...ips.map((ip) => node(C, 7, false, bin(ipv4Bytes(ip)))),
  ]);
}

function extensions(spec: CertificateSpec, subjectKeyId: Buffer): Asn1 {
  const exts: Asn1[] = [
    extension(oid.basicConstraints, true, seq(spec.isCa ? [node(U, T.BOOLEAN, false, String.fromCharCode(0xff))] : [])),
    extension(oid.keyUsage, true, keyUsageBits(spec.keyUsages)),
  ];
  if (spec.extKeyUsages.length > 0) {
    exts.push(extension(oid.extKeyUsage, false, seq(spec.extKeyUsages.map((u) => oidNode(oid[u])))));
  }
  exts.push(extension(oid.subjectKeyIdentifier, false, node(U, T.OCTETSTRING, false, bin(subjectKeyId))));
  if (spec.authorityKeyId !== undefined) {
    const keyId = node(asn1.Class.CONTEXT_SPECIFIC, 0, false, bin(spec.authorityKeyId));
    exts.push(extension(oid.authorityKeyIdentifier, false, seq([keyId])));
  }
  if (spec.dnsNames.length + spec.ipAddresses.length > 0) {
    exts.push(extension(oid.subjectAltName, false, subjectAltNames(spec.dnsNames, spec.ipAddresses)));
  }
  return node(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(exts)]);
}

function checkSpec(spec: CertificateSpec): void {
  if (spec.notAfterMs <= spec.notBeforeMs) throw new Error('x509: notAfter must be later than notBefore');
  if (spec.dnsNames.length + spec.ipAddresses.length > maxSubjectAltNames) {
    throw new Error(`x509: more than ${maxSubjectAltNames} subject alternative names`);
  }
  for (const d of spec.dnsNames) {
    if (!/^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(d)) throw new Error(`x509: invalid DNS name ${JSON.stringify(d)}`);
  }
}

/** Builds and signs a certificate. Throws on a malformed spec (programmer error). */
export function buildCertificate(spec: CertificateSpec): BuiltCertificate {
  checkSpec(spec);
  const subjectKeyId = subjectKeyIdOf(spec.publicKey);
  const spki = seq([
    seq([oidNode(oid.ecPublicKey), oidNode(oid.prime256v1)]),
    node(U, T.BITSTRING, false, String.fromCharCode(0) + bin(ecPublicPoint(spec.publicKey))),
  ]);
  const signatureAlgorithm = seq([oidNode(oid.ecdsaWithSha256)]);
  const tbs = seq([
    node(asn1.Class.CONTEXT_SPECIFIC, 0, true, [node(U, T.INTEGER, false, String.fromCharCode(2))]),
    positiveSerial(),
    signatureAlgorithm,
    nameNode(spec.issuer),
    seq([timeNode(spec.notBeforeMs), timeNode(spec.notAfterMs)]),
    nameNode(spec.subject),
    spki,
    extensions(spec, subjectKeyId),
  ]);
  // node:crypto emits the DER ECDSA-Sig-Value that X.509 wants (dsaEncoding defaults to 'der').
  const signature = cryptoSign('sha256', derOf(tbs), spec.signingKey);
  const cert = seq([tbs, seq([oidNode(oid.ecdsaWithSha256)]),
    node(U, T.BITSTRING, false, String.fromCharCode(0) + bin(signature))]);
  const der = derOf(cert);
  return { der, pem: derToPem(der, 'CERTIFICATE'), subjectKeyId };
}

function derToPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
