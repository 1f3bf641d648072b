/**
 * One pod's sync (upstream's SyncPod / SyncTerminatingPod in pkg/kubelet/kubelet.go and
 * kuberuntime_manager.go): admission, volumes, the actions `computePodActions` asks for
 * (sandbox, init containers in order, containers, kills), crash-loop and image-pull backoff,
 * graceful termination, orphan reaping, and the pod's status. The kubelet engine calls `sync`
 * for one pod at a time.
 */
import { deepEqual, type KubeObject } from '../api/types.js';
import type { EventRecord } from '../client/events.js';
import type { KubeClient } from '../client/client.js';
import { isNotFound } from '../client/errors.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig } from '../cri/messages.js';
import type { Clock } from '../primitives/clock.js';
import { admitPod } from './admission.js';
import { containerEnv, expandCommand } from './env.js';
import type { NodeIdentity } from './node-status.js';
import { nodeLabels } from './node-status.js';
import { computePodActions, criLabels, latestByName, type ContainerStart, type PodActions, type RuntimePod } from './pod-actions.js';
import { podSpec, terminationGraceSeconds, type LifecycleHandler, type PodSpec } from './pod-spec.js';
import { runLifecycleHandler } from './lifecycle.js';
import { computePodStatus, type WaitingReason } from './pod-status.js';
import { ProbeManager } from './probe-manager.js';
import { CriCallError, type Prober, type RuntimeService, type VolumeHost } from './services.js';
import { processRuntimeHandler } from '../cri/host-process.js';
import { containerMounts, objectData, referencedObjects, volumeContent, type VolumeSources } from './volumes.js';

const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;
const runtimeClassesRef = { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass' } as const;
const configMapsRef = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
const secretsRef = { apiVersion: 'v1', kind: 'Secret' } as const;
const serviceAccountsRef = { apiVersion: 'v1', kind: 'ServiceAccount' } as const;

/** How long fetched ConfigMaps and Secrets are reused before a sync reads them again. */
const objectCacheTtlMs = 1_000;
/** A token is renewed once 80% of its life passed (as the kubelet's token manager). */
const tokenRenewFraction = 0.8;
/** Containers kept per name per pod: the current and the previous attempt (for lastState and logs --previous). */
const deadContainersKeptPerName = 1;
/** Retry after a sync that could not finish (volume not ready, runtime unavailable). */
const retryMs = 500;

export interface PodSyncerTiming {
  readonly crashLoopBackoffStartMs: number;
  readonly crashLoopBackoffMaxMs: number;
}

export interface PodSyncerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly runtime: RuntimeService;
  readonly prober: Prober;
  readonly volumes: VolumeHost;
  readonly node: NodeIdentity;
  readonly timing: PodSyncerTiming;
  readonly clusterDns: readonly string[];
  readonly clusterDomain: string;
  readonly services: (namespace: string) => readonly KubeObject[];
  /** Every pod bound to the node (for admission's resource accounting). */
  readonly admittedPods: () => readonly KubeObject[];
  readonly record: (pod: KubeObject, event: Omit<EventRecord, 'involvedObject'>) => void;
  readonly resyncAt: (uid: string, key: string, atMs: number) => void;
  readonly markDirty: (uid: string) => void;
  readonly onError: (error: unknown, context: string) => void;
}

interface Backoff {
  delayMs: number;
  touchedMs: number;
}

interface PodState {
  admitted?: boolean;
  failed?: { readonly reason: string; readonly message: string };
  readonly crashBackoff: Map<string, Backoff>;
  readonly pullBackoff: Map<string, Backoff & { untilMs: number; message: string }>;
  readonly waiting: Map<string, WaitingReason>;
  readonly objects: Map<string, { readonly data: Record<string, string> | undefined; readonly fetchedMs: number }>;
  readonly tokens: Map<string, { readonly token: string; readonly renewAtMs: number }>;
  deleteRequested: boolean;
}

export class PodSyncer {
  private readonly states = new Map<string, PodState>();
  private readonly sandboxToPod = new Map<string, string>();
  /** "podUid/volume" → its directory on the node, as the VolumeHost made it. */
  private readonly volumeDirs = new Map<string, string>();
  private readonly probes: ProbeManager;
  private podCidr: string | undefined;

