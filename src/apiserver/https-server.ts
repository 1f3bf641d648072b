/**
 * The HTTPS adapter over an `ApiTransport` (the apiserver core): TLS with the cluster's serving
 * certificate, bounded bodies, chunked watch streams (headers flushed at once, one JSON event per
 * line). All request semantics live in the core; this file only moves bytes.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { requestEntityTooLarge, statusFailure } from '../api/index.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiTransport } from '../client/api-transport.js';
import { keepAliveTimeoutMs, maxHeaderBytes, maxRequestBodyBytes, maxWatchBufferedBytes } from './limits.js';
import { isTruthyParam } from './request.js';
import { watchLineOf } from './watch.js';
import type { ConnectResult } from './core.js';
import type { PodStreamEnd, PodStreamHandle } from './pod-stream.js';
import {
  channelError, channelStderr, channelStdout, decodeClientFrame, encodeFrame, endStatus, negotiateStreamProtocol, type StreamProtocol,
} from './remotecommand.js';

const defaultApiserverHost = '127.10.0.1';
const defaultApiserverPort = 6443;

export interface HttpsServerOptions {
  readonly transport: ApiTransport;
  readonly certPem: string;
  readonly keyPem: string;
  /** DESIGN §5: each apiserver binds its master's address. Tests pass another block and port 0. */
  readonly host?: string;
  readonly port?: number;
  /** Streams (exec, attach, `logs -f`); absent: upgrades are refused and `logs -f` answers without following. */
  readonly connect?: (request: ApiRequest, params: URLSearchParams) => Promise<ConnectResult>;
}

/** Largest WebSocket message a client may send (kubectl's stdin frames are 32 KiB at most). */
const maxStreamMessageBytes = 1024 * 1024;
/** Streams (WebSocket sessions and log follows) one apiserver carries at once. */
const maxOpenStreams = 256;

