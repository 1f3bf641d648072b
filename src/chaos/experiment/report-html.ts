/**
 * `report.html`: one self-contained page a person opens offline. The charts are Vega-Lite specs
 * drawn by vega-embed, whose minified builds are inlined as script text (read from node_modules by
 * `loadChartLibraries`, the only shell here); everything else is pure: the run's result in, the
 * page out. Verdict evidence links into the embedded history table: each row's id is `op-N`, N its
 * line index in history.jsonl, and fault and phase boundaries are marker rows in that table.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { HistoryOp, HttpSample } from '../check/index.js';
import type { ExperimentRunResult } from './report.js';

/** The three libraries' minified builds, as text. */
export interface ChartLibraries {
  readonly vega: string;
  readonly vegaLite: string;
  readonly vegaEmbed: string;
}

let cachedLibraries: ChartLibraries | undefined;

/** Reads the vega, vega-lite and vega-embed builds beside their packages' entry points (exports hide build/). */
export function loadChartLibraries(): ChartLibraries {
  if (cachedLibraries !== undefined) return cachedLibraries;
  const require = createRequire(import.meta.url);
  const read = (pkg: string, entry: () => string, file: string) => {
    try {
      return readFileSync(join(dirname(entry()), file), 'utf8');
    } catch (error) {
      throw new Error(`report.html needs ${pkg}'s build/${file} (a dependency of pocketkube): ${(error as Error).message}; run npm install`, { cause: error });
    }
  };
  // Literal specifiers, so that the bundler and knip see the dependencies.
  cachedLibraries = {
    vega: read('vega', () => require.resolve('vega'), 'vega.min.js'),
    vegaLite: read('vega-lite', () => require.resolve('vega-lite'), 'vega-lite.min.js'),
    vegaEmbed: read('vega-embed', () => require.resolve('vega-embed'), 'vega-embed.min.js'),
  };
  return cachedLibraries;
}

/** History rows the table embeds at most; the rest stay in history.jsonl (rows evidence names are always kept). */
const MAX_HISTORY_ROWS = 30_000;

// ---------------------------------------------------------------------------------------------
// Text helpers.

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Script text may not contain `</script` nor `<!--`; `\x3C` means `<` in JS strings, regexes and templates alike. */
const escapeScript = (code: string) => code.replace(/<(?=\/script|!--)/gi, '\\x3C');
/** JSON inside a script element: `<` only occurs in strings, where `\u003c` is the same character. */
const jsonForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
const seconds = (ms: number) => Math.round(ms) / 1000;
const fmtMs = (ms: number) => (Math.round(ms * 10) / 10).toString();
const procKey = (p: HistoryOp['process']) => JSON.stringify(p);

// ---------------------------------------------------------------------------------------------
// The history index: which rows exist, which evidence names, which the table keeps.

interface HistoryIndex {
  readonly history: readonly HistoryOp[];
  /** Per process (procKey): its invokes' times and row indices, in time order. */
  readonly invokes: ReadonlyMap<string, readonly { readonly time: number; readonly index: number }[]>;
  readonly httpProcesses: ReadonlySet<string>;
}

function indexHistory(r: ExperimentRunResult): HistoryIndex {
  const invokes = new Map<string, { time: number; index: number }[]>();
  r.history.forEach((op, index) => {
    if (op.type !== 'invoke') return;
    const key = procKey(op.process);
    let list = invokes.get(key);
    if (list === undefined) invokes.set(key, (list = []));
    list.push({ time: op.time, index });
  });
  return { history: r.history, invokes, httpProcesses: new Set(r.httpSamples.map((s) => procKey(s.process))) };
}

function findInvoke(ix: HistoryIndex, process: string, timeMs: number, toleranceMs: number): number | undefined {
  const hit = ix.invokes.get(process)?.find((i) => Math.abs(i.time - timeMs) <= toleranceMs);
  return hit?.index;
}

/** A piece of evidence text and, when it names an operation, that operation's row. */
interface Span { readonly text: string; readonly op?: number }

// describeOperation's shape (src/chaos/check/history.ts) and the availability checker's failed-request lines.
const OPERATION = /process ("(?:[^"\\]|\\.)*"|-?\d+) (?:read|write|cas|delete) .*?\(invoked at (-?\d+(?:\.\d+)?(?:e-?\d+)?) ms/g;
const HTTP_FAILURE = /^( +)(\S+) at (-?\d+) ms: /gm;

