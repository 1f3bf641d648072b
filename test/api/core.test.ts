import { manifestPath } from '../fixtures/paths.js';
import test from 'ava';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { decodeBody, decodeManifests } from '../../src/api/manifest.js';
import { canonicalQuantity, compareQuantities, formatQuantity, parseQuantity, quantityMilliValue, quantityToNumber } from '../../src/api/quantity.js';
import {
  aggregatedDiscovery, aggregatedDiscoveryMediaType, apiGroupList, apiResourceList, apiVersions, lookupKind, lookupResource,
  resolveResourceName, resourcesInCategory, storageKey, storagePrefix, wantsAggregatedDiscovery,
} from '../../src/api/resources.js';
import {
  labelSelectorFromObject, labelSelectorMatches, labelSelectorToString, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector,
} from '../../src/api/selectors.js';
import { alreadyExists, conflict, expired, internalError, notFound, requestEntityTooLarge, statusFailure, unsupportedMediaType } from '../../src/api/status.js';
import { formatRfc3339, formatRfc3339Micro, humanDuration, parseRfc3339 } from '../../src/api/time.js';
import type { JsonObject } from '../../src/api/types.js';

test('quantities parse to exact values and canonicalise like Kubernetes', (t) => {
  const cases: Array<[string, string]> = [
    // Recorded from kubectl 1.32 (`kubectl set resources --local --limits=memory=<q> -o jsonpath=...`).
    ['100m', '100m'], ['1', '1'], ['1000m', '1'], ['0.5', '500m'], ['1.5', '1500m'], ['2000', '2k'], ['2e3', '2e3'], ['2E3', '2E3'],
    ['1Gi', '1Gi'], ['1024Mi', '1Gi'], ['1.5Gi', '1536Mi'], ['500Mi', '500Mi'], ['512Ki', '512Ki'], ['1536', '1536'], ['1.5Ki', '1536'],
    ['0', '0'], ['0Gi', '0'], ['1n', '1n'], ['0.1n', '1n'], ['+5k', '+5k'], ['.5', '500m'], ['1e-3', '1e-3'], ['100u', '100u'],
    ['1.5k', '1500'], ['1500', '1500'], ['1e6', '1e6'], ['1M', '1M'], ['123456789', '123456789'], ['0.0001', '100u'], ['12e-1', '1200e-3'],
    ['1024', '1024'], ['2048Ki', '2Mi'], ['-1', '-1'],
  ];
  const canonicalForms: Array<[string, string]> = [['2E3', '2e3'], ['+5k', '5k'], ['1Gi', '1Gi'], ['1000m', '1']];
  for (const [input, canonical] of canonicalForms) {
    const r = parseQuantity(input);
    t.true(r.ok && formatQuantity(r.quantity) === canonical, input);
  }
  for (const [input, canonical] of cases) t.is(canonicalQuantity(input), canonical, input);
  for (const bad of ['', '1.2.3', 'abc', '1Gb', '1 Gi', 'Gi', '1e', '--1', '1ki', ' 1', '1e3Ki']) t.false(parseQuantity(bad).ok, bad);
  const q = parseQuantity('250m');
  if (!q.ok) return t.fail();
  t.is(quantityToNumber(q.quantity), 0.25);
  t.is(quantityMilliValue(q.quantity), 250n);
  const a = parseQuantity('1Gi');
  const b = parseQuantity('1073741824');
  if (!a.ok || !b.ok) return t.fail();
  t.is(compareQuantities(a.quantity, b.quantity), 0);
});

test('property: canonical quantities round-trip and preserve value', (t) => {
  const suffix = fc.constantFrom('', 'm', 'k', 'M', 'G', 'Ki', 'Mi', 'Gi', 'Ti', 'e3', 'e-2', 'u', 'n');
  fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 999 }), suffix, (whole, frac, sfx) => {
    const text = `${whole}${frac > 0 ? `.${frac}` : ''}${sfx}`;
    const r = parseQuantity(text);
    if (!r.ok) return false;
    const canon = formatQuantity(r.quantity);
    const again = parseQuantity(canon);
    return again.ok && again.quantity.nanos === r.quantity.nanos && formatQuantity(again.quantity) === canon;
  }), { seed: 7, numRuns: 500 });
  t.pass();
});

