/**
 * The HTTP workload: clients GET a Service through its ClusterIP from the main thread (the host's
 * way in: the cluster's Service front forwards to a live node's kube-proxy, DESIGN §5) and record
 * each request's start, end, status or error. Every request opens a fresh connection (no keep-alive),
 * so each one is routed anew, as a client outside the cluster sees it.
 */
import { get as httpGet } from 'node:http';
import type { HttpSample } from '../check/index.js';

const PAUSE_MS = 20;
const MAX_SAMPLES = 200_000;
const BODY_LIMIT_BYTES = 64 * 1024;

/** One GET: the status, or the error that kept it from answering. */
export function httpProbe(host: string, port: number, timeoutMs: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: { status?: number; error?: string }) => { if (!settled) { settled = true; resolve(r); } };
    const request = httpGet({ host, port, path: '/', timeout: timeoutMs, agent: false }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => { bytes += chunk.length; if (bytes > BODY_LIMIT_BYTES) response.destroy(); });
      response.on('end', () => done({ status: response.statusCode ?? 0 }));
      response.on('error', (e) => done({ error: `response: ${e.message}` }));
      response.on('close', () => done({ status: response.statusCode ?? 0 }));
    });
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', (e) => done({ error: e.message }));
  });
}

export interface HttpWorkloadOptions {
  readonly host: string;
  readonly port: number;
  readonly requestTimeoutMs: number;
  /** The history's time origin (as the API workload's). */
  readonly began: number;
  readonly name: string;
}

export class HttpWorkload {
  readonly samples: HttpSample[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: HttpWorkloadOptions) {}

  now(): number {
    return performance.now() - this.o.began;
  }

  start(processes: number): void {
    for (let p = 0; p < processes; p++) this.loops.push(this.loop(`${this.o.name}-${p}`));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(process: string): Promise<void> {
    while (this.running && this.samples.length < MAX_SAMPLES) {
      const startMs = this.now();
      const reply = await httpProbe(this.o.host, this.o.port, this.o.requestTimeoutMs);
      this.samples.push({ process, startMs, endMs: this.now(), ...reply });
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
}
