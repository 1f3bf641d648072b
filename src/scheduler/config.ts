/**
 * KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): parsing, upstream's defaulting
 * (the default plugin set through multiPoint, merged with each profile's enabled / disabled sets),
 * validation, and building one Profile per schedulerName from a Registry. Decoding is strict as
 * upstream's: an unknown field, an unknown plugin or bad plugin args is refused with a message
 * that names it, before anything runs.
 */
import { parse as parseYaml } from 'yaml';
import { isRecord, type JsonObject } from '../api/index.js';
import type { Prng } from '../primitives/prng.js';
import {
  implementsPoint, Profile, WaitingPods,
  type BindPlugin, type ExtensionPoint, type FilterPlugin, type FrameworkHandle, type PermitPlugin, type PluginBase, type PodInfo,
  type PostBindPlugin, type PostFilterPlugin, type PreBindPlugin, type PreEnqueuePlugin, type PreFilterPlugin, type PreScorePlugin,
  type ProfilePlugins, type QueueSortPlugin, type Registry, type ReservePlugin, type ScorePlugin,
} from './framework.js';
import { inTreeEvents, inTreeRegistry } from './plugins/registry.js';
import type { QueueOptions } from './queue.js';
import { extensionPoints } from './types.js';

const schedulerConfigApiVersion = 'kubescheduler.config.k8s.io/v1';
const defaultSchedulerName = 'default-scheduler';

export interface PluginRef { readonly name: string; readonly weight?: number }
export interface PluginSet { readonly enabled: readonly PluginRef[]; readonly disabled: readonly PluginRef[] }
export type PluginSetName = ExtensionPoint | 'multiPoint';
export type PluginsConfig = Readonly<Partial<Record<PluginSetName, PluginSet>>>;

export interface ProfileConfig {
  readonly schedulerName: string;
  readonly percentageOfNodesToScore?: number;
  /** After defaulting: the default set merged in (upstream mergePlugins). */
  readonly plugins: PluginsConfig;
  readonly pluginConfig: ReadonlyMap<string, JsonObject>;
}

export interface SchedulerConfiguration {
  readonly parallelism: number;
  readonly percentageOfNodesToScore?: number;
  readonly podInitialBackoffMs: number;
  readonly podMaxBackoffMs: number;
  readonly profiles: readonly ProfileConfig[];
}

export type ConfigResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

const pluginSetNames: readonly PluginSetName[] = ['multiPoint', ...extensionPoints];

/**
 * Upstream's v1 getDefaultPlugins (the multiPoint set with its weights). The volume plugins
 * (VolumeRestrictions, NodeVolumeLimits, VolumeBinding, VolumeZone) are left out: pocketkube has
 * no volumes to schedule on.
 */
const defaultMultiPoint: readonly PluginRef[] = [
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'ImageLocality', weight: 1 },
  { name: 'DefaultBinder' },
];

/** Upstream plugins this project does not have, so a refusal can say why. */
const absentUpstream: ReadonlyMap<string, string> = new Map([
  ['VolumeRestrictions', 'pocketkube has no volumes'], ['NodeVolumeLimits', 'pocketkube has no volumes'],
  ['VolumeBinding', 'pocketkube has no volumes'], ['VolumeZone', 'pocketkube has no volumes'],
  ['DynamicResources', 'pocketkube has no dynamic resource allocation'],
]);

const topLevelFields = [
  'apiVersion', 'kind', 'parallelism', 'leaderElection', 'clientConnection', 'healthzBindAddress', 'metricsBindAddress',
  'enableProfiling', 'enableContentionProfiling', 'percentageOfNodesToScore', 'podInitialBackoffSeconds', 'podMaxBackoffSeconds',
  'profiles', 'extenders', 'delayCacheUntilActive',
];
const profileFields = ['schedulerName', 'percentageOfNodesToScore', 'plugins', 'pluginConfig'];

function unknownFields(obj: JsonObject, allowed: readonly string[], path: string, errors: string[]): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) errors.push(`${path}: unknown field "${k}"`);
}

function intField(obj: JsonObject, key: string, path: string, errors: string[], check: (n: number) => string | undefined): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) { errors.push(`${path}.${key}: must be an integer, got ${JSON.stringify(v)}`); return undefined; }
  const bad = check(v);
  if (bad !== undefined) { errors.push(`${path}.${key}: Invalid value: ${v}: ${bad}`); return undefined; }
  return v;
}

