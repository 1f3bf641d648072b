import test from 'ava';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  applyJsonPatch, applyMergePatch, applyStrategicMergePatch, createMergePatch, listStrategy, patchErrorStatus, patchTypeFor,
} from '../../src/api/patch.js';
import type { JsonObject } from '../../src/api/types.js';
import { nginxDeployment } from './fixtures.js';

function ok(t: { fail: (m: string) => void }, r: ReturnType<typeof applyJsonPatch>): JsonObject {
  if (!r.ok) {
    t.fail(r.error.message);
    return {};
  }
  return r.value as JsonObject;
}

const pod = (): JsonObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { app: 'a' }, finalizers: ['a/x', 'b/y'] },
  spec: {
    containers: [
      { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }, { containerPort: 443 }] },
      { name: 'sidecar', image: 'side:1' },
    ],
    tolerations: [{ key: 'k', operator: 'Exists' }],
  },
});

test('json patch: add/remove/replace/move/copy/test with escaped pointers', (t) => {
  const doc = { metadata: { annotations: { 'a/b': 'x', 'c~d': 'y' } }, list: [1, 2, 3] };
  const r = ok(t, applyJsonPatch(doc, [
    { op: 'test', path: '/metadata/annotations/a~1b', value: 'x' },
    { op: 'replace', path: '/metadata/annotations/c~0d', value: 'z' },
    { op: 'add', path: '/list/-', value: 4 },
    { op: 'add', path: '/list/0', value: 0 },
    { op: 'remove', path: '/list/1' },
    { op: 'copy', from: '/list', path: '/copy' },
    { op: 'move', from: '/metadata/annotations/a~1b', path: '/moved' },
  ]));
  t.deepEqual(r, { metadata: { annotations: { 'c~d': 'z' } }, list: [0, 2, 3, 4], copy: [0, 2, 3, 4], moved: 'x' });
  t.deepEqual(doc.list, [1, 2, 3], 'input is not mutated');
});

test('json patch: typed errors', (t) => {
  const doc = { a: { b: 1 }, l: [1] };
  const cases: Array<[unknown, 'BadRequest' | 'Unprocessable']> = [
    [{ op: 'add', path: '/a' }, 'BadRequest'],
    [[{ op: 'frobnicate', path: '/a' }], 'BadRequest'],
    [[{ op: 'add', path: 'a', value: 1 }], 'BadRequest'],
    [[{ op: 'remove', path: '/nope' }], 'Unprocessable'],
    [[{ op: 'replace', path: '/x/y', value: 1 }], 'Unprocessable'],
    [[{ op: 'add', path: '/l/5', value: 1 }], 'Unprocessable'],
    [[{ op: 'add', path: '/l/01', value: 1 }], 'Unprocessable'],
    [[{ op: 'test', path: '/a/b', value: 2 }], 'Unprocessable'],
    [[{ op: 'move', from: '/a', path: '/a/c' }], 'Unprocessable'],
    [[{ op: 'copy', path: '/z' }], 'BadRequest'],
    [[{ op: 'remove', path: '' }], 'Unprocessable'],
  ];
  for (const [patch, kind] of cases) {
    const r = applyJsonPatch(doc, patch);
    t.false(r.ok, JSON.stringify(patch));
    if (!r.ok) t.is(r.error.kind, kind, JSON.stringify(patch));
  }
  const r = applyJsonPatch(doc, [{ op: 'test', path: '/a/b', value: 2 }]);
  t.deepEqual(r, { ok: false, error: { kind: 'Unprocessable', message: 'testing value /a/b failed' } });
  if (!r.ok) {
    t.like(patchErrorStatus(r.error), { code: 422, reason: 'Invalid', details: { causes: [{ reason: 'UnexpectedServerResponse', message: 'testing value /a/b failed' }] } });
  }
  t.like(patchErrorStatus({ kind: 'BadRequest', message: 'x' }), { code: 400, reason: 'BadRequest', message: 'x' });
});

test('json patch: replace of a missing object key sets it, as kube-apiserver (json-patch v4) does', (t) => {
  t.deepEqual(ok(t, applyJsonPatch({ data: { k: 'v' } }, [{ op: 'replace', path: '/data/missing', value: 1 }])), { data: { k: 'v', missing: 1 } });
  t.false(applyJsonPatch({ list: [1] }, [{ op: 'replace', path: '/list/1', value: 2 }]).ok);
  t.deepEqual(ok(t, applyJsonPatch({ list: [1, 2] }, [{ op: 'replace', path: '/list/1', value: 3 }])), { list: [1, 3] });
});

test('json patch: replacing the root and adding to the root', (t) => {
  t.deepEqual(ok(t, applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }])), { b: 2 });
  t.deepEqual(ok(t, applyJsonPatch({ a: 1 }, [{ op: 'add', path: '', value: { c: 3 } }])), { c: 3 });
});