const methods: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiHttpsServer {
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<Subscription>();
  /** Open streams, each with how to end it now (the apiserver is closing). */
  private readonly streams = new Set<() => void>();
  private readonly wss = new WebSocketServer({
    noServer: true, maxPayload: maxStreamMessageBytes, perMessageDeflate: false,
    handleProtocols: (offered) => negotiateStreamProtocol(offered) ?? false,
  });

  private constructor(private readonly server: Server, readonly host: string, readonly port: number) {
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static listen(o: HttpsServerOptions): Promise<ApiHttpsServer> {
    const server = createServer({ cert: o.certPem, key: o.keyPem, maxHeaderSize: maxHeaderBytes, keepAliveTimeout: keepAliveTimeoutMs });
    const host = o.host ?? defaultApiserverHost;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? defaultApiserverPort, host, () => {
        server.off('error', reject);
        const addr = server.address();
        const port = typeof addr === 'object' && addr !== null ? addr.port : (o.port ?? defaultApiserverPort);
        const s = new ApiHttpsServer(server, host, port);
        server.on('request', (req: IncomingMessage, res: ServerResponse) => { void s.handle(o.transport, req, res, o.connect); });
        server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => { void s.upgrade(req, socket, head, o.connect); });
        // TLS handshake failures and client resets are the client's problem, never a crash.
        server.on('tlsClientError', () => undefined);
        server.on('clientError', (_e, socket) => { socket.destroy(); });
        resolve(s);
      });
    });
  }

  get url(): string {
    return `https://${this.host}:${this.port}`;
  }

  /** Stops accepting, ends watches and drops every connection at once (a dying apiserver). */
  close(): Promise<void> {
    for (const w of this.watches) w.unsubscribe();
    this.watches.clear();
    for (const end of [...this.streams]) end();
    this.streams.clear();
    this.wss.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }

  private async handle(transport: ApiTransport, req: IncomingMessage, res: ServerResponse, connect: HttpsServerOptions['connect']): Promise<void> {
    res.on('error', () => undefined);
    try {
      const method = (req.method ?? 'GET').toUpperCase();
      if (!methods.has(method)) {
        send(res, { status: 405, contentType: 'application/json', body: statusFailure(405, 'MethodNotAllowed', `the server does not allow the method ${method}`) });
        req.resume();
        return;
      }
      const body = await readBody(req);
      // A client that went away mid-body must not have a truncated request executed (a DELETE would lose its options).
      if (body === 'aborted') return;
      if (body === 'tooLarge') {
        send(res, { status: 413, contentType: 'application/json', body: requestEntityTooLarge(maxRequestBodyBytes) }, true);
        return;
      }
      const request = toApiRequest(req, method as ApiMethod, body);
      if (method === 'GET' && isTruthyParam(request.query['watch'])) {
        await this.stream(transport, request, res);
        return;
      }
      if (method === 'GET' && connect !== undefined && request.path.endsWith('/log') && isTruthyParam(request.query['follow'])) {
        await this.followLog(connect, request, new URL(req.url ?? '/', 'https://apiserver').searchParams, res);
        return;
      }
      send(res, await transport.request(request));
    } catch (error) {
      if (!res.headersSent) send(res, { status: 500, contentType: 'application/json', body: statusFailure(500, 'InternalError', `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`) });
      else res.destroy();
    }
  }

  /** A WebSocket upgrade: exec and attach (remotecommand.ts); anything else is refused with a Status. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, connect: HttpsServerOptions['connect']): Promise<void> {
    socket.on('error', () => undefined);
    try {
      const url = new URL(req.url ?? '/', 'https://apiserver');
      const method = (req.method ?? 'GET').toUpperCase();
      if (connect === undefined || (method !== 'GET' && method !== 'POST')) {
        refuseUpgrade(socket, { status: 400, contentType: 'application/json', body: statusFailure(400, 'BadRequest', `${method} ${url.pathname} cannot be upgraded on this server`) });
        return;
      }
      const request = toApiRequest(req, method, undefined);
      const result = await connect(request, url.searchParams);
      if (result.kind === 'response') { refuseUpgrade(socket, result.response); return; }
      if (result.request.kind === 'log') { refuseUpgrade(socket, { status: 400, contentType: 'application/json', body: statusFailure(400, 'BadRequest', 'pods/log streams over HTTP (follow=true), not WebSocket') }); return; }
      const protocol = negotiateStreamProtocol(String(req.headers['sec-websocket-protocol'] ?? '').split(','));
      if (protocol === undefined) {
        refuseUpgrade(socket, { status: 400, contentType: 'application/json', body: statusFailure(400, 'BadRequest', `this server speaks the WebSocket subprotocols v5.channel.k8s.io and v4.channel.k8s.io; the client offered ${JSON.stringify(req.headers['sec-websocket-protocol'] ?? '')}`) });
        return;
      }
      if (this.streams.size >= maxOpenStreams) {
        refuseUpgrade(socket, { status: 429, contentType: 'application/json', body: statusFailure(429, 'TooManyRequests', `this apiserver carries ${this.streams.size} streams (bound ${maxOpenStreams}): try again later`, { retryAfterSeconds: 1 }) });
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => { void this.session(ws, protocol, result); });
    } catch (error) {
      refuseUpgrade(socket, { status: 500, contentType: 'application/json', body: statusFailure(500, 'InternalError', `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`) });
    }
  }

  /** One exec/attach over a WebSocket: client frames to the stream, the stream's output and end to frames. */
  private async session(ws: WebSocket, protocol: StreamProtocol, result: Extract<ConnectResult, { kind: 'stream' }>): Promise<void> {
    const request = result.request;
    if (request.kind === 'log') throw new Error('session: a log follow is not a WebSocket session');
    // Hold the client's frames until the stream is open (its stdin has nowhere to go before).
    ws.pause();
    let ended = false;
    // Set once the stream opened (the callbacks above it run before and after).
    const opening: { handle?: PodStreamHandle } = {};
    const finish = (end: PodStreamEnd): void => {
      if (ended) return;
      ended = true;
      this.streams.delete(abort);
      ws.send(encodeFrame(channelError, JSON.stringify(endStatus(end, request.command))), () => ws.close(1000));
    };
    const abort = (): void => { opening.handle?.cancel('the apiserver is shutting down'); finish({ error: 'the apiserver is shutting down' }); };
    this.streams.add(abort);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.streams.delete(abort);
      if (!ended) { ended = true; opening.handle?.cancel('the client went away'); }
    });
    // Upstream tells the client its streams are ready with an empty frame on the lowest channel it reads.
    ws.send(encodeFrame(request.stdout ? channelStdout : request.stderr ? channelStderr : channelError));
    const opened = await result.open({
      output: (channel, data, written) => {
        if (ws.readyState !== ws.OPEN) { written(); return; }
        ws.send(encodeFrame(channel, data), () => written());
      },
      end: finish,
    });
    if (!opened.ok) { finish({ error: opened.status.message, code: opened.status.code }); return; }
    const stream = opened.handle;
    opening.handle = stream;
    if (ended) { stream.cancel('the client went away'); return; }
    stream.onDrain(() => { if (!ended) ws.resume(); });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ended) return;
      const frame = decodeClientFrame(protocol, isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.length) : new TextEncoder().encode(data.toString()));
      switch (frame.kind) {
        case 'stdin':
          // The runtime's window is full: stop reading the socket, so TCP pushes back on kubectl.
          if (!stream.stdin(frame.data)) ws.pause();
          return;
        case 'closeStdin': stream.closeStdin(); return;
        case 'resize': stream.resize(frame.width, frame.height); return;
        case 'empty': return;
        case 'invalid':
          stream.cancel(frame.message);
          finish({ error: `bad frame from the client: ${frame.message}`, code: 400 });
          return;
        default: {
          const never: never = frame;
          throw new Error(`session: frame ${JSON.stringify(never)}`);
        }
      }
    });
    ws.resume();
  }

  /** `kubectl logs -f`: chunked text/plain until the container ends or the client leaves. */
  private async followLog(connect: NonNullable<HttpsServerOptions['connect']>, request: ApiRequest, params: URLSearchParams, res: ServerResponse): Promise<void> {
    const result = await connect(request, params);
    if (result.kind === 'response') { send(res, result.response); return; }
    if (this.streams.size >= maxOpenStreams) {
      send(res, { status: 429, contentType: 'application/json', body: statusFailure(429, 'TooManyRequests', `this apiserver carries ${this.streams.size} streams (bound ${maxOpenStreams}): try again later`, { retryAfterSeconds: 1 }) });
      return;
    }
    let ended = false;
    let headersSent = false;
    // Set once the stream opened (the callbacks above it run before and after).
    const opening: { handle?: PodStreamHandle } = {};
    const start = (): void => {
      if (headersSent) return;
      headersSent = true;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
    };
    const abort = (): void => { opening.handle?.cancel('the apiserver is shutting down'); if (!ended) { ended = true; res.destroy(); } };
    this.streams.add(abort);
    res.on('close', () => {
      this.streams.delete(abort);
      if (!ended) { ended = true; opening.handle?.cancel('the client went away'); }
    });
    const opened = await result.open({
      output: (_channel, data, written) => {
        if (ended) { written(); return; }
        start();
        res.write(data, () => written());
      },
      end: (end) => {
        if (ended) return;
        ended = true;
        this.streams.delete(abort);
        if (!headersSent && 'error' in end) { send(res, { status: end.code ?? 500, contentType: 'application/json', body: statusFailure(end.code ?? 500, end.code === 400 ? 'BadRequest' : 'InternalError', end.error) }); return; }
        start();
        res.end();
      },
    });
    if (!opened.ok) {
      this.streams.delete(abort);
      ended = true;
      if (!headersSent) send(res, { status: opened.status.code, contentType: 'application/json', body: opened.status });
      else res.end();
      return;
    }
    opening.handle = opened.handle;
    if (ended) opened.handle.cancel('the client went away');
    else start();
  }

  private async stream(transport: ApiTransport, request: ApiRequest, res: ServerResponse): Promise<void> {
    const result = await transport.watch(request);
    if (result.kind === 'response') {
      send(res, result.response);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    let corked = false;
    const sub = result.events.subscribe({
      next: (e) => {
        // Events of one burst (a list replay, a multi-key revision) leave in one TLS record.
        if (!corked) {
          corked = true;
          res.cork();
          process.nextTick(() => { corked = false; res.uncork(); });
        }
        res.write(`${watchLineOf(e)}\n`);
        // A client that does not read cannot make the server buffer without bound: drop it, it re-watches.
        if (res.writableLength > maxWatchBufferedBytes) res.destroy();
      },
      complete: () => res.end(),
      error: () => res.destroy(),
    });
    this.watches.add(sub);
    res.on('close', () => {
      sub.unsubscribe();
      this.watches.delete(sub);
    });
  }
}