test('RFC 3339 and human durations', (t) => {
  t.is(formatRfc3339(0), '1970-01-01T00:00:00Z');
  t.is(formatRfc3339(1_700_000_000_000), '2023-11-14T22:13:20Z');
  t.is(formatRfc3339Micro(1_700_000_000_123), '2023-11-14T22:13:20.123000Z');
  t.is(parseRfc3339('2023-11-14T22:13:20Z'), 1_700_000_000_000);
  t.is(parseRfc3339('2023-11-14T23:13:20.5+01:00'), 1_700_000_000_500);
  t.is(parseRfc3339('2024-02-29T00:00:00Z'), Date.UTC(2024, 1, 29));
  t.is(parseRfc3339('not a time'), undefined);
  fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800 }), (s) => parseRfc3339(formatRfc3339(s * 1000)) === s * 1000 && formatRfc3339(s * 1000) === new Date(s * 1000).toISOString().replace('.000Z', 'Z')), { seed: 3 });
  const s = 1000;
  const cases: Array<[number, string]> = [[-5 * s, '<invalid>'], [-1 * s, '0s'], [5 * s, '5s'], [119 * s, '119s'], [200 * s, '3m20s'], [300 * s, '5m'],
    [45 * 60 * s, '45m'], [179 * 60 * s, '179m'], [3 * 3600 * s, '3h'], [(7 * 60 + 59) * 60 * s, '7h59m'], [30 * 3600 * s, '30h'],
    [51 * 3600 * s, '2d3h'], [48 * 3600 * s, '2d'], [30 * 86400 * s, '30d'], [3 * 365 * 86400 * s, '3y'], [(3 * 365 + 10) * 86400 * s, '3y10d'], [9 * 365 * 86400 * s, '9y']];
  for (const [ms, want] of cases) t.is(humanDuration(ms), want, String(ms));
});

test('label selector strings: parsing, matching and errors', (t) => {
  const parse = (s: string): ReturnType<typeof parseLabelSelector> => parseLabelSelector(s);
  const r = parse('app=nginx, tier != db,env in (prod, staging),!legacy,track,version notin (v1)');
  if (!r.ok) return t.fail(r.error);
  t.deepEqual(r.value.map((q) => q.operator), ['Equals', 'NotEquals', 'In', 'DoesNotExist', 'Exists', 'NotIn']);
  t.true(matchesLabels(r.value, { app: 'nginx', env: 'prod', track: 'x' }));
  t.false(matchesLabels(r.value, { app: 'nginx', env: 'prod', track: 'x', legacy: '1' }));
  t.false(matchesLabels(r.value, { app: 'nginx', env: 'dev', track: 'x' }));
  t.false(matchesLabels(r.value, { app: 'nginx', env: 'prod', track: 'x', version: 'v1' }));
  t.true(matchesLabels(r.value, { app: 'nginx', env: 'prod', track: 'x', tier: 'web' }));
  const eqeq = parse('app==nginx');
  t.true(eqeq.ok && matchesLabels(eqeq.value, { app: 'nginx' }));
  const empty = parse('');
  t.true(empty.ok && empty.value.length === 0 && matchesLabels(empty.value, {}));
  const emptyValue = parse('app=');
  t.true(emptyValue.ok && matchesLabels(emptyValue.value, { app: '' }) && !matchesLabels(emptyValue.value, {}));
  const gt = parse('size>3');
  t.true(gt.ok && matchesLabels(gt.value, { size: '4' }) && !matchesLabels(gt.value, { size: '3' }));
  for (const bad of ['app=nginx,', '!', 'app in nginx', 'app in (a', 'app notin ()', '=x', 'a b', 'app=(x)', 'bad key!=x', 'app=no spaces', 'x>y', '(']) {
    const res = parse(bad);
    t.false(res.ok, bad);
    if (!res.ok) t.true(res.error.startsWith('unable to parse requirement: '), res.error);
  }
  const bang = parse('!');
  t.deepEqual(bang, { ok: false, error: "unable to parse requirement: found '', expected: identifier after '!'" });
});