/** Splits evidence into spans, attaching the history row of every operation it names. */
function linkEvidence(detail: string, ix: HistoryIndex): Span[] {
  const hits: { start: number; end: number; op: number }[] = [];
  for (const m of detail.matchAll(OPERATION)) {
    const op = findInvoke(ix, m[1]!, Number(m[2]), 0.5);
    if (op !== undefined) hits.push({ start: m.index, end: m.index + m[0].length, op });
  }
  for (const m of detail.matchAll(HTTP_FAILURE)) {
    const op = findInvoke(ix, procKey(m[2]!), Number(m[3]), 0.5);
    const start = m.index + m[1]!.length;
    if (op !== undefined) hits.push({ start, end: m.index + m[0].length - 2, op });
  }
  hits.sort((a, b) => a.start - b.start);
  const spans: Span[] = [];
  let at = 0;
  for (const h of hits) {
    if (h.start < at) continue;
    spans.push({ text: detail.slice(at, h.start) }, { text: detail.slice(h.start, h.end), op: h.op });
    at = h.end;
  }
  spans.push({ text: detail.slice(at) });
  return spans.filter((s) => s.text !== '');
}

/** Rows kept when the history is longer than the table: named ones, then API operations, then failed requests, then the rest. */
function keptRows(ix: HistoryIndex, named: ReadonlySet<number>, maxRows: number): ReadonlySet<number> | undefined {
  if (ix.history.length <= maxRows) return undefined;
  const rank = (op: HistoryOp, i: number) => (named.has(i) ? 0 : !ix.httpProcesses.has(procKey(op.process)) ? 1 : op.type === 'fail' || op.type === 'info' ? 2 : 3);
  const order = ix.history.map((op, i) => ({ i, rank: rank(op, i) })).sort((a, b) => a.rank - b.rank || a.i - b.i);
  return new Set(order.slice(0, Math.max(maxRows, named.size)).map((o) => o.i));
}

// ---------------------------------------------------------------------------------------------
// Markers: fault and phase boundaries placed among the history rows (the windows verdicts rest on).

interface Marker { readonly id: string; readonly timeMs: number; readonly label: string }

function markers(r: ExperimentRunResult): Marker[] {
  const list: Marker[] = [
    ...r.phases.map((p, i) => ({ id: `phase-${i}`, timeMs: p.startMs, label: `phase ${p.name} begins` })),
    ...r.faults.flatMap((f, i) => [
      { id: `fault-${i}-start`, timeMs: f.startMs, label: `fault begins: ${f.name}${f.host === undefined ? '' : ` on ${f.host}`}${f.injected ? '' : ' (not injected)'}` },
      ...(f.endMs === undefined ? [] : [{ id: `fault-${i}-end`, timeMs: f.endMs, label: `fault healed: ${f.name}` }]),
    ]),
  ];
  return list.sort((a, b) => a.timeMs - b.timeMs);
}

interface Anchor { readonly href: string; readonly label: string }

const phaseAnchor = (r: ExperimentRunResult, name: string): Anchor[] => {
  const i = r.phases.findIndex((p) => p.name === name);
  return i < 0 ? [] : [{ href: `#phase-${i}`, label: `history from the ${name} phase` }];
};

const faultAnchors = (r: ExperimentRunResult, injectedOnly: boolean): Anchor[] => r.faults.flatMap((f, i) => (injectedOnly && !f.injected ? [] : [
  { href: `#fault-${i}-start`, label: `history during step ${f.step} (${Math.round(f.startMs)}–${f.endMs === undefined ? 'open' : Math.round(f.endMs)} ms)` },
]));

/** Convergence is timed from the last fault's heal. */
function lastHealAnchor(r: ExperimentRunResult): Anchor[] {
  const ends = r.faults.flatMap((f, i) => (f.endMs === undefined ? [] : [{ i, endMs: f.endMs }])).sort((a, b) => b.endMs - a.endMs);
  const last = ends[0];
  return last === undefined ? phaseAnchor(r, 'heal') : [{ href: `#fault-${last.i}-end`, label: `history from the last heal (${Math.round(last.endMs)} ms)` }];
}

/** What each verdict row rests on: the history window or the chart of its evidence. Unknown names (plugins) rest on the whole history. */
function restsOn(name: string, r: ExperimentRunResult): Anchor[] {
  const history: Anchor = { href: '#history', label: 'the whole history' };
  switch (name) {
    case 'faults-injected': return [{ href: '#faults', label: 'fault table' }, ...faultAnchors(r, false)];
    case 'acked-writes-present':
    case 'api-linearizable': return [history, { href: '#chart-api-throughput', label: 'API operations chart' }];
    case 'member-hashes-equal':
    case 'election-safety': return [{ href: '#chart-etcd-term', label: 'etcd terms chart' }, { href: '#chart-etcd-leader', label: 'etcd roles chart' }];
    case 'service-availability': return [...faultAnchors(r, true), { href: '#chart-http-throughput', label: 'HTTP throughput chart' }];
    case 'convergence': return [...lastHealAnchor(r), { href: '#chart-pods', label: 'pod counts chart' }];
    case 'steady-state-restored': return [{ href: '#steady-state', label: 'steady-state probes' }, ...phaseAnchor(r, 'heal')];
    case 'single-active-controller-manager':
    case 'single-active-scheduler': return [{ href: '#chart-leases', label: 'Lease holders chart' }, history];
    default: return [history];
  }
}