test('merge patch: scale, labels, null deletes, lists replace', (t) => {
  const d = nginxDeployment();
  const r = ok(t, applyMergePatch(d, { spec: { replicas: 3 }, metadata: { labels: { tier: 'web' } } }));
  t.is((r['spec'] as JsonObject)['replicas'], 3);
  t.deepEqual((r['metadata'] as JsonObject)['labels'], { tier: 'web' });
  const r2 = ok(t, applyMergePatch(r, { metadata: { labels: { tier: null } }, spec: { template: { spec: { containers: [{ name: 'x' }] } } } }));
  t.deepEqual((r2['metadata'] as JsonObject)['labels'], {});
  t.deepEqual(((r2['spec'] as JsonObject)['template'] as JsonObject)['spec'], { containers: [{ name: 'x' }] });
  t.deepEqual(ok(t, applyMergePatch({ a: 1 }, 'x')) as unknown, 'x');
});

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.array(tie('value'), { maxLength: 3 }), tie('obj')),
  obj: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4 }),
})).obj;

test('property: applying the merge patch of a diff reproduces the target', (t) => {
  fc.assert(fc.property(jsonValue, jsonValue, (a, b) => {
    const r = applyMergePatch(a, createMergePatch(a, b));
    return r.ok && JSON.stringify(sortKeys(r.value)) === JSON.stringify(sortKeys(b));
  }), { seed: 42, numRuns: 300 });
  t.pass();
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as JsonObject)[k])]));
  }
  return v;
}

test('SMP: cordon and uncordon a node', (t) => {
  const node = { kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.0.0.0/24' } };
  const cordoned = ok(t, applyStrategicMergePatch(node, { spec: { unschedulable: true } }));
  t.deepEqual(cordoned['spec'], { podCIDR: '10.0.0.0/24', unschedulable: true });
  const uncordoned = ok(t, applyStrategicMergePatch(cordoned, { spec: { unschedulable: null } }));
  t.deepEqual(uncordoned['spec'], { podCIDR: '10.0.0.0/24' });
});

test('SMP: containers merge by name, env by name, ports by containerPort', (t) => {
  const r = ok(t, applyStrategicMergePatch(pod(), {
    spec: {
      containers: [{
        name: 'app', image: 'app:2',
        env: [{ name: 'B', value: '20' }, { name: 'C', value: '3' }],
        ports: [{ containerPort: 443, name: 'https' }],
      }],
    },
  }));
  const cs = (r['spec'] as JsonObject)['containers'] as JsonObject[];
  t.is(cs.length, 2);
  t.is(cs[0]?.['image'], 'app:2');
  t.deepEqual(cs[0]?.['env'], [{ name: 'A', value: '1' }, { name: 'B', value: '20' }, { name: 'C', value: '3' }]);
  t.deepEqual(cs[0]?.['ports'], [{ containerPort: 80 }, { containerPort: 443, name: 'https' }]);
  t.is(cs[1]?.['image'], 'side:1');
});

test('SMP: $patch delete/replace directives on containers, env and ports', (t) => {
  const r = ok(t, applyStrategicMergePatch(pod(), {
    spec: {
      containers: [
        { name: 'sidecar', $patch: 'delete' },
        { name: 'app', env: [{ name: 'A', $patch: 'delete' }], ports: [{ $patch: 'replace' }, { containerPort: 8080 }] },
      ],
    },
  }));
  const cs = (r['spec'] as JsonObject)['containers'] as JsonObject[];
  t.is(cs.length, 1);
  t.deepEqual(cs[0]?.['env'], [{ name: 'B', value: '2' }]);
  t.deepEqual(cs[0]?.['ports'], [{ containerPort: 8080 }]);
  const replacedSpec = ok(t, applyStrategicMergePatch(pod(), { spec: { $patch: 'replace', containers: [{ name: 'only', image: 'x' }] } }));
  t.deepEqual(replacedSpec['spec'], { containers: [{ name: 'only', image: 'x' }] });
  const deletedLabels = ok(t, applyStrategicMergePatch(pod(), { metadata: { labels: { $patch: 'delete' } } }));
  t.deepEqual((deletedLabels['metadata'] as JsonObject)['labels'], {}, 'as kubectl: an emptied map stays');
});

test('SMP: $setElementOrder reorders, $retainKeys prunes, $deleteFromPrimitiveList removes', (t) => {
  const r = ok(t, applyStrategicMergePatch(pod(), {
    metadata: { '$deleteFromPrimitiveList/finalizers': ['a/x'], finalizers: ['c/z'] },
    spec: {
      '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
      containers: [{ name: 'app', image: 'app:3' }],
      tolerations: [{ key: 'other', operator: 'Equal', value: 'v' }],
      strategyLike: { $retainKeys: ['type'], type: 'Recreate' },
    },
  }));
  const cs = (r['spec'] as JsonObject)['containers'] as JsonObject[];
  t.deepEqual(cs.map((c) => c['name']), ['sidecar', 'app']);
  t.deepEqual((r['metadata'] as JsonObject)['finalizers'], ['c/z', 'b/y'], 'new items first, as strategicpatch orders them');
  t.deepEqual((r['spec'] as JsonObject)['tolerations'], [{ key: 'other', operator: 'Equal', value: 'v' }], 'tolerations replace');
  const d = { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
  const r2 = ok(t, applyStrategicMergePatch(d, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }));
  t.deepEqual(r2['spec'], { strategy: { type: 'Recreate' } });
});

test('SMP: service ports merge by port; kubectl set image; rollout restart annotation', (t) => {
  const svc = { spec: { ports: [{ port: 80, targetPort: 80 }, { port: 443, targetPort: 8443 }] } };
  const r = ok(t, applyStrategicMergePatch(svc, { spec: { ports: [{ port: 443, targetPort: 9443 }] } }));
  t.deepEqual((r['spec'] as JsonObject)['ports'], [{ port: 80, targetPort: 80 }, { port: 443, targetPort: 9443 }]);
  const d = nginxDeployment();
  const r2 = ok(t, applyStrategicMergePatch(d, {
    spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' } },
      spec: { containers: [{ name: 'nginx', image: 'nginx:1.16.1' }] } } },
  }));
  const tmpl = (r2['spec'] as JsonObject)['template'] as JsonObject;
  t.deepEqual(((tmpl['spec'] as JsonObject)['containers'] as JsonObject[])[0], { name: 'nginx', image: 'nginx:1.16.1', ports: [{ containerPort: 80 }] });
  t.deepEqual((tmpl['metadata'] as JsonObject)['labels'], { app: 'nginx' });
});