test('LabelSelector objects: matchLabels and matchExpressions', (t) => {
  const sel = { matchLabels: { app: 'nginx' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'canary', operator: 'DoesNotExist' }] };
  t.true(labelSelectorMatches(sel, { app: 'nginx', tier: 'web' }));
  t.false(labelSelectorMatches(sel, { app: 'nginx', tier: 'web', canary: 'y' }));
  t.false(labelSelectorMatches(null, { app: 'nginx' }), 'null selects nothing');
  t.true(labelSelectorMatches({}, { any: 'thing' }), '{} selects everything');
  t.false(labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }).ok);
  t.false(labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }).ok);
  t.false(labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Like' }] }).ok);
  const r = labelSelectorFromObject(sel);
  t.true(r.ok && r.value !== 'nothing' && labelSelectorToString(r.value) === 'app=nginx,tier in (api,web),!canary');
});

test('field selectors: per-kind fields, operators, empty values, unknown labels', (t) => {
  const pod: JsonObject = { metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'worker-1' }, status: { phase: 'Running' } };
  const r = parseFieldSelector('spec.nodeName=worker-1,status.phase!=Succeeded,status.phase!=Failed', 'pods');
  t.true(r.ok && matchesFields(r.value, 'pods', pod));
  const unscheduled = parseFieldSelector('spec.nodeName=', 'pods');
  t.true(unscheduled.ok && !matchesFields(unscheduled.value, 'pods', pod) && matchesFields(unscheduled.value, 'pods', { metadata: {}, spec: {} }));
  const byName = parseFieldSelector('metadata.name==p', 'pods');
  t.true(byName.ok && matchesFields(byName.value, 'pods', pod));
  t.deepEqual(parseFieldSelector('spec.foo=bar', 'pods'), { ok: false, error: 'field label not supported: spec.foo' });
  t.deepEqual(parseFieldSelector('spec.nodeName=x', 'services'), { ok: false, error: 'field label not supported: spec.nodeName' });
  t.false(parseFieldSelector('nonsense', 'pods').ok);
  const ev: JsonObject = { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'u1' }, type: 'Warning', reason: 'BackOff', source: { component: 'kubelet' } };
  const evSel = parseFieldSelector('involvedObject.name=p,involvedObject.namespace=default,involvedObject.kind=Pod,involvedObject.uid=u1,type=Warning,source=kubelet', 'events');
  t.true(evSel.ok && matchesFields(evSel.value, 'events', ev));
  const cordoned = parseFieldSelector('spec.unschedulable=false', 'nodes');
  t.true(cordoned.ok && matchesFields(cordoned.value, 'nodes', { spec: {} }) && !matchesFields(cordoned.value, 'nodes', { spec: { unschedulable: true } }));
  const escaped = parseFieldSelector('metadata.name=a\\,b', 'configmaps');
  t.true(escaped.ok && matchesFields(escaped.value, 'configmaps', { metadata: { name: 'a,b' } }));
});

