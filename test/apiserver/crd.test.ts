/**
 * CustomResourceDefinitions over one in-memory core (and two cores over one store): validation of
 * the CRD, its conditions, the dynamic routes and discovery, schema validation and pruning, the
 * status and scale subresources, printer columns, and the cleanup when the CRD goes.
 */
import test from 'ava';
import { ApiServerCore } from '../../src/apiserver/core.js';
import type { ApiResponse } from '../../src/client/api-transport.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { setTimeout as delay } from 'node:timers/promises';
import { body, harness, type Harness, ns, takeEvents } from './helpers.js';

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const widgets = '/apis/example.com/v1/namespaces/default/widgets';
const table = 'application/json;as=Table;v=v1;g=meta.k8s.io';

function widgetCrd(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object', required: ['size'],
                properties: {
                  size: { type: 'integer', minimum: 1, maximum: 10 },
                  color: { type: 'string', enum: ['red', 'blue'] },
                  label: { type: 'string', minLength: 2, maxLength: 5, pattern: '^[a-z]+$' },
                  tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2 },
                  port: { 'x-kubernetes-int-or-string': true },
                  note: { type: 'string', nullable: true },
                  free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  replicas: { type: 'integer' },
                  selector: { type: 'string' },
                },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' } } },
            },
          },
        },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.spec.selector' } },
        additionalPrinterColumns: [
          { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
          { name: 'Color', type: 'string', jsonPath: '.spec.color' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
      }],
    },
    ...over,
  };
}

const widget = (name: string, spec: Record<string, unknown>, labels?: Record<string, string>) =>
  ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name, ...(labels ? { labels } : {}) }, spec });

/** Polls until `check` holds (the core learns CRDs through its watch cache, asynchronously). */
async function until<T>(what: string, probe: () => Promise<T>, check: (v: T) => boolean, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await delay(10);
  }
}

async function withWidgets(h: Harness): Promise<void> {
  const r = await h.call('POST', crdPath, widgetCrd());
  if (r.status !== 201) throw new Error(`CRD create: ${JSON.stringify(r.body)}`);
  await until('widgets served', () => h.call('GET', widgets), (x: ApiResponse) => x.status === 200);
}

const causes = (r: ApiResponse): Array<{ reason: string; field: string; message: string }> => body(r)['details']?.['causes'] ?? [];

test('a CRD is validated like upstream: names, group, scope, one storage version, schemas', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const bad = widgetCrd({
    metadata: { name: 'wrong.example.com' },
    spec: {
      group: 'example', scope: 'Everywhere', names: { plural: 'Widgets', kind: 'Widget', listKind: 'Widget' },
      versions: [{ name: 'v1', served: true, storage: false }, { name: 'v2', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } }],
    },
  });
  const r = await h.call('POST', crdPath, bad);
  t.is(r.status, 422);
  const fields = causes(r).map((c) => `${c.reason} ${c.field}`);
  t.true(fields.includes('FieldValueInvalid metadata.name'), fields.join('\n'));
  t.true(fields.includes('FieldValueInvalid spec.group'));
  t.true(fields.includes('FieldValueNotSupported spec.scope'));
  t.true(fields.includes('FieldValueInvalid spec.names.plural'));
  t.true(fields.includes('FieldValueInvalid spec.names.listKind'));
  t.true(fields.includes('FieldValueRequired spec.versions[0].schema.openAPIV3Schema'));
  t.true(fields.includes('FieldValueInvalid spec.versions'));
  t.regex(body(r)['message'], /must have exactly one version marked as storage version/);
  t.is((await h.call('GET', crdPath)).status, 200);
  t.deepEqual(body(await h.call('GET', crdPath))['items'], []);
});

test('a created CRD is Established with accepted names, and a conflicting one is not', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const r = await h.call('POST', crdPath, widgetCrd());
  t.is(r.status, 201);
  const conditions = body(r)['status']['conditions'] as Array<Record<string, string>>;
  t.deepEqual(conditions.map((c) => `${c['type']}=${c['status']}`), ['NamesAccepted=True', 'Established=True']);
  t.is(body(r)['status']['acceptedNames']['listKind'], 'WidgetList');
  t.deepEqual(body(r)['status']['storedVersions'], ['v1']);
  t.deepEqual(body(r)['metadata']['finalizers'], ['customresourcecleanup.apiextensions.k8s.io']);
  // Another CRD of the group whose short name is taken.
  const other = widgetCrd();
  const spec = other['spec'] as Record<string, unknown>;
  other['metadata'] = { name: 'gadgets.example.com' };
  spec['names'] = { plural: 'gadgets', kind: 'Gadget', shortNames: ['wd'] };
  const o = await h.call('POST', crdPath, other);
  t.is(o.status, 201);
  const oc = body(o)['status']['conditions'] as Array<Record<string, string>>;
  t.like(oc[0], { type: 'NamesAccepted', status: 'False', reason: 'ShortNamesConflict' });
  t.like(oc[1], { type: 'Established', status: 'False' });
  await until('widgets served', () => h.call('GET', widgets), (x) => x.status === 200);
  t.is((await h.call('GET', '/apis/example.com/v1/namespaces/default/gadgets')).status, 404);
});

