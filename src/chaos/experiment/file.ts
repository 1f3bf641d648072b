/**
 * Experiment files: the ExperimentSpec of define.ts written as YAML or JSON, shaped after Chaos
 * Toolkit's format — `title`, `description`, `steady-state-hypothesis` with probes and
 * tolerances, a `method` of actions with `pauses` (seconds, as Chaos Toolkit counts them) and
 * `rollbacks` — plus pocketkube's `configuration` (cluster shape, manifests, workloads) and
 * `verdicts`. Every problem is reported with the file, the line and the field, e.g.
 * `worker-death.yaml:14: method[0].provider.target: unknown target "random"`.
 *
 *   title: worker-death
 *   configuration:
 *     cluster: { workers: 2 }
 *     manifests: [../manifests/nginx-deployment.yaml, ../manifests/nginx-service.yaml]
 *     wait-for: [deployments-available]
 *     workloads: [{ kind: http, service: default/nginx, processes: 2 }]
 *   steady-state-hypothesis:
 *     probes: [{ name: service-responds, tolerance: 1, provider: { service: default/nginx } }]
 *   method:
 *     - { type: action, name: kill-host, provider: { target: random-worker }, pauses: { before: [0.5, 1.5] }, duration: 12, detection: 5 }
 *   verdicts: [faults-injected, { service-availability: 0.9 }, { convergence: 30 }]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import type { ProfileName } from '../../runtime/profiles.js';
import type { Sabotage } from '../../cluster/sabotage.js';
import { faultInfoOf, faultKinds, fileKey, paramProblem, type ParamSpec } from './catalog.js';
import { experimentProblems, type ExperimentSpec, type FaultSpec, type MethodStep, type MsRange, type ProbeSpec, type TargetSpec, type VerdictSpec, type WorkloadSpec } from './define.js';

export class ExperimentFileError extends Error {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super(`${file} is not a valid experiment:\n  ${problems.join('\n  ')}`);
    this.name = 'ExperimentFileError';
  }
}

const experimentFileExtensions = ['.yaml', '.yml', '.json'] as const;

type Path = readonly (string | number)[];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Collects problems with their line; reading helpers return undefined after recording one. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly file: string, private readonly lineOf: (path: Path) => number | undefined) {}

  problem(path: Path, message: string): undefined {
    const line = this.lineOf(path);
    const field = path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
    this.problems.push(`${this.file}${line === undefined ? '' : `:${line}`}: ${field === '' ? '' : `${field}: `}${message}`);
    return undefined;
  }

  object(v: Json | undefined, path: Path): Record<string, Json> | undefined {
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : this.problem(path, `expected a mapping, got ${describe(v)}`);
  }

  list(v: Json | undefined, path: Path): Json[] | undefined {
    return Array.isArray(v) ? v : this.problem(path, `expected a list, got ${describe(v)}`);
  }

  string(v: Json | undefined, path: Path): string | undefined {
    return typeof v === 'string' && v !== '' ? v : this.problem(path, `expected a non-empty string, got ${describe(v)}`);
  }

  number(v: Json | undefined, path: Path): number | undefined {
    return typeof v === 'number' && Number.isFinite(v) ? v : this.problem(path, `expected a number, got ${describe(v)}`);
  }

  /** Seconds (a number or [min, max]) as milliseconds. */
  seconds(v: Json | undefined, path: Path): MsRange | undefined {
    if (typeof v === 'number') return Math.round(v * 1000);
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [Math.round(v[0] * 1000), Math.round(v[1] * 1000)];
    return this.problem(path, `expected seconds: a number or [min, max], got ${describe(v)}`);
  }

  only(o: Record<string, Json>, path: Path, allowed: readonly string[]): void {
    for (const key of Object.keys(o)) if (!allowed.includes(key)) this.problem([...path, key], `unknown field (expected one of ${allowed.join(', ')})`);
  }
}

function describe(v: Json | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  return Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v);
}

const namedTargets = {
  'etcd-leader-master': { kind: 'etcd-leader-master' }, 'minority-master': { kind: 'minority-master' }, 'majority-masters': { kind: 'majority-masters' },
  'random-master': { kind: 'random-master' }, 'random-worker': { kind: 'random-worker' }, 'any-host': { kind: 'any-host' },
  'controller-manager-leader': { kind: 'lease-holder', component: 'controller-manager' }, 'scheduler-leader': { kind: 'lease-holder', component: 'scheduler' },
  'busiest-master': { kind: 'busiest-master' },
} as const satisfies Record<string, TargetSpec>;

