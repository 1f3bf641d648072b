/**
 * A run's result and its files: `report.json` (everything: schedule, fault timeline, phases,
 * probes, samples, verdicts with evidence, the history), `history.jsonl` (API operations and HTTP
 * requests in src/chaos/check's format, on one clock with the fault timeline), `report.md`, and
 * `report.html` (report-html.ts: one offline page with the timeline, latency, throughput, errors,
 * etcd terms and roles, Lease holders and pod counts charted by an inlined Vega-Lite, and the
 * verdicts' evidence linked into the embedded history).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkAckedWritesPresent, toJsonl, type DeploymentObservation, type HistoryOp, type HttpSample, type ProbeResult, type RoleObservation, type Verdict,
} from '../check/index.js';
import type { ChaosOutcome } from '../outcome.js';
import type { ExperimentSpec } from './define.js';
import { loadChartLibraries, reportHtml } from './report-html.js';
import type { PlannedFault } from './schedule.js';
import type { Evidence, FaultRecord, LeaseObservation } from './verdicts.js';

export interface PhaseRecord {
  readonly name: string;
  readonly startMs: number;
  endMs?: number;
}

export interface HttpSummary {
  readonly requests: number;
  readonly ok: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | undefined;
}

export interface ExperimentRunResult extends ChaosOutcome {
  readonly experiment: string;
  readonly seed: number;
  readonly description: string;
  readonly schedule: readonly PlannedFault[];
  /** Every fault as injected: start and end on the history's clock (ms from the run's start). */
  readonly faults: readonly FaultRecord[];
  readonly phases: readonly PhaseRecord[];
  readonly steadyState: { readonly before: readonly ProbeResult[]; readonly after: readonly ProbeResult[] };
  readonly http: HttpSummary;
  readonly httpSamples: readonly HttpSample[];
  readonly deployments: readonly DeploymentObservation[];
  readonly roles: readonly RoleObservation[];
  readonly leases: readonly LeaseObservation[];
  /** The files written (with `out`). */
  readonly files?: readonly string[];
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summarizeHttp(samples: readonly HttpSample[]): HttpSummary {
  const ok = samples.filter((s) => s.status === 200);
  const latencies = ok.map((s) => s.endMs - s.startMs).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    requests: samples.length, ok: ok.length,
    latencyMs: latencies.length === 0 ? undefined : { p50: round(quantile(latencies, 0.5)), p95: round(quantile(latencies, 0.95)), p99: round(quantile(latencies, 0.99)), max: round(latencies.at(-1)!) },
  };
}

/** HTTP requests as history reads of key `http:<service>`: ok with the status, or fail (a GET changes nothing). */
function httpOps(samples: readonly HttpSample[]): HistoryOp[] {
  return samples.flatMap((s): HistoryOp[] => {
    const key = s.process.replace(/-\d+$/, '');
    const invoke: HistoryOp = { process: s.process, type: 'invoke', f: 'read', key, value: null, time: s.startMs };
    const done: HistoryOp = s.status === undefined
      ? { process: s.process, type: 'fail', f: 'read', key, value: null, time: s.endMs, error: s.error ?? 'no response' }
      : { process: s.process, type: 'ok', f: 'read', key, value: s.status, time: s.endMs };
    return [invoke, done];
  });
}

export interface ResultInput {
  readonly spec: ExperimentSpec;
  readonly seed: number;
  readonly schedule: readonly PlannedFault[];
  readonly evidence: Evidence;
  readonly verdict: Verdict;
  readonly notes: readonly string[];
  readonly phases: readonly PhaseRecord[];
  readonly runMs: number;
}

export function buildResult(r: ResultInput): ExperimentRunResult {
  const e = r.evidence;
  // One clock: a stable sort by time keeps each process's own lines in order.
  const history = [...e.apiHistory, ...e.kvHistory, ...httpOps(e.http), ...e.rolloutHistory].sort((a, b) => a.time - b.time);
  const lostIn = (ops: readonly HistoryOp[], state: Evidence['finalState']) => ('unavailable' in state ? 0 : checkAckedWritesPresent(ops, state as ReadonlyMap<string, string | number | null>).lostCount);
  const lost = lostIn(e.apiHistory, e.finalState) + lostIn(e.kvHistory, e.kvFinalState);
  return {
    experiment: r.spec.name, seed: r.seed, description: r.spec.description, schedule: r.schedule, faults: e.faults, phases: r.phases,
    steadyState: { before: e.steadyBefore, after: e.steadyAfter }, http: summarizeHttp(e.http), httpSamples: e.http,
    deployments: e.deployments, roles: e.roles, leases: e.leases, verdict: r.verdict, history, notes: r.notes, runMs: r.runMs,
    ops: history.filter((op) => op.type === 'invoke').length,
    ackedWrites: [...e.apiHistory, ...e.kvHistory].filter((op) => op.type === 'ok' && op.f !== 'read').length,
    lostAckedWrites: lost,
  };
}

const cell = (text: string) => text.replace(/\n/g, '<br>').replace(/\|/g, '\\|').slice(0, 1_500);

export function reportMarkdown(r: ExperimentRunResult): string {
  const latency = r.http.latencyMs;
  return [
    `# pocketkube chaos report: ${r.experiment} (seed ${r.seed})`, '',
    `**Verdict: ${r.verdict.status.toUpperCase()}**`, '', r.description, '',
    '## Verdicts', '| verdict | status | evidence |', '| --- | --- | --- |',
    ...r.verdict.results.map((v) => `| ${v.name} | ${v.status.toUpperCase()} | ${cell(v.detail)} |`), '',
    '## Faults (ms from the start of the run, the history\'s clock)', '| step | fault | host | start | end |', '| --- | --- | --- | --- | --- |',
    ...r.faults.map((f) => `| ${f.step} | ${cell(f.name)} | ${f.host ?? '—'} | ${Math.round(f.startMs)} | ${f.endMs === undefined ? 'open' : Math.round(f.endMs)} |`), '',
    '## Phases', ...r.phases.map((p) => `- ${p.name}: ${Math.round(p.startMs)}–${p.endMs === undefined ? '?' : Math.round(p.endMs)} ms`), '',
    '## Timeline', ...r.notes.map((n) => `- ${n}`), '',
    '## Numbers',
    `- operations: ${r.ops} (API, KV and HTTP)`,
    `- acknowledged writes (API and KV): ${r.ackedWrites}, lost: ${r.lostAckedWrites}`,
    `- HTTP requests: ${r.http.requests}, answered 200: ${r.http.ok}${latency === undefined ? '' : `; latency of the answered ones p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms, max ${latency.max} ms`}`,
    `- run time: ${Math.round(r.runMs)} ms`, '',
    'Every operation is in `history.jsonl` (one JSON object a line: process, type invoke|ok|fail|info, f, key, value, time; HTTP requests are reads of key `http:<service>` whose value is the status). `report.json` has everything, including the seeded schedule and every sample.', '',
  ].join('\n');
}

/** Writes the four files into `dir` (created); returns their paths. */
export function writeReport(dir: string, result: ExperimentRunResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'report.json'), join(dir, 'history.jsonl'), join(dir, 'report.md'), join(dir, 'report.html')];
  writeFileSync(files[0]!, JSON.stringify({ ...result, files }, null, 2));
  writeFileSync(files[1]!, toJsonl(result.history));
  writeFileSync(files[2]!, reportMarkdown(result));
  writeFileSync(files[3]!, reportHtml({ ...result, files }, loadChartLibraries()));
  return files;
}
