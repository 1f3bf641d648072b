import test from 'ava';
import { applyDefaults, defaultImagePullPolicy, generateJobSelector } from '../../src/api/defaults.js';
import { unknownFields } from '../../src/api/schema.js';
import { strictDecodingError } from '../../src/api/status.js';
import type { JsonObject } from '../../src/api/types.js';
import { invalidStatus, validateCreate, validateUpdate } from '../../src/api/validation.js';
import { nginxDeployment, nginxService } from './fixtures.js';

const withNs = (o: JsonObject, ns = 'default'): JsonObject => ({ ...o, metadata: { ...(o['metadata'] as JsonObject), namespace: ns } });

function pod(spec: JsonObject, name = 'p'): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec };
}

test('image pull policy follows the tag', (t) => {
  t.is(defaultImagePullPolicy('nginx'), 'Always');
  t.is(defaultImagePullPolicy('nginx:latest'), 'Always');
  t.is(defaultImagePullPolicy('nginx:1.14.2'), 'IfNotPresent');
  t.is(defaultImagePullPolicy('localhost:5000/nginx'), 'Always');
  t.is(defaultImagePullPolicy('localhost:5000/nginx:1'), 'IfNotPresent');
  t.is(defaultImagePullPolicy('nginx@sha256:abc'), 'IfNotPresent');
});

test('deployment defaults, including its pod template', (t) => {
  const d = applyDefaults(nginxDeployment());
  const spec = d['spec'] as JsonObject;
  t.is(spec['replicas'], 2, 'explicit replicas kept');
  t.deepEqual(spec['strategy'], { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  t.is(spec['revisionHistoryLimit'], 10);
  t.is(spec['progressDeadlineSeconds'], 600);
  const ps = (spec['template'] as JsonObject)['spec'] as JsonObject;
  t.is(ps['restartPolicy'], 'Always');
  t.is(ps['dnsPolicy'], 'ClusterFirst');
  t.is(ps['terminationGracePeriodSeconds'], 30);
  t.is(ps['schedulerName'], 'default-scheduler');
  t.is(ps['serviceAccountName'], 'default');
  t.is(ps['enableServiceLinks'], true);
  // Not defaulted on templates (Priority admission sets it on each pod from its class, as upstream).
  t.is(ps['priority'], undefined);
  const c = (ps['containers'] as JsonObject[])[0] ?? {};
  t.is(c['imagePullPolicy'], 'IfNotPresent');
  t.is(c['terminationMessagePath'], '/dev/termination-log');
  t.is(c['terminationMessagePolicy'], 'File');
  t.deepEqual(c['ports'], [{ containerPort: 80, protocol: 'TCP' }]);
  const noReplicas = applyDefaults({ ...nginxDeployment(), spec: { ...(nginxDeployment()['spec'] as JsonObject), replicas: undefined } });
  t.is((noReplicas['spec'] as JsonObject)['replicas'], 1);
  t.deepEqual(applyDefaults({ kind: 'Deployment', spec: { strategy: { type: 'Recreate' }, template: { spec: {} } } })['spec'] !== undefined, true);
  t.deepEqual(((applyDefaults({ kind: 'Deployment', spec: { strategy: { type: 'Recreate' } } })['spec'] as JsonObject)['strategy']), { type: 'Recreate' });
});

test('service, secret, namespace, job, pod resource defaults', (t) => {
  const s = applyDefaults(nginxService())['spec'] as JsonObject;
  t.is(s['type'], 'ClusterIP');
  t.is(s['sessionAffinity'], 'None');
  t.deepEqual(s['ports'], [{ port: 80, targetPort: 80, protocol: 'TCP' }]);
  const s2 = applyDefaults({ kind: 'Service', spec: { ports: [{ port: 8080 }] } })['spec'] as JsonObject;
  t.deepEqual(s2['ports'], [{ port: 8080, targetPort: 8080, protocol: 'TCP' }]);
  t.is(applyDefaults({ kind: 'Secret' })['type'], 'Opaque');
  const ns = applyDefaults({ kind: 'Namespace', metadata: { name: 'foo' } });
  t.deepEqual((ns['metadata'] as JsonObject)['labels'], { 'kubernetes.io/metadata.name': 'foo' });
  const job = applyDefaults({ kind: 'Job', spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } } });
  t.like(job['spec'] as JsonObject, { completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false });
  const sel = generateJobSelector({ kind: 'Job', metadata: { name: 'j' }, spec: { template: {} } }, 'uid-1');
  t.deepEqual((sel['spec'] as JsonObject)['selector'], { matchLabels: { 'batch.kubernetes.io/controller-uid': 'uid-1' } });
  const p = applyDefaults(pod({ containers: [{ name: 'c', image: 'busybox', resources: { limits: { cpu: '1' } } }] }));
  const c = ((p['spec'] as JsonObject)['containers'] as JsonObject[])[0] ?? {};
  t.deepEqual(c['resources'], { limits: { cpu: '1' }, requests: { cpu: '1' } });
  t.is(c['imagePullPolicy'], 'Always');
});

