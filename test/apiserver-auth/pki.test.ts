import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCa, createServingCert, defaultServingSans, loadOrCreatePki, pkiFiles, renewBeforeDays, sansOfCertificate,
  servingCertValidityDays,
} from '../../src/apiserver/auth/pki.js';

const masters = ['127.10.0.1', '127.10.0.2', '127.10.0.3'];
const sans = defaultServingSans(masters);
const nowMs = Date.UTC(2026, 0, 1);
const dayMs = 86_400_000;

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pk-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('default SANs cover the front door, every master, the kubernetes Service IP and the service names', (t) => {
  t.deepEqual(sans.ips, ['127.0.0.1', '127.10.0.1', '127.10.0.2', '127.10.0.3', '127.96.0.1']);
  t.deepEqual(sans.dnsNames, ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local', 'localhost']);
  t.throws(() => defaultServingSans(['10.0.0.300']), { message: /not an IPv4 address/ });
});

test('the CA is a self-signed CA; it verifies a serving certificate that matches every SAN and nothing else', (t) => {
  const start = process.hrtime.bigint();
  const ca = createCa(nowMs);
  const serving = createServingCert(ca, sans, nowMs);
  t.log(`CA + serving certificate generated in ${Number(process.hrtime.bigint() - start) / 1e6} ms`);
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(serving.certPem);
  t.true(caCert.ca);
  t.true(caCert.verify(caCert.publicKey), 'CA is self-signed');
  t.false(cert.ca);
  t.true(cert.checkIssued(caCert));
  t.true(cert.verify(caCert.publicKey));
  t.false(cert.verify(new X509Certificate(createCa(nowMs).certPem).publicKey), 'another CA does not verify it');
  t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  for (const ip of sans.ips) t.is(cert.checkIP(ip), ip);
  for (const name of sans.dnsNames) t.is(cert.checkHost(name), name);
  t.is(cert.checkIP('127.10.0.4'), undefined);
  t.is(cert.checkHost('example.com'), undefined);
  t.true(cert.checkPrivateKey(createPrivateKey(serving.keyPem)));
  t.is(Date.parse(cert.validTo), Math.floor((nowMs + servingCertValidityDays * dayMs) / 1000) * 1000);
  t.deepEqual(sansOfCertificate(serving.certPem), sans);
});

test('loadOrCreatePki persists keys with mode 0600 and returns the same material on reload', async (t) => {
  const dataDir = await tempDir(t);
  const first = await loadOrCreatePki(dataDir, { ...sans, nowMs });
  t.deepEqual(first.generated, { ca: true, serving: true, serviceAccountKey: true });
  for (const f of [pkiFiles.caKey, pkiFiles.servingKey, pkiFiles.serviceAccountKey]) {
    t.is((await stat(join(dataDir, 'pki', f))).mode & 0o777, 0o600, f);
  }
  t.is(await readFile(join(dataDir, 'pki', pkiFiles.caCert), 'utf8'), first.ca.certPem);
  const again = await loadOrCreatePki(dataDir, { ...sans, nowMs: nowMs + dayMs });
  t.deepEqual(again.generated, { ca: false, serving: false, serviceAccountKey: false });
  t.deepEqual(again.ca, first.ca);
  t.deepEqual(again.serving, first.serving);
  t.deepEqual(again.serviceAccount, first.serviceAccount);
  t.true(new X509Certificate(again.serving.certPem).verify(new X509Certificate(again.ca.certPem).publicKey));
});

test('changed SANs regenerate only the serving certificate', async (t) => {
  const dataDir = await tempDir(t);
  const first = await loadOrCreatePki(dataDir, { ...sans, nowMs });
  const more = defaultServingSans([...masters, '127.10.0.4']);
  const second = await loadOrCreatePki(dataDir, { ...more, nowMs });
  t.deepEqual(second.generated, { ca: false, serving: true, serviceAccountKey: false });
  t.is(second.ca.certPem, first.ca.certPem);
  t.not(second.serving.certPem, first.serving.certPem);
  const cert = new X509Certificate(second.serving.certPem);
  t.is(cert.checkIP('127.10.0.4'), '127.10.0.4');
  t.true(cert.verify(new X509Certificate(first.ca.certPem).publicKey));
  // Same SANs in another order (and duplicated) are the same set: no regeneration.
  const third = await loadOrCreatePki(dataDir, { ips: [...more.ips].reverse().concat('127.0.0.1'), dnsNames: more.dnsNames, nowMs });
  t.false(third.generated.serving);
});

test('a serving certificate near expiry is renewed; a corrupt CA key replaces the CA and the serving certificate', async (t) => {
  const dataDir = await tempDir(t);
  const first = await loadOrCreatePki(dataDir, { ...sans, nowMs });
  const late = nowMs + (servingCertValidityDays - renewBeforeDays + 1) * dayMs;
  const renewed = await loadOrCreatePki(dataDir, { ...sans, nowMs: late });
  t.deepEqual(renewed.generated, { ca: false, serving: true, serviceAccountKey: false });
  t.true(Date.parse(new X509Certificate(renewed.serving.certPem).validTo) > late + 300 * dayMs);

  await writeFile(join(dataDir, 'pki', pkiFiles.caKey), 'not a key');
  const healed = await loadOrCreatePki(dataDir, { ...sans, nowMs: late });
  t.deepEqual(healed.generated, { ca: true, serving: true, serviceAccountKey: false });
  t.not(healed.ca.certPem, first.ca.certPem);
  t.true(new X509Certificate(healed.serving.certPem).verify(new X509Certificate(healed.ca.certPem).publicKey));
});
