/** Discovery, health, metrics, tables, authentication/authorization and limits through the core; a seeded fuzz of the REST surface. */
import test from 'ava';
import { Authenticator, wellKnown } from '../../src/apiserver/auth/index.js';
import type { ApiMethod } from '../../src/client/api-transport.js';
import type { KvClient } from '../../src/client/kv.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { body, cm, deployment, harness } from './helpers.js';

const cms = '/api/v1/namespaces/default/configmaps';
const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array);

test('discovery: classic and aggregated, group documents, version, openapi', async (t) => {
  const h = await harness({ serverAddress: '127.10.0.1:6443' });
  t.teardown(() => h.close());
  const api = await h.call('GET', '/api');
  t.like(body(api), { kind: 'APIVersions', versions: ['v1'] });
  const agg = await h.call('GET', '/apis', undefined, { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
  t.regex(agg.contentType, /apidiscovery/);
  t.is(body(agg).kind, 'APIGroupDiscoveryList');
  t.true(body(await h.call('GET', '/apis')).groups.some((g: { name: string }) => g.name === 'apps'));
  t.is(body(await h.call('GET', '/apis/apps')).preferredVersion.groupVersion, 'apps/v1');
  const v1 = body(await h.call('GET', '/api/v1')).resources as { name: string; kind: string; group?: string }[];
  t.truthy(v1.find((r) => r.name === 'pods/eviction' && r.kind === 'Eviction' && r.group === 'policy'));
  t.is((await h.call('GET', '/apis/nope/v1')).status, 404);
  t.is(body(await h.call('GET', '/version')).major, '1');
  const openapi = await h.call('GET', '/openapi/v2', undefined, { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
  t.is(openapi.status, 200);
  t.is(openapi.contentType, 'application/octet-stream');
  t.is((openapi.body as Uint8Array).length, 0);
  t.is(body(await h.call('GET', '/openapi/v2')).swagger, '2.0');
  const v3 = body(await h.call('GET', '/openapi/v3')).paths as Record<string, { serverRelativeURL: string }>;
  t.regex(v3['apis/apps/v1']?.serverRelativeURL ?? '', /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
  const apps = body(await h.call('GET', '/openapi/v3/apis/apps/v1', undefined, { query: { hash: 'stale' } }));
  t.truthy(apps.components.schemas['io.k8s.api.apps.v1.Deployment']);
  t.is((await h.call('GET', '/openapi/v3/apis/nope/v1')).status, 404);
  t.is((await h.call('GET', '/api/v1/widgets')).status, 404);
});

test('health: livez/healthz/readyz as kube-apiserver answers them (verbose, exclude, one check); readyz fails while the store is unreachable; metrics count requests', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  t.is(text((await h.call('GET', '/healthz')).body), 'ok');
  t.is(text((await h.call('GET', '/livez')).body), 'ok');
  t.is((await h.call('GET', '/readyz')).status, 200);
  t.is(text((await h.call('GET', '/readyz?verbose')).body), '[+]ping ok\n[+]etcd ok\n[+]shutdown ok\nreadyz check passed\n');
  t.is(text((await h.call('GET', '/livez?verbose')).body), '[+]ping ok\n[+]etcd ok\nlivez check passed\n');
  t.is(text((await h.call('GET', '/readyz/etcd')).body), 'ok');
  t.is((await h.call('GET', '/readyz/no-such-check')).status, 404);
  h.kv.setAvailable(false);
  const down = await h.call('GET', '/readyz');
  t.is(down.status, 500);
  t.regex(text(down.body), /^\[\+\]ping ok\n\[-\]etcd failed: etcd answered unavailable\n\[\+\]shutdown ok\nreadyz check failed\n$/);
  t.is((await h.call('GET', '/readyz?exclude=etcd')).status, 200, 'an excluded check does not count');
  const one = await h.call('GET', '/readyz/etcd');
  t.is(one.status, 500);
  t.regex(text(one.body), /internal server error: etcd answered unavailable/);
  t.is((await h.call('GET', '/livez')).status, 500, 'livez checks etcd too, as kube-apiserver does');
  t.is((await h.call('GET', `${cms}/x`)).status, 503);
  h.kv.setAvailable(true);
  t.is((await h.call('GET', '/readyz')).status, 200);
  await h.call('POST', cms, cm('m'));
  const metrics = text((await h.call('GET', '/metrics')).body);
  t.regex(metrics, /apiserver_request_total\{code="201",resource="configmaps",verb="CREATE"\} 1/);
  t.regex(metrics, /apiserver_request_duration_seconds_bucket\{resource="configmaps",verb="CREATE",le="\+Inf"\} 1/);
  t.regex(metrics, /apiserver_registered_watchers 0/);
});

test('tables: list and get as Table with wide columns and row objects', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  await h.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web', 2));
  const accept = { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json' };
  const tbl = body(await h.call('GET', '/apis/apps/v1/namespaces/default/deployments', undefined, { headers: accept }));
  t.is(tbl.kind, 'Table');
  t.truthy(tbl.metadata.resourceVersion);
  t.deepEqual(tbl.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 5), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age']);
  t.deepEqual(tbl.rows[0].cells.slice(0, 4), ['web', '0/2', 0, 0]);
  t.is(tbl.rows[0].object.kind, 'PartialObjectMetadata');
  const full = body(await h.call('GET', '/apis/apps/v1/namespaces/default/deployments/web', undefined, { headers: accept, query: { includeObject: 'Object' } }));
  t.is(full.rows[0].object.kind, 'Deployment');
  t.is((await h.call('GET', cms, undefined, { headers: accept, query: { includeObject: 'Everything' } })).status, 400);
});

test('authentication and authorization: 401, anonymous public info only, Kubernetes wording, RBAC grants', async (t) => {
  const authenticator = new Authenticator({ staticTokens: [
    { token: 'admin-token-xxxxxxxxxxxxxxxx', username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] },
    { token: 'jane-token-xxxxxxxxxxxxxxxxx', username: 'jane', groups: [] },
  ] });
  const h = await harness({ authenticator });
  t.teardown(() => h.close());
  const as = (token?: string): { headers: Record<string, string> } => ({ headers: token ? { authorization: `Bearer ${token}` } : {} });
  t.is((await h.call('GET', cms, undefined, as('wrong'))).status, 401);
  t.is(body(await h.call('GET', cms, undefined, as('wrong'))).reason, 'Unauthorized');
  t.is((await h.call('GET', '/healthz', undefined, as())).status, 200);
  t.is((await h.call('GET', '/version', undefined, as())).status, 200);
  const anon = await h.call('GET', '/api', undefined, as());
  t.is(anon.status, 403);
  t.is(body(anon).message, 'forbidden: User "system:anonymous" cannot get path "/api"');
  t.is((await h.call('GET', '/api', undefined, as('jane-token-xxxxxxxxxxxxxxxxx'))).status, 200, 'discovery for every authenticated user');
  const denied = await h.call('GET', `${cms}/x`, undefined, as('jane-token-xxxxxxxxxxxxxxxxx'));
  t.is(denied.status, 403);
  t.is(body(denied).message, 'configmaps "x" is forbidden: User "jane" cannot get resource "configmaps" in API group "" in the namespace "default"');
  const admin = as('admin-token-xxxxxxxxxxxxxxxx');
  await h.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'jane-view' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'jane', apiGroup: 'rbac.authorization.k8s.io' }],
  }, admin);
  t.is((await h.call('GET', cms, undefined, as('jane-token-xxxxxxxxxxxxxxxxx'))).status, 200);
  t.is((await h.call('POST', cms, cm('j'), as('jane-token-xxxxxxxxxxxxxxxxx'))).status, 403, 'view cannot create');
  t.is((await h.call('GET', '/api/v1/namespaces/kube-system/configmaps', undefined, as('jane-token-xxxxxxxxxxxxxxxxx'))).status, 403);
  const review = (token: string, verb: string) => h.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'default', verb, resource: 'configmaps' } },
  }, as(token));
  t.is(body(await review('jane-token-xxxxxxxxxxxxxxxxx', 'list')).status.allowed, true);
  t.is(body(await review('jane-token-xxxxxxxxxxxxxxxxx', 'delete')).status.allowed, false);
  const w = await h.watch(cms, as('wrong'));
  t.is(w.kind === 'response' ? w.response.status : 0, 401);
});

