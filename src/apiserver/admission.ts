/**
 * Mutating admission on create, as kube-apiserver's plugins run after defaulting and before
 * validation. A plugin is one entry in `admissionPlugins` (DESIGN §2: a small interface plus a
 * registry); the apiserver runs the enabled ones in registry order. NamespaceLifecycle stays in
 * the registry's create path (it guards every kind).
 */
import {
  addLists, asRecord, asString, conflict, containerResources, computeUsage, formatQuantity, forbidden, formatResourceList, isRecord, lookupKind,
  lookupResource, objectUsage, type JsonObject, type Quantity, quotaResourceMatches, quotaTracksObject, resourceListOf, type ResourceInfo,
} from '../api/index.js';
import type { Registry } from './registry.js';
import { failOf, groupResource, okOf, type Outcome, type Stored } from './storage.js';

export interface AdmissionConfig {
  /** DefaultTolerationSeconds: how long pods tolerate not-ready / unreachable nodes (upstream 300 s). */
  readonly defaultTolerationSeconds: number;
  /**
   * ServiceAccount: live lookups of a missing `default` account before refusing the pod (upstream
   * 10, 100–200 ms apart) — the serviceaccount controller creates it just after the namespace.
   */
  readonly defaultServiceAccountLookups: number;
  readonly serviceAccountLookupIntervalMs: number;
  /** ResourceQuota: compare-and-swap attempts on the quotas before answering Conflict. */
  readonly quotaUpdateAttempts: number;
}

export const defaultAdmissionConfig: AdmissionConfig = {
  defaultTolerationSeconds: 300, defaultServiceAccountLookups: 10, serviceAccountLookupIntervalMs: 150, quotaUpdateAttempts: 32,
};

export interface AdmissionRequest {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  /** The defaulted object, owned by the chain: plugins may change it in place. */
  readonly object: JsonObject;
  /** What the client sent, before defaulting (to tell a field the client set from a default). */
  readonly input: JsonObject;
  /** Validating plugins see dry runs too, but persist nothing (ResourceQuota charges no usage). */
  readonly dryRun?: boolean;
}

/**
 * A plugin mutates (`admit`, before validation, may change `req.object`), validates (`validate`,
 * after the object is named and valid, just before the write; must not change it), or both —
 * upstream's MutationInterface / ValidationInterface. `kinds` empty: every kind.
 */
