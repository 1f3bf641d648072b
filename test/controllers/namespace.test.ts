import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { namespaceController, reconcileNamespace } from '../../src/controllers/namespace.js';
import { reconcileServiceAccounts, serviceAccountController } from '../../src/controllers/serviceaccount.js';
import { deploymentController } from '../../src/controllers/deployment.js';
import { replicaSetController } from '../../src/controllers/replicaset.js';
import { at, ctx, pod } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const ns = (name: string, deleting: boolean, status: Record<string, unknown> = { phase: deleting ? 'Terminating' : 'Active' }): KubeObject => ({
  apiVersion: 'v1', kind: 'Namespace',
  metadata: { name, uid: `uid-${name}`, resourceVersion: '3', ...(deleting ? { deletionTimestamp: at(0) } : {}) },
  spec: { finalizers: ['kubernetes'] }, status,
});
const inNs = (o: KubeObject, namespace: string) => ({ ...o, metadata: { ...o.metadata, namespace } });

test('a terminating namespace: content deleted by collection, conditions say what remains, no finalize yet', (t) => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'team', uid: 'u1', finalizers: ['example.com/keep'] } };
  const cache = cacheFromObjects([ns('team', true), inNs(pod('p1'), 'team'), inNs(pod('p2'), 'team'), cm], namespaceController.watches);
  const r = reconcileNamespace('team', cache, ctx());
  const actions = allActions(r);
  t.is(actions[0]!.type, 'updateStatus');
  const conds = actions[0]!.type === 'updateStatus' ? (actions[0]!.body['status'] as { conditions: Array<Record<string, string>> }).conditions : [];
  t.like(conds.find((c) => c['type'] === 'NamespaceContentRemaining'), { status: 'True', reason: 'SomeResourcesRemain', message: 'Some resources are remaining: configmaps has 1 resource instances, pods has 2 resource instances' });
  t.like(conds.find((c) => c['type'] === 'NamespaceFinalizersRemaining'), { status: 'True', message: 'Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances' });
  t.deepEqual(actions.slice(1).map((a) => (a.type === 'deleteCollection' ? `${a.resource.kind}/${a.namespace}/${a.options?.propagationPolicy}` : a.type)), ['Pod/team/Background', 'ConfigMap/team/Background']);
  t.is(r.requeueAfterMs, 1000);
});

test('an empty terminating namespace is finalized; an active one is left alone', (t) => {
  const r = allActions(reconcileNamespace('team', cacheFromObjects([ns('team', true)], namespaceController.watches), ctx()));
  t.is(r.length, 1);
  t.like(r[0], { type: 'update', subresource: 'finalize', body: { spec: { finalizers: [] } } });
  t.deepEqual(allActions(reconcileNamespace('team', cacheFromObjects([ns('team', false), inNs(pod('p'), 'team')], namespaceController.watches), ctx())), []);
});

test('ServiceAccount: a default account in every active namespace, none in a terminating one', (t) => {
  const cache = cacheFromObjects([ns('a', false), ns('b', true)], serviceAccountController.watches);
  t.deepEqual(allActions(reconcileServiceAccounts('a', cache, ctx())), [
    { type: 'create', resource: kinds.serviceAccount, namespace: 'a', body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'a' } } },
  ]);
  t.deepEqual(allActions(reconcileServiceAccounts('b', cache, ctx())), []);
});

test('through the apiserver: deleting a namespace with a Deployment empties it and the namespace goes away', async (t) => {
  const sim = await Sim.start([namespaceController, serviceAccountController, deploymentController, replicaSetController]);
  const kubelet = new Kubelet(sim);
  await sim.client.create(kinds.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await sim.client.create(kinds.deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'team' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  });
  await sim.refresh();
  await sim.settle(100, kubelet);
  t.is(sim.list(kinds.pod, 'team').length, 2);
  t.truthy(sim.view.get(kinds.serviceAccount, 'team/default'));
  await sim.client.delete(kinds.namespace, undefined, 'team');
  await sim.refresh();
  for (let i = 0; i < 20 && sim.view.get(kinds.namespace, 'team') !== undefined; i++) {
    await sim.settle(100, kubelet);
    sim.advance(1000);
  }
  t.is(sim.view.get(kinds.namespace, 'team'), undefined, JSON.stringify({ log: sim.log.filter((l) => l.controller === 'namespace').map((l) => [l.action.type, l.ok, l.error]), left: sim.view.get(kinds.namespace, 'team')?.['status'], pods: sim.list(kinds.pod, 'team').length, rs: sim.list(kinds.replicaSet, 'team').length }));
  t.is(sim.list(kinds.pod, 'team').length, 0);
  t.is(sim.list(kinds.replicaSet, 'team').length, 0);
});
