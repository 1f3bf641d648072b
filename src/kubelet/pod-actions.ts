/**
 * What one sync of a pod must ask the runtime to do, computed from the pod's spec and what the
 * runtime reports: the kubelet's `computePodActions` (pkg/kubelet/kuberuntime/kuberuntime_manager.go).
 * Pure: the pod worker performs the actions, then syncs again on the next runtime event.
 */
import type { ContainerStatus, PodSandboxStatus } from '../cri/messages.js';
import { initContainersOf, restartPolicyOf, type ContainerSpec, type PodSpec } from './pod-spec.js';

/** Labels the kubelet puts on sandboxes and containers (upstream's names), so a relist finds them again. */
export const criLabels = {
  podUid: 'io.kubernetes.pod.uid',
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  containerName: 'io.kubernetes.container.name',
} as const;

/** What the runtime holds for one pod. */
export interface RuntimePod {
  /** Newest first. */
  readonly sandboxes: readonly PodSandboxStatus[];
  /** Every container of the pod's sandboxes. */
  readonly containers: readonly ContainerStatus[];
}

export interface ContainerStart {
  readonly spec: ContainerSpec;
  readonly attempt: number;
  readonly init: boolean;
}

export interface PodActions {
  /** Stop every container and the sandbox first (the sandbox died or must be replaced). */
  readonly killPod: boolean;
  readonly createSandbox: boolean;
  readonly sandboxAttempt: number;
  /** The sandbox the containers run in (absent when one must be created). */
  readonly sandboxId?: string;
  readonly containersToStart: readonly ContainerStart[];
  readonly containersToKill: readonly { readonly containerId: string; readonly name: string; readonly reason: string }[];
  /** Containers that should restart but are in CrashLoopBackOff until the given time. */
  readonly backingOff: readonly { readonly name: string; readonly untilMs: number }[];
  /** An init container failed under restartPolicy Never: the pod has failed. */
  readonly initFailed: boolean;
}

export interface PodActionInput {
  readonly spec: PodSpec;
  readonly runtime: RuntimePod;
  readonly nowMs: number;
  /** When a container's crash-loop backoff ends (absent: no backoff). */
  readonly backoffUntilMs: (containerName: string) => number | undefined;
  /** Running containers whose liveness or startup probe failed: killed, then restarted per policy. */
  readonly unhealthy: ReadonlySet<string>;
}

/** The latest attempt of each container name. */
export function latestByName(containers: readonly ContainerStatus[]): Map<string, ContainerStatus> {
  const latest = new Map<string, ContainerStatus>();
  for (const c of containers) {
    const name = c.labels[criLabels.containerName] ?? c.metadata.name;
    const seen = latest.get(name);
    if (seen === undefined || c.metadata.attempt > seen.metadata.attempt || (c.metadata.attempt === seen.metadata.attempt && c.createdAtMs > seen.createdAtMs)) latest.set(name, c);
  }
  return latest;
}

function shouldRestart(policy: 'Always' | 'OnFailure' | 'Never', status: ContainerStatus): boolean {
  if (status.state !== 'CONTAINER_EXITED' && status.state !== 'CONTAINER_UNKNOWN') return false;
  switch (policy) {
    case 'Always': return true;
    case 'OnFailure': return status.exitCode !== 0;
    case 'Never': return false;
    default: {
      const never: never = policy;
      throw new Error(`unknown restartPolicy ${String(never)}`);
    }
  }
}

const nothing = { containersToStart: [], containersToKill: [], backingOff: [], initFailed: false } as const;