test('valid fixtures produce no causes after defaulting', (t) => {
  t.deepEqual(validateCreate(applyDefaults(withNs(nginxDeployment()))), []);
  t.deepEqual(validateCreate(applyDefaults(withNs(nginxService()))), []);
  t.deepEqual(validateCreate(applyDefaults(pod({ containers: [{ name: 'c', image: 'busybox' }] }))), []);
});

test('pod validation causes carry Kubernetes field paths', (t) => {
  const causes = validateCreate(pod({
    restartPolicy: 'Sometimes',
    volumes: [{ name: 'data' }],
    containers: [
      { name: 'Bad_Name', image: '', ports: [{ containerPort: 70000, protocol: 'HTTP' }] },
      { name: 'x', image: 'i', resources: { requests: { cpu: '2', memory: '1Zi' }, limits: { cpu: '1' } }, volumeMounts: [{ name: 'nope', mountPath: '/m' }] },
      { name: 'x', image: 'i' },
    ],
  }));
  const byField = (f: string): string[] => causes.filter((c) => c.field === f).map((c) => c.type);
  t.deepEqual(byField('spec.containers[0].name'), ['FieldValueInvalid']);
  t.deepEqual(byField('spec.containers[0].image'), ['FieldValueRequired']);
  t.deepEqual(byField('spec.containers[0].ports[0].containerPort'), ['FieldValueInvalid']);
  t.deepEqual(byField('spec.containers[0].ports[0].protocol'), ['FieldValueNotSupported']);
  t.deepEqual(byField('spec.containers[1].resources.requests[memory]'), ['FieldValueInvalid']);
  t.deepEqual(byField('spec.containers[1].resources.requests'), ['FieldValueInvalid']);
  t.deepEqual(byField('spec.containers[1].volumeMounts[0].name'), ['FieldValueNotFound']);
  t.deepEqual(byField('spec.containers[2].name'), ['FieldValueDuplicate']);
  t.deepEqual(byField('spec.restartPolicy'), ['FieldValueNotSupported']);
  const proto = causes.find((c) => c.field === 'spec.containers[0].ports[0].protocol');
  t.is(proto?.message, 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
  t.is(causes.find((c) => c.field === 'spec.containers[0].ports[0].containerPort')?.message, 'Invalid value: 70000: must be between 1 and 65535, inclusive');
  t.deepEqual(validateCreate(pod({})).map((c) => `${c.field}: ${c.message}`), ['spec.containers: Required value']);
});

test('metadata: names, labels, namespace scope', (t) => {
  const causes = validateCreate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid', labels: { 'bad key!': 'v', ok: 'bad value!' } } });
  t.deepEqual(causes.map((c) => c.field), ['metadata.name', 'metadata.namespace', 'metadata.labels', 'metadata.labels']);
  t.is(causes[1]?.type, 'FieldValueRequired');
  const node = validateCreate({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', namespace: 'x' } });
  t.deepEqual(node.map((c) => `${c.field}: ${c.message}`), ['metadata.namespace: Forbidden: not allowed on this type']);
  const svc = validateCreate(applyDefaults(withNs({ ...nginxService(), metadata: { name: '1abc' } })));
  t.is(svc[0]?.field, 'metadata.name', 'service names are DNS-1035 labels');
  t.deepEqual(validateCreate({ apiVersion: 'v1', kind: 'Namespace', metadata: { generateName: 'x-' } }), []);
});

test('workload selector must match template labels; Invalid status wording', (t) => {
  const d = withNs(nginxDeployment());
  ((d['spec'] as JsonObject)['selector'] as JsonObject)['matchLabels'] = { app: 'other' };
  const causes = validateCreate(applyDefaults(d));
  t.deepEqual(causes.map((c) => c.field), ['spec.template.metadata.labels']);
  const st = invalidStatus(d, causes);
  t.is(st.code, 422);
  t.is(st.reason, 'Invalid');
  t.is(st.message, 'Deployment.apps "nginx-deployment" is invalid: spec.template.metadata.labels: Invalid value: {"app":"nginx"}: `selector` does not match template `labels`');
  t.is(st.details?.group, 'apps');
  t.is(st.details?.causes?.[0]?.reason, 'FieldValueInvalid');
  const job = applyDefaults(withNs({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'i' }] } } } }));
  t.deepEqual(validateCreate(job).map((c) => c.field), ['spec.template.spec.restartPolicy']);
  const multi = invalidStatus(job, [...validateCreate(job), ...validateCreate(job)]);
  t.true(multi.message.includes(': [spec.template.spec.restartPolicy: Unsupported value'));
});