test('resource registry lookups and storage keys', (t) => {
  t.is(resolveResourceName('po')?.resource, 'pods');
  t.is(resolveResourceName('deploy')?.group, 'apps');
  t.is(resolveResourceName('deployments.apps')?.kind, 'Deployment');
  t.is(resolveResourceName('Pod')?.resource, 'pods');
  t.is(resolveResourceName('hpa')?.version, 'v2');
  t.is(resolveResourceName('pdb')?.group, 'policy');
  t.is(resolveResourceName('nope'), undefined);
  const pods = lookupResource('', 'v1', 'pods');
  if (pods === undefined) return t.fail();
  t.deepEqual(pods.subresources.map((s) => s.name), ['attach', 'binding', 'eviction', 'exec', 'log', 'portforward', 'status']);
  t.deepEqual(lookupResource('', 'v1', 'namespaces')?.subresources.map((s) => s.name), ['finalize', 'status']);
  t.is(storageKey(pods, 'default', 'web'), '/registry/pods/default/web');
  t.is(storagePrefix(pods), '/registry/pods/');
  t.is(storagePrefix(pods, 'kube-system'), '/registry/pods/kube-system/');
  const nodes = lookupKind('v1', 'Node');
  if (nodes === undefined) return t.fail();
  t.is(storageKey(nodes, undefined, 'n1'), '/registry/nodes/n1');
  t.throws(() => storageKey(pods, undefined, 'x'));
  t.throws(() => storageKey(nodes, undefined, 'a/b'));
  t.deepEqual(resourcesInCategory('all').map((r) => r.resource).sort(),
    ['cronjobs', 'daemonsets', 'deployments', 'horizontalpodautoscalers', 'jobs', 'pods', 'replicasets', 'replicationcontrollers', 'services', 'statefulsets']);
  t.deepEqual(lookupResource('apps', 'v1', 'deployments')?.subresources.find((s) => s.name === 'scale'),
    { name: 'scale', group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
});

test('classic discovery documents', (t) => {
  t.deepEqual(apiVersions('127.0.0.1:6443'), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] });
  const groups = apiGroupList()['groups'] as JsonObject[];
  t.deepEqual(groups.map((g) => g['name']), ['apiregistration.k8s.io', 'apps', 'events.k8s.io',
    'authentication.k8s.io', 'authorization.k8s.io', 'batch', 'certificates.k8s.io', 'networking.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io',
    'policy', 'rbac.authorization.k8s.io', 'storage.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'scheduling.k8s.io', 'node.k8s.io',
    'flowcontrol.apiserver.k8s.io', 'autoscaling', 'metrics.k8s.io']);
  t.deepEqual(groups[1], { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } });
  const core = apiResourceList('', 'v1');
  if (core === undefined) return t.fail();
  const rs = core['resources'] as JsonObject[];
  t.like(rs.find((r) => r['name'] === 'pods') ?? {}, { singularName: 'pod', namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
  t.deepEqual(rs.find((r) => r['name'] === 'pods/eviction'), { name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
  t.deepEqual((rs.find((r) => r['name'] === 'namespaces') ?? {})['verbs'], ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
  const apps = apiResourceList('apps', 'v1');
  t.like(((apps?.['resources'] as JsonObject[]).find((r) => r['name'] === 'deployments/scale')) ?? {}, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  t.is(apiResourceList('apps', 'v2'), undefined);
});

test('aggregated discovery v2', (t) => {
  t.true(wantsAggregatedDiscovery('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'));
  t.false(wantsAggregatedDiscovery('application/json'));
  t.false(wantsAggregatedDiscovery(undefined));
  t.is(aggregatedDiscoveryMediaType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const core = aggregatedDiscovery('core');
  t.is(core['kind'], 'APIGroupDiscoveryList');
  t.is(core['apiVersion'], 'apidiscovery.k8s.io/v2');
  const items = core['items'] as JsonObject[];
  t.is(items.length, 1);
  t.deepEqual(items[0]?.['metadata'], { creationTimestamp: null });
  const v1 = (items[0]?.['versions'] as JsonObject[])[0] ?? {};
  t.is(v1['version'], 'v1');
  t.is(v1['freshness'], 'Current');
  const pods = (v1['resources'] as JsonObject[]).find((r) => r['resource'] === 'pods') ?? {};
  t.like(pods, { responseKind: { group: '', version: 'v1', kind: 'Pod' }, scope: 'Namespaced', singularResource: 'pod', shortNames: ['po'], categories: ['all'] });
  t.deepEqual((pods['subresources'] as JsonObject[]).find((s) => s['subresource'] === 'eviction'),
    { subresource: 'eviction', responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
  const groups = aggregatedDiscovery('groups')['items'] as JsonObject[];
  const apps = groups.find((g) => (g['metadata'] as JsonObject)['name'] === 'apps') ?? {};
  const deploy = (((apps['versions'] as JsonObject[])[0] ?? {})['resources'] as JsonObject[]).find((r) => r['resource'] === 'deployments') ?? {};
  t.like(deploy, { scope: 'Namespaced', shortNames: ['deploy'] });
  t.deepEqual((deploy['subresources'] as JsonObject[]).map((s) => s['subresource']), ['scale', 'status']);
  const nodes = (v1['resources'] as JsonObject[]).find((r) => r['resource'] === 'nodes') ?? {};
  t.is(nodes['scope'], 'Cluster');
});

test('status builders word errors like Kubernetes', (t) => {
  t.deepEqual(notFound({ group: '', resource: 'pods' }, 'x'), {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "x" not found', reason: 'NotFound', details: { name: 'x', kind: 'pods' }, code: 404,
  });
  const ae = alreadyExists({ group: 'apps', resource: 'deployments' }, 'x');
  t.is(ae.message, 'deployments.apps "x" already exists');
  t.deepEqual(ae.details, { name: 'x', group: 'apps', kind: 'deployments' });
  t.is(ae.code, 409);
  t.is(conflict({ group: '', resource: 'pods' }, 'x').message, 'Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again');
  t.like(expired('5', '10'), { code: 410, reason: 'Expired', message: 'too old resource version: 5 (10)' });
  t.like(requestEntityTooLarge(3145728), { code: 413, message: 'Request entity too large: limit is 3145728' });
  t.like(unsupportedMediaType('text/plain', ['application/json']), { code: 415, reason: 'UnsupportedMediaType' });
  t.like(internalError('boom'), { code: 500, message: 'Internal error occurred: boom' });
  t.false('details' in statusFailure(401, 'Unauthorized', 'Unauthorized'));
});

test('manifests: multi-document YAML, lists, typed errors', (t) => {
  const dep = readFileSync(manifestPath('nginx-deployment.yaml'), 'utf8');
  const svc = readFileSync(manifestPath('nginx-service.yaml'), 'utf8');
  const r = decodeManifests(`${dep}\n---\n${svc}\n---\n# just a comment\n`);
  if (!r.ok) return t.fail(r.error.message);
  t.deepEqual(r.objects.map((o) => o['kind']), ['Deployment', 'Service']);
  const list = decodeManifests(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }] }));
  t.true(list.ok && list.objects.length === 1 && list.objects[0]?.['kind'] === 'ConfigMap');
  const syntax = decodeManifests('apiVersion: v1\nkind: Pod\nmetadata: {name: [}\n');
  t.true(!syntax.ok && syntax.error.kind === 'Syntax');
  const missing = decodeManifests('apiVersion: v1\nmetadata: {}\n');
  t.deepEqual(!missing.ok && missing.error, { kind: 'MissingField', document: 0, field: 'kind', message: 'error validating data: kind not set' });
  const scalar = decodeManifests('--- 42\n');
  t.true(!scalar.ok && scalar.error.kind === 'NotAnObject');
  const bomb = decodeManifests('a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: &d [*c, *c, *c]\ne: &e [*d, *d, *d]\nf: [*e, *e, *e, *e, *e]\napiVersion: v1\nkind: X\n');
  t.false(bomb.ok, 'alias expansion is bounded');
});

test('request bodies: JSON without content type, YAML for apply', (t) => {
  t.deepEqual(decodeBody('{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"foo","creationTimestamp":null},"spec":{},"status":{}}', undefined),
    { ok: true, value: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'foo', creationTimestamp: null }, spec: {}, status: {} } });
  t.deepEqual(decodeBody('kind: Namespace\napiVersion: v1\n', 'application/apply-patch+yaml'), { ok: true, value: { kind: 'Namespace', apiVersion: 'v1' } });
  t.false(decodeBody('kind: Namespace', 'application/json').ok);
  t.false(decodeBody('a: 1\n---\nb: 2\n', 'application/yaml').ok);
  t.false(decodeBody(`${'['.repeat(500)}${']'.repeat(500)}`, undefined).ok, 'depth is bounded');
});

test('property: a selector printed by labelSelectorToString parses back to the same requirements', (t) => {
  const key = fc.constantFrom('app', 'tier', 'example.com/role', 'a_b.c');
  const value = fc.constantFrom('', 'web', 'db', 'v1.2', 'X_y');
  const req = fc.oneof(
    fc.record({ key, operator: fc.constantFrom('Equals' as const, 'NotEquals' as const), values: value.map((v) => [v]) }),
    fc.record({ key, operator: fc.constantFrom('In' as const, 'NotIn' as const), values: fc.uniqueArray(value.filter((v) => v !== ''), { minLength: 1, maxLength: 3 }).map((vs) => [...vs].sort()) }),
    fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const), values: fc.constant([] as string[]) }),
  );
  fc.assert(fc.property(fc.array(req, { maxLength: 4 }), (reqs) => {
    const r = parseLabelSelector(labelSelectorToString(reqs));
    return r.ok && JSON.stringify(r.value) === JSON.stringify(reqs);
  }), { seed: 9, numRuns: 300 });
  t.pass();
});