  constructor(private readonly o: PodSyncerOptions) {
    this.probes = new ProbeManager({
      clock: o.clock, runtime: o.runtime, prober: o.prober,
      onChange: (uid, name, kind, success, message) => {
        if (!success) this.recordFor(uid, { type: 'Warning', reason: 'Unhealthy', message: `${kind[0]!.toUpperCase()}${kind.slice(1)} probe failed: ${message}` }, name);
        o.markDirty(uid);
      },
    });
  }

  setPodCidr(cidr: string): void {
    this.podCidr = cidr;
  }

  stop(): void {
    this.probes.stop();
  }

  podUidOfSandbox(sandboxId: string): string | undefined {
    return this.sandboxToPod.get(sandboxId);
  }

  /** Pod uids the runtime holds sandboxes for. */
  async runtimePodUids(): Promise<Set<string>> {
    const reply = await this.o.runtime.call({ type: 'listPodSandbox' });
    const uids = new Set<string>();
    for (const s of reply.items) {
      const uid = s.labels[criLabels.podUid];
      if (uid === undefined) continue;
      uids.add(uid);
      this.sandboxToPod.set(s.id, uid);
    }
    return uids;
  }

  async sync(uid: string, pod: KubeObject | undefined, networkReady: boolean): Promise<void> {
    const runtime = await this.runtimePod(uid);
    if (pod === undefined) return this.teardown(uid, runtime);
    const state = this.stateOf(uid);
    if (pod.metadata?.deletionTimestamp !== undefined) return this.terminate(pod, runtime, state);
    const spec = podSpec(pod);
    const phase = (pod['status'] as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return this.finish(uid, runtime);
    if (state.admitted === undefined) this.admit(pod, spec, state);
    if (state.failed !== undefined) return this.postStatus(pod, spec, runtime, state);
    if (!networkReady && runtime.sandboxes.length === 0) return; // no podCIDR yet: the node is NotReady
    const sources = await this.sources(pod, spec, state, runtime);
    if (!(await this.prepareVolumes(pod, spec, sources, state))) {
      this.o.resyncAt(uid, podKeyOf(pod), this.o.clock.now() + retryMs);
      return this.postStatus(pod, spec, runtime, state);
    }
    const actions = computePodActions({
      spec, runtime, nowMs: this.o.clock.wallNow(), unhealthy: this.unhealthy(runtime),
      backoffUntilMs: (name) => this.crashBackoffUntil(state, runtime, name),
    });
    if (actions.initFailed) state.failed = { reason: 'Failed', message: 'an init container failed and the pod does not restart' };
    await this.perform(pod, spec, actions, runtime, state, sources);
    const after = await this.runtimePod(uid);
    this.trackProbes(uid, spec, after);
    await this.postStatus(pod, spec, after, state);
    await this.collectDeadContainers(after);
  }

  private stateOf(uid: string): PodState {
    let state = this.states.get(uid);
    if (state === undefined) {
      state = { crashBackoff: new Map(), pullBackoff: new Map(), waiting: new Map(), objects: new Map(), tokens: new Map(), deleteRequested: false };
      this.states.set(uid, state);
    }
    return state;
  }

  /** What the runtime holds for the pod now. */
  runtimeView(uid: string): Promise<RuntimePod> {
    return this.runtimePod(uid);
  }

  private async runtimePod(uid: string): Promise<RuntimePod> {
    const [sandboxes, containers] = await Promise.all([
      this.o.runtime.call({ type: 'listPodSandbox', filter: { labelSelector: { [criLabels.podUid]: uid } } }),
      this.o.runtime.call({ type: 'listContainers', filter: { labelSelector: { [criLabels.podUid]: uid } } }),
    ]);
    for (const s of sandboxes.items) this.sandboxToPod.set(s.id, uid);
    return { sandboxes: [...sandboxes.items].sort((a, b) => b.createdAtMs - a.createdAtMs || b.metadata.attempt - a.metadata.attempt), containers: containers.containers };
  }

  private admit(pod: KubeObject, spec: PodSpec, state: PodState): void {
    const others = this.o.admittedPods().filter((p) => p.metadata?.uid !== pod.metadata?.uid && this.states.get(p.metadata?.uid ?? '')?.admitted === true)
      .filter((p) => !['Succeeded', 'Failed'].includes(String((p['status'] as { phase?: string } | undefined)?.phase)))
      .map((p) => podSpec(p));
    const decision = admitPod(spec, { labels: nodeLabels(this.o.node), taints: this.o.node.taints, allocatable: this.o.node.capacity }, others);
    state.admitted = decision.admit;
    if (!decision.admit) {
      state.failed = { reason: decision.reason, message: decision.message };
      this.o.record(pod, { type: 'Warning', reason: decision.reason, message: decision.message });
    }
  }

  /** ConfigMaps, Secrets, the ServiceAccount token and Services, as env and volumes read them. */
  private async sources(pod: KubeObject, spec: PodSpec, state: PodState, runtime: RuntimePod): Promise<VolumeSources> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const refs = referencedObjects(spec);
    await Promise.all([
      ...[...refs.configMaps].map((n) => this.fetchObject(state, 'ConfigMap', namespace, n)),
      ...[...refs.secrets].map((n) => this.fetchObject(state, 'Secret', namespace, n)),
      ...(spec.volumes ?? []).flatMap((v) => v.projected?.sources ?? []).flatMap((s) => (s.serviceAccountToken === undefined ? [] : [s.serviceAccountToken]))
        // A token that cannot be had yet leaves the volume unset: FailedMount and a retry, as upstream.
        .map((t) => this.fetchToken(pod, spec, state, t.audience, t.expirationSeconds ?? 3_600).catch((e: unknown) => this.o.onError(e, `token for ${podKeyOf(pod)}`))),
    ]);
    return {
      pod, spec, podIp: runtime.sandboxes[0]?.network.ip ?? '', hostIp: this.o.node.nodeIp,
      configMap: (name) => state.objects.get(`ConfigMap/${name}`)?.data,
      secret: (name) => state.objects.get(`Secret/${name}`)?.data,
      services: this.o.services(namespace), nodeAllocatable: this.o.node.capacity,
      serviceAccountToken: (audience, expirationSeconds) => state.tokens.get(`${audience ?? ''}/${expirationSeconds}`)?.token,
    };
  }