/** A plain HTTP answer on a socket that asked to upgrade (a refusal before the WebSocket handshake). */
function refuseUpgrade(socket: Duplex, r: ApiResponse): void {
  const payload = r.body instanceof Uint8Array ? Buffer.from(r.body) : typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(JSON.stringify(r.body));
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' }[r.status] ?? 'Error';
  socket.end(`HTTP/1.1 ${r.status} ${reason}\r\nContent-Type: ${r.contentType}\r\nContent-Length: ${payload.length}\r\nCache-Control: no-cache, private\r\nConnection: close\r\n\r\n${payload.toString('utf8')}`);
}

function toApiRequest(req: IncomingMessage, method: ApiMethod, body: Buffer | undefined): ApiRequest {
  const url = new URL(req.url ?? '/', 'https://apiserver');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return { method, path: url.pathname, query, headers, ...(body && body.length > 0 ? { body: new Uint8Array(body.buffer, body.byteOffset, body.length) } : {}) };
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined | 'tooLarge' | 'aborted'> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxRequestBodyBytes) return Promise.resolve('tooLarge');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxRequestBodyBytes) {
        req.removeAllListeners('data');
        req.pause();
        resolve('tooLarge');
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 0 ? undefined : Buffer.concat(chunks)));
    req.on('close', () => { if (!req.complete) resolve('aborted'); });
    req.on('error', () => resolve('aborted'));
  });
}

function send(res: ServerResponse, r: ApiResponse, closeAfter = false): void {
  if (res.headersSent || res.destroyed) return;
  const payload = r.body instanceof Uint8Array ? r.body : typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(JSON.stringify(r.body));
  res.writeHead(r.status, {
    ...(r.headers ?? {}), 'content-type': r.contentType, 'content-length': String(payload.length), 'cache-control': 'no-cache, private',
    ...(closeAfter ? { connection: 'close' } : {}),
  });
  res.end(payload);
}
