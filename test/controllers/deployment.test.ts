import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import {
  computeTemplateHash, deploymentController, equalIgnoreHash, maxSurgeOf, maxUnavailableOf, reconcileDeployment, resolveFenceposts,
} from '../../src/controllers/deployment.js';
import { allActions, cacheFromObjects, safeEncodeString, type ApiAction } from '../../src/controllers/framework/index.js';
import { at, ctx, ownerRef, replicaSet, t0, template } from './fixtures.js';

const dRef = ownerRef('Deployment', 'web');

function deployment(replicas: number, o: { image?: string; strategy?: Record<string, unknown>; status?: Record<string, unknown>; generation?: number; paused?: boolean; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', resourceVersion: '5', generation: o.generation ?? 1, creationTimestamp: at(0), ...(o.annotations === undefined ? {} : { annotations: o.annotations }) },
    spec: {
      replicas, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }, o.image ?? 'nginx:2'),
      strategy: o.strategy ?? { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      revisionHistoryLimit: 10, progressDeadlineSeconds: 600, ...(o.paused === true ? { paused: true } : {}),
    },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

/** A ReplicaSet of this deployment for `image`, named and labelled by its hash as the controller would. */
function ownedRS(replicas: number, image: string, o: { revision: number; available?: number; created?: number; desired?: number; maxReplicas?: number }): KubeObject {
  const hash = computeTemplateHash(template({ app: 'web' }, image));
  const labels = { app: 'web', 'pod-template-hash': hash };
  const rs = replicaSet(`web-${hash}`, replicas, {
    labels, owner: dRef, image, created: o.created ?? 0,
    annotations: {
      'deployment.kubernetes.io/revision': String(o.revision),
      'deployment.kubernetes.io/desired-replicas': String(o.desired ?? 10),
      'deployment.kubernetes.io/max-replicas': String(o.maxReplicas ?? 13),
    },
    status: { replicas, readyReplicas: o.available ?? replicas, availableReplicas: o.available ?? replicas, observedGeneration: 1 },
  });
  return rs;
}

const cacheOf = (...objs: KubeObject[]) => cacheFromObjects(objs, deploymentController.watches);
const scales = (actions: readonly ApiAction[]) => actions.flatMap((a) => (a.type === 'update' && a.resource.kind === 'ReplicaSet'
  ? [`${a.body.metadata!.name!.startsWith(`web-${computeTemplateHash(template({ app: 'web' }, 'nginx:2'))}`) ? 'new' : 'old'}=${(a.body['spec'] as { replicas: number }).replicas}`] : []));

test('fenceposts: surge rounds up, unavailable down, never both zero', (t) => {
  t.deepEqual(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 });
  t.deepEqual(resolveFenceposts('25%', '25%', 1), { surge: 1, unavailable: 0 });
  t.deepEqual(resolveFenceposts(0, 0, 5), { surge: 0, unavailable: 1 });
  t.deepEqual(resolveFenceposts('0%', '0%', 3), { surge: 0, unavailable: 1 });
  t.is(maxUnavailableOf(deployment(2, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 5 } } })), 2, 'capped at replicas');
  t.is(maxSurgeOf(deployment(4, { strategy: { type: 'Recreate' } })), 0);
});