// ---------------------------------------------------------------------------------------------
// Chart data (binned in TypeScript so that long runs stay small) and Vega-Lite specs.

type Spec = Record<string, unknown>;
interface Chart { readonly id: string; readonly title: string; readonly spec: Spec | undefined; readonly empty: string }

/** A round bin width giving at most ~300 bins over the run. */
function binWidthMs(spanMs: number): number {
  const widths = [100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000];
  return widths.find((w) => spanMs / w <= 300) ?? 60_000 * Math.ceil(spanMs / 300 / 60_000);
}

const binOf = (ms: number, binMs: number) => Math.floor(Math.max(0, ms) / binMs) * binMs;

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    let list = map.get(k);
    if (list === undefined) map.set(k, (list = []));
    list.push(item);
  }
  return map;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
/** Latencies are drawn on a log scale: a sub-0.1 ms answer (same-process loopback) is shown at 0.1 ms. */
const latencyValue = (ms: number) => Math.max(0.1, Math.round(ms * 10) / 10);
const workloadOf = (s: HttpSample) => s.process.replace(/-\d+$/, '');

/** An error's kind for the errors chart: the text without addresses and numbers. */
const errorKind = (text: string) => text.replace(/\b\d+(?:[.:]\d+)*\b/g, '').replace(/\s+/g, ' ').trim().slice(0, 48) || 'error';

interface Axes { readonly runS: number; readonly faults: readonly { name: string; host: string; startS: number; endS: number }[] }

/** The x axis every time chart shares, and the fault intervals shaded behind its marks. */
function timeLayers(axes: Axes, main: Spec[]): Spec {
  const x = { field: 'startS', type: 'quantitative', scale: { domain: [0, axes.runS] }, title: 'seconds from the start of the run' };
  const shading: Spec = {
    data: { values: axes.faults }, mark: { type: 'rect', color: '#d62728', opacity: 0.12 },
    encoding: { x, x2: { field: 'endS' }, tooltip: [{ field: 'name', title: 'fault' }, { field: 'host' }] },
  };
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 'container', height: 200, layer: axes.faults.length === 0 ? main : [shading, ...main], resolve: { scale: { color: 'independent' } } };
}

/** Bars stacked per bin: Vega-Lite's stack transform, so that ranged rects (x to x2) can stack. */
const stackIn = (field: string, by: string) => ({ stack: field, groupby: ['startS'], sort: [{ field: by }], as: ['y0', 'y1'] });

const timeX = (axes: Axes, field: string) => ({ field, type: 'quantitative', scale: { domain: [0, axes.runS] }, title: 'seconds from the start of the run' });

function timelineChart(r: ExperimentRunResult, axes: Axes): Chart {
  const rows = [
    ...r.phases.map((p) => ({ lane: 'phases', kind: 'phase', label: p.name, startS: seconds(p.startMs), endS: seconds(p.endMs ?? r.runMs) })),
    ...r.faults.map((f) => ({ lane: `step ${f.step}${f.host === undefined ? '' : ` · ${f.host}`}`, kind: f.injected ? 'fault' : 'fault (not injected)', label: f.name, startS: seconds(f.startMs), endS: seconds(f.endMs ?? r.runMs) })),
  ];
  const y = { field: 'lane', type: 'nominal', title: null, sort: null };
  const spec: Spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 'container', height: 28 * (1 + r.faults.length), data: { values: rows },
    layer: [
      { name: 'data', mark: { type: 'rect', cornerRadius: 3, stroke: 'white' }, encoding: { x: timeX(axes, 'startS'), x2: { field: 'endS' }, y, color: { field: 'kind', type: 'nominal', title: null }, tooltip: [{ field: 'label' }, { field: 'startS', title: 'start s' }, { field: 'endS', title: 'end s' }] } },
      { transform: [{ filter: `datum.endS - datum.startS > ${axes.runS / 20}` }], mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, limit: 260, clip: true }, encoding: { x: timeX(axes, 'startS'), y, text: { field: 'label' } } },
    ],
  };
  return { id: 'timeline', title: 'Timeline: phases and faults', spec: rows.length === 0 ? undefined : spec, empty: 'no phases or faults recorded' };
}

