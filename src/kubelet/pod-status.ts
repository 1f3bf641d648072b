/**
 * The pod status the kubelet reports, computed from the runtime's view (upstream's
 * generateAPIPodStatus and getPhase in pkg/kubelet/kubelet_pods.go). Pure: times are given.
 */
import { podQosClass } from '../api/objects.js';
import { formatRfc3339 } from '../api/time.js';
import { asArray, asRecord, type JsonObject, type KubeObject } from '../api/types.js';
import type { ContainerStatus } from '../cri/messages.js';
import { criLabels, latestByName, type RuntimePod } from './pod-actions.js';
import { initContainersOf, restartPolicyOf, type ContainerSpec, type PodSpec } from './pod-spec.js';

export interface WaitingReason {
  readonly reason: string;
  readonly message?: string;
}

export interface PodStatusInput {
  readonly pod: KubeObject;
  readonly spec: PodSpec;
  readonly runtime: RuntimePod;
  readonly hostIp: string;
  readonly nowMs: number;
  /** Why a container that is not running waits (ErrImagePull, CrashLoopBackOff, CreateContainerConfigError...). */
  readonly waiting: (containerName: string) => WaitingReason | undefined;
  /** Readiness per container (its readiness probe; true for a running container without one). */
  readonly ready: (containerName: string) => boolean;
  /** Started per container (its startup probe; true for a running container without one). */
  readonly started: (containerName: string) => boolean;
  /** Set when the kubelet rejected the pod at admission or an init container failed for good. */
  readonly failed?: { readonly reason: string; readonly message: string };
}

type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

const rfc = (ms: number): string => formatRfc3339(ms);

function stateOf(status: ContainerStatus | undefined, waiting: WaitingReason | undefined, defaultReason: string): JsonObject {
  if (status === undefined || status.state === 'CONTAINER_CREATED') return { waiting: { reason: waiting?.reason ?? defaultReason, ...(waiting?.message === undefined ? {} : { message: waiting.message }) } };
  if (status.state === 'CONTAINER_RUNNING') return { running: { startedAt: rfc(status.startedAtMs) } };
  return { terminated: terminated(status) };
}

function terminated(status: ContainerStatus): JsonObject {
  return {
    exitCode: status.exitCode, reason: status.reason || (status.exitCode === 0 ? 'Completed' : 'Error'),
    ...(status.message === '' ? {} : { message: status.message }),
    startedAt: status.startedAtMs > 0 ? rfc(status.startedAtMs) : null, finishedAt: rfc(status.finishedAtMs),
    containerID: `pocketkube://${status.id}`,
  };
}

/** One entry of status.containerStatuses / initContainerStatuses. */
function containerStatus(input: PodStatusInput, spec: ContainerSpec, all: readonly ContainerStatus[], init: boolean): JsonObject {
  const mine = all.filter((c) => (c.labels[criLabels.containerName] ?? c.metadata.name) === spec.name).sort((a, b) => b.metadata.attempt - a.metadata.attempt || b.createdAtMs - a.createdAtMs);
  const current = mine[0];
  const previous = mine[1];
  const waiting = input.waiting(spec.name);
  // A container waiting to restart shows Waiting (CrashLoopBackOff) with the run that ended as lastState.
  const restarting = current !== undefined && current.state === 'CONTAINER_EXITED' && waiting !== undefined;
  const running = current?.state === 'CONTAINER_RUNNING';
  const state = restarting ? { waiting: { reason: waiting.reason, ...(waiting.message === undefined ? {} : { message: waiting.message }) } } : stateOf(current, waiting, init ? 'PodInitializing' : 'ContainerCreating');
  const last = restarting ? current : previous;
  return {
    name: spec.name, image: spec.image, imageID: current?.imageRef ?? '',
    ...(current === undefined ? {} : { containerID: `pocketkube://${current.id}` }),
    state, lastState: last === undefined || last.state !== 'CONTAINER_EXITED' ? {} : { terminated: terminated(last) },
    ready: running && input.ready(spec.name), restartCount: current?.metadata.attempt ?? 0,
    started: running && input.started(spec.name),
  };
}

