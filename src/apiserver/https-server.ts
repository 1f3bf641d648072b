/**
 * The HTTPS adapter over an `ApiTransport` (the apiserver core): TLS with the cluster's serving
 * certificate, bounded bodies, chunked watch streams (headers flushed at once, one JSON event per
 * line). All request semantics live in the core; this file only moves bytes.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Subscription } from 'rxjs';
import { requestEntityTooLarge, statusFailure } from '../api/index.js';
import type { ApiMethod, ApiRequest, ApiResponse, ApiTransport } from '../client/api-transport.js';
import { keepAliveTimeoutMs, maxHeaderBytes, maxRequestBodyBytes, maxWatchBufferedBytes } from './limits.js';
import { isTruthyParam } from './request.js';
import { watchLineOf } from './watch.js';

const defaultApiserverHost = '127.10.0.1';
const defaultApiserverPort = 6443;

export interface HttpsServerOptions {
  readonly transport: ApiTransport;
  readonly certPem: string;
  readonly keyPem: string;
  /** DESIGN §5: each apiserver binds its master's address. Tests pass another block and port 0. */
  readonly host?: string;
  readonly port?: number;
}

const methods: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiHttpsServer {
  private readonly sockets = new Set<Socket>();
  private readonly watches = new Set<Subscription>();

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
        server.on('request', (req: IncomingMessage, res: ServerResponse) => { void s.handle(o.transport, req, res); });
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
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }

  private async handle(transport: ApiTransport, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      send(res, await transport.request(request));
    } catch (error) {
      if (!res.headersSent) send(res, { status: 500, contentType: 'application/json', body: statusFailure(500, 'InternalError', `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`) });
      else res.destroy();
    }
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