function httpCharts(r: ExperimentRunResult, axes: Axes, binMs: number): Chart[] {
  const latency: { workload: string; startS: number; quantile: string; ms: number }[] = [];
  const rate: { workload: string; startS: number; outcome: string; perS: number }[] = [];
  for (const [workload, samples] of groupBy(r.httpSamples, workloadOf)) {
    for (const [bin, inBin] of groupBy(samples, (s) => String(binOf(s.startMs, binMs)))) {
      const startS = seconds(Number(bin));
      const ok = inBin.filter((s) => s.status === 200).map((s) => s.endMs - s.startMs).sort((a, b) => a - b);
      if (ok.length > 0) for (const [q, v] of [['p50', quantile(ok, 0.5)], ['p95', quantile(ok, 0.95)], ['max', ok.at(-1)!]] as const) latency.push({ workload, startS, quantile: q, ms: latencyValue(v) });
      rate.push({ workload, startS, outcome: 'answered 200', perS: ok.length / (binMs / 1000) }, { workload, startS, outcome: 'failed', perS: (inBin.length - ok.length) / (binMs / 1000) });
    }
  }
  const empty = 'no HTTP workload ran';
  return [
    {
      id: 'http-latency', title: `HTTP latency of answered requests per workload (p50, p95, max per ${binMs} ms)`, empty,
      spec: latency.length === 0 ? undefined : timeLayers(axes, [{
        name: 'data', data: { values: latency }, mark: { type: 'line', point: { size: 12 } },
        encoding: { x: timeX(axes, 'startS'), y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency ms (log)' }, color: { field: 'quantile', type: 'nominal', sort: ['p50', 'p95', 'max'] }, strokeDash: { field: 'workload', type: 'nominal' }, detail: { field: 'workload' }, tooltip: [{ field: 'workload' }, { field: 'quantile' }, { field: 'ms' }, { field: 'startS', title: 'bin start s' }] },
      }]),
    },
    {
      id: 'http-throughput', title: `HTTP throughput per workload (requests/s by outcome, per ${binMs} ms)`, empty,
      spec: rate.length === 0 ? undefined : timeLayers(axes, [{
        name: 'data', data: { values: rate }, mark: { type: 'line', interpolate: 'step-after' },
        encoding: { x: timeX(axes, 'startS'), y: { field: 'perS', type: 'quantitative', title: 'requests/s' }, color: { field: 'outcome', type: 'nominal', scale: { domain: ['answered 200', 'failed'], range: ['#2ca02c', '#d62728'] } }, strokeDash: { field: 'workload', type: 'nominal' }, tooltip: [{ field: 'workload' }, { field: 'outcome' }, { field: 'perS', format: '.1f' }, { field: 'startS', title: 'bin start s' }] },
      }]),
    },
  ];
}

interface ApiCompletion { readonly f: string; readonly type: string; readonly timeMs: number; readonly latencyMs: number; readonly error?: string }

/** API operations (history rows not from an HTTP workload), each invoke paired with its process's next completion. */
function apiCompletions(ix: HistoryIndex): ApiCompletion[] {
  const open = new Map<string, HistoryOp>();
  const done: ApiCompletion[] = [];
  for (const op of ix.history) {
    const key = procKey(op.process);
    if (ix.httpProcesses.has(key)) continue;
    if (op.type === 'invoke') { open.set(key, op); continue; }
    const invoke = open.get(key);
    open.delete(key);
    done.push({ f: op.f, type: op.type, timeMs: op.time, latencyMs: invoke === undefined ? 0 : op.time - invoke.time, ...(op.error === undefined ? {} : { error: op.error }) });
  }
  return done;
}

function apiCharts(completions: readonly ApiCompletion[], axes: Axes, binMs: number): Chart[] {
  const rate: { startS: number; endS: number; type: string; perS: number }[] = [];
  const latency: { startS: number; f: string; quantile: string; ms: number }[] = [];
  for (const [bin, inBin] of groupBy(completions, (c) => String(binOf(c.timeMs, binMs)))) {
    const startS = seconds(Number(bin));
    const endS = seconds(Number(bin) + binMs);
    for (const [type, ofType] of groupBy(inBin, (c) => c.type)) rate.push({ startS, endS, type, perS: ofType.length / (binMs / 1000) });
    for (const [f, ofF] of groupBy(inBin.filter((c) => c.type === 'ok'), (c) => c.f)) {
      const sorted = ofF.map((c) => c.latencyMs).sort((a, b) => a - b);
      latency.push({ startS, f, quantile: 'p50', ms: latencyValue(quantile(sorted, 0.5)) }, { startS, f, quantile: 'p95', ms: latencyValue(quantile(sorted, 0.95)) });
    }
  }
  const empty = 'no API workload ran';
  return [
    {
      id: 'api-throughput', title: `API operations completed per second by outcome (per ${binMs} ms)`, empty,
      spec: rate.length === 0 ? undefined : timeLayers(axes, [{
        name: 'data', data: { values: rate }, transform: [stackIn('perS', 'type')], mark: { type: 'rect' },
        encoding: { x: timeX(axes, 'startS'), x2: { field: 'endS' }, y: { field: 'y0', type: 'quantitative', title: 'operations/s' }, y2: { field: 'y1' }, color: { field: 'type', type: 'nominal', title: 'outcome', scale: { domain: ['ok', 'fail', 'info'], range: ['#2ca02c', '#d62728', '#ff7f0e'] } }, tooltip: [{ field: 'type' }, { field: 'perS', format: '.1f' }, { field: 'startS', title: 'bin start s' }] },
      }]),
    },
    {
      id: 'api-latency', title: `API latency of acknowledged operations by kind (p50, p95 per ${binMs} ms)`, empty,
      spec: latency.length === 0 ? undefined : timeLayers(axes, [{
        name: 'data', data: { values: latency }, mark: { type: 'line', point: { size: 12 } },
        encoding: { x: timeX(axes, 'startS'), y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency ms (log)' }, color: { field: 'f', type: 'nominal', title: 'operation' }, strokeDash: { field: 'quantile', type: 'nominal' }, detail: { field: 'quantile' }, tooltip: [{ field: 'f' }, { field: 'quantile' }, { field: 'ms' }, { field: 'startS', title: 'bin start s' }] },
      }]),
    },
  ];
}

function errorsChart(r: ExperimentRunResult, completions: readonly ApiCompletion[], axes: Axes, binMs: number): Chart {
  const events = [
    ...r.httpSamples.filter((s) => s.status !== 200).map((s) => ({ timeMs: s.startMs, kind: `${workloadOf(s)}: ${s.status === undefined ? errorKind(s.error ?? 'no response') : `HTTP ${s.status}`}` })),
    ...completions.filter((c) => c.type !== 'ok').map((c) => ({ timeMs: c.timeMs, kind: `API ${c.f} ${c.type}${c.error === undefined ? '' : `: ${errorKind(c.error)}`}` })),
  ];
  const rows = [...groupBy(events, (e) => `${binOf(e.timeMs, binMs)}\n${e.kind}`)].map(([key, list]) => {
    const bin = Number(key.split('\n')[0]);
    return { startS: seconds(bin), endS: seconds(bin + binMs), kind: list[0]!.kind, count: list.length };
  });
  return {
    id: 'errors', title: `Errors over time: failed HTTP requests and API operations that failed or are indefinite (per ${binMs} ms)`, empty: 'no errors: every HTTP request answered 200 and every API operation was acknowledged',
    spec: rows.length === 0 ? undefined : timeLayers(axes, [{
      name: 'data', data: { values: rows }, transform: [stackIn('count', 'kind')], mark: { type: 'rect' },
      encoding: { x: timeX(axes, 'startS'), x2: { field: 'endS' }, y: { field: 'y0', type: 'quantitative', title: 'errors' }, y2: { field: 'y1' }, color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 2, labelLimit: 400 } }, tooltip: [{ field: 'kind' }, { field: 'count' }, { field: 'startS', title: 'bin start s' }] },
    }]),
  };
}

