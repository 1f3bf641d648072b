import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { daemonPodNode, daemonSetController, daemonSetHash, nodeEligible, reconcileDaemonSet } from '../../src/controllers/daemonset.js';
import { allActions, cacheFromObjects, isPodAvailable, kinds, type ApiAction } from '../../src/controllers/framework/index.js';
import { at, ctx, ownerRef, pod, template } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const node = (name: string, o: { labels?: Record<string, string>; taints?: unknown[] } = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}`, labels: o.labels ?? {}, creationTimestamp: at(0) },
  spec: o.taints === undefined ? {} : { taints: o.taints },
});
function ds(o: { image?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; maxUnavailable?: number; maxSurge?: number } = {}): KubeObject {
  const t = template({ app: 'agent' }, o.image ?? 'agent:1') as { metadata: unknown; spec: Record<string, unknown> };
  if (o.nodeSelector) t.spec['nodeSelector'] = o.nodeSelector;
  if (o.tolerations) t.spec['tolerations'] = o.tolerations;
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default', uid: 'uid-agent', generation: 1 },
    spec: { selector: { matchLabels: { app: 'agent' } }, template: t, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: o.maxUnavailable ?? 1, maxSurge: o.maxSurge ?? 0 } } },
  };
}
const control = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };
const creates = (a: readonly ApiAction[]) => a.flatMap((x) => (x.type === 'create' ? [daemonPodNode(x.body)] : []));
const cacheOf = (...o: KubeObject[]) => cacheFromObjects(o, daemonSetController.watches);

test('one pod per eligible node: nodeSelector, untolerated taints excluded; default tolerations; pinned by affinity', (t) => {
  const objs = [node('w1', { labels: { disk: 'ssd' } }), node('w2', { labels: { disk: 'hdd' } }), node('m1', { labels: { disk: 'ssd' }, taints: [control] }),
    node('w3', { labels: { disk: 'ssd' }, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] })];
  const r = allActions(reconcileDaemonSet('default/agent', cacheOf(ds({ nodeSelector: { disk: 'ssd' } }), ...objs), ctx()));
  t.deepEqual(creates(r), ['w1', 'w3'], 'm1 is tainted control-plane; w3 unreachable is tolerated by default');
  const body = r.find((a) => a.type === 'create');
  t.like(body?.type === 'create' ? body.body : {}, { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w1'] }] }] } } } } });
  t.true(nodeEligible(ds({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }), node('m1', { taints: [control] })));
});

test('rolling update within maxUnavailable: unavailable old pods first, then as many available as the budget allows', (t) => {
  const old = ds({ image: 'agent:1' });
  const cur = ds({ image: 'agent:2', maxUnavailable: 1 });
  const agentPod = (n: string, set: KubeObject, ready: boolean) => {
    const p = pod(`agent-${n}`, { owner: { ...ownerRef('DaemonSet', 'agent'), apiVersion: 'apps/v1' }, labels: { app: 'agent', 'controller-revision-hash': daemonSetHash(set) }, node: n, ...(ready ? { readySince: 0 } : {}) });
    return p;
  };
  const nodes = ['a', 'b', 'c'].map((n) => node(n));
  const r = allActions(reconcileDaemonSet('default/agent', cacheOf(cur, ...nodes, agentPod('a', old, true), agentPod('b', old, false), agentPod('c', old, true)), ctx()));
  t.deepEqual(r.filter((a) => a.type === 'delete').map((a) => (a.type === 'delete' ? a.name : '')), ['agent-b'], 'b is already unavailable: replacing it uses the whole budget');
  const r2 = allActions(reconcileDaemonSet('default/agent', cacheOf(cur, ...nodes, agentPod('a', old, true), agentPod('b', cur, true), agentPod('c', old, true)), ctx()));
  t.deepEqual(r2.filter((a) => a.type === 'delete').map((a) => (a.type === 'delete' ? a.name : '')), ['agent-a']);
});

test('through the apiserver: a pod per node, a new node gets one, a rolling update keeps at most one node without an available pod', async (t) => {
  const sim = await Sim.start([daemonSetController]);
  const kubelet = new Kubelet(sim, ['x']);
  for (const n of ['n1', 'n2', 'n3']) await sim.client.create(kinds.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
  const d = ds();
  delete d.metadata!.uid;
  await sim.client.create(kinds.daemonSet, d);
  await sim.refresh();
  await sim.settle(100, kubelet);
  const nodesOf = () => sim.list(kinds.pod, 'default').filter((p) => p.metadata?.deletionTimestamp === undefined).map((p) => (p['spec'] as { nodeName: string }).nodeName).sort();
  t.deepEqual(nodesOf(), ['n1', 'n2', 'n3']);
  await sim.client.create(kinds.node, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n4' } });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.deepEqual(nodesOf(), ['n1', 'n2', 'n3', 'n4']);
  kubelet.perTick = 1; // slow: each replacement takes several rounds
  let worst = 0;
  sim.onRound = (s) => {
    const avail = new Set(s.list(kinds.pod, 'default').filter((p) => p.metadata?.deletionTimestamp === undefined && isPodAvailable(p, 0, s.nowMs)).map((p) => (p['spec'] as { nodeName: string }).nodeName));
    worst = Math.max(worst, 4 - avail.size);
  };
  await sim.client.patch(kinds.daemonSet, 'default', 'agent', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, { type: 'strategic' });
  await sim.refresh();
  await sim.settle(300, kubelet);
  const images = sim.list(kinds.pod, 'default').map((p) => (p['spec'] as { containers: Array<{ image: string }> }).containers[0]!.image);
  t.deepEqual(images, ['agent:2', 'agent:2', 'agent:2', 'agent:2']);
  t.true(worst <= 1, `at most one node without an available pod (saw ${worst})`);
  t.like(sim.view.get(kinds.daemonSet, 'default/agent')!['status'], { desiredNumberScheduled: 4, currentNumberScheduled: 4, numberReady: 4, updatedNumberScheduled: 4, numberAvailable: 4 });
});
