import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds, type ApiAction } from '../../src/controllers/framework/index.js';
import { reconcileStatefulSet, statefulSetController, updateRevisionOf } from '../../src/controllers/statefulset.js';
import { ctx, ownerRef, pod, template } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

function sts(replicas: number, o: { parallel?: boolean; partition?: number; image?: string; status?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 1, resourceVersion: '3' },
    spec: {
      replicas, serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }, o.image ?? 'nginx:1'),
      podManagementPolicy: o.parallel === true ? 'Parallel' : 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: o.partition ?? 0 } },
    },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}
const ref = { ...ownerRef('StatefulSet', 'web'), apiVersion: 'apps/v1' };
const member = (set: KubeObject, i: number, ready = true, revision = updateRevisionOf(set)) => {
  const p = pod(`web-${i}`, { owner: ref, node: 'n1', ...(ready ? { readySince: 0 } : {}) });
  p.metadata!.labels = { app: 'web', 'controller-revision-hash': revision };
  return p;
};
const cacheOf = (...o: KubeObject[]) => cacheFromObjects(o, statefulSetController.watches);
const ops = (a: readonly ApiAction[]) => a.flatMap((x) => (x.type === 'create' ? [`create ${x.body.metadata?.name}`] : x.type === 'delete' ? [`delete ${x.name}`] : []));

test('OrderedReady: one pod at a time in ordinal order, each waiting for the previous to be ready; stable identity in the body', (t) => {
  const s = sts(3);
  const first = allActions(reconcileStatefulSet('default/web', cacheOf(s), ctx()));
  t.deepEqual(ops(first), ['create web-0']);
  t.like(first[0], { body: { metadata: { name: 'web-0', labels: { 'statefulset.kubernetes.io/pod-name': 'web-0', 'apps.kubernetes.io/pod-index': '0' } }, spec: { hostname: 'web-0', subdomain: 'web' } } });
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, member(s, 0, false)), ctx()))), [], 'web-0 not ready yet');
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, member(s, 0)), ctx()))), ['create web-1']);
});

test('Parallel creates all at once; scale-down removes the highest ordinal first', (t) => {
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(sts(3, { parallel: true })), ctx()))), ['create web-0', 'create web-1', 'create web-2']);
  const s = sts(1);
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, member(s, 0), member(s, 1), member(s, 2)), ctx()))), ['delete web-2']);
});

test('rolling update goes from the highest ordinal down to the partition, one ready pod at a time', (t) => {
  const old = sts(3, { image: 'nginx:1' });
  const oldRev = updateRevisionOf(old);
  const s = sts(3, { image: 'nginx:2', partition: 1, status: { currentRevision: oldRev } });
  const pods = [0, 1, 2].map((i) => member(s, i, true, oldRev));
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, ...pods), ctx()))), ['delete web-2']);
  const updated2 = member(s, 2, true);
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, pods[0]!, pods[1]!, updated2), ctx()))), ['delete web-1']);
  // web-0 is below the partition: it stays at the old revision.
  t.deepEqual(ops(allActions(reconcileStatefulSet('default/web', cacheOf(s, pods[0]!, member(s, 1, true), updated2), ctx()))), []);
});

test('through the apiserver: ordered scale-up, rolling update and scale-down; never two pods of one identity', async (t) => {
  const sim = await Sim.start([statefulSetController]);
  const kubelet = new Kubelet(sim);
  // The watch history of every pod: per name, a new uid may be ADDED only after the previous one's DELETED.
  const live = new Map<string, string>();
  let overlap = false;
  let outOfOrder = false;
  let added = 0;
  const sub = sim.client.watch(kinds.pod, { namespace: 'default' }).subscribe((ev) => {
    if (ev.type !== 'ADDED' && ev.type !== 'DELETED') return;
    const name = ev.object.metadata!.name!;
    if (ev.type === 'ADDED') {
      added++;
      if (live.has(name)) overlap = true;
      // OrderedReady scale-up: web-N is created only while web-0..N-1 exist.
      const i = Number(name.split('-')[1]);
      for (let j = 0; j < i; j++) if (!live.has(`web-${j}`)) outOfOrder = true;
      live.set(name, ev.object.metadata!.uid!);
    } else live.delete(name);
  });
  const set = sts(3);
  delete set.metadata!.uid;
  await sim.client.create(kinds.statefulSet, set);
  await sim.refresh();
  await sim.settle(200, kubelet);
  t.deepEqual(sim.list(kinds.pod, 'default').map((p) => p.metadata!.name).sort(), ['web-0', 'web-1', 'web-2']);
  t.false(outOfOrder);
  await sim.client.patch(kinds.statefulSet, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, { type: 'strategic' });
  await sim.refresh();
  await sim.settle(300, kubelet);
  const images = sim.list(kinds.pod, 'default').map((p) => (p['spec'] as { containers: Array<{ image: string }> }).containers[0]!.image);
  t.deepEqual(images, ['nginx:2', 'nginx:2', 'nginx:2']);
  const st = sim.view.get(kinds.statefulSet, 'default/web')!['status'] as Record<string, unknown>;
  t.is(st['currentRevision'], st['updateRevision']);
  t.like(st, { replicas: 3, readyReplicas: 3, updatedReplicas: 3 });
  await sim.client.patch(kinds.statefulSet, 'default', 'web', { spec: { replicas: 1 } }, { type: 'merge' });
  await sim.refresh();
  await sim.settle(300, kubelet);
  t.deepEqual(sim.list(kinds.pod, 'default').map((p) => p.metadata!.name), ['web-0']);
  sub.unsubscribe();
  t.is(added, 6, 'the watch saw three creations and three replacements');
  t.false(overlap, 'a successor never appeared before its predecessor was gone');
});