const percentCheck = (n: number) => (n < 0 || n > 100 ? 'not in valid range [0-100]' : undefined);

function parsePluginList(v: unknown, path: string, errors: string[], withWeight: boolean): PluginRef[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) { errors.push(`${path}: must be a list`); return []; }
  const out: PluginRef[] = [];
  v.forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isRecord(e)) { errors.push(`${p}: must be an object with a name`); return; }
    unknownFields(e, ['name', 'weight'], p, errors);
    const name = e['name'];
    if (typeof name !== 'string' || name === '') { errors.push(`${p}.name: Required value`); return; }
    const w = e['weight'];
    if (w !== undefined && w !== null) {
      if (!withWeight) { errors.push(`${p}.weight: only plugins enabled at score or multiPoint have a weight`); return; }
      if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 100) { errors.push(`${p}.weight: Invalid value: ${JSON.stringify(w)}: plugin "${name}" weight must be an integer in the range [0, 100]`); return; }
      out.push({ name, weight: w });
      return;
    }
    out.push({ name });
  });
  return out;
}

function parsePlugins(v: unknown, path: string, errors: string[]): PluginsConfig {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) { errors.push(`${path}: must be an object`); return {}; }
  unknownFields(v, pluginSetNames, path, errors);
  const out: Partial<Record<PluginSetName, PluginSet>> = {};
  for (const point of pluginSetNames) {
    const set = v[point];
    if (set === undefined || set === null) continue;
    const p = `${path}.${point}`;
    if (!isRecord(set)) { errors.push(`${p}: must be an object`); continue; }
    unknownFields(set, ['enabled', 'disabled'], p, errors);
    const weighted = point === 'score' || point === 'multiPoint';
    out[point] = { enabled: parsePluginList(set['enabled'], `${p}.enabled`, errors, weighted), disabled: parsePluginList(set['disabled'], `${p}.disabled`, errors, false) };
  }
  return out;
}

/** Upstream mergePluginSet: defaults minus disabled ("*": all), re-configured in place, then the rest of the custom ones. */
function mergePluginSet(def: PluginSet, custom: PluginSet | undefined): PluginSet {
  if (custom === undefined) return def;
  const disabled = new Set([...custom.disabled, ...def.disabled].map((p) => p.name));
  const customIndex = new Map(custom.enabled.map((p, i) => [p.name, i]));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!disabled.has('*')) {
    for (const d of def.enabled) {
      if (disabled.has(d.name)) continue;
      const i = customIndex.get(d.name);
      if (i !== undefined) { replaced.add(i); enabled.push(custom.enabled[i]!); } else enabled.push(d);
    }
  }
  custom.enabled.forEach((p, i) => { if (!replaced.has(i)) enabled.push(p); });
  return { enabled, disabled: [...custom.disabled, ...def.disabled] };
}

function defaultedPlugins(custom: PluginsConfig): PluginsConfig {
  const out: Partial<Record<PluginSetName, PluginSet>> = {};
  for (const point of pluginSetNames) {
    const def: PluginSet = point === 'multiPoint' ? { enabled: defaultMultiPoint, disabled: [] } : { enabled: [], disabled: [] };
    out[point] = mergePluginSet(def, custom[point]);
  }
  return out;
}

function parsePluginConfig(v: unknown, path: string, errors: string[]): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v)) { errors.push(`${path}: must be a list`); return out; }
  v.forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isRecord(e)) { errors.push(`${p}: must be an object`); return; }
    unknownFields(e, ['name', 'args'], p, errors);
    const name = e['name'];
    if (typeof name !== 'string' || name === '') { errors.push(`${p}.name: Required value`); return; }
    if (out.has(name)) { errors.push(`${p}: Duplicate value: "${name}"`); return; }
    const args = e['args'] ?? {};
    if (!isRecord(args)) { errors.push(`${p}.args: plugin "${name}": args must be an object`); return; }
    out.set(name, args);
  });
  return out;
}

