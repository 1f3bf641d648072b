/**
 * The container runtime's protocol (`<node>/container-runtime`), modelled on the Kubernetes CRI
 * (k8s.io/cri-api runtime/v1): the kubelet asks, the runtime answers each request with its
 * `...Response` or a `criError` carrying a gRPC-style code. Field names follow CRI's JSON names.
 *
 * Departures from CRI, each because pocketkube's runtime owns what a node's disk would:
 * - `readContainerLog` (the kubelet reads log files in upstream; here the runtime keeps the
 *   bounded, rotated logs and serves them);
 * - `getContainerEvents` subscribes the asker to `containerEvent` tells (CRI's streaming RPC of
 *   the same name, used by the evented PLEG).
 * - Exec and Attach carry the stream's id and the apiserver to stream to (`peer`): the runtime
 *   streams to it with the tells of src/apiserver/pod-stream.ts, and answers with the stream's
 *   URL, as CRI answers the URL of its streaming server; `followContainerLog` (`kubectl logs -f`)
 *   streams a container's log the same way.
 * PortForward answers Unavailable (not implemented).
 */
import type { Address } from '../primitives/address.js';
import { protocolError, shapeValidator, type ProtocolError } from '../runtime/validate.js';
import { podStreamTellTypes, validatePodStreamTell, type PodStreamTell } from '../apiserver/pod-stream.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface PodSandboxMetadata {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly attempt: number;
}

export interface DnsConfig {
  readonly servers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly string[];
}

export interface PortMapping {
  readonly protocol: 'TCP' | 'UDP';
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly hostIp?: string;
}

