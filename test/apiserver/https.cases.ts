/** The HTTPS adapter on the wire: chunked watch lines, body limits, content types, and random requests that must never kill it. */
import test from 'ava';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { decodeProtobufObject } from '../../src/apiserver/protobuf.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { adminToken, startE2e, type E2e } from './e2e-helpers.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

interface Reply { status: number; type: string; body: string }

function call(e: E2e, method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {}): Promise<Reply> {
  const s = e.servers[0]!;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? adminToken}` }), ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = request({ host: s.host, port: s.port, method, path, ca: e.caPem, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('watch over HTTPS: headers at once, one JSON event per line, ends at timeoutSeconds', async (t) => {
  const e = await startE2e(['127.77.4.1']);
  t.teardown(() => e.close());
  const s = e.servers[0]!;
  const lines: string[] = [];
  const done = new Promise<number>((resolve, reject) => {
    const req = request({ host: s.host, port: s.port, path: '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=3', ca: e.caPem, headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
      t.is(res.headers['content-type'], 'application/json');
      t.is(res.headers['transfer-encoding'], 'chunked');
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        lines.push(...parts);
      });
      // Headers arrived before any event exists: create one now.
      void call(e, 'POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w' } }) });
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  t.is(await done, 200);
  t.is(lines.length, 1);
  t.like(JSON.parse(lines[0]!), { type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'w' } } });
});

test('HTTPS adapter: 413 over 3 MiB, JSON errors, text/plain health, 405 for other methods, 401 without a token', async (t) => {
  const e = await startE2e(['127.77.4.2']);
  t.teardown(() => e.close());
  const big = await call(e, 'POST', '/api/v1/namespaces/default/configmaps', { body: Buffer.alloc(3 * 1024 * 1024 + 10, 0x20) });
  t.is(big.status, 413);
  t.is(JSON.parse(big.body).reason, 'RequestEntityTooLarge');
  const bad = await call(e, 'POST', '/api/v1/namespaces/default/configmaps', { body: '{nope' });
  t.is(bad.status, 400);
  t.is(bad.type, 'application/json');
  const health = await call(e, 'GET', '/healthz', { token: null });
  t.is(health.body, 'ok');
  t.regex(health.type, /^text\/plain/);
  t.is((await call(e, 'OPTIONS', '/api')).status, 405);
  t.is((await call(e, 'GET', '/api/v1/pods', { token: 'bad' })).status, 401);
  // kubectl asks v2 in protobuf: an empty document (client-side validation skips); JSON is the Swagger 2.0 document.
  const openapi = await call(e, 'GET', '/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
  t.is(openapi.type, 'application/octet-stream');
  t.is(openapi.body, '');
  const swagger = await call(e, 'GET', '/openapi/v2');
  t.is(swagger.type, 'application/json');
  t.is(JSON.parse(swagger.body).swagger, '2.0');
});

test('HTTPS adapter survives random requests and garbage on the socket', async (t) => {
  const e = await startE2e(['127.77.4.3']);
  t.teardown(() => e.close());
  const rng = new SeededPrng(4242);
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'TRACE'];
  const paths = ['/', '/api/v1/namespaces/default/pods', '/apis/apps/v1/namespaces/default/deployments/x/scale', '/api/v1/nodes?watch=1&timeoutSeconds=0',
    '/api/v1/namespaces/default/pods?watch=true&resourceVersion=zz', '/%41%zz', '/api/v1/namespaces/default/configmaps?limit=-1', '/version?x=%ff'];
  const types = ['application/json', 'application/merge-patch+json', 'application/vnd.kubernetes.protobuf', 'text/html', 'application/apply-patch+yaml'];
  for (let i = 0; i < 150; i++) {
    const path = paths[rng.int(paths.length)]!;
    const r = await call(e, methods[rng.int(methods.length)]!, path.includes('watch') ? path.replace(/timeoutSeconds=\d+/, '') + '&timeoutSeconds=1' : path, {
      body: rng.next() < 0.5 ? '{"a":' : JSON.stringify({ kind: 'Pod', metadata: { name: 'x' } }), headers: { 'content-type': types[rng.int(types.length)]!, accept: rng.next() < 0.5 ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : '*/*' },
    });
    if (r.status >= 500 && r.status !== 503 && r.status !== 504) t.fail(`${path} → ${r.status} ${r.body}`);
  }
  const s = e.servers[0]!;
  for (const garbage of ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n', '\u0000\u0001\u0002 not http at all\r\n\r\n', `GET /${'a'.repeat(100_000)} HTTP/1.1\r\n\r\n`]) {
    await new Promise<void>((resolve) => {
      const sock = connect({ host: s.host, port: s.port, ca: e.caPem }, () => sock.end(garbage));
      sock.on('data', () => undefined);
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
  }
  t.is((await call(e, 'GET', '/readyz')).status, 200);
});

test('protobuf bodies: Eviction and Namespace decode; unknown kinds and lossy fields are 415', (t) => {
  const varint = (n: number): number[] => { const out: number[] = []; while (n > 127) { out.push((n & 127) | 128); n = Math.floor(n / 128); } out.push(n); return out; };
  const field = (num: number, bytes: number[]): number[] => [...varint(num * 8 + 2), ...varint(bytes.length), ...bytes];
  const str = (num: number, s: string): number[] => field(num, [...Buffer.from(s)]);
  const envelope = (apiVersion: string, kind: string, raw: number[]): Uint8Array =>
    Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...field(1, [...str(1, apiVersion), ...str(2, kind)]), ...field(2, raw), ...str(3, ''), ...str(4, '')]);
  const meta = field(1, [...str(1, 'p'), ...str(3, 'default'), ...str(4, ''), ...field(11, [...str(1, 'app'), ...str(2, 'web')])]);
  const eviction = decodeProtobufObject(envelope('policy/v1', 'Eviction', [...meta, ...field(2, [...varint(8), ...varint(0)])]));
  t.deepEqual(eviction.ok ? eviction.value : eviction.status, {
    apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'default', labels: { app: 'web' } }, deleteOptions: { gracePeriodSeconds: 0 },
  });
  const nsBody = decodeProtobufObject(envelope('v1', 'Namespace', [...field(1, str(1, 'x')), ...field(2, str(1, 'kubernetes'))]));
  t.deepEqual(nsBody.ok ? nsBody.value : nsBody.status, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: { finalizers: ['kubernetes'] } });
  const dep = decodeProtobufObject(envelope('example.com/v1', 'Widget', meta));
  t.is(dep.ok ? 0 : dep.status.code, 415);
  const lossy = decodeProtobufObject(envelope('v1', 'Namespace', [...field(1, str(99, 'owner'))]));
  t.is(lossy.ok ? 0 : lossy.status.code, 415);
  const broken = decodeProtobufObject(Uint8Array.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x7f]));
  t.is(broken.ok ? 0 : broken.status.code, 400);
});

test('HTTPS adapter: a request whose body never completes is not executed', async (t) => {
  const e = await startE2e(['127.77.4.4']);
  t.teardown(() => e.close());
  const created = await call(e, 'POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' } }) });
  t.is(created.status, 201);
  const s = e.servers[0]!;
  await new Promise<void>((resolve) => {
    const sock = connect({ host: s.host, port: s.port, ca: e.caPem }, () => {
      sock.write(`DELETE /api/v1/namespaces/default/configmaps/keep HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminToken}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"propagation`);
      setTimeout(() => sock.destroy(), 100);
    });
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  await sleep(wallClock, 100);
  t.is((await call(e, 'GET', '/api/v1/namespaces/default/configmaps/keep')).status, 200);
});
