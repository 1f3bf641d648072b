import test from 'ava';
import { body, harness } from './helpers.js';

const pods = '/api/v1/namespaces/default/pods';
const pod = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec } });
const classes = '/apis/scheduling.k8s.io/v1/priorityclasses';

test('DefaultTolerationSeconds adds not-ready and unreachable NoExecute tolerations unless the pod has its own', async (t) => {
  const h = await harness({ admission: { defaultTolerationSeconds: 5 } });
  const plain = body(await h.call('POST', pods, pod('plain')));
  t.deepEqual(plain['spec']['tolerations'], [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 },
  ]);
  const own = body(await h.call('POST', pods, pod('own', { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }] })));
  t.deepEqual(own['spec']['tolerations'].map((x: { key: string; tolerationSeconds: number }) => [x.key, x.tolerationSeconds]), [['node.kubernetes.io/unreachable', 60], ['node.kubernetes.io/not-ready', 5]]);
  const everything = body(await h.call('POST', pods, pod('all', { tolerations: [{ operator: 'Exists' }] })));
  t.deepEqual(everything['spec']['tolerations'], [{ operator: 'Exists' }]);
  h.close();
});

test('Priority resolves priorityClassName and the global default; an unknown class or a hand-set priority is forbidden', async (t) => {
  const h = await harness();
  t.is(body(await h.call('POST', pods, pod('zero')))['spec']['priority'], 0);
  const critical = body(await h.call('POST', pods, pod('crit', { priorityClassName: 'system-cluster-critical' })));
  t.is(critical['spec']['priority'], 2_000_000_000);
  await h.call('POST', classes, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'batch' }, value: 10, globalDefault: true, preemptionPolicy: 'Never' });
  const defaulted = body(await h.call('POST', pods, pod('d')));
  t.is(defaulted['spec']['priority'], 10);
  t.is(defaulted['spec']['priorityClassName'], 'batch');
  t.is(defaulted['spec']['preemptionPolicy'], 'Never');
  const unknown = await h.call('POST', pods, pod('u', { priorityClassName: 'nope' }));
  t.is(unknown.status, 403);
  t.regex(body(unknown)['message'] as string, /pods "u" is forbidden: no PriorityClass with name nope was found/);
  const handSet = await h.call('POST', pods, pod('h', { priority: 99 }));
  t.is(handSet.status, 403);
  t.regex(body(handSet)['message'] as string, /the integer value of priority \(99\) must not be provided in pod spec; priority admission controller computed 10/);
  h.close();
});
