import test from 'ava';
import { allActions, cacheFromObjects, Expectations, type ApiAction } from '../../src/controllers/framework/index.js';
import { burstReplicas, replicaSetController, reconcileReplicaSet } from '../../src/controllers/replicaset.js';
import { ctx, ownerRef, pod, replicaSet, t0 } from './fixtures.js';

const rsRef = ownerRef('ReplicaSet', 'web');
const cacheOf = (...objs: Parameters<typeof cacheFromObjects>[0]) => cacheFromObjects(objs, replicaSetController.watches);
const types = (actions: readonly ApiAction[]) => actions.map((a) => (a.type === 'delete' || a.type === 'patch' ? `${a.type} ${a.name}` : a.type));

test('creates the missing pods from the template, owned by the ReplicaSet, in slow-start batches, and expects them', (t) => {
  const cache = cacheOf(replicaSet('web', 3), pod('web-a', { owner: rsRef, node: 'n1', readySince: 0 }));
  const r = reconcileReplicaSet('default/web', cache, ctx());
  t.deepEqual(r.expectations, { controllerKey: 'default/web', adds: 2, deleteKeys: [] });
  t.deepEqual(r.steps[0]!.execution, { kind: 'slowStart', initialBatch: 1 });
  const creates = r.steps[0]!.actions;
  t.is(creates.length, 2);
  t.deepEqual(creates[0], {
    type: 'create', resource: { apiVersion: 'v1', kind: 'Pod' }, namespace: 'default',
    body: {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { generateName: 'web-', namespace: 'default', labels: { app: 'web' }, ownerReferences: [{ ...rsRef }] },
      spec: { containers: [{ name: 'c', image: 'nginx:1.14.2' }] },
    },
    onFailure: { kind: 'creation', controllerKey: 'default/web' },
    onSuccessEvent: {
      involvedObject: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', namespace: 'default', uid: 'uid-web' },
      type: 'Normal', reason: 'SuccessfulCreate', message: 'Created pod: {name}',
    },
  });
  const status = r.steps[1]!.actions[0]!;
  t.is(status.type, 'updateStatus');
  t.deepEqual(status.type === 'updateStatus' ? status.body['status'] : undefined,
    { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 });
});

test('unsatisfied expectations (a slow watch) stop further creates; status is still written', (t) => {
  const cache = cacheOf(replicaSet('web', 3));
  const exp = new Expectations();
  exp.set({ controllerKey: 'default/web', adds: 3, deleteKeys: [] }, t0);
  const r = reconcileReplicaSet('default/web', cache, ctx(t0 + 1000, exp));
  t.deepEqual(types(allActions(r)), ['updateStatus']);
  // After observing the creations, management resumes; an expired record (5 min) does too.
  t.true(exp.satisfied('default/web', t0 + 5 * 60 * 1000 + 1));
  for (let i = 0; i < 3; i++) exp.observe({ kind: 'creation', controllerKey: 'default/web' });
  t.is(types(reconcileReplicaSet('default/web', cache, ctx(t0 + 2000, exp)).steps[0]!.actions).length, 3);
});

test('at most burstReplicas creates per sync', (t) => {
  const r = reconcileReplicaSet('default/web', cacheOf(replicaSet('web', 2000)), ctx());
  t.is(r.steps[0]!.actions.length, burstReplicas);
  t.is(r.expectations?.adds, burstReplicas);
});

test('surplus deletion prefers unassigned, then pending, then not ready, then newest ready', (t) => {
  const cache = cacheOf(
    replicaSet('web', 1),
    pod('old-ready', { owner: rsRef, node: 'n1', readySince: 10, created: 0 }),
    pod('new-ready', { owner: rsRef, node: 'n2', readySince: 1000, created: 900 }),
    pod('not-ready', { owner: rsRef, node: 'n3', phase: 'Running' }),
    pod('pending', { owner: rsRef, node: 'n4', phase: 'Pending' }),
    pod('unassigned', { owner: rsRef }),
  );
  const r = reconcileReplicaSet('default/web', cache, ctx(t0 + 2_000_000));
  t.deepEqual(types(r.steps[0]!.actions), ['delete unassigned', 'delete pending', 'delete not-ready', 'delete new-ready']);
  t.deepEqual(r.steps[0]!.execution, { kind: 'parallel' });
  t.deepEqual(r.expectations, {
    controllerKey: 'default/web', adds: 0, deleteKeys: ['default/unassigned', 'default/pending', 'default/not-ready', 'default/new-ready'],
  });
  const del = r.steps[0]!.actions[0]!;
  t.deepEqual(del.type === 'delete' ? del.options : undefined, { preconditions: { uid: 'uid-unassigned' } });
});

