/**
 * The HTTPS adapter's streams with a WebSocket client (the `ws` package) and a fake stream source:
 * the subprotocol, the ready frame, stdin to the stream and output back, resize, the v5 close, the
 * end status on the error channel, refusals as plain HTTP Status answers, and `logs -f` chunks.
 */
import test from 'ava';
import { get as httpsGet } from 'node:https';
import WebSocket from 'ws';
import { notFound } from '../../src/api/index.js';
import { createCa, createServingCert, defaultServingSans } from '../../src/apiserver/auth/index.js';
import type { ConnectResult } from '../../src/apiserver/core.js';
import { ApiHttpsServer } from '../../src/apiserver/https-server.js';
import type { PodStreamSink } from '../../src/apiserver/pod-stream.js';
import { streamOptionsOf } from '../../src/apiserver/remotecommand.js';
import { statusResponse } from '../../src/apiserver/request.js';
import type { ApiTransport } from '../../src/client/api-transport.js';

const host = '127.77.42.1';
const ca = createCa(Date.now());
const serving = createServingCert(ca, defaultServingSans([host]), Date.now());
const resizes: string[] = [];
const cancels: string[] = [];
let logSink: PodStreamSink | undefined;

const transport: ApiTransport = {
  request: async () => statusResponse(notFound({ group: '', resource: 'pods' }, 'x')),
  watch: async () => ({ kind: 'response', response: statusResponse(notFound({ group: '', resource: 'pods' }, 'x')) }),
};

/** exec on pod `box`: stdin echoed to stdout upper-cased; the end of stdin ends it with exit code 7. */
async function connect(_request: unknown, params: URLSearchParams, path: string): Promise<ConnectResult> {
  if (path.includes('/pods/missing/')) return { kind: 'response', response: statusResponse(notFound({ group: '', resource: 'pods' }, 'missing')) };
  if (path.endsWith('/log')) {
    return {
      kind: 'stream', request: { kind: 'log', container: 'box', timestamps: false },
      open: async (sink) => { logSink = sink; return { ok: true, handle: { stdin: () => true, onDrain: () => undefined, closeStdin: () => undefined, resize: () => undefined, cancel: (r) => { cancels.push(r); } } }; },
    };
  }
  const options = streamOptionsOf('exec', params, 'box');
  if (!options.ok) return { kind: 'response', response: statusResponse(options.status) };
  return {
    kind: 'stream', request: options.value,
    open: async (sink) => ({
      ok: true,
      handle: {
        stdin: (data) => { sink.output(1, new TextEncoder().encode(new TextDecoder().decode(data).toUpperCase()), () => undefined); return true; },
        onDrain: () => undefined,
        closeStdin: () => sink.end({ exitCode: 7 }),
        resize: (w, h) => { resizes.push(`${w}x${h}`); },
        cancel: (reason) => { cancels.push(reason); },
      },
    }),
  };
}

let server: ApiHttpsServer | undefined;

test.before(async () => {
  server = await ApiHttpsServer.listen({
    transport, certPem: serving.certPem, keyPem: serving.keyPem, host, port: 0,
    connect: (request, params) => connect(request, params, request.path),
  });
});

test.after.always(async () => { await server?.close(); });

interface Session { readonly frames: Uint8Array[]; readonly closed: Promise<number>; readonly ws: WebSocket; readonly protocol: Promise<string> }

