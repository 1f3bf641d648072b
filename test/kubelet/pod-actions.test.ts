import test from 'ava';
import type { ContainerStatus, PodSandboxStatus } from '../../src/cri/messages.js';
import { computePodActions, criLabels, type RuntimePod } from '../../src/kubelet/pod-actions.js';
import type { PodSpec } from '../../src/kubelet/pod-spec.js';
import { computePodStatus } from '../../src/kubelet/pod-status.js';

const sandbox = (id: string, state: PodSandboxStatus['state'] = 'SANDBOX_READY', attempt = 0): PodSandboxStatus => ({
  id, metadata: { name: 'p', uid: 'u1', namespace: 'default', attempt }, state, createdAtMs: 1_000 + attempt, network: { ip: '127.244.1.2' },
  labels: { [criLabels.podUid]: 'u1' }, annotations: {}, runtimeHandler: '',
});
const container = (name: string, o: Partial<ContainerStatus> & { attempt?: number } = {}): ContainerStatus => ({
  id: `${name}-${o.attempt ?? 0}`, podSandboxId: 's1', metadata: { name, attempt: o.attempt ?? 0 }, state: 'CONTAINER_RUNNING',
  createdAtMs: 1_000, startedAtMs: 1_001, finishedAtMs: 0, exitCode: 0, image: { image: 'nginx' }, imageRef: 'sha256:nginx', reason: '', message: '',
  labels: { [criLabels.containerName]: name }, annotations: {}, ...o,
});
const spec = (o: Partial<PodSpec> = {}): PodSpec => ({ containers: [{ name: 'web', image: 'nginx' }], ...o });
const actions = (s: PodSpec, runtime: RuntimePod, o: { backoff?: number; unhealthy?: string[]; now?: number } = {}) => computePodActions({
  spec: s, runtime, nowMs: o.now ?? 10_000, unhealthy: new Set(o.unhealthy ?? []), backoffUntilMs: () => o.backoff,
});

test('a new pod gets a sandbox and its first init container only; without init containers, every container', (t) => {
  const fresh = actions(spec({ initContainers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] }), { sandboxes: [], containers: [] });
  t.true(fresh.createSandbox);
  t.deepEqual(fresh.containersToStart.map((c) => [c.spec.name, c.init]), [['a', true]]);
  const plain = actions(spec({ containers: [{ name: 'x', image: 'nginx' }, { name: 'y', image: 'nginx' }] }), { sandboxes: [], containers: [] });
  t.deepEqual(plain.containersToStart.map((c) => c.spec.name), ['x', 'y']);
});

test('init containers run in order, each to success; a failed one restarts unless restartPolicy is Never', (t) => {
  const s = spec({ initContainers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] });
  const running = actions(s, { sandboxes: [sandbox('s1')], containers: [container('a')] });
  t.deepEqual(running.containersToStart, []);
  const aDone = actions(s, { sandboxes: [sandbox('s1')], containers: [container('a', { state: 'CONTAINER_EXITED', exitCode: 0 })] });
  t.deepEqual(aDone.containersToStart.map((c) => c.spec.name), ['b']);
  const bothDone = actions(s, { sandboxes: [sandbox('s1')], containers: [container('a', { state: 'CONTAINER_EXITED' }), container('b', { state: 'CONTAINER_EXITED' })] });
  t.deepEqual(bothDone.containersToStart.map((c) => [c.spec.name, c.init]), [['web', false]]);
  const aFailed = { sandboxes: [sandbox('s1')], containers: [container('a', { state: 'CONTAINER_EXITED', exitCode: 1 })] };
  t.deepEqual(actions(s, aFailed).containersToStart.map((c) => [c.spec.name, c.attempt]), [['a', 1]]);
  t.true(actions({ ...s, restartPolicy: 'Never' }, aFailed).initFailed);
});

test('restartPolicy decides restarts; a restart waits out its crash-loop backoff', (t) => {
  const exited = (code: number) => ({ sandboxes: [sandbox('s1')], containers: [container('web', { state: 'CONTAINER_EXITED', exitCode: code, finishedAtMs: 9_000 })] });
  t.deepEqual(actions(spec(), exited(0)).containersToStart.map((c) => c.attempt), [1]);
  t.deepEqual(actions(spec({ restartPolicy: 'OnFailure' }), exited(0)).containersToStart, []);
  t.deepEqual(actions(spec({ restartPolicy: 'OnFailure' }), exited(2)).containersToStart.map((c) => c.attempt), [1]);
  t.deepEqual(actions(spec({ restartPolicy: 'Never' }), exited(2)).containersToStart, []);
  const waiting = actions(spec(), exited(1), { backoff: 12_000, now: 10_000 });
  t.deepEqual(waiting.containersToStart, []);
  t.deepEqual(waiting.backingOff, [{ name: 'web', untilMs: 12_000 }]);
});

