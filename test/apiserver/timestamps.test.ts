import test from 'ava';
import { body, harness } from './helpers.js';

const path = '/api/v1/namespaces/default/configmaps';

test('a replace that spells creationTimestamp as +00:00 (the Python client) is the same time; a different time is immutable', async (t) => {
  const h = await harness();
  await h.call('POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } });
  const got = body(await h.call('GET', `${path}/c`));
  const created = got['metadata']['creationTimestamp'] as string;
  t.regex(created, /Z$/);
  const python = { ...got, metadata: { ...got['metadata'], creationTimestamp: created.replace(/Z$/, '+00:00') }, data: { a: '2' } };
  const put = await h.call('PUT', `${path}/c`, python);
  t.is(put.status, 200, JSON.stringify(put.body));
  t.is(body(put)['metadata']['creationTimestamp'], created, 'stored as it was');
  const later = new Date(Date.parse(created) + 5000).toISOString().replace(/\.\d+Z$/, 'Z');
  const moved = await h.call('PUT', `${path}/c`, { ...body(put), metadata: { ...body(put)['metadata'], creationTimestamp: later } });
  t.is(moved.status, 422);
  t.regex(body(moved)['message'] as string, /metadata\.creationTimestamp: Invalid value: .*field is immutable/);
  h.close();
});
