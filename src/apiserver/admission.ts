/**
 * Mutating admission on create, as kube-apiserver's plugins run after defaulting and before
 * validation. A plugin is one entry in `admissionPlugins` (DESIGN §2: a small interface plus a
 * registry); the apiserver runs the enabled ones in registry order. NamespaceLifecycle stays in
 * the registry's create path (it guards every kind).
 */
import { asRecord, asString, forbidden, isRecord, lookupKind, type JsonObject, type ResourceInfo } from '../api/index.js';
import type { Registry } from './registry.js';
import { failOf, groupResource, okOf, type Outcome } from './storage.js';

export interface AdmissionConfig {
  /** DefaultTolerationSeconds: how long pods tolerate not-ready / unreachable nodes (upstream 300 s). */
  readonly defaultTolerationSeconds: number;
}

export const defaultAdmissionConfig: AdmissionConfig = { defaultTolerationSeconds: 300 };

export interface AdmissionRequest {
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  /** The defaulted object, owned by the chain: plugins may change it in place. */
  readonly object: JsonObject;
  /** What the client sent, before defaulting (to tell a field the client set from a default). */
  readonly input: JsonObject;
}

export interface AdmissionPlugin {
  readonly name: string;
  readonly kinds: readonly string[];
  admit(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>>;
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

/** In kube-apiserver's order. */
export const admissionPlugins: readonly AdmissionPlugin[] = [defaultTolerationSeconds, priority];

export async function admit(req: AdmissionRequest, registry: Registry, config: AdmissionConfig): Promise<Outcome<undefined>> {
  for (const plugin of admissionPlugins) {
    if (!plugin.kinds.includes(req.info.kind)) continue;
    const r = await plugin.admit(req, registry, config);
    if (!r.ok) return r;
  }
  return okOf(undefined);
}
