/** @kubernetes/client-node 1.4 against the HTTPS server: list, watch, informer, create, the four patch types, delete. */
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { startE2e } from './e2e-helpers.js';
import { adminToken } from './e2e-helpers.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

async function setup(host: string) {
  const e = await startE2e([host]);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(await e.kubeconfigFor(e.servers[0]!.url, adminToken, 'client-node'));
  return { e, kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(wallClock, 20);
  }
};

test('client-node: create, list, get, four patch types, delete', async (t) => {
  const { e, core } = await setup('127.77.2.1');
  t.teardown(() => e.close());
  const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cfg', labels: { app: 'x' } }, data: { a: '1' } } });
  t.is(created.metadata?.name, 'cfg');
  t.truthy(created.metadata?.resourceVersion);
  const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=x' });
  t.deepEqual(list.items.map((i) => i.metadata?.name), ['cfg']);
  const jsonPatched = await core.patchNamespacedConfigMap({ name: 'cfg', namespace: 'default', body: [{ op: 'add', path: '/data/b', value: '2' }] });
  t.is(jsonPatched.data?.['b'], '2');
  const merged = await core.patchNamespacedConfigMap({ name: 'cfg', namespace: 'default', body: { data: { c: '3', a: null } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  t.deepEqual(merged.data, { b: '2', c: '3' });
  const smp = await core.patchNamespacedConfigMap({ name: 'cfg', namespace: 'default', body: { metadata: { labels: { tier: 'web' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch));
  t.is(smp.metadata?.labels?.['tier'], 'web');
  const applied = await core.patchNamespacedConfigMap({ name: 'cfg2', namespace: 'default', fieldManager: 'tester',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg2' }, data: { z: '9' } } },
  k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply));
  t.is(applied.data?.['z'], '9');
  await core.deleteNamespacedConfigMap({ name: 'cfg', namespace: 'default' });
  const err = await t.throwsAsync(core.readNamespacedConfigMap({ name: 'cfg', namespace: 'default' }));
  t.regex(String(err?.message), /404|not found/i);
});

test('client-node: watch and informer see adds, updates and deletes', async (t) => {
  const { e, kc, core } = await setup('127.77.2.2');
  t.teardown(() => e.close());
  const seen: string[] = [];
  const watch = new k8s.Watch(kc);
  const controller = await watch.watch('/api/v1/namespaces/default/configmaps', {}, (phase, obj: k8s.V1ConfigMap) => {
    seen.push(`${phase} ${obj.metadata?.name ?? ''}`);
  }, () => undefined);
  t.teardown(() => controller.abort());
  const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  const informed: string[] = [];
  informer.on('add', (o) => informed.push(`add ${o.metadata?.name ?? ''}`));
  informer.on('update', (o) => informed.push(`update ${o.metadata?.name ?? ''}`));
  informer.on('delete', (o) => informed.push(`delete ${o.metadata?.name ?? ''}`));
  await informer.start();
  t.teardown(() => informer.stop());
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w' }, data: { a: '1' } } });
  await core.replaceNamespacedConfigMap({ name: 'w', namespace: 'default', body: { metadata: { name: 'w' }, data: { a: '2' } } });
  await core.deleteNamespacedConfigMap({ name: 'w', namespace: 'default' });
  await waitFor(() => seen.length >= 3 && informed.length >= 3);
  t.deepEqual(seen, ['ADDED w', 'MODIFIED w', 'DELETED w']);
  t.deepEqual(informed, ['add w', 'update w', 'delete w']);
  t.deepEqual(informer.list().map((o) => o.metadata?.name), []);
});
