/**
 * An HTTP GET from inside a container, over its PodNetwork (names through cluster DNS, ClusterIPs
 * through kube-proxy): what `wget` and agnhost's `/dial` use. node:http speaks the protocol over
 * the stream the network gives (`createConnection`), so no socket is opened here.
 */
import http from 'node:http';
import { sleep } from '../../primitives/clock.js';
import type { ContainerProcess } from '../image.js';

export type HttpGetResult =
  | { readonly ok: true; readonly status: number; readonly statusText: string; readonly body: string }
  | { readonly ok: false; readonly message: string };

const ipv4 = /^\d+\.\d+\.\d+\.\d+$/;

/** The address a host name stands for, through the pod's resolver. */
export async function resolveHost(process: Pick<ContainerProcess, 'net'>, host: string): Promise<string | undefined> {
  if (ipv4.test(host)) return host;
  const ips = await process.net.resolve(host);
  return ips[0];
}

export async function httpGet(process: Pick<ContainerProcess, 'net' | 'clock' | 'signal'>, url: string, options: { readonly timeoutMs: number; readonly bodyBytesMax: number }): Promise<HttpGetResult> {
  let parsed: URL;
  try { parsed = new URL(url); } catch { return { ok: false, message: `bad URL '${url}'` }; }
  if (parsed.protocol !== 'http:') return { ok: false, message: `unsupported scheme ${parsed.protocol} (http only)` };
  const host = parsed.hostname;
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  const timeout = new AbortController();
  const timer = sleep(process.clock, options.timeoutMs, timeout.signal).then(() => (timeout.signal.aborted ? undefined : { ok: false as const, message: 'download timed out' }));
  const attempt = (async (): Promise<HttpGetResult> => {
    let ip: string | undefined;
    try { ip = await resolveHost(process, host); } catch (error) { return { ok: false, message: `bad address '${host}' (${error instanceof Error ? error.message : String(error)})` }; }
    if (ip === undefined) return { ok: false, message: `bad address '${host}'` };
    let stream: Awaited<ReturnType<typeof process.net.connect>>;
    try { stream = await process.net.connect(ip, port, { timeoutMs: options.timeoutMs }); } catch (error) { return { ok: false, message: `can't connect to remote host (${ip}): ${connectReason(error)}` }; }
    timeout.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    process.signal.addEventListener('abort', () => stream.destroy(), { once: true });
    return request(stream, parsed, options.bodyBytesMax);
  })();
  const result = await Promise.race([attempt, timer.then((r) => r ?? attempt)]);
  timeout.abort();
  return result;
}

function connectReason(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'Connection refused';
  if (code === 'ETIMEDOUT') return 'Connection timed out';
  return error instanceof Error ? error.message : String(error);
}

function request(stream: import('node:stream').Duplex, url: URL, bodyBytesMax: number): Promise<HttpGetResult> {
  return new Promise((resolve) => {
    const req = http.request({
      method: 'GET', host: url.hostname, port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname}${url.search}`,
      headers: { 'User-Agent': 'Wget', Connection: 'close', Accept: '*/*' },
      createConnection: () => stream as unknown as import('node:net').Socket,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > bodyBytesMax) { res.destroy(); resolve({ ok: false, message: `response larger than ${bodyBytesMax} bytes` }); }
      });
      res.on('end', () => { resolve({ ok: true, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body }); stream.destroy(); });
      res.on('error', (error) => resolve({ ok: false, message: error.message }));
    });
    req.on('error', (error) => resolve({ ok: false, message: error.message }));
    req.end();
  });
}