interface RecordedCase { doc: JsonObject; patch: JsonObject; want: JsonObject }

test('SMP agrees with kubectl 1.32 (recorded with `kubectl patch --local --type strategic`)', (t) => {
  const cases = JSON.parse(readFileSync(new URL('./smp-kubectl-cases.json', import.meta.url), 'utf8')) as RecordedCase[];
  t.true(cases.length >= 25);
  for (const [i, c] of cases.entries()) {
    const r = applyStrategicMergePatch(c.doc, c.patch);
    t.true(r.ok, `case ${i}`);
    if (r.ok) t.deepEqual(r.value, c.want, `case ${i}: ${JSON.stringify(c.patch)}`);
  }
});

test('SMP: errors for bad directives and missing merge keys', (t) => {
  const r1 = applyStrategicMergePatch(pod(), { spec: { containers: [{ image: 'x' }] } });
  t.false(r1.ok);
  const r2 = applyStrategicMergePatch(pod(), { spec: { $patch: 'explode' } });
  t.false(r2.ok);
  if (!r2.ok) t.is(r2.error.kind, 'BadRequest');
  t.false(applyStrategicMergePatch(pod(), [1]).ok);
});

test('list strategies and patch content types', (t) => {
  t.deepEqual(listStrategy(['spec', 'template', 'spec', 'containers', 'ports']), { type: 'merge', key: 'containerPort' });
  t.deepEqual(listStrategy(['spec', 'ports']), { type: 'merge', key: 'port' });
  t.deepEqual(listStrategy(['spec', 'tolerations']), { type: 'atomic' });
  t.deepEqual(listStrategy(['metadata', 'ownerReferences']), { type: 'merge', key: 'uid' });
  t.is(patchTypeFor('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
  t.is(patchTypeFor('application/apply-patch+yaml'), 'apply');
  t.is(patchTypeFor('text/plain'), undefined);
});

const listFree = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), tie('obj')),
  obj: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'spec', 'metadata'), tie('value'), { maxKeys: 4 }),
})).obj;
const listFreePatch = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.constant(null), fc.string({ maxLength: 3 }), tie('obj')),
  obj: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'spec', 'metadata'), tie('value'), { maxKeys: 4 }),
})).obj;

test('property: without lists or directives, strategic merge patch is JSON merge patch', (t) => {
  fc.assert(fc.property(listFree, listFreePatch, (doc, patch) => {
    const smp = applyStrategicMergePatch(doc, patch);
    const mp = applyMergePatch(doc, patch);
    return smp.ok && mp.ok && JSON.stringify(sortKeys(smp.value)) === JSON.stringify(sortKeys(mp.value));
  }), { seed: 11, numRuns: 300 });
  t.pass();
});

test('property: JSON patch add then remove at a fresh key restores the document', (t) => {
  fc.assert(fc.property(jsonValue, fc.string({ maxLength: 4 }), fc.integer(), (doc, key, v) => {
    const fresh = `${key}~/x`;
    const pointer = `/${fresh.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const r = applyJsonPatch(doc, [{ op: 'add', path: pointer, value: v }, { op: 'test', path: pointer, value: v }, { op: 'remove', path: pointer }]);
    return r.ok && JSON.stringify(sortKeys(r.value)) === JSON.stringify(sortKeys(doc));
  }), { seed: 5, numRuns: 200 });
  t.pass();
});
