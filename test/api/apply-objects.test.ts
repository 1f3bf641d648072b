import test from 'ava';
import {
  fieldPathString, fieldSetOf, fieldSetToFieldsV1, fieldsV1ToFieldSet, managersOf, recordUpdate, serverSideApply,
} from '../../src/api/apply.js';
import { applyDefaults } from '../../src/api/defaults.js';
import {
  checkPreconditions, controllerRefOf, decodeDeleteOptions, newControllerRef, podQosClass, prepareForCreate, prepareForDelete, prepareForUpdate,
  removeFinalizer, removeOwnerReference, setOwnerReference, shouldRemoveAfterUpdate,
} from '../../src/api/objects.js';
import { lookupKind } from '../../src/api/resources.js';
import { applyMergePatch } from '../../src/api/patch.js';
import { applyScale, bookmarkObject, decodeEviction, listOf, scaleOf, watchEvent } from '../../src/api/subresources.js';
import type { JsonObject } from '../../src/api/types.js';
import { nginxDeployment, t0 } from './fixtures.js';

const deployInfo = lookupKind('apps/v1', 'Deployment');
const podInfo = lookupKind('v1', 'Pod');
const nodeInfo = lookupKind('v1', 'Node');

const spec = (o: JsonObject): JsonObject => o['spec'] as JsonObject;
const meta = (o: JsonObject): JsonObject => o['metadata'] as JsonObject;

test('prepareForCreate sets identity, generation and resets status', (t) => {
  if (deployInfo === undefined || nodeInfo === undefined) return t.fail();
  const d = { ...nginxDeployment(), status: { replicas: 99 }, metadata: { generateName: 'web-', namespace: 'default', creationTimestamp: null } };
  const c = prepareForCreate(applyDefaults(d), deployInfo, { uid: 'u1', nowMs: t0, resourceVersion: '7', nameSuffix: 'abcde' });
  t.like(meta(c), { name: 'web-abcde', uid: 'u1', creationTimestamp: '2023-11-14T22:13:20Z', resourceVersion: '7', generation: 1 });
  t.deepEqual(c['status'], {});
  const node = prepareForCreate({ kind: 'Node', metadata: { name: 'n' }, status: { capacity: { cpu: '2' } } }, nodeInfo, { uid: 'u', nowMs: t0, resourceVersion: '1' });
  t.deepEqual(node['status'], { capacity: { cpu: '2' } }, 'nodes keep status on create');
  t.is(meta(node)['generation'], undefined);
  t.throws(() => prepareForCreate({ metadata: { generateName: 'x-' } }, nodeInfo, { uid: 'u', nowMs: t0, resourceVersion: '1' }));
});

test('pod create gets Pending phase and a QoS class', (t) => {
  if (podInfo === undefined) return t.fail();
  const mk = (resources: JsonObject): JsonObject => ({ kind: 'Pod', metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'i', resources }] } });
  const p = prepareForCreate(mk({}), podInfo, { uid: 'u', nowMs: t0, resourceVersion: '1' });
  t.deepEqual(p['status'], { phase: 'Pending', qosClass: 'BestEffort' });
  t.is(podQosClass(mk({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  t.is(podQosClass(mk({ requests: { cpu: '100m' } })), 'Burstable');
  t.is(podQosClass(mk({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1024Mi' } })), 'Guaranteed');
});

test('prepareForUpdate bumps generation on spec change only and protects status', (t) => {
  if (deployInfo === undefined) return t.fail();
  const created = prepareForCreate(applyDefaults({ ...nginxDeployment(), metadata: { name: 'd', namespace: 'default' } }), deployInfo, { uid: 'u', nowMs: t0, resourceVersion: '1' });
  created['status'] = { replicas: 2 };
  const labelsOnly = structuredClone(created);
  meta(labelsOnly)['labels'] = { a: 'b' };
  delete meta(labelsOnly)['uid'];
  labelsOnly['status'] = { replicas: 0 };
  const u1 = prepareForUpdate(labelsOnly, created, deployInfo, 'main', '2');
  t.like(meta(u1), { generation: 1, uid: 'u', resourceVersion: '2' });
  t.deepEqual(u1['status'], { replicas: 2 });
  const scaled = structuredClone(created);
  spec(scaled)['replicas'] = 5;
  t.is(meta(prepareForUpdate(scaled, created, deployInfo, 'main', '3'))['generation'], 2);
  const statusUpdate = structuredClone(scaled);
  statusUpdate['status'] = { replicas: 5, observedGeneration: 1 };
  const s = prepareForUpdate(statusUpdate, created, deployInfo, 'status', '4');
  t.is(spec(s)['replicas'], 2, 'status updates cannot change spec');
  t.deepEqual(s['status'], { replicas: 5, observedGeneration: 1 });
});

test('a Service PUT without its allocated clusterIP and node ports keeps them', (t) => {
  const svcInfo = lookupKind('v1', 'Service');
  if (svcInfo === undefined) return t.fail();
  const old: JsonObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'd', uid: 'u', creationTimestamp: 'x' },
    spec: { type: 'NodePort', clusterIP: '127.96.0.9', clusterIPs: ['127.96.0.9'], ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] } };
  const put: JsonObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'd' }, spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] } };
  const u = prepareForUpdate(put, old, svcInfo, 'main', '5');
  t.like(u['spec'] as JsonObject, { clusterIP: '127.96.0.9', clusterIPs: ['127.96.0.9'], ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] });
});