export const experimentTargetNames: readonly string[] = Object.keys(namedTargets);
export const experimentProbeNames: readonly string[] = ['service-responds', 'deployments-available', 'api-writable', 'nodes-ready'];
const HOST = /^(master|worker)-\d+$/;

/** A target: a name above, a host (`worker-1`), a list of hosts, or `{ pod: { namespace, selector } }`. */
function target(r: Reader, v: Json | undefined, path: Path): TargetSpec | undefined {
  if (Array.isArray(v)) {
    const hosts = v.map((h, i) => (typeof h === 'string' && HOST.test(h) ? h : r.problem([...path, i], `expected a host such as master-1, got ${describe(h)}`)));
    return hosts.every((h): h is string => h !== undefined) ? (hosts.length === 0 ? r.problem(path, 'an empty list of hosts') : { kind: 'hosts', hosts }) : undefined;
  }
  if (v !== null && typeof v === 'object') {
    r.only(v, path, ['pod']);
    const pod = r.object(v['pod'], [...path, 'pod']);
    if (pod === undefined) return undefined;
    r.only(pod, [...path, 'pod'], ['namespace', 'selector']);
    const namespace = r.string(pod['namespace'] ?? 'default', [...path, 'pod', 'namespace']);
    const selector = r.string(pod['selector'], [...path, 'pod', 'selector']);
    return namespace === undefined || selector === undefined ? undefined : { kind: 'pod', pods: { namespace, selector } };
  }
  const name = r.string(v, path);
  if (name === undefined) return undefined;
  if (name in namedTargets) return namedTargets[name as keyof typeof namedTargets];
  if (HOST.test(name)) return { kind: 'host', host: name };
  return r.problem(path, `unknown target ${JSON.stringify(name)} (expected ${experimentTargetNames.join(', ')}, a host such as worker-1, a list of hosts, or { pod: { namespace, selector } })`);
}

/** A manifest parameter given as a path (relative to the experiment file): its one YAML or JSON document. */
function manifestFromFile(r: Reader, name: string, path: Path, baseDir: string): Json | undefined {
  const text = manifestText(r, name, path, baseDir);
  if (text === undefined) return undefined;
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length > 0) {
    return r.problem(path, `${resolve(baseDir, name)} must hold one YAML or JSON document${Array.isArray(docs) && docs.length > 1 ? `, not ${docs.length}` : ''}${Array.isArray(docs) && docs[0]?.errors[0] ? `: ${docs[0].errors[0].message.split('\n')[0]}` : ''}`);
  }
  return docs[0]!.toJS() as Json;
}

/** One provider parameter, as its catalog type reads from a file; undefined after a problem. */
function param(r: Reader, spec: ParamSpec, given: Json, path: Path, baseDir: string): Json | undefined {
  // A manifest is inline or a path to a file of its own (users' Chaos Mesh YAML, unchanged).
  const v = spec.type === 'chaos-mesh-manifest' && typeof given === 'string' ? manifestFromFile(r, given, path, baseDir) : given;
  if (v === undefined) return undefined;
  const problem = paramProblem(spec, v);
  return problem === undefined ? v : r.problem(path, problem.replace(/^must be/, 'expected'));
}

/** An action's fault: its name picks the catalog entry, whose parameters are read from the provider. */
function fault(r: Reader, name: string, provider: Record<string, Json>, path: Path, baseDir: string): FaultSpec | undefined {
  const info = faultInfoOf(name);
  if (info === undefined) return r.problem([...path, 'name'], `unknown action ${JSON.stringify(name)} (expected ${faultKinds.join(', ')})`);
  const kind = name as FaultSpec['kind'];
  const p = [...path, 'provider'];
  const fields = Object.keys(info.params);
  r.only(provider, p, [...(info.target === 'none' ? [] : ['target']), ...fields.map(fileKey)]);
  const out: Record<string, unknown> = { kind };
  let ok = true;
  if (info.target !== 'none') {
    const t = target(r, provider['target'], [...p, 'target']);
    if (t === undefined) ok = false;
    else out['target'] = t;
  }
  for (const field of fields) {
    const v = provider[fileKey(field)];
    if (v === undefined) continue;
    const read = param(r, info.params[field]!, v, [...p, fileKey(field)], baseDir);
    if (read === undefined) ok = false;
    else out[field] = read;
  }
  return ok ? (out as unknown as FaultSpec) : undefined;
}

