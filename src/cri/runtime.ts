/**
 * The container runtime's core: sandboxes, images, containers, logs, exec and events, answering
 * the CRI-shaped protocol of ./messages.ts. It never touches a socket, the disk or the wall clock
 * itself: the clock, the PRNG, the pod network, the node's disk and the IPAM plugin are injected,
 * so the same core runs on threads (real loopback sockets) and under simulation.
 *
 * A container is an image's `run` promise. Stopping aborts its signal (SIGTERM); a process that
 * has not exited within the grace period is killed: marked exited with 137 at once, its sockets
 * closed, and whatever it does later ignored.
 */
import { createHash } from 'node:crypto';
import { sleep, type Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import { containerEnv, resolveArgv } from './command.js';
import { processRuntimeHandler, type HostProcessLauncher } from './host-process.js';
import { LayeredFiles, type HostFs } from './files.js';
import { parseImageReference, type ContainerProcess, type Image, type ImageRegistry, type PodNetwork } from './image.js';
import { parseCidr, type CniPlugin } from './ipam.js';
import { ContainerLog, defaultLogBytesMax } from './logs.js';
import type {
  ContainerConfig, ContainerEvent, ContainerFilter, ContainerStats, ContainerStatus, CriError, CriErrorCode, CriRequest, CriResponse, DnsConfig,
  ImageInfo, NetworkChaosRule, PodSandboxConfig, PodSandboxFilter, PodSandboxStatus, ResponseOf,
} from './messages.js';
import { networkChaosLimits, networkChaosRuleProblem } from './messages.js';
import { ChaosPodNetwork } from './chaos-network.js';
import { TrackedNetwork } from './tracked-network.js';
import { hostOf, type Address } from '../primitives/address.js';
import type { PodStreamTell } from '../apiserver/pod-stream.js';
import { RuntimeStream, StdinPipe } from './streams.js';
import { TtyLineDiscipline, ttyOutput } from './tty.js';
import { logLineText } from './logs.js';

const sandboxesMax = 256;
const containersMax = 1024;
/** ExecSync output bound per stream (the kubelet's exec probes keep 10 KiB; kubectl exec output is larger). */
const execOutputBytesMax = 1024 * 1024;
/** Execs running at once in one container (probes plus kubectl exec; more is a runaway caller). */
const concurrentExecsMax = 64;
/** An ExecSync with timeout 0 (none) still ends after this long. */
const execTimeoutMsMax = 10 * 60 * 1000;
/** Streams (exec, attach, log follows) open at once on one node. */
const streamsMax = 64;
/** Exit code of a process interrupted by ^C on its terminal (128 + SIGINT). */
const interruptedExitCode = 130;
/** Exit code of a process killed by SIGKILL (128 + 9). */
const killedExitCode = 137;
const runtimeName = 'pocketkube';
const runtimeVersion = '0.1.0';

export interface SandboxNetworkSpec {
  readonly podIp: string;
  readonly hostname: string;
  readonly dnsConfig?: DnsConfig;
  readonly hostNetwork: boolean;
}

export interface RuntimeDeps {
  readonly clock: Clock;
  readonly prng: Prng;
  readonly images: ImageRegistry;
  readonly cni: CniPlugin;
  readonly fs: HostFs;
  /** The node's address: hostNetwork sandboxes use it. */
  readonly nodeIp: string;
  /** The pod network of one sandbox (real sockets on threads, in memory in tests and simulation). */
  networkFor(spec: SandboxNetworkSpec): PodNetwork;
  onEvent(event: ContainerEvent): void;
  readonly logBytesMax?: number;
  /** Runs `process`-handler containers as host processes; absent: that handler is refused. */
  readonly hostProcesses?: HostProcessLauncher;
  /** Sends a pod stream's tell to its apiserver; absent: exec, attach and log follows answer Unavailable. */
  sendStream?(peer: Address, tell: PodStreamTell): void;
}

interface Sandbox {
  readonly id: string;
  readonly config: PodSandboxConfig;
  readonly createdAtMs: number;
  readonly ip: string;
  readonly runtimeHandler: string;
  readonly network: PodNetwork;
  /** The NetworkChaos layer of a pod-network sandbox (a hostNetwork one has none, as in Chaos Mesh). */
  readonly chaos?: ChaosPodNetwork;
  state: PodSandboxStatus['state'];
}

interface Usage {
  cpuMillicores: number;
  memoryBytes: number;
  cpuCoreNanoSeconds: number;
  sinceMs: number;
}

interface Container {
  readonly id: string;
  readonly sandbox: Sandbox;
  readonly config: ContainerConfig;
  readonly image: Image;
  readonly imageRef: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly files: LayeredFiles;
  readonly workingDir: string;
  readonly log: ContainerLog;
  readonly usage: Usage;
  readonly createdAtMs: number;
  state: ContainerStatus['state'];
  startedAtMs: number;
  finishedAtMs: number;
  exitCode: number;
  reason: string;
  message: string;
  abort: AbortController;
  network: TrackedNetwork | undefined;
  exited: Promise<void>;
  markExited: () => void;
  execsRunning: number;
  /** Told once the container stopped (attach and log follows end then). */
  readonly exitListeners: Set<() => void>;
}

function criError(code: CriErrorCode, message: string): CriError {
  return { type: 'criError', code, message };
}

class CriFailure extends Error {
  constructor(readonly error: CriError) {
    super(error.message);
  }
}

function fail(code: CriErrorCode, message: string): never {
  throw new CriFailure(criError(code, message));
}

function matchesLabels(labels: Readonly<Record<string, string>> | undefined, selector: Readonly<Record<string, string>> | undefined): boolean {
  if (selector === undefined) return true;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** Cuts text to a byte bound (an exec's output). */
function boundText(text: string, bytesMax: number): string {
  return Buffer.byteLength(text, 'utf8') <= bytesMax ? text : Buffer.from(text, 'utf8').subarray(0, bytesMax).toString('utf8');
}

function imageRefOf(repository: string, tag: string): string {
  return `sha256:${createHash('sha256').update(`pocketkube/${repository}:${tag}`).digest('hex')}`;
}

export class ContainerRuntime {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly containers = new Map<string, Container>();
  private readonly pulled = new Map<string, { readonly info: ImageInfo; readonly image: Image }>();
  /** SIGKILL of each running `process`-handler container, fired when it exits or is killed. */
  private readonly hostKills = new Map<string, AbortController>();
  private readonly streams = new Map<string, RuntimeStream>();
  private podCidr: string | undefined;
  private readonly logBytesMax: number;
  /** NetworkChaos rules by pod uid, then chaos id: kept for sandboxes the pod runs later. */
  private readonly networkChaos = new Map<string, Map<string, readonly NetworkChaosRule[]>>();

  constructor(private readonly deps: RuntimeDeps) {
    this.logBytesMax = deps.logBytesMax ?? defaultLogBytesMax;
  }

  /** Kills every container at once (the runtime itself is stopping): their sockets close, their ports free. */
  shutdown(): void {
    for (const stream of [...this.streams.values()]) stream.cancel('the container runtime stopped');
    for (const c of this.containers.values()) this.exit(c, killedExitCode, 'killed: the container runtime stopped');
  }

  counts(): { readonly sandboxes: number; readonly containers: number; readonly running: number; readonly images: number; readonly streams: number } {
    const running = [...this.containers.values()].filter((c) => c.state === 'CONTAINER_RUNNING').length;
    return { sandboxes: this.sandboxes.size, containers: this.containers.size, running, images: this.pulled.size, streams: this.streams.size };
  }

  /** A tell of an open stream from its apiserver (stdin, acks, cancels). */
  streamTell(from: Address, tell: PodStreamTell): void {
    const stream = this.streams.get(tell.streamId);
    if (stream === undefined) {
      // Stdin for a stream that ended: tell the apiserver, so its client hears of it instead of waiting.
      if (tell.type === 'podStreamData' || tell.type === 'podStreamCloseStdin') this.deps.sendStream?.(from, { type: 'podStreamCancel', streamId: tell.streamId, reason: 'the container runtime has no such stream (it ended)' });
      return;
    }
    if (stream.peer !== from) return;
    stream.receive(tell);
  }

  /** An apiserver's host went down: its streams stop (their clients are gone with it). */
  peerDown(host: string): void {
    for (const stream of [...this.streams.values()]) if (hostOf(stream.peer) === host) stream.cancel(`apiserver host ${host} went down`);
  }

  /** Answers one request; operating errors come back as `criError`, never as a rejection. */
  async handle(request: CriRequest): Promise<CriResponse> {
    try {
      return await this.dispatch(request);
    } catch (error) {
      if (error instanceof CriFailure) return error.error;
      throw error;
    }
  }

  private async dispatch(request: CriRequest): Promise<CriResponse> {
    switch (request.type) {
      case 'version':
        return { type: 'versionResponse', runtimeName, runtimeVersion, runtimeApiVersion: 'v1' };
      case 'status':
        return this.status();
      case 'updateRuntimeConfig':
        return this.updateRuntimeConfig(request.podCidr);
      case 'runPodSandbox':
        return this.runPodSandbox(request.config, request.runtimeHandler);
      case 'stopPodSandbox':
        await this.stopPodSandbox(request.podSandboxId);
        return { type: 'stopPodSandboxResponse' };
      case 'removePodSandbox':
        await this.removePodSandbox(request.podSandboxId);
        return { type: 'removePodSandboxResponse' };
      case 'podSandboxStatus':
        return { type: 'podSandboxStatusResponse', status: this.sandboxStatus(this.sandbox(request.podSandboxId)) };
      case 'listPodSandbox':
        return { type: 'listPodSandboxResponse', items: this.listSandboxes(request.filter) };
      case 'pullImage':
        return this.pullImage(request.image.image);
      case 'listImages':
        return { type: 'listImagesResponse', images: [...this.pulled.values()].map((p) => p.info) };
      case 'imageStatus':
        return this.imageStatus(request.image.image);
      case 'removeImage':
        this.removeImage(request.image.image);
        return { type: 'removeImageResponse' };
      case 'createContainer':
        return this.createContainer(request.podSandboxId, request.config);
      case 'startContainer':
        this.startContainer(request.containerId);
        return { type: 'startContainerResponse' };
      case 'stopContainer':
        await this.stopContainer(this.container(request.containerId), request.timeout);
        return { type: 'stopContainerResponse' };
      case 'removeContainer':
        this.removeContainer(request.containerId);
        return { type: 'removeContainerResponse' };
      case 'listContainers':
        return { type: 'listContainersResponse', containers: this.listContainers(request.filter).map((c) => this.containerStatus(c)) };
      case 'containerStatus':
        return { type: 'containerStatusResponse', status: this.containerStatus(this.container(request.containerId)) };
      case 'containerStats':
        return { type: 'containerStatsResponse', stats: this.stats(this.container(request.containerId)) };
      case 'listContainerStats':
        return { type: 'listContainerStatsResponse', stats: this.listContainers(request.filter).map((c) => this.stats(c)) };
      case 'reopenContainerLog':
        // Logs live in memory, bounded; there is no file to reopen. Still a NotFound for a bad id.
        this.container(request.containerId);
        return { type: 'reopenContainerLogResponse' };
      case 'execSync':
        return this.execSync(this.container(request.containerId), request.cmd, request.timeout);
      case 'exec':
        return this.execStream(request);
      case 'attach':
        return this.attachStream(request);
      case 'followContainerLog':
        return this.followLog(request);
      case 'portForward':
        return criError('Unavailable', 'portForward: not implemented by pocketkube\'s runtime (reach the pod at its IP, which it binds for real)');
      case 'readContainerLog':
        return this.readLog(request);
      case 'getContainerEvents':
        // The shell keeps the subscribers; the core only emits through deps.onEvent.
        return { type: 'getContainerEventsResponse' };
      case 'setPodNetworkChaos':
        return this.setPodNetworkChaos(request.podUid, request.chaosId, request.rules);
      default: {
        const never: never = request;
        throw new Error(`container runtime: unhandled request ${JSON.stringify(never)}`);
      }
    }
  }

  private status(): ResponseOf<{ type: 'status' }> {
    const networkReady = this.podCidr !== undefined;
    return {
      type: 'statusResponse',
      conditions: [
        { type: 'RuntimeReady', status: true, reason: '', message: '' },
        { type: 'NetworkReady', status: networkReady, reason: networkReady ? '' : 'NetworkPluginNotReady', message: networkReady ? '' : 'no pod CIDR yet: the kubelet sends updateRuntimeConfig with the Node\'s spec.podCIDR' },
      ],
    };
  }

  private updateRuntimeConfig(podCidr: string): CriResponse {
    // Checked here so a bad CIDR fails now, not at the first pod (the plugin checks its own range too).
    const parsed = parseCidr(podCidr);
    if (!parsed.ok) return criError('InvalidArgument', parsed.message);
    this.podCidr = podCidr;
    return { type: 'updateRuntimeConfigResponse' };
  }

  private newId(): string {
    let id = '';
    for (let i = 0; i < 64; i++) id += this.deps.prng.int(16).toString(16);
    return id;
  }

  private runPodSandbox(config: PodSandboxConfig, runtimeHandler: string | undefined): CriResponse {
    const handler = runtimeHandler ?? '';
    if (handler === processRuntimeHandler && this.deps.hostProcesses === undefined) {
      fail('InvalidArgument', 'runtime handler "process" runs real host processes, and this runtime has none (simulated placement or an in-memory pod network): run the pod on threads placement, or drop runtimeClassName');
    }
    if (handler !== '' && handler !== 'runc' && handler !== processRuntimeHandler) fail('InvalidArgument', `no runtime for ${JSON.stringify(handler)} is configured (handlers: runc, ${processRuntimeHandler})`);
    const existing = [...this.sandboxes.values()].find((s) => s.state === 'SANDBOX_READY' && s.config.metadata.uid === config.metadata.uid && s.config.metadata.attempt === config.metadata.attempt);
    // A kubelet that retries after a lost reply gets the sandbox it already has.
    if (existing !== undefined) return { type: 'runPodSandboxResponse', podSandboxId: existing.id };
    if (this.sandboxes.size >= sandboxesMax) fail('Unavailable', `node has ${this.sandboxes.size} sandboxes (bound ${sandboxesMax}): remove some`);
    const id = this.newId();
    const ip = this.allocateIp(id, config);
    const raw = this.deps.networkFor({ podIp: ip, hostname: config.hostname, hostNetwork: config.hostNetwork === true, ...(config.dnsConfig === undefined ? {} : { dnsConfig: config.dnsConfig }) });
    const chaos = config.hostNetwork === true ? undefined
      : new ChaosPodNetwork(raw, { clock: this.deps.clock, prng: this.deps.prng.fork(`network-chaos/${id}`), nameservers: config.dnsConfig?.servers ?? [] });
    chaos?.setRules(this.chaosRulesOf(config.metadata.uid));
    this.sandboxes.set(id, { id, config, createdAtMs: this.deps.clock.wallNow(), ip, runtimeHandler: handler, network: chaos ?? raw, ...(chaos === undefined ? {} : { chaos }), state: 'SANDBOX_READY' });
    return { type: 'runPodSandboxResponse', podSandboxId: id };
  }

  /** A pod with no sandbox left on this node keeps no NetworkChaos rules (bounded by the pods here). */
  private pruneNetworkChaos(podUid: string): void {
    if (![...this.sandboxes.values()].some((s) => s.config.metadata.uid === podUid)) this.networkChaos.delete(podUid);
  }

  private chaosRulesOf(podUid: string): NetworkChaosRule[] {
    return [...(this.networkChaos.get(podUid)?.values() ?? [])].flat();
  }

  private setPodNetworkChaos(podUid: string, chaosId: string, rules: readonly NetworkChaosRule[]): CriResponse {
    const mine = [...this.sandboxes.values()].filter((s) => s.config.metadata.uid === podUid && s.state === 'SANDBOX_READY');
    if (rules.length > 0) {
      if (mine.length === 0) fail('NotFound', `no ready sandbox of pod ${podUid} on this node`);
      if (mine.some((s) => s.chaos === undefined)) fail('InvalidArgument', `pod ${podUid} uses the host's network: NetworkChaos is not injected into hostNetwork pods (as in Chaos Mesh)`);
      if (rules.length > networkChaosLimits.rulesPerChaosMax) fail('InvalidArgument', `${rules.length} rules for one NetworkChaos (bound ${networkChaosLimits.rulesPerChaosMax})`);
      const problem = rules.map(networkChaosRuleProblem).find((p) => p !== undefined);
      if (problem !== undefined) fail('InvalidArgument', `setPodNetworkChaos: ${problem}`);
      if (rules.some((r) => (r.peers?.length ?? 0) > networkChaosLimits.peersPerRuleMax)) fail('InvalidArgument', `a rule names more than ${networkChaosLimits.peersPerRuleMax} peers`);
    }
    const byChaos = this.networkChaos.get(podUid) ?? new Map<string, readonly NetworkChaosRule[]>();
    if (rules.length === 0) byChaos.delete(chaosId);
    else {
      if (!byChaos.has(chaosId) && byChaos.size >= networkChaosLimits.chaosPerPodMax) fail('Unavailable', `pod ${podUid} already has ${byChaos.size} NetworkChaos (bound ${networkChaosLimits.chaosPerPodMax})`);
      byChaos.set(chaosId, rules);
    }
    if (byChaos.size === 0) this.networkChaos.delete(podUid);
    else this.networkChaos.set(podUid, byChaos);
    const all = this.chaosRulesOf(podUid);
    for (const s of mine) s.chaos?.setRules(all);
    return { type: 'setPodNetworkChaosResponse', sandboxes: mine.length };
  }

  private allocateIp(id: string, config: PodSandboxConfig): string {
    if (config.hostNetwork === true) return this.deps.nodeIp;
    if (this.podCidr === undefined) fail('FailedPrecondition', 'the network is not ready: no pod CIDR yet (send updateRuntimeConfig with the Node\'s spec.podCIDR first)');
    const added = this.deps.cni.add(id, this.podCidr);
    if (!added.ok) fail('Unavailable', `failed to set up sandbox network for pod ${config.metadata.namespace}/${config.metadata.name}: ${added.message}`);
    return added.value;
  }

  private sandbox(id: string): Sandbox {
    return this.sandboxes.get(id) ?? fail('NotFound', `pod sandbox ${id} not found`);
  }

  private async stopPodSandbox(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    // CRI: stopping a sandbox that is gone is not an error.
    if (sandbox === undefined) return;
    const inside = [...this.containers.values()].filter((c) => c.sandbox === sandbox);
    await Promise.all(inside.map((c) => this.stopContainer(c, 0)));
    sandbox.state = 'SANDBOX_NOTREADY';
  }

  private async removePodSandbox(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    if (sandbox === undefined) return;
    await this.stopPodSandbox(id);
    for (const c of [...this.containers.values()]) if (c.sandbox === sandbox) this.removeContainer(c.id);
    if (sandbox.config.hostNetwork !== true) this.deps.cni.del(id);
    this.sandboxes.delete(id);
    this.pruneNetworkChaos(sandbox.config.metadata.uid);
  }

  private sandboxStatus(s: Sandbox): PodSandboxStatus {
    return { id: s.id, metadata: s.config.metadata, state: s.state, createdAtMs: s.createdAtMs, network: { ip: s.ip }, labels: s.config.labels ?? {}, annotations: s.config.annotations ?? {}, runtimeHandler: s.runtimeHandler };
  }

  private listSandboxes(filter: PodSandboxFilter | undefined): PodSandboxStatus[] {
    return [...this.sandboxes.values()]
      .filter((s) => (filter?.id === undefined || s.id === filter.id) && (filter?.state === undefined || s.state === filter.state) && matchesLabels(s.config.labels, filter?.labelSelector))
      .map((s) => this.sandboxStatus(s));
  }

  private pullImage(reference: string): CriResponse {
    const found = this.deps.images.lookup(reference);
    if (!found.ok) return criError('NotFound', `failed to pull and unpack image ${JSON.stringify(reference)}: ${found.message}`);
    const info = this.imageInfo(found.image, found.tag);
    this.pulled.set(info.id, { info, image: found.image });
    return { type: 'pullImageResponse', imageRef: info.id };
  }

  private imageInfo(image: Image, tag: string): ImageInfo {
    const size = Object.values(image.files ?? {}).reduce((sum, text) => sum + text.length, 0);
    return { id: imageRefOf(image.repository, tag), repoTags: [`${image.repository}:${tag}`], sizeBytes: 4096 + size };
  }

  /** The pulled image a reference names (by tag or by its id). */
  private findPulled(reference: string): { readonly info: ImageInfo; readonly image: Image } | undefined {
    const byId = this.pulled.get(reference);
    if (byId !== undefined) return byId;
    const parsed = parseImageReference(reference);
    if (parsed === undefined) return undefined;
    return this.pulled.get(imageRefOf(parsed.repository, parsed.tag));
  }

  private imageStatus(reference: string): CriResponse {
    const found = this.findPulled(reference);
    return found === undefined ? { type: 'imageStatusResponse' } : { type: 'imageStatusResponse', image: found.info };
  }

  private removeImage(reference: string): void {
    const found = this.findPulled(reference);
    if (found !== undefined) this.pulled.delete(found.info.id);
  }

  private createContainer(sandboxId: string, config: ContainerConfig): CriResponse {
    const sandbox = this.sandbox(sandboxId);
    if (sandbox.state !== 'SANDBOX_READY') fail('FailedPrecondition', `pod sandbox ${sandboxId} is not ready`);
    const onHost = sandbox.runtimeHandler === processRuntimeHandler;
    const pulled = onHost ? undefined : this.findPulled(config.image.image) ?? fail('NotFound', `image ${JSON.stringify(config.image.image)} is not present on this node: pull it first`);
    const clash = [...this.containers.values()].find((c) => c.sandbox === sandbox && c.config.metadata.name === config.metadata.name && c.config.metadata.attempt === config.metadata.attempt);
    if (clash !== undefined) fail('AlreadyExists', `container ${config.metadata.name} attempt ${config.metadata.attempt} already exists in sandbox ${sandboxId} as ${clash.id}`);
    if (this.containers.size >= containersMax) fail('Unavailable', `node has ${this.containers.size} containers (bound ${containersMax}): remove exited ones`);
    const id = this.newId();
    const container = this.newContainer(id, sandbox, config, pulled ?? this.hostProcessImage(id, sandbox, config));
    this.containers.set(id, container);
    this.emit(container, 'CONTAINER_CREATED_EVENT');
    return { type: 'createContainerResponse', containerId: id };
  }

  private newContainer(id: string, sandbox: Sandbox, config: ContainerConfig, pulled: { readonly info: ImageInfo; readonly image: Image }): Container {
    const image = pulled.image;
    const defaults = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: sandbox.config.hostname };
    const env = containerEnv(defaults, config.envs);
    // No `$(VAR)` expansion here: the kubelet expands command and args (src/kubelet/env.ts), as upstream's does; a second pass would undo `$$(VAR)`.
    const argv = resolveArgv(image, config.command, config.args);
    const workingDir = config.workingDir !== undefined && config.workingDir !== '' ? config.workingDir : image.workingDir ?? '/';
    const files = new LayeredFiles(this.deps.fs, config.mounts ?? [], { ...image.files, ...this.sandboxFiles(sandbox) }, workingDir);
    let markExited = (): void => undefined;
    const exited = new Promise<void>((resolve) => { markExited = resolve; });
    return {
      id, sandbox, config, image, imageRef: pulled.info.id, argv, env, files, workingDir, log: new ContainerLog(this.logBytesMax),
      usage: { cpuMillicores: 0, memoryBytes: 0, cpuCoreNanoSeconds: 0, sinceMs: this.deps.clock.now() },
      createdAtMs: this.deps.clock.wallNow(), state: 'CONTAINER_CREATED', startedAtMs: 0, finishedAtMs: 0, exitCode: 0, reason: '', message: '',
      abort: new AbortController(), network: undefined, exited, markExited, execsRunning: 0, exitListeners: new Set(),
    };
  }

  /** A `process`-handler container: an image whose run() is the host process (no pull, no entrypoint). */
  private hostProcessImage(id: string, sandbox: Sandbox, config: ContainerConfig): { readonly info: ImageInfo; readonly image: Image } {
    const launcher = this.deps.hostProcesses!;
    if ((config.command?.length ?? 0) === 0) fail('InvalidArgument', `runtime handler "${processRuntimeHandler}" runs the container's command on the host: give container ${config.metadata.name} a command`);
    const kill = new AbortController();
    this.hostKills.set(id, kill);
    const image: Image = {
      repository: config.image.image, entrypoint: [], cmd: [],
      run: (p) => launcher.run({
        argv: p.argv, env: { ...p.env, POD_IP: sandbox.ip }, podUid: sandbox.config.metadata.uid, containerName: config.metadata.name,
        mounts: config.mounts ?? [], stdout: p.stdout, stderr: p.stderr, terminate: p.signal, kill: kill.signal,
      }),
    };
    return { info: { id: `host-process:${config.image.image}`, repoTags: [config.image.image], sizeBytes: 0 }, image };
  }

  /** /etc/hostname and /etc/resolv.conf, as the kubelet and the runtime write them for every container. */
  private sandboxFiles(sandbox: Sandbox): Record<string, string> {
    const dns = sandbox.config.dnsConfig;
    const resolv = dns === undefined ? '' : [
      ...(dns.searches.length > 0 ? [`search ${dns.searches.join(' ')}`] : []),
      ...dns.servers.map((server) => `nameserver ${server}`),
      ...(dns.options.length > 0 ? [`options ${dns.options.join(' ')}`] : []),
    ].join('\n') + '\n';
    return { '/etc/hostname': `${sandbox.config.hostname}\n`, '/etc/resolv.conf': resolv };
  }

  private container(id: string): Container {
    return this.containers.get(id) ?? fail('NotFound', `container ${id} not found`);
  }

  private emit(c: Container, eventType: ContainerEvent['eventType']): void {
    this.deps.onEvent({ type: 'containerEvent', containerId: c.id, podSandboxId: c.sandbox.id, eventType, createdAtMs: this.deps.clock.wallNow() });
  }

  private processFor(c: Container, argv: readonly string[], signal: AbortSignal, output: { stdout(text: string): void; stderr(text: string): void }): ContainerProcess {
    const usage = c.usage;
    return {
      argv, env: c.env, workingDir: c.workingDir, hostname: c.sandbox.config.hostname,
      net: c.network ?? c.sandbox.network, files: c.files, clock: this.deps.clock, prng: this.deps.prng.fork(`${c.id}/${argv.join(' ')}`),
      usage: {
        setCpuMillicores: (millicores) => { this.accrueCpu(usage); usage.cpuMillicores = Math.max(0, millicores); },
        setMemoryBytes: (bytes) => { usage.memoryBytes = Math.max(0, bytes); },
      },
      stdout: output.stdout, stderr: output.stderr, signal,
    };
  }

  private startContainer(id: string): void {
    const c = this.container(id);
    if (c.state !== 'CONTAINER_CREATED') fail('FailedPrecondition', `container ${id} is ${c.state}, not CONTAINER_CREATED: create a new one to run again`);
    if (c.sandbox.state !== 'SANDBOX_READY') fail('FailedPrecondition', `pod sandbox ${c.sandbox.id} is not ready`);
    c.state = 'CONTAINER_RUNNING';
    c.startedAtMs = this.deps.clock.wallNow();
    c.network = new TrackedNetwork(c.sandbox.network);
    const log = (stream: 'stdout' | 'stderr') => (text: string): void => {
      if (c.state === 'CONTAINER_RUNNING') c.log.write(stream, text, this.deps.clock.wallNow());
    };
    const process = this.processFor(c, c.argv, c.abort.signal, { stdout: log('stdout'), stderr: log('stderr') });
    this.emit(c, 'CONTAINER_STARTED_EVENT');
    Promise.resolve()
      .then(() => c.image.run(process))
      .then(
        (code) => this.exit(c, Number.isInteger(code) ? code : 1, ''),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          log('stderr')(`${message}\n`);
          this.exit(c, 1, message);
        },
      );
  }

  private exit(c: Container, exitCode: number, message: string): void {
    if (c.state !== 'CONTAINER_RUNNING') return;
    this.accrueCpu(c.usage);
    c.log.flush(this.deps.clock.wallNow());
    c.state = 'CONTAINER_EXITED';
    c.finishedAtMs = this.deps.clock.wallNow();
    c.exitCode = exitCode;
    c.reason = exitCode === 0 ? 'Completed' : 'Error';
    c.message = message;
    c.usage.cpuMillicores = 0;
    c.usage.memoryBytes = 0;
    c.network?.closeAll();
    c.abort.abort();
    this.hostKills.get(c.id)?.abort();
    this.hostKills.delete(c.id);
    c.markExited();
    for (const listener of [...c.exitListeners]) listener();
    this.emit(c, 'CONTAINER_STOPPED_EVENT');
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds` (0: at once). */
  private async stopContainer(c: Container, timeoutSeconds: number): Promise<void> {
    if (c.state === 'CONTAINER_CREATED') {
      // Never started: nothing to signal; it can no longer start.
      c.state = 'CONTAINER_EXITED';
      c.finishedAtMs = this.deps.clock.wallNow();
      c.reason = 'Error';
      c.message = 'stopped before it started';
      c.markExited();
      for (const listener of [...c.exitListeners]) listener();
      return;
    }
    if (c.state !== 'CONTAINER_RUNNING') return;
    c.abort.abort();
    if (timeoutSeconds > 0) {
      const grace = new AbortController();
      await Promise.race([c.exited, sleep(this.deps.clock, timeoutSeconds * 1000, grace.signal)]);
      grace.abort();
    }
    this.exit(c, killedExitCode, timeoutSeconds > 0 ? `killed after the ${timeoutSeconds} s grace period` : 'killed');
  }

  private removeContainer(id: string): void {
    const c = this.containers.get(id);
    this.hostKills.delete(id);
    if (c === undefined) return;
    // CRI: a running container is removed by force.
    this.exit(c, killedExitCode, 'killed: removed while running');
    this.containers.delete(id);
    this.emit(c, 'CONTAINER_DELETED_EVENT');
  }

  private listContainers(filter: ContainerFilter | undefined): Container[] {
    return [...this.containers.values()].filter((c) =>
      (filter?.id === undefined || c.id === filter.id)
      && (filter?.podSandboxId === undefined || c.sandbox.id === filter.podSandboxId)
      && (filter?.state === undefined || c.state === filter.state)
      && matchesLabels(c.config.labels, filter?.labelSelector));
  }

  private containerStatus(c: Container): ContainerStatus {
    return {
      id: c.id, podSandboxId: c.sandbox.id, metadata: c.config.metadata, state: c.state, createdAtMs: c.createdAtMs, startedAtMs: c.startedAtMs,
      finishedAtMs: c.finishedAtMs, exitCode: c.exitCode, image: c.config.image, imageRef: c.imageRef, reason: c.reason, message: c.message,
      labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {},
    };
  }

  private accrueCpu(usage: Usage): void {
    const now = this.deps.clock.now();
    // millicores × ms × 1000 = core-nanoseconds (1000 m = 1 core; 1 ms = 1e6 ns).
    usage.cpuCoreNanoSeconds += usage.cpuMillicores * (now - usage.sinceMs) * 1000;
    usage.sinceMs = now;
  }

  private stats(c: Container): ContainerStats {
    this.accrueCpu(c.usage);
    return { containerId: c.id, timestampMs: this.deps.clock.wallNow(), cpuUsageCoreNanoSeconds: c.usage.cpuCoreNanoSeconds, memoryWorkingSetBytes: c.usage.memoryBytes };
  }

  private readLog(request: Extract<CriRequest, { type: 'readContainerLog' }>): CriResponse {
    const c = this.container(request.containerId);
    const read = c.log.read({
      ...(request.tailLines === undefined ? {} : { tailLines: request.tailLines }),
      ...(request.sinceMs === undefined ? {} : { sinceMs: request.sinceMs }),
      ...(request.limitBytes === undefined ? {} : { limitBytes: request.limitBytes }),
    });
    return { type: 'readContainerLogResponse', lines: read.lines, truncated: read.truncated };
  }

  private async execSync(c: Container, cmd: readonly string[], timeoutSeconds: number): Promise<CriResponse> {
    if (c.state !== 'CONTAINER_RUNNING') return criError('FailedPrecondition', `container ${c.id} is not running (${c.state})`);
    if (cmd.length === 0 || cmd.some((arg) => typeof arg !== 'string')) return criError('InvalidArgument', 'exec: cmd must be a non-empty list of strings');
    const out = { stdout: '', stderr: '' };
    const append = (stream: 'stdout' | 'stderr') => (text: string): void => {
      if (out[stream].length < execOutputBytesMax) out[stream] = boundText(out[stream] + text, execOutputBytesMax);
    };
    if (c.image.exec === undefined) {
      return { type: 'execSyncResponse', stdout: '', stderr: `OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(cmd[0])}: executable file not found in $PATH\n`, exitCode: 126 };
    }
    if (c.execsRunning >= concurrentExecsMax) return criError('Unavailable', `container ${c.id} already runs ${c.execsRunning} execs (bound ${concurrentExecsMax})`);
    c.execsRunning++;
    try {
      return await this.runExec(c, cmd, timeoutSeconds, out, append);
    } finally {
      c.execsRunning--;
    }
  }

  private async runExec(c: Container, cmd: readonly string[], timeoutSeconds: number, out: { stdout: string; stderr: string }, append: (stream: 'stdout' | 'stderr') => (text: string) => void): Promise<CriResponse> {
    const abort = new AbortController();
    const onContainerExit = (): void => abort.abort();
    c.abort.signal.addEventListener('abort', onContainerExit, { once: true });
    const timeoutMs = timeoutSeconds > 0 ? Math.min(timeoutSeconds * 1000, execTimeoutMsMax) : execTimeoutMsMax;
    const timer = new AbortController();
    // Resolves at the deadline (or when aborted below, after the race is decided).
    const timedOut = sleep(this.deps.clock, timeoutMs, timer.signal).then(() => 'timeout' as const);
    const run = Promise.resolve().then(() => c.image.exec!(this.processFor(c, cmd, abort.signal, { stdout: append('stdout'), stderr: append('stderr') })))
      .then((code) => (Number.isInteger(code) ? code : 1), (error: unknown) => { append('stderr')(`${error instanceof Error ? error.message : String(error)}\n`); return 1; });
    const outcome = await Promise.race([run, timedOut]);
    timer.abort();
    c.abort.signal.removeEventListener('abort', onContainerExit);
    if (outcome === 'timeout') {
      abort.abort();
      return criError('DeadlineExceeded', `command ${JSON.stringify(cmd.join(' '))} timed out after ${timeoutMs / 1000} s`);
    }
    return { type: 'execSyncResponse', stdout: out.stdout, stderr: out.stderr, exitCode: outcome };
  }

  /** A new stream's checks: the runtime can stream, the id is new, the node's bound holds. */
  private openStream(streamId: string, peer: Address, hooks: ConstructorParameters<typeof RuntimeStream>[3]): RuntimeStream {
    const send = this.deps.sendStream;
    if (send === undefined) fail('Unavailable', 'this runtime has no streaming connection to the apiservers');
    if (this.streams.has(streamId)) fail('AlreadyExists', `stream ${streamId} is already open`);
    if (this.streams.size >= streamsMax) fail('Unavailable', `the node already carries ${this.streams.size} streams (bound ${streamsMax}): close some (exec, attach, logs -f)`);
    const stream = new RuntimeStream(streamId, peer, send, hooks);
    this.streams.set(streamId, stream);
    return stream;
  }

  /** `kubectl exec`: the image's exec with the stream as its stdin, stdout and stderr; its exit code ends the stream. */
  private execStream(request: Extract<CriRequest, { type: 'exec' }>): CriResponse {
    const c = this.container(request.containerId);
    if (c.state !== 'CONTAINER_RUNNING') return criError('FailedPrecondition', `container ${c.id} is not running (${c.state})`);
    if (request.cmd.length === 0 || request.cmd.some((arg) => typeof arg !== 'string')) return criError('InvalidArgument', 'exec: cmd must be a non-empty list of strings');
    if (c.execsRunning >= concurrentExecsMax) return criError('Unavailable', `container ${c.id} already runs ${c.execsRunning} execs (bound ${concurrentExecsMax})`);
    const tty = request.tty === true;
    const abort = new AbortController();
    let interrupted = false;
    let pipe: StdinPipe | undefined;
    let discipline: TtyLineDiscipline | undefined;
    const decoder = new TextDecoder();
    const stream = this.openStream(request.streamId, request.peer, {
      ...(request.stdin === true ? {
        stdin: (data: Uint8Array) => {
          const text = decoder.decode(data, { stream: true });
          if (discipline === undefined) { pipe!.push(text, data.length); return; }
          const typed = discipline.input(text);
          // Credit for keystrokes goes back at once: a terminal's input is small, and held-back echo would feel broken.
          stream.ackStdin(data.length);
          for (const line of typed.lines) pipe!.push(line, 0);
          if (typed.interrupt) { interrupted = true; abort.abort(); }
          if (typed.eof) pipe!.close();
        },
        closeStdin: () => pipe!.close(),
      } : {}),
      cancelled: () => { abort.abort(); pipe?.close(); },
      done: () => { this.streams.delete(request.streamId); },
    });
    if (request.stdin === true) pipe = new StdinPipe((bytes) => stream.ackStdin(bytes));
    // A stopped exec (its container stopped, ^C, the client left) must not stay blocked reading stdin.
    abort.signal.addEventListener('abort', () => pipe?.close(), { once: true });
    const write = (channel: 1 | 2, wanted: boolean) => (text: string): void => {
      if (!wanted || !stream.active) return;
      if (!stream.output(tty ? 1 : channel, tty ? ttyOutput(text) : text)) {
        // Ended at once, not behind the output the client does not take.
        stream.cancel('the client does not read the output fast enough: the command was stopped');
        abort.abort();
      }
    };
    const stdout = write(1, request.stdout !== false);
    // On a terminal stderr is merged into stdout, as a pty does.
    const stderr = write(2, tty ? request.stdout !== false : request.stderr !== false);
    if (tty && pipe !== undefined) discipline = new TtyLineDiscipline(stdout);
    if (c.image.exec === undefined) {
      stderr(`OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(request.cmd[0])}: executable file not found in $PATH\n`);
      stream.end({ exitCode: 126 });
      return { type: 'execResponse', url: `pocketkube-stream:${request.streamId}` };
    }
    const onContainerExit = (): void => abort.abort();
    c.abort.signal.addEventListener('abort', onContainerExit, { once: true });
    c.execsRunning++;
    const process = { ...this.processFor(c, request.cmd, abort.signal, { stdout, stderr }), ...(pipe === undefined ? {} : { stdin: pipe }), tty };
    void Promise.resolve().then(() => c.image.exec!(process))
      .then((code) => (Number.isInteger(code) ? code : 1), (error: unknown) => { stderr(`${error instanceof Error ? error.message : String(error)}\n`); return 1; })
      .then((code) => {
        c.execsRunning--;
        c.abort.signal.removeEventListener('abort', onContainerExit);
        stream.end({ exitCode: interrupted ? interruptedExitCode : code });
      });
    return { type: 'execResponse', url: `pocketkube-stream:${request.streamId}` };
  }

  /**
   * `kubectl attach`: the container's output from now on, until it exits. pocketkube's images do
   * not read a stdin of their own process, so attaching stdin is refused rather than ignored.
   */
  private attachStream(request: Extract<CriRequest, { type: 'attach' }>): CriResponse {
    const c = this.container(request.containerId);
    if (c.state !== 'CONTAINER_RUNNING') return criError('FailedPrecondition', `container ${c.id} is not running (${c.state})`);
    if (request.stdin === true) return criError('InvalidArgument', `container ${c.config.metadata.name}: pocketkube's images do not read stdin, so there is nothing to attach stdin to: attach without -i (output only), or use kubectl exec -i`);
    const tty = request.tty === true;
    let stop = (): void => undefined;
    const stream = this.openStream(request.streamId, request.peer, { cancelled: () => stop(), done: () => { stop(); this.streams.delete(request.streamId); } });
    const unfollow = c.log.follow((line) => {
      const wanted = line.stream === 'stdout' ? request.stdout !== false : tty ? request.stdout !== false : request.stderr !== false;
      if (!wanted) return;
      const text = `${line.text}\n`;
      if (!stream.output(tty || line.stream === 'stdout' ? 1 : 2, tty ? ttyOutput(text) : text)) stream.cancel('the client does not read the output fast enough');
    });
    const onExit = (): void => stream.end({ exitCode: 0 });
    c.exitListeners.add(onExit);
    stop = () => { unfollow(); c.exitListeners.delete(onExit); };
    return { type: 'attachResponse', url: `pocketkube-stream:${request.streamId}` };
  }

  /** `kubectl logs -f`: the log so far (after tailLines), then each new line until the container stops. */
  private followLog(request: Extract<CriRequest, { type: 'followContainerLog' }>): CriResponse {
    const c = this.container(request.containerId);
    const timestamps = request.timestamps === true;
    let stop = (): void => undefined;
    const stream = this.openStream(request.streamId, request.peer, { cancelled: () => stop(), done: () => { stop(); this.streams.delete(request.streamId); } });
    const send = (text: string): void => {
      if (!stream.output(1, text)) stream.cancel('the client does not read the log fast enough');
    };
    const soFar = c.log.read({ ...(request.tailLines === undefined ? {} : { tailLines: request.tailLines }), ...(request.sinceMs === undefined ? {} : { sinceMs: request.sinceMs }) }).lines;
    if (soFar.length > 0) send(soFar.map((line) => logLineText(line, timestamps)).join(''));
    if (c.state === 'CONTAINER_EXITED') {
      stream.end({ exitCode: c.exitCode });
      return { type: 'followContainerLogResponse', url: `pocketkube-stream:${request.streamId}` };
    }
    const unfollow = c.log.follow((line) => send(logLineText(line, timestamps)));
    const onExit = (): void => stream.end({ exitCode: c.exitCode });
    c.exitListeners.add(onExit);
    stop = () => { unfollow(); c.exitListeners.delete(onExit); };
    return { type: 'followContainerLogResponse', url: `pocketkube-stream:${request.streamId}` };
  }
}