test('deletion: pods are graceful, finalizers hold objects, preconditions', (t) => {
  const pod: JsonObject = { kind: 'Pod', metadata: { name: 'p', uid: 'u', resourceVersion: '5' }, spec: { nodeName: 'n1', terminationGracePeriodSeconds: 10 }, status: { phase: 'Running' } };
  const d1 = prepareForDelete(pod, { nowMs: t0, resourceVersion: '6' });
  if (d1.action !== 'update') return t.fail();
  t.like(meta(d1.object), { deletionTimestamp: '2023-11-14T22:13:30Z', deletionGracePeriodSeconds: 10, resourceVersion: '6' });
  t.false(shouldRemoveAfterUpdate(d1.object));
  t.deepEqual(prepareForDelete(d1.object, { nowMs: t0, gracePeriodSeconds: 0, resourceVersion: '7' }).action, 'delete');
  t.deepEqual(prepareForDelete({ ...pod, spec: {} }, { nowMs: t0, resourceVersion: '6' }), { action: 'delete' }, 'unscheduled pods go at once');
  const cm: JsonObject = { kind: 'ConfigMap', metadata: { name: 'c', finalizers: ['example.com/hold'] } };
  const d2 = prepareForDelete(cm, { nowMs: t0, resourceVersion: '9' });
  if (d2.action !== 'update') return t.fail();
  t.is(meta(d2.object)['deletionTimestamp'], '2023-11-14T22:13:20Z');
  const released = removeFinalizer(d2.object, 'example.com/hold');
  t.true(shouldRemoveAfterUpdate(released));
  t.deepEqual(prepareForDelete({ kind: 'ConfigMap', metadata: { name: 'c' } }, { nowMs: t0, resourceVersion: '9' }), { action: 'delete' });
  const ns = prepareForDelete({ kind: 'Namespace', metadata: { name: 'x' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }, { nowMs: t0, resourceVersion: '2' });
  t.true(ns.action === 'update' && (ns.object['status'] as JsonObject)['phase'] === 'Terminating');
  t.is(checkPreconditions(pod, { uid: 'u' }), undefined);
  t.is(checkPreconditions(pod, { uid: 'v' }), 'Precondition failed: UID in precondition: v, UID in object meta: u');
});

test('delete options and propagation policies', (t) => {
  t.deepEqual(decodeDeleteOptions({ propagationPolicy: 'Background' }, {}), { ok: true, options: { dryRun: false, propagationPolicy: 'Background' } });
  t.deepEqual(decodeDeleteOptions({ kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: 'u' }, dryRun: ['All'] }, {}),
    { ok: true, options: { dryRun: true, gracePeriodSeconds: 0, preconditions: { uid: 'u' } } });
  t.deepEqual(decodeDeleteOptions(undefined, { gracePeriodSeconds: '5', propagationPolicy: 'Foreground' }), { ok: true, options: { dryRun: false, gracePeriodSeconds: 5, propagationPolicy: 'Foreground' } });
  t.false(decodeDeleteOptions({ propagationPolicy: 'Sideways' }, {}).ok);
  t.false(decodeDeleteOptions(undefined, { gracePeriodSeconds: 'soon' }).ok);
  const rs: JsonObject = { kind: 'ReplicaSet', metadata: { name: 'rs', uid: 'r', resourceVersion: '3' } };
  t.deepEqual(prepareForDelete(rs, { nowMs: t0, resourceVersion: '4', propagationPolicy: 'Background' }), { action: 'delete' });
  const fg = prepareForDelete(rs, { nowMs: t0, resourceVersion: '4', propagationPolicy: 'Foreground' });
  t.true(fg.action === 'update' && deepFinalizers(fg.object).includes('foregroundDeletion') && meta(fg.object)['deletionTimestamp'] !== undefined);
  const orphan = prepareForDelete(rs, { nowMs: t0, resourceVersion: '4', propagationPolicy: 'Orphan' });
  t.true(orphan.action === 'update' && deepFinalizers(orphan.object).includes('orphan'));
});

