/**
 * The kubelet core against the real apiserver core (in memory) and the real runtime core (in
 * memory, images on the in-memory pod network), under one virtual clock: registration, Lease,
 * pods run to Running with their IP, restart policies with crash-loop backoff, init containers
 * in order, image pull errors, liveness restarts, graceful deletion, logs, and orphan reaping.
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import type { KubeObject } from '../../src/api/index.js';
import { KubeClient } from '../../src/client/client.js';
import type { ContainerEvent, CriRequest, ResponseOf } from '../../src/cri/messages.js';
import { Kubelet } from '../../src/kubelet/kubelet.js';
import { defaultNodeCapacity } from '../../src/kubelet/messages.js';
import { CriCallError, type Prober, type RuntimeService, type VolumeHost } from '../../src/kubelet/services.js';
import { profile } from '../../src/runtime/profiles.js';
import { advance, podRef, startServer } from '../client/helpers.js';
import { fixture } from '../cri/helpers.js';
import type { Address } from '../../src/primitives/address.js';
import type { PodStreamTell } from '../../src/apiserver/pod-stream.js';

const nodeRef = { apiVersion: 'v1', kind: 'Node' } as const;
const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const fast = profile('fast');
const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function world(options: { readonly sendStream?: (peer: Address, tell: PodStreamTell) => void } = {}) {
  const server = await startServer({ tokenIssuer: { signingKeyPem: signingKey } });
  const clock = server.clock;
  const cri = fixture({ clock, ...options });
  const events: ContainerEvent[] = [];
  const runtime: RuntimeService = {
    call: async <R extends CriRequest>(request: R): Promise<ResponseOf<R>> => {
      const reply = await cri.runtime.handle(request);
      if (reply.type === 'criError') throw new CriCallError(reply.code, reply.message);
      return reply as ResponseOf<R>;
    },
  };
  const volumes: VolumeHost = {
    ensureDir: async (uid, name) => `/pods/${uid}/volumes/${name}`,
    writeFiles: async (uid, name, files) => {
      for (const [path, content] of Object.entries(files)) await cri.fs.writeFile(`/pods/${uid}/volumes/${name}/${path}`, new TextEncoder().encode(content));
      return `/pods/${uid}/volumes/${name}`;
    },
    removePod: async (uid) => { for (const path of [...cri.fs.files.keys()]) if (path.startsWith(`/pods/${uid}/`)) cri.fs.files.delete(path); },
  };
  const prober: Prober = {
    http: async () => ({ success: false, message: 'no http prober in this test' }),
    tcp: async (t) => cri.fabric.podNetwork('127.10.1.1').connect(t.host, t.port).then((s) => { s.destroy(); return { success: true, message: '' }; }, (e: Error) => ({ success: false, message: e.message })),
  };
  const errors: string[] = [];
  const client = new KubeClient({ transport: server.server, clock, requestTimeoutMs: 5_000 });
  const makeKubelet = () => new Kubelet({
    client, clock, runtime, prober, volumes, clusterDns: ['127.96.0.10'], clusterDomain: 'cluster.local',
    node: { nodeName: 'worker-1', nodeIp: '127.10.1.1', capacity: defaultNodeCapacity, labels: {}, taints: [], kubeletPort: 10250 },
    timing: {
      nodeLeaseRenewMs: fast.nodeLeaseRenewMs, nodeStatusUpdateMs: fast.nodeStatusUpdateMs, nodeStatusReportMs: fast.nodeStatusReportMs,
      relistMs: fast.plegRelistMs, crashLoopBackoffStartMs: fast.crashLoopBackoffStartMs, crashLoopBackoffMaxMs: fast.crashLoopBackoffMaxMs,
      metricsResolutionMs: fast.metricsResolutionMs,
    },
    onError: (e, what) => errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`),
  });
  const kubelet = makeKubelet();
  // What the root-ca-cert-publisher would do: the projected ServiceAccount volume mounts it.
  await server.api.put({ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'default' }, data: { 'ca.crt': 'test CA' } });
  kubelet.start();
  await advance(clock, 1_000);
  // What the node IPAM controller would do (no controller-manager here).
  await client.patch(nodeRef, undefined, 'worker-1', { spec: { podCIDR: '127.244.1.0/24', podCIDRs: ['127.244.1.0/24'] } }, { type: 'strategic' });
  await advance(clock, 1_000);
  const get = (name: string) => server.api.stored(podRef, 'default', name);
  const create = async (name: string, spec: Record<string, unknown>) => server.api.put(podRef, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: 'worker-1', ...spec } });
  return { server, clock, cri, client, kubelet, makeKubelet, events, errors, get, create };
}

const statusOf = (pod: KubeObject | undefined) => (pod?.['status'] ?? {}) as {
  phase?: string; podIP?: string; conditions?: { type: string; status: string }[];
  containerStatuses?: { name: string; restartCount: number; ready: boolean; state: Record<string, { reason?: string; exitCode?: number }>; lastState: Record<string, { exitCode?: number }> }[];
  initContainerStatuses?: { name: string; state: Record<string, { reason?: string; exitCode?: number }> }[];
};

test('the kubelet registers its node Ready with its capacity, renews its Lease, and runs a pod to Running with an address from its podCIDR', async (t) => {
  const w = await world();
  const node = await w.server.api.stored(nodeRef, undefined, 'worker-1');
  t.like(node?.['status'], { capacity: { cpu: '4', memory: '8Gi', pods: '110' } });
  t.like(((node?.['status'] as { conditions: { type: string; status: string }[] }).conditions).find((c) => c.type === 'Ready'), { status: 'True' });
  t.truthy(await w.server.api.stored(leaseRef, 'kube-node-lease', 'worker-1'));
  await w.create('web', { containers: [{ name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] });
  await advance(w.clock, 2_000);
  const status = statusOf(await w.get('web'));
  t.is(status.phase, 'Running', JSON.stringify({ status, errors: w.errors, kubelet: w.kubelet.status() }));
  t.regex(status.podIP ?? '', /^127\.244\.1\.\d+$/);
  t.like(status.conditions?.find((c) => c.type === 'Ready'), { status: 'True' });
  t.true(status.containerStatuses?.[0]?.ready);
  t.deepEqual(w.errors, []);
});

test('restartPolicy OnFailure restarts a failing container with growing backoff; Never leaves it Failed; a zero exit under OnFailure Succeeds', async (t) => {
  const w = await world();
  await w.create('fails', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 3'] }] });
  await w.create('once', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 2'] }] });
  await w.create('done', { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo ok'] }] });
  await advance(w.clock, 3_000);
  const fails = statusOf(await w.get('fails'));
  t.is(fails.phase, 'Running');
  const restarts = fails.containerStatuses![0]!.restartCount;
  // 100 ms, 200, 400, 800, 1600 ms...: about 4–5 restarts within 3 s, not 30.
  t.true(restarts >= 3 && restarts <= 6, `restarts ${restarts}`);
  t.is(fails.containerStatuses![0]!.lastState['terminated']!.exitCode, 3);
  t.is(statusOf(await w.get('once')).phase, 'Failed');
  t.is(statusOf(await w.get('done')).phase, 'Succeeded');
  const logs = await w.kubelet.logs({ type: 'kubeletLogsRequest', namespace: 'default', name: 'fails', uid: (await w.get('fails'))!.metadata!.uid! });
  t.like(logs, { ok: true, text: 'boom\n' });
});

test('init containers run in order before the app container; an unknown image waits in ErrImagePull then ImagePullBackOff', async (t) => {
  const w = await world();
  await w.create('init', {
    initContainers: [{ name: 'one', image: 'busybox', command: ['sh', '-c', 'echo first'] }, { name: 'two', image: 'busybox', command: ['sh', '-c', 'echo second'] }],
    containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }],
  });
  await w.create('nope', { containers: [{ name: 'c', image: 'example.com/does-not-exist:1' }] });
  await advance(w.clock, 2_000);
  const init = statusOf(await w.get('init'));
  t.is(init.phase, 'Running', JSON.stringify({ init, errors: w.errors }));
  t.deepEqual(init.initContainerStatuses?.map((c) => c.state['terminated']?.exitCode), [0, 0]);
  const nope = statusOf(await w.get('nope'));
  t.is(nope.phase, 'Pending');
  t.regex(nope.containerStatuses![0]!.state['waiting']!.reason ?? '', /^(ErrImagePull|ImagePullBackOff)$/);
});

test('a failing liveness probe restarts the container; deleting a pod stops it and removes it from the API and the runtime', async (t) => {
  const w = await world();
  await w.create('live', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } }] });
  await advance(w.clock, 5_000);
  t.true((statusOf(await w.get('live')).containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  await w.client.delete(podRef, 'default', 'live', { gracePeriodSeconds: 1 });
  await advance(w.clock, 3_000);
  t.is(await w.get('live'), undefined);
  const left = await w.cri.ok({ type: 'listPodSandbox' });
  t.deepEqual(left.items, []);
});

test('resource metrics: PodMetrics of a running pod with its CPU rate and memory, NodeMetrics of the node; deleted with the pod', async (t) => {
  const w = await world();
  const podMetricsRef = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' } as const;
  const nodeMetricsRef = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics' } as const;
  // stress reports 1000 millicores per worker (cpu and vm) and holds the vm bytes.
  await w.create('hog', { containers: [{ name: 'stress', image: 'polinux/stress', command: ['stress', '--cpu', '1', '--vm', '1', '--vm-bytes', '16M'] }] });
  await advance(w.clock, 3 * fast.metricsResolutionMs);
  const pm = await w.server.api.stored(podMetricsRef, 'default', 'hog');
  t.deepEqual(pm?.['containers'], [{ name: 'stress', usage: { cpu: '2000000000n', memory: '16384Ki' } }], JSON.stringify({ pm, errors: w.errors }));
  t.is(pm?.['window'], `${fast.metricsResolutionMs / 1000}s`);
  const nm = await w.server.api.stored(nodeMetricsRef, undefined, 'worker-1');
  t.like(nm?.['usage'], { cpu: '2000000000n', memory: '16384Ki' });

  await w.client.delete(podRef, 'default', 'hog', { gracePeriodSeconds: 0 });
  await advance(w.clock, 3 * fast.metricsResolutionMs);
  t.is(await w.server.api.stored(podMetricsRef, 'default', 'hog'), undefined);
  t.like((await w.server.api.stored(nodeMetricsRef, undefined, 'worker-1'))?.['usage'], { cpu: '0n', memory: '0Ki' });
  t.deepEqual(w.errors, []);
});

test('lifecycle hooks: a postStart exec runs before the container counts as started; a failing one is FailedPostStartHook and the container restarts; a failing preStop is FailedPreStopHook and the pod still stops', async (t) => {
  const w = await world();
  const eventsRef = { apiVersion: 'v1', kind: 'Event' } as const;
  const reasons = async (pod: string) => (await w.client.list<KubeObject>(eventsRef, { namespace: 'default' })).items
    .filter((e) => (e['involvedObject'] as { name?: string }).name === pod).map((e) => `${String(e['reason'])}: ${String(e['message'])}`);
  await w.create('hooked', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo hi'] } }, preStop: { exec: { command: ['sh', '-c', 'exit 4'] } } } }] });
  await w.create('badhook', { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'exit 7'] } } } }] });
  await advance(w.clock, 3_000);
  const hooked = statusOf(await w.get('hooked'));
  t.is(hooked.phase, 'Running');
  t.is(hooked.containerStatuses?.[0]?.restartCount, 0);
  const bad = statusOf(await w.get('badhook'));
  t.true((bad.containerStatuses?.[0]?.restartCount ?? 0) >= 1, JSON.stringify(bad));
  t.true((await reasons('badhook')).some((r) => /^FailedPostStartHook: PostStartHook failed: command 'sh -c exit 7' exited with 7/.test(r)));

  await w.client.delete(podRef, 'default', 'hooked');
  await advance(w.clock, 3_000);
  t.is(await w.get('hooked'), undefined, 'the pod stopped and was removed despite its preStop failing');
  t.true((await reasons('hooked')).some((r) => /^FailedPreStopHook: PreStopHook failed: command 'sh -c exit 4' exited with 4/.test(r)));
});

test('runtimeClassName: an unknown RuntimeClass and a handler this runtime refuses are FailedCreatePodSandBox events, and the pod waits', async (t) => {
  const w = await world();
  await w.server.api.put({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass' }, { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'process' }, handler: 'process' });
  await w.create('nosuch', { runtimeClassName: 'gvisor', containers: [{ name: 'c', image: 'busybox', command: ['sleep', '60'] }] });
  await w.create('onhost', { runtimeClassName: 'process', containers: [{ name: 'c', image: 'node', command: ['node', '-e', '1'] }] });
  await advance(w.clock, 2_000);
  const messages = (await w.client.list<KubeObject>({ apiVersion: 'v1', kind: 'Event' }, { namespace: 'default' })).items
    .filter((e) => e['reason'] === 'FailedCreatePodSandBox').map((e) => `${(e['involvedObject'] as { name: string }).name}: ${String(e['message'])}`);
  t.true(messages.includes('nosuch: Failed to create pod sandbox: RuntimeClass "gvisor" not found'), messages.join('\n'));
  t.true(messages.some((m) => /^onhost: Failed to create pod sandbox: runtime handler "process" runs real host processes/.test(m)), messages.join('\n'));
  t.is(statusOf(await w.get('nosuch')).phase, 'Pending');
});

test('a restarted kubelet (the runtime survived) adopts the running containers: no duplicates, no restarts, the pod stays Running', async (t) => {
  const w = await world();
  await w.create('web', { containers: [{ name: 'nginx', image: 'nginx:1.27' }, { name: 'side', image: 'busybox', command: ['sleep', '3600'] }] });
  await advance(w.clock, 2_000);
  t.is(statusOf(await w.get('web')).phase, 'Running');
  const before = (await w.cri.ok({ type: 'listContainers' })).containers.map((c) => c.id).sort();
  await w.kubelet.stop();
  const again = w.makeKubelet();
  again.start();
  t.teardown(() => again.stop());
  await advance(w.clock, 3_000);
  const after = await w.cri.ok({ type: 'listContainers' });
  t.deepEqual(after.containers.map((c) => c.id).sort(), before, 'the same containers, none added');
  t.true(after.containers.every((c) => c.state === 'CONTAINER_RUNNING'));
  const sandboxes = (await w.cri.ok({ type: 'listPodSandbox' })).items.filter((s) => s.state === 'SANDBOX_READY');
  t.is(sandboxes.length, 1);
  const status = statusOf(await w.get('web'));
  t.is(status.phase, 'Running');
  t.deepEqual(status.containerStatuses?.map((c) => c.restartCount), [0, 0]);
  t.deepEqual(w.errors, []);
});

test('streams: the kubelet finds the container and has the runtime stream exec and logs -f to the asking apiserver; bad targets get 404 / 400', async (t) => {
  const tells: { peer: Address; tell: PodStreamTell }[] = [];
  const w = await world({ sendStream: (peer, tell) => tells.push({ peer, tell }) });
  await w.create('box', { containers: [{ name: 'box', image: 'busybox', command: ['sh', '-c', 'echo started; sleep 3600'] }] });
  await w.create('done', { restartPolicy: 'Never', containers: [{ name: 'done', image: 'busybox', command: ['true'] }] });
  await advance(w.clock, 2_000);
  t.is(statusOf(await w.get('box')).phase, 'Running');
  t.is(statusOf(await w.get('done')).phase, 'Succeeded');
  const uid = (await w.get('box'))!.metadata!.uid!;
  const peer: Address = 'master-2/apiserver';
  const exec = { kind: 'exec', container: 'box', command: ['sh', '-c', 'echo hi; exit 2'], stdin: false, stdout: true, stderr: true, tty: false } as const;
  t.deepEqual(await w.kubelet.stream({ type: 'kubeletStreamRequest', streamId: 's1', namespace: 'default', name: 'box', uid, request: exec }, peer), { ok: true });
  await advance(w.clock, 100);
  const of = (id: string) => tells.filter((x) => x.tell.streamId === id).map((x) => x.tell);
  t.true(tells.every((x) => x.peer === peer), 'the runtime streams to the apiserver that asked');
  t.deepEqual(of('s1').map((tell) => (tell.type === 'podStreamData' ? new TextDecoder().decode(tell.data) : tell.type === 'podStreamEnd' ? tell.end : tell.type)), ['hi\n', { exitCode: 2 }]);
  // An empty container name picks the only container; the log so far comes first.
  t.deepEqual(await w.kubelet.stream({ type: 'kubeletStreamRequest', streamId: 's2', namespace: 'default', name: 'box', uid, request: { kind: 'log', container: '', timestamps: false } }, peer), { ok: true });
  await advance(w.clock, 100);
  t.like(of('s2')[0], { type: 'podStreamData', seq: 1, channel: 1 });
  t.is(new TextDecoder().decode((of('s2')[0] as { data: Uint8Array }).data), 'started\n');
  t.like(await w.kubelet.stream({ type: 'kubeletStreamRequest', streamId: 's3', namespace: 'default', name: 'box', uid: 'other-uid', request: exec }, peer), { ok: false, code: 404 });
  t.like(await w.kubelet.stream({ type: 'kubeletStreamRequest', streamId: 's4', namespace: 'default', name: 'box', uid, request: { ...exec, container: 'nosuch' } }, peer), { ok: false, code: 400, message: 'container nosuch is not valid for pod box' });
  const doneUid = (await w.get('done'))!.metadata!.uid!;
  const exited = await w.kubelet.stream({ type: 'kubeletStreamRequest', streamId: 's5', namespace: 'default', name: 'done', uid: doneUid, request: { ...exec, container: 'done' } }, peer);
  t.like(exited, { ok: false, code: 400 });
  t.regex(exited.ok ? '' : exited.message, /container done in pod done is not running \(it exited with code 0\): exec needs a running container/);
});

test('logs with a window: sinceSeconds keeps the recent lines, limitBytes cuts the text', async (t) => {
  const w = await world();
  await w.create('talk', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo early; sleep 5; echo late-line'] }] });
  await advance(w.clock, 7_000);
  const uid = (await w.get('talk'))!.metadata!.uid!;
  t.like(await w.kubelet.logs({ type: 'kubeletLogsRequest', namespace: 'default', name: 'talk', uid }), { ok: true, text: 'early\nlate-line\n' });
  t.like(await w.kubelet.logs({ type: 'kubeletLogsRequest', namespace: 'default', name: 'talk', uid, sinceSeconds: 3 }), { ok: true, text: 'late-line\n' });
  t.like(await w.kubelet.logs({ type: 'kubeletLogsRequest', namespace: 'default', name: 'talk', uid, limitBytes: 6 }), { ok: true, text: 'early\n' });
});
