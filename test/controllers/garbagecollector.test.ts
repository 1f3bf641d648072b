import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { deploymentController } from '../../src/controllers/deployment.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { garbageCollector, garbageCollectorController, reconcileGarbage, unwatchedOwnerRecheckMs } from '../../src/controllers/garbagecollector.js';
import { replicaSetController } from '../../src/controllers/replicaset.js';
import { at, ctx, ownerRef, pod, replicaSet } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const cacheOf = (...objs: KubeObject[]) => cacheFromObjects(objs, garbageCollectorController.watches);
const rsKey = 'apps/v1/ReplicaSet|default/web';
const podKey = (name: string) => `v1/Pod|default/${name}`;
const deleting = (o: KubeObject, finalizer?: string): KubeObject => ({
  ...o, metadata: { ...o.metadata, deletionTimestamp: at(0), ...(finalizer === undefined ? {} : { finalizers: [finalizer] }) },
});

test('a dependent whose owner is gone is deleted in the background, after the shell confirms the owner is absent', (t) => {
  const r = allActions(reconcileGarbage(podKey('p'), cacheOf(pod('p', { owner: ownerRef('ReplicaSet', 'web') })), ctx()));
  t.deepEqual(r, [{
    type: 'delete', resource: kinds.pod, namespace: 'default', name: 'p',
    options: { preconditions: { uid: 'uid-p' }, propagationPolicy: 'Background' },
    requireAbsent: [{ resource: kinds.replicaSet, namespace: 'default', name: 'web', uid: 'uid-web' }],
  }]);
  // Same name, another uid: a newer object, so the reference still dangles.
  t.is(allActions(reconcileGarbage(podKey('p'), cacheOf(replicaSet('web', 1, { uid: 'other' }), pod('p', { owner: ownerRef('ReplicaSet', 'web') })), ctx()))[0]!.type, 'delete');
  // A live owner: nothing.
  t.deepEqual(allActions(reconcileGarbage(podKey('p'), cacheOf(replicaSet('web', 1), pod('p', { owner: ownerRef('ReplicaSet', 'web') })), ctx())), []);
});

