/**
 * End to end over real sockets on 127.0.0.1: the serving certificate, the CA in a kubeconfig, and the
 * bearer-token authenticator, checked by Node's TLS, Go's TLS (kubectl) and @kubernetes/client-node.
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer as createHttpsServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { createCa, createServingCert, defaultServingSans, type CertAndKey } from '../../src/apiserver/auth/pki.js';
import { kubeconfigYaml, writeKubeconfig } from '../../src/apiserver/auth/kubeconfig.js';
import { unauthorizedStatus } from '../../src/apiserver/auth/status.js';
import { Authenticator, clusterIdentities, newStaticToken } from '../../src/apiserver/auth/tokens.js';

const nowMs = Date.now();
const ca = createCa(nowMs);
const serving = createServingCert(ca, defaultServingSans(['127.10.0.1', '127.10.0.2', '127.10.0.3']), nowMs);
const otherCa = createCa(nowMs);
const staticTokens = clusterIdentities(['worker-1']).map((id) => ({ ...id, token: newStaticToken() }));
const adminToken = staticTokens.find((e) => e.username === 'admin')!.token;
const authenticator = new Authenticator({ staticTokens });
const versionInfo = { major: '1', minor: '32', gitVersion: 'v1.32.0-pocketkube', platform: 'linux/amd64' };

function listen(server: Server | ReturnType<typeof createTlsServer>): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function startApi(t: { teardown(fn: () => Promise<void>): void }, pair: CertAndKey): Promise<number> {
  const server = createHttpsServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
    const auth = authenticator.authenticate(req.headers.authorization, Math.floor(Date.now() / 1000));
    res.setHeader('Content-Type', 'application/json');
    if (!auth.ok || auth.user.username !== 'admin') {
      res.writeHead(401).end(JSON.stringify(unauthorizedStatus()));
    } else if (req.url?.startsWith('/version')) {
      res.writeHead(200).end(JSON.stringify(versionInfo));
    } else {
      res.writeHead(404).end('{}');
    }
  });
  const port = await listen(server);
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return port;
}

test('a TLS client trusting only the CA connects to 127.0.0.1; one trusting another CA is refused', async (t) => {
  const server = createTlsServer({ cert: serving.certPem, key: serving.keyPem }, (socket) => socket.end('hello'));
  const port = await listen(server);
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const greet = (caPem: string, servername?: string): Promise<string> => new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: caPem, ...(servername ? { servername } : {}) }, () => {
      socket.setEncoding('utf8');
      let data = '';
      socket.on('data', (d: string) => { data += d; });
      socket.on('end', () => resolve(data));
    });
    socket.on('error', reject);
  });
  t.is(await greet(ca.certPem), 'hello');
  t.is(await greet(ca.certPem, 'kubernetes.default.svc'), 'hello');
  await t.throwsAsync(greet(otherCa.certPem), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  await t.throwsAsync(greet(ca.certPem, 'example.com'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

test('an https client trusting only the CA gets through with the admin token and is 401 with a bad one', async (t) => {
  const port = await startApi(t, serving);
  const get = (token: string): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/version', ca: ca.certPem, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    req.on('error', reject).end();
  });
  const ok = await get(adminToken);
  t.is(ok.status, 200);
  t.deepEqual(JSON.parse(ok.body), versionInfo);
  const bad = await get('0'.repeat(64));
  t.is(bad.status, 401);
  t.like(JSON.parse(bad.body), { kind: 'Status', reason: 'Unauthorized', code: 401 });
});

const execFileAsync = promisify(execFile);
const haveKubectl = spawnSync('kubectl', ['version', '--client', '-o', 'json']).status === 0;

(haveKubectl ? test : test.skip)('kubectl verifies the serving certificate (Go TLS) through a kubeconfig with the CA and token', async (t) => {
  const port = await startApi(t, serving);
  const dir = await mkdtemp(join(tmpdir(), 'pk-kubectl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const writeConfig = async (name: string, caPem: string, token: string): Promise<string> => {
    const path = join(dir, name);
    await writeKubeconfig(path, { server: `https://127.0.0.1:${port}`, caCertPem: caPem, token });
    t.is((await stat(path)).mode & 0o777, 0o600);
    return path;
  };
  const kubectl = (config: string) => execFileAsync('kubectl',
    ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), '--request-timeout', '10s', 'version', '-o', 'json']);
  const { stdout } = await kubectl(await writeConfig('good', ca.certPem, adminToken));
  t.is((JSON.parse(stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, versionInfo.gitVersion);
  const wrongCa = await t.throwsAsync(kubectl(await writeConfig('wrong-ca', otherCa.certPem, adminToken)));
  t.regex(String((wrongCa as { stderr?: unknown } | undefined)?.stderr), /certificate signed by unknown authority/);
  const badToken = await t.throwsAsync(kubectl(await writeConfig('bad-token', ca.certPem, newStaticToken())));
  t.regex(String((badToken as { stderr?: unknown } | undefined)?.stderr), /Unauthorized|provide credentials/);
});

test('@kubernetes/client-node 1.x connects with the kubeconfig', async (t) => {
  const port = await startApi(t, serving);
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml({ server: `https://127.0.0.1:${port}`, caCertPem: ca.certPem, token: adminToken }));
  const version = await kc.makeApiClient(VersionApi).getCode();
  t.is(version.gitVersion, versionInfo.gitVersion);
});
