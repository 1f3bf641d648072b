import test from 'ava';
import { body, cm, harness } from './helpers.js';

test('smoke: create, get, list, update, delete a configmap', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const created = await h.call('POST', '/api/v1/namespaces/default/configmaps', cm('a', { k: 'v' }));
  t.is(created.status, 201, JSON.stringify(created.body));
  const got = await h.call('GET', '/api/v1/namespaces/default/configmaps/a');
  t.is(got.status, 200);
  t.is(body(got).data.k, 'v');
  t.truthy(body(got).metadata.uid);
  const list = await h.call('GET', '/api/v1/namespaces/default/configmaps');
  t.is(body(list).kind, 'ConfigMapList');
  t.is(body(list).items.length, 1);
});
