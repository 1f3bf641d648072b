/** @kubernetes/client-node over HTTPS after an etcd compaction: a watch from a compacted resourceVersion gets 410 Expired. */
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { compactOnce, initialCompactorState } from '../../src/apiserver/compactor.js';
import { adminToken, startE2e } from './e2e-helpers.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(wallClock, 20);
  }
};

test('client-node: a watch from a compacted resourceVersion ends with a 410 Expired ERROR; current list and watch work', async (t) => {
  const e = await startE2e(['127.77.5.1']);
  t.teardown(() => e.close());
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(await e.kubeconfigFor(e.servers[0]!.url, adminToken, 'compaction'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const listed = await core.listNamespacedConfigMap({ namespace: 'default' });
  const oldRv = listed.metadata!.resourceVersion!;

  // Two compaction rounds with writes between them: the second compacts past oldRv.
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
  const first = await compactOnce(e.kv, initialCompactorState);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } });
  const second = await compactOnce(e.kv, first.state);
  t.like(second.outcome, { kind: 'compacted' });
  t.true(e.kv.machine.mvcc.compactRevision > Number(oldRv) + 1);

  const seen: Array<{ phase: string; obj: unknown }> = [];
  let done = false;
  const stale = await new k8s.Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: oldRv },
    (phase, obj) => seen.push({ phase, obj }), () => { done = true; });
  t.teardown(() => stale.abort());
  await waitFor(() => done);
  t.is(seen.length, 1, JSON.stringify(seen));
  t.is(seen[0]?.phase, 'ERROR');
  t.like(seen[0]?.obj, { kind: 'Status', code: 410, reason: 'Expired' });

  // What an informer does next: list again, and watch from the new resourceVersion.
  const relisted = await core.listNamespacedConfigMap({ namespace: 'default' });
  t.deepEqual(relisted.items.map((i) => i.metadata?.name), ['a', 'b']);
  const fresh: string[] = [];
  const live = await new k8s.Watch(kc).watch('/api/v1/namespaces/default/configmaps', { resourceVersion: relisted.metadata!.resourceVersion! },
    (phase, obj: k8s.V1ConfigMap) => fresh.push(`${phase} ${obj.metadata?.name ?? ''}`), () => undefined);
  t.teardown(() => live.abort());
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } });
  await waitFor(() => fresh.length >= 1);
  t.deepEqual(fresh, ['ADDED c']);
});
