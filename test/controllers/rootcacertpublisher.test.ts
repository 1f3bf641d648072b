import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { builtInControllers, rootCaCertPublisherController, rootCaDescriptionAnnotation, type ControllerDefinition } from '../../src/controllers/index.js';
import { at, ctx } from './fixtures.js';

const caPem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const controller = rootCaCertPublisherController(caPem);
const reconcile = (key: string, objects: readonly KubeObject[]) => allActions(controller.reconcile(key, cacheFromObjects(objects, controller.watches), ctx()));

const ns = (name: string, o: { deleting?: boolean; phase?: string } = {}): KubeObject => ({
  apiVersion: 'v1', kind: 'Namespace',
  metadata: { name, uid: `uid-${name}`, resourceVersion: '3', ...(o.deleting === true ? { deletionTimestamp: at(0) } : {}) },
  status: { phase: o.phase ?? (o.deleting === true ? 'Terminating' : 'Active') },
});
const rootCa = (namespace: string, data: Record<string, string>, annotations: Record<string, string> = { [rootCaDescriptionAnnotation]: 'the CA' }): KubeObject => ({
  apiVersion: 'v1', kind: 'ConfigMap',
  metadata: { name: 'kube-root-ca.crt', namespace, uid: `uid-cm-${namespace}`, resourceVersion: '7', annotations, labels: { keep: 'me' } },
  data,
});

test('an active namespace without the ConfigMap gets one with ca.crt and the description', (t) => {
  const actions = reconcile('team', [ns('team')]);
  t.is(actions.length, 1);
  t.like(actions[0], { type: 'create', resource: kinds.configMap, namespace: 'team', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'team' }, data: { 'ca.crt': caPem } } });
  const body = actions[0]!.type === 'create' ? actions[0]!.body : {};
  t.regex(body.metadata?.annotations?.[rootCaDescriptionAnnotation] ?? '', /verify the kube-apiserver/);
  t.deepEqual(Object.keys((body as { data: object }).data), ['ca.crt']);
});

test('terminating, not Active or missing namespaces get nothing', (t) => {
  t.deepEqual(reconcile('team', [ns('team', { deleting: true })]), []);
  t.deepEqual(reconcile('team', [ns('team', { phase: 'Terminating' })]), []);
  t.deepEqual(reconcile('gone', [ns('team')]), []);
});

test('an up-to-date ConfigMap is left alone', (t) => {
  t.deepEqual(reconcile('team', [ns('team'), rootCa('team', { 'ca.crt': caPem })]), []);
});

test('an edited ConfigMap is restored by a compare-and-swap update that keeps the rest of the object', (t) => {
  for (const data of [{ 'ca.crt': 'tampered' }, { 'ca.crt': caPem, extra: 'x' }] as Record<string, string>[]) {
    const actions = reconcile('team', [ns('team'), rootCa('team', data)]);
    t.is(actions.length, 1);
    t.like(actions[0], { type: 'update', resource: kinds.configMap, body: { metadata: { name: 'kube-root-ca.crt', namespace: 'team', resourceVersion: '7', labels: { keep: 'me' } }, data: { 'ca.crt': caPem } } });
    t.deepEqual(actions[0]!.type === 'update' ? actions[0]!.body['data'] : undefined, { 'ca.crt': caPem });
  }
  // The description annotation removed: put back, the data untouched.
  const actions = reconcile('team', [ns('team'), rootCa('team', { 'ca.crt': caPem }, {})]);
  t.is(actions.length, 1);
  t.regex(actions[0]!.type === 'update' ? actions[0]!.body.metadata?.annotations?.[rootCaDescriptionAnnotation] ?? '' : '', /verify the kube-apiserver/);
});

test('events: namespaces added or updated, and the published ConfigMap edited or deleted, enqueue the namespace', (t) => {
  const cache = cacheFromObjects([], controller.watches);
  const [nsWatch, cmWatch] = controller.watches as ControllerDefinition['watches'];
  const keys = (m: { enqueue: ReadonlyArray<{ key: string }> }) => m.enqueue.map((e) => e.key);
  t.deepEqual(keys(nsWatch!.map({ type: 'add', obj: ns('a') }, cache)), ['a']);
  t.deepEqual(keys(nsWatch!.map({ type: 'update', oldObj: ns('a'), newObj: ns('a', { deleting: true }) }, cache)), ['a']);
  t.deepEqual(keys(nsWatch!.map({ type: 'delete', obj: ns('a') }, cache)), []);
  const cm = rootCa('a', { 'ca.crt': caPem });
  t.deepEqual(keys(cmWatch!.map({ type: 'delete', obj: cm }, cache)), ['a']);
  t.deepEqual(keys(cmWatch!.map({ type: 'update', oldObj: cm, newObj: rootCa('a', {}) }, cache)), ['a']);
  t.deepEqual(keys(cmWatch!.map({ type: 'add', obj: cm }, cache)), []);
  const other = { ...cm, metadata: { ...cm.metadata, name: 'other' } };
  t.deepEqual(keys(cmWatch!.map({ type: 'delete', obj: other }, cache)), []);
});

test('registered only when the cluster CA is given; a non-PEM CA is refused', (t) => {
  t.false(builtInControllers().names().includes('root-ca-cert-publisher'));
  t.true(builtInControllers({ rootCaCertPem: caPem }).names().includes('root-ca-cert-publisher'));
  t.throws(() => rootCaCertPublisherController('not a cert'), { message: /PEM certificate/ });
});