function methodStep(r: Reader, v: Json, path: Path, baseDir: string): MethodStep | undefined {
  const o = r.object(v, path);
  if (o === undefined) return undefined;
  r.only(o, path, ['type', 'name', 'provider', 'pauses', 'duration', 'detection', 'background']);
  if (o['type'] !== 'action') return r.problem([...path, 'type'], o['type'] === 'probe' ? 'probes in the method are not supported: put them in steady-state-hypothesis' : `expected "action", got ${describe(o['type'])}`);
  const name = r.string(o['name'], [...path, 'name']);
  const provider = r.object(o['provider'] ?? {}, [...path, 'provider']);
  const pauses = r.object(o['pauses'] ?? {}, [...path, 'pauses']);
  if (pauses !== undefined) r.only(pauses, [...path, 'pauses'], ['before']);
  const afterMs = pauses?.['before'] === undefined ? 0 : r.seconds(pauses['before'], [...path, 'pauses', 'before']);
  const durationMs = r.seconds(o['duration'], [...path, 'duration']);
  const detection = o['detection'] === undefined ? 0 : r.number(o['detection'], [...path, 'detection']);
  if (name === undefined || provider === undefined || afterMs === undefined || durationMs === undefined || detection === undefined) return undefined;
  const background = o['background'] ?? false;
  if (typeof background !== 'boolean') return r.problem([...path, 'background'], `expected true or false, got ${describe(background)}`);
  const f = fault(r, name, provider, path, baseDir);
  if (f === undefined) return undefined;
  return { fault: f, afterMs, durationMs, ...(detection === 0 ? {} : { detectionMs: Math.round(detection * 1000) }), ...(background ? { background } : {}) };
}

function probe(r: Reader, v: Json, path: Path): ProbeSpec | undefined {
  const o = typeof v === 'string' ? { name: v } : r.object(v, path);
  if (o === undefined) return undefined;
  r.only(o, path, ['type', 'name', 'tolerance', 'provider']);
  const name = r.string(o['name'], [...path, 'name']);
  const provider = r.object(o['provider'] ?? {}, [...path, 'provider']);
  const tolerance = o['tolerance'] === undefined ? undefined : r.number(o['tolerance'], [...path, 'tolerance']);
  if (name === undefined || provider === undefined) return undefined;
  const p = [...path, 'provider'];
  switch (name) {
    case 'service-responds': {
      r.only(provider, p, ['service', 'samples']);
      const service = r.string(provider['service'], [...p, 'service']);
      const samples = provider['samples'] === undefined ? undefined : r.number(provider['samples'], [...p, 'samples']);
      return service === undefined ? undefined : { kind: 'service-responds', service, ...(samples === undefined ? {} : { samples }), ...(tolerance === undefined ? {} : { minOkRatio: tolerance }) };
    }
    case 'deployments-available': r.only(provider, p, []); return { kind: 'deployments-available' };
    case 'api-writable': r.only(provider, p, []); return { kind: 'api-writable', ...(tolerance === undefined ? {} : { timeoutMs: Math.round(tolerance * 1000) }) };
    case 'nodes-ready': r.only(provider, p, []); return { kind: 'nodes-ready', ...(tolerance === undefined ? {} : { count: tolerance }) };
    default: return r.problem([...path, 'name'], `unknown probe ${JSON.stringify(name)} (expected ${experimentProbeNames.join(', ')})`);
  }
}

const plainVerdicts = ['faults-injected', 'acked-writes-present', 'api-linearizable', 'kv-acked-writes-present', 'kv-linearizable', 'etcd-consistent', 'single-active-controller-manager', 'single-active-scheduler', 'placement-safe', 'statefulset-identity', 'watch-guarantees'] as const;

export const experimentVerdictNames: readonly string[] = [...plainVerdicts, 'service-availability: RATIO', 'convergence: SECONDS', 'rollout-converged: SECONDS', 'steady-state-restored: SECONDS'];

function verdict(r: Reader, v: Json, path: Path): VerdictSpec | undefined {
  if (typeof v === 'string' && (plainVerdicts as readonly string[]).includes(v)) return { kind: v as (typeof plainVerdicts)[number] };
  const o = typeof v === 'string' ? { [v]: null } : r.object(v, path);
  if (o === undefined) return undefined;
  const [name, value] = Object.entries(o)[0] ?? ['', null];
  if (Object.keys(o).length !== 1) return r.problem(path, 'a verdict is a name, or a mapping of one name to its parameter');
  const at = [...path, name];
  switch (name) {
    case 'service-availability': { const n = r.number(value ?? undefined, at); return n === undefined ? undefined : { kind: 'service-availability', minOkRatio: n }; }
    case 'convergence': { const n = r.number(value ?? undefined, at); return n === undefined ? undefined : { kind: 'convergence', withinMs: Math.round(n * 1000) }; }
    case 'rollout-converged': { const n = r.number(value ?? undefined, at); return n === undefined ? undefined : { kind: 'rollout-converged', withinMs: Math.round(n * 1000) }; }
    case 'steady-state-restored': { const n = r.number(value ?? undefined, at); return n === undefined ? undefined : { kind: 'steady-state-restored', withinMs: Math.round(n * 1000) }; }
    default: return r.problem(at, `unknown verdict (expected ${experimentVerdictNames.join(', ')})`);
  }
}