function phaseOf(input: PodStatusInput, latest: ReadonlyMap<string, ContainerStatus>, initDone: boolean): Phase {
  if (input.failed !== undefined) return 'Failed';
  if (!initDone) return 'Pending';
  const policy = restartPolicyOf(input.spec);
  let running = 0;
  let waiting = 0;
  let succeeded = 0;
  let failed = 0;
  for (const c of input.spec.containers) {
    const s = latest.get(c.name);
    if (s === undefined || s.state === 'CONTAINER_CREATED') waiting++;
    else if (s.state === 'CONTAINER_RUNNING') running++;
    else if (s.exitCode === 0) succeeded++;
    else failed++;
  }
  if (waiting > 0 && running === 0 && succeeded + failed === 0) return 'Pending';
  if (running > 0) return 'Running';
  if (waiting > 0) return policy === 'Never' ? 'Pending' : 'Running';
  // Every container terminated.
  if (policy === 'Always') return 'Running';
  if (failed > 0) return policy === 'Never' ? 'Failed' : 'Running';
  return 'Succeeded';
}

function initDoneOf(spec: PodSpec, latest: ReadonlyMap<string, ContainerStatus>): boolean {
  return initContainersOf(spec).every((c) => { const s = latest.get(c.name); return s !== undefined && s.state === 'CONTAINER_EXITED' && s.exitCode === 0; });
}

/** Keeps a condition's lastTransitionTime while its status is unchanged. */
function condition(previous: readonly JsonObject[], type: string, status: boolean, nowMs: number, reason?: string): JsonObject {
  const value = status ? 'True' : 'False';
  const before = previous.find((c) => c['type'] === type);
  const lastTransitionTime = before !== undefined && before['status'] === value && typeof before['lastTransitionTime'] === 'string' ? before['lastTransitionTime'] : rfc(nowMs);
  return { type, status: value, lastProbeTime: null, lastTransitionTime, ...(reason === undefined || status ? {} : { reason }) };
}

export function computePodStatus(input: PodStatusInput): JsonObject {
  const previous = asRecord(input.pod['status']) ?? {};
  const previousConditions = asArray(previous['conditions']) as JsonObject[];
  const sandbox = input.runtime.sandboxes[0];
  const inSandbox = sandbox === undefined ? [] : input.runtime.containers.filter((c) => c.podSandboxId === sandbox.id);
  // Statuses come from every attempt (lastState reaches back into a replaced sandbox).
  const all = input.runtime.containers;
  const latest = latestByName(inSandbox.length > 0 ? inSandbox : all);
  const initDone = initDoneOf(input.spec, latest);
  const phase = phaseOf(input, latest, initDone);
  const containerStatuses = input.spec.containers.map((c) => containerStatus(input, c, all, false));
  const initContainerStatuses = initContainersOf(input.spec).map((c) => containerStatus(input, c, all, true));
  const containersReady = phase === 'Running' && containerStatuses.every((c) => c['ready'] === true);
  const sandboxReady = sandbox?.state === 'SANDBOX_READY';
  const scheduled = previousConditions.find((c) => c['type'] === 'PodScheduled');
  const ip = sandbox?.network.ip ?? (typeof previous['podIP'] === 'string' ? previous['podIP'] : '');
  const notReady = containerStatuses.filter((c) => c['ready'] !== true).map((c) => c['name'] as string);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const conditions = [
    condition(previousConditions, 'PodReadyToStartContainers', sandboxReady, input.nowMs),
    condition(previousConditions, 'Initialized', initDone, input.nowMs, 'ContainersNotInitialized'),
    condition(previousConditions, 'Ready', containersReady, input.nowMs, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    condition(previousConditions, 'ContainersReady', containersReady, input.nowMs, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    scheduled ?? condition([], 'PodScheduled', true, input.nowMs),
  ];
  const status: JsonObject = {
    ...previous,
    phase, conditions, hostIP: input.hostIp, hostIPs: [{ ip: input.hostIp }],
    startTime: typeof previous['startTime'] === 'string' ? previous['startTime'] : rfc(input.nowMs),
    containerStatuses, qosClass: podQosClass(input.pod),
    ...(initContainerStatuses.length === 0 ? {} : { initContainerStatuses }),
    ...(input.failed === undefined ? {} : { reason: input.failed.reason, message: input.failed.message }),
  };
  if (ip !== '') {
    status['podIP'] = ip;
    status['podIPs'] = [{ ip }];
  }
  if (!containersReady && !terminal && notReady.length > 0) {
    const ready = conditions.find((c) => c['type'] === 'Ready')!;
    ready['message'] = `containers with unready status: [${notReady.join(' ')}]`;
  }
  return status;
}
