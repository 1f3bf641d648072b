/**
 * The root-ca-cert-publisher on a running cluster (one master, real threads): a new namespace gets
 * ConfigMap kube-root-ca.crt holding the cluster CA, and deleting or editing it brings it back.
 * Own loopback block 127.81.1.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { kinds } from '../../src/controllers/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import type { KubeObject } from '../../src/api/index.js';
import { freePort } from './helpers.js';
import { until } from './pod-history.js';

const network = '127.81.1';

test('a new namespace gets kube-root-ca.crt with the cluster CA; deleted or edited, it comes back', async (t) => {
  const cluster = await Cluster.start({ masters: 1, apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 5 });
  t.teardown(() => cluster.stop());
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  /** The published ConfigMap once it holds the CA, is not the object `uidNot` and is newer than `afterRv`. */
  const published = (o: { uidNot?: string; afterRv?: string } = {}) => until('kube-root-ca.crt in team', async () => {
    const cm = await client.get<KubeObject & { data?: Record<string, string> }>(kinds.configMap, 'team', 'kube-root-ca.crt').catch(() => undefined);
    if (cm === undefined || cm.data?.['ca.crt'] !== cluster.pki.ca.certPem) return undefined;
    if (o.uidNot !== undefined && cm.metadata?.uid === o.uidNot) return undefined;
    return o.afterRv === undefined || Number(cm.metadata?.resourceVersion) > Number(o.afterRv) ? cm : undefined;
  }, 20_000);

  await client.create(kinds.namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  const first = await published();
  t.deepEqual(Object.keys(first.data ?? {}), ['ca.crt']);
  // Every namespace that existed before, too.
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    const cm = await until(`kube-root-ca.crt in ${ns}`, () => client.get<KubeObject & { data?: Record<string, string> }>(kinds.configMap, ns, 'kube-root-ca.crt').catch(() => undefined), 10_000);
    t.is(cm.data?.['ca.crt'], cluster.pki.ca.certPem, ns);
  }

  await client.delete(kinds.configMap, 'team', 'kube-root-ca.crt');
  const second = await published({ uidNot: first.metadata?.uid ?? '' });
  t.not(second.metadata?.uid, first.metadata?.uid, 'a new object, not the deleted one');

  const tampered = await client.update(kinds.configMap, { ...second, data: { 'ca.crt': 'tampered' } });
  const restored = await published({ afterRv: tampered.metadata?.resourceVersion ?? '' });
  t.is(restored.metadata?.uid, second.metadata?.uid, 'restored in place by an update');
});