test('limits: 413 bodies over 3 MiB, 415 patch types, 405 methods, 504 when the store stalls', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const big = await h.call('POST', cms, undefined, { raw: `{"x":"${'a'.repeat(3 * 1024 * 1024)}"}` });
  t.is(big.status, 413);
  t.is(body(big).reason, 'RequestEntityTooLarge');
  t.is((await h.call('PATCH', `${cms}/a`, {}, { headers: { 'content-type': 'application/xml' } })).status, 415);
  t.is((await h.call('POST', `${cms}/a`, cm('a'))).status, 405);
  t.is((await h.call('PUT', cms, cm('a'))).status, 405);
  let stall = false;
  const stalled = new Proxy(h.kv, { get: (target, prop) => {
    if (prop === 'range' && stall) return () => new Promise(() => undefined);
    const v: unknown = Reflect.get(target, prop);
    return typeof v === 'function' ? v.bind(target) : v;
  } }) as KvClient;
  const s = await harness({ kv: stalled, requestTimeoutMs: 50 });
  t.teardown(() => s.close());
  stall = true;
  const r = await s.call('GET', `${cms}/a`);
  t.is(r.status, 504);
  t.is(body(r).reason, 'Timeout');
});

const methods: ApiMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const paths = ['/', '/api', '/apis', '/api/v1', '/apis/apps/v1', '/api/v1/namespaces', '/api/v1/namespaces/default', '/api/v1/namespaces/default/pods',
  '/api/v1/namespaces/default/pods/p', '/api/v1/namespaces/default/pods/p/status', '/api/v1/namespaces/default/pods/p/binding',
  '/api/v1/namespaces/default/pods/p/eviction', '/api/v1/namespaces/default/pods/p/log', '/apis/apps/v1/namespaces/default/deployments/d/scale',
  '/api/v1/nodes/n', '/api/v1/namespaces/default/configmaps/c', '/api/v1/namespaces/x/y/z/w/v/u', '/apis/%zz/v1', '/api/v1/namespaces//pods',
  '/api/v1/namespaces/default/services/s', '/api/v1/pods', '/apis/apps/v1/deployments', '/api/v1/namespaces/default/pods/..', '/api/v1/namespaces/Bad_NS/pods/p', '/apis/rbac.authorization.k8s.io/v1/clusterroles/x', '/metrics', '/readyz', '/openapi/v2'];
