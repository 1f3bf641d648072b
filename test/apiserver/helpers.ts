/** Shared setup for apiserver tests: a core over LocalKv, and a terse request helper. */
import { firstValueFrom, type Observable, take, toArray, timeout } from 'rxjs';
import { ApiServerCore, type ApiServerCoreOptions } from '../../src/apiserver/core.js';
import type { ApiMethod, ApiResponse, ApiWatchEvent, ApiWatchResult } from '../../src/client/api-transport.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import type { Clock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';

export interface Harness {
  readonly kv: LocalKv;
  readonly clock: Clock;
  readonly core: ApiServerCore;
  call(method: ApiMethod, path: string, body?: unknown, opts?: CallOptions): Promise<ApiResponse>;
  watch(path: string, opts?: CallOptions): Promise<ApiWatchResult>;
  close(): void;
}

export interface CallOptions {
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** Raw body text (overrides `body`). */
  readonly raw?: string;
}

export async function harness(extra: Partial<ApiServerCoreOptions> = {}): Promise<Harness> {
  // A VirtualClock in `extra` drives the store and the core alike (tests of timing, without real time).
  const clock = extra.clock ?? new RealClock();
  const kv = new LocalKv({ clock });
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(7), ...extra });
  await core.start();
  const enc = new TextEncoder();
  const request = (method: ApiMethod, path: string, body: unknown, opts: CallOptions = {}) => {
    const [p, q] = path.split('?');
    const query: Record<string, string> = { ...Object.fromEntries(new URLSearchParams(q ?? '')), ...(opts.query ?? {}) };
    const text = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    return {
      method, path: p!, query, headers: { 'content-type': 'application/json', ...(opts.headers ?? {}) },
      ...(text === undefined ? {} : { body: enc.encode(text) }),
    };
  };
  return {
    kv, clock, core,
    call: (method, path, body, opts) => core.request(request(method, path, body, opts)),
    watch: (path, opts) => core.watch(request('GET', path, undefined, { ...opts, query: { watch: 'true', ...(opts?.query ?? {}) } })),
    close: () => { core.stop(); kv.close(); if (clock instanceof RealClock) clock.clearAll(); },
  };
}

export function body(r: ApiResponse): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return r.body as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function events(result: ApiWatchResult): Observable<ApiWatchEvent> {
  if (result.kind !== 'stream') throw new Error(`expected a stream, got ${JSON.stringify(result.response)}`);
  return result.events;
}

export function takeEvents(result: ApiWatchResult, n: number, ms = 3000): Promise<ApiWatchEvent[]> {
  return firstValueFrom(events(result).pipe(take(n), toArray(), timeout(ms)));
}

export const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
export const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>) =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data });
export const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.14.2' }] } } },
});
export const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...extra },
});