test('update immutables: deployment selector, service clusterIP, pod spec, metadata', (t) => {
  const old = applyDefaults(withNs(nginxDeployment()));
  const changed = structuredClone(old);
  ((changed['spec'] as JsonObject)['selector'] as JsonObject)['matchLabels'] = { app: 'nginx', v: '2' };
  ((((changed['spec'] as JsonObject)['template'] as JsonObject)['metadata']) as JsonObject)['labels'] = { app: 'nginx', v: '2' };
  t.deepEqual(validateUpdate(changed, old).map((c) => `${c.field}: ${c.message.split(':')[0]}`), ['spec.selector: Invalid value']);
  const svcOld = applyDefaults(withNs(nginxService()));
  (svcOld['spec'] as JsonObject)['clusterIP'] = '127.96.0.5';
  const svcNew = structuredClone(svcOld);
  (svcNew['spec'] as JsonObject)['clusterIP'] = '127.96.0.6';
  t.deepEqual(validateUpdate(svcNew, svcOld).map((c) => c.field), ['spec.clusterIP']);
  const p = applyDefaults(pod({ containers: [{ name: 'c', image: 'a:1' }], tolerations: [{ key: 'a', operator: 'Exists' }] }));
  const imageOnly = structuredClone(p);
  (((imageOnly['spec'] as JsonObject)['containers'] as JsonObject[])[0] as JsonObject)['image'] = 'a:2';
  ((imageOnly['spec'] as JsonObject)['tolerations'] as JsonObject[]).push({ key: 'b', operator: 'Exists' });
  t.deepEqual(validateUpdate(imageOnly, p), []);
  const other = structuredClone(p);
  (other['spec'] as JsonObject)['restartPolicy'] = 'Never';
  t.deepEqual(validateUpdate(other, p).map((c) => `${c.field}:${c.type}`), ['spec:FieldValueForbidden']);
  const renamed = structuredClone(p);
  (renamed['metadata'] as JsonObject)['uid'] = 'other';
  t.deepEqual(validateUpdate(renamed, p).map((c) => c.field), ['metadata.uid']);
});

test('strict field validation lists unknown fields with paths', (t) => {
  const d = nginxDeployment();
  (d['spec'] as JsonObject)['replicaz'] = 3;
  const ps = ((d['spec'] as JsonObject)['template'] as JsonObject)['spec'] as JsonObject;
  (((ps['containers'] as JsonObject[])[0]) as JsonObject)['imagee'] = 'x';
  ((((ps['containers'] as JsonObject[])[0]) as JsonObject)['ports'] as JsonObject[]).push({ containerPort: 81, portt: 1 });
  (d['metadata'] as JsonObject)['lables'] = {};
  const unknown = unknownFields(d);
  t.deepEqual(unknown, ['metadata.lables', 'spec.replicaz', 'spec.template.spec.containers[0].imagee', 'spec.template.spec.containers[0].ports[1].portt']);
  t.is(strictDecodingError(['spec.foo']).message, 'strict decoding error: unknown field "spec.foo"');
  t.deepEqual(unknownFields(nginxService()), []);
  t.deepEqual(unknownFields({ apiVersion: 'v1', kind: 'Service', spec: { foo: 1, ports: [{ port: 1, bar: 2 }] } }), ['spec.foo', 'spec.ports[0].bar']);
  t.deepEqual(unknownFields({ apiVersion: 'example.com/v1', kind: 'Widget', spec: { anything: 1 } }), []);
  t.deepEqual(unknownFields({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' }, extra: 1 }), ['extra']);
});