export function computePodActions(input: PodActionInput): PodActions {
  const { spec, runtime } = input;
  const sandbox = runtime.sandboxes[0];
  const latest = latestByName(runtime.containers);
  const policy = restartPolicyOf(spec);
  if (sandbox === undefined || sandbox.state !== 'SANDBOX_READY') {
    const attempt = sandbox === undefined ? 0 : sandbox.metadata.attempt + 1;
    // Under Never, a pod whose containers all ran is done: no new sandbox (upstream's podSandboxChanged + Never).
    const ranAll = spec.containers.every((c) => latest.get(c.name)?.state === 'CONTAINER_EXITED');
    if (sandbox !== undefined && policy === 'Never' && ranAll) return { ...nothing, killPod: sandbox.state === 'SANDBOX_READY', createSandbox: false, sandboxAttempt: attempt };
    const init = initContainersOf(spec)[0];
    const first = init === undefined ? spec.containers.map((c) => ({ spec: c, attempt: nextAttempt(latest, c.name), init: false })) : [{ spec: init, attempt: nextAttempt(latest, init.name), init: true }];
    return { ...nothing, killPod: sandbox !== undefined, createSandbox: true, sandboxAttempt: attempt, containersToStart: first };
  }
  const base = { killPod: false, createSandbox: false, sandboxAttempt: sandbox.metadata.attempt, sandboxId: sandbox.id };
  const inSandbox = latestByName(runtime.containers.filter((c) => c.podSandboxId === sandbox.id));
  const init = initActions(input, inSandbox, policy);
  if (init !== 'done') return { ...base, ...init };
  return { ...base, ...containerActions(input, inSandbox, policy) };
}

function nextAttempt(latest: ReadonlyMap<string, ContainerStatus>, name: string): number {
  const seen = latest.get(name);
  return seen === undefined ? 0 : seen.metadata.attempt + 1;
}

type Part = Pick<PodActions, 'containersToStart' | 'containersToKill' | 'backingOff' | 'initFailed'>;

/** Init containers run one at a time, in order, each to success, before any regular container. */
function initActions(input: PodActionInput, latest: ReadonlyMap<string, ContainerStatus>, policy: 'Always' | 'OnFailure' | 'Never'): Part | 'done' {
  for (const init of initContainersOf(input.spec)) {
    const status = latest.get(init.name);
    if (status === undefined) return { ...nothing, containersToStart: [{ spec: init, attempt: 0, init: true }] };
    if (status.state === 'CONTAINER_CREATED' || status.state === 'CONTAINER_RUNNING') return nothing;
    if (status.exitCode === 0) continue;
    // A failed init container restarts unless the pod never restarts (then the pod fails).
    if (policy === 'Never') return { ...nothing, initFailed: true };
    const untilMs = input.backoffUntilMs(init.name);
    if (untilMs !== undefined && untilMs > input.nowMs) return { ...nothing, backingOff: [{ name: init.name, untilMs }] };
    return { ...nothing, containersToStart: [{ spec: init, attempt: status.metadata.attempt + 1, init: true }] };
  }
  return 'done';
}

function containerActions(input: PodActionInput, latest: ReadonlyMap<string, ContainerStatus>, policy: 'Always' | 'OnFailure' | 'Never'): Part {
  const containersToStart: ContainerStart[] = [];
  const containersToKill: { containerId: string; name: string; reason: string }[] = [];
  const backingOff: { name: string; untilMs: number }[] = [];
  for (const container of input.spec.containers) {
    const status = latest.get(container.name);
    if (status === undefined) {
      containersToStart.push({ spec: container, attempt: 0, init: false });
      continue;
    }
    // Upstream's containerChanged: the spec's image is the one part of a container that may change
    // (`kubectl set image` on a bare pod, Chaos Mesh's pod-failure); restarted whatever the policy.
    if ((status.state === 'CONTAINER_RUNNING' || status.state === 'CONTAINER_CREATED') && status.image.image !== container.image) {
      containersToKill.push({ containerId: status.id, name: container.name, reason: 'definition changed, will be restarted' });
      containersToStart.push({ spec: container, attempt: status.metadata.attempt + 1, init: false });
      continue;
    }
    if (status.state === 'CONTAINER_RUNNING' && input.unhealthy.has(container.name)) {
      containersToKill.push({ containerId: status.id, name: container.name, reason: 'failed liveness probe, will be restarted' });
      continue;
    }
    if (!shouldRestart(policy, status)) continue;
    const untilMs = input.backoffUntilMs(container.name);
    if (untilMs !== undefined && untilMs > input.nowMs) backingOff.push({ name: container.name, untilMs });
    else containersToStart.push({ spec: container, attempt: status.metadata.attempt + 1, init: false });
  }
  return { containersToStart, containersToKill, backingOff, initFailed: false };
}
