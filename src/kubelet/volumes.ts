/**
 * What each pod volume holds, computed from its sources (the kubelet's volume plugins for
 * emptyDir, configMap, secret, downwardAPI and projected, in their simple form). Pure: the shell
 * writes the files into the pod's directory and the runtime mounts them.
 */
import type { KubeObject } from '../api/types.js';
import type { Mount } from '../cri/messages.js';
import { resourceValue, type EnvSources } from './env.js';
import type { ContainerSpec, DownwardApiFile, KeyToPath, PodSpec, VolumeSpec } from './pod-spec.js';

export type VolumeContent =
  /** An empty directory the containers share (emptyDir). */
  | { readonly kind: 'dir' }
  /** Files, relative path → content, rewritten whenever a source changes. */
  | { readonly kind: 'files'; readonly files: Readonly<Record<string, string>> }
  | { readonly kind: 'error'; readonly reason: 'FailedMount'; readonly message: string };

export interface VolumeSources extends EnvSources {
  /** A ServiceAccount token for the pod (TokenRequest, bound to it); undefined: not obtained (yet). */
  serviceAccountToken(audience: string | undefined, expirationSeconds: number): string | undefined;
}

/** Volume kinds this kubelet mounts; others fail with FailedMount naming the kind. */
const supported = ['emptyDir', 'configMap', 'secret', 'downwardAPI', 'projected'] as const;

function selectKeys(data: Readonly<Record<string, string>>, items: readonly KeyToPath[] | undefined, what: string): Record<string, string> | string {
  if (items === undefined) return { ...data };
  const files: Record<string, string> = {};
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) return `configmap references non-existent config key: ${item.key} in ${what}`;
    files[item.path] = value;
  }
  return files;
}

function downward(items: readonly DownwardApiFile[], container: ContainerSpec | undefined, s: VolumeSources): Record<string, string> | string {
  const files: Record<string, string> = {};
  for (const item of items) {
    if (item.fieldRef !== undefined) {
      const value = downwardField(item.fieldRef.fieldPath, s);
      if (value === undefined) return `unsupported fieldRef ${item.fieldRef.fieldPath}`;
      files[item.path] = value;
    } else if (item.resourceFieldRef !== undefined) {
      const target = s.spec.containers.find((c) => c.name === item.resourceFieldRef!.containerName) ?? container ?? s.spec.containers[0]!;
      const value = resourceValue(item.resourceFieldRef, target, s);
      if (value === undefined) return `unsupported resourceFieldRef ${item.resourceFieldRef.resource}`;
      files[item.path] = value;
    }
  }
  return files;
}

