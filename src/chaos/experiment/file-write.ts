/**
 * An ExperimentSpec written as an experiment file (the format file.ts reads), so that a schedule
 * found by a sweep or a shrink can be kept, read and re-run: `pocketkube chaos run shrunk.yaml`.
 * Loading the written file gives back the same spec. A fault's provider is generic: every field
 * of the FaultSpec besides kind and target, in kebab-case (resetConnections -> reset-connections,
 * delayJitterMs -> delay-jitter-ms, catalog.ts's fileKey), which is how file.ts reads them; a new
 * fault kind needs no change here (a new target kind does: the switch below says so at compile time). Manifests are written next to the file (file.ts reads manifests as paths relative
 * to the file) as `<name>.manifest-N.yaml`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { fileKey } from './catalog.js';
import type { ExperimentSpec, FaultSpec, MethodStep, MsRange, ProbeSpec, TargetSpec, VerdictSpec, WorkloadSpec } from './define.js';

type Yaml = null | boolean | number | string | readonly Yaml[] | { readonly [key: string]: Yaml };

/** Milliseconds as the file's seconds. */
const seconds = (ms: number): number => ms / 1000;
const secondsRange = (range: MsRange): Yaml => (typeof range === 'number' ? seconds(range) : [seconds(range[0]), seconds(range[1])]);

/** A target as file.ts reads it: a name, a host, a list of hosts, or `{ pod: { namespace, selector } }`. */
function target(t: TargetSpec): Yaml {
  switch (t.kind) {
    case 'etcd-leader-master':
    case 'minority-master':
    case 'majority-masters':
    case 'random-master':
    case 'random-worker':
    case 'any-host':
    case 'busiest-master':
      return t.kind;
    case 'lease-holder':
      return `${t.component}-leader`;
    case 'pod':
      return { pod: { namespace: t.pods.namespace, selector: t.pods.selector } };
    case 'host':
      return t.host;
    case 'hosts':
      return [...t.hosts];
    default: {
      const never: never = t;
      throw new Error(`unreachable target ${JSON.stringify(never)}`);
    }
  }
}

/** A parameter value as YAML: numbers, strings, booleans, lists of them (messageTypes, groups) and objects (a Chaos Mesh manifest, inline). */
function paramValue(kind: string, field: string, value: unknown): Yaml {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => paramValue(kind, field, v));
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, paramValue(kind, field, v)]));
  throw new Error(`fault ${kind}: field ${field} (${JSON.stringify(value)}) cannot be written to an experiment file`);
}

function provider(fault: FaultSpec): Record<string, Yaml> {
  const out: Record<string, Yaml> = 'target' in fault ? { target: target(fault.target) } : {};
  for (const [field, value] of Object.entries(fault)) {
    if (field === 'kind' || field === 'target' || value === undefined) continue;
    out[fileKey(field)] = paramValue(fault.kind, field, value);
  }
  return out;
}

function action(step: MethodStep): Record<string, Yaml> {
  return {
    type: 'action', name: step.fault.kind, provider: provider(step.fault),
    pauses: { before: secondsRange(step.afterMs) }, duration: secondsRange(step.durationMs),
    // file.ts reads a missing detection as none, and gives no detectionMs for 0.
    ...(step.detectionMs === undefined || step.detectionMs === 0 ? {} : { detection: seconds(step.detectionMs) }),
    ...(step.background === true ? { background: true } : {}),
  };
}

function probe(p: ProbeSpec): Yaml {
  switch (p.kind) {
    case 'service-responds':
      return { name: p.kind, ...(p.minOkRatio === undefined ? {} : { tolerance: p.minOkRatio }), provider: { service: p.service, ...(p.samples === undefined ? {} : { samples: p.samples }) } };
    case 'deployments-available':
      return p.kind;
    case 'api-writable':
      return p.timeoutMs === undefined ? p.kind : { name: p.kind, tolerance: seconds(p.timeoutMs) };
    case 'nodes-ready':
      return p.count === undefined ? p.kind : { name: p.kind, tolerance: p.count };
    default: {
      const never: never = p;
      throw new Error(`unreachable probe ${JSON.stringify(never)}`);
    }
  }
}