function deepFinalizers(o: JsonObject): unknown[] {
  return (meta(o)['finalizers'] as unknown[] | undefined) ?? [];
}

test('owner references', (t) => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', uid: 'r1' } };
  const ref = newControllerRef(owner);
  t.deepEqual(ref, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'r1', controller: true, blockOwnerDeletion: true });
  const pod = setOwnerReference({ metadata: { name: 'p' } }, ref);
  t.deepEqual(controllerRefOf(pod), ref);
  t.is(meta(removeOwnerReference(pod, 'r1'))['ownerReferences'], undefined);
  t.throws(() => newControllerRef({ kind: 'ReplicaSet', metadata: {} }));
});

test('field sets and fieldsV1 round trip with keyed lists', (t) => {
  const d = nginxDeployment();
  const set = fieldSetOf(d);
  const v1 = fieldSetToFieldsV1(set);
  t.deepEqual([...fieldsV1ToFieldSet(v1)].sort(), [...set].sort());
  const containers = ((((v1['f:spec'] as JsonObject)['f:template'] as JsonObject)['f:spec'] as JsonObject)['f:containers']) as JsonObject;
  t.deepEqual(Object.keys(containers), ['k:{"name":"nginx"}']);
  t.deepEqual(Object.keys(containers['k:{"name":"nginx"}'] as JsonObject).sort(), ['.', 'f:image', 'f:name', 'f:ports']);
  const ports = (containers['k:{"name":"nginx"}'] as JsonObject)['f:ports'] as JsonObject;
  t.deepEqual(Object.keys(ports), ['k:{"containerPort":80,"protocol":"TCP"}']);
  t.false(JSON.stringify(v1).includes('f:name":{}}') && JSON.stringify(v1['f:metadata']).includes('f:name'), 'metadata.name is not tracked');
  t.is(fieldPathString(['f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']), '.spec.containers[name="nginx"].image');
});

const cfg = (replicas: number, extra: JsonObject = {}): JsonObject => {
  const d = nginxDeployment();
  spec(d)['replicas'] = replicas;
  return { ...d, ...extra };
};

