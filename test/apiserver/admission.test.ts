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

const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

test('ServiceAccount: default account, projected token mounted; a missing account is forbidden; automount false is honoured', async (t) => {
  const h = await harness({ admission: { defaultServiceAccountLookups: 1 } });
  const p = body(await h.call('POST', pods, pod('sa')));
  t.is(p['spec']['serviceAccountName'], 'default');
  const vol = p['spec']['volumes'].find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
  t.regex(vol.name, /^kube-api-access-[a-z0-9]{5}$/);
  t.is(vol.projected.sources[0].serviceAccountToken.expirationSeconds, 3607);
  t.deepEqual(p['spec']['containers'][0]['volumeMounts'], [{ name: vol.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }]);
  const missing = await h.call('POST', pods, pod('m', { serviceAccountName: 'robot' }));
  t.is(missing.status, 403);
  t.is(body(missing)['message'], 'pods "m" is forbidden: error looking up service account default/robot: serviceaccount "robot" not found');
  const off = body(await h.call('POST', pods, pod('off', { automountServiceAccountToken: false })));
  t.is(off['spec']['volumes'], undefined);
  await h.call('POST', '/api/v1/namespaces', ns('fresh'));
  t.is((await h.call('POST', '/api/v1/namespaces/fresh/pods', pod('early'))).status, 403);
  h.close();
});

test('LimitRanger: defaults per container, max / ratio refused with upstream messages; PVC max storage', async (t) => {
  const h = await harness();
  await h.call('POST', '/api/v1/namespaces/default/limitranges', { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'lr' },
    spec: { limits: [{ type: 'Container', max: { cpu: '1' }, default: { cpu: '500m' }, defaultRequest: { cpu: '250m' } }, { type: 'PersistentVolumeClaim', max: { storage: '2Gi' } }] } });
  const d = body(await h.call('POST', pods, pod('d')));
  t.deepEqual(d['spec']['containers'][0]['resources'], { limits: { cpu: '500m' }, requests: { cpu: '250m' } });
  t.is(d['metadata']['annotations']['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu request for container c; cpu limit for container c');
  const big = await h.call('POST', pods, pod('x', { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '2' } } }] }));
  t.is(big.status, 403);
  t.is(body(big)['message'], 'pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
  const pvc = await h.call('POST', '/api/v1/namespaces/default/persistentvolumeclaims', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } });
  t.is(pvc.status, 403);
  t.is(body(pvc)['message'], 'persistentvolumeclaims "c" is forbidden: maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi');
  h.close();
});

async function quota(h: Awaited<ReturnType<typeof harness>>, hard: Record<string, string>, used: Record<string, string>, scoping: Record<string, unknown> = {}) {
  const q = body(await h.call('POST', '/api/v1/namespaces/default/resourcequotas', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard, ...scoping } }));
  const r = await h.call('PUT', '/api/v1/namespaces/default/resourcequotas/q/status', { ...q, status: { hard, used } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
}

test('ResourceQuota: exceeded quota and must-specify refusals with upstream messages; usage charged', async (t) => {
  const h = await harness();
  await quota(h, { pods: '2', 'limits.cpu': '1' }, { pods: '0', 'limits.cpu': '0' });
  const bare = await h.call('POST', pods, pod('bare'));
  t.is(body(bare)['message'], 'pods "bare" is forbidden: failed quota: q: must specify limits.cpu for: c');
  const withCpu = (name: string) => pod(name, { containers: [{ name: 'c', image: 'nginx', resources: { limits: { cpu: '400m' } } }] });
  t.is((await h.call('POST', pods, withCpu('a'))).status, 201);
  t.is((await h.call('POST', pods, withCpu('b'))).status, 201);
  const third = await h.call('POST', pods, withCpu('c'));
  t.is(third.status, 403);
  t.is(body(third)['message'], 'pods "c" is forbidden: exceeded quota: q, requested: limits.cpu=400m,pods=1, used: limits.cpu=800m,pods=2, limited: limits.cpu=1,pods=2');
  t.deepEqual(body(await h.call('GET', '/api/v1/namespaces/default/resourcequotas/q'))['status']['used'], { 'limits.cpu': '800m', pods: '2' });
  h.close();
});

test('ResourceQuota: 20 concurrent creates never exceed the quota (compare-and-swap on the quota)', async (t) => {
  const h = await harness();
  await quota(h, { 'count/configmaps': '5' }, { 'count/configmaps': '0' });
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    h.call('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } })));
  t.is(results.filter((r) => r.status === 201).length, 5);
  t.true(results.filter((r) => r.status !== 201).every((r) => r.status === 403));
  t.is(body(await h.call('GET', '/api/v1/namespaces/default/resourcequotas/q'))['status']['used']['count/configmaps'], '5');
  h.close();
});

test('ResourceQuota scopes: a BestEffort quota limits best-effort pods only; a PriorityClass selector only its classes; other kinds are not tracked', async (t) => {
  const h = await harness();
  await quota(h, { pods: '1' }, { pods: '0' }, { scopes: ['BestEffort'], scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['critical'] }] } });
  t.is((await h.call('POST', pods, pod('be1'))).status, 201);
  const second = await h.call('POST', pods, pod('be2'));
  t.is(second.status, 403);
  t.regex(String(body(second)['message']), /exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1/);
  const burstable = pod('burst', { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }] });
  t.is((await h.call('POST', pods, burstable)).status, 201, 'not best-effort: out of scope');
  t.is((await h.call('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'critical' }, value: 1000 })).status, 201);
  t.is((await h.call('POST', pods, pod('crit', { priorityClassName: 'critical' }))).status, 201, 'a class the selector excludes');
  t.deepEqual(body(await h.call('GET', '/api/v1/namespaces/default/resourcequotas/q'))['status']['used'], { pods: '1' });
  h.close();
});
