import test from 'ava';
import { lookupKind, statusFailure, type KubeObject } from '../../src/api/index.js';
import { resourcePath } from '../../src/client/client.js';
import {
  ApiError, apiErrorFromResponse, isAlreadyExists, isConflict, isForbidden, isGone, isNotFound, isRetriable, isTimeout,
  isTransportError, TransportError,
} from '../../src/client/errors.js';
import { advance, flush, pod, podRef, setup } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

test('paths: core, grouped, namespaced, cluster-scoped, subresources', (t) => {
  t.is(resourcePath(lookupKind('v1', 'Pod')!, 'default', 'web-0', 'status'), '/api/v1/namespaces/default/pods/web-0/status');
  t.is(resourcePath(lookupKind('v1', 'Pod')!, undefined), '/api/v1/pods');
  t.is(resourcePath(lookupKind('apps/v1', 'Deployment')!, 'ns', 'd', 'scale'), '/apis/apps/v1/namespaces/ns/deployments/d/scale');
  t.is(resourcePath(lookupKind('v1', 'Node')!, undefined, 'n1'), '/api/v1/nodes/n1');
  t.throws(() => resourcePath(lookupKind('v1', 'Node')!, 'ns', 'n1'));
});

test('create, get, list with selectors, update, conflict, delete', async (t) => {
  const { client, api } = await setup();
  await api.namespace('other');
  const created = await client.create(podRef, pod('a', { labels: { app: 'web' }, nodeName: 'n1' }));
  t.is(created.metadata?.name, 'a');
  t.truthy(created.metadata?.resourceVersion);
  await client.create(podRef, pod('b', { labels: { app: 'db' } }));
  await client.create(podRef, pod('c', { namespace: 'other', labels: { app: 'web' } }));

  t.is((await client.get(podRef, 'default', 'a')).metadata?.uid, created.metadata?.uid);
  t.deepEqual((await client.list(podRef, { labelSelector: 'app=web' })).items.map((p) => p.metadata?.name), ['a', 'c']);
  t.deepEqual((await client.list(podRef, { namespace: 'default' })).items.map((p) => p.metadata?.name), ['a', 'b']);
  t.deepEqual((await client.list(podRef, { fieldSelector: 'spec.nodeName=n1' })).items.map((p) => p.metadata?.name), ['a']);

  const updated = await client.update(podRef, { ...created, metadata: { ...created.metadata, labels: { app: 'web', v: '2' } } });
  t.not(updated.metadata?.resourceVersion, created.metadata?.resourceVersion);
  const stale = await rejection(client.update(podRef, created));
  t.true(stale instanceof ApiError);
  t.true(isConflict(stale));
  t.is((stale as ApiError).code, 409);

  t.true(isAlreadyExists(await rejection(client.create(podRef, pod('a')))));
  const pre = await rejection(client.delete(podRef, 'default', 'a', { preconditions: { resourceVersion: created.metadata?.resourceVersion } }));
  t.true(isConflict(pre));
  await client.delete(podRef, 'default', 'a', { propagationPolicy: 'Background', gracePeriodSeconds: 0 });
  const missing = await rejection(client.get(podRef, 'default', 'a'));
  t.true(isNotFound(missing));
  t.false(isTransportError(missing));
  t.is((missing as ApiError).status.details?.name, 'a');
});

