import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { jobController, jobTrackingFinalizer, reconcileJob } from '../../src/controllers/job.js';
import { at, ctx, ownerRef, pod, t0 } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const jobRef = ownerRef('Job', 'pi');
jobRef.apiVersion = 'batch/v1';
const labels = { 'batch.kubernetes.io/controller-uid': 'uid-pi' };

function job(o: { completions?: number; parallelism?: number; backoffLimit?: number; status?: Record<string, unknown>; deadline?: number; ttl?: number } = {}): KubeObject {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'pi', namespace: 'default', uid: 'uid-pi', resourceVersion: '4' },
    spec: {
      completions: o.completions ?? 3, parallelism: o.parallelism ?? 2, backoffLimit: o.backoffLimit ?? 6,
      selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'perl' }], restartPolicy: 'Never' } },
      ...(o.deadline === undefined ? {} : { activeDeadlineSeconds: o.deadline }), ...(o.ttl === undefined ? {} : { ttlSecondsAfterFinished: o.ttl }),
    },
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

const jobPod = (name: string, phase: 'Running' | 'Succeeded' | 'Failed', tracked = true) => {
  const p = pod(name, { owner: jobRef, labels, node: 'n1', phase, ...(phase === 'Running' ? { readySince: 0 } : {}) });
  if (tracked) p.metadata!.finalizers = [jobTrackingFinalizer];
  return p;
};

const cacheOf = (...objs: KubeObject[]) => cacheFromObjects(objs, jobController.watches);

test('starts parallelism pods with the tracking finalizer and a start time', (t) => {
  const r = reconcileJob('default/pi', cacheOf(job()), ctx());
  const a = allActions(r);
  t.deepEqual(a.map((x) => x.type), ['updateStatus', 'create', 'create']);
  t.like(a[1], { type: 'create', body: { metadata: { generateName: 'pi-', finalizers: [jobTrackingFinalizer], labels } } });
  t.like(a[0]!.type === 'updateStatus' ? a[0]!.body['status'] : {}, { startTime: at(0), ready: 0 });
  t.deepEqual(r.expectations, { controllerKey: 'default/pi', adds: 2, deleteKeys: [] });
});

test('a finished pod is recorded as uncounted before its finalizer goes, then counted', (t) => {
  const started = { startTime: at(0), active: 2, ready: 2, uncountedTerminatedPods: {} };
  const r1 = allActions(reconcileJob('default/pi', cacheOf(job({ status: started }), jobPod('a', 'Succeeded'), jobPod('b', 'Running')), ctx()));
  t.is(r1[0]!.type, 'updateStatus');
  t.like(r1[0]!.type === 'updateStatus' ? r1[0]!.body['status'] : {}, { active: 1, uncountedTerminatedPods: { succeeded: ['uid-a'] } });
  t.like(r1[1], { type: 'patch', name: 'a', patchType: 'json' });
  t.like(r1[2], { type: 'create' }, 'a replacement keeps two running for the two completions left');
  const counted = { ...started, active: 1, uncountedTerminatedPods: { succeeded: ['uid-a'] } };
  const r2 = allActions(reconcileJob('default/pi', cacheOf(job({ status: counted }), jobPod('a', 'Succeeded', false), jobPod('b', 'Running'), jobPod('c', 'Running')), ctx()));
  t.like(r2[0]!.type === 'updateStatus' ? r2[0]!.body['status'] : {}, { active: 2, succeeded: 1, uncountedTerminatedPods: {} });
});

test('completions reached: Complete with completionTime; failures past backoffLimit: Failed and active pods deleted', (t) => {
  const status = { startTime: at(0), succeeded: 3, ready: 0, uncountedTerminatedPods: {} };
  const done = allActions(reconcileJob('default/pi', cacheOf(job({ status })), ctx(t0 + 5000)));
  t.like(done[0]!.type === 'updateStatus' ? done[0]!.body['status'] : {}, { completionTime: at(5), conditions: [{ type: 'Complete', status: 'True' }] });
  const failing = { startTime: at(0), failed: 2, active: 1, ready: 1, uncountedTerminatedPods: {} };
  const r = allActions(reconcileJob('default/pi', cacheOf(job({ backoffLimit: 1, status: failing }), jobPod('x', 'Running')), ctx()));
  t.like(r[0]!.type === 'updateStatus' ? r[0]!.body['status'] : {}, { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] });
  t.like(r.find((a) => a.type === 'delete'), { name: 'x' });
});

