/**
 * The cluster's PKI: a self-signed CA, the apiserver serving certificate it signs, and the
 * ServiceAccount token signing key pair, persisted in `<dataDir>/pki/` and reused on later starts.
 *
 * CA and serving keys are EC P-256 (fast to generate, accepted by Go and OpenSSL). The ServiceAccount
 * key is RSA 2048 because tokens are RS256, like kube-apiserver's default.
 *
 * All three apiservers must present certificates from the same CA (the front door forwards TLS to any
 * of them, and the kubeconfig embeds one CA), so call `loadOrCreatePki` once per cluster with every
 * master IP and hand the PEMs to each apiserver.
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildCertificate, ipv4Bytes, maxSubjectAltNames, subjectKeyIdOf } from './x509.js';
import { publicFileMode, readOptional, secretFileMode, writeAtomic } from './files.js';

const generateKeyPairAsync = promisify(generateKeyPair);

const dayMs = 24 * 60 * 60 * 1000;
const caValidityDays = 3650;
export const servingCertValidityDays = 365;
/** Certificates this close to expiry are replaced at start. */
export const renewBeforeDays = 30;
/** notBefore is backdated so a peer whose clock lags a little still accepts a fresh certificate. */
const backdateMs = 60 * 60 * 1000;
const serviceAccountKeyBits = 2048;

const caCommonName = 'pocketkube-ca';
const apiserverCommonName = 'kube-apiserver';
const defaultServingDnsNames: readonly string[] = [
  'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost',
];
const defaultFrontDoorIp = '127.0.0.1';
const defaultKubernetesServiceIp = '127.96.0.1';

export const pkiFiles = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  servingCert: 'apiserver.crt',
  servingKey: 'apiserver.key',
  serviceAccountKey: 'sa.key',
  serviceAccountPublicKey: 'sa.pub',
} as const;

export interface SubjectAltNames {
  readonly ips: readonly string[];
  readonly dnsNames: readonly string[];
}

export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Pki {
  readonly dir: string;
  readonly ca: CertAndKey;
  readonly serving: CertAndKey;
  readonly serviceAccount: { readonly privateKeyPem: string; readonly publicKeyPem: string };
  /** What this call had to (re)generate, for logs and tests. */
  readonly generated: { readonly ca: boolean; readonly serving: boolean; readonly serviceAccountKey: boolean };
}

export interface LoadOrCreatePkiOptions extends Partial<SubjectAltNames> {
  /** Wall-clock milliseconds since the epoch; defaults to Date.now(). */
  readonly nowMs?: number;
}

/** The SANs the apiserver needs: front door, every master, the `kubernetes` Service IP, the usual names. */
export function defaultServingSans(masterIps: readonly string[], opts: {
  frontDoorIp?: string; kubernetesServiceIp?: string; extraDnsNames?: readonly string[];
} = {}): SubjectAltNames {
  return normalizeSans({
    ips: [opts.frontDoorIp ?? defaultFrontDoorIp, ...masterIps, opts.kubernetesServiceIp ?? defaultKubernetesServiceIp],
    dnsNames: [...defaultServingDnsNames, ...(opts.extraDnsNames ?? [])],
  });
}

function normalizeSans(sans: SubjectAltNames): SubjectAltNames {
  for (const ip of sans.ips) ipv4Bytes(ip); // throws on a malformed address
  const dnsNames = [...new Set(sans.dnsNames.map((d) => d.toLowerCase()))].sort();
  const ips = [...new Set(sans.ips)].sort();
  if (ips.length + dnsNames.length > maxSubjectAltNames) throw new Error(`pki: more than ${maxSubjectAltNames} SANs`);
  return { ips, dnsNames };
}

function newEcKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function privatePem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function createCa(nowMs: number, commonName = caCommonName): CertAndKey {
  const { publicKey, privateKey } = newEcKeyPair();
  const cert = buildCertificate({
    subject: { commonName }, issuer: { commonName }, publicKey, signingKey: privateKey,
    notBeforeMs: nowMs - backdateMs, notAfterMs: nowMs + caValidityDays * dayMs,
    isCa: true, keyUsages: ['digitalSignature', 'keyCertSign', 'cRLSign'], extKeyUsages: [],
    dnsNames: [], ipAddresses: [],
  });
  return { certPem: cert.pem, keyPem: privatePem(privateKey) };
}

export function createServingCert(ca: CertAndKey, sans: SubjectAltNames, nowMs: number): CertAndKey {
  const normalized = normalizeSans(sans);
  const caCert = new X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem);
  const { publicKey, privateKey } = newEcKeyPair();
  const cert = buildCertificate({
    subject: { commonName: apiserverCommonName }, issuer: { commonName: caCommonNameOf(caCert) },
    publicKey, signingKey: caKey, authorityKeyId: subjectKeyIdOf(caCert.publicKey),
    notBeforeMs: nowMs - backdateMs,
    notAfterMs: Math.min(nowMs + servingCertValidityDays * dayMs, Date.parse(caCert.validTo)),
    isCa: false, keyUsages: ['digitalSignature'], extKeyUsages: ['serverAuth'],
    dnsNames: normalized.dnsNames, ipAddresses: normalized.ips,
  });
  return { certPem: cert.pem, keyPem: privatePem(privateKey) };
}

function caCommonNameOf(cert: X509Certificate): string {
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (cn === undefined) throw new Error('pki: CA certificate has no common name');
  return cn;
}