test('delete sends DeleteOptions; deleteCollection by label', async (t) => {
  const { client, server } = await setup();
  for (const n of ['a', 'b', 'c', 'd']) await client.create(podRef, pod(n, { labels: { del: n === 'c' ? 'no' : 'yes' } }));
  await client.delete(podRef, 'default', 'a', { propagationPolicy: 'Foreground', gracePeriodSeconds: 5 });
  const req = server.requests.at(-1)!;
  t.is(req.method, 'DELETE');
  t.deepEqual(JSON.parse(new TextDecoder().decode(req.body)), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', gracePeriodSeconds: 5 });
  // The apiserver took the policy: the pod waits for the garbage collector under its finalizer.
  const held = await client.get(podRef, 'default', 'a');
  t.deepEqual(held.metadata?.finalizers, ['foregroundDeletion']);
  t.truthy(held.metadata?.deletionTimestamp);
  await client.delete(podRef, 'default', 'd', { propagationPolicy: 'Background' });
  t.true(isNotFound(await rejection(client.get(podRef, 'default', 'd'))), 'an unscheduled pod goes at once');
  await client.deleteCollection(podRef, { namespace: 'default', labelSelector: 'del=yes' });
  t.deepEqual((await client.list(podRef)).items.filter((p) => p.metadata?.deletionTimestamp === undefined).map((p) => p.metadata?.name), ['c']);
});

test('patch types carry their content types; apply needs a field manager; force only with apply', async (t) => {
  const { client, server } = await setup();
  await client.create(podRef, pod('a'));
  await client.patch(podRef, 'default', 'a', { metadata: { labels: { x: '1' } } }, { type: 'merge' });
  t.is(server.requests.at(-1)!.headers['content-type'], 'application/merge-patch+json');
  await client.patch(podRef, 'default', 'a', [{ op: 'add', path: '/metadata/labels/y', value: '2' }], { type: 'json' });
  t.is(server.requests.at(-1)!.headers['content-type'], 'application/json-patch+json');
  const smp = await client.patch(podRef, 'default', 'a', { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }, { type: 'strategic' });
  t.is(server.requests.at(-1)!.headers['content-type'], 'application/strategic-merge-patch+json');
  t.deepEqual(smp.metadata?.labels, { x: '1', y: '2' });
  await t.throwsAsync(() => client.patch(podRef, 'default', 'a', {}, { type: 'apply' }));
  await t.throwsAsync(() => client.patch(podRef, 'default', 'a', {}, { type: 'merge', force: true }));
  const applied = await client.patch(podRef, 'default', 'a', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', labels: { z: '3' } } },
    { type: 'apply', fieldManager: 'me', force: true });
  const last = server.requests.at(-1)!;
  t.is(last.headers['content-type'], 'application/apply-patch+yaml');
  t.deepEqual(last.query, { fieldManager: 'me', force: 'true' });
  t.is(applied.metadata?.labels?.['z'], '3');
});

test('subresources: status, binding, eviction, scale', async (t) => {
  const { client, server } = await setup();
  const created = await client.create(podRef, pod('a'));
  await client.updateStatus(podRef, { ...created, status: { phase: 'Running' } });
  t.is(server.requests.at(-1)!.path, '/api/v1/namespaces/default/pods/a/status');
  await client.bindPod('default', 'a', 'node-1');
  t.is(server.requests.at(-1)!.path, '/api/v1/namespaces/default/pods/a/binding');
  const bound = await client.get(podRef, 'default', 'a');
  t.is((bound['spec'] as { nodeName?: string }).nodeName, 'node-1');
  t.is((bound['status'] as { phase?: string }).phase, 'Running');
  await client.evictPod('default', 'a', { gracePeriodSeconds: 0 });
  t.is(server.requests.at(-1)!.path, '/api/v1/namespaces/default/pods/a/eviction');
  t.true(isNotFound(await rejection(client.get(podRef, 'default', 'a'))));

  const deployRef = { apiVersion: 'apps/v1', resource: 'deployments' };
  await client.create(deployRef, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
  } as KubeObject);
  await client.scale(deployRef, 'default', 'd', 3);
  t.is(((await client.getScale(deployRef, 'default', 'd'))['spec'] as { replicas: number }).replicas, 3);
});

test('paging with limit/continue', async (t) => {
  const { client } = await setup();
  for (let i = 0; i < 5; i++) await client.create(podRef, pod(`p${i}`));
  const first = await client.list(podRef, { limit: 2 });
  t.is(first.items.length, 2);
  t.truthy(first.metadata.continue);
  const second = await client.list(podRef, { limit: 2, continue: first.metadata.continue });
  t.deepEqual(second.items.map((p) => p.metadata?.name), ['p2', 'p3']);
});

test('reads retry on 503 and transport failures with backoff; writes do not', async (t) => {
  const { client, server, clock } = await setup();
  await client.create(podRef, pod('a'));
  server.failNext({ kind: 'status', status: statusFailure(503, 'ServiceUnavailable', 'busy') }, 2);
  server.failNext({ kind: 'unreachable' }, 1);
  let got: KubeObject | undefined;
  void client.get(podRef, 'default', 'a').then((p) => { got = p; });
  await flush();
  t.is(got, undefined, 'waits for backoff before retrying');
  await advance(clock, 10_000);
  t.is(got?.metadata?.name, 'a');
  t.is(server.requests.filter((r) => r.method === 'GET').length, 4);

  server.failNext({ kind: 'status', status: statusFailure(503, 'ServiceUnavailable', 'busy') }, 1);
  const err = await rejection(client.create(podRef, pod('b')));
  t.true(err instanceof ApiError);
  t.is((err as ApiError).code, 503);
  t.is(server.requests.filter((r) => r.method === 'POST').length, 2);
});

test('reads give up after maxReadAttempts; unreachable is a TransportError, not an ApiError', async (t) => {
  const { client, server, clock } = await setup();
  server.failNext({ kind: 'unreachable' }, 100);
  let error: unknown;
  void client.list(podRef).catch((e: unknown) => { error = e; });
  await advance(clock, 60_000);
  t.true(error instanceof TransportError);
  t.false(error instanceof ApiError);
  t.is((error as TransportError).failure, 'unreachable');
  t.is(server.requests.length, 5);
});

test('a hanging request times out under the virtual clock', async (t) => {
  const { client, server, clock } = await setup();
  server.failNext({ kind: 'hang' }, 1);
  let error: unknown;
  void client.create(podRef, pod('a')).catch((e: unknown) => { error = e; });
  await advance(clock, 4_999);
  t.is(error, undefined);
  await advance(clock, 1);
  t.true(isTimeout(error));
  t.true(isTransportError(error));
});

test('error mapping helpers', (t) => {
  const forbidden = apiErrorFromResponse(403, statusFailure(403, 'Forbidden', 'no'));
  t.true(isForbidden(forbidden));
  t.false(isRetriable(forbidden));
  t.true(isGone(apiErrorFromResponse(410, statusFailure(410, 'Expired', 'too old'))));
  const proxy = apiErrorFromResponse(502, 'Bad Gateway');
  t.is(proxy.code, 502);
  t.true(isRetriable(proxy));
  t.regex(proxy.message, /502/);
  t.true(isNotFound(apiErrorFromResponse(404, undefined)));
  t.true(isRetriable(new TransportError('timeout', 'x')));
  t.false(isNotFound(new TransportError('unreachable', 'x')));
});