interface Interval { readonly lane: string; readonly value: string; readonly startS: number; readonly endS: number }

/** The lane's usual sampling period: the median gap between its samples. */
function periodMs(list: readonly { timeMs: number }[]): number {
  const gaps = list.slice(1).map((s, i) => s.timeMs - list[i]!.timeMs).sort((a, b) => a - b);
  return gaps.length === 0 ? 100 : quantile(gaps, 0.5);
}

/**
 * Consecutive samples of one lane with one value become one interval, ending at the lane's next
 * sample; after a silence longer than `gapMs` (a member that did not answer) it ends one sampling
 * period after its last sample, so the silence shows as a gap.
 */
function intervals(samples: readonly { lane: string; value: string; timeMs: number }[], gapMs: number): Interval[] {
  const out: Interval[] = [];
  for (const [lane, list] of groupBy(samples, (s) => s.lane)) {
    const period = periodMs(list);
    let open: { value: string; startMs: number; lastMs: number } | undefined;
    for (const s of list) {
      if (open !== undefined && (s.value !== open.value || s.timeMs - open.lastMs > gapMs)) {
        out.push({ lane, value: open.value, startS: seconds(open.startMs), endS: seconds(s.timeMs - open.lastMs > gapMs ? open.lastMs + period : s.timeMs) });
        open = undefined;
      }
      if (open === undefined) open = { value: s.value, startMs: s.timeMs, lastMs: s.timeMs };
      open.lastMs = s.timeMs;
    }
    if (open !== undefined) out.push({ lane, value: open.value, startS: seconds(open.startMs), endS: seconds(open.lastMs + period) });
  }
  return out;
}

