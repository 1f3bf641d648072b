import test from 'ava';
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ServiceAccountTokenVerifier, issueServiceAccountToken, keyIdOf, tokenLeewaySeconds, verifyServiceAccountToken,
} from '../../src/apiserver/auth/service-account-tokens.js';
import { Authenticator, bearerTokenOf, loadOrCreateStaticTokens } from '../../src/apiserver/auth/tokens.js';

const rsa = (): { privateKey: string; publicKey: string } => generateKeyPairSync('rsa', {
  modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const key = rsa();
const otherKey = rsa();
const now = 1_800_000_000;
const saUid = '5c1d8e0a-0000-4000-8000-000000000001';
const base = { signingKey: key.privateKey, namespace: 'team-a', serviceAccountName: 'builder', serviceAccountUid: saUid, nowSeconds: now };
const verifier = new ServiceAccountTokenVerifier({ publicKeys: [key.publicKey] });

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const partsOf = (token: string): [string, string, string] => token.split('.') as [string, string, string];
const payloadOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(partsOf(token)[1], 'base64url').toString('utf8')) as Record<string, unknown>;

test('a ServiceAccount token has Kubernetes claims and verifies to the ServiceAccount user', (t) => {
  const token = issueServiceAccountToken({ ...base, pod: { name: 'web-1', uid: 'pod-uid' }, jti: 'j-1' });
  const header = JSON.parse(Buffer.from(partsOf(token)[0], 'base64url').toString('utf8')) as Record<string, unknown>;
  t.deepEqual(header, { alg: 'RS256', kid: keyIdOf(createPublicKey(key.publicKey)) });
  t.deepEqual(payloadOf(token), {
    aud: ['https://kubernetes.default.svc.cluster.local'], exp: now + 3600, iat: now, nbf: now,
    iss: 'https://kubernetes.default.svc.cluster.local', jti: 'j-1',
    'kubernetes.io': { namespace: 'team-a', pod: { name: 'web-1', uid: 'pod-uid' }, serviceaccount: { name: 'builder', uid: saUid } },
    sub: 'system:serviceaccount:team-a:builder',
  });
  const result = verifier.verify(token, now + 10);
  if (!result.ok) return t.fail(result.reason);
  t.deepEqual(result.user, {
    username: 'system:serviceaccount:team-a:builder', uid: saUid,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/pod-name': ['web-1'], 'authentication.kubernetes.io/pod-uid': ['pod-uid'],
      'authentication.kubernetes.io/credential-id': ['JTI=j-1'],
    },
  });
});

test('expiry and not-before are enforced with one minute of leeway', (t) => {
  const token = issueServiceAccountToken({ ...base, expirationSeconds: 600 });
  t.true(verifier.verify(token, now + 600 + tokenLeewaySeconds).ok);
  t.deepEqual(verifier.verify(token, now + 600 + tokenLeewaySeconds + 1), { ok: false, reason: 'token has expired' });
  t.true(verifier.verify(token, now - tokenLeewaySeconds).ok);
  t.deepEqual(verifier.verify(token, now - tokenLeewaySeconds - 1), { ok: false, reason: 'token is not valid yet' });
  t.throws(() => issueServiceAccountToken({ ...base, expirationSeconds: 599 }), { message: /expirationSeconds/ });
});

test('audience and issuer must match the verifier', (t) => {
  const other = issueServiceAccountToken({ ...base, audiences: ['vault'] });
  t.deepEqual(verifier.verify(other, now), { ok: false, reason: 'token audiences do not match the apiserver audiences' });
  t.true(new ServiceAccountTokenVerifier({ publicKeys: [key.publicKey], audiences: ['vault', 'other'] }).verify(other, now).ok);
  const foreign = issueServiceAccountToken({ ...base, issuer: 'https://elsewhere', audiences: ['https://kubernetes.default.svc.cluster.local'] });
  t.deepEqual(verifier.verify(foreign, now), { ok: false, reason: 'unknown issuer "https://elsewhere"' });
});

test('tampered payloads, tampered signatures, foreign keys and alg tricks are rejected', (t) => {
  const token = issueServiceAccountToken(base);
  const [h, p, s] = partsOf(token);
  const claims = payloadOf(token);
  const escalated = `${h}.${b64({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })}.${s}`;
  t.deepEqual(verifier.verify(escalated, now), { ok: false, reason: 'invalid signature' });
  const sig = Buffer.from(s, 'base64url');
  sig[10] = sig[10]! ^ 1;
  t.deepEqual(verifier.verify(`${h}.${p}.${sig.toString('base64url')}`, now), { ok: false, reason: 'invalid signature' });
  const foreign = issueServiceAccountToken({ ...base, signingKey: otherKey.privateKey });
  t.deepEqual(verifier.verify(foreign, now), { ok: false, reason: 'invalid signature' });
  const none = `${b64({ alg: 'none' })}.${p}.${s}`;
  t.deepEqual(verifier.verify(none, now), { ok: false, reason: 'unsupported JWT algorithm' });
  // A self-consistent token whose subject contradicts its kubernetes.io claims.
  const lyingInput = `${h}.${b64({ ...claims, sub: 'system:serviceaccount:team-a:other' })}`;
  const lying = `${lyingInput}.${sign('sha256', Buffer.from(lyingInput), key.privateKey).toString('base64url')}`;
  t.deepEqual(verifier.verify(lying, now), { ok: false, reason: 'subject does not match claims' });
  t.deepEqual(verifier.verify('a.b', now), { ok: false, reason: 'not a JWT' });
});

