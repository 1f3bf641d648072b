/**
 * The engine's pod and node faults and the targets that read the API, against a real cluster (one
 * master, one worker, threads): a `pod` target resolves to a running pod matching its selector;
 * container-kill SIGKILLs its container and the kubelet restarts it; pod-delete deletes it and the
 * ReplicaSet replaces it; node-not-ready stops the kubelet, the node goes NotReady, and the heal
 * brings it back Ready; the controller-manager Lease holder and the busiest master resolve.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { HttpsTransport, KubeClient } from '../../src/client/index.js';
import type { KubeObject } from '../../src/api/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { address } from '../../src/primitives/address.js';
import { planSchedule, type MethodStep } from '../../src/chaos/index.js';
import { runMethod } from '../../src/chaos/experiment/method.js';
import { RolloutWorkload } from '../../src/chaos/workloads/rollout.js';
import { freePort } from '../cluster/helpers.js';
import { until } from '../cluster/pod-history.js';

const network = '127.81.3';
const pods = { apiVersion: 'v1', kind: 'Pod' } as const;
const nodes = { apiVersion: 'v1', kind: 'Node' } as const;
const selector = { namespace: 'default', selector: 'app=sleeper' };

const deployment = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'sleeper', namespace: 'default' },
  spec: {
    replicas: 1, selector: { matchLabels: { app: 'sleeper' } },
    template: { metadata: { labels: { app: 'sleeper' } }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } },
  },
};

const meta = (p: KubeObject) => p.metadata as { name: string; uid: string; deletionTimestamp?: string };
const running = (p: KubeObject) => (p['status'] as { phase?: string } | undefined)?.phase === 'Running' && meta(p).deletionTimestamp === undefined;
const restarts = (p: KubeObject) => (p['status'] as { containerStatuses?: { restartCount: number }[] } | undefined)?.containerStatuses?.[0]?.restartCount ?? 0;
const readyCondition = (n: KubeObject) => ((n['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready')?.status;

let shared: { cluster: Cluster; kube: KubeClient; close: () => void } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({
    masters: 1, workers: 1, apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 },
    serviceNetwork: '127.103', podNetwork: '127.251.0.0/16', seed: 4,
  });
  // Through the front door, as an experiment's client goes: its kept-alive connection makes master-1 the busiest.
  const transport = new HttpsTransport({ server: cluster.server, caPem: cluster.pki.ca.certPem, token: cluster.adminToken, requestTimeoutMs: 2_000 });
  shared = { cluster, kube: new KubeClient({ transport, clock: new RealClock() }), close: () => transport.close() };
});

test.after.always(async () => {
  shared?.close();
  await shared?.cluster.stop();
});

function started() {
  if (shared === undefined) throw new Error('the cluster did not start');
  return shared;
}

test.serial('pod target, container-kill, pod-delete, node-not-ready, and the Lease-holder and busiest-master targets on a real cluster', async (t) => {
  const { cluster, kube } = started();
  await kube.create({ apiVersion: 'apps/v1', kind: 'Deployment' }, deployment);
  const first = await until('a running sleeper', async () => (await kube.list(pods, { namespace: 'default', labelSelector: 'app=sleeper' })).items.find(running), 30_000);
  t.is((first['spec'] as { nodeName: string }).nodeName, 'worker-1');

  const notes: string[] = [];
  const began = performance.now();
  const run = (steps: MethodStep[]) => runMethod(planSchedule(steps, 1), {
    cluster, etcdMembers: [address('master-1', 'etcd')], kube, now: () => performance.now() - began, note: (n) => notes.push(n),
  });

  const killed = await run([{ fault: { kind: 'container-kill', target: { kind: 'pod', pods: selector } }, afterMs: 0, durationMs: 0 }]);
  t.like(killed.faults[0], { injected: true, host: 'worker-1' });
  t.regex(killed.faults[0]!.note, new RegExp(`killed container main of default/${meta(first).name} on worker-1`));
  const restarted = await until('the container restarted', async () => {
    const p = await kube.get(pods, 'default', meta(first).name);
    return restarts(p) >= 1 && running(p) ? p : undefined;
  }, 30_000);
  t.is(meta(restarted).uid, meta(first).uid, 'the same pod: only its container was killed');

  const deleted = await run([{ fault: { kind: 'pod-delete', target: { kind: 'pod', pods: selector } }, afterMs: 0, durationMs: 0 }]);
  t.like(deleted.faults[0], { injected: true });
  const replacement = await until('a replacement pod', async () => (await kube.list(pods, { namespace: 'default', labelSelector: 'app=sleeper' })).items.find((p) => running(p) && meta(p).uid !== meta(first).uid), 30_000);
  t.not(meta(replacement).name, meta(first).name);

  // The kubelet stopped for 6 s: more than the fast profile's node grace period (3 s).
  const notReadyDuring = until('worker-1 NotReady', async () => (readyCondition(await kube.get(nodes, undefined, 'worker-1')) === 'Unknown' ? true : undefined), 20_000);
  const stopped = await run([{ fault: { kind: 'node-not-ready', target: { kind: 'pod', pods: selector } }, afterMs: 0, durationMs: 6_000 }]);
  t.true(await notReadyDuring);
  t.like(stopped.faults[0], { injected: true, host: 'worker-1' });
  await until('worker-1 Ready again', async () => (readyCondition(await kube.get(nodes, undefined, 'worker-1')) === 'True' ? true : undefined), 20_000);

  // Targets only: a pause of nothing on the resolved host shows which host it was.
  const holder = await run([
    { fault: { kind: 'pause-actor', target: { kind: 'lease-holder', component: 'controller-manager' }, actor: 'controller-manager' }, afterMs: 0, durationMs: 0 },
    { fault: { kind: 'pause-actor', target: { kind: 'busiest-master' }, actor: 'apiserver' }, afterMs: 0, durationMs: 0 },
    { fault: { kind: 'container-kill', target: { kind: 'pod', pods: { namespace: 'default', selector: 'app=nothing' } } }, afterMs: 0, durationMs: 0 },
  ]);
  t.like(holder.faults[0], { injected: true, host: 'master-1' });
  t.like(holder.faults[1], { injected: true, host: 'master-1' });
  t.like(holder.faults[2], { injected: false, note: 'not injected: no running pod matches app=nothing in default' });
});

test.serial('the rollout workload sets the next image every period, as kubectl set image does; the Deployment converges on the last acknowledged one', async (t) => {
  const { kube } = started();
  const web = { ...deployment, metadata: { name: 'web', namespace: 'default' }, spec: { ...deployment.spec, replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { ...deployment.spec.template, metadata: { labels: { app: 'web' } } } } };
  await kube.create({ apiVersion: 'apps/v1', kind: 'Deployment' }, web);
  const rollout = new RolloutWorkload({ kube, namespace: 'default', name: 'web', images: ['busybox:1.36', 'busybox:1.37'], everyMs: 700, began: performance.now() });
  rollout.start();
  // Stop once three sets are acknowledged (a fourth waits its full period), not after a fixed
  // time: under load the third set may land after any fixed sleep (CI saw two).
  await until('three acknowledged image sets', () => (rollout.history.filter((op) => op.type === 'ok').length >= 3 ? true : undefined), 20_000);
  await rollout.stop();
  const sets = rollout.history.filter((op) => op.type === 'ok').map((op) => op.value);
  t.deepEqual(sets, ['busybox:1.37', 'busybox:1.36', 'busybox:1.37'], 'three sets, cycling from the second image');
  t.true(rollout.history.every((op) => op.key === 'rollout:default/web'));
  const converged = await rollout.converged(30_000);
  t.is(converged.status, 'pass', converged.detail);
  t.regex(converged.detail, /all 2 replicas run busybox:1\.37, updated and available/);
  t.throws(() => new RolloutWorkload({ kube, namespace: 'default', name: 'web', images: ['one'], everyMs: 700, began: 0 }), { message: /at least two images/ });
});

test.serial('a chaos-mesh step: a PodChaos pod-failure as Chaos Mesh users write it, injected by the cluster\'s controller, recovered by deleting it at the heal', async (t) => {
  const { cluster, kube } = started();
  const target = await until('a running sleeper', async () => (await kube.list(pods, { namespace: 'default', labelSelector: 'app=sleeper' })).items.find(running), 30_000);
  const manifest = {
    apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'sleeper-failure' },
    spec: { action: 'pod-failure', mode: 'one', selector: { labelSelectors: { app: 'sleeper' } } },
  };
  const began = performance.now();
  const imageDuring = until('the pause image running', async () => {
    const image = ((await kube.get(pods, 'default', meta(target).name))['status'] as { containerStatuses?: { image?: string }[] } | undefined)?.containerStatuses?.[0]?.image;
    return image === 'registry.k8s.io/pause:3.10' ? image : undefined;
  }, 20_000);
  const outcome = await runMethod(planSchedule([{ fault: { kind: 'chaos-mesh', manifest }, afterMs: 0, durationMs: 4_000 }], 1), {
    cluster, etcdMembers: [address('master-1', 'etcd')], kube, now: () => performance.now() - began, note: () => undefined,
  });
  t.is(await imageDuring, 'registry.k8s.io/pause:3.10', 'the pod ran the pause image during the step');
  t.like(outcome.faults[0], { injected: true });
  t.regex(outcome.faults[0]!.note, new RegExp(`created PodChaos default/sleeper-failure \\(pod-failure\\): default/${meta(target).name}; deleted PodChaos default/sleeper-failure \\(pod-failure\\) \\(recovered\\)`));
  const chaos = { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', resource: 'podchaos', namespaced: true } as const;
  await t.throwsAsync(kube.get(chaos, 'default', 'sleeper-failure'), { message: /not found/ }, 'gone once recovered');
  const after = await kube.get(pods, 'default', meta(target).name);
  t.is((after['spec'] as { containers: { image: string }[] }).containers[0]!.image, 'busybox', 'its own image is back');

  const refused = await runMethod(planSchedule([{ fault: { kind: 'chaos-mesh', manifest: { ...manifest, spec: { ...manifest.spec, action: 'pod-explode' } } }, afterMs: 0, durationMs: 0 }], 1), {
    cluster, etcdMembers: [address('master-1', 'etcd')], kube, now: () => performance.now() - began, note: () => undefined,
  });
  t.like(refused.faults[0], { injected: false });
  t.regex(refused.faults[0]!.note, /not injected: .*spec\.action: Unsupported value: "pod-explode"/);

  // A NetworkChaos the same way: its records are the evidence, its deletion removes the rules.
  const delay = { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'NetworkChaos', metadata: { name: 'sleeper-delay' }, spec: { action: 'delay', mode: 'all', selector: { labelSelectors: { app: 'sleeper' } }, delay: { latency: '100ms' } } };
  const delayed = await runMethod(planSchedule([{ fault: { kind: 'chaos-mesh', manifest: delay }, afterMs: 0, durationMs: 1_000 }], 1), {
    cluster, etcdMembers: [address('master-1', 'etcd')], kube, now: () => performance.now() - began, note: () => undefined,
  });
  t.like(delayed.faults[0], { injected: true });
  t.regex(delayed.faults[0]!.note, /^created NetworkChaos default\/sleeper-delay \(delay\): default\/sleeper-[a-z0-9-]+; deleted NetworkChaos default\/sleeper-delay \(delay\) \(recovered\)$/);
});
