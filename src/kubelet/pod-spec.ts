/**
 * The parts of a Pod the kubelet reads, typed. The apiserver validated and defaulted the object;
 * these views only narrow `unknown` so the kubelet's code reads plainly.
 */
import { asArray, asRecord, type KubeObject } from '../api/types.js';

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface Probe {
  readonly exec?: { readonly command?: readonly string[] };
  readonly httpGet?: { readonly path?: string; readonly port: number | string; readonly host?: string; readonly scheme?: string; readonly httpHeaders?: readonly { name: string; value: string }[] };
  readonly tcpSocket?: { readonly port: number | string; readonly host?: string };
  readonly initialDelaySeconds?: number;
  readonly timeoutSeconds?: number;
  readonly periodSeconds?: number;
  readonly successThreshold?: number;
  readonly failureThreshold?: number;
  readonly terminationGracePeriodSeconds?: number;
}

export interface LifecycleHandler {
  readonly exec?: { readonly command?: readonly string[] };
  readonly httpGet?: Probe['httpGet'];
  readonly tcpSocket?: Probe['tcpSocket'];
  readonly sleep?: { readonly seconds: number };
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string };
    readonly resourceFieldRef?: { readonly resource: string; readonly containerName?: string; readonly divisor?: string };
    readonly configMapKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
  };
}

export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: { readonly name: string; readonly optional?: boolean };
  readonly secretRef?: { readonly name: string; readonly optional?: boolean };
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly hostPort?: number;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly?: boolean;
  readonly subPath?: string;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly EnvFromSource[];
  readonly ports?: readonly ContainerPort[];
  readonly volumeMounts?: readonly VolumeMount[];
  readonly resources?: { readonly requests?: Readonly<Record<string, string>>; readonly limits?: Readonly<Record<string, string>> };
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: { readonly postStart?: LifecycleHandler; readonly preStop?: LifecycleHandler };
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  readonly stdin?: boolean;
  readonly tty?: boolean;
  /** On an init container, `Always` makes it a sidecar (restartable init container). */
  readonly restartPolicy?: 'Always';
}

export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

export interface VolumeSpec {
  readonly name: string;
  readonly emptyDir?: { readonly medium?: string; readonly sizeLimit?: string };
  readonly configMap?: { readonly name: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean; readonly defaultMode?: number };
  readonly secret?: { readonly secretName: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean; readonly defaultMode?: number };
  readonly downwardAPI?: { readonly items: readonly DownwardApiFile[]; readonly defaultMode?: number };
  readonly projected?: { readonly sources: readonly ProjectedSource[]; readonly defaultMode?: number };
  readonly hostPath?: { readonly path: string; readonly type?: string };
  readonly persistentVolumeClaim?: { readonly claimName: string; readonly readOnly?: boolean };
}

export interface DownwardApiFile {
  readonly path: string;
  readonly fieldRef?: { readonly fieldPath: string };
  readonly resourceFieldRef?: { readonly resource: string; readonly containerName?: string; readonly divisor?: string };
}

export interface ProjectedSource {
  readonly serviceAccountToken?: { readonly path: string; readonly expirationSeconds?: number; readonly audience?: string };
  readonly configMap?: { readonly name: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean };
  readonly secret?: { readonly name: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean };
  readonly downwardAPI?: { readonly items: readonly DownwardApiFile[] };
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

export interface PodSpec {
  readonly nodeName?: string;
  readonly containers: readonly ContainerSpec[];
  readonly initContainers?: readonly ContainerSpec[];
  readonly restartPolicy?: RestartPolicy;
  readonly terminationGracePeriodSeconds?: number;
  readonly activeDeadlineSeconds?: number;
  readonly volumes?: readonly VolumeSpec[];
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly hostNetwork?: boolean;
  readonly dnsPolicy?: 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
  readonly dnsConfig?: { readonly nameservers?: readonly string[]; readonly searches?: readonly string[]; readonly options?: readonly { name: string; value?: string }[] };
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  readonly serviceAccountName?: string;
  readonly enableServiceLinks?: boolean;
  readonly runtimeClassName?: string;
}

export function podSpec(pod: KubeObject): PodSpec {
  const spec = asRecord(pod['spec']);
  if (spec === undefined || !Array.isArray(spec['containers'])) throw new Error(`pod ${podKey(pod)} has no spec.containers`);
  return spec as unknown as PodSpec;
}

export function podKey(pod: KubeObject): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

export function restartPolicyOf(spec: PodSpec): RestartPolicy {
  return spec.restartPolicy ?? 'Always';
}

/** Regular init containers only: sidecars (restartPolicy Always) are treated as long-running containers. */
export function initContainersOf(spec: PodSpec): readonly ContainerSpec[] {
  return asArray(spec.initContainers) as ContainerSpec[];
}

export function terminationGraceSeconds(pod: KubeObject, spec: PodSpec): number {
  return pod.metadata?.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
}
