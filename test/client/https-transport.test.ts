import test from 'ava';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, toArray } from 'rxjs';
import { createCa, createServingCert } from '../../src/apiserver/auth/pki.js';
import { kubeconfigYaml } from '../../src/apiserver/auth/kubeconfig.js';
import { statusFailure, type KubeObject } from '../../src/api/index.js';
import { KubeClient } from '../../src/client/client.js';
import { isNotFound, TransportError } from '../../src/client/errors.js';
import { HttpsTransport, transportOptionsFromKubeconfig } from '../../src/client/https-transport.js';
import type { ApiWatchEvent } from '../../src/client/api-transport.js';
import { RealClock } from '../../src/runtime/real-clock.js';

const token = 'secret-token';

async function startServer(): Promise<{ server: Server; url: string; caPem: string; seen: Array<{ url: string; auth: string | undefined; body: string }> }> {
  const now = Date.now();
  const ca = createCa(now);
  const serving = createServingCert(ca, { ips: ['127.0.0.1'], dnsNames: ['localhost'] }, now);
  const seen: Array<{ url: string; auth: string | undefined; body: string }> = [];
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization, body });
      const url = new URL(req.url ?? '/', 'https://x');
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(statusFailure(401, 'Unauthorized', 'Unauthorized')));
        return;
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        const lines = [
          JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'a', resourceVersion: '5' } } }),
          JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '6' } } }),
          JSON.stringify({ type: 'DELETED', object: { kind: 'Pod', metadata: { name: 'a', resourceVersion: '7', labels: { 'é': 'ü' } } } }),
        ].join('\n') + '\n';
        // Chunks cut mid-line and mid-character: the parser must reassemble.
        const bytes = Buffer.from(lines, 'utf8');
        const cuts = [7, 50, bytes.indexOf(Buffer.from('é')) + 1, bytes.length - 3, bytes.length];
        let from = 0;
        const writeNext = (i: number): void => {
          if (i >= cuts.length) {
            res.end();
            return;
          }
          res.write(bytes.subarray(from, cuts[i]));
          from = cuts[i]!;
          setImmediate(() => writeNext(i + 1));
        };
        writeNext(0);
        return;
      }
      if (url.pathname === '/api/v1/namespaces/default/pods/a' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Pod', metadata: { name: 'a', namespace: 'default' } }));
        return;
      }
      if (req.method === 'POST') {
        res.writeHead(201, { 'content-type': 'application/json' }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(statusFailure(404, 'NotFound', 'pods "x" not found')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://127.0.0.1:${port}`, caPem: ca.certPem, seen };
}

test('requests, errors and a chunked watch over HTTPS with the kubeconfig CA and token', async (t) => {
  const { server, url, caPem, seen } = await startServer();
  const options = transportOptionsFromKubeconfig(kubeconfigYaml({ server: url, caCertPem: caPem, token }));
  t.is(options.server, url);
  t.is(options.token, token);
  const transport = new HttpsTransport({ ...options, requestTimeoutMs: 5_000 });
  const client = new KubeClient({ transport, clock: new RealClock(), maxReadAttempts: 1 });
  try {
    const got = await client.get({ apiVersion: 'v1', kind: 'Pod' }, 'default', 'a');
    t.is(got.metadata?.name, 'a');
    t.is(seen[0]!.auth, `Bearer ${token}`);
    const created = await client.create({ apiVersion: 'v1', kind: 'Pod' }, { metadata: { name: 'n', namespace: 'default' } } as KubeObject);
    t.is(created.metadata?.name, 'n');
    const missing = await client.get({ apiVersion: 'v1', kind: 'Pod' }, 'default', 'x').catch((e: unknown) => e);
    t.true(isNotFound(missing));

    const result = await transport.watch({ method: 'GET', path: '/api/v1/pods', query: { watch: 'true', resourceVersion: '4' }, headers: {} });
    if (result.kind !== 'stream') throw new Error('expected a stream');
    const events: ApiWatchEvent[] = await firstValueFrom(result.events.pipe(toArray()));
    t.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK', 'DELETED']);
    t.deepEqual((events[2]!.object['metadata'] as { labels: Record<string, string> }).labels, { 'é': 'ü' });
    t.true(seen.at(-1)!.url.includes('resourceVersion=4'));

    const noToken = new HttpsTransport({ server: url, caPem, requestTimeoutMs: 5_000 });
    const denied = await noToken.request({ method: 'GET', path: '/api/v1/pods', query: {}, headers: {} });
    t.is(denied.status, 401);
    noToken.close();
  } finally {
    transport.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an untrusted certificate or a closed port is a TransportError', async (t) => {
  const { server, url } = await startServer();
  const wrongCa = createCa(Date.now(), 'someone-else').certPem;
  const transport = new HttpsTransport({ server: url, caPem: wrongCa, token, requestTimeoutMs: 5_000 });
  try {
    const error = await transport.request({ method: 'GET', path: '/api/v1/pods', query: {}, headers: {} }).catch((e: unknown) => e);
    t.true(error instanceof TransportError);
  } finally {
    transport.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const closed = new HttpsTransport({ server: url, token, requestTimeoutMs: 5_000 });
  const error = await closed.request({ method: 'GET', path: '/api/v1/pods', query: {}, headers: {} }).catch((e: unknown) => e);
  t.true(error instanceof TransportError);
  t.is((error as TransportError).failure, 'unreachable');
  closed.close();
  t.throws(() => new HttpsTransport({ server: 'http://127.0.0.1:1' }));
});

test('a GET on a kept-alive socket that the server closed under it is sent again on a new socket; a POST fails saying it may have been applied', async (t) => {
  const now = Date.now();
  const ca = createCa(now);
  const serving = createServingCert(ca, { ips: ['127.0.0.1'], dnsNames: ['localhost'] }, now);
  const served = new Map<object, number>();
  const bodies: string[] = [];
  // Each connection answers one request and drops the next without an answer (a backend gone
  // while its connection idled in the client's pool).
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const count = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, count);
    if (count > 1) {
      req.socket.destroy();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(201, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const transport = new HttpsTransport({ server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: ca.certPem, token });
  try {
    const send = (method: 'GET' | 'POST', name: string) => transport.request({ method, path: '/api/v1/namespaces/default/configmaps', query: {}, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : Buffer.from(JSON.stringify({ metadata: { name } })) });
    t.is((await send('POST', 'first')).status, 201);
    t.is((await send('GET', 'read')).status, 201, 'the read is replayed on a new socket: the stale one is not the caller\'s problem');
    await t.throwsAsync(send('POST', 'second'), { instanceOf: TransportError, message: /socket hang up \(a kept-alive connection was closed under the request; a write may or may not have been applied\)/ });
    t.deepEqual(bodies.map((b) => (b === '' ? 'read' : (JSON.parse(b) as { metadata: { name: string } }).metadata.name)), ['first', 'read']);
  } finally {
    transport.close();
    server.close();
  }
});