  private async fetchObject(state: PodState, kind: 'ConfigMap' | 'Secret', namespace: string, name: string): Promise<void> {
    const key = `${kind}/${name}`;
    const cached = state.objects.get(key);
    if (cached !== undefined && this.o.clock.now() - cached.fetchedMs < objectCacheTtlMs) return;
    try {
      const obj = await this.o.client.get(kind === 'ConfigMap' ? configMapsRef : secretsRef, namespace, name);
      state.objects.set(key, { data: objectData(obj, kind), fetchedMs: this.o.clock.now() });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      state.objects.set(key, { data: undefined, fetchedMs: this.o.clock.now() });
    }
  }

  private async fetchToken(pod: KubeObject, spec: PodSpec, state: PodState, audience: string | undefined, expirationSeconds: number): Promise<void> {
    const key = `${audience ?? ''}/${expirationSeconds}`;
    const cached = state.tokens.get(key);
    if (cached !== undefined && this.o.clock.wallNow() < cached.renewAtMs) return;
    const request = {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { audiences: audience === undefined ? [] : [audience], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata!.name!, uid: pod.metadata!.uid! } },
    };
    const reply = await this.o.client.createSubresource<{ status?: { token?: string } }>(serviceAccountsRef, pod.metadata!.namespace, spec.serviceAccountName ?? 'default', 'token', request);
    const token = reply.status?.token;
    if (token === undefined) throw new Error(`TokenRequest for ${podKeyOf(pod)} returned no token`);
    state.tokens.set(key, { token, renewAtMs: this.o.clock.wallNow() + expirationSeconds * 1_000 * tokenRenewFraction });
  }

  /** Writes every volume; false (with a FailedMount event) when one cannot be set up yet. */
  private async prepareVolumes(pod: KubeObject, spec: PodSpec, sources: VolumeSources, state: PodState): Promise<boolean> {
    const uid = pod.metadata!.uid!;
    for (const volume of spec.volumes ?? []) {
      const content = volumeContent(volume, sources);
      switch (content.kind) {
        case 'dir':
          this.volumeDirs.set(`${uid}/${volume.name}`, await this.o.volumes.ensureDir(uid, volume.name));
          break;
        case 'files':
          this.volumeDirs.set(`${uid}/${volume.name}`, await this.o.volumes.writeFiles(uid, volume.name, content.files));
          break;
        case 'error':
          this.o.record(pod, { type: 'Warning', reason: content.reason, message: content.message });
          for (const c of spec.containers) state.waiting.set(c.name, { reason: 'ContainerCreating' });
          return false;
        default: {
          const never: never = content;
          throw new Error(`unknown volume content ${JSON.stringify(never)}`);
        }
      }
    }
    return true;
  }

  private unhealthy(runtime: RuntimePod): Set<string> {
    const names = new Set<string>();
    for (const c of runtime.containers) if (c.state === 'CONTAINER_RUNNING' && !this.probes.verdict(c.id).live) names.add(nameOf(c));
    return names;
  }

  /** When the crash-loop backoff of a container ends: its last finish plus the current delay. */
  private crashBackoffUntil(state: PodState, runtime: RuntimePod, name: string): number | undefined {
    const backoff = state.crashBackoff.get(name);
    if (backoff === undefined) return undefined;
    const now = this.o.clock.wallNow();
    // Upstream forgets a backoff entry untouched for twice the maximum: a container that ran long enough starts over.
    if (now - backoff.touchedMs > 2 * this.o.timing.crashLoopBackoffMaxMs) {
      state.crashBackoff.delete(name);
      return undefined;
    }
    const last = latestByName(runtime.containers).get(name);
    return last === undefined ? undefined : last.finishedAtMs + backoff.delayMs;
  }

  private bumpCrashBackoff(state: PodState, name: string): void {
    const current = state.crashBackoff.get(name);
    const delayMs = current === undefined ? this.o.timing.crashLoopBackoffStartMs : Math.min(current.delayMs * 2, this.o.timing.crashLoopBackoffMaxMs);
    state.crashBackoff.set(name, { delayMs, touchedMs: this.o.clock.wallNow() });
  }

  private async perform(pod: KubeObject, spec: PodSpec, actions: PodActions, runtime: RuntimePod, state: PodState, sources: VolumeSources): Promise<void> {
    const grace = terminationGraceSeconds(pod, spec);
    if (actions.killPod) await this.killPod(pod, runtime, grace, 'the pod sandbox changed, it will be killed and re-created');
    for (const kill of actions.containersToKill) {
      this.o.record(pod, { type: 'Normal', reason: 'Killing', message: `Container ${kill.name} ${kill.reason}` });
      await this.o.runtime.call({ type: 'stopContainer', containerId: kill.containerId, timeout: grace }, (grace + 5) * 1_000);
    }
    for (const b of actions.backingOff) {
      state.waiting.set(b.name, { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(state.crashBackoff.get(b.name)?.delayMs ?? 0)}ms restarting failed container=${b.name} pod=${pod.metadata!.name!}_${pod.metadata!.namespace!}(${pod.metadata!.uid!})` });
      this.o.record(pod, { type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${b.name} in pod ${pod.metadata!.name!}_${pod.metadata!.namespace!}(${pod.metadata!.uid!})` });
      this.o.resyncAt(pod.metadata!.uid!, podKeyOf(pod), this.o.clock.now() + Math.max(0, b.untilMs - this.o.clock.wallNow()));
    }
    let sandboxId = actions.sandboxId;
    let handler = runtime.sandboxes.find((sb) => sb.id === sandboxId)?.runtimeHandler ?? '';
    if (actions.createSandbox) {
      if (this.podCidr === undefined) return;
      const created = await this.createSandbox(pod, spec, actions.sandboxAttempt);
      if (created === undefined) return;
      ({ sandboxId, handler } = created);
    }
    if (sandboxId === undefined) return;
    const ip = actions.createSandbox ? (await this.o.runtime.call({ type: 'podSandboxStatus', podSandboxId: sandboxId })).status.network.ip : sources.podIp;
    for (const start of actions.containersToStart) {
      // Init containers start one per sync (the next once this one exited 0); regular ones all.
      const started = await this.startContainer(pod, spec, start, sandboxId, { ...sources, podIp: ip }, state, handler === processRuntimeHandler);
      if (start.attempt > 0) this.bumpCrashBackoff(state, start.spec.name);
      if (!started || start.init) break;
    }
  }

  /**
   * The pod's RuntimeClass resolved to its handler (as upstream's runtimeClassManager does), then
   * RunPodSandbox. Undefined when either failed: a FailedCreatePodSandBox event, and a retry.
   */
  private async createSandbox(pod: KubeObject, spec: PodSpec, attempt: number): Promise<{ sandboxId: string; handler: string } | undefined> {
    const fail = (message: string): undefined => {
      this.o.record(pod, { type: 'Warning', reason: 'FailedCreatePodSandBox', message: `Failed to create pod sandbox: ${message}` });
      this.o.resyncAt(pod.metadata!.uid!, podKeyOf(pod), this.o.clock.now() + retryMs);
      return undefined;
    };
    let handler = '';
    if (spec.runtimeClassName !== undefined && spec.runtimeClassName !== '') {
      try {
        const runtimeClass = await this.o.client.get(runtimeClassesRef, undefined, spec.runtimeClassName);
        handler = typeof runtimeClass['handler'] === 'string' ? runtimeClass['handler'] : '';
      } catch (error) {
        if (isNotFound(error)) return fail(`RuntimeClass "${spec.runtimeClassName}" not found`);
        throw error;
      }
    }
    try {
      const reply = await this.o.runtime.call({ type: 'runPodSandbox', config: this.sandboxConfig(pod, spec, attempt), ...(handler === '' ? {} : { runtimeHandler: handler }) });
      this.sandboxToPod.set(reply.podSandboxId, pod.metadata!.uid!);
      return { sandboxId: reply.podSandboxId, handler };
    } catch (error) {
      if (error instanceof CriCallError && error.code !== 'Unreachable') return fail(error.message);
      throw error;
    }
  }

  private sandboxConfig(pod: KubeObject, spec: PodSpec, attempt: number): PodSandboxConfig {
    const m = pod.metadata!;
    const ns = m.namespace ?? 'default';
    const d = this.o.clusterDomain;
    const dnsConfig = spec.dnsPolicy === 'Default' || (spec.hostNetwork === true && spec.dnsPolicy !== 'ClusterFirstWithHostNet')
      ? { servers: [], searches: [], options: [] }
      : {
        servers: [...(spec.dnsPolicy === 'None' ? [] : this.o.clusterDns), ...(spec.dnsConfig?.nameservers ?? [])],
        searches: [...(spec.dnsPolicy === 'None' ? [] : [`${ns}.svc.${d}`, `svc.${d}`, d]), ...(spec.dnsConfig?.searches ?? [])],
        options: ['ndots:5', ...(spec.dnsConfig?.options ?? []).map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`))],
      };
    const portMappings = spec.containers.flatMap((c) => c.ports ?? []).filter((p) => p.protocol !== 'SCTP')
      .map((p) => ({ protocol: p.protocol === 'UDP' ? 'UDP' as const : 'TCP' as const, containerPort: p.containerPort, ...(p.hostPort === undefined ? {} : { hostPort: p.hostPort }) }));
    return {
      metadata: { name: m.name!, uid: m.uid!, namespace: ns, attempt }, hostname: spec.hostname ?? m.name!, dnsConfig, portMappings,
      labels: { ...(m.labels ?? {}), [criLabels.podUid]: m.uid!, [criLabels.podName]: m.name!, [criLabels.podNamespace]: ns },
      annotations: { ...(m.annotations ?? {}) }, ...(spec.hostNetwork === true ? { hostNetwork: true } : {}),
    };
  }

  /** Pull, create, start; false when it could not (the reason is left as the container's waiting state). */
  private async startContainer(pod: KubeObject, spec: PodSpec, start: ContainerStart, sandboxId: string, sources: VolumeSources, state: PodState, onHost: boolean): Promise<boolean> {
    const c = start.spec;
    // The `process` handler runs the command on the host: there is no image to pull.
    if (!onHost && !(await this.pull(pod, c.image, c.name, c.imagePullPolicy, state))) return false;
    const env = containerEnv(c, sources);
    if (!env.ok) {
      state.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: env.message });
      this.o.record(pod, { type: 'Warning', reason: 'Failed', message: `Error: ${env.message}` });
      this.o.resyncAt(pod.metadata!.uid!, podKeyOf(pod), this.o.clock.now() + retryMs);
      return false;
    }
    const uid = pod.metadata!.uid!;
    const config: ContainerConfig = {
      metadata: { name: c.name, attempt: start.attempt }, image: { image: c.image }, ...expandCommand(c, env.env),
      ...(c.workingDir === undefined ? {} : { workingDir: c.workingDir }),
      envs: Object.entries(env.env).map(([key, value]) => ({ key, value })),
      mounts: containerMounts(c, (volume) => this.volumeDirs.get(`${uid}/${volume}`) ?? volume),
      labels: { [criLabels.podUid]: uid, [criLabels.podName]: pod.metadata!.name!, [criLabels.podNamespace]: pod.metadata!.namespace!, [criLabels.containerName]: c.name },
      annotations: {}, stdin: c.stdin === true, tty: c.tty === true, logPath: `${c.name}/${start.attempt}.log`,
    };
    try {
      const created = await this.o.runtime.call({ type: 'createContainer', podSandboxId: sandboxId, config, sandboxConfig: this.sandboxConfig(pod, spec, 0) });
      this.o.record(pod, { type: 'Normal', reason: 'Created', message: `Created container ${c.name}` });
      await this.o.runtime.call({ type: 'startContainer', containerId: created.containerId });
      this.o.record(pod, { type: 'Normal', reason: 'Started', message: `Started container ${c.name}` });
      state.waiting.delete(c.name);
      const postStart = c.lifecycle?.postStart;
      return postStart === undefined ? true : await this.runPostStart(pod, spec, c, postStart, created.containerId, sources.podIp);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      state.waiting.set(c.name, { reason: 'CreateContainerError', message });
      this.o.record(pod, { type: 'Warning', reason: 'Failed', message: `Error: ${message}` });
      this.o.resyncAt(uid, podKeyOf(pod), this.o.clock.now() + retryMs);
      return false;
    }
  }

  private async pull(pod: KubeObject, image: string, name: string, policy: PodSpec['containers'][number]['imagePullPolicy'], state: PodState): Promise<boolean> {
    const backoff = state.pullBackoff.get(name);
    const now = this.o.clock.now();
    if (backoff !== undefined && now < backoff.untilMs) {
      state.waiting.set(name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ${backoff.message}` });
      this.o.resyncAt(pod.metadata!.uid!, podKeyOf(pod), backoff.untilMs);
      return false;
    }
    const present = (await this.o.runtime.call({ type: 'imageStatus', image: { image } })).image !== undefined;
    if (present && policy !== 'Always') {
      this.o.record(pod, { type: 'Normal', reason: 'Pulled', message: `Container image "${image}" already present on machine` });
      return true;
    }
    if (policy === 'Never') {
      state.waiting.set(name, { reason: 'ErrImageNeverPull', message: `Container image "${image}" is not present with pull policy of Never` });
      return false;
    }
    this.o.record(pod, { type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` });
    const startMs = this.o.clock.now();
    try {
      await this.o.runtime.call({ type: 'pullImage', image: { image } });
      state.pullBackoff.delete(name);
      this.o.record(pod, { type: 'Normal', reason: 'Pulled', message: `Successfully pulled image "${image}" in ${Math.round(this.o.clock.now() - startMs)}ms` });
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const delayMs = backoff === undefined ? this.o.timing.crashLoopBackoffStartMs : Math.min(backoff.delayMs * 2, this.o.timing.crashLoopBackoffMaxMs);
      state.pullBackoff.set(name, { delayMs, touchedMs: now, untilMs: now + delayMs, message });
      state.waiting.set(name, { reason: 'ErrImagePull', message });
      this.o.record(pod, { type: 'Warning', reason: 'Failed', message: `Failed to pull image "${image}": ${message}` });
      this.o.resyncAt(pod.metadata!.uid!, podKeyOf(pod), now + delayMs);
      return false;
    }
  }

  private trackProbes(uid: string, spec: PodSpec, runtime: RuntimePod): void {
    const running = new Set<string>();
    const ip = runtime.sandboxes[0]?.network.ip ?? '';
    for (const c of runtime.containers) {
      if (c.state !== 'CONTAINER_RUNNING') continue;
      const container = spec.containers.find((s) => s.name === nameOf(c));
      if (container === undefined) continue;
      running.add(c.id);
      this.probes.add(uid, c.id, ip, container, this.o.clock.now() - Math.max(0, this.o.clock.wallNow() - c.startedAtMs));
    }
    this.probes.retainFor(uid, running);
  }

  private async postStatus(pod: KubeObject, spec: PodSpec, runtime: RuntimePod, state: PodState): Promise<void> {
    const latest = latestByName(runtime.containers);
    const status = computePodStatus({
      pod, spec, runtime, hostIp: this.o.node.nodeIp, nowMs: this.o.clock.wallNow(),
      waiting: (name) => {
        const w = state.waiting.get(name);
        const c = latest.get(name);
        // A waiting reason holds until the container runs again.
        return c?.state === 'CONTAINER_RUNNING' ? undefined : w;
      },
      ready: (name) => this.probes.verdict(latest.get(name)?.id).ready,
      started: (name) => this.probes.verdict(latest.get(name)?.id).started,
      ...(state.failed === undefined ? {} : { failed: state.failed }),
    });
    if (deepEqual(status, pod['status'])) return;
    try {
      await this.o.client.patch(podsRef, pod.metadata!.namespace, pod.metadata!.name!, { metadata: { uid: pod.metadata!.uid }, status }, { type: 'merge', subresource: 'status' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Stops every running container (grace period each) and the sandboxes. */
  private async killPod(pod: KubeObject, runtime: RuntimePod, graceSeconds: number, why: string): Promise<void> {
    const running = runtime.containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED');
    await Promise.all(running.map(async (c) => {
      this.o.record(pod, { type: 'Normal', reason: 'Killing', message: `Stopping container ${nameOf(c)}${why === '' ? '' : `: ${why}`}` });
      await this.runPreStop(pod, c, graceSeconds);
      await this.o.runtime.call({ type: 'stopContainer', containerId: c.id, timeout: graceSeconds }, (graceSeconds + 5) * 1_000);
    }));
    for (const s of runtime.sandboxes) if (s.state === 'SANDBOX_READY') await this.o.runtime.call({ type: 'stopPodSandbox', podSandboxId: s.id });
  }

  /**
   * The postStart hook, before the container counts as started (upstream blocks the pod worker the
   * same way). A failure is FailedPostStartHook and the container is killed: the restart policy
   * then decides, as for any exit.
   */
  private async runPostStart(pod: KubeObject, spec: PodSpec, c: PodSpec['containers'][number], handler: LifecycleHandler, containerId: string, podIp: string): Promise<boolean> {
    const outcome = await runLifecycleHandler(this.o, handler, { containerId, podIp, ports: c.ports, timeoutSeconds: terminationGraceSeconds(pod, spec) });
    if (outcome.success) return true;
    this.o.record(pod, { type: 'Warning', reason: 'FailedPostStartHook', message: `PostStartHook failed: ${outcome.message}` });
    this.o.record(pod, { type: 'Normal', reason: 'Killing', message: `FailedPostStartHook: stopping container ${c.name}` });
    await this.o.runtime.call({ type: 'stopContainer', containerId, timeout: 0 });
    return false;
  }

  private async runPreStop(pod: KubeObject, container: ContainerStatus, graceSeconds: number): Promise<void> {
    const spec = podSpec(pod);
    const c = spec.containers.find((s) => s.name === nameOf(container));
    const handler = c?.lifecycle?.preStop;
    if (handler === undefined || container.state !== 'CONTAINER_RUNNING') return;
    const podIp = (await this.runtimePod(pod.metadata!.uid!)).sandboxes[0]?.network.ip ?? '';
    const outcome = await runLifecycleHandler(this.o, handler, { containerId: container.id, podIp, ports: c?.ports, timeoutSeconds: graceSeconds });
    if (!outcome.success) this.o.record(pod, { type: 'Warning', reason: 'FailedPreStopHook', message: `PreStopHook failed: ${outcome.message}` });
  }

  /** A pod being deleted: stop it within its grace period, report, then finish the deletion (grace 0, uid precondition). */
  private async terminate(pod: KubeObject, runtime: RuntimePod, state: PodState): Promise<void> {
    const spec = podSpec(pod);
    await this.killPod(pod, runtime, terminationGraceSeconds(pod, spec), '');
    const after = await this.runtimePod(pod.metadata!.uid!);
    this.probes.retainFor(pod.metadata!.uid!, new Set());
    await this.postStatus(pod, spec, after, state);
    if (!state.deleteRequested) {
      state.deleteRequested = true;
      await this.o.client.delete(podsRef, pod.metadata!.namespace, pod.metadata!.name!, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata!.uid! } })
        .catch((error: unknown) => { if (!isNotFound(error)) { state.deleteRequested = false; throw error; } });
    }
    await this.removeAll(pod.metadata!.uid!, after);
  }

  /** A pod that reached Succeeded or Failed: its sandbox stops (its containers already exited). */
  private async finish(uid: string, runtime: RuntimePod): Promise<void> {
    this.probes.retainFor(uid, new Set());
    for (const c of runtime.containers) if (c.state === 'CONTAINER_RUNNING') await this.o.runtime.call({ type: 'stopContainer', containerId: c.id, timeout: 0 });
    for (const s of runtime.sandboxes) if (s.state === 'SANDBOX_READY') await this.o.runtime.call({ type: 'stopPodSandbox', podSandboxId: s.id });
  }

  /** A pod the API no longer binds here (deleted, or never known after a restart): remove all of it. */
  private async teardown(uid: string, runtime: RuntimePod): Promise<void> {
    for (const c of runtime.containers) if (c.state === 'CONTAINER_RUNNING') await this.o.runtime.call({ type: 'stopContainer', containerId: c.id, timeout: 0 });
    for (const s of runtime.sandboxes) if (s.state === 'SANDBOX_READY') await this.o.runtime.call({ type: 'stopPodSandbox', podSandboxId: s.id });
    await this.removeAll(uid, runtime);
    this.states.delete(uid);
    this.probes.retainFor(uid, new Set());
  }

  private async removeAll(uid: string, runtime: RuntimePod): Promise<void> {
    for (const c of runtime.containers) await this.o.runtime.call({ type: 'removeContainer', containerId: c.id });
    for (const s of runtime.sandboxes) {
      await this.o.runtime.call({ type: 'removePodSandbox', podSandboxId: s.id });
      this.sandboxToPod.delete(s.id);
    }
    await this.o.volumes.removePod(uid);
    for (const key of this.volumeDirs.keys()) if (key.startsWith(`${uid}/`)) this.volumeDirs.delete(key);
  }

  /** Keeps the current and previous attempt of each container; older exited ones are removed (upstream's container GC). */
  private async collectDeadContainers(runtime: RuntimePod): Promise<void> {
    const byName = new Map<string, ContainerStatus[]>();
    for (const c of runtime.containers) byName.set(nameOf(c), [...(byName.get(nameOf(c)) ?? []), c]);
    for (const list of byName.values()) {
      const dead = list.filter((c) => c.state === 'CONTAINER_EXITED').sort((a, b) => b.metadata.attempt - a.metadata.attempt);
      const keep = list.some((c) => c.state !== 'CONTAINER_EXITED') ? deadContainersKeptPerName : deadContainersKeptPerName + 1;
      for (const c of dead.slice(keep)) await this.o.runtime.call({ type: 'removeContainer', containerId: c.id });
    }
  }

  private recordFor(uid: string, event: Omit<EventRecord, 'involvedObject'>, containerName: string): void {
    const pod = this.o.admittedPods().find((p) => p.metadata?.uid === uid);
    if (pod !== undefined) this.o.record(pod, { ...event, message: `${event.message} (container ${containerName})` });
  }
}

function nameOf(c: ContainerStatus): string {
  return c.labels[criLabels.containerName] ?? c.metadata.name;
}

function podKeyOf(pod: KubeObject): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
