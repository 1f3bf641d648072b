/** The core's REST verbs over LocalKv: storage semantics, validation, selectors, patches, deletion, subresources. */
import test from 'ava';
import { body, cm, deployment, harness, ns, pod } from './helpers.js';

const cms = '/api/v1/namespaces/default/configmaps';
const deps = '/apis/apps/v1/namespaces/default/deployments';
const pods = '/api/v1/namespaces/default/pods';

test('create stamps identity; resourceVersion is the store revision; duplicates are AlreadyExists', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const r = await h.call('POST', cms, cm('a', { k: 'v' }));
  t.is(r.status, 201);
  const m = body(r).metadata;
  t.regex(m.uid, /^[0-9a-f-]{36}$/);
  t.regex(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(Number(m.resourceVersion), h.kv.machine.mvcc.currentRevision);
  const dup = await h.call('POST', cms, cm('a'));
  t.is(dup.status, 409);
  t.is(body(dup).reason, 'AlreadyExists');
  t.is(body(dup).message, 'configmaps "a" already exists');
  const list = await h.call('GET', cms);
  t.is(body(list).metadata.resourceVersion, String(h.kv.machine.mvcc.currentRevision));
  t.deepEqual(body(list).items.map((i: { metadata: { name: string } }) => i.metadata.name), ['a']);
});

test('update with a stale resourceVersion is a Conflict; a fresh one succeeds; generation follows spec', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const created = body(await h.call('POST', deps, deployment('web')));
  t.is(created.metadata.generation, 1);
  const fresh = { ...created, spec: { ...created.spec, replicas: 3 } };
  const ok = await h.call('PUT', `${deps}/web`, fresh);
  t.is(ok.status, 200);
  t.is(body(ok).metadata.generation, 2);
  const stale = await h.call('PUT', `${deps}/web`, fresh);
  t.is(stale.status, 409);
  t.is(body(stale).reason, 'Conflict');
  t.regex(body(stale).message, /Operation cannot be fulfilled on deployments.apps "web": the object has been modified/);
  const labelsOnly = { ...body(ok), metadata: { ...body(ok).metadata, labels: { a: 'b' } } };
  t.is(body(await h.call('PUT', `${deps}/web`, labelsOnly)).metadata.generation, 2);
});

test('namespaced objects need their namespace; bootstrap namespaces and the kubernetes Service exist', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const r = await h.call('POST', '/api/v1/namespaces/nope/configmaps', cm('a'));
  t.is(r.status, 404);
  t.is(body(r).message, 'namespaces "nope" not found');
  const names = body(await h.call('GET', '/api/v1/namespaces')).items.map((i: { metadata: { name: string } }) => i.metadata.name);
  t.deepEqual(names.sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const svc = body(await h.call('GET', '/api/v1/namespaces/default/services/kubernetes'));
  t.is(svc.spec.clusterIP, '127.96.0.1');
  t.is((await h.call('POST', '/api/v1/namespaces', ns('web'))).status, 201);
  t.is((await h.call('POST', '/api/v1/namespaces/web/configmaps', cm('a'))).status, 201);
});

test('validation is 422 with causes; Strict rejects unknown fields; dryRun=All stores nothing', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const bad = await h.call('POST', cms, cm('Not_Valid'));
  t.is(bad.status, 422);
  t.is(body(bad).reason, 'Invalid');
  t.is(body(bad).details.causes[0].field, 'metadata.name');
  const strict = await h.call('POST', cms, { ...cm('x'), bogus: 1 }, { query: { fieldValidation: 'Strict' } });
  t.is(strict.status, 400);
  t.regex(body(strict).message, /strict decoding error: unknown field "bogus"/);
  t.is((await h.call('POST', cms, { ...cm('x'), bogus: 1 })).status, 201);
  const dry = await h.call('POST', cms, cm('dry'), { query: { dryRun: 'All' } });
  t.is(dry.status, 201);
  t.is((await h.call('GET', `${cms}/dry`)).status, 404);
});

