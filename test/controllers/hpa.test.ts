/**
 * HorizontalPodAutoscaler: a fixture cache in, the expected scale patch and status out
 * (replica_calculator.go's arithmetic and the autoscaling/v2 default behavior).
 */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, type ApiAction } from '../../src/controllers/framework/index.js';
import { hpaController, kubernetesHpa } from '../../src/controllers/hpa.js';
import { ctx, replicaSet, pod, t0 } from './fixtures.js';

const hpa = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default', uid: 'uid-hpa', generation: 1 },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web' }, minReplicas: 1, maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }], ...spec },
});

/** A running, ready pod requesting 100m cpu. */
const busy = (name: string, o: { ready?: boolean; phase?: 'Pending' | 'Running' } = {}): KubeObject => {
  const p = pod(name, { phase: o.phase ?? 'Running', ...(o.ready === false ? {} : { readySince: -60 }) });
  const spec = p['spec'] as { containers: Array<Record<string, unknown>> };
  return { ...p, spec: { ...spec, containers: spec.containers.map((c) => ({ ...c, resources: { requests: { cpu: '100m' } } })) } };
};

const usage = (name: string, cpu: string): KubeObject => ({
  apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics', metadata: { name, namespace: 'default' }, timestamp: '2026-01-01T00:00:00Z', window: '30s',
  containers: [{ name: 'c', usage: { cpu, memory: '10Mi' } }],
});

function run(objects: readonly KubeObject[], nowMs = t0, controller = hpaController()) {
  const result = controller.reconcile('default/web', cacheFromObjects([...objects], controller.watches), ctx(nowMs));
  const actions = allActions(result);
  const scale = actions.find((a): a is Extract<ApiAction, { type: 'patch' }> => a.type === 'patch');
  const status = actions.find((a): a is Extract<ApiAction, { type: 'updateStatus' }> => a.type === 'updateStatus')?.body['status'] as Record<string, unknown> | undefined;
  return { result, scale, status, controller };
}

test('utilization above target scales up by ceil(ratio x ready pods); within 10% tolerance nothing changes', (t) => {
  // 3 pods at 90m of 100m = 90% against 50%: ratio 1.8 → ceil(5.4) = 6.
  const up = run([hpa(), replicaSet('web', 3), busy('a'), busy('b'), busy('c'), usage('a', '90m'), usage('b', '90m'), usage('c', '90m')]);
  t.deepEqual(up.scale?.patch, { spec: { replicas: 6 } });
  t.is(up.scale?.subresource, 'scale');
  t.is(up.status?.['desiredReplicas'], 6);
  t.deepEqual((up.status?.['currentMetrics'] as unknown[])[0], { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 90, averageValue: '90m' } } });
  t.is(up.result.requeueAfterMs, kubernetesHpa.syncPeriodMs);
  // 54%: ratio 1.08, inside the tolerance.
  const steady = run([hpa(), replicaSet('web', 3), busy('a'), busy('b'), busy('c'), usage('a', '54m'), usage('b', '54m'), usage('c', '54m')]);
  t.is(steady.scale, undefined);
  t.is(steady.status?.['desiredReplicas'], 3);
});

test('scale-up is limited by the default policy (max of +100% and +4 pods per 15 s) and by maxReplicas', (t) => {
  const hot = (n: number) => Array.from({ length: n }, (_, i) => [busy(`p${i}`), usage(`p${i}`, '500m')]).flat();
  // 2 pods at 500%: ratio 10 → 20 wanted; +100% of 2 = 4, +4 pods = 6 → 6.
  t.deepEqual(run([hpa({ maxReplicas: 50 }), replicaSet('web', 2), ...hot(2)]).scale?.patch, { spec: { replicas: 6 } });
  const capped = run([hpa({ maxReplicas: 5 }), replicaSet('web', 2), ...hot(2)]);
  t.deepEqual(capped.scale?.patch, { spec: { replicas: 5 } });
  t.true(JSON.stringify(capped.status?.['conditions']).includes('TooManyReplicas'));
});