test('activeDeadlineSeconds fails the Job; before it, a requeue at the deadline; recreating after a failure waits for the backoff', (t) => {
  const status = { startTime: at(0), active: 2, ready: 2, uncountedTerminatedPods: {} };
  const early = reconcileJob('default/pi', cacheOf(job({ deadline: 60, status }), jobPod('a', 'Running'), jobPod('b', 'Running')), ctx(t0 + 10_000));
  t.deepEqual(allActions(early), []);
  t.is(early.requeueAfterMs, 50_000);
  const late = allActions(reconcileJob('default/pi', cacheOf(job({ deadline: 60, status }), jobPod('a', 'Running'), jobPod('b', 'Running')), ctx(t0 + 61_000)));
  t.like(late[0]!.type === 'updateStatus' ? late[0]!.body['status'] : {}, { conditions: [{ type: 'Failed', reason: 'DeadlineExceeded' }] });
  const afterFail = { startTime: at(0), failed: 1, active: 1, ready: 1, uncountedTerminatedPods: {} };
  const wait = reconcileJob('default/pi', cacheOf(job({ status: afterFail }), jobPod('b', 'Running'), jobPod('f', 'Failed', false)), ctx(t0 + 3000));
  t.deepEqual(allActions(wait).map((a) => a.type), []);
  t.is(wait.requeueAfterMs, 7000);
});

test('ttlSecondsAfterFinished deletes a finished Job once due', (t) => {
  const status = { startTime: at(0), completionTime: at(10), succeeded: 3, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at(10) }] };
  const before = reconcileJob('default/pi', cacheOf(job({ ttl: 30, status })), ctx(t0 + 20_000));
  t.is(before.requeueAfterMs, 20_000);
  t.like(allActions(reconcileJob('default/pi', cacheOf(job({ ttl: 30, status })), ctx(t0 + 41_000)))[0], { type: 'delete', name: 'pi', options: { propagationPolicy: 'Foreground' } });
});

test('through the apiserver: a Job of 3 completions, 2 at a time, with one failure, completes and counts each pod once', async (t) => {
  const sim = await Sim.start([jobController]);
  const kubelet = new Kubelet(sim);
  // The first pod to end fails; every other succeeds (decided once per pod).
  const ends = new Map<string, 'Succeeded' | 'Failed'>();
  kubelet.finish = (p) => {
    const uid = p.metadata!.uid!;
    if (!ends.has(uid)) ends.set(uid, ends.size === 0 ? 'Failed' : 'Succeeded');
    return ends.get(uid);
  };
  const j = job();
  delete j.metadata!.uid;
  const spec = j['spec'] as Record<string, unknown>;
  delete spec['selector'];
  spec['template'] = { spec: { containers: [{ name: 'c', image: 'perl' }], restartPolicy: 'Never' } };
  await sim.client.create(kinds.job, j);
  await sim.refresh();
  for (let i = 0; i < 10; i++) {
    await sim.settle(200, kubelet);
    sim.advance(11_000); // past the pod-failure backoff
  }
  const done = sim.view.get(kinds.job, 'default/pi')!;
  const status = done['status'] as Record<string, unknown>;
  t.like(status, { succeeded: 3, failed: 1, conditions: [{ type: 'Complete', status: 'True' }] });
  t.true(sim.list(kinds.pod, 'default').every((p) => !(p.metadata?.finalizers ?? []).includes(jobTrackingFinalizer)));
  const created = sim.log.filter((l) => l.action.type === 'create' && l.ok).length;
  t.is(created, 4, 'three successes and one failure: four pods');
});
