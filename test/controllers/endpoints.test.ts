import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { endpointSliceController, endpointsController, reconcileEndpointSlices, reconcileEndpoints } from '../../src/controllers/endpoints.js';
import { allActions, cacheFromObjects, kinds, type ApiAction } from '../../src/controllers/framework/index.js';
import { ctx, pod } from './fixtures.js';
import { Sim } from './sim.js';

function service(o: { ports?: unknown[]; headless?: boolean; selector?: Record<string, string> | null; publishNotReady?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', uid: 'uid-svc', labels: { tier: 'front' } },
    spec: {
      ...(o.selector === null ? {} : { selector: o.selector ?? { app: 'web' } }),
      ports: o.ports ?? [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      clusterIP: o.headless === true ? 'None' : '127.96.0.20',
      ...(o.publishNotReady === true ? { publishNotReadyAddresses: true } : {}),
    },
  };
}

const httpPort = (n: number) => [{ name: 'http', containerPort: n, protocol: 'TCP' }];
const ref = (name: string) => ({ kind: 'Pod', namespace: 'default', name, uid: `uid-${name}` });
const body = (a: ApiAction | undefined) => (a !== undefined && (a.type === 'create' || a.type === 'update') ? a.body : {});

const epCache = (...objs: KubeObject[]) => cacheFromObjects(objs, endpointsController.watches);
const sliceCache = (...objs: KubeObject[]) => cacheFromObjects(objs, endpointSliceController.watches);

test('Endpoints: ready and not-ready addresses; a named port resolved per pod splits subsets; terminating pods left out', (t) => {
  const cache = epCache(
    service(),
    pod('a', { node: 'n1', readySince: 0, ip: '127.244.0.2', ports: httpPort(8080) }),
    pod('b', { node: 'n2', ip: '127.244.0.3', ports: httpPort(8080) }),
    pod('c', { node: 'n1', readySince: 0, ip: '127.244.0.4', ports: httpPort(9090) }),
    pod('gone', { node: 'n1', readySince: 0, ip: '127.244.0.5', ports: httpPort(8080), deleting: true }),
    pod('no-ip', { node: 'n1', readySince: 0, ports: httpPort(8080) }),
    pod('unnamed', { node: 'n1', readySince: 0, ip: '127.244.0.6' }),
    pod('other', { labels: { app: 'db' }, node: 'n1', readySince: 0, ip: '127.244.0.7', ports: httpPort(8080) }),
  );
  const [create] = allActions(reconcileEndpoints('default/web', cache, ctx()));
  t.deepEqual(body(create), {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } },
    subsets: [
      { addresses: [{ ip: '127.244.0.2', nodeName: 'n1', targetRef: ref('a') }], notReadyAddresses: [{ ip: '127.244.0.3', nodeName: 'n2', targetRef: ref('b') }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [{ ip: '127.244.0.4', nodeName: 'n1', targetRef: ref('c') }], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    ],
  });
});

test('Endpoints: headless without ports lists addresses only with hostnames for the subdomain; no selector: hands off; deleted Service: its Endpoints go', (t) => {
  const headless = service({ headless: true, ports: [] });
  const [c] = allActions(reconcileEndpoints('default/web', epCache(headless, pod('w-0', { node: 'n1', readySince: 0, ip: '127.244.0.2', hostname: 'w-0', subdomain: 'web' })), ctx()));
  t.deepEqual(body(c)['subsets'], [{ addresses: [{ ip: '127.244.0.2', hostname: 'w-0', nodeName: 'n1', targetRef: ref('w-0') }] }]);
  t.deepEqual(body(c).metadata?.labels, { tier: 'front', 'service.kubernetes.io/headless': '' });
  t.deepEqual(allActions(reconcileEndpoints('default/web', epCache(service({ selector: null })), ctx())), []);
  const orphanEp = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default', uid: 'uid-ep' }, subsets: [] };
  t.like(allActions(reconcileEndpoints('default/web', epCache(orphanEp), ctx()))[0], { type: 'delete', name: 'web', options: { preconditions: { uid: 'uid-ep' } } });
});

test('EndpointSlice: terminating pods stay with ready=false, serving and terminating conditions; ports per slice; owned by the Service', (t) => {
  const cache = sliceCache(
    service(),
    pod('a', { node: 'n1', readySince: 0, ip: '127.244.0.2', ports: httpPort(8080) }),
    pod('t', { node: 'n1', readySince: 0, ip: '127.244.0.3', ports: httpPort(8080), deleting: true }),
    pod('c', { node: 'n2', ip: '127.244.0.4', ports: httpPort(9090) }),
  );
  const creates = allActions(reconcileEndpointSlices('default/web', cache, ctx()));
  t.is(creates.length, 2);
  const labels = { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
  t.deepEqual(body(creates[0]), {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { generateName: 'web-', namespace: 'default', labels, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc', controller: true, blockOwnerDeletion: true }] },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['127.244.0.2'], conditions: { ready: true, serving: true, terminating: false }, targetRef: ref('a'), nodeName: 'n1' },
      { addresses: ['127.244.0.3'], conditions: { ready: false, serving: true, terminating: true }, targetRef: ref('t'), nodeName: 'n1' },
    ],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  t.deepEqual((body(creates[1])['endpoints'] as unknown[])[0], { addresses: ['127.244.0.4'], conditions: { ready: false, serving: false, terminating: false }, targetRef: ref('c'), nodeName: 'n2' });
});

test('EndpointSlice: more than 100 endpoints are packed into several slices; no endpoints still leaves one empty slice', (t) => {
  const pods = Array.from({ length: 150 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, { node: 'n1', readySince: 0, ip: `127.244.${Math.floor(i / 200)}.${(i % 200) + 2}`, ports: httpPort(80) }));
  const creates = allActions(reconcileEndpointSlices('default/web', sliceCache(service(), ...pods), ctx()));
  t.deepEqual(creates.map((a) => (body(a)['endpoints'] as unknown[]).length), [100, 50]);
  const empty = allActions(reconcileEndpointSlices('default/web', sliceCache(service()), ctx()));
  t.like(body(empty[0]), { endpoints: [], ports: [] });
});

test('converges through the apiserver: pods becoming ready move into addresses; a deleted pod leaves', async (t) => {
  const sim = await Sim.start([endpointsController, endpointSliceController]);
  const svc = service();
  delete svc.metadata!.uid;
  (svc['spec'] as Record<string, unknown>)['clusterIP'] = '';
  await sim.client.create(kinds.service, svc);
  for (const name of ['a', 'b']) {
    await sim.client.create(kinds.pod, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx', ports: httpPort(8080) }] } });
    await sim.client.bindPod('default', name, 'n1');
  }
  const setStatus = async (name: string, ready: boolean, ip: string) => {
    const p = await sim.client.get(kinds.pod, 'default', name);
    await sim.client.updateStatus(kinds.pod, { ...p, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } });
  };
  await setStatus('a', true, '127.244.0.2');
  await setStatus('b', false, '127.244.0.3');
  await sim.refresh();
  await sim.settle();
  const ep = () => sim.view.get(kinds.endpoints, 'default/web')!['subsets'] as Array<Record<string, Array<{ ip: string }>>>;
  t.deepEqual(ep()[0]!['addresses']!.map((a) => a.ip), ['127.244.0.2']);
  t.deepEqual(ep()[0]!['notReadyAddresses']!.map((a) => a.ip), ['127.244.0.3']);
  await setStatus('b', true, '127.244.0.3');
  await sim.refresh();
  await sim.settle();
  t.deepEqual(ep()[0]!['addresses']!.map((a) => a.ip), ['127.244.0.2', '127.244.0.3']);
  await sim.client.delete(kinds.pod, 'default', 'a', { gracePeriodSeconds: 0 });
  await sim.refresh();
  await sim.settle();
  t.deepEqual(ep()[0]!['addresses']!.map((a) => a.ip), ['127.244.0.3']);
  const slices = sim.list(kinds.endpointSlice, 'default');
  t.is(slices.length, 1);
  t.deepEqual((slices[0]!['endpoints'] as Array<{ addresses: string[] }>).map((e) => e.addresses[0]), ['127.244.0.3']);
  t.true(sim.log.every((l) => l.ok), JSON.stringify(sim.log.filter((l) => !l.ok).map((l) => l.error)));
});
