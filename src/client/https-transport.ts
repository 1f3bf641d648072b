/**
 * ApiTransport over HTTPS (node:https), for library users and tests talking to the API front
 * door like kubectl: bearer token, cluster CA from the kubeconfig, one keep-alive agent. Watch
 * responses are chunked newline-delimited JSON, parsed line by line into an Observable.
 * This is a shell: it alone in src/client uses real sockets and real timers.
 */
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { connect as tlsConnect } from 'node:tls';
import { Observable } from 'rxjs';
import { parse as parseYaml } from 'yaml';
import { asArray, asRecord, asString } from '../api/index.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchEvent, ApiWatchResult } from './api-transport.js';
import { TransportError } from './errors.js';

export interface HttpsTransportOptions {
  /** e.g. https://127.0.0.1:6443 */
  readonly server: string;
  /** PEM of the cluster CA; absent: the system roots. */
  readonly caPem?: string;
  readonly token?: string;
  readonly insecureSkipTlsVerify?: boolean;
  /** Until the response headers arrive (default 30 s); for plain requests also the whole body. */
  readonly requestTimeoutMs?: number;
  /** Plain responses larger than this fail (default 64 MiB). */
  readonly maxResponseBytes?: number;
  /** One watch event line larger than this breaks the stream (default 16 MiB). */
  readonly maxWatchLineBytes?: number;
  /** Concurrent connections (default 64; watches hold one each). */
  readonly maxSockets?: number;
  readonly userAgent?: string;
  /**
   * Opens the byte stream each connection runs TLS over, instead of a TCP socket to the server's
   * address: a container reaches the apiserver through its pod network (PodNetwork.connect).
   */
  readonly connect?: () => Promise<Duplex>;
}