const contentTypes = ['application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json',
  'application/apply-patch+yaml', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', ''];
const queries: Record<string, string>[] = [{}, { fieldValidation: 'Strict' }, { dryRun: 'All' }, { dryRun: 'x' }, { labelSelector: 'a=b' }, { fieldSelector: 'metadata.name=p' },
  { limit: '1' }, { continue: 'abc' }, { fieldManager: 'f' }, { force: 'true', fieldManager: 'f' }, { gracePeriodSeconds: 'x' }, { propagationPolicy: 'Foreground' }];

function randomValue(rng: SeededPrng, depth: number): unknown {
  switch (rng.int(depth > 3 ? 5 : 8)) {
    case 0: return null;
    case 1: return rng.int(1000) - 500;
    case 2: return ['p', 'c', 'd', 'x', '', 'Pod', 'v1', 'apps/v1', 'ConfigMap', 'n'][rng.int(10)];
    case 3: return rng.next() < 0.5;
    case 4: return 'é\u0000\ud800';
    case 5: return Array.from({ length: rng.int(3) }, () => randomValue(rng, depth + 1));
    default: {
      const keys = ['apiVersion', 'kind', 'metadata', 'name', 'spec', 'status', 'data', 'containers', 'op', 'path', 'value', 'target', 'labels', 'replicas', '$patch', 'finalizers'];
      return Object.fromEntries(Array.from({ length: rng.int(5) }, () => [keys[rng.int(keys.length)]!, randomValue(rng, depth + 1)]));
    }
  }
}

test('fuzz: random requests never crash the core or produce a 5xx other than 503/504', async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const rng = new SeededPrng(20261127);
  await h.call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  await h.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('d'));
  const seen = new Map<number, number>();
  for (let i = 0; i < 1500; i++) {
    const method = methods[rng.int(methods.length)]!;
    const path = paths[rng.int(paths.length)]!;
    const v = randomValue(rng, 0);
    const raw = rng.next() < 0.15 ? '{"broken": [' : rng.next() < 0.1 ? 'k8s\u0000garbage' : JSON.stringify(v);
    const r = await h.call(method, path, undefined, { raw, query: queries[rng.int(queries.length)]!, headers: { 'content-type': contentTypes[rng.int(contentTypes.length)]! } });
    seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
    if (r.status >= 500 && r.status !== 503 && r.status !== 504) t.fail(`${method} ${path} ${raw} → ${r.status} ${JSON.stringify(r.body)}`);
  }
  t.log([...seen].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}:${v}`).join(' '));
  // The fuzz must reach the handlers, not only the router: successes and many kinds of refusal.
  t.true([...seen.keys()].filter((c) => c < 300).length >= 2);
  t.true([...seen.keys()].filter((c) => c >= 400 && c < 500).length >= 6);
  t.is((await h.call('GET', '/readyz')).status, 200);
});

test('kubelets (Node authorizer): their own Node and Lease only; pods bound to them', async (t) => {
  const authenticator = new Authenticator({ staticTokens: [
    { token: 'admin-token-xxxxxxxxxxxxxxxx', username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] },
    { token: 'node1-token-xxxxxxxxxxxxxxxx', username: 'system:node:n1', groups: [wellKnown.nodesGroup] },
  ] });
  const h = await harness({ authenticator });
  t.teardown(() => h.close());
  const kubelet = { headers: { authorization: 'Bearer node1-token-xxxxxxxxxxxxxxxx' } };
  const admin = { headers: { authorization: 'Bearer admin-token-xxxxxxxxxxxxxxxx' } };
  const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
  t.is((await h.call('POST', '/api/v1/nodes', node('n1'), kubelet)).status, 201);
  t.is((await h.call('POST', '/api/v1/nodes', node('n2'), kubelet)).status, 403);
  const lease = (name: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: name } });
  t.is((await h.call('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', lease('n1'), kubelet)).status, 201);
  t.is((await h.call('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2', lease('n2'), kubelet)).status, 403);
  await h.call('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'mounted' } }, admin);
  t.is((await h.call('GET', '/api/v1/namespaces/default/secrets/mounted', undefined, kubelet)).status, 403);
  await h.call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'v', secret: { secretName: 'mounted' } }] } }, admin);
  t.is((await h.call('GET', '/api/v1/namespaces/default/secrets/mounted', undefined, kubelet)).status, 200, 'the pod graph follows the watch cache');
  t.is((await h.call('PATCH', '/api/v1/namespaces/default/pods/p/status', { status: { phase: 'Running' } },
    { headers: { ...kubelet.headers, 'content-type': 'application/merge-patch+json' } })).status, 200);
});