function intervalSpec(axes: Axes, rows: readonly Interval[], valueTitle: string): Spec {
  return timeLayers(axes, [{
    name: 'data', data: { values: rows }, mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
    encoding: { x: timeX(axes, 'startS'), x2: { field: 'endS' }, y: { field: 'lane', type: 'nominal', title: null }, color: { field: 'value', type: 'nominal', title: valueTitle }, tooltip: [{ field: 'lane' }, { field: 'value', title: valueTitle }, { field: 'startS', title: 'from s' }, { field: 'endS', title: 'to s' }] },
  }]);
}

function clusterCharts(r: ExperimentRunResult, axes: Axes): Chart[] {
  const roles = r.roles.filter((o) => o.time !== undefined).map((o) => ({ member: o.member, term: o.term, role: o.role, timeMs: o.time! }));
  // Term changes only (plus each member's last sample): the line steps between them.
  const terms = [...groupBy(roles, (o) => o.member)].flatMap(([member, list]) => list.filter((o, i) => i === 0 || i === list.length - 1 || o.term !== list[i - 1]!.term).map((o) => ({ member, term: o.term, startS: seconds(o.timeMs) })));
  const roleRows = intervals(roles.map((o) => ({ lane: o.member, value: o.role, timeMs: o.timeMs })), 1_000);
  const leaseRows = intervals(r.leases.map((l) => ({ lane: l.component, value: l.holder === undefined ? '(unreadable)' : l.holder === '' ? '(released)' : l.holder, timeMs: l.timeMs })), 2_000);
  const pods = r.deployments.flatMap((o) => (o.deployments ?? []).flatMap((d) => [
    { deployment: d.name, series: 'desired', count: d.desired, startS: seconds(o.timeMs) },
    { deployment: d.name, series: 'available (ready)', count: d.available, startS: seconds(o.timeMs) },
  ]));
  return [
    {
      id: 'etcd-term', title: 'etcd term per member over time', empty: 'no etcd status was sampled',
      spec: terms.length === 0 ? undefined : timeLayers(axes, [{ name: 'data', data: { values: terms }, mark: { type: 'line', interpolate: 'step-after', point: { size: 10 } }, encoding: { x: timeX(axes, 'startS'), y: { field: 'term', type: 'quantitative', scale: { zero: false }, axis: { tickMinStep: 1 } }, color: { field: 'member', type: 'nominal' }, tooltip: [{ field: 'member' }, { field: 'term' }, { field: 'startS', title: 'at s' }] } }]),
    },
    { id: 'etcd-leader', title: 'etcd role per member over time (the leader is whoever says leader)', empty: 'no etcd status was sampled', spec: roleRows.length === 0 ? undefined : intervalSpec(axes, roleRows, 'role') },
    { id: 'leases', title: 'Leader-election Lease holders over time (through the API)', empty: 'no Lease was sampled', spec: leaseRows.length === 0 ? undefined : intervalSpec(axes, leaseRows, 'holder') },
    {
      id: 'pods', title: 'Pods per Deployment: available (ready) and desired', empty: 'no Deployment was sampled',
      spec: pods.length === 0 ? undefined : timeLayers(axes, [{ name: 'data', data: { values: pods }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: timeX(axes, 'startS'), y: { field: 'count', type: 'quantitative', axis: { tickMinStep: 1 }, title: 'pods' }, color: { field: 'deployment', type: 'nominal' }, strokeDash: { field: 'series', type: 'nominal' }, detail: { field: 'series' }, tooltip: [{ field: 'deployment' }, { field: 'series' }, { field: 'count' }, { field: 'startS', title: 'at s' }] } }]),
    },
  ];
}

function reportCharts(r: ExperimentRunResult, ix: HistoryIndex): Chart[] {
  const axes: Axes = { runS: seconds(r.runMs), faults: r.faults.filter((f) => f.injected).map((f) => ({ name: f.name, host: f.host ?? '—', startS: seconds(f.startMs), endS: seconds(f.endMs ?? r.runMs) })) };
  const binMs = binWidthMs(r.runMs);
  const completions = apiCompletions(ix);
  return [timelineChart(r, axes), ...httpCharts(r, axes, binMs), ...apiCharts(completions, axes, binMs), errorsChart(r, completions, axes, binMs), ...clusterCharts(r, axes)];
}