function workload(r: Reader, v: Json, path: Path): WorkloadSpec | undefined {
  const o = r.object(v, path);
  if (o === undefined) return undefined;
  if (o['kind'] === 'rollout') return rollout(r, o, path);
  const processes = r.number(o['processes'] ?? 1, [...path, 'processes']);
  if (processes === undefined) return undefined;
  if (o['kind'] === 'http') {
    r.only(o, path, ['kind', 'service', 'processes', 'request-timeout-ms']);
    const service = r.string(o['service'], [...path, 'service']);
    const requestTimeoutMs = o['request-timeout-ms'] === undefined ? undefined : r.number(o['request-timeout-ms'], [...path, 'request-timeout-ms']);
    return service === undefined ? undefined : { kind: 'http', service, processes, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) };
  }
  if (o['kind'] === 'api-configmaps' || o['kind'] === 'kv') {
    r.only(o, path, ['kind', 'processes', 'keys']);
    const keys = r.number(o['keys'] ?? 5, [...path, 'keys']);
    return keys === undefined ? undefined : { kind: o['kind'], processes, keys };
  }
  return r.problem([...path, 'kind'], `expected http, api-configmaps, kv or rollout, got ${describe(o['kind'])}`);
}

/** `{ kind: rollout, deployment: NS/NAME, container?, images: [...], every: SECONDS }`. */
function rollout(r: Reader, o: Record<string, Json>, path: Path): WorkloadSpec | undefined {
  r.only(o, path, ['kind', 'deployment', 'container', 'images', 'every']);
  const deployment = r.string(o['deployment'], [...path, 'deployment']);
  const container = o['container'] === undefined ? undefined : r.string(o['container'], [...path, 'container']);
  const images = (r.list(o['images'], [...path, 'images']) ?? []).map((image, i) => r.string(image, [...path, 'images', i]));
  const every = r.number(o['every'] ?? 5, [...path, 'every']);
  if (deployment === undefined || every === undefined || images.some((i) => i === undefined) || (o['container'] !== undefined && container === undefined)) return undefined;
  return { kind: 'rollout', deployment, ...(container === undefined ? {} : { container }), images: images as string[], everyMs: Math.round(every * 1000) };
}

