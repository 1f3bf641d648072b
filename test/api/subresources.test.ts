import test from 'ava';
import { applyMergePatch } from '../../src/api/patch.js';
import { lookupKind } from '../../src/api/resources.js';
import { applyScale, bookmarkObject, decodeEviction, listOf, scaleOf, watchEvent } from '../../src/api/subresources.js';
import type { JsonObject } from '../../src/api/types.js';
import { nginxDeployment } from './fixtures.js';

test('scale view and kubectl scale merge patch', (t) => {
  const d = { ...nginxDeployment(), metadata: { name: 'nginx-deployment', namespace: 'default', resourceVersion: '9', uid: 'u' }, status: { replicas: 2 } };
  const scale = scaleOf(d);
  t.deepEqual(scale, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'nginx-deployment', namespace: 'default', uid: 'u', resourceVersion: '9' },
    spec: { replicas: 2 }, status: { replicas: 2, selector: 'app=nginx' } });
  const patched = applyMergePatch(scale, { spec: { replicas: 3 } });
  if (!patched.ok) return t.fail();
  const r = applyScale(d, patched.value);
  t.true(r.ok && (r.object['spec'] as JsonObject)['replicas'] === 3);
  t.deepEqual(applyScale(d, { spec: { replicas: -1 } }), { ok: false, field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' });
  t.throws(() => scaleOf({ kind: 'Pod' }));
});

test('eviction decoding, lists, watch events', (t) => {
  t.deepEqual(decodeEviction({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'd' }, deleteOptions: { gracePeriodSeconds: 0 } }),
    { name: 'p', namespace: 'd', deleteOptions: { gracePeriodSeconds: 0 } });
  t.deepEqual(decodeEviction({ kind: 'Eviction', metadata: {} }), { error: 'metadata.name: Required value' });
  const info = lookupKind('v1', 'Pod');
  if (info === undefined) return t.fail();
  t.deepEqual(listOf(info, [], '12'), { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '12' }, items: [] });
  t.is(watchEvent('BOOKMARK', bookmarkObject(info, '5')), '{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"5"}}}');
});