test('SSA: create, re-apply, conflict with another manager, force', (t) => {
  const created = serverSideApply(undefined, cfg(2, { status: { replicas: 7 } }), { manager: 'kubectl', apiVersion: 'apps/v1', force: false, time: 't1' });
  if (!created.ok) return t.fail();
  t.is(created.object['status'], undefined, 'status in an apply configuration is reset');
  t.deepEqual(managersOf(created.object).map((m) => `${m.manager}/${m.operation}`), ['kubectl/Apply']);
  // The HPA (an Update manager) scales the deployment.
  const scaled = structuredClone(created.object);
  spec(scaled)['replicas'] = 5;
  const afterScale = recordUpdate(created.object, scaled, 'hpa', 'apps/v1', '2024-01-01T00:00:00Z');
  t.deepEqual(managersOf(afterScale).find((m) => m.manager === 'hpa')?.fields, ['.spec.replicas']);
  t.false(managersOf(afterScale).find((m) => m.manager === 'kubectl')?.fields.includes('.spec.replicas'));
  const again = serverSideApply(afterScale, cfg(2), { manager: 'kubectl', apiVersion: 'apps/v1', force: false, time: 't2' });
  t.false(again.ok);
  if (again.ok) return;
  t.is(again.status.code, 409);
  t.is(again.status.reason, 'Conflict');
  t.is(again.status.message, 'Apply failed with 1 conflict: conflict with "hpa" using apps/v1 at 2024-01-01T00:00:00Z: .spec.replicas');
  t.deepEqual(again.status.details?.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "hpa" using apps/v1 at 2024-01-01T00:00:00Z', field: '.spec.replicas' }]);
  // Same value: shared ownership, no conflict.
  const same = serverSideApply(afterScale, cfg(5), { manager: 'kubectl', apiVersion: 'apps/v1', force: false, time: 't2' });
  t.true(same.ok);
  const forced = serverSideApply(afterScale, cfg(3), { manager: 'kubectl', apiVersion: 'apps/v1', force: true, time: 't3' });
  if (!forced.ok) return t.fail();
  t.is(spec(forced.object)['replicas'], 3);
  t.is(managersOf(forced.object).find((m) => m.manager === 'hpa'), undefined, 'hpa lost its only field');
});

test('SSA: multiple conflicts are grouped per manager', (t) => {
  const live = recordUpdate(undefined, cfg(2, { metadata: { name: 'nginx-deployment', labels: { a: '1' } } }), 'kubectl-client-side-apply', 'apps/v1', '');
  const entry = (meta(live)['managedFields'] as JsonObject[])[0];
  if (entry !== undefined) delete entry['time'];
  const r = serverSideApply(live, cfg(4, { metadata: { name: 'nginx-deployment', labels: { a: '2' } } }), { manager: 'kubectl', apiVersion: 'apps/v1', force: false, time: 't' });
  if (r.ok) return t.fail();
  t.is(r.status.message, 'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1\n- .metadata.labels.a\n- .spec.replicas');
});

test('SSA: fields dropped from the config are removed unless someone else owns them', (t) => {
  const base = cfg(2);
  const tmplSpec = (o: JsonObject): JsonObject => (spec(o)['template'] as JsonObject)['spec'] as JsonObject;
  tmplSpec(base)['containers'] = [{ name: 'nginx', image: 'nginx:1', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 's:1' }];
  (base['metadata'] as JsonObject)['labels'] = { keep: 'y', drop: 'x' };
  const c = serverSideApply(undefined, base, { manager: 'm', apiVersion: 'apps/v1', force: false, time: 't' });
  if (!c.ok) return t.fail();
  // Another manager edits the sidecar's image.
  const edited = structuredClone(c.object);
  ((tmplSpec(edited)['containers'] as JsonObject[])[1] as JsonObject)['image'] = 's:2';
  const live = recordUpdate(c.object, edited, 'editor', 'apps/v1', 't');
  const next = cfg(2);
  tmplSpec(next)['containers'] = [{ name: 'nginx', image: 'nginx:1' }];
  (next['metadata'] as JsonObject)['labels'] = { keep: 'y' };
  const r = serverSideApply(live, next, { manager: 'm', apiVersion: 'apps/v1', force: false, time: 't2' });
  if (!r.ok) return t.fail(r.status.message);
  t.deepEqual(meta(r.object)['labels'], { keep: 'y' });
  const cs = tmplSpec(r.object)['containers'] as JsonObject[];
  t.deepEqual(cs[0], { name: 'nginx', image: 'nginx:1' }, 'env removed');
  t.deepEqual(cs[1], { name: 'side', image: 's:2' }, 'the sidecar stays: the editor still owns its image');
  t.deepEqual(managersOf(r.object).find((m) => m.manager === 'editor')?.fields, ['.spec.template.spec.containers[name="side"].image']);
});

test('recordUpdate: creation by a manager and removal of fields', (t) => {
  const created = recordUpdate(undefined, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: 'b' } }, data: { k: 'v' } }, 'kubectl-create', 'v1', 't');
  t.deepEqual(managersOf(created), [{ manager: 'kubectl-create', operation: 'Update', fields: ['.data.k', '.metadata.labels.a'] }]);
  const removed = structuredClone(created);
  delete removed['data'];
  const after = recordUpdate(created, removed, 'kubectl-edit', 'v1', 't2');
  t.deepEqual(managersOf(after), [{ manager: 'kubectl-create', operation: 'Update', fields: ['.metadata.labels.a'] }]);
});

test('SSA: two appliers share a field; it survives until the last one lets go', (t) => {
  const cm = (data: JsonObject): JsonObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'd' }, data });
  const p = (manager: string): { manager: string; apiVersion: string; force: boolean; time: string } => ({ manager, apiVersion: 'v1', force: false, time: 't' });
  const a = serverSideApply(undefined, cm({ shared: 'x', onlyA: '1' }), p('a'));
  if (!a.ok) return t.fail();
  const b = serverSideApply(a.object, cm({ shared: 'x', onlyB: '2' }), p('b'));
  if (!b.ok) return t.fail(b.status.message);
  t.deepEqual(b.object['data'], { shared: 'x', onlyA: '1', onlyB: '2' });
  const aDrops = serverSideApply(b.object, cm({ onlyA: '1' }), p('a'));
  if (!aDrops.ok) return t.fail();
  t.deepEqual(aDrops.object['data'], { shared: 'x', onlyA: '1', onlyB: '2' }, 'b still owns shared');
  const bDrops = serverSideApply(aDrops.object, cm({ onlyB: '2' }), p('b'));
  if (!bDrops.ok) return t.fail();
  t.deepEqual(bDrops.object['data'], { onlyA: '1', onlyB: '2' });
  const conflicting = serverSideApply(bDrops.object, cm({ onlyA: 'changed' }), p('b'));
  t.true(!conflicting.ok && conflicting.status.message === 'Apply failed with 1 conflict: conflict with "a": .data.onlyA', 'Apply managers are printed without "using"');
});

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
