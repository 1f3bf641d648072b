/**
 * Which node each pod is bound to and which objects those pods reference: the facts the Node
 * authorizer needs (Kubernetes keeps a graph of pods, secrets, configmaps, PVCs and service accounts).
 * Pure: the apiserver feeds it pod events from its watch cache.
 *
 * Simplification: the graph only follows pod → object edges. Objects a node reaches indirectly
 * (a PVC's PersistentVolume, a ResourceClaim, a VolumeAttachment) are not tracked.
 */
export type ReferencedKind = 'secrets' | 'configmaps' | 'persistentvolumeclaims' | 'serviceaccounts';

export interface PodReferences {
  readonly secrets: readonly string[];
  readonly configmaps: readonly string[];
  readonly persistentvolumeclaims: readonly string[];
  readonly serviceaccounts: readonly string[];
}

/** The lookups the Node authorizer makes; implement it over any pod index. */
export interface NodeGraph {
  /** spec.nodeName of the pod ('' when unscheduled), or undefined when there is no such pod. */
  podNodeName(namespace: string, name: string): string | undefined;
  /** Whether some pod bound to the node references the object. */
  nodeReferences(nodeName: string, kind: ReferencedKind, namespace: string, name: string): boolean;
}

type Json = Record<string, unknown>;
const rec = (v: unknown): Json | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Json : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Names a pod spec references, per kind: volumes, projected sources, env, envFrom, pull secrets, its ServiceAccount. */
export function podReferences(pod: unknown): PodReferences {
  const spec = rec(rec(pod)?.spec) ?? {};
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const pvcs = new Set<string>();
  const add = (set: Set<string>, v: unknown): void => {
    const s = str(v);
    if (s !== undefined) set.add(s);
  };
  for (const ps of arr(spec.imagePullSecrets)) add(secrets, rec(ps)?.name);
  for (const volume of arr(spec.volumes).map(rec)) {
    add(secrets, rec(volume?.secret)?.secretName);
    add(configmaps, rec(volume?.configMap)?.name);
    add(pvcs, rec(volume?.persistentVolumeClaim)?.claimName);
    for (const source of arr(rec(volume?.projected)?.sources).map(rec)) {
      add(secrets, rec(source?.secret)?.name);
      add(configmaps, rec(source?.configMap)?.name);
    }
  }
  const containers = [...arr(spec.containers), ...arr(spec.initContainers), ...arr(spec.ephemeralContainers)].map(rec);
  for (const c of containers) {
    for (const env of arr(c?.env).map(rec)) {
      const from = rec(env?.valueFrom);
      add(secrets, rec(from?.secretKeyRef)?.name);
      add(configmaps, rec(from?.configMapKeyRef)?.name);
    }
    for (const envFrom of arr(c?.envFrom).map(rec)) {
      add(secrets, rec(envFrom?.secretRef)?.name);
      add(configmaps, rec(envFrom?.configMapRef)?.name);
    }
  }
  const serviceAccount = str(spec.serviceAccountName) ?? str(spec.serviceAccount) ?? 'default';
  return {
    secrets: [...secrets], configmaps: [...configmaps], persistentvolumeclaims: [...pvcs], serviceaccounts: [serviceAccount],
  };
}

interface PodEntry {
  readonly nodeName: string;
  readonly edgeKeys: readonly string[];
}

const edgeKey = (node: string, kind: ReferencedKind, namespace: string, name: string): string =>
  `${node}\u0000${kind}\u0000${namespace}\u0000${name}`;
const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** An incremental NodeGraph over pods: feed it every pod add/update and delete. */
export class PodNodeGraph implements NodeGraph {
  private readonly pods = new Map<string, PodEntry>();
  /** Edge → number of pods on that node referencing the object. */
  private readonly edges = new Map<string, number>();

  get podCount(): number {
    return this.pods.size;
  }

  upsertPod(pod: unknown): void {
    const meta = rec(rec(pod)?.metadata);
    const namespace = str(meta?.namespace);
    const name = str(meta?.name);
    if (namespace === undefined || name === undefined) throw new Error('PodNodeGraph: pod without namespace/name');
    this.deletePod(namespace, name);
    const nodeName = str(rec(rec(pod)?.spec)?.nodeName) ?? '';
    const edgeKeys: string[] = [];
    if (nodeName !== '') {
      const refs = podReferences(pod);
      for (const kind of ['secrets', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts'] as const) {
        for (const ref of refs[kind]) edgeKeys.push(edgeKey(nodeName, kind, namespace, ref));
      }
    }
    for (const key of edgeKeys) this.edges.set(key, (this.edges.get(key) ?? 0) + 1);
    this.pods.set(podKey(namespace, name), { nodeName, edgeKeys });
  }

  deletePod(namespace: string, name: string): void {
    const entry = this.pods.get(podKey(namespace, name));
    if (entry === undefined) return;
    for (const key of entry.edgeKeys) {
      const n = this.edges.get(key) ?? 0;
      if (n <= 1) this.edges.delete(key);
      else this.edges.set(key, n - 1);
    }
    this.pods.delete(podKey(namespace, name));
  }

  podNodeName(namespace: string, name: string): string | undefined {
    return this.pods.get(podKey(namespace, name))?.nodeName;
  }

  nodeReferences(nodeName: string, kind: ReferencedKind, namespace: string, name: string): boolean {
    return this.edges.has(edgeKey(nodeName, kind, namespace, name));
  }
}