const watchEventTypes = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** The current (or named) context of a kubeconfig: server, CA and bearer token. */
export function transportOptionsFromKubeconfig(yamlText: string, contextName?: string): HttpsTransportOptions {
  const config = asRecord(parseYaml(yamlText));
  if (config === undefined) throw new Error('kubeconfig is not a mapping');
  const named = (list: string, name: string | undefined, field: string): Record<string, unknown> => {
    const entry = asArray(config[list]).map(asRecord).find((e) => e !== undefined && e['name'] === name);
    const value = asRecord(entry?.[field]);
    if (value === undefined) throw new Error(`kubeconfig: no ${field} named ${String(name)}`);
    return value;
  };
  const context = named('contexts', contextName ?? asString(config['current-context']), 'context');
  const cluster = named('clusters', asString(context['cluster']), 'cluster');
  const user = named('users', asString(context['user']), 'user');
  const server = asString(cluster['server']);
  if (server === undefined) throw new Error('kubeconfig: cluster has no server');
  const caData = asString(cluster['certificate-authority-data']);
  return {
    server,
    caPem: caData === undefined ? undefined : Buffer.from(caData, 'base64').toString('utf8'),
    token: asString(user['token']),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** A kept-alive socket was closed under the request (a read is replayed; a write surfaces it). */
class StaleSocketError extends Error {}
const staleSocketRetriesMax = 4;

export class HttpsTransport implements ApiTransport {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(private readonly options: HttpsTransportOptions) {
    this.base = new URL(options.server);
    if (this.base.protocol !== 'https:') throw new Error(`HttpsTransport needs an https:// server, got ${options.server}`);
    this.agent = new Agent({
      keepAlive: true, maxSockets: options.maxSockets ?? 64,
      ca: options.caPem, rejectUnauthorized: options.insecureSkipTlsVerify !== true,
    });
    const open = options.connect;
    if (open !== undefined) {
      const host = this.base.hostname;
      // Node's Agent accepts an asynchronous createConnection: it waits for the callback.
      (this.agent as unknown as { createConnection: (o: unknown, cb: (error: Error | null, socket?: Duplex) => void) => undefined }).createConnection = (_o, cb) => {
        open().then((stream) => {
          const tls = tlsConnect({ socket: stream, ca: options.caPem, rejectUnauthorized: options.insecureSkipTlsVerify !== true, ...(isIp(host) ? {} : { servername: host }), host });
          cb(null, tls);
        }, (error: unknown) => cb(error instanceof Error ? error : new Error(String(error))));
        return undefined;
      };
    }
  }

  async request(request: ApiRequest): Promise<ApiResponse> {
    const res = await this.send(request);
    return await this.readWhole(res);
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    if (request.query['watch'] !== 'true' && request.query['watch'] !== '1') throw new Error('watch() needs watch=true in the query');
    const res = await this.send(request);
    if (res.statusCode !== 200) return { kind: 'response', response: await this.readWhole(res) };
    res.pause();
    return { kind: 'stream', events: this.lines(res) };
  }

  /** Closes idle keep-alive sockets (open watches end when unsubscribed). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * A request on a kept-alive socket that the server (or the front door, its backend gone) closed
   * under it fails with ECONNRESET / "socket hang up" (`req.reusedSocket`). A read is sent again on
   * another socket, as Go's http.Transport replays a GET; a write is not (it may have been
   * applied before the close), and fails saying so.
   */
  private async send(request: ApiRequest): Promise<IncomingMessage> {
    const replayable = request.method === 'GET';
    for (let stale = 0; ; stale++) {
      try {
        return await this.sendOnce(request);
      } catch (error) {
        if (!(error instanceof StaleSocketError)) throw error;
        // Bounded: each retry takes another pooled socket or opens a new one.
        if (!replayable || stale >= staleSocketRetriesMax) {
          throw new TransportError('unreachable', `${request.method} ${request.path}: ${error.message} (a kept-alive connection was closed under the request; a write may or may not have been applied)`);
        }
      }
    }
  }

  private sendOnce(request: ApiRequest): Promise<IncomingMessage> {
    const url = new URL(request.path, this.base);
    for (const [k, v] of Object.entries(request.query)) url.searchParams.set(k, v);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'pocketkube-client', ...request.headers };
    if (this.options.token !== undefined) headers['authorization'] = `Bearer ${this.options.token}`;
    if (request.body !== undefined) headers['content-length'] = String(request.body.byteLength);
    const options: RequestOptions = { method: request.method, agent: this.agent, headers };
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, options, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      const timer = setTimeout(() => {
        req.destroy();
        reject(new TransportError('timeout', `${request.method} ${request.path}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (req.reusedSocket && error.code === 'ECONNRESET') reject(new StaleSocketError(error.message));
        else reject(new TransportError('unreachable', `${request.method} ${request.path}: ${error.message}`));
      });
      req.end(request.body === undefined ? undefined : Buffer.from(request.body));
    });
  }

  private readWhole(res: IncomingMessage): Promise<ApiResponse> {
    const limit = this.options.maxResponseBytes ?? 64 * 1024 * 1024;
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => {
        res.destroy();
        reject(new TransportError('timeout', `response body not complete within ${timeoutMs} ms`));
      }, timeoutMs);
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          clearTimeout(timer);
          res.destroy();
          reject(new TransportError('protocol', `response larger than ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(new TransportError('broken', error.message));
      });
      res.on('end', () => {
        clearTimeout(timer);
        const raw = Buffer.concat(chunks);
        const contentType = String(res.headers['content-type'] ?? '');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
        let body: unknown = new Uint8Array(raw);
        if (contentType.includes('json') && raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8')) as unknown;
          } catch {
            reject(new TransportError('protocol', `invalid JSON in a ${res.statusCode ?? 0} response`));
            return;
          }
        }
        resolve({ status: res.statusCode ?? 0, contentType, body, headers });
      });
    });
  }

  /** The watch body as events; subscribing resumes the paused response, unsubscribing closes it. */
  private lines(res: IncomingMessage): Observable<ApiWatchEvent> {
    const maxLine = this.options.maxWatchLineBytes ?? 16 * 1024 * 1024;
    let subscribed = false;
    return new Observable<ApiWatchEvent>((subscriber) => {
      if (subscribed) {
        subscriber.error(new Error('an HTTPS watch stream can be subscribed once'));
        return undefined;
      }
      subscribed = true;
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const fail = (error: TransportError): void => {
        subscriber.error(error);
        res.destroy();
      };
      const emitLine = (line: string): void => {
        if (line.trim() === '') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line) as unknown;
        } catch {
          fail(new TransportError('protocol', 'watch line is not JSON'));
          return;
        }
        const event = asRecord(parsed);
        const object = asRecord(event?.['object']);
        const type = asString(event?.['type']);
        if (object === undefined || type === undefined || !watchEventTypes.has(type)) {
          fail(new TransportError('protocol', 'watch line is not an event'));
          return;
        }
        subscriber.next({ type: type as ApiWatchEvent['type'], object });
      };
      res.on('data', (chunk: Buffer) => {
        pending += decoder.write(chunk);
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0 && !subscriber.closed) {
          emitLine(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
        if (pending.length > maxLine) fail(new TransportError('protocol', `watch line longer than ${maxLine} bytes`));
      });
      res.on('end', () => {
        emitLine(pending + decoder.end());
        subscriber.complete();
      });
      res.on('error', (error) => fail(new TransportError('broken', error.message)));
      res.on('aborted', () => fail(new TransportError('broken', 'watch stream aborted')));
      res.resume();
      return () => res.destroy();
    });
  }
}