// ---------------------------------------------------------------------------------------------
// The page.

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1240px; padding: 16px 24px; color: #1d2330; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #dde; } h3 { font-size: 14px; margin: 18px 0 4px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; vertical-align: top; padding: 3px 6px; border-bottom: 1px solid #eef; }
th { background: #f4f5fa; position: sticky; top: 0; }
.status { font-weight: 600; text-transform: uppercase; } .pass { color: #1a7f37; } .fail { color: #cf222e; } .unknown { color: #9a6700; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; color: white; } .badge.pass { background: #1a7f37; } .badge.fail { background: #cf222e; } .badge.unknown { background: #9a6700; }
.verdict-row td:last-child { min-width: 230px; }
.evidence { white-space: pre-wrap; font: 12px/1.4 ui-monospace, monospace; max-height: 260px; overflow: auto; }
.chart { width: 100%; } .empty { color: #667; font-style: italic; }
#history-table { font: 12px/1.3 ui-monospace, monospace; } #history-table td { padding: 1px 6px; }
tr.fail td { color: #cf222e; } tr.info td { color: #9a6700; } tr.marker td { background: #fff1f0; font-weight: 600; }
tr:target td { background: #fff8c5 !important; }
#history-table tbody tr { scroll-margin-top: 2em; } /* a linked row lands below the sticky header, not under it */
.history-scroll { max-height: 640px; overflow: auto; border: 1px solid #dde; }
`;

function verdictSection(r: ExperimentRunResult, ix: HistoryIndex): { html: string; named: Set<number> } {
  const named = new Set<number>();
  const rows = r.verdict.results.map((v, i) => {
    const spans = linkEvidence(v.detail, ix);
    const evidence = spans.map((s) => {
      if (s.op === undefined) return escapeHtml(s.text);
      named.add(s.op);
      return `<a class="op-link" href="#op-${s.op}">${escapeHtml(s.text)}</a>`;
    }).join('');
    const links = restsOn(v.name, r).map((a) => `<a class="window-link" href="${a.href}">${escapeHtml(a.label)}</a>`).join('<br>');
    return `<tr id="verdict-${i}" class="verdict-row"><td>${escapeHtml(v.name)}</td><td class="status ${v.status}">${v.status}</td><td><div class="evidence">${evidence}</div></td><td>${links}</td></tr>`;
  });
  const html = `<h2 id="verdicts">Verdicts</h2><table id="verdict-table"><thead><tr><th>verdict</th><th>status</th><th>evidence</th><th>rests on</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return { html, named };
}

function factsSection(r: ExperimentRunResult): string {
  const latency = r.http.latencyMs;
  const faults = r.faults.map((f, i) => `<tr><td>${f.step}</td><td>${escapeHtml(f.name)}</td><td>${escapeHtml(f.host ?? '—')}</td><td>${f.injected ? 'yes' : 'no'}</td><td><a href="#fault-${i}-start">${Math.round(f.startMs)}</a></td><td>${f.endMs === undefined ? 'open' : `<a href="#fault-${i}-end">${Math.round(f.endMs)}</a>`}</td><td>${escapeHtml(f.note)}</td></tr>`);
  const probe = (when: string, p: ExperimentRunResult['steadyState']['before'][number]) => `<tr><td>${when}</td><td>${escapeHtml(p.probe)}</td><td class="status ${p.ok ? 'pass' : 'fail'}">${p.ok ? 'holds' : 'does not hold'}</td><td>${Math.round(p.timeMs)}</td><td>${escapeHtml(p.detail)}</td></tr>`;
  return [
    '<h2 id="numbers">Numbers</h2><ul>',
    `<li>operations: ${r.ops} (API, KV and HTTP); acknowledged writes (API and KV): ${r.ackedWrites}, lost: ${r.lostAckedWrites}</li>`,
    `<li>HTTP requests: ${r.http.requests}, answered 200: ${r.http.ok}${latency === undefined ? '' : `; latency p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms, max ${latency.max} ms`}</li>`,
    `<li>run time: ${Math.round(r.runMs)} ms</li></ul>`,
    '<h2 id="faults">Faults (ms from the start of the run, the history\'s clock)</h2>',
    `<table><thead><tr><th>step</th><th>fault</th><th>host</th><th>injected</th><th>start</th><th>end</th><th>note</th></tr></thead><tbody>${faults.join('')}</tbody></table>`,
    '<h2 id="steady-state">Steady state</h2>',
    `<table><thead><tr><th>when</th><th>probe</th><th>result</th><th>at ms</th><th>detail</th></tr></thead><tbody>${[...r.steadyState.before.map((p) => probe('before', p)), ...r.steadyState.after.map((p) => probe('after', p))].join('')}</tbody></table>`,
    '<h2 id="notes">Timeline notes</h2><ul>', ...r.notes.map((n) => `<li>${escapeHtml(n)}</li>`), '</ul>',
  ].join('\n');
}

function historyRow(op: HistoryOp, i: number): string {
  const value = op.value === null ? '' : JSON.stringify(op.value);
  return `<tr id="op-${i}" class="${op.type}"><td>${i}</td><td>${fmtMs(op.time)}</td><td>${escapeHtml(String(op.process))}</td><td>${op.type}</td><td>${op.f}</td><td>${escapeHtml(op.key)}</td><td>${escapeHtml(value)}</td><td>${op.revision ?? ''}</td><td>${escapeHtml(op.error ?? '')}</td></tr>`;
}

function historySection(r: ExperimentRunResult, ix: HistoryIndex, named: ReadonlySet<number>): string {
  const kept = keptRows(ix, named, MAX_HISTORY_ROWS);
  const marks = markers(r);
  const rows: string[] = [];
  let m = 0;
  const markerRow = (mk: Marker) => `<tr id="${mk.id}" class="marker"><td></td><td>${fmtMs(mk.timeMs)}</td><td colspan="7">${escapeHtml(mk.label)}</td></tr>`;
  r.history.forEach((op, i) => {
    while (m < marks.length && marks[m]!.timeMs <= op.time) rows.push(markerRow(marks[m++]!));
    if (kept === undefined || kept.has(i)) rows.push(historyRow(op, i));
  });
  while (m < marks.length) rows.push(markerRow(marks[m++]!));
  const omitted = kept === undefined ? '' : ` The table keeps ${kept.size} of the ${r.history.length} rows (those the evidence names, every API operation, failed requests first); the rest are in history.jsonl.`;
  return [
    '<h2 id="history">History</h2>',
    `<p>Every API operation and HTTP request on the run's clock (ms); row N is line N+1 of history.jsonl. Fault and phase boundaries are marked in place.${omitted}</p>`,
    `<div class="history-scroll"><table id="history-table"><thead><tr><th>#</th><th>time ms</th><th>process</th><th>type</th><th>f</th><th>key</th><th>value</th><th>rev</th><th>error</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`,
  ].join('\n');
}

/** Runs in the page: draws every chart, reports a chart that failed in its place and on the console. */
const EMBED = `
const charts = JSON.parse(document.getElementById('report-charts').textContent);
window.reportReady = Promise.all(charts.map((c) => vegaEmbed('#chart-' + c.id + ' .chart', c.spec, { actions: false, renderer: 'svg' })
  .then(() => 'ok')
  .catch((e) => { document.querySelector('#chart-' + c.id + ' .chart').textContent = 'chart failed: ' + e.message; console.error('chart ' + c.id + ': ' + e.message); return 'failed'; })));
`;

/** The whole page: result in, HTML out. */
export function reportHtml(r: ExperimentRunResult, libs: ChartLibraries): string {
  const ix = indexHistory(r);
  const verdicts = verdictSection(r, ix);
  const charts = reportCharts(r, ix);
  const drawn = charts.flatMap((c) => (c.spec === undefined ? [] : [{ id: c.id, spec: c.spec }]));
  const chartHtml = charts.map((c) => `<section id="chart-${c.id}" class="chart-section"><h3>${escapeHtml(c.title)}</h3>${c.spec === undefined ? `<p class="empty">${escapeHtml(c.empty)}</p>` : '<div class="chart"></div>'}</section>`);
  return [
    '<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
    `<title>pocketkube chaos report: ${escapeHtml(r.experiment)} (seed ${r.seed})</title>`,
    `<style>${STYLE}</style>`,
    `<script>${escapeScript(libs.vega)}</script>`, `<script>${escapeScript(libs.vegaLite)}</script>`, `<script>${escapeScript(libs.vegaEmbed)}</script>`,
    '</head><body>',
    `<h1>pocketkube chaos report: ${escapeHtml(r.experiment)} (seed ${r.seed}) <span class="badge ${r.verdict.status}">${r.verdict.status}</span></h1>`,
    `<p>${escapeHtml(r.description)}</p>`,
    '<nav><a href="#verdicts">verdicts</a> · <a href="#charts">charts</a> · <a href="#faults">faults</a> · <a href="#steady-state">steady state</a> · <a href="#notes">notes</a> · <a href="#history">history</a></nav>',
    verdicts.html,
    '<h2 id="charts">Charts (fault intervals shaded red)</h2>', ...chartHtml,
    factsSection(r),
    historySection(r, ix, verdicts.named),
    `<script type="application/json" id="report-charts">${jsonForScript(drawn)}</script>`,
    `<script>${escapeScript(EMBED)}</script>`,
    '</body></html>', '',
  ].join('\n');
}