/** Parses and defaults a configuration object (already decoded from YAML or JSON). */
export function schedulerConfigurationFrom(doc: unknown): ConfigResult<SchedulerConfiguration> {
  const errors: string[] = [];
  if (!isRecord(doc)) return { ok: false, errors: ['KubeSchedulerConfiguration: the document must be an object'] };
  if (doc['apiVersion'] !== schedulerConfigApiVersion) errors.push(`apiVersion: must be ${schedulerConfigApiVersion}, got ${JSON.stringify(doc['apiVersion'])}`);
  if (doc['kind'] !== 'KubeSchedulerConfiguration') errors.push(`kind: must be KubeSchedulerConfiguration, got ${JSON.stringify(doc['kind'])}`);
  unknownFields(doc, topLevelFields, 'KubeSchedulerConfiguration', errors);
  const parallelism = intField(doc, 'parallelism', 'KubeSchedulerConfiguration', errors, (n) => (n <= 0 ? 'should be an integer value greater than zero' : undefined)) ?? 16;
  const pct = intField(doc, 'percentageOfNodesToScore', 'KubeSchedulerConfiguration', errors, percentCheck);
  const initial = intField(doc, 'podInitialBackoffSeconds', 'KubeSchedulerConfiguration', errors, (n) => (n <= 0 ? 'must be greater than 0' : undefined)) ?? 1;
  const max = intField(doc, 'podMaxBackoffSeconds', 'KubeSchedulerConfiguration', errors, (n) => (n < initial ? 'must be greater than or equal to PodInitialBackoffSeconds' : undefined)) ?? Math.max(10, initial);
  const ext = doc['extenders'];
  if (Array.isArray(ext) && ext.length > 0) errors.push('extenders: not supported: pocketkube runs plugins in-process; write a plugin instead');
  const rawProfiles = doc['profiles'] ?? [{}];
  const profiles: ProfileConfig[] = [];
  if (!Array.isArray(rawProfiles)) errors.push('profiles: must be a list');
  else {
    const names = new Set<string>();
    (rawProfiles.length === 0 ? [{}] : rawProfiles).forEach((rp: unknown, i: number) => {
      const p = `profiles[${i}]`;
      if (!isRecord(rp)) { errors.push(`${p}: must be an object`); return; }
      unknownFields(rp, profileFields, p, errors);
      const name = rp['schedulerName'] ?? defaultSchedulerName;
      if (typeof name !== 'string' || name === '') { errors.push(`${p}.schedulerName: Required value`); return; }
      if (names.has(name)) { errors.push(`${p}.schedulerName: Duplicate value: "${name}"`); return; }
      names.add(name);
      const ppct = intField(rp, 'percentageOfNodesToScore', p, errors, percentCheck);
      profiles.push({
        schedulerName: name,
        ...(ppct === undefined ? {} : { percentageOfNodesToScore: ppct }),
        plugins: defaultedPlugins(parsePlugins(rp['plugins'], `${p}.plugins`, errors)),
        pluginConfig: parsePluginConfig(rp['pluginConfig'], `${p}.pluginConfig`, errors),
      });
    });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value: { parallelism, ...(pct === undefined ? {} : { percentageOfNodesToScore: pct }), podInitialBackoffMs: initial * 1000, podMaxBackoffMs: max * 1000, profiles } };
}

/** Parses a KubeSchedulerConfiguration YAML (or JSON) document. */
export function parseSchedulerConfiguration(text: string): ConfigResult<SchedulerConfiguration> {
  let doc: unknown;
  try { doc = parseYaml(text); } catch (e) { return { ok: false, errors: [`KubeSchedulerConfiguration: invalid YAML: ${(e as Error).message}`] }; }
  return schedulerConfigurationFrom(doc);
}

export function defaultSchedulerConfiguration(): SchedulerConfiguration {
  const r = schedulerConfigurationFrom({ apiVersion: schedulerConfigApiVersion, kind: 'KubeSchedulerConfiguration' });
  if (!r.ok) throw new Error(`default scheduler configuration: ${r.errors.join('; ')}`);
  return r.value;
}

// ---------------------------------------------------------------------------------------------
// Building profiles

function doesNotExist(name: string): string {
  const why = absentUpstream.get(name);
  return why === undefined ? `plugin "${name}" does not exist` : `plugin "${name}" does not exist (${why})`;
}

/**
 * Upstream NewFramework + expandMultiPointPlugins for one point: plugins enabled explicitly at
 * the point that multiPoint also names keep the explicit position first, then multiPoint's
 * order, then the other explicit ones. "*" disabled at a point stops multiPoint there.
 */