test('scale-down waits out the stabilization window: the highest recommendation of the last 5 minutes wins', (t) => {
  const controller = hpaController();
  const idle = [hpa(), replicaSet('web', 4), busy('a'), busy('b'), busy('c'), busy('d'), usage('a', '10m'), usage('b', '10m'), usage('c', '10m'), usage('d', '10m')];
  const warm = [hpa(), replicaSet('web', 4), busy('a'), busy('b'), busy('c'), busy('d'), usage('a', '50m'), usage('b', '50m'), usage('c', '50m'), usage('d', '50m')];
  t.is(run(warm, t0, controller).scale, undefined);
  // Load drops: 10% → 1 replica recommended, but 4 was recommended 1 minute ago.
  t.is(run(idle, t0 + 60_000, controller).scale, undefined);
  // Past the window the low recommendation is the highest left.
  t.deepEqual(run(idle, t0 + 60_000 + 300_001, controller).scale?.patch, { spec: { replicas: 1 } });
});

test('missing metrics and unready pods are rebalanced as upstream does; missing requests and no metrics are reported', (t) => {
  // 2 ready pods at 100% (ratio 2) and one pending pod: scaling up counts the pending one as 0 → 200/300 = 66% → ratio 1.33 → ceil(4) = 4.
  const withPending = run([hpa(), replicaSet('web', 3), busy('a'), busy('b'), busy('c', { phase: 'Pending', ready: false }), usage('a', '100m'), usage('b', '100m')]);
  t.deepEqual(withPending.scale?.patch, { spec: { replicas: 4 } });
  // Scaling down with a pod lacking metrics: it counts as 100% of its request → (10+10+100)/300 = 40% → ratio 0.8 → ceil(2.4) = 3: no change.
  const missing = run([hpa(), replicaSet('web', 3), busy('a'), busy('b'), busy('c'), usage('a', '10m'), usage('b', '10m')]);
  t.is(missing.scale, undefined);
  const noMetrics = run([hpa(), replicaSet('web', 3), busy('a')]);
  t.regex(JSON.stringify(noMetrics.status?.['conditions']), /FailedGetResourceMetric.*did not receive metrics/);
  const noRequests = run([hpa(), replicaSet('web', 1), pod('x', { phase: 'Running', readySince: -60 }), usage('x', '10m')]);
  t.regex(JSON.stringify(noRequests.status?.['conditions']), /missing request for cpu/);
  const absent = run([hpa()]);
  t.regex(JSON.stringify(absent.status?.['conditions']), /FailedGetScale/);
});

test('through the apiserver: the HPA patches the ReplicaSet scale subresource and the ReplicaSet controller follows', async (t) => {
  const { Kubelet, Sim } = await import('./sim.js');
  const { replicaSetController } = await import('../../src/controllers/replicaset.js');
  const { kinds } = await import('../../src/controllers/framework/index.js');
  const sim = await Sim.start([hpaController(), replicaSetController]);
  const kubelet = new Kubelet(sim);
  const rs = replicaSet('web', 2);
  const spec = rs['spec'] as { template: { spec: { containers: Array<Record<string, unknown>> } } };
  spec.template.spec.containers = spec.template.spec.containers.map((c) => ({ ...c, resources: { requests: { cpu: '100m' } } }));
  const { uid: _u, resourceVersion: _r, generation: _g, creationTimestamp: _c, ...metadata } = rs.metadata!;
  await sim.client.create(kinds.replicaSet, { ...rs, metadata });
  const h = hpa();
  await sim.client.create(kinds.hpa, { ...h, metadata: { name: 'web', namespace: 'default' } });
  await sim.refresh();
  await sim.settle(50, kubelet);
  for (const p of sim.list(kinds.pod, 'default')) await sim.client.create({ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics' }, usage(p.metadata!.name!, '100m'));
  sim.advance(kubernetesHpa.syncPeriodMs);
  await sim.refresh();
  await sim.settle(50, kubelet);
  // 100% against 50% on 2 pods → 4.
  t.is(sim.list(kinds.pod, 'default').length, 4);
  const status = sim.view.get(kinds.hpa, 'default/web')!['status'] as Record<string, unknown>;
  t.like(status, { desiredReplicas: 4 });
  t.truthy(status['lastScaleTime']);
  t.true(sim.log.some((l) => l.action.type === 'patch' && l.ok), JSON.stringify(sim.log.filter((l) => !l.ok).map((l) => l.error)));
});