function dial(path: string, protocols: string[]): Session {
  const ws = new WebSocket(`wss://${host}:${server!.port}${path}`, protocols, { ca: ca.certPem });
  const frames: Uint8Array[] = [];
  ws.on('message', (data: Buffer) => frames.push(new Uint8Array(data)));
  return {
    frames, ws,
    closed: new Promise((resolve) => ws.on('close', (code) => resolve(code))),
    protocol: new Promise((resolve, reject) => { ws.on('open', () => resolve(ws.protocol)); ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`))); ws.on('error', reject); }),
  };
}

const execPath = '/api/v1/namespaces/default/pods/box/exec?command=cat&stdin=true&stdout=true&stderr=true';
const frameText = (f: Uint8Array) => `${f[0]}:${new TextDecoder().decode(f.subarray(1))}`;

test('v5: a ready frame, stdin through the stream, resize, close of stdin, then the exit status and a normal close', async (t) => {
  const s = dial(execPath, ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
  t.is(await s.protocol, 'v5.channel.k8s.io');
  s.ws.send(new Uint8Array([0, ...new TextEncoder().encode('hello')]));
  s.ws.send(new Uint8Array([4, ...new TextEncoder().encode('{"Width":80,"Height":24}')]));
  s.ws.send(new Uint8Array([255, 0]));
  t.is(await s.closed, 1000);
  t.deepEqual(s.frames.map(frameText).slice(0, 2), ['1:', '1:HELLO']);
  const status = JSON.parse(new TextDecoder().decode(s.frames.at(-1)!.subarray(1))) as Record<string, unknown>;
  t.is(s.frames.at(-1)![0], 3);
  t.like(status, { status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } });
  t.deepEqual(resizes, ['80x24']);
});

test('v4 has no close frame: sending one ends the session with a Status naming it; leaving cancels the stream', async (t) => {
  const s = dial(execPath, ['v4.channel.k8s.io']);
  t.is(await s.protocol, 'v4.channel.k8s.io');
  s.ws.send(new Uint8Array([255, 0]));
  await s.closed;
  t.regex(frameText(s.frames.at(-1)!), /^3:.*bad frame from the client: a close frame needs v5\.channel\.k8s\.io/);
  const before = cancels.length;
  const left = dial(execPath, ['v5.channel.k8s.io']);
  await left.protocol;
  left.ws.terminate();
  for (let i = 0; i < 100 && cancels.length === before; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(cancels.at(-1), 'the client went away');
});

test('refusals are plain HTTP with a Status: unknown pod 404, bad options 400, no common subprotocol 400', async (t) => {
  const body = (path: string, protocols: string[]) => new Promise<string>((resolve) => {
    const ws = new WebSocket(`wss://${host}:${server!.port}${path}`, protocols, { ca: ca.certPem });
    ws.on('unexpected-response', (_req, res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve(`${res.statusCode} ${JSON.parse(b).message as string}`));
    });
    ws.on('open', () => resolve('opened'));
    ws.on('error', () => undefined);
  });
  t.is(await body('/api/v1/namespaces/default/pods/missing/exec?command=ls&stdout=1', ['v5.channel.k8s.io']), '404 pods "missing" not found');
  t.regex(await body('/api/v1/namespaces/default/pods/box/exec?command=ls', ['v5.channel.k8s.io']), /^400 you must specify at least 1 of stdin, stdout, stderr/);
  t.regex(await body(execPath, ['channel.k8s.io']), /^400 this server speaks the WebSocket subprotocols v5\.channel\.k8s\.io and v4\.channel\.k8s\.io/);
});

test('logs -f: chunks as they come, the response ends with the stream', async (t) => {
  const chunks: string[] = [];
  const done = new Promise<number>((resolve, reject) => {
    httpsGet({ host, port: server!.port, path: '/api/v1/namespaces/default/pods/box/log?follow=true', ca: ca.certPem }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => chunks.push(c));
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
  for (let i = 0; i < 200 && logSink === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  logSink!.output(1, new TextEncoder().encode('one\n'), () => undefined);
  for (let i = 0; i < 200 && chunks.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(chunks, ['one\n'], 'the first line arrives before the stream ends');
  logSink!.output(1, new TextEncoder().encode('two\n'), () => undefined);
  logSink!.end({ exitCode: 0 });
  t.is(await done, 200);
  t.is(chunks.join(''), 'one\ntwo\n');
});