function pointPlugins(point: ExtensionPoint, pc: ProfileConfig, instances: ReadonlyMap<string, PluginBase>, path: string, errors: string[]): PluginRef[] {
  const set = pc.plugins[point] ?? { enabled: [], disabled: [] };
  const explicit: PluginRef[] = [];
  for (const [i, ref] of set.enabled.entries()) {
    const pl = instances.get(ref.name);
    if (pl === undefined) continue; // reported when instantiating
    if (!implementsPoint(pl, point)) { errors.push(`${path}.plugins.${point}.enabled[${i}]: plugin "${ref.name}" does not extend ${point}`); continue; }
    if (explicit.some((e) => e.name === ref.name)) { errors.push(`${path}.plugins.${point}.enabled[${i}]: plugin "${ref.name}" already registered as ${point}`); continue; }
    explicit.push(ref);
  }
  const disabled = new Set(set.disabled.map((d) => d.name));
  if (disabled.has('*')) return explicit;
  const overrides: PluginRef[] = [];
  const multi: PluginRef[] = [];
  for (const ref of pc.plugins.multiPoint?.enabled ?? []) {
    const pl = instances.get(ref.name);
    if (pl === undefined || !implementsPoint(pl, point) || disabled.has(ref.name)) continue;
    const ex = explicit.find((e) => e.name === ref.name);
    if (ex !== undefined) { overrides.push(ex); continue; }
    if (multi.some((m) => m.name === ref.name)) { errors.push(`${path}.plugins.multiPoint: plugin "${ref.name}" already registered as ${point}`); continue; }
    multi.push(ref);
  }
  const seen = new Set([...overrides, ...multi].map((r) => r.name));
  return [...overrides, ...multi, ...explicit.filter((e) => !seen.has(e.name))];
}

export interface BuildOptions {
  readonly registry?: Registry;
  /** Each profile gets `prng.fork(schedulerName)`: a seed replays every profile's tie-breaks. */
  readonly prng: Prng;
  /** Shared by all profiles (upstream: one per framework; a gang spans one profile anyway). */
  readonly waitingPods?: WaitingPods;
}

