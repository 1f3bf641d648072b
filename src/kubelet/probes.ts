/**
 * One probe's state (pkg/kubelet/prober/worker.go): when it is due, and its result after
 * successThreshold consecutive successes or failureThreshold consecutive failures. Pure: the
 * kubelet runs the probe (exec through the runtime, httpGet / tcpSocket over the network) and
 * records the outcome here.
 */
import type { ContainerPort, Probe } from './pod-spec.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export type ProbeAction =
  | { readonly type: 'exec'; readonly command: readonly string[]; readonly timeoutMs: number }
  | { readonly type: 'http'; readonly host?: string; readonly port: number; readonly path: string; readonly scheme: 'HTTP' | 'HTTPS'; readonly headers: Readonly<Record<string, string>>; readonly timeoutMs: number }
  | { readonly type: 'tcp'; readonly host?: string; readonly port: number; readonly timeoutMs: number };

/** Resolves a named port through the container's ports; undefined when the name is unknown. */
function resolvePort(port: number | string, ports: readonly ContainerPort[] | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports?.find((p) => p.name === port)?.containerPort;
}

/** The action a probe performs, or why it cannot run. */
export function probeAction(probe: Probe, ports: readonly ContainerPort[] | undefined): ProbeAction | { readonly error: string } {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1_000;
  if (probe.exec !== undefined) return { type: 'exec', command: probe.exec.command ?? [], timeoutMs };
  if (probe.httpGet !== undefined) {
    const port = resolvePort(probe.httpGet.port, ports);
    if (port === undefined) return { error: `unknown port ${String(probe.httpGet.port)}` };
    const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return { type: 'http', ...(probe.httpGet.host === undefined ? {} : { host: probe.httpGet.host }), port, path: probe.httpGet.path ?? '/', scheme: probe.httpGet.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', headers, timeoutMs };
  }
  if (probe.tcpSocket !== undefined) {
    const port = resolvePort(probe.tcpSocket.port, ports);
    if (port === undefined) return { error: `unknown port ${String(probe.tcpSocket.port)}` };
    return { type: 'tcp', ...(probe.tcpSocket.host === undefined ? {} : { host: probe.tcpSocket.host }), port, timeoutMs };
  }
  return { error: 'probe has no handler (exec, httpGet or tcpSocket)' };
}

export class ProbeState {
  private successes = 0;
  private failures = 0;
  private ran = false;
  /** Current result: liveness starts healthy, readiness and startup start failing (as upstream). */
  private result: boolean;
  private lastMessage = '';

  constructor(readonly kind: ProbeKind, readonly probe: Probe, private readonly containerStartedMs: number) {
    this.result = kind === 'liveness';
  }

  get succeeded(): boolean {
    return this.result;
  }

  /** failureThreshold consecutive failures reached: a startup probe that says so kills the container. */
  get failing(): boolean {
    return this.failures >= (this.probe.failureThreshold ?? 3);
  }

  get message(): string {
    return this.lastMessage;
  }

  /** When the next run is due: initialDelaySeconds after the start, then every periodSeconds. */
  nextDueMs(lastRunMs: number | undefined): number {
    const first = this.containerStartedMs + (this.probe.initialDelaySeconds ?? 0) * 1_000;
    if (lastRunMs === undefined || !this.ran) return first;
    return Math.max(first, lastRunMs + (this.probe.periodSeconds ?? 10) * 1_000);
  }

  /** Records one run; returns true when the result changed. */
  record(success: boolean, message: string): boolean {
    this.ran = true;
    this.lastMessage = message;
    if (success) {
      this.failures = 0;
      this.successes++;
    } else {
      this.successes = 0;
      this.failures++;
    }
    const before = this.result;
    if (success && this.successes >= (this.probe.successThreshold ?? 1)) this.result = true;
    if (!success && this.failures >= (this.probe.failureThreshold ?? 3)) this.result = false;
    return before !== this.result;
  }
}