test('custom kinds the collector is built with are graph nodes: a custom dependent of a deleted custom owner goes, and the owner\'s deletion enqueues it', (t) => {
  const schedule = { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'Schedule', resource: 'schedules', namespaced: true } as const;
  const podChaos = { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', resource: 'podchaos', namespaced: true } as const;
  const gc = garbageCollector([schedule, podChaos]);
  const owner: KubeObject = { apiVersion: schedule.apiVersion, kind: 'Schedule', metadata: { name: 'every', namespace: 'default', uid: 'uid-every' } };
  const child: KubeObject = {
    apiVersion: podChaos.apiVersion, kind: 'PodChaos',
    metadata: { name: 'every-1', namespace: 'default', uid: 'uid-c', ownerReferences: [{ apiVersion: schedule.apiVersion, kind: 'Schedule', name: 'every', uid: 'uid-every', controller: true }] },
  };
  const key = 'chaos-mesh.org/v1alpha1/PodChaos|default/every-1';
  const run = (...objs: KubeObject[]) => allActions(gc.reconcile(key, cacheFromObjects(objs, gc.watches), ctx()));
  t.deepEqual(run(owner, child), [], 'a live owner keeps it');
  t.deepEqual(run(child), [{
    type: 'delete', resource: podChaos, namespace: 'default', name: 'every-1',
    options: { preconditions: { uid: 'uid-c' }, propagationPolicy: 'Background' },
    requireAbsent: [{ resource: schedule, namespace: 'default', name: 'every', uid: 'uid-every' }],
  }]);
  const scheduleWatch = gc.watches.find((w) => w.kind.kind === 'Schedule')!;
  t.deepEqual(scheduleWatch.map({ type: 'delete', obj: owner }, cacheFromObjects([child], gc.watches)).enqueue, [{ key }]);
  t.throws(() => garbageCollector([{ apiVersion: 'v1', kind: 'Pod', resource: 'pods', namespaced: true }]), { message: /repeats a watched kind/ });
});

test('an owner of a kind the graph does not watch (a custom resource): deleted only if a live read finds it gone, and looked at again later', (t) => {
  const widget = { apiVersion: 'toys.example.com/v1', kind: 'Widget', name: 'w1', uid: 'uid-w1', controller: true };
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.toys.example.com', uid: 'uid-crd' },
    spec: { group: 'toys.example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' }, versions: [{ name: 'v1', served: true, storage: true }] },
  };
  const owned = pod('p', { owner: widget });
  const result = reconcileGarbage(podKey('p'), cacheOf(crd, owned), ctx());
  t.deepEqual(allActions(result), [{
    type: 'delete', resource: kinds.pod, namespace: 'default', name: 'p',
    options: { preconditions: { uid: 'uid-p' }, propagationPolicy: 'Background' },
    requireAbsent: [{ resource: { apiVersion: 'toys.example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true }, namespace: 'default', name: 'w1', uid: 'uid-w1' }],
  }]);
  t.is(result.requeueAfterMs, unwatchedOwnerRecheckMs);
  // No CRD serves the kind (not yet in the cache): the owner cannot be read, so it counts as alive.
  t.deepEqual(allActions(reconcileGarbage(podKey('p'), cacheOf(owned), ctx())), []);
  // With a live built-in owner beside it, the object stays and nothing is polled.
  const both = pod('q', { owner: widget });
  const withReplicaSet = { ...both, metadata: { ...both.metadata, ownerReferences: [widget, ownerRef('ReplicaSet', 'web')] } };
  const kept = reconcileGarbage(podKey('q'), cacheOf(replicaSet('web', 1), withReplicaSet), ctx());
  t.deepEqual(allActions(kept), []);
  t.is(kept.requeueAfterMs, undefined);
});

test('one live owner and one dangling: only the dangling reference is removed', (t) => {
  const p = pod('p', { owner: ownerRef('ReplicaSet', 'web') });
  p.metadata!.ownerReferences!.push({ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'uid-gone' });
  t.deepEqual(allActions(reconcileGarbage(podKey('p'), cacheOf(replicaSet('web', 1), p), ctx())), [{
    type: 'patch', resource: kinds.pod, namespace: 'default', name: 'p', patchType: 'strategic',
    patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-gone' }], uid: 'uid-p' } },
    requireAbsent: [{ resource: kinds.replicaSet, namespace: 'default', name: 'gone', uid: 'uid-gone' }],
  }]);
});

test('foreground: the owner waits for blocking dependents; dependents with dependents go in the foreground too; then the finalizer goes', (t) => {
  const d = deleting({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: 'default', uid: 'uid-app' } }, 'foregroundDeletion');
  const rs = replicaSet('web', 1, { owner: ownerRef('Deployment', 'app', 'uid-app') });
  const p = pod('p', { owner: ownerRef('ReplicaSet', 'web') });
  t.deepEqual(allActions(reconcileGarbage('apps/v1/Deployment|default/app', cacheOf(d, rs, p), ctx())), [], 'waits for the ReplicaSet');
  t.like(allActions(reconcileGarbage(rsKey, cacheOf(d, rs, p), ctx()))[0], { type: 'delete', name: 'web', options: { propagationPolicy: 'Foreground' } });
  t.like(allActions(reconcileGarbage(rsKey, cacheOf(d, rs), ctx()))[0], { type: 'delete', name: 'web', options: { propagationPolicy: 'Background' } });
  const done = allActions(reconcileGarbage('apps/v1/Deployment|default/app', cacheOf(d), ctx()));
  t.like(done[0], { type: 'patch', name: 'app', patchType: 'json' });
  t.deepEqual(done[0]!.type === 'patch' ? done[0]!.patch : [], [
    { op: 'test', path: '/metadata/uid', value: 'uid-app' },
    { op: 'test', path: '/metadata/finalizers', value: ['foregroundDeletion'] },
    { op: 'replace', path: '/metadata/finalizers', value: [] },
  ]);
});

test('orphan: dependents lose the reference, then the owner loses its finalizer', (t) => {
  const rs = deleting(replicaSet('web', 1), 'orphan');
  const p = pod('p', { owner: ownerRef('ReplicaSet', 'web') });
  t.like(allActions(reconcileGarbage(rsKey, cacheOf(rs, p), ctx())), [{ type: 'patch', name: 'p', patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-web' }] } } }]);
  t.like(allActions(reconcileGarbage(rsKey, cacheOf(rs), ctx())), [{ type: 'patch', name: 'web', patchType: 'json' }]);
});

async function cluster(): Promise<{ sim: Sim; kubelet: Kubelet }> {
  const sim = await Sim.start([deploymentController, replicaSetController, garbageCollectorController]);
  const kubelet = new Kubelet(sim);
  await sim.client.create(kinds.deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: 'default' },
    spec: { replicas: 3, selector: { matchLabels: { app: 'app' } }, template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  await sim.refresh();
  await sim.settle(100, kubelet);
  return { sim, kubelet };
}

test('through the apiserver: deleting a Deployment (background) removes its ReplicaSet and pods', async (t) => {
  const { sim, kubelet } = await cluster();
  t.is(sim.list(kinds.pod, 'default').length, 3);
  await sim.client.delete(kinds.deployment, 'default', 'app', { propagationPolicy: 'Background' });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.is(sim.list(kinds.replicaSet, 'default').length, 0);
  t.is(sim.list(kinds.pod, 'default').length, 0);
});

test('through the apiserver: foreground deletion keeps the Deployment until its pods and ReplicaSet are gone', async (t) => {
  const { sim, kubelet } = await cluster();
  let sawDeploymentWithoutPods = false;
  let sawPodsWithoutDeployment = false;
  sim.onRound = (s) => {
    const hasD = s.view.get(kinds.deployment, 'default/app') !== undefined;
    const pods = s.list(kinds.pod, 'default').length;
    if (hasD && pods === 0) sawDeploymentWithoutPods = true;
    if (!hasD && pods > 0) sawPodsWithoutDeployment = true;
  };
  await sim.client.delete(kinds.deployment, 'default', 'app', { propagationPolicy: 'Foreground' });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.is(sim.view.get(kinds.deployment, 'default/app'), undefined);
  t.is(sim.list(kinds.pod, 'default').length, 0);
  t.true(sawDeploymentWithoutPods);
  t.false(sawPodsWithoutDeployment);
});

test('through the apiserver: orphan deletion leaves the ReplicaSet and pods, unowned', async (t) => {
  const { sim, kubelet } = await cluster();
  await sim.client.delete(kinds.deployment, 'default', 'app', { propagationPolicy: 'Orphan' });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.is(sim.view.get(kinds.deployment, 'default/app'), undefined);
  const rss = sim.list(kinds.replicaSet, 'default');
  t.is(rss.length, 1);
  t.is((rss[0]!.metadata?.ownerReferences ?? []).length, 0);
  t.is(sim.list(kinds.pod, 'default').length, 3);
});