/** One Profile per schedulerName, or every problem found, each naming its plugin. */
export function buildProfiles(config: SchedulerConfiguration, opts: BuildOptions): ConfigResult<Map<string, Profile>> {
  const registry = opts.registry ?? inTreeRegistry();
  const waitingPods = opts.waitingPods ?? new WaitingPods();
  const errors: string[] = [];
  const profiles = new Map<string, Profile>();
  let queueSortName: string | undefined;
  config.profiles.forEach((pc, pi) => {
    const path = `profiles[${pi}]`;
    const handle: FrameworkHandle = { waitingPods, schedulerName: pc.schedulerName };
    for (const [i, name] of [...pc.pluginConfig.keys()].entries()) {
      if (!registry.has(name)) errors.push(`${path}.pluginConfig[${i}]: ${doesNotExist(name)}`);
    }
    // Every plugin enabled anywhere is instantiated once, with its args, and shared by its points.
    const instances = new Map<string, PluginBase>();
    const errorsBefore = errors.length;
    for (const point of pluginSetNames) {
      for (const ref of pc.plugins[point]?.enabled ?? []) {
        if (instances.has(ref.name)) continue;
        const factory = registry.get(ref.name);
        // No index: the list is the default set merged with the user's, not the user's own.
        if (factory === undefined) { errors.push(`${path}.plugins.${point}: ${doesNotExist(ref.name)}`); continue; }
        const built = factory(pc.pluginConfig.get(ref.name), handle);
        if (!built.ok) { errors.push(`${path}.pluginConfig: ${built.error}`); continue; }
        if (built.plugin.name !== ref.name) { errors.push(`${path}: the factory for "${ref.name}" built a plugin named "${built.plugin.name}"`); continue; }
        instances.set(ref.name, built.plugin);
      }
    }
    if (errors.length > errorsBefore) return;
    const at = (point: ExtensionPoint) => pointPlugins(point, pc, instances, path, errors);
    const list = <T>(point: ExtensionPoint): T[] => at(point).map((r) => instances.get(r.name) as unknown as T);
    const scoreRefs = at('score');
    const multiWeights = new Map((pc.plugins.multiPoint?.enabled ?? []).map((r) => [r.name, r.weight]));
    const explicitWeights = new Map((pc.plugins.score?.enabled ?? []).map((r) => [r.name, r.weight]));
    const plugins: ProfilePlugins = {
      preEnqueue: list<PreEnqueuePlugin>('preEnqueue'), queueSort: list<QueueSortPlugin>('queueSort'),
      preFilter: list<PreFilterPlugin>('preFilter'), filter: list<FilterPlugin>('filter'), postFilter: list<PostFilterPlugin>('postFilter'),
      preScore: list<PreScorePlugin>('preScore'),
      score: scoreRefs.map((r) => {
        // Upstream: the score point's weight wins over multiPoint's; 0 or unset means 1.
        const w = (explicitWeights.has(r.name) ? explicitWeights.get(r.name) : multiWeights.get(r.name)) ?? 0;
        return { plugin: instances.get(r.name) as ScorePlugin, weight: w === 0 ? 1 : w };
      }),
      reserve: list<ReservePlugin>('reserve'), permit: list<PermitPlugin>('permit'), preBind: list<PreBindPlugin>('preBind'),
      bind: list<BindPlugin>('bind'), postBind: list<PostBindPlugin>('postBind'),
    };
    if (plugins.queueSort.length !== 1) errors.push(`${path}.plugins.queueSort: Invalid value: ${plugins.queueSort.length} queueSort plugins: exactly one queueSort plugin is needed`);
    if (plugins.bind.length === 0) errors.push(`${path}.plugins.bind: Invalid value: at least one bind plugin is needed`);
    const qs = plugins.queueSort[0]?.name;
    if (qs !== undefined) {
      if (queueSortName === undefined) queueSortName = qs;
      else if (qs !== queueSortName) errors.push(`${path}.plugins.queueSort: Invalid value: "${qs}": queueSort must be the same for all profiles (the first uses "${queueSortName}")`);
    }
    if (errors.length > errorsBefore) return;
    // The profile's own percentage wins over the global one (upstream).
    const pct = pc.percentageOfNodesToScore ?? config.percentageOfNodesToScore;
    profiles.set(pc.schedulerName, new Profile({
      schedulerName: pc.schedulerName, plugins, builtinEvents: inTreeEvents, ...(pct === undefined ? {} : { percentageOfNodesToScore: pct }),
    }, opts.prng.fork(pc.schedulerName), waitingPods));
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: profiles };
}

/** Parse + build: what a scheduler does at start (refusing to start on any error). */
export function loadSchedulerConfiguration(text: string, opts: BuildOptions): ConfigResult<{ config: SchedulerConfiguration; profiles: Map<string, Profile> }> {
  const c = parseSchedulerConfiguration(text);
  if (!c.ok) return c;
  const p = buildProfiles(c.value, opts);
  return p.ok ? { ok: true, value: { config: c.value, profiles: p.value } } : p;
}

/** The profile that owns `pod` (spec.schedulerName), if this scheduler runs it. */
export function profileFor(profiles: ReadonlyMap<string, Profile>, pod: PodInfo): Profile | undefined {
  return profiles.get(pod.schedulerName);
}

/**
 * One queue for all profiles, as upstream: QueueSort is the same everywhere (validated), and
 * PreEnqueue and queueing hints come from each pod's own profile.
 */
export function queueOptionsFor(config: SchedulerConfiguration, profiles: ReadonlyMap<string, Profile>, timeScale = 1): QueueOptions {
  const first = profiles.values().next();
  if (first.done) throw new Error('queueOptionsFor: no profiles');
  const sorter = first.value;
  return {
    less: (a, b) => sorter.less(a, b),
    preEnqueue: (pod) => profiles.get(pod.schedulerName)?.preEnqueue(pod) ?? { code: 'UnschedulableAndUnresolvable', reasons: [`no profile for scheduler ${pod.schedulerName}`], plugin: 'Profiles' },
    eventsFor: (pod, plugin) => profiles.get(pod.schedulerName)?.eventsFor(plugin) ?? [],
    initialBackoffMs: config.podInitialBackoffMs,
    maxBackoffMs: config.podMaxBackoffMs,
    timeScale,
  };
}