/** The SANs a certificate carries, normalized; only DNS and IPv4 entries are understood. */
export function sansOfCertificate(certPem: string): SubjectAltNames {
  const text = new X509Certificate(certPem).subjectAltName ?? '';
  const ips: string[] = [];
  const dnsNames: string[] = [];
  for (const entry of text.split(', ')) {
    if (entry.startsWith('DNS:')) dnsNames.push(entry.slice(4));
    else if (entry.startsWith('IP Address:')) ips.push(entry.slice(11));
  }
  return normalizeSans({ ips, dnsNames });
}

function sameSans(a: SubjectAltNames, b: SubjectAltNames): boolean {
  return a.ips.join(',') === b.ips.join(',') && a.dnsNames.join(',') === b.dnsNames.join(',');
}

/** Why a stored CA cannot be reused, or undefined when it can. */
function caProblem(pair: CertAndKey, nowMs: number): string | undefined {
  const cert = new X509Certificate(pair.certPem);
  if (!cert.ca) return 'not a CA certificate';
  if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return 'key does not match certificate';
  if (Date.parse(cert.validTo) - renewBeforeDays * dayMs < nowMs) return 'expires soon';
  return undefined;
}

/** Why a stored serving certificate cannot be reused, or undefined when it can. */
function servingProblem(pair: CertAndKey, ca: CertAndKey, sans: SubjectAltNames, nowMs: number): string | undefined {
  const cert = new X509Certificate(pair.certPem);
  const caCert = new X509Certificate(ca.certPem);
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return 'not signed by the current CA';
  if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return 'key does not match certificate';
  if (Date.parse(cert.validTo) - renewBeforeDays * dayMs < nowMs) return 'expires soon';
  if (!sameSans(sansOfCertificate(pair.certPem), sans)) return 'SANs changed';
  return undefined;
}

/** Parses and checks a stored pair; a corrupt file counts as missing so the PKI heals itself. */
async function loadPair(certPath: string, keyPath: string, problem: (pair: CertAndKey) => string | undefined):
  Promise<CertAndKey | undefined> {
  const [certPem, keyPem] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    return problem({ certPem, keyPem }) === undefined ? { certPem, keyPem } : undefined;
  } catch {
    return undefined;
  }
}

async function savePair(certPath: string, keyPath: string, pair: CertAndKey): Promise<void> {
  // Key first: a crash between the two writes leaves a mismatched pair, which the next load rejects.
  await writeAtomic(keyPath, pair.keyPem, secretFileMode);
  await writeAtomic(certPath, pair.certPem, publicFileMode);
}

async function loadOrCreateServiceAccountKey(dir: string): Promise<{ privateKeyPem: string; publicKeyPem: string; generated: boolean }> {
  const keyPath = join(dir, pkiFiles.serviceAccountKey);
  const stored = await readOptional(keyPath);
  if (stored !== undefined) {
    try {
      const key = createPrivateKey(stored);
      if (key.asymmetricKeyType === 'rsa') {
        const publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
        return { privateKeyPem: stored, publicKeyPem, generated: false };
      }
    } catch {
      // corrupt: fall through and replace it (outstanding ServiceAccount tokens become invalid)
    }
  }
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: serviceAccountKeyBits });
  const privateKeyPem = privatePem(privateKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await writeAtomic(keyPath, privateKeyPem, secretFileMode);
  await writeAtomic(join(dir, pkiFiles.serviceAccountPublicKey), publicKeyPem, publicFileMode);
  return { privateKeyPem, publicKeyPem, generated: true };
}

/**
 * Loads `<dataDir>/pki/`, creating or replacing whatever is missing, corrupt, near expiry, or (for the
 * serving certificate) issued for other SANs. A new CA forces a new serving certificate. One caller
 * per data directory at a time.
 */
export async function loadOrCreatePki(dataDir: string, options: LoadOrCreatePkiOptions = {}): Promise<Pki> {
  const nowMs = options.nowMs ?? Date.now();
  const sans = normalizeSans({ ips: options.ips ?? [defaultFrontDoorIp, defaultKubernetesServiceIp],
    dnsNames: options.dnsNames ?? defaultServingDnsNames });
  const dir = join(dataDir, 'pki');
  // RSA generation (when needed) runs on the thread pool while the certificates are checked.
  const [sa, certs] = await Promise.all([loadOrCreateServiceAccountKey(dir), loadOrCreateCerts(dir, sans, nowMs)]);
  return {
    dir, ca: certs.ca, serving: certs.serving,
    serviceAccount: { privateKeyPem: sa.privateKeyPem, publicKeyPem: sa.publicKeyPem },
    generated: { ca: certs.caGenerated, serving: certs.servingGenerated, serviceAccountKey: sa.generated },
  };
}

async function loadOrCreateCerts(dir: string, sans: SubjectAltNames, nowMs: number):
  Promise<{ ca: CertAndKey; serving: CertAndKey; caGenerated: boolean; servingGenerated: boolean }> {
  const path = (name: string): string => join(dir, name);
  let ca = await loadPair(path(pkiFiles.caCert), path(pkiFiles.caKey), (p) => caProblem(p, nowMs));
  const caGenerated = ca === undefined;
  if (ca === undefined) {
    ca = createCa(nowMs);
    await savePair(path(pkiFiles.caCert), path(pkiFiles.caKey), ca);
  }
  const currentCa = ca;
  let serving = await loadPair(path(pkiFiles.servingCert), path(pkiFiles.servingKey),
    (p) => servingProblem(p, currentCa, sans, nowMs));
  const servingGenerated = serving === undefined;
  if (serving === undefined) {
    serving = createServingCert(currentCa, sans, nowMs);
    await savePair(path(pkiFiles.servingCert), path(pkiFiles.servingKey), serving);
  }
  return { ca: currentCa, serving, caGenerated, servingGenerated };
}