test('custom resources: create, get, list by label, table with printer columns, discovery', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await withWidgets(h);
  const c = await h.call('POST', widgets, widget('w1', { size: 3, color: 'red', extra: 'pruned' }, { tier: 'a' }));
  t.is(c.status, 201, JSON.stringify(c.body));
  t.deepEqual(body(c)['spec'], { size: 3, color: 'red' });
  t.is(body(c)['metadata']['generation'], 1);
  t.is((await h.call('POST', widgets, widget('w2', { size: 4 }, { tier: 'b' }))).status, 201);
  const got = await h.call('GET', `${widgets}/w1`);
  t.is(body(got)['kind'], 'Widget');
  const listed = await h.call('GET', `${widgets}?labelSelector=tier%3Db`);
  t.is(body(listed)['kind'], 'WidgetList');
  t.deepEqual(body(listed)['items'].map((i: { metadata: { name: string } }) => i.metadata.name), ['w2']);
  const all = await h.call('GET', '/apis/example.com/v1/widgets');
  t.is(body(all)['items'].length, 2);
  const tbl = await h.call('GET', widgets, undefined, { headers: { accept: table } });
  t.deepEqual(body(tbl)['columnDefinitions'].map((d: { name: string }) => d.name), ['Name', 'Size', 'Color', 'Age']);
  t.deepEqual(body(tbl)['rows'][0]['cells'].slice(0, 3), ['w1', 3, 'red']);
  t.is(body(tbl)['rows'][1]['cells'][2], null);
  const gv = await h.call('GET', '/apis/example.com/v1');
  const res = body(gv)['resources'] as Array<Record<string, unknown>>;
  t.deepEqual(res.map((x) => x['name']), ['widgets', 'widgets/scale', 'widgets/status']);
  t.deepEqual(res[0]!['shortNames'], ['wd']);
  const groups = body(await h.call('GET', '/apis'))['groups'] as Array<{ name: string }>;
  t.true(groups.some((g) => g.name === 'example.com'));
  const agg = await h.call('GET', '/apis', undefined, { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' } });
  const item = (body(agg)['items'] as Array<Record<string, any>>).find((i) => i['metadata']['name'] === 'example.com'); // eslint-disable-line @typescript-eslint/no-explicit-any
  t.is(item?.['versions'][0]['resources'][0]['resource'], 'widgets');
  t.is(item?.['versions'][0]['resources'][0]['scope'], 'Namespaced');
  t.is((await h.call('GET', '/apis/example.com')).status, 200);
  // Stored under /registry/<group>/<plural>/.
  const stored = await h.core.storage.get('/registry/example.com/widgets/default/w1');
  t.true(stored.ok && stored.value !== undefined);
});

test('schema violations are 422 Invalid with upstream field causes', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await withWidgets(h);
  const r = await h.call('POST', widgets, widget('bad', { size: 'big', color: 'pink', label: 'X', tags: [], port: 1.5, note: null, free: { any: { thing: 1 } } }));
  t.is(r.status, 422);
  t.is(body(r)['reason'], 'Invalid');
  const got = causes(r).map((c) => `${c.reason} ${c.field}: ${c.message}`);
  t.deepEqual(got.sort(), [
    'FieldValueInvalid spec.label: Invalid value: "X": spec.label in body should be at least 2 chars long',
    'FieldValueInvalid spec.label: Invalid value: "X": spec.label in body should match \'^[a-z]+$\'',
    'FieldValueInvalid spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items',
    'FieldValueNotSupported spec.color: Unsupported value: "pink": supported values: "red", "blue"',
    'FieldValueTypeInvalid spec.port: Invalid value: 1.5: spec.port in body must be of type integer,string: "number"',
    'FieldValueTypeInvalid spec.size: Invalid value: "big": spec.size in body must be of type integer: "string"',
  ].sort());
  t.regex(body(r)['message'], /^Widget.example.com "bad" is invalid: \[/);
  const more = await h.call('POST', widgets, widget('bad2', { size: 11, label: 'abcdefg', tags: ['a', 'b', 'c'], note: 'x' }));
  t.deepEqual(causes(more).map((c) => `${c.reason} ${c.field}`).sort(),
    ['FieldValueInvalid spec.size', 'FieldValueTooLong spec.label', 'FieldValueTooMany spec.tags'].sort());
  const missing = await h.call('POST', widgets, widget('bad3', { color: 'red' }));
  t.deepEqual(causes(missing).map((c) => `${c.reason} ${c.field}`), ['FieldValueRequired spec.size']);
  const typed = await h.call('POST', widgets, widget('bad4', { size: 1, color: null }));
  t.deepEqual(causes(typed).map((c) => `${c.reason} ${c.field}`), ['FieldValueTypeInvalid spec.color']);
  const okay = await h.call('POST', widgets, widget('good', { size: 1, port: 'http', note: null, free: { any: { thing: 1 } } }));
  t.is(okay.status, 201, JSON.stringify(okay.body));
  t.deepEqual(body(okay)['spec']['free'], { any: { thing: 1 } });
});

test('status and scale subresources; generation follows the spec only; patches', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await withWidgets(h);
  await h.call('POST', widgets, widget('w', { size: 2, replicas: 1, selector: 'app=w' }));
  // The main resource ignores status; /status ignores spec.
  const main = await h.call('PATCH', `${widgets}/w`, { spec: { size: 3 }, status: { phase: 'Ignored' } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(main.status, 200, JSON.stringify(main.body));
  t.is(body(main)['spec']['size'], 3);
  t.is(body(main)['status'], undefined);
  t.is(body(main)['metadata']['generation'], 2);
  const st = await h.call('PATCH', `${widgets}/w/status`, { spec: { size: 9 }, status: { phase: 'Ready', replicas: 1 } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(st.status, 200, JSON.stringify(st.body));
  t.is(body(st)['spec']['size'], 3);
  t.is(body(st)['status']['phase'], 'Ready');
  t.is(body(st)['metadata']['generation'], 2);
  const json = await h.call('PATCH', `${widgets}/w`, [{ op: 'replace', path: '/spec/size', value: 5 }], { headers: { 'content-type': 'application/json-patch+json' } });
  t.is(body(json)['spec']['size'], 5);
  const smp = await h.call('PATCH', `${widgets}/w`, { spec: { size: 6 } }, { headers: { 'content-type': 'application/strategic-merge-patch+json' } });
  t.is(smp.status, 415);
  const invalidPatch = await h.call('PATCH', `${widgets}/w`, { spec: { size: 0 } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(invalidPatch.status, 422);
  const scale = await h.call('GET', `${widgets}/w/scale`);
  t.like(body(scale), { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=w' } });
  const scaled = await h.call('PATCH', `${widgets}/w/scale`, { spec: { replicas: 4 } }, { headers: { 'content-type': 'application/merge-patch+json' } });
  t.is(scaled.status, 200, JSON.stringify(scaled.body));
  t.is(body(scaled)['spec']['replicas'], 4);
  t.is(body(await h.call('GET', `${widgets}/w`))['spec']['replicas'], 4);
});

test('watch, delete, and deleting the CRD stops serving and deletes its objects', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await withWidgets(h);
  const w = await h.watch(widgets);
  const first = takeEvents(w, 2);
  await h.call('POST', widgets, widget('a', { size: 1 }));
  await h.call('DELETE', `${widgets}/a`);
  t.deepEqual((await first).map((e) => e.type), ['ADDED', 'DELETED']);
  await h.call('POST', '/api/v1/namespaces', ns('other'));
  await h.call('POST', '/apis/example.com/v1/namespaces/other/widgets', widget('b', { size: 1 }));
  const del = await h.call('DELETE', `${crdPath}/widgets.example.com`);
  t.true(del.status === 200 || del.status === 202, JSON.stringify(del.body));
  await until('CRD gone', () => h.call('GET', `${crdPath}/widgets.example.com`), (x) => x.status === 404);
  t.is((await h.call('GET', widgets)).status, 404);
  const left = await h.core.storage.get('/registry/example.com/widgets/other/b');
  t.true(left.ok && left.value === undefined);
});

test('cluster-scoped custom resources, served by every core of one store', async (t) => {
  const clock = new RealClock();
  const kv = new LocalKv({ clock });
  const a = new ApiServerCore({ kv, clock, prng: new SeededPrng(1) });
  const b = new ApiServerCore({ kv, clock, prng: new SeededPrng(2) });
  await a.start();
  await b.start();
  t.teardown(() => { a.stop(); b.stop(); kv.close(); clock.clearAll(); });
  const req = (core: ApiServerCore, method: 'GET' | 'POST', path: string, obj?: unknown) => core.request({
    method, path, query: {}, headers: { 'content-type': 'application/json' },
    ...(obj === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(obj)) }),
  });
  const crd = widgetCrd();
  (crd['spec'] as Record<string, unknown>)['scope'] = 'Cluster';
  t.is((await req(a, 'POST', crdPath, crd)).status, 201);
  await until('b serves widgets', () => req(b, 'GET', '/apis/example.com/v1/widgets'), (x) => x.status === 200);
  const c = await req(b, 'POST', '/apis/example.com/v1/widgets', widget('top', { size: 2 }));
  t.is(c.status, 201, JSON.stringify(c.body));
  t.is(body(c)['metadata']['namespace'], undefined);
  const got = await until('a reads it', () => req(a, 'GET', '/apis/example.com/v1/widgets/top'), (x) => x.status === 200);
  t.is(body(got)['spec']['size'], 2);
  t.is((await req(a, 'GET', '/apis/example.com/v1/namespaces/default/widgets/top')).status, 404);
});