test('doubled-up pods go before lone ones; more restarts before fewer', (t) => {
  const cache = cacheOf(
    replicaSet('web', 2),
    pod('lone', { owner: rsRef, node: 'n1', readySince: 0, created: 0 }),
    pod('pair-1', { owner: rsRef, node: 'n2', readySince: 0, created: 0 }),
    pod('pair-2', { owner: rsRef, node: 'n2', readySince: 0, created: 0, restarts: 3 }),
  );
  t.deepEqual(types(reconcileReplicaSet('default/web', cache, ctx(t0 + 10_000)).steps[0]!.actions), ['delete pair-2']);
});

test('adopts matching orphans, releases owned pods that stopped matching, ignores pods of other controllers', (t) => {
  const other = ownerRef('ReplicaSet', 'other');
  const cache = cacheOf(
    replicaSet('web', 2),
    pod('orphan', { node: 'n1', readySince: 0 }),
    pod('relabelled', { owner: rsRef, labels: { app: 'db' }, node: 'n1', readySince: 0 }),
    pod('foreign', { owner: other, node: 'n1', readySince: 0 }),
    pod('mine', { owner: rsRef, node: 'n1', readySince: 0 }),
    pod('finished', { owner: rsRef, node: 'n1', phase: 'Succeeded' }),
  );
  const r = reconcileReplicaSet('default/web', cache, ctx());
  t.deepEqual(allActions(r).slice(0, 2), [
    { type: 'patch', resource: { apiVersion: 'v1', kind: 'Pod' }, namespace: 'default', name: 'orphan', patchType: 'strategic',
      patch: { metadata: { ownerReferences: [{ ...rsRef }], uid: 'uid-orphan' } } },
    { type: 'patch', resource: { apiVersion: 'v1', kind: 'Pod' }, namespace: 'default', name: 'relabelled', patchType: 'strategic',
      patch: { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-web' }], uid: 'uid-relabelled' } } },
  ]);
  // orphan (adopted) + mine = 2 = replicas: nothing created or deleted.
  t.deepEqual(types(allActions(r)), ['patch orphan', 'patch relabelled', 'updateStatus']);
});

test('a ReplicaSet being deleted neither adopts nor manages', (t) => {
  const rs = replicaSet('web', 3);
  rs.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z';
  const r = reconcileReplicaSet('default/web', cacheOf(rs, pod('orphan', { node: 'n1' })), ctx());
  t.deepEqual(types(allActions(r)), ['updateStatus']);
});

test('availability honours minReadySeconds and asks to look again', (t) => {
  const cache = cacheOf(replicaSet('web', 2, { minReadySeconds: 30 }),
    pod('a', { owner: rsRef, node: 'n1', readySince: 0 }), pod('b', { owner: rsRef, node: 'n1', readySince: 20 }));
  const r = reconcileReplicaSet('default/web', cache, ctx(t0 + 40_000));
  const s = allActions(r)[0]!;
  t.like(s.type === 'updateStatus' ? s.body['status'] : {}, { readyReplicas: 2, availableReplicas: 1 });
  t.is(r.requeueAfterMs, 30_000);
});

test('status unchanged: no write (level-triggered resyncs are free)', (t) => {
  const cache = cacheOf(replicaSet('web', 1, { status: { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 } }),
    pod('a', { owner: rsRef, node: 'n1', readySince: 0 }));
  t.deepEqual(allActions(reconcileReplicaSet('default/web', cache, ctx())), []);
});

test('pod events: creation observed for the controller; orphans enqueue every matching ReplicaSet; graceful delete counts as deleted', (t) => {
  const cache = cacheOf(replicaSet('web', 1), replicaSet('web2', 1, { uid: 'uid-web2' }), replicaSet('db', 1, { labels: { app: 'db' } }));
  const podSpec = replicaSetController.watches[1]!;
  const owned = pod('p', { owner: rsRef });
  t.deepEqual(podSpec.map({ type: 'add', obj: owned }, cache), { enqueue: [{ key: 'default/web' }], observed: [{ kind: 'creation', controllerKey: 'default/web' }] });
  t.deepEqual(podSpec.map({ type: 'add', obj: pod('o') }, cache).enqueue, [{ key: 'default/web' }, { key: 'default/web2' }]);
  const deleting = pod('p', { owner: rsRef, deleting: true });
  deleting.metadata!.resourceVersion = '21';
  t.deepEqual(podSpec.map({ type: 'update', oldObj: owned, newObj: deleting }, cache).observed,
    [{ kind: 'deletion', controllerKey: 'default/web', objectKey: 'default/p' }, { kind: 'deletion', controllerKey: 'default/web', objectKey: 'default/p' }]);
  // A controllerRef with the right name but another uid is a different object: ignored.
  t.deepEqual(podSpec.map({ type: 'delete', obj: pod('x', { owner: ownerRef('ReplicaSet', 'web', 'stale') }) }, cache).enqueue, []);
});