test('kind and apiVersion must match the URL; malformed bodies are 400', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  t.is((await h.call('POST', cms, { ...cm('a'), kind: 'Secret' })).status, 400);
  t.is((await h.call('POST', cms, { ...cm('a'), apiVersion: 'apps/v1' })).status, 400);
  t.is((await h.call('POST', cms, undefined, { raw: '{"metadata": ' })).status, 400);
  t.is((await h.call('POST', cms, undefined, { raw: '[1,2]' })).status, 400);
  t.is((await h.call('PUT', `${cms}/a`, cm('b'))).status, 400);
  const noType = await h.call('POST', cms, undefined, { raw: '{"metadata":{"name":"nt"}}', headers: { 'content-type': '' } });
  t.is(noType.status, 201);
});

test('label and field selectors, limit and continue', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  for (const [name, tier] of [['a', 'web'], ['b', 'db'], ['c', 'web'], ['d', 'web']] as const) await h.call('POST', cms, cm(name, {}, { tier }));
  const names = (r: unknown) => (r as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name);
  t.deepEqual(names(body(await h.call('GET', `${cms}?labelSelector=tier%3Dweb`))), ['a', 'c', 'd']);
  t.deepEqual(names(body(await h.call('GET', cms, undefined, { query: { labelSelector: 'tier!=web' } }))), ['b']);
  t.deepEqual(names(body(await h.call('GET', cms, undefined, { query: { fieldSelector: 'metadata.name=c' } }))), ['c']);
  t.is((await h.call('GET', cms, undefined, { query: { fieldSelector: 'spec.bogus=1' } })).status, 400);
  t.is((await h.call('GET', cms, undefined, { query: { labelSelector: 'a in (' } })).status, 400);
  const p1 = body(await h.call('GET', cms, undefined, { query: { labelSelector: 'tier=web', limit: '2' } }));
  t.deepEqual(names(p1), ['a', 'c']);
  t.truthy(p1.metadata.continue);
  await h.call('POST', cms, cm('e', {}, { tier: 'web' }));
  const p2 = body(await h.call('GET', cms, undefined, { query: { labelSelector: 'tier=web', limit: '2', continue: p1.metadata.continue } }));
  t.deepEqual(names(p2), ['d'], 'the continuation reads the first page\'s revision');
  t.is(p2.metadata.continue, undefined);
  t.is((await h.call('GET', cms, undefined, { query: { continue: '%%%' } })).status, 400);
  const all = body(await h.call('GET', '/api/v1/configmaps'));
  t.is(all.items.length, 5);
});

test('patches: json, merge, strategic (merge keys), unsupported types; server-side apply creates, conflicts, forces', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await h.call('POST', deps, deployment('web'));
  const patch = (type: string, p: unknown, query?: Record<string, string>) =>
    h.call('PATCH', `${deps}/web`, p, { headers: { 'content-type': type }, ...(query ? { query } : {}) });
  t.is(body(await patch('application/json-patch+json', [{ op: 'replace', path: '/spec/replicas', value: 2 }])).spec.replicas, 2);
  t.is((await patch('application/json-patch+json', [{ op: 'test', path: '/spec/replicas', value: 9 }])).status, 422);
  t.is(body(await patch('application/merge-patch+json', { metadata: { labels: { a: '1' } } })).metadata.labels.a, '1');
  const smp = body(await patch('application/strategic-merge-patch+json',
    { spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox' }] } } } }));
  t.deepEqual(smp.spec.template.spec.containers.map((c: { name: string }) => c.name).sort(), ['c', 'side']);
  const merge = body(await patch('application/merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'only', image: 'busybox' }] } } } }));
  t.deepEqual(merge.spec.template.spec.containers.map((c: { name: string }) => c.name), ['only']);
  t.is((await patch('text/plain', {})).status, 415);
  const strict = { fieldValidation: 'Strict' };
  t.is((await patch('application/merge-patch+json', { spec: { bogus: 1 } }, strict)).status, 400);
  t.is((await patch('application/merge-patch+json', { spec: { bogus: 1 } })).status, 200, 'without Strict the field is kept');
  t.is((await patch('application/merge-patch+json', { metadata: { labels: { b: '2' } } }, strict)).status, 200, 'Strict judges the patch, not fields stored earlier');
  t.is((await patch('application/strategic-merge-patch+json', { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'only' }], containers: [{ name: 'only', image: 'busybox:2' }] } } } }, strict)).status, 200);
  t.is((await patch('application/merge-patch+json', { metadata: { resourceVersion: '1' }, spec: { replicas: 7 } })).status, 409);
  const cfg = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa' }, data: { a: '1' } };
  const apply = (manager: string, c: unknown, force = false) => h.call('PATCH', `${cms}/ssa`, c,
    { headers: { 'content-type': 'application/apply-patch+yaml' }, query: { fieldManager: manager, ...(force ? { force: 'true' } : {}) } });
  t.is((await apply('one', cfg)).status, 201);
  t.is((await apply('one', { ...cfg, data: { a: '2' } })).status, 200);
  const clash = await apply('two', { ...cfg, data: { a: '3' } });
  t.is(clash.status, 409);
  t.is(body(clash).details.causes[0].reason, 'FieldManagerConflict');
  t.is(body(await apply('two', { ...cfg, data: { a: '3' } }, true)).data.a, '3');
  t.is((await h.call('PATCH', `${cms}/ssa`, cfg, { headers: { 'content-type': 'application/apply-patch+yaml' } })).status, 400);
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  b: "2"\n';
  const fromYaml = await h.call('PATCH', `${cms}/ssa`, undefined, { raw: yaml, headers: { 'content-type': 'application/apply-patch+yaml' }, query: { fieldManager: 'three' } });
  t.is(body(fromYaml).data.b, '2');
});