export interface PodSandboxConfig {
  readonly metadata: PodSandboxMetadata;
  readonly hostname: string;
  readonly dnsConfig?: DnsConfig;
  readonly portMappings?: readonly PortMapping[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** `spec.hostNetwork`: the sandbox shares the node's address instead of getting a pod IP. */
  readonly hostNetwork?: boolean;
}

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodSandboxStatus {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: PodSandboxState;
  /** Wall-clock ms. */
  readonly createdAtMs: number;
  readonly network: { readonly ip: string };
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly runtimeHandler: string;
}

export interface Mount {
  readonly containerPath: string;
  /** A directory or file on the node's data directory prepared by the kubelet. */
  readonly hostPath: string;
  readonly readonly?: boolean;
}

export interface ContainerMetadata {
  readonly name: string;
  readonly attempt: number;
}

export interface ContainerConfig {
  readonly metadata: ContainerMetadata;
  readonly image: { readonly image: string };
  /** Kubernetes' `command` (replaces the image's ENTRYPOINT); empty: the image's. */
  readonly command?: readonly string[];
  /** Kubernetes' `args` (replaces the image's CMD); empty: the image's. */
  readonly args?: readonly string[];
  readonly workingDir?: string;
  readonly envs?: readonly KeyValue[];
  readonly mounts?: readonly Mount[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly stdin?: boolean;
  readonly tty?: boolean;
  /** Relative to the sandbox's log directory. */
  readonly logPath?: string;
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface ContainerStatus {
  readonly id: string;
  readonly podSandboxId: string;
  readonly metadata: ContainerMetadata;
  readonly state: ContainerState;
  /** Wall-clock ms; 0 when not yet. */
  readonly createdAtMs: number;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly exitCode: number;
  readonly image: { readonly image: string };
  readonly imageRef: string;
  /** E.g. `Completed`, `Error`, `OOMKilled`, `ContainerCannotRun`. */
  readonly reason: string;
  readonly message: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ContainerStats {
  readonly containerId: string;
  readonly timestampMs: number;
  /** Cumulative CPU time, as CRI's usageCoreNanoSeconds. */
  readonly cpuUsageCoreNanoSeconds: number;
  readonly memoryWorkingSetBytes: number;
}

export interface ImageSpec {
  readonly image: string;
}

export interface ImageInfo {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly sizeBytes: number;
}

export interface ContainerFilter {
  readonly id?: string;
  readonly podSandboxId?: string;
  readonly state?: ContainerState;
  readonly labelSelector?: Readonly<Record<string, string>>;
}

export interface PodSandboxFilter {
  readonly id?: string;
  readonly state?: PodSandboxState;
  readonly labelSelector?: Readonly<Record<string, string>>;
}

/** Emitted to every `getContainerEvents` subscriber. */
export interface ContainerEvent {
  readonly type: 'containerEvent';
  readonly containerId: string;
  readonly podSandboxId: string;
  readonly eventType: 'CONTAINER_CREATED_EVENT' | 'CONTAINER_STARTED_EVENT' | 'CONTAINER_STOPPED_EVENT' | 'CONTAINER_DELETED_EVENT';
  readonly createdAtMs: number;
}

export type CriRequest =
  | { readonly type: 'version' }
  | { readonly type: 'status' }
  /** The node's pod CIDR (the kubelet learns it from its Node's spec.podCIDR). */
  | { readonly type: 'updateRuntimeConfig'; readonly podCidr: string }
  | { readonly type: 'runPodSandbox'; readonly config: PodSandboxConfig; readonly runtimeHandler?: string }
  | { readonly type: 'stopPodSandbox'; readonly podSandboxId: string }
  | { readonly type: 'removePodSandbox'; readonly podSandboxId: string }
  | { readonly type: 'podSandboxStatus'; readonly podSandboxId: string }
  | { readonly type: 'listPodSandbox'; readonly filter?: PodSandboxFilter }
  | { readonly type: 'pullImage'; readonly image: ImageSpec }
  | { readonly type: 'listImages' }
  | { readonly type: 'imageStatus'; readonly image: ImageSpec }
  | { readonly type: 'removeImage'; readonly image: ImageSpec }
  | { readonly type: 'createContainer'; readonly podSandboxId: string; readonly config: ContainerConfig; readonly sandboxConfig: PodSandboxConfig }
  | { readonly type: 'startContainer'; readonly containerId: string }
  /** SIGTERM, then SIGKILL after `timeout` seconds (0: at once). */
  | { readonly type: 'stopContainer'; readonly containerId: string; readonly timeout: number }
  | { readonly type: 'removeContainer'; readonly containerId: string }
  | { readonly type: 'listContainers'; readonly filter?: ContainerFilter }
  | { readonly type: 'containerStatus'; readonly containerId: string }
  | { readonly type: 'containerStats'; readonly containerId: string }
  | { readonly type: 'listContainerStats'; readonly filter?: ContainerFilter }
  | { readonly type: 'reopenContainerLog'; readonly containerId: string }
  | { readonly type: 'execSync'; readonly containerId: string; readonly cmd: readonly string[]; readonly timeout: number }
  | { readonly type: 'exec'; readonly containerId: string; readonly cmd: readonly string[]; readonly tty?: boolean; readonly stdin?: boolean; readonly stdout?: boolean; readonly stderr?: boolean; readonly streamId: string; readonly peer: Address }
  | { readonly type: 'attach'; readonly containerId: string; readonly tty?: boolean; readonly stdin?: boolean; readonly stdout?: boolean; readonly stderr?: boolean; readonly streamId: string; readonly peer: Address }
  /** Not CRI (see the header): streams the container's log to `peer`, the lines so far (after `tailLines`) then new ones, until the container exits. */
  | { readonly type: 'followContainerLog'; readonly containerId: string; readonly streamId: string; readonly peer: Address; readonly tailLines?: number; readonly sinceMs?: number; readonly timestamps?: boolean }
  | { readonly type: 'portForward'; readonly podSandboxId: string; readonly port: readonly number[] }
  /**
   * Not CRI (see the header): log lines of a container, oldest first. `previous` reads the
   * container's previous attempt when the kubelet names that container id.
   */
  | { readonly type: 'readContainerLog'; readonly containerId: string; readonly tailLines?: number; readonly sinceMs?: number; readonly timestamps?: boolean; readonly limitBytes?: number }
  /** Subscribes the asker to `containerEvent` tells (answered with `getContainerEventsResponse`). */
  | { readonly type: 'getContainerEvents' }
  /**
   * Not CRI: Chaos Mesh's daemon on the node (tc and iptables in the pod's network namespace).
   * Sets the rules of one NetworkChaos (`chaosId`) on a pod's sandboxes, now and for sandboxes
   * it runs later; empty `rules` remove them. Answered with how many sandboxes got them.
   */
  | { readonly type: 'setPodNetworkChaos'; readonly podUid: string; readonly chaosId: string; readonly rules: readonly NetworkChaosRule[] };

/** One rule of a NetworkChaos on a pod's data path (src/cri/chaos-network.ts says what each does). */
export interface NetworkChaosRule {
  readonly action: 'partition' | 'delay' | 'loss' | 'duplicate';
  /** egress: what the pod sends to the peers; ingress: what it receives from them. */
  readonly direction: 'egress' | 'ingress';
  /** The peers' IPs; absent: every peer. */
  readonly peers?: readonly string[];
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  /** For loss and duplicate: from 0 to 1. */
  readonly probability?: number;
}

/** What is wrong with a rule as it arrived in a message (the shape check stops at "an array"); undefined when nothing. */
export function networkChaosRuleProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return 'a rule must be an object';
  const r = raw as Record<string, unknown>;
  if (!['partition', 'delay', 'loss', 'duplicate'].includes(r['action'] as string)) return `unknown action ${JSON.stringify(r['action'])}`;
  if (r['direction'] !== 'egress' && r['direction'] !== 'ingress') return `direction must be egress or ingress, not ${JSON.stringify(r['direction'])}`;
  if (r['peers'] !== undefined && !(Array.isArray(r['peers']) && r['peers'].every((p) => typeof p === 'string'))) return 'peers must be a list of IPs';
  for (const k of ['latencyMs', 'jitterMs'] as const) if (r[k] !== undefined && !(typeof r[k] === 'number' && Number.isFinite(r[k]) && r[k] >= 0 && r[k] <= 60_000)) return `${k} must be 0 to 60000 ms`;
  if (r['probability'] !== undefined && !(typeof r['probability'] === 'number' && r['probability'] >= 0 && r['probability'] <= 1)) return 'probability must be from 0 to 1';
  return undefined;
}

/** Bounds on what one pod carries: NetworkChaos objects at once, rules of each, peers of a rule. */
export const networkChaosLimits = { chaosPerPodMax: 16, rulesPerChaosMax: 8, peersPerRuleMax: 4096 } as const;

export type CriErrorCode = 'NotFound' | 'InvalidArgument' | 'AlreadyExists' | 'FailedPrecondition' | 'Unavailable' | 'Internal' | 'DeadlineExceeded';

export interface CriError {
  readonly type: 'criError';
  readonly code: CriErrorCode;
  readonly message: string;
}

export interface LogLine {
  readonly timeMs: number;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

export type CriResponse =
  | { readonly type: 'versionResponse'; readonly runtimeName: string; readonly runtimeVersion: string; readonly runtimeApiVersion: string }
  | { readonly type: 'statusResponse'; readonly conditions: readonly { readonly type: 'RuntimeReady' | 'NetworkReady'; readonly status: boolean; readonly reason: string; readonly message: string }[] }
  | { readonly type: 'updateRuntimeConfigResponse' }
  | { readonly type: 'runPodSandboxResponse'; readonly podSandboxId: string }
  | { readonly type: 'stopPodSandboxResponse' }
  | { readonly type: 'removePodSandboxResponse' }
  | { readonly type: 'podSandboxStatusResponse'; readonly status: PodSandboxStatus }
  | { readonly type: 'listPodSandboxResponse'; readonly items: readonly PodSandboxStatus[] }
  | { readonly type: 'pullImageResponse'; readonly imageRef: string }
  | { readonly type: 'listImagesResponse'; readonly images: readonly ImageInfo[] }
  /** `image` absent: not present on this node. */
  | { readonly type: 'imageStatusResponse'; readonly image?: ImageInfo }
  | { readonly type: 'removeImageResponse' }
  | { readonly type: 'createContainerResponse'; readonly containerId: string }
  | { readonly type: 'startContainerResponse' }
  | { readonly type: 'stopContainerResponse' }
  | { readonly type: 'removeContainerResponse' }
  | { readonly type: 'listContainersResponse'; readonly containers: readonly ContainerStatus[] }
  | { readonly type: 'containerStatusResponse'; readonly status: ContainerStatus }
  | { readonly type: 'containerStatsResponse'; readonly stats: ContainerStats }
  | { readonly type: 'listContainerStatsResponse'; readonly stats: readonly ContainerStats[] }
  | { readonly type: 'reopenContainerLogResponse' }
  | { readonly type: 'execSyncResponse'; readonly stdout: string; readonly stderr: string; readonly exitCode: number }
  | { readonly type: 'execResponse'; readonly url: string }
  | { readonly type: 'attachResponse'; readonly url: string }
  | { readonly type: 'portForwardResponse'; readonly url: string }
  | { readonly type: 'followContainerLogResponse'; readonly url: string }
  | { readonly type: 'readContainerLogResponse'; readonly lines: readonly LogLine[]; readonly truncated: boolean }
  | { readonly type: 'getContainerEventsResponse' }
  | { readonly type: 'setPodNetworkChaosResponse'; readonly sandboxes: number }
  | CriError;

/** The response type for a request type: `runPodSandbox` → `runPodSandboxResponse`. */
export type ResponseOf<R extends CriRequest> = Extract<CriResponse, { type: `${R['type']}Response` }>;

/** Structured-cloneable: sent to the actor's worker thread. */
export interface ContainerRuntimeConfig {
  /** The node this runtime serves (`worker-1`); sandboxes' log and volume directories live under its data directory. */
  readonly nodeName: string;
  /** The node's address (127.10.x.y): hostNetwork sandboxes and the streaming server bind it. */
  readonly nodeIp: string;
  /** Where this node's kube-proxy accepts connections for ClusterIPs (see src/proxy). */
  readonly serviceProxy: { readonly host: string; readonly tcpPort: number; readonly udpPort: number };
  /** The Service CIDR (e.g. `127.96.0.0/16`): a pod's connection to an address in it goes through kube-proxy. */
  readonly serviceCidr: string;
  /** Container log bound per container before rotation (default 1 MiB). */
  readonly logBytesMax?: number;
  /** Where `process`-handler containers run (a directory per pod and container); absent: that handler is refused. */
  readonly processesDir?: string;
  /**
   * `loopback` (default): pods get real sockets on their IPs (threads placement). `memory`: an
   * in-process network with no sockets (tests, packed nodes running only pause pods).
   */
  readonly podNetwork?: 'loopback' | 'memory';
}

/** CRI requests (asks), and the stdin, acks and cancels of open streams (tells from apiservers). */
export type ContainerRuntimeMessage = CriRequest | PodStreamTell;

export function validateContainerRuntimeMessage(raw: unknown): ContainerRuntimeMessage | ProtocolError {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && podStreamTellTypes.has(type)) return validatePodStreamTell(raw) ?? protocolError(`container-runtime: malformed ${type}`);
  return validateCriRequest(raw);
}

const validateCriRequest: (raw: unknown) => CriRequest | ProtocolError = shapeValidator<CriRequest>('container-runtime', {
  version: {},
  status: {},
  updateRuntimeConfig: { podCidr: 'string' },
  runPodSandbox: { config: 'record', 'runtimeHandler?': 'string' },
  stopPodSandbox: { podSandboxId: 'string' },
  removePodSandbox: { podSandboxId: 'string' },
  podSandboxStatus: { podSandboxId: 'string' },
  listPodSandbox: { 'filter?': 'record' },
  pullImage: { image: 'record' },
  listImages: {},
  imageStatus: { image: 'record' },
  removeImage: { image: 'record' },
  createContainer: { podSandboxId: 'string', config: 'record', sandboxConfig: 'record' },
  startContainer: { containerId: 'string' },
  stopContainer: { containerId: 'string', timeout: 'number' },
  removeContainer: { containerId: 'string' },
  listContainers: { 'filter?': 'record' },
  containerStatus: { containerId: 'string' },
  containerStats: { containerId: 'string' },
  listContainerStats: { 'filter?': 'record' },
  reopenContainerLog: { containerId: 'string' },
  execSync: { containerId: 'string', cmd: 'array', timeout: 'number' },
  exec: { containerId: 'string', cmd: 'array', 'tty?': 'boolean', 'stdin?': 'boolean', 'stdout?': 'boolean', 'stderr?': 'boolean', streamId: 'string', peer: 'string' },
  attach: { containerId: 'string', 'tty?': 'boolean', 'stdin?': 'boolean', 'stdout?': 'boolean', 'stderr?': 'boolean', streamId: 'string', peer: 'string' },
  followContainerLog: { containerId: 'string', streamId: 'string', peer: 'string', 'tailLines?': 'number', 'sinceMs?': 'number', 'timestamps?': 'boolean' },
  portForward: { podSandboxId: 'string', port: 'array' },
  readContainerLog: { containerId: 'string', 'tailLines?': 'number', 'sinceMs?': 'number', 'timestamps?': 'boolean', 'limitBytes?': 'number' },
  getContainerEvents: {},
  setPodNetworkChaos: { podUid: 'string', chaosId: 'string', rules: 'array' },
});
