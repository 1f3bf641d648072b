import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { disruptionController, reconcileDisruptionBudget } from '../../src/controllers/disruption.js';
import { allActions, cacheFromObjects } from '../../src/controllers/framework/index.js';
import { at, ctx, ownerRef, pod, replicaSet, t0 } from './fixtures.js';

function pdb(spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web', namespace: 'default', uid: 'uid-pdb', generation: 2 },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec }, ...(status === undefined ? {} : { status }),
  };
}
const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default', uid: 'uid-dep' }, spec: { replicas: 4 } };
const rs = replicaSet('web-abc', 4, { owner: ownerRef('Deployment', 'web', 'uid-dep') });
const rsRef = ownerRef('ReplicaSet', 'web-abc');
const pods = [pod('a', { owner: rsRef, node: 'n', readySince: 0 }), pod('b', { owner: rsRef, node: 'n', readySince: 0 }), pod('c', { owner: rsRef, node: 'n', readySince: 0 }), pod('d', { owner: rsRef, node: 'n' })];
const statusOf = (spec: Record<string, unknown>, extra: KubeObject[] = [], st?: Record<string, unknown>, nowMs = t0) => {
  const a = allActions(reconcileDisruptionBudget('default/web', cacheFromObjects([pdb(spec, st), deployment, rs, ...pods, ...extra], disruptionController.watches), ctx(nowMs)));
  return a[0]?.type === 'updateStatus' ? (a[0].body['status'] as Record<string, unknown>) : undefined;
};

test('minAvailable as a number counts selected pods; healthy means Ready and not terminating', (t) => {
  t.like(statusOf({ minAvailable: 2 }), { currentHealthy: 3, desiredHealthy: 2, expectedPods: 4, disruptionsAllowed: 1, observedGeneration: 2, conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' }] });
  t.like(statusOf({ minAvailable: 3 }), { disruptionsAllowed: 0, conditions: [{ status: 'False', reason: 'InsufficientPods' }] });
});

test('maxUnavailable and percentages scale with the owning Deployment (through its ReplicaSet)', (t) => {
  t.like(statusOf({ maxUnavailable: 1 }), { expectedPods: 4, desiredHealthy: 3, disruptionsAllowed: 0 });
  t.like(statusOf({ minAvailable: '50%' }), { expectedPods: 4, desiredHealthy: 2, disruptionsAllowed: 1 });
  t.like(statusOf({ maxUnavailable: '30%' }), { desiredHealthy: 2, disruptionsAllowed: 1 }, '30% of 4 rounds up to 2');
  // A selected pod without a controller makes a percentage budget uncomputable: no disruptions.
  t.like(statusOf({ maxUnavailable: 1 }, [pod('stray', { node: 'n', readySince: 0 })]), { disruptionsAllowed: 0, conditions: [{ reason: 'SyncFailed' }] });
});

test('a recent eviction in disruptedPods is not counted healthy; it ages out after two minutes', (t) => {
  const st = { disruptedPods: { a: at(0) } };
  t.like(statusOf({ minAvailable: 1 }, [], st), { currentHealthy: 2, disruptedPods: { a: at(0) } });
  const later = statusOf({ minAvailable: 1 }, [], st, t0 + 121_000)!;
  t.is(later['currentHealthy'], 3);
  t.is(later['disruptedPods'], undefined);
});