test('deletion: immediate, graceful pods, finalizers hold objects, propagation recorded, deletecollection', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await h.call('POST', cms, cm('a'));
  const gone = await h.call('DELETE', `${cms}/a`);
  t.is(gone.status, 200);
  t.is((await h.call('GET', `${cms}/a`)).status, 404);
  t.is((await h.call('DELETE', `${cms}/a`)).status, 404);
  await h.call('POST', pods, pod('p', { nodeName: 'n1' }));
  const graceful = await h.call('DELETE', `${pods}/p`);
  t.is(graceful.status, 202);
  t.truthy(body(graceful).metadata.deletionTimestamp);
  t.is(body(graceful).metadata.deletionGracePeriodSeconds, 30);
  t.is((await h.call('DELETE', `${pods}/p`, { gracePeriodSeconds: 0 })).status, 200);
  t.is((await h.call('GET', `${pods}/p`)).status, 404);
  await h.call('POST', cms, { ...cm('f'), metadata: { name: 'f', finalizers: ['example.com/hold'] } });
  t.is((await h.call('DELETE', `${cms}/f`)).status, 202);
  const held = body(await h.call('GET', `${cms}/f`));
  t.truthy(held.metadata.deletionTimestamp);
  t.is((await h.call('PATCH', `${cms}/f`, { metadata: { finalizers: null } }, { headers: { 'content-type': 'application/merge-patch+json' } })).status, 200);
  t.is((await h.call('GET', `${cms}/f`)).status, 404, 'removing the last finalizer removes the object');
  await h.call('POST', deps, deployment('web'));
  const fg = await h.call('DELETE', `${deps}/web`, { propagationPolicy: 'Foreground' });
  t.deepEqual(body(fg).metadata.finalizers, ['foregroundDeletion']);
  t.is((await h.call('DELETE', `${deps}/web`, { propagationPolicy: 'Sideways' })).status, 400);
  const pre = await h.call('DELETE', `${cms}/x`, { preconditions: { uid: 'nope' } });
  t.is(pre.status, 404);
  for (const n of ['c1', 'c2', 'c3']) await h.call('POST', cms, cm(n, {}, { g: n === 'c3' ? 'keep' : 'drop' }));
  const dc = await h.call('DELETE', cms, undefined, { query: { labelSelector: 'g=drop' } });
  t.is(body(dc).items.length, 2);
  t.deepEqual(body(await h.call('GET', cms)).items.map((i: { metadata: { name: string } }) => i.metadata.name), ['c3']);
});