function downwardField(path: string, s: VolumeSources): string | undefined {
  const meta = s.pod.metadata ?? {};
  const render = (m: Readonly<Record<string, string>> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join('\n');
  switch (path) {
    case 'metadata.name': return meta.name ?? '';
    case 'metadata.namespace': return meta.namespace ?? '';
    case 'metadata.uid': return meta.uid ?? '';
    case 'metadata.labels': return render(meta.labels);
    case 'metadata.annotations': return render(meta.annotations);
    default: {
      const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      return keyed === null ? undefined : (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
    }
  }
}

function projected(volume: NonNullable<VolumeSpec['projected']>, s: VolumeSources, podName: string): VolumeContent {
  const files: Record<string, string> = {};
  for (const source of volume.sources) {
    if (source.serviceAccountToken !== undefined) {
      const token = s.serviceAccountToken(source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds ?? 3_600);
      if (token === undefined) return { kind: 'error', reason: 'FailedMount', message: `failed to fetch token: the ServiceAccount token for pod ${podName} is not available yet` };
      files[source.serviceAccountToken.path] = token;
    }
    const ref = source.configMap ?? source.secret;
    if (ref !== undefined) {
      const data = source.configMap !== undefined ? s.configMap(ref.name) : s.secret(ref.name);
      if (data === undefined) {
        if (ref.optional === true) continue;
        return { kind: 'error', reason: 'FailedMount', message: `${source.configMap !== undefined ? 'configmap' : 'secret'} "${ref.name}" not found` };
      }
      const selected = selectKeys(data, ref.items, ref.name);
      if (typeof selected === 'string') return { kind: 'error', reason: 'FailedMount', message: selected };
      Object.assign(files, selected);
    }
    if (source.downwardAPI !== undefined) {
      const values = downward(source.downwardAPI.items, undefined, s);
      if (typeof values === 'string') return { kind: 'error', reason: 'FailedMount', message: values };
      Object.assign(files, values);
    }
  }
  return { kind: 'files', files };
}

export function volumeContent(volume: VolumeSpec, s: VolumeSources): VolumeContent {
  const podName = s.pod.metadata?.name ?? '';
  if (volume.emptyDir !== undefined) return { kind: 'dir' };
  if (volume.configMap !== undefined || volume.secret !== undefined) {
    const isConfigMap = volume.configMap !== undefined;
    const name = volume.configMap?.name ?? volume.secret!.secretName;
    const data = isConfigMap ? s.configMap(name) : s.secret(name);
    if (data === undefined) {
      if ((volume.configMap?.optional ?? volume.secret?.optional) === true) return { kind: 'files', files: {} };
      return { kind: 'error', reason: 'FailedMount', message: `MountVolume.SetUp failed for volume "${volume.name}" : ${isConfigMap ? 'configmap' : 'secret'} "${name}" not found` };
    }
    const selected = selectKeys(data, volume.configMap?.items ?? volume.secret?.items, name);
    return typeof selected === 'string' ? { kind: 'error', reason: 'FailedMount', message: selected } : { kind: 'files', files: selected };
  }
  if (volume.downwardAPI !== undefined) {
    const values = downward(volume.downwardAPI.items, undefined, s);
    return typeof values === 'string' ? { kind: 'error', reason: 'FailedMount', message: values } : { kind: 'files', files: values };
  }
  if (volume.projected !== undefined) return projected(volume.projected, s, podName);
  const kind = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
  return { kind: 'error', reason: 'FailedMount', message: `volume "${volume.name}": ${kind} volumes are not supported by this kubelet (supported: ${supported.join(', ')})` };
}

/** The names of ConfigMaps and Secrets a pod references (volumes and env), so the kubelet can fetch them first. */
export function referencedObjects(spec: PodSpec): { readonly configMaps: ReadonlySet<string>; readonly secrets: ReadonlySet<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (v.configMap !== undefined) configMaps.add(v.configMap.name);
    if (v.secret !== undefined) secrets.add(v.secret.secretName);
    for (const p of v.projected?.sources ?? []) {
      if (p.configMap !== undefined) configMaps.add(p.configMap.name);
      if (p.secret !== undefined) secrets.add(p.secret.name);
    }
  }
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef !== undefined) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef !== undefined) secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef !== undefined) configMaps.add(e.configMapRef.name);
      if (e.secretRef !== undefined) secrets.add(e.secretRef.name);
    }
  }
  return { configMaps, secrets };
}

/** A container's CRI mounts: each volumeMount at its volume's directory on the node (subPath within it). */
export function containerMounts(container: ContainerSpec, volumeDir: (volumeName: string) => string): Mount[] {
  return (container.volumeMounts ?? []).map((m) => ({
    containerPath: m.mountPath,
    hostPath: m.subPath === undefined || m.subPath === '' ? volumeDir(m.name) : `${volumeDir(m.name)}/${m.subPath}`,
    readonly: m.readOnly === true,
  }));
}

/** The data of a ConfigMap (data plus binaryData decoded) or a Secret (base64 decoded), as files and env see it. */
export function objectData(obj: KubeObject, kind: 'ConfigMap' | 'Secret'): Record<string, string> {
  const out: Record<string, string> = {};
  const data = (obj['data'] ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) out[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
  if (kind === 'ConfigMap') for (const [k, v] of Object.entries((obj['binaryData'] ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('latin1');
  return out;
}
