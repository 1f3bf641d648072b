import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { ServiceAccountTokenVerifier } from '../../src/apiserver/auth/service-account-tokens.js';
import { Authenticator } from '../../src/apiserver/auth/tokens.js';
import { body, harness } from './helpers.js';

const key = generateKeyPairSync('rsa', {
  modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const verifier = new ServiceAccountTokenVerifier({ publicKeys: [key.publicKey] });
const tokenPath = '/api/v1/namespaces/default/serviceaccounts/robot/token';
const request = (spec: Record<string, unknown> = {}) => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function withAccount() {
  const h = await harness({ tokenIssuer: { signingKeyPem: key.privateKey } });
  const sa = await h.call('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } });
  return { h, saUid: body(sa)['metadata']['uid'] as string };
}

test('TokenRequest issues a token that verifies as the ServiceAccount, with upstream defaults', async (t) => {
  const { h, saUid } = await withAccount();
  const r = await h.call('POST', tokenPath, request());
  t.is(r.status, 201);
  const out = body(r);
  t.is(out['kind'], 'TokenRequest');
  t.deepEqual(out['spec']['audiences'], ['https://kubernetes.default.svc.cluster.local']);
  t.is(out['spec']['expirationSeconds'], 3600);
  const verified = verifier.verify(out['status']['token'] as string, nowSeconds());
  t.true(verified.ok);
  if (!verified.ok) return;
  t.is(verified.user.username, 'system:serviceaccount:default:robot');
  t.is(verified.claims['kubernetes.io'].serviceaccount.uid, saUid);
  t.is(Date.parse(out['status']['expirationTimestamp'] as string) / 1000, verified.claims.exp);
  h.close();
});

test('TokenRequest refuses a missing account, a short lifetime, a wrong kind and a stale bound uid', async (t) => {
  const { h } = await withAccount();
  const missing = await h.call('POST', '/api/v1/namespaces/default/serviceaccounts/ghost/token', request());
  t.is(missing.status, 404);
  t.regex(body(missing)['message'] as string, /serviceaccounts "ghost" not found/);
  const short = await h.call('POST', tokenPath, request({ expirationSeconds: 599 }));
  t.is(short.status, 422);
  t.regex(body(short)['message'] as string, /spec\.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes/);
  const wrongKind = await h.call('POST', tokenPath, { apiVersion: 'v1', kind: 'Pod', spec: {} });
  t.is(wrongKind.status, 400);
  const badBind = await h.call('POST', tokenPath, request({ boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'x' } }));
  t.is(badBind.status, 400);
  t.regex(body(badBind)['message'] as string, /cannot bind token to object of type/);
  await h.call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const stale = await h.call('POST', tokenPath, request({ boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'not-the-uid' } }));
  t.is(stale.status, 409);
  t.regex(body(stale)['message'] as string, /does not match the UID in record/);
  h.close();
});

test('a pod-bound TokenRequest carries the pod claims and custom audiences', async (t) => {
  const { h } = await withAccount();
  const pod = await h.call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const podUid = body(pod)['metadata']['uid'] as string;
  const r = await h.call('POST', tokenPath, request({ audiences: ['vault'], expirationSeconds: 700, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: podUid } }));
  t.is(r.status, 201);
  const token = body(r)['status']['token'] as string;
  const forVault = new ServiceAccountTokenVerifier({ publicKeys: [key.publicKey], audiences: ['vault'] }).verify(token, nowSeconds());
  t.true(forVault.ok);
  if (forVault.ok) t.deepEqual(forVault.claims['kubernetes.io'].pod, { name: 'p', uid: podUid });
  t.false(verifier.verify(token, nowSeconds()).ok, 'a token for another audience does not authenticate to the apiserver');
  h.close();
});

test('without a signing key the token subresource says why it is unavailable; the issued token authenticates to the core', async (t) => {
  const plain = await harness();
  const r = await plain.call('POST', tokenPath, request());
  t.is(r.status, 404);
  t.regex(body(r)['message'] as string, /without a ServiceAccount signing key/);
  plain.close();

  const admin = 'admin-token-0123456789abcdef';
  const h = await harness({
    tokenIssuer: { signingKeyPem: key.privateKey },
    authenticator: new Authenticator({ staticTokens: [{ token: admin, username: 'admin', groups: ['system:masters'] }], serviceAccounts: verifier }),
  });
  const asAdmin = { headers: { authorization: `Bearer ${admin}` } };
  await h.call('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } }, asAdmin);
  const issued = await h.call('POST', tokenPath, request(), asAdmin);
  const asRobot = { headers: { authorization: `Bearer ${body(issued)['status']['token'] as string}` } };
  const denied = await h.call('GET', '/api/v1/namespaces/default/secrets', undefined, asRobot);
  t.is(denied.status, 403);
  t.regex(body(denied)['message'] as string, /User "system:serviceaccount:default:robot" cannot list resource "secrets"/);
  h.close();
});