test('subresources: status, scale, binding, eviction, log', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const d = body(await h.call('POST', deps, deployment('web', 2)));
  const st = await h.call('PUT', `${deps}/web/status`, { ...d, spec: { ...d.spec, replicas: 9 }, status: { replicas: 2 } });
  t.is(body(st).status.replicas, 2);
  t.is(body(st).spec.replicas, 2, 'a status write cannot change spec');
  const mainWrite = await h.call('PUT', `${deps}/web`, { ...body(st), status: { replicas: 99 } });
  t.is(body(mainWrite).status.replicas, 2, 'a main write cannot change status');
  const scale = body(await h.call('GET', `${deps}/web/scale`));
  t.like(scale, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 2 }, status: { replicas: 2, selector: 'app=web' } });
  const patched = await h.call('PATCH', `${deps}/web/scale`, { spec: { replicas: 5 } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(body(patched).spec.replicas, 5);
  t.is(body(await h.call('GET', `${deps}/web`)).spec.replicas, 5);
  const put = await h.call('PUT', `${deps}/web/scale`, { ...body(patched), spec: { replicas: -1 } });
  t.is(put.status, 422);
  t.is((await h.call('PUT', `${deps}/web/scale`, { ...scale, spec: { replicas: 1 } })).status, 409, 'stale Scale resourceVersion');
  t.is((await h.call('GET', '/api/v1/namespaces/default/configmaps/x/scale')).status, 404);
  await h.call('POST', pods, pod('p'));
  const bind = await h.call('POST', `${pods}/p/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } });
  t.is(bind.status, 201);
  t.is(body(await h.call('GET', `${pods}/p`)).spec.nodeName, 'n1');
  t.is((await h.call('POST', `${pods}/p/binding`, { target: { name: 'n2' } })).status, 409);
  const log = await h.call('GET', `${pods}/p/log`);
  t.is(log.status, 503);
  t.regex(body(log).message, /logs not available yet/);
  const evict = await h.call('POST', `${pods}/p/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'default' }, deleteOptions: { gracePeriodSeconds: 0 } });
  t.is(evict.status, 201);
  t.is((await h.call('GET', `${pods}/p`)).status, 404);
  t.is((await h.call('POST', `${pods}/p/eviction`, { kind: 'Eviction', metadata: { name: 'p' } })).status, 404);
});

test('services get a ClusterIP in 127.96.0.0/16; PUT creates Leases', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const svc = await h.call('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } });
  t.is(svc.status, 201, JSON.stringify(svc.body));
  t.regex(body(svc).spec.clusterIP, /^127\.96\.\d+\.\d+$/);
  t.not(body(svc).spec.clusterIP, '127.96.0.1');
  const lease = await h.call('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1',
    { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1' }, spec: { holderIdentity: 'n1' } });
  t.is(lease.status, 201);
  t.is((await h.call('PUT', `${cms}/nothere`, cm('nothere'))).status, 404);
});

test('generateName picks a free name; writes to the all-namespaces path are not allowed', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const names = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const r = await h.call('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
    t.is(r.status, 201);
    names.add(body(r).metadata.name);
  }
  t.is(names.size, 5);
  t.true([...names].every((n) => /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(n)));
  t.is((await h.call('POST', '/api/v1/configmaps', cm('x'))).status, 405);
  t.is((await h.call('GET', '/api/v1/configmaps')).status, 200);
});

test('pods/log: text/plain from the configured log source, with its options', async (t) => {
  const h = await harness({ podLogs: async (p, o) => ({ ok: true, text: `${String((p['metadata'] as { name: string }).name)} ${o.container ?? '-'} ${o.tailLines ?? '-'}\n` }) });
  t.teardown(() => h.close());
  await h.call('POST', pods, pod('p'));
  const r = await h.call('GET', `${pods}/p/log`, undefined, { query: { container: 'c', tailLines: '5' } });
  t.is(r.status, 200);
  t.is(r.contentType, 'text/plain');
  t.is(new TextDecoder().decode(r.body as Uint8Array), 'p c 5\n');
  t.is((await h.call('GET', `${pods}/p/log`, undefined, { query: { tailLines: 'x' } })).status, 400);
  t.is((await h.call('GET', `${pods}/nope/log`)).status, 404);
});