test('pod-template-hash: FNV-1a of the template, safe-encoded; a collision count changes it; the hash label is ignored when comparing', (t) => {
  const a = computeTemplateHash(template({ app: 'web' }));
  t.regex(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  t.is(a, computeTemplateHash(JSON.parse(JSON.stringify(template({ app: 'web' })))));
  t.not(a, computeTemplateHash(template({ app: 'web' }), 1));
  t.not(a, computeTemplateHash(template({ app: 'web' }, 'nginx:3')));
  t.is(safeEncodeString('0123456789'), 'bcdfghjklm'.split('').map((_, i) => 'bcdfghjklmnpqrstvwxz2456789'[(48 + i) % 27]).join(''));
  const labelled = template({ app: 'web', 'pod-template-hash': a });
  t.true(equalIgnoreHash(labelled, template({ app: 'web' })));
});

test('a new Deployment gets a ReplicaSet named by its hash, revision 1, owned, sized to replicas', (t) => {
  const r = reconcileDeployment('default/web', cacheOf(deployment(10)), ctx());
  const [create] = allActions(r);
  const hash = computeTemplateHash(template({ app: 'web' }, 'nginx:2'));
  t.like(create, { type: 'create', namespace: 'default' });
  const body = create!.type === 'create' ? create!.body : {};
  t.deepEqual(body, {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`, namespace: 'default', labels: { app: 'web', 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '10', 'deployment.kubernetes.io/max-replicas': '13' },
      ownerReferences: [dRef],
    },
    spec: {
      replicas: 10, selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } },
      template: { metadata: { labels: { app: 'web', 'pod-template-hash': hash } }, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } },
    },
  });
  const status = allActions(r)[1]!;
  t.is(status.type, 'updateStatus');
  const sb = status.type === 'updateStatus' ? status.body : {};
  t.is(sb.metadata?.annotations?.['deployment.kubernetes.io/revision'], '1');
  t.like((sb['status'] as { conditions: unknown[] }).conditions, [
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "web-${hash}"` },
    { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' },
  ]);
});

test('a template change: the new ReplicaSet starts at maxSurge (revision max+1) while the old keeps its pods', (t) => {
  const old = ownedRS(10, 'nginx:1', { revision: 1 });
  const r = reconcileDeployment('default/web', cacheOf(deployment(10, { generation: 2 }), old), ctx());
  const create = allActions(r)[0]!;
  t.like(create.type === 'create' ? create.body : {}, { spec: { replicas: 3 }, metadata: { annotations: { 'deployment.kubernetes.io/revision': '2' } } });
});

test('rolling steps: scale the new set up to the surge, then the old one down as far as availability allows', (t) => {
  const old = ownedRS(10, 'nginx:1', { revision: 1 });
  // New set exists with 0 pods: scale up to 3 (10 + 3 surge - 10 current).
  const n0 = ownedRS(0, 'nginx:2', { revision: 2, created: 5 });
  t.deepEqual(scales(allActions(reconcileDeployment('default/web', cacheOf(deployment(10, { generation: 2 }), old, n0), ctx()))), ['new=3']);
  // New set at 3 but none available: the old set may drop 2 (maxUnavailable) — minAvailable 8 of 10 available.
  const n3 = ownedRS(3, 'nginx:2', { revision: 2, created: 5, available: 0 });
  t.deepEqual(scales(allActions(reconcileDeployment('default/web', cacheOf(deployment(10, { generation: 2 }), old, n3), ctx()))), ['old=8']);
  // Old set has 3 unavailable pods: they go first (cleanupUnhealthyReplicas), but only 2 may go
  // (13 pods - 8 minAvailable - 3 unavailable new); availability 7 <= 8 allows no further scale-down.
  const sick = ownedRS(10, 'nginx:1', { revision: 1, available: 7 });
  t.deepEqual(scales(allActions(reconcileDeployment('default/web', cacheOf(deployment(10, { generation: 2 }), sick, n3), ctx()))), ['old=8']);
});

test('an old template again is a rollback: that ReplicaSet becomes new with the next revision and keeps its old number', (t) => {
  const v1 = ownedRS(0, 'nginx:2', { revision: 1 });
  const v2 = ownedRS(10, 'nginx:1', { revision: 2, created: 5 });
  const r = reconcileDeployment('default/web', cacheOf(deployment(10, { generation: 3, annotations: { 'deployment.kubernetes.io/revision': '2' } }), v1, v2), ctx());
  const [update] = allActions(r);
  t.like(update!.type === 'update' ? update!.body.metadata : {}, {
    name: v1.metadata!.name,
    annotations: { 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/revision-history': '1' },
  });
  t.is(allActions(r).length, 1, 'the ReplicaSet is written once; the rollout continues on its watch event');
});

test('scaling a Deployment mid-rollout scales every active ReplicaSet in proportion (largest gets the leftover)', (t) => {
  // replicas 10 → 20 while old=8, new=5 (sized for 10 + 3 surge): allowed 20 + 5 = 25, add 12.
  const old = ownedRS(8, 'nginx:1', { revision: 1, available: 8 });
  const nw = ownedRS(5, 'nginx:2', { revision: 2, created: 5, available: 2 });
  const r = reconcileDeployment('default/web', cacheOf(deployment(20, { generation: 3, status: { replicas: 13 } }), old, nw), ctx());
  // old: round(8*25/13) - 8 = 15 - 8 = 7; new: round(5*25/13) - 5 = 10 - 5 = 5; 7 + 5 = 12: no leftover.
  t.deepEqual(scales(allActions(r)).sort(), ['new=10', 'old=15']);
});

test('paused: no rollout, Progressing Unknown DeploymentPaused', (t) => {
  const old = ownedRS(10, 'nginx:1', { revision: 1 });
  const r = reconcileDeployment('default/web', cacheOf(deployment(10, { paused: true, generation: 2 }), old), ctx());
  const a = allActions(r);
  t.deepEqual(a.map((x) => x.type), ['updateStatus']);
  t.like(a[0]!.type === 'updateStatus' ? (a[0]!.body['status'] as { conditions: unknown[] }).conditions : [], [
    { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' },
  ]);
});

test('no progress past the deadline: Progressing False ProgressDeadlineExceeded; before it, a requeue at the deadline', (t) => {
  const old = ownedRS(10, 'nginx:1', { revision: 1 });
  const nw = ownedRS(5, 'nginx:2', { revision: 2, created: 5, available: 0 });
  old.spec = { ...(old['spec'] as object), replicas: 8 };
  (old['status'] as Record<string, number>)['availableReplicas'] = 8;
  (old['status'] as Record<string, number>)['readyReplicas'] = 8;
  (old['status'] as Record<string, number>)['replicas'] = 8;
  const progressing = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${nw.metadata!.name}" is progressing.`, lastUpdateTime: at(0), lastTransitionTime: at(0) };
  const available = { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.', lastUpdateTime: at(0), lastTransitionTime: at(0) };
  const status = { observedGeneration: 2, replicas: 13, updatedReplicas: 5, readyReplicas: 8, availableReplicas: 8, unavailableReplicas: 5, conditions: [available, progressing] };
  const d = deployment(10, { generation: 2, status, annotations: { 'deployment.kubernetes.io/revision': '2' } });
  const early = reconcileDeployment('default/web', cacheOf(d, old, nw), ctx(t0 + 100_000));
  t.deepEqual(allActions(early), []);
  t.is(early.requeueAfterMs, 600_000 - 100_000 + 1000);
  const late = allActions(reconcileDeployment('default/web', cacheOf(d, old, nw), ctx(t0 + 601_000)));
  t.like(late[0]!.type === 'updateStatus' ? (late[0]!.body['status'] as { conditions: unknown[] }).conditions : [], [
    available, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${nw.metadata!.name}" has timed out progressing.` },
  ]);
});

test('adopts an orphaned matching ReplicaSet before anything else; a selector of everything is refused with a warning', (t) => {
  const orphan = replicaSet('stray', 1);
  const r = reconcileDeployment('default/web', cacheOf(deployment(1), orphan), ctx());
  t.deepEqual(allActions(r).map((a) => a.type), ['patch']);
  const all = deployment(1);
  (all['spec'] as Record<string, unknown>)['selector'] = {};
  const w = allActions(reconcileDeployment('default/web', cacheOf(all), ctx()));
  t.like(w[0], { type: 'event', event: { type: 'Warning', reason: 'SelectingAll' } });
});

test('a name taken by another template is a hash collision: status.collisionCount goes up, and the next hash differs', (t) => {
  const hash = computeTemplateHash(template({ app: 'web' }, 'nginx:2'));
  const squatter = replicaSet(`web-${hash}`, 1, { labels: { app: 'other' } });
  const r = allActions(reconcileDeployment('default/web', cacheOf(deployment(1), squatter), ctx()));
  t.deepEqual(r.map((a) => a.type), ['updateStatus']);
  t.is(r[0]!.type === 'updateStatus' ? (r[0]!.body['status'] as { collisionCount: number }).collisionCount : 0, 1);
  const next = allActions(reconcileDeployment('default/web', cacheOf(deployment(1, { status: { collisionCount: 1 } }), squatter), ctx()));
  t.is(next[0]!.type === 'create' ? next[0]!.body.metadata?.name : '', `web-${computeTemplateHash(template({ app: 'web' }, 'nginx:2'), 1)}`);
});
