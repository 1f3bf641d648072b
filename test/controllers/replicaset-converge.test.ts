import test from 'ava';
import { kinds } from '../../src/controllers/framework/index.js';
import { replicaSetController } from '../../src/controllers/replicaset.js';
import { replicaSet } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const strip = (o: ReturnType<typeof replicaSet>) => {
  const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...metadata } = o.metadata!;
  return { ...o, metadata };
};

test('through the real apiserver: scale up with slow start, scale down, adopt an orphan; never more pods than wanted', async (t) => {
  const sim = await Sim.start([replicaSetController]);
  const kubelet = new Kubelet(sim);
  let maxPods = 0;
  sim.onRound = (s) => { maxPods = Math.max(maxPods, s.list(kinds.pod, 'default').filter((p) => p.metadata?.deletionTimestamp === undefined).length); };
  await sim.client.create(kinds.replicaSet, strip(replicaSet('web', 5)));
  await sim.refresh();
  await sim.settle(50, kubelet);
  const pods = sim.list(kinds.pod, 'default');
  t.is(pods.length, 5);
  t.true(pods.every((p) => p.metadata?.ownerReferences?.[0]?.name === 'web' && p.metadata?.name?.startsWith('web-')));
  t.is(maxPods, 5, 'expectations kept the controller from over-creating');
  const rs = sim.view.get(kinds.replicaSet, 'default/web')!;
  t.like(rs['status'], { replicas: 5, readyReplicas: 5, availableReplicas: 5, observedGeneration: 1 });
  // Slow start: the first create ran alone.
  const creates = sim.log.filter((l) => l.action.type === 'create');
  t.is(creates.length, 5);

  // An orphan with matching labels is adopted, so one owned pod is deleted to keep 5.
  await sim.client.create(kinds.pod, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stray', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  await sim.refresh();
  await sim.settle(50, kubelet);
  t.is(sim.list(kinds.pod, 'default').length, 5);
  t.true(sim.list(kinds.pod, 'default').every((p) => p.metadata?.ownerReferences?.[0]?.uid === rs.metadata?.uid));

  await sim.client.patch(kinds.replicaSet, 'default', 'web', { spec: { replicas: 2 } }, { type: 'merge' });
  await sim.refresh();
  await sim.settle(50, kubelet);
  t.is(sim.list(kinds.pod, 'default').length, 2);
  t.like(sim.view.get(kinds.replicaSet, 'default/web')!['status'], { replicas: 2, availableReplicas: 2, observedGeneration: 2 });
  t.true(sim.log.every((l) => l.ok), JSON.stringify(sim.log.filter((l) => !l.ok)));
});