function workload(w: WorkloadSpec): Yaml {
  switch (w.kind) {
    case 'api-configmaps':
    case 'kv':
      return { kind: w.kind, processes: w.processes, keys: w.keys };
    case 'http':
      return { kind: w.kind, service: w.service, processes: w.processes, ...(w.requestTimeoutMs === undefined ? {} : { 'request-timeout-ms': w.requestTimeoutMs }) };
    case 'rollout':
      return { kind: w.kind, deployment: w.deployment, ...(w.container === undefined ? {} : { container: w.container }), images: [...w.images], every: seconds(w.everyMs) };
    default: {
      const never: never = w;
      throw new Error(`unreachable workload ${JSON.stringify(never)}`);
    }
  }
}

function verdict(v: VerdictSpec): Yaml {
  switch (v.kind) {
    case 'acked-writes-present':
    case 'api-linearizable':
    case 'kv-acked-writes-present':
    case 'kv-linearizable':
    case 'etcd-consistent':
    case 'single-active-controller-manager':
    case 'single-active-scheduler':
    case 'placement-safe':
    case 'statefulset-identity':
    case 'watch-guarantees':
    case 'faults-injected':
      return v.kind;
    case 'service-availability':
      if (v.minSamples !== undefined) throw new Error('service-availability with minSamples cannot be written to an experiment file (the format has no field for it): drop minSamples or keep the experiment in code');
      return { [v.kind]: v.minOkRatio };
    case 'convergence':
    case 'rollout-converged':
    case 'steady-state-restored':
      return { [v.kind]: seconds(v.withinMs) };
    default: {
      const never: never = v;
      throw new Error(`unreachable verdict ${JSON.stringify(never)}`);
    }
  }
}

/** The file's text; `manifests` are the paths (relative to the file) the spec's manifests are written to. */
export function experimentFileText(spec: ExperimentSpec, manifests: readonly string[], comment: readonly string[] = []): string {
  if (manifests.length !== spec.setup.manifests.length) throw new Error(`${spec.setup.manifests.length} manifests need as many paths, got ${manifests.length}`);
  const doc: Record<string, Yaml> = {
    version: '1.0.0',
    title: spec.name,
    description: spec.description,
    configuration: {
      cluster: { masters: spec.cluster.masters, workers: spec.cluster.workers, profile: spec.cluster.profile, ...(spec.cluster.sabotage === undefined ? {} : { sabotage: [...spec.cluster.sabotage] }) },
      manifests: [...manifests],
      'wait-for': spec.setup.waitFor.map(probe),
      'setup-timeout': seconds(spec.setup.timeoutMs),
      workloads: spec.workloads.map(workload),
      settle: seconds(spec.heal.settleMs),
    },
    'steady-state-hypothesis': { probes: spec.steadyState.map(probe) },
    method: spec.method.map(action),
    rollbacks: [],
    verdicts: spec.verdicts.map(verdict),
  };
  const header = comment.map((line) => `# ${line}`.trimEnd()).join('\n');
  return `${header === '' ? '' : `${header}\n`}${stringify(doc, { lineWidth: 0 })}`;
}

/** Writes `spec` to `file` (.yaml) and its manifests next to it; returns `file`. */
export function writeExperimentFile(spec: ExperimentSpec, file: string, comment: readonly string[] = []): string {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  const stem = basename(file).replace(/\.(ya?ml|json)$/, '');
  const manifests = spec.setup.manifests.map((_, i) => `${stem}.manifest-${i + 1}.yaml`);
  spec.setup.manifests.forEach((text, i) => writeFileSync(join(dir, manifests[i]!), text));
  writeFileSync(file, experimentFileText(spec, manifests, comment));
  return file;
}
