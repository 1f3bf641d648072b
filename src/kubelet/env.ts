/**
 * A container's environment as the kubelet builds it (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables):
 * Service link variables first, then envFrom, then env (later entries win), with `$(VAR)`
 * expansion against what is defined so far, Downward API field and resource references, and
 * ConfigMap / Secret keys. A missing required reference is CreateContainerConfigError.
 */
import { parseQuantity, quantityToNumber } from '../api/quantity.js';
import { asArray, asRecord, type KubeObject } from '../api/types.js';
import type { ContainerSpec, EnvVar, PodSpec } from './pod-spec.js';

export interface EnvSources {
  readonly pod: KubeObject;
  readonly spec: PodSpec;
  readonly podIp: string;
  readonly hostIp: string;
  /** ConfigMap / Secret data by name in the pod's namespace (secret values already decoded); undefined: not found. */
  configMap(name: string): Readonly<Record<string, string>> | undefined;
  secret(name: string): Readonly<Record<string, string>> | undefined;
  /** Services of the pod's namespace (and `kubernetes` of default), for the service link variables. */
  readonly services: readonly KubeObject[];
  /** The node's allocatable, the default for a resourceFieldRef of a container without a limit. */
  readonly nodeAllocatable: Readonly<Record<string, string>>;
}

export type EnvResult = { readonly ok: true; readonly env: Readonly<Record<string, string>> } | { readonly ok: false; readonly message: string };

/** Expands `$(NAME)` from `vars`; `$$(NAME)` is the literal `$(NAME)`; an undefined name stays as written (as upstream). */
export function expandVariables(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name]! : match;
  });
}

/** FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_PORT, FOO_PORT_80_TCP... as docker links had them. */
export function serviceLinkVariables(services: readonly KubeObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    const spec = asRecord(svc['spec']) ?? {};
    const ip = spec['clusterIP'];
    if (typeof ip !== 'string' || ip === '' || ip === 'None') continue;
    const prefix = (svc.metadata?.name ?? '').toUpperCase().replace(/-/g, '_');
    const ports = asArray(spec['ports']).map((p) => asRecord(p) ?? {});
    const first = ports[0];
    if (first === undefined) continue;
    env[`${prefix}_SERVICE_HOST`] = ip;
    env[`${prefix}_SERVICE_PORT`] = String(first['port']);
    for (const p of ports) {
      if (typeof p['name'] === 'string' && p['name'] !== '') env[`${prefix}_SERVICE_PORT_${p['name'].toUpperCase().replace(/-/g, '_')}`] = String(p['port']);
    }
    const proto = String(first['protocol'] ?? 'TCP').toLowerCase();
    env[`${prefix}_PORT`] = `${proto}://${ip}:${String(first['port'])}`;
    for (const p of ports) {
      const protocol = String(p['protocol'] ?? 'TCP');
      const base = `${prefix}_PORT_${String(p['port'])}_${protocol.toUpperCase()}`;
      env[base] = `${protocol.toLowerCase()}://${ip}:${String(p['port'])}`;
      env[`${base}_PROTO`] = protocol.toLowerCase();
      env[`${base}_PORT`] = String(p['port']);
      env[`${base}_ADDR`] = ip;
    }
  }
  return env;
}

function fieldValue(path: string, s: EnvSources): string | undefined {
  const meta = s.pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed !== null) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (path) {
    case 'metadata.name': return meta.name ?? '';
    case 'metadata.namespace': return meta.namespace ?? '';
    case 'metadata.uid': return meta.uid ?? '';
    case 'metadata.labels': return Object.entries(meta.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations': return Object.entries(meta.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'spec.nodeName': return s.spec.nodeName ?? '';
    case 'spec.serviceAccountName': return s.spec.serviceAccountName ?? 'default';
    case 'status.hostIP': case 'status.hostIPs': return s.hostIp;
    case 'status.podIP': case 'status.podIPs': return s.podIp;
    default: return undefined;
  }
}

/** A resourceFieldRef value: the container's limit (else the node's allocatable) or request, in units of divisor, rounded up. */
export function resourceValue(ref: { readonly resource: string; readonly containerName?: string; readonly divisor?: string }, container: ContainerSpec, s: EnvSources): string | undefined {
  const [kind, resource] = ref.resource.split('.') as [string, string | undefined];
  if (resource === undefined || (kind !== 'limits' && kind !== 'requests')) return undefined;
  const declared = kind === 'limits' ? container.resources?.limits?.[resource] ?? s.nodeAllocatable[resource] : container.resources?.requests?.[resource] ?? container.resources?.limits?.[resource] ?? '0';
  const value = parseQuantity(declared ?? '0');
  const divisor = parseQuantity(ref.divisor ?? '1');
  if (!value.ok || !divisor.ok) return undefined;
  const d = quantityToNumber(divisor.quantity);
  return d === 0 ? undefined : String(Math.ceil(quantityToNumber(value.quantity) / d - 1e-9));
}

function fromEnvVar(v: EnvVar, container: ContainerSpec, s: EnvSources, defined: Readonly<Record<string, string>>): string | { error: string } | undefined {
  if (v.valueFrom === undefined) return expandVariables(v.value ?? '', defined);
  const from = v.valueFrom;
  if (from.fieldRef !== undefined) return fieldValue(from.fieldRef.fieldPath, s) ?? { error: `unsupported fieldRef ${from.fieldRef.fieldPath}` };
  if (from.resourceFieldRef !== undefined) return resourceValue(from.resourceFieldRef, container, s) ?? { error: `unsupported resourceFieldRef ${from.resourceFieldRef.resource}` };
  const ref = from.configMapKeyRef ?? from.secretKeyRef;
  if (ref === undefined) return { error: `env ${v.name}: valueFrom has no source` };
  const kind = from.configMapKeyRef !== undefined ? 'configmap' : 'secret';
  const data = kind === 'configmap' ? s.configMap(ref.name) : s.secret(ref.name);
  const value = data?.[ref.key];
  if (value !== undefined) return value;
  if (ref.optional === true) return undefined;
  return { error: data === undefined ? `${kind} "${ref.name}" not found` : `couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${String(s.pod.metadata?.namespace)}/${ref.name}` };
}

export function containerEnv(container: ContainerSpec, s: EnvSources): EnvResult {
  const env: Record<string, string> = s.spec.enableServiceLinks === false ? {} : serviceLinkVariables(s.services);
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (ref === undefined) continue;
    const kind = from.configMapRef !== undefined ? 'configmap' : 'secret';
    const data = kind === 'configmap' ? s.configMap(ref.name) : s.secret(ref.name);
    if (data === undefined) {
      if (ref.optional === true) continue;
      return { ok: false, message: `${kind} "${ref.name}" not found` };
    }
    for (const [key, value] of Object.entries(data)) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const v of container.env ?? []) {
    const value = fromEnvVar(v, container, s, env);
    if (value === undefined) continue;
    if (typeof value !== 'string') return { ok: false, message: value.error };
    env[v.name] = value;
  }
  return { ok: true, env };
}

/** command and args after `$(VAR)` expansion against the container's environment. */
export function expandCommand(container: ContainerSpec, env: Readonly<Record<string, string>>): { readonly command?: readonly string[]; readonly args?: readonly string[] } {
  return {
    ...(container.command === undefined ? {} : { command: container.command.map((c) => expandVariables(c, env)) }),
    ...(container.args === undefined ? {} : { args: container.args.map((a) => expandVariables(a, env)) }),
  };
}