function manifestText(r: Reader, v: Json, path: Path, baseDir: string): string | undefined {
  const name = r.string(v, path);
  if (name === undefined) return undefined;
  try {
    return readFileSync(resolve(baseDir, name), 'utf8');
  } catch (error) {
    return r.problem(path, `cannot read ${resolve(baseDir, name)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The experiment a file's text describes; throws ExperimentFileError listing every problem. */
export function parseExperimentFile(text: string, file: string, baseDir = dirname(resolve(file))): ExperimentSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const syntax = doc.errors.map((e) => `${file}:${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  if (syntax.length > 0) throw new ExperimentFileError(file, syntax);
  const lineOf = (path: Path): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const r = new Reader(file, lineOf);
  const root = r.object(doc.toJS() as Json, []);
  if (root === undefined) throw new ExperimentFileError(file, r.problems);
  r.only(root, [], ['version', 'title', 'description', 'tags', 'configuration', 'steady-state-hypothesis', 'method', 'rollbacks', 'verdicts']);
  const name = r.string(root['title'], ['title']);
  const config = r.object(root['configuration'] ?? {}, ['configuration']) ?? {};
  r.only(config, ['configuration'], ['cluster', 'manifests', 'wait-for', 'setup-timeout', 'workloads', 'settle']);
  const cluster = r.object(config['cluster'] ?? {}, ['configuration', 'cluster']) ?? {};
  r.only(cluster, ['configuration', 'cluster'], ['masters', 'workers', 'profile', 'sabotage']);
  const sabotage = cluster['sabotage'] === undefined ? undefined : (r.list(cluster['sabotage'], ['configuration', 'cluster', 'sabotage']) ?? []).map((s, i) => r.string(s, ['configuration', 'cluster', 'sabotage', i]) ?? '');
  const profile = cluster['profile'] ?? 'fast';
  const masters = cluster['masters'] ?? 3;
  if (profile !== 'fast' && profile !== 'kubernetes') r.problem(['configuration', 'cluster', 'profile'], `expected fast or kubernetes, got ${describe(profile)}`);
  const hypothesis = r.object(root['steady-state-hypothesis'] ?? {}, ['steady-state-hypothesis']) ?? {};
  r.only(hypothesis, ['steady-state-hypothesis'], ['title', 'probes']);
  const rollbacks = root['rollbacks'] ?? [];
  if (!Array.isArray(rollbacks) || rollbacks.length > 0) r.problem(['rollbacks'], 'must be empty: every action heals itself after its duration (kill-host restarts the host, isolate-master removes the partition)');
  const all = <T>(v: Json | undefined, path: Path, each: (item: Json, at: Path) => T | undefined): T[] =>
    (r.list(v ?? [], path) ?? []).map((item, i) => each(item, [...path, i])).filter((x): x is T => x !== undefined);
  const spec: ExperimentSpec = {
    name: name ?? '', description: typeof root['description'] === 'string' ? root['description'] : '',
    cluster: {
      masters: masters === 5 ? 5 : 3, workers: r.number(cluster['workers'] ?? 2, ['configuration', 'cluster', 'workers']) ?? 2, profile: (profile === 'kubernetes' ? 'kubernetes' : 'fast') as ProfileName,
      // Names are checked with the spec (experimentProblems).
      ...(sabotage === undefined ? {} : { sabotage: sabotage as Sabotage[] }),
    },
    setup: {
      manifests: all(config['manifests'], ['configuration', 'manifests'], (v, at) => manifestText(r, v, at, baseDir)),
      waitFor: all(config['wait-for'], ['configuration', 'wait-for'], (v, at) => probe(r, v, at)),
      timeoutMs: Math.round((r.number(config['setup-timeout'] ?? 60, ['configuration', 'setup-timeout']) ?? 60) * 1000),
    },
    workloads: all(config['workloads'], ['configuration', 'workloads'], (v, at) => workload(r, v, at)),
    steadyState: all(hypothesis['probes'], ['steady-state-hypothesis', 'probes'], (v, at) => probe(r, v, at)),
    method: all(root['method'], ['method'], (v, at) => methodStep(r, v, at, baseDir)),
    heal: { settleMs: Math.round((r.number(config['settle'] ?? 1, ['configuration', 'settle']) ?? 1) * 1000) },
    verdicts: all(root['verdicts'], ['verdicts'], (v, at) => verdict(r, v, at)),
  };
  if (masters !== 3 && masters !== 5) r.problem(['configuration', 'cluster', 'masters'], `expected 3 or 5 (an etcd member on each), got ${describe(masters)}`);
  // The spec's own checks, pointed at the file's sections.
  // A step's problem points at the step's line (the spec names its fields, not the file's keys).
  if (r.problems.length === 0) {
    for (const p of experimentProblems(spec)) {
      const step = /^method\[(\d+)\][.:]? ?/.exec(p);
      r.problem(step === null ? [] : ['method', Number(step[1])], step === null ? p : p.slice(step[0].length));
    }
  }
  if (r.problems.length > 0) throw new ExperimentFileError(file, r.problems);
  return Object.freeze(spec);
}

export function loadExperimentFile(file: string): ExperimentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ExperimentFileError(file, [`cannot read it: ${error instanceof Error ? error.message : String(error)}`]);
  }
  return parseExperimentFile(text, file);
}

export function isExperimentFileName(name: string): boolean {
  return experimentFileExtensions.some((ext) => name.endsWith(ext));
}

/**
 * The folder of the built-in experiment files (`examples/experiments` of the package), found by
 * walking up from this module (src/chaos/experiment in a checkout, dist/ once built); undefined
 * when the package was installed without it.
 */
export function builtinExperimentDir(from: string = fileURLToPath(import.meta.url)): string | undefined {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'experiments');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Every experiment file in `dir`, loaded (sorted by file name); a bad file throws ExperimentFileError. */
export function loadExperimentDir(dir: string): { readonly file: string; readonly spec: ExperimentSpec }[] {
  return readdirSync(dir).filter(isExperimentFileName).sort().map((name) => ({ file: join(dir, name), spec: loadExperimentFile(join(dir, name)) }));
}
