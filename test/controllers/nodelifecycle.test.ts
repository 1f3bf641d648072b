import test from 'ava';
import { formatRfc3339Micro, type KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds, type ApiAction } from '../../src/controllers/framework/index.js';
import {
  kubernetesNodeLifecycle, nodeLifecycleController, reconcileTaintEviction, taintEvictionController,
} from '../../src/controllers/nodelifecycle.js';
import { replicaSetController } from '../../src/controllers/replicaset.js';
import { at, ctx, pod, t0 } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const config = { ...kubernetesNodeLifecycle, gracePeriodMs: 3000, evictionQps: 0.1 };
const lifecycle = nodeLifecycleController(config);

function node(name: string, ready: 'True' | 'False' | 'Unknown', taints: unknown[] = []): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}`, resourceVersion: '7', creationTimestamp: at(-100) },
    spec: taints.length === 0 ? {} : { taints },
    status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: at(0), lastTransitionTime: at(-100), reason: 'KubeletReady', message: 'kubelet is posting ready status' }] },
  };
}
const lease = (name: string, renewedAt: number): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease', uid: `lease-${name}` },
  spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: `${at(renewedAt).slice(0, -1)}.000000Z` },
});
const patchTaints = (a: ApiAction | undefined) => {
  const taints = a?.type === 'patch' && !Array.isArray(a.patch) ? ((a.patch as Record<string, unknown>)['spec'] as { taints: unknown[] | null }).taints : undefined;
  return taints === null ? [] : taints;
};

test('a node whose lease is older than the grace period: Ready Unknown, then unreachable NoSchedule + NoExecute taints', (t) => {
  const cache = cacheFromObjects([node('a', 'True'), node('b', 'True'), lease('a', 10), lease('b', 0)], lifecycle.watches);
  const fresh = lifecycle.reconcile('a', cache, ctx(t0 + 11_000));
  t.deepEqual(allActions(fresh), []);
  t.is(fresh.requeueAfterMs, 2001, 'looks again when the grace period would run out');
  const r = allActions(lifecycle.reconcile('b', cache, ctx(t0 + 4000)));
  t.is(r[0]!.type, 'updateStatus');
  const conds = r[0]!.type === 'updateStatus' ? (r[0]!.body['status'] as { conditions: Array<Record<string, string>> }).conditions : [];
  t.like(conds.find((c) => c['type'] === 'Ready'), { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: at(0), lastTransitionTime: at(4) });
  t.like(conds.find((c) => c['type'] === 'MemoryPressure'), { status: 'Unknown', reason: 'NodeStatusNeverUpdated' });
  t.deepEqual(patchTaints(r[1]), [
    { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(4) },
  ]);
});

test('MarkPodsNotReady: the Ready pods of a node gone Unknown lose Ready with a NodeNotReady event; a healthy node\'s pods are left alone', (t) => {
  const readyPod = (name: string, nodeName: string, ready: 'True' | 'False'): KubeObject => {
    const p = pod(name);
    return { ...p, spec: { ...(p['spec'] as object), nodeName }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready }, { type: 'PodScheduled', status: 'True' }] } };
  };
  const cache = cacheFromObjects([node('a', 'True'), node('b', 'True'), lease('a', 10), lease('b', 0), readyPod('on-b', 'b', 'True'), readyPod('idle-b', 'b', 'False'), readyPod('on-a', 'a', 'True')], lifecycle.watches);
  const actions = allActions(lifecycle.reconcile('b', cache, ctx(t0 + 4000)));
  const podWrites = actions.filter((a) => a.type === 'updateStatus' && a.resource === kinds.pod);
  t.is(podWrites.length, 1);
  const body = podWrites[0]!.type === 'updateStatus' ? podWrites[0]!.body : {};
  t.is((body['metadata'] as { name: string }).name, 'on-b');
  t.deepEqual((body['status'] as { conditions: Array<{ type: string; status: string }> }).conditions.map((c) => [c.type, c.status]), [['Ready', 'False'], ['PodScheduled', 'True']]);
  t.true(actions.some((a) => a.type === 'event' && a.event.reason === 'NodeNotReady' && a.event.involvedObject.name === 'on-b'));
  t.deepEqual(allActions(lifecycle.reconcile('a', cache, ctx(t0 + 11_000))).filter((a) => a.type !== 'patch'), []);
});

test('NoExecute tainting is rate limited from the evidence; a fully disrupted zone is not tainted; recovery removes the taints', (t) => {
  const recent = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(0) };
  const cache = cacheFromObjects([node('a', 'True'), node('b', 'Unknown', [recent]), node('c', 'Unknown'), node('d', 'True')], lifecycle.watches);
  const limited = lifecycle.reconcile('c', cache, ctx(t0 + 5000));
  t.deepEqual(patchTaints(allActions(limited).at(-1)), [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
  t.is(limited.requeueAfterMs, 10_000);
  const later = allActions(lifecycle.reconcile('c', cache, ctx(t0 + 11_000)));
  t.like((patchTaints(later.at(-1)) as unknown[])[1], { effect: 'NoExecute' });
  const dark = cacheFromObjects([node('a', 'Unknown'), node('b', 'Unknown', [recent])], lifecycle.watches);
  t.deepEqual(patchTaints(allActions(lifecycle.reconcile('b', dark, ctx(t0 + 60_000))).at(-1)), [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }]);
  const back = cacheFromObjects([node('b', 'True', [recent, { key: 'custom', effect: 'NoSchedule' }]), lease('b', 100)], lifecycle.watches);
  t.deepEqual(patchTaints(allActions(lifecycle.reconcile('b', back, ctx(t0 + 100_500))).at(-1)), [{ key: 'custom', effect: 'NoSchedule' }]);
});

test('taint eviction: not tolerated → now; tolerationSeconds → at timeAdded + seconds; tolerated forever → never', (t) => {
  const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: at(0) };
  const onB = (name: string, tolerations: unknown[]) => {
    const p = pod(name, { node: 'b', readySince: 0 });
    (p['spec'] as Record<string, unknown>)['tolerations'] = tolerations;
    return p;
  };
  const cache = cacheFromObjects([
    node('b', 'Unknown', [taint]),
    onB('plain', []),
    onB('patient', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]),
    onB('forever', [{ operator: 'Exists' }]),
  ], taintEvictionController.watches);
  const now = allActions(reconcileTaintEviction('default/plain', cache, ctx(t0 + 1000)));
  t.deepEqual(now.map((a) => a.type), ['event', 'updateStatus', 'delete']);
  t.like(now[1]!.type === 'updateStatus' ? (now[1]!.body['status'] as { conditions: unknown[] }).conditions.at(-1) : {}, { type: 'DisruptionTarget', reason: 'DeletionByTaintManager' });
  const wait = reconcileTaintEviction('default/patient', cache, ctx(t0 + 1000));
  t.deepEqual(allActions(wait), []);
  t.is(wait.requeueAfterMs, 299_000);
  t.is(allActions(reconcileTaintEviction('default/patient', cache, ctx(t0 + 300_000))).at(-1)!.type, 'delete');
  t.deepEqual(allActions(reconcileTaintEviction('default/forever', cache, ctx(t0 + 1_000_000))), []);
});

test('through the apiserver: a node that stops renewing is tainted, its pods evicted after 5 s and recreated on live nodes', async (t) => {
  const sim = await Sim.start([lifecycle, taintEvictionController, replicaSetController]);
  for (const n of ['node-a', 'node-b']) {
    const created = await sim.client.create(kinds.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    await sim.client.updateStatus(kinds.node, { ...created, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: at(-600), lastTransitionTime: at(-600) }] } });
  }
  const renew = async (n: string) => {
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: n, namespace: 'kube-node-lease' }, spec: { holderIdentity: n, leaseDurationSeconds: 40, renewTime: formatRfc3339Micro(sim.nowMs) } };
    try {
      const cur = await sim.client.get(kinds.lease, 'kube-node-lease', n);
      await sim.client.update(kinds.lease, { ...cur, spec: body.spec });
    } catch {
      await sim.client.create(kinds.lease, body);
    }
  };
  await renew('node-a');
  await renew('node-b');
  const kubelet = new Kubelet(sim, ['node-a', 'node-b']);
  await sim.client.create(kinds.replicaSet, {
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 4, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: {
      containers: [{ name: 'c', image: 'nginx' }],
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }],
    } } },
  });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.is(sim.list(kinds.pod, 'default').filter((p) => (p['spec'] as { nodeName?: string }).nodeName === 'node-b').length, 2);
  // node-b goes silent; node-a keeps renewing. The kubelet stand-in now only places pods on node-a.
  const kubeletA = new Kubelet(sim, ['node-a']);
  for (let i = 0; i < 12; i++) {
    sim.advance(1000);
    await renew('node-a');
    await sim.refresh();
    await sim.settle(100, kubeletA);
  }
  const b = sim.view.get(kinds.node, 'node-b')!;
  t.like((b['spec'] as { taints: unknown[] }).taints, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]);
  t.is(((sim.view.get(kinds.node, 'node-a')!['spec'] as { taints?: unknown[] } | undefined)?.taints ?? []).length, 0, 'the renewing node stays untainted');
  const pods = sim.list(kinds.pod, 'default').filter((p) => p.metadata?.deletionTimestamp === undefined);
  t.is(pods.length, 4);
  t.true(pods.every((p) => (p['spec'] as { nodeName?: string }).nodeName === 'node-a'));
  const evictions = sim.log.filter((l) => l.controller === 'taint-eviction-controller' && l.action.type === 'delete');
  t.is(evictions.length, 2);
  const tainted = sim.log.find((l) => l.controller === 'node-lifecycle' && l.action.type === 'patch' && JSON.stringify(l.action).includes('NoExecute'))!;
  t.true(evictions.every((e) => e.atMs - tainted.atMs >= 5000), 'evicted only once the 5 s toleration ran out');
});
