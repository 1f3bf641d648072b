/**
 * A user's operator on the HA control plane: a CRD (widgets.example.com) and the fixture module
 * test/fixtures/widget-operator.ts passed to `Cluster.start({ operators })`. Every master runs an
 * instance (imported in its worker under the test's TypeScript loader); one holds Lease
 * kube-system/operator-widgets and reconciles each Widget into a ConfigMap it owns, writing status
 * back; killing the holder's master hands the work to another instance. Own loopback block 127.81.2.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { isNotFound, KubeClient } from '../../src/client/index.js';
import { kinds } from '../../src/controllers/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import type { KubeObject } from '../../src/api/index.js';
import { widgetKind, widgets } from '../fixtures/widget-operator.js';
import { freePort } from './helpers.js';
import { until } from './pod-history.js';

const network = '127.81.2';
const crdKind = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
    versions: [{
      name: 'v1', served: true, storage: true, subresources: { status: {} },
      schema: { openAPIV3Schema: { type: 'object', properties: {
        spec: { type: 'object', properties: { color: { type: 'string' }, size: { type: 'integer' } } },
        status: { type: 'object', properties: { configMap: { type: 'string' }, observedGeneration: { type: 'integer' } } },
      } } },
    }],
  },
};
type Cm = KubeObject & { data?: Record<string, string> };
type Widget = KubeObject & { status?: { configMap?: string; observedGeneration?: number } };

test('an operator from a user module reconciles Widgets into owned ConfigMaps, leader-elected on the masters', async (t) => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 7, operators: [widgets] });
  t.teardown(() => cluster.stop());
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  await client.create(crdKind, crd);
  // Each apiserver learns the CRD from the store a moment after it is written.
  const created = await until('the Widget is served', () => client.create<Widget>(widgetKind, {
    apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' }, spec: { color: 'blue', size: 3 },
  }).catch(() => undefined), 15_000);

  const cm = await until('ConfigMap widget-w1', () => client.get<Cm>(kinds.configMap, 'default', 'widget-w1').catch(() => undefined), 20_000);
  t.deepEqual(cm.data, { color: 'blue', size: '3' });
  t.like(cm.metadata?.ownerReferences?.[0], { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w1', uid: created.metadata?.uid, controller: true });
  const withStatus = await until('Widget status', async () => {
    const w = await client.get<Widget>(widgetKind, 'default', 'w1');
    return w.status?.configMap === 'widget-w1' ? w : undefined;
  }, 10_000);
  t.is(withStatus.status?.observedGeneration, 1);

  // A spec change reaches the ConfigMap, and the status follows the generation.
  await client.patch(widgetKind, 'default', 'w1', { spec: { color: 'red' } }, { type: 'merge' });
  const updated = await until('ConfigMap widget-w1 red', async () => {
    const c = await client.get<Cm>(kinds.configMap, 'default', 'widget-w1');
    return c.data?.['color'] === 'red' ? c : undefined;
  }, 10_000);
  t.deepEqual(updated.data, { color: 'red', size: '3' });
  await until('observedGeneration 2', async () => ((await client.get<Widget>(widgetKind, 'default', 'w1')).status?.observedGeneration === 2 ? true : undefined), 10_000);

  // One instance per master, exactly one active, and it holds the operator's own Lease.
  const statuses = await cluster.operatorStatus('widgets');
  t.is(statuses.length, 3);
  const active = statuses.filter((s) => s.active);
  t.is(active.length, 1);
  t.regex(active[0]!.identity, /^master-\d\/operator-widgets$/);
  t.deepEqual(active[0]!.controllers, ['widgets']);
  const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(kinds.lease, 'kube-system', 'operator-widgets');
  t.is(lease.spec?.holderIdentity, active[0]!.identity);
  for (const s of statuses) t.is(s.leader, active[0]!.identity);

  // The holder's master dies: another instance takes the Lease and reconciles a new Widget.
  const victim = active[0]!.identity.split('/')[0]!;
  await cluster.system.killHost(victim);
  const successor = await until('another active operator', async () => {
    const a = (await cluster.operatorStatus('widgets', 500)).filter((s) => s.active);
    return a.length === 1 && !a[0]!.identity.startsWith(`${victim}/`) ? a[0]! : undefined;
  }, 15_000);
  await until('the Widget w2 is created', () => client.create<Widget>(widgetKind, {
    apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w2', namespace: 'default' }, spec: { color: 'green', size: 1 },
  }).catch(() => undefined), 10_000);
  const cm2 = await until('ConfigMap widget-w2', () => client.get<Cm>(kinds.configMap, 'default', 'widget-w2').catch(() => undefined), 20_000);
  t.deepEqual(cm2.data, { color: 'green', size: '1' });
  t.regex(successor.identity, /^master-\d\/operator-widgets$/);

  // The garbage collector does not watch Widgets; it reads the owner again and collects the ConfigMap.
  await client.delete(widgetKind, 'default', 'w2');
  const gone = await until('ConfigMap widget-w2 collected with its Widget', () => client.get<Cm>(kinds.configMap, 'default', 'widget-w2').then(() => undefined, (e: unknown) => (isNotFound(e) ? true : undefined)), 30_000);
  t.true(gone);
});