test('verification follows key rotation and the ServiceAccount lookup', (t) => {
  const rotated = new ServiceAccountTokenVerifier({ publicKeys: [otherKey.publicKey, key.publicKey] });
  t.true(rotated.verify(issueServiceAccountToken(base), now).ok);
  t.true(rotated.verify(issueServiceAccountToken({ ...base, signingKey: otherKey.privateKey }), now).ok);
  const token = issueServiceAccountToken({ ...base, pod: { name: 'web-1', uid: 'pod-uid' } });
  const lookup = (sa: string | undefined, pod: string | undefined) => ({
    publicKeys: [key.publicKey], lookup: { serviceAccountUid: () => sa, podUid: () => pod },
  });
  t.true(verifyServiceAccountToken(token, now, lookup(saUid, 'pod-uid')).ok);
  t.deepEqual(verifyServiceAccountToken(token, now, lookup(undefined, 'pod-uid')),
    { ok: false, reason: 'serviceaccount team-a/builder not found' });
  t.deepEqual(verifyServiceAccountToken(token, now, lookup('new-uid', 'pod-uid')),
    { ok: false, reason: 'serviceaccount team-a/builder was recreated' });
  t.deepEqual(verifyServiceAccountToken(token, now, lookup(saUid, undefined)),
    { ok: false, reason: 'bound pod team-a/web-1 no longer exists' });
});

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pk-tokens-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('static tokens are created once (0600, 32 random bytes), kept on reload, and extended for new nodes', async (t) => {
  const dataDir = await tempDir(t);
  const first = await loadOrCreateStaticTokens(dataDir, { nodeNames: ['master-1', 'worker-1'] });
  const path = join(dataDir, 'pki', 'tokens.json');
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.deepEqual(first.entries.map((e) => e.username), ['admin', 'system:kube-scheduler', 'system:kube-controller-manager',
    'system:kube-proxy', 'system:node:master-1', 'system:node:worker-1']);
  for (const e of first.entries) t.regex(e.token, /^[0-9a-f]{64}$/);
  t.is(new Set(first.entries.map((e) => e.token)).size, first.entries.length);
  const again = await loadOrCreateStaticTokens(dataDir, { nodeNames: ['master-1', 'worker-1'] });
  t.deepEqual(again.entries, first.entries);
  const grown = await loadOrCreateStaticTokens(dataDir, { nodeNames: ['master-1', 'worker-1', 'worker-2'] });
  t.is(grown.adminToken, first.adminToken);
  t.is(grown.nodeToken('worker-1'), first.nodeToken('worker-1'));
  t.regex(grown.nodeToken('worker-2'), /^[0-9a-f]{64}$/);
  t.true((await readFile(path, 'utf8')).includes(grown.nodeToken('worker-2')));
  await writeFile(path, '{"tokens": [1]}');
  await t.throwsAsync(loadOrCreateStaticTokens(dataDir, { nodeNames: [] }), { message: /corrupt/ });
});

test('authenticate: static and ServiceAccount tokens, anonymous without a bearer token, 401 for a bad one', async (t) => {
  const tokens = await loadOrCreateStaticTokens(await tempDir(t), { nodeNames: ['worker-1'] });
  const auth = new Authenticator({ staticTokens: tokens.entries, serviceAccounts: verifier });
  t.deepEqual(auth.authenticate(`Bearer ${tokens.adminToken}`, now),
    { ok: true, method: 'static-token', user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] } });
  t.deepEqual(auth.authenticate(`bearer ${tokens.nodeToken('worker-1')}`, now), {
    ok: true, method: 'static-token', user: { username: 'system:node:worker-1', groups: ['system:nodes', 'system:authenticated'] },
  });
  const sa = auth.authenticate(`Bearer ${issueServiceAccountToken(base)}`, now);
  t.true(sa.ok && sa.method === 'service-account' && sa.user.username === 'system:serviceaccount:team-a:builder');
  const anonymous = { ok: true, method: 'anonymous', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] } };
  t.deepEqual(auth.authenticate(undefined, now), anonymous);
  t.deepEqual(auth.authenticate('Basic YWRtaW46YWRtaW4=', now), anonymous);
  t.deepEqual(auth.authenticate('Bearer ', now), anonymous);
  t.deepEqual(auth.authenticate(`Bearer ${'f'.repeat(64)}`, now), { ok: false, reason: 'invalid bearer token' });
  const expired = auth.authenticate(`Bearer ${issueServiceAccountToken(base)}`, now + 7200);
  t.deepEqual(expired, { ok: false, reason: 'invalid bearer token: token has expired' });
  const strict = new Authenticator({ staticTokens: tokens.entries, allowAnonymous: false });
  t.false(strict.authenticate(undefined, now).ok);
  t.is(bearerTokenOf('Bearer abc def'), 'abc');
});