export interface AdmissionPlugin {
  readonly name: string;
  readonly kinds: readonly string[];
  admit?(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>>;
  validate?(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>>;
}

const podSpec = (o: JsonObject): JsonObject => {
  if (!isRecord(o['spec'])) o['spec'] = {};
  return o['spec'] as JsonObject;
};

const refuse = (req: AdmissionRequest, why: string): Outcome<never> =>
  failOf(forbidden(groupResource(req.info), asString(asRecord(req.object['metadata'])?.['name']) ?? '', why));

/** Priority: spec.priority (and preemptionPolicy) from the pod's PriorityClass, or the global default. */
const priority: AdmissionPlugin = {
  name: 'Priority',
  kinds: ['Pod'],
  async admit(req, registry) {
    const spec = podSpec(req.object);
    const info = lookupKind('scheduling.k8s.io/v1', 'PriorityClass')!;
    const named = asString(spec['priorityClassName']) ?? '';
    let value = 0;
    let policy: unknown;
    if (named !== '') {
      const got = await registry.get(info, undefined, named);
      if (!got.ok) return got.status.code === 404 ? refuse(req, `no PriorityClass with name ${named} was found`) : got;
      value = Number(got.value.object['value'] ?? 0);
      policy = got.value.object['preemptionPolicy'];
    } else {
      const listed = await registry.storage.list(info, undefined);
      if (!listed.ok) return listed;
      // Upstream picks the global default with the lowest value when several claim it.
      const defaults = listed.value.items.map((s) => s.object).filter((pc) => pc['globalDefault'] === true)
        .sort((a, b) => Number(a['value'] ?? 0) - Number(b['value'] ?? 0));
      if (defaults[0] !== undefined) {
        value = Number(defaults[0]['value'] ?? 0);
        policy = defaults[0]['preemptionPolicy'];
        spec['priorityClassName'] = asString(asRecord(defaults[0]['metadata'])?.['name']);
      }
    }
    const given = asRecord(req.input['spec'])?.['priority'];
    if (typeof given === 'number' && given !== value) {
      return refuse(req, `the integer value of priority (${given}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
    }
    spec['priority'] = value;
    if (typeof policy === 'string') spec['preemptionPolicy'] = policy;
    return okOf(undefined);
  },
};

const notReadyTaints = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

/** A toleration that already covers NoExecute for `key` (the pod's own choice wins). */
function covers(toleration: unknown, key: string): boolean {
  const t = asRecord(toleration) ?? {};
  const effect = asString(t['effect']) ?? '';
  if (effect !== '' && effect !== 'NoExecute') return false;
  const k = asString(t['key']) ?? '';
  return k === key || (k === '' && t['operator'] === 'Exists');
}

/** DefaultTolerationSeconds: pods tolerate a not-ready or unreachable node for a while before eviction. */
const defaultTolerationSeconds: AdmissionPlugin = {
  name: 'DefaultTolerationSeconds',
  kinds: ['Pod'],
  async admit(req, _registry, config) {
    const spec = podSpec(req.object);
    const tolerations = Array.isArray(spec['tolerations']) ? [...spec['tolerations'] as unknown[]] : [];
    for (const key of notReadyTaints) {
      if (tolerations.some((t) => covers(t, key))) continue;
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: config.defaultTolerationSeconds });
    }
    spec['tolerations'] = tolerations;
    return okOf(undefined);
  },
};

// ---------------------------------------------------------------------------------------------
// ServiceAccount (plugin/pkg/admission/serviceaccount)

const serviceAccountInfo = lookupResource('', 'v1', 'serviceaccounts')!;
const mirrorPodAnnotation = 'kubernetes.io/config.mirror';
const serviceAccountTokenMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
const tokenVolumePrefix = 'kube-api-access-';
/** Upstream's WarnOnlyBoundTokenExpirationSeconds: one hour and seven seconds. */
const boundTokenExpirationSeconds = 3607;
const projectedDefaultMode = 0o644;

const records = (v: unknown): JsonObject[] => (Array.isArray(v) ? v : []).filter(isRecord);

/** A missing `default` account is looked up again a few times (the controller is about to create it). */
async function lookupServiceAccount(registry: Registry, namespace: string, name: string, config: AdmissionConfig): Promise<Outcome<JsonObject | undefined>> {
  const attempts = name === 'default' ? Math.max(1, config.defaultServiceAccountLookups) : 1;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await registry.sleep(config.serviceAccountLookupIntervalMs);
    const got = await registry.get(serviceAccountInfo, namespace, name);
    if (got.ok) return okOf(got.value.object);
    if (got.status.code !== 404) return got;
  }
  return okOf(undefined);
}

function tokenVolume(name: string): JsonObject {
  return {
    name,
    projected: {
      defaultMode: projectedDefaultMode,
      sources: [
        { serviceAccountToken: { expirationSeconds: boundTokenExpirationSeconds, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/** Every container without its own mount at the token path gets the projected token volume. */
function mountServiceAccountToken(spec: JsonObject, registry: Registry): void {
  const volumes = records(spec['volumes']);
  const existing = volumes.find((v) => (asString(v['name']) ?? '').startsWith(tokenVolumePrefix));
  const volumeName = asString(existing?.['name']) ?? `${tokenVolumePrefix}${registry.randomSuffix()}`;
  let needed = false;
  for (const field of ['initContainers', 'containers']) {
    for (const c of records(spec[field])) {
      const mounts = records(c['volumeMounts']);
      if (mounts.some((m) => m['mountPath'] === serviceAccountTokenMountPath)) continue;
      c['volumeMounts'] = [...mounts, { name: volumeName, readOnly: true, mountPath: serviceAccountTokenMountPath }];
      needed = true;
    }
  }
  if (existing === undefined && needed) spec['volumes'] = [...volumes, tokenVolume(volumeName)];
}

/** ServiceAccount: the pod runs as an existing account (`default` unless named) and gets its token mounted. */
const serviceAccount: AdmissionPlugin = {
  name: 'ServiceAccount',
  kinds: ['Pod'],
  async admit(req, registry, config) {
    const spec = podSpec(req.object);
    const annotations = asRecord(asRecord(req.object['metadata'])?.['annotations']) ?? {};
    if (annotations[mirrorPodAnnotation] !== undefined) {
      // Static pods come from a kubelet's manifest: they cannot use API credentials.
      const input = asRecord(req.input['spec']) ?? {};
      if ((asString(input['serviceAccountName']) ?? asString(input['serviceAccount']) ?? '') !== '') {
        return refuse(req, 'a mirror pod may not reference service accounts');
      }
      return okOf(undefined);
    }
    const name = asString(spec['serviceAccountName']) || 'default';
    spec['serviceAccountName'] = name;
    spec['serviceAccount'] = name;
    const namespace = req.namespace ?? '';
    const found = await lookupServiceAccount(registry, namespace, name, config);
    if (!found.ok) return found;
    const account = found.value;
    if (account === undefined) return refuse(req, `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`);
    const podChoice = spec['automountServiceAccountToken'];
    const automount = typeof podChoice === 'boolean' ? podChoice : account['automountServiceAccountToken'] !== false;
    if (automount) mountServiceAccountToken(spec, registry);
    const pullSecrets = records(account['imagePullSecrets']);
    if (records(spec['imagePullSecrets']).length === 0 && pullSecrets.length > 0) spec['imagePullSecrets'] = pullSecrets.map((s) => ({ ...s }));
    return okOf(undefined);
  },
};

// ---------------------------------------------------------------------------------------------
// LimitRanger (plugin/pkg/admission/limitranger)

const limitRangeInfo = lookupResource('', 'v1', 'limitranges')!;
const limitRangerAnnotation = 'kubernetes.io/limit-ranger';

type Resources = Map<string, Quantity>;

interface LimitItem {
  readonly type: string;
  readonly min: Resources;
  readonly max: Resources;
  readonly default: Resources;
  readonly defaultRequest: Resources;
  readonly maxLimitRequestRatio: Resources;
}

/** A LimitRange's items with upstream's LimitRangeItem defaulting (default ← max, defaultRequest ← default, min). */
function limitItemsOf(lr: JsonObject): LimitItem[] {
  return records(asRecord(lr['spec'])?.['limits']).map((l) => {
    const item: LimitItem = {
      type: asString(l['type']) ?? '', min: resourceListOf(l['min']), max: resourceListOf(l['max']),
      default: resourceListOf(l['default']), defaultRequest: resourceListOf(l['defaultRequest']),
      maxLimitRequestRatio: resourceListOf(l['maxLimitRequestRatio']),
    };
    if (item.type === 'Container') {
      for (const [k, q] of item.max) if (!item.default.has(k)) item.default.set(k, q);
      for (const [k, q] of item.default) if (!item.defaultRequest.has(k)) item.defaultRequest.set(k, q);
      for (const [k, q] of item.min) if (!item.defaultRequest.has(k)) item.defaultRequest.set(k, q);
    }
    return item;
  });
}

async function limitRangesIn(registry: Registry, namespace: string): Promise<Outcome<LimitItem[][]>> {
  const listed = await registry.storage.list(limitRangeInfo, namespace);
  if (!listed.ok) return listed;
  return okOf(sortedByName(listed.value.items).map((s) => limitItemsOf(s.object)));
}

function sortedByName(items: readonly Stored[]): Stored[] {
  const nameOf = (s: Stored) => asString(asRecord(s.object['metadata'])?.['name']) ?? '';
  return [...items].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
}

const q = formatQuantity;

function minConstraint(type: string, name: string, enforced: Quantity, requests: Resources, limits: Resources): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  if (req === undefined) return `minimum ${name} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if (req.nanos < enforced.nanos) return `minimum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  if (lim !== undefined && lim.nanos < enforced.nanos) return `minimum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: Quantity, requests: Resources, limits: Resources): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  if (lim === undefined) return `maximum ${name} usage per ${type} is ${q(enforced)}.  No limit is specified`;
  if (lim.nanos > enforced.nanos) return `maximum ${name} usage per ${type} is ${q(enforced)}, but limit is ${q(lim)}`;
  if (req !== undefined && req.nanos > enforced.nanos) return `maximum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: Quantity, requests: Resources): string | undefined {
  const req = requests.get(name);
  if (req === undefined) return `maximum ${name} usage per ${type} is ${q(enforced)}.  No request is specified`;
  if (req.nanos > enforced.nanos) return `maximum ${name} usage per ${type} is ${q(enforced)}, but request is ${q(req)}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: Quantity, requests: Resources, limits: Resources): string | undefined {
  const req = requests.get(name);
  const lim = limits.get(name);
  if (req === undefined || req.nanos === 0n) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no request is specified or request is 0`;
  if (lim === undefined || lim.nanos === 0n) return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but no limit is specified or limit is 0`;
  // limit / request > ratio  ⇔  limit > ratio × request (exact, in nano-units).
  if (lim.nanos * 1_000_000_000n > enforced.nanos * req.nanos) {
    return `${name} max limit to request ratio per ${type} is ${q(enforced)}, but provided ratio is ${(Number(lim.nanos) / Number(req.nanos)).toFixed(6)}`;
  }
  return undefined;
}

function checkItem(item: LimitItem, type: string, requests: Resources, limits: Resources, errors: string[]): void {
  const push = (e: string | undefined) => { if (e !== undefined) errors.push(e); };
  for (const [k, v] of item.min) push(minConstraint(type, k, v, requests, limits));
  for (const [k, v] of item.max) push(maxConstraint(type, k, v, requests, limits));
  for (const [k, v] of item.maxLimitRequestRatio) push(ratioConstraint(type, k, v, requests, limits));
}

/** utilerrors.NewAggregate's message: one error as itself, several deduplicated in brackets. */
function aggregate(errors: readonly string[]): string {
  const unique = [...new Set(errors)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`;
}

function setDefaults(c: JsonObject, defaults: { requests: Resources; limits: Resources }, prefix: string, notes: string[]): void {
  const resources = isRecord(c['resources']) ? c['resources'] : (c['resources'] = {});
  const setIn = (field: 'requests' | 'limits', from: Resources): string[] => {
    const target = isRecord(resources[field]) ? resources[field] as JsonObject : {};
    const set: string[] = [];
    for (const [k, v] of from) {
      if (target[k] !== undefined) continue;
      target[k] = q(v);
      set.push(k);
    }
    if (set.length > 0) resources[field] = target;
    return set.sort();
  };
  const limits = setIn('limits', defaults.limits);
  const requests = setIn('requests', defaults.requests);
  const name = asString(c['name']) ?? '';
  if (requests.length > 0) notes.push(`${requests.join(', ')} request for ${prefix} ${name}`);
  if (limits.length > 0) notes.push(`${limits.join(', ')} limit for ${prefix} ${name}`);
}

function podTotals(spec: JsonObject): { requests: Resources; limits: Resources } {
  let requests: Resources = new Map();
  let limits: Resources = new Map();
  for (const c of records(spec['containers'])) {
    const r = containerResources(c);
    requests = addLists(requests, r.requests);
    limits = addLists(limits, r.limits);
  }
  for (const c of records(spec['initContainers'])) {
    const r = containerResources(c);
    for (const [k, v] of r.requests) if ((requests.get(k)?.nanos ?? -1n) < v.nanos) requests.set(k, v);
    for (const [k, v] of r.limits) if ((limits.get(k)?.nanos ?? -1n) < v.nanos) limits.set(k, v);
  }
  return { requests, limits };
}

/** LimitRanger: Container defaults on pods; min / max / ratio for containers, pods and claims. */
const limitRanger: AdmissionPlugin = {
  name: 'LimitRanger',
  kinds: ['Pod', 'PersistentVolumeClaim'],
  async admit(req, registry) {
    if (req.info.kind !== 'Pod') return okOf(undefined);
    const ranges = await limitRangesIn(registry, req.namespace ?? '');
    if (!ranges.ok) return ranges;
    const spec = podSpec(req.object);
    const notes: string[] = [];
    for (const items of ranges.value) {
      const defaults = { requests: new Map<string, Quantity>(), limits: new Map<string, Quantity>() };
      for (const item of items) {
        if (item.type !== 'Container') continue;
        for (const [k, v] of item.defaultRequest) defaults.requests.set(k, v);
        for (const [k, v] of item.default) defaults.limits.set(k, v);
      }
      if (defaults.requests.size === 0 && defaults.limits.size === 0) continue;
      for (const c of records(spec['containers'])) setDefaults(c, defaults, 'container', notes);
      for (const c of records(spec['initContainers'])) setDefaults(c, defaults, 'init container', notes);
    }
    if (notes.length > 0) {
      const meta = isRecord(req.object['metadata']) ? req.object['metadata'] : (req.object['metadata'] = {});
      const annotations = isRecord(meta['annotations']) ? meta['annotations'] : (meta['annotations'] = {});
      annotations[limitRangerAnnotation] = `LimitRanger plugin set: ${notes.join('; ')}`;
    }
    return okOf(undefined);
  },
  async validate(req, registry) {
    const ranges = await limitRangesIn(registry, req.namespace ?? '');
    if (!ranges.ok) return ranges;
    const errors: string[] = [];
    const spec = asRecord(req.object['spec']) ?? {};
    for (const item of ranges.value.flat()) {
      if (req.info.kind === 'Pod' && item.type === 'Container') {
        for (const c of [...records(spec['containers']), ...records(spec['initContainers'])]) {
          const r = containerResources(c);
          checkItem(item, 'Container', r.requests, r.limits, errors);
        }
      } else if (req.info.kind === 'Pod' && item.type === 'Pod') {
        const totals = podTotals(spec);
        checkItem(item, 'Pod', totals.requests, totals.limits, errors);
      } else if (req.info.kind === 'PersistentVolumeClaim' && item.type === 'PersistentVolumeClaim') {
        const requests = resourceListOf(asRecord(spec['resources'])?.['requests']);
        for (const [k, v] of item.min) {
          const e = minConstraint('PersistentVolumeClaim', k, v, requests, new Map());
          if (e !== undefined) errors.push(e);
        }
        for (const [k, v] of item.max) {
          const e = maxRequestConstraint('PersistentVolumeClaim', k, v, requests);
          if (e !== undefined) errors.push(e);
        }
      }
    }
    return errors.length === 0 ? okOf(undefined) : refuse(req, aggregate(errors));
  },
};

// ---------------------------------------------------------------------------------------------
// ResourceQuota (plugin/pkg/admission/resourcequota)

const quotaInfo = lookupResource('', 'v1', 'resourcequotas')!;
/** Upstream's ignored resources: virtual or not worth quota (events). */
const quotaIgnored = new Set(['/events', 'events.k8s.io/events', '/bindings', '/componentstatuses']);
/** Quotas on these make each container state its requests / limits (a legacy coupling upstream keeps). */
const requiredPodResources = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

const prettyPrint = (list: ReadonlyMap<string, Quantity>, keys: readonly string[]): string =>
  [...keys].sort().map((k) => `${k}=${list.has(k) ? q(list.get(k)!) : '0'}`).join(',');

/** Upstream's pod Constraints: "must specify limits.cpu for: c; requests.memory for: c,d". */
function missingPodResources(pod: JsonObject, restricted: readonly string[]): string | undefined {
  const required = restricted.filter((r) => requiredPodResources.includes(r));
  if (required.length === 0) return undefined;
  const spec = asRecord(pod['spec']) ?? {};
  const missing = new Map<string, Set<string>>();
  for (const c of [...records(spec['containers']), ...records(spec['initContainers'])]) {
    const r = containerResources(c);
    const has = computeUsage(r.requests, r.limits);
    for (const name of required) {
      if (has.has(name)) continue;
      const who = missing.get(name) ?? new Set<string>();
      who.add(asString(c['name']) ?? '');
      missing.set(name, who);
    }
  }
  if (missing.size === 0) return undefined;
  return `must specify ${[...missing.keys()].sort().map((name) => `${name} for: ${[...missing.get(name)!].sort().join(',')}`).join('; ')}`;
}

/**
 * ResourceQuota: refuses a create that would take any quota in the namespace past `status.hard`,
 * and charges the usage to the quotas by compare-and-swap on their revisions — two apiservers
 * admitting at once cannot both take the last unit; the loser re-reads and re-checks. Usage is
 * only ever added here: the resourcequota controller recomputes it (and so releases deletions).
 */
const resourceQuota: AdmissionPlugin = {
  name: 'ResourceQuota',
  kinds: [],
  async validate(req, registry, config) {
    if (!req.info.namespaced || quotaIgnored.has(`${req.info.group}/${req.info.resource}`)) return okOf(undefined);
    const { group, resource } = req.info;
    const usage = objectUsage(group, resource, req.object);
    for (const [k, v] of usage) if (v.nanos === 0n) usage.delete(k);
    const quotaName = (s: Stored) => asString(asRecord(s.object['metadata'])?.['name']) ?? '';
    for (let attempt = 0; attempt < config.quotaUpdateAttempts; attempt++) {
      const listed = await registry.storage.list(quotaInfo, req.namespace);
      if (!listed.ok) return listed;
      const writes: Array<{ stored: Stored; used: Map<string, Quantity> }> = [];
      for (const stored of sortedByName(listed.value.items)) {
        const status = asRecord(stored.object['status']) ?? {};
        const hard = resourceListOf(status['hard']);
        const used = resourceListOf(status['used']);
        if (!quotaTracksObject(asRecord(stored.object['spec']) ?? {}, group, resource, req.object)) continue;
        const restricted = [...hard.keys()].filter((name) => quotaResourceMatches(group, resource, name));
        if (restricted.length === 0) continue;
        if (req.info.kind === 'Pod') {
          const missing = missingPodResources(req.object, restricted);
          if (missing !== undefined) return refuse(req, `failed quota: ${quotaName(stored)}: ${missing}`);
        }
        const unknown = restricted.filter((name) => !used.has(name));
        if (unknown.length > 0) return refuse(req, `status unknown for quota: ${quotaName(stored)}, resources: ${[...unknown].sort().join(',')}`);
        const requested = new Map([...usage].filter(([k]) => hard.has(k)));
        if (requested.size === 0) continue;
        const next = addLists(used, requested);
        const exceeded = [...requested.keys()].filter((k) => next.get(k)!.nanos > hard.get(k)!.nanos);
        if (exceeded.length > 0) {
          return refuse(req, `exceeded quota: ${quotaName(stored)}, requested: ${prettyPrint(requested, exceeded)}, used: ${prettyPrint(used, exceeded)}, limited: ${prettyPrint(hard, exceeded)}`);
        }
        writes.push({ stored, used: next });
      }
      if (writes.length === 0 || req.dryRun === true) return okOf(undefined);
      const written = await chargeQuotas(registry, writes);
      if (written.ok) return written;
      if (written.status.reason !== 'Conflict') return written;
    }
    return failOf(conflict(groupResource(quotaInfo), '', 'please apply your changes to the latest version and try again'));
  },
};

/**
 * Writes the new usage of each quota, each only if unchanged since it was read. A conflict part-way
 * leaves the earlier quotas charged for an object that may not be created: upstream has the same
 * window, and the controller's recount corrects it.
 */
async function chargeQuotas(registry: Registry, writes: ReadonlyArray<{ stored: Stored; used: Map<string, Quantity> }>): Promise<Outcome<undefined>> {
  for (const { stored, used } of writes) {
    const status = asRecord(stored.object['status']) ?? {};
    const name = asString(asRecord(stored.object['metadata'])?.['name']) ?? '';
    const object = { ...stored.object, status: { ...status, used: { ...(asRecord(status['used']) ?? {}), ...formatResourceList(used) } } };
    const r = await registry.storage.update(quotaInfo, stored.key, object, stored.modRevision, name);
    if (!r.ok) return r.status.reason === 'NotFound' ? failOf(conflict(groupResource(quotaInfo), name)) : r;
  }
  return okOf(undefined);
}

/** In kube-apiserver's order (its recommended plugin order: mutating first, validating last). */
const admissionPlugins: readonly AdmissionPlugin[] = [limitRanger, serviceAccount, priority, defaultTolerationSeconds, resourceQuota];

const applies = (plugin: AdmissionPlugin, req: AdmissionRequest): boolean => plugin.kinds.length === 0 || plugin.kinds.includes(req.info.kind);

/** The mutating phase: after defaulting, before validation. */
export async function admit(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>> {
  for (const plugin of admissionPlugins) {
    if (plugin.admit === undefined || !applies(plugin, req)) continue;
    const r = await plugin.admit(req, registry, config);
    if (!r.ok) return r;
  }
  return okOf(undefined);
}

/** The validating phase: on the named, valid object, just before it is written. */
export async function validateAdmission(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>> {
  for (const plugin of admissionPlugins) {
    if (plugin.validate === undefined || !applies(plugin, req)) continue;
    const r = await plugin.validate(req, registry, config);
    if (!r.ok) return r;
  }
  return okOf(undefined);
}