test('a container failing its liveness probe is killed; a dead sandbox is replaced with the next attempt', (t) => {
  const live = actions(spec(), { sandboxes: [sandbox('s1')], containers: [container('web')] }, { unhealthy: ['web'] });
  t.deepEqual(live.containersToKill.map((k) => k.containerId), ['web-0']);
  const dead = actions(spec(), { sandboxes: [sandbox('s1', 'SANDBOX_NOTREADY')], containers: [container('web', { state: 'CONTAINER_EXITED', exitCode: 137 })] });
  t.true(dead.createSandbox);
  t.is(dead.sandboxAttempt, 1);
  t.deepEqual(dead.containersToStart.map((c) => c.attempt), [1]);
  // Under Never a finished pod's dead sandbox is not replaced.
  t.false(actions(spec({ restartPolicy: 'Never' }), { sandboxes: [sandbox('s1', 'SANDBOX_NOTREADY')], containers: [container('web', { state: 'CONTAINER_EXITED' })] }).createSandbox);
});

test('a running container whose spec image changed is killed and started again with the new image, whatever the restart policy', (t) => {
  const changed = spec({ restartPolicy: 'Never', containers: [{ name: 'web', image: 'registry.k8s.io/pause' }] });
  const a = actions(changed, { sandboxes: [sandbox('s1')], containers: [container('web')] });
  t.deepEqual(a.containersToKill.map((k) => [k.containerId, k.reason]), [['web-0', 'definition changed, will be restarted']]);
  t.deepEqual(a.containersToStart.map((c) => [c.spec.image, c.attempt]), [['registry.k8s.io/pause', 1]]);
  t.deepEqual(actions(spec(), { sandboxes: [sandbox('s1')], containers: [container('web')] }).containersToKill, [], 'the same image: left running');
});

test('pod status: phase, conditions, container states and restart counts from the runtime', (t) => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, spec: spec(), status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } };
  const status = (runtime: RuntimePod, o: { ready?: boolean; waiting?: string } = {}) => computePodStatus({
    pod, spec: spec(), runtime, hostIp: '127.10.1.1', nowMs: 20_000,
    waiting: () => (o.waiting === undefined ? undefined : { reason: o.waiting }), ready: () => o.ready ?? true, started: () => true,
  }) as { phase: string; podIP?: string; conditions: { type: string; status: string }[]; containerStatuses: { state: Record<string, { reason?: string }>; lastState: Record<string, unknown>; restartCount: number; ready: boolean }[] };
  const pending = status({ sandboxes: [], containers: [] }, { waiting: 'ErrImagePull' });
  t.is(pending.phase, 'Pending');
  t.is(pending.containerStatuses[0]!.state['waiting']!.reason, 'ErrImagePull');
  const running = status({ sandboxes: [sandbox('s1')], containers: [container('web')] });
  t.is(running.phase, 'Running');
  t.is(running.podIP, '127.244.1.2');
  t.like(running.conditions.find((c) => c.type === 'Ready'), { status: 'True' });
  t.like(status({ sandboxes: [sandbox('s1')], containers: [container('web')] }, { ready: false }).conditions.find((c) => c.type === 'Ready'), { status: 'False' });
  const looping = status({ sandboxes: [sandbox('s1')], containers: [container('web', { attempt: 0, state: 'CONTAINER_EXITED', exitCode: 1, finishedAtMs: 5_000 }), container('web', { attempt: 1, state: 'CONTAINER_EXITED', exitCode: 1, finishedAtMs: 9_000 })] }, { waiting: 'CrashLoopBackOff' });
  t.is(looping.phase, 'Running');
  t.is(looping.containerStatuses[0]!.restartCount, 1);
  t.is(looping.containerStatuses[0]!.state['waiting']!.reason, 'CrashLoopBackOff');
  t.like(looping.containerStatuses[0]!.lastState, { terminated: { exitCode: 1, reason: 'Error' } });
  const never = { ...pod, spec: spec({ restartPolicy: 'Never' }) };
  const done = computePodStatus({ pod: never, spec: spec({ restartPolicy: 'Never' }), runtime: { sandboxes: [sandbox('s1')], containers: [container('web', { state: 'CONTAINER_EXITED', exitCode: 0 })] }, hostIp: '127.10.1.1', nowMs: 1, waiting: () => undefined, ready: () => true, started: () => true });
  t.is(done['phase'], 'Succeeded');
});
