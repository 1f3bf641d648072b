/** The kinds of issue 9 (storage, networking, flow control, admission, certificates, events.k8s.io...): defaults, validation, tables. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { applyDefaults, generateJobSelector } from '../../src/api/defaults.js';
import { decodeManifests } from '../../src/api/manifest.js';
import { lookupKind } from '../../src/api/resources.js';
import { unknownFields } from '../../src/api/schema.js';
import { toTable } from '../../src/api/tables.js';
import { formatRfc3339 } from '../../src/api/time.js';
import type { JsonObject } from '../../src/api/types.js';
import { validateCreate, validateUpdate } from '../../src/api/validation.js';
import { t0 } from './fixtures.js';

const created = formatRfc3339(t0);
const now = t0 + 90_000;
const fixture = (): JsonObject[] => {
  const r = decodeManifests(readFileSync(fileURLToPath(new URL('../fixtures/kinds.yaml', import.meta.url)), 'utf8'));
  if (!r.ok) throw new Error(r.error.message);
  return r.objects;
};
const withMeta = (o: JsonObject): JsonObject => ({ ...o, metadata: { ...(o['metadata'] as JsonObject), creationTimestamp: created } });
const cells = (o: JsonObject): unknown[] => {
  const table = toTable(String(o['kind']), [withMeta(o)], { nowMs: now, resourceVersion: '1' });
  return ((table['rows'] as JsonObject[])[0]!['cells']) as unknown[];
};
const fields = (o: JsonObject): string[] => validateCreate(applyDefaults(o)).map((c) => `${c.field}: ${c.message}`);

test('every manifest of the kinds fixture is a served kind, valid after defaulting, and prints a full table row', (t) => {
  const objects = fixture();
  t.true(objects.length >= 45);
  for (const o of objects) {
    const what = `${String(o['apiVersion'])} ${String(o['kind'])}`;
    t.truthy(lookupKind(String(o['apiVersion']), String(o['kind'])), `${what} is served`);
    // The registry generates a Job's selector from its uid before validating.
    const d = o['kind'] === 'Job' ? generateJobSelector(applyDefaults(o), 'uid-1') : applyDefaults(o);
    t.deepEqual(validateCreate(d), [], what);
    t.deepEqual(unknownFields(d), [], `${what}: no unknown fields`);
    t.notThrows(() => cells(d), what);
  }
});

test('storage tables and defaults: PV, PVC, StorageClass, CSIDriver, VolumeAttachment', (t) => {
  const pv = applyDefaults({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' },
    spec: { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], hostPath: { path: '/x' }, claimRef: { namespace: 'a', name: 'c' } },
    status: { phase: 'Bound' } });
  t.deepEqual(cells(pv), ['pv', '5Gi', 'RWO,RWX', 'Retain', 'Bound', 'a/c', '', '<unset>', '', '90s', 'Filesystem']);
  const pvc = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'a' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: 'pv', storageClassName: 'fast' },
    status: { phase: 'Bound', capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOnce'] } };
  t.deepEqual(cells(applyDefaults(pvc)), ['c', 'Bound', 'pv', '5Gi', 'RWO', 'fast', '<unset>', '90s', 'Filesystem']);
  const sc = applyDefaults({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', provisioner: 'p',
    metadata: { name: 'fast', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } });
  t.deepEqual(cells(sc), ['fast (default)', 'p', 'Delete', 'Immediate', 'false', '90s']);
  const driver = applyDefaults({ apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', metadata: { name: 'd.example.com' }, spec: { tokenRequests: [{ audience: 'a' }, { audience: 'b' }] } });
  t.deepEqual(cells(driver), ['d.example.com', true, false, false, 'a,b', false, 'Persistent', '90s']);
  t.deepEqual(fields({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv' }, spec: { accessModes: ['ReadWriteOnce', 'Sometimes'] } }), [
    'spec.accessModes: Unsupported value: "Sometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
    'spec.capacity: Required value', 'spec: Required value: must specify a volume type']);
  t.deepEqual(fields({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'a' }, spec: {} }), [
    'spec.accessModes: Required value: at least 1 access mode is required', 'spec.resources[storage]: Required value']);
  t.deepEqual(fields({ apiVersion: 'storage.k8s.io/v1', kind: 'VolumeAttachment', metadata: { name: 'va' }, spec: { source: {} } }), [
    'spec.attacher: Required value', 'spec.nodeName: Required value', 'spec.source: Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName']);
  const old = applyDefaults({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 's' }, provisioner: 'a' });
  t.deepEqual(validateUpdate({ ...old, provisioner: 'b' }, old).map((c) => c.field), ['provisioner']);
});

test('networking: Ingress hosts/ports and path rules, IngressClass parameters, NetworkPolicy defaults', (t) => {
  const backend = { service: { name: 's', port: { number: 80 } } };
  const ing = applyDefaults({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'a' },
    spec: { tls: [{ hosts: ['a.example.com'] }], rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', backend }] } }, { http: { paths: [{ path: '/b', pathType: 'Exact', backend }] } }] },
    status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }, { hostname: 'lb.example.com' }] } } });
  t.is((((ing['spec'] as JsonObject)['rules'] as JsonObject[])[0]!['http'] as { paths: JsonObject[] }).paths[0]!['pathType'], 'ImplementationSpecific');
  t.deepEqual(cells(ing), ['i', '<none>', 'a.example.com', '127.0.0.1,lb.example.com', '80, 443', '90s']);
  t.deepEqual(fields({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'i', namespace: 'a' },
    spec: { rules: [{ http: { paths: [{ path: 'rel', pathType: 'Prefix', backend: { service: { name: 's', port: {} } } }, { path: '/', pathType: 'Any', backend: {} }] } }] } }), [
    'spec.rules[0].http.paths[0].path: Invalid value: "rel": must be an absolute path',
    'spec.rules[0].http.paths[0].backend.service.port: Invalid value: {}: port name or number is required',
    'spec.rules[0].http.paths[1].pathType: Unsupported value: "Any": supported values: "Exact", "ImplementationSpecific", "Prefix"',
    'spec.rules[0].http.paths[1].backend: Invalid value: {}: one backend must be specified']);
  t.deepEqual(cells({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' },
    spec: { controller: 'x/y', parameters: { apiGroup: 'k8s.example.com', kind: 'P', name: 'p' } } }), ['c', 'x/y', 'P.k8s.example.com/p', '90s']);
  const np = applyDefaults({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'n', namespace: 'a' }, spec: { egress: [{ ports: [{ port: 53 }] }] } });
  t.deepEqual((np['spec'] as JsonObject)['policyTypes'], ['Ingress', 'Egress']);
  t.deepEqual(cells(np), ['n', '<none>', '90s']);
});

test('flow control and admission webhooks: defaults, tables, rules', (t) => {
  const pl = applyDefaults({ apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'PriorityLevelConfiguration', metadata: { name: 'p' },
    spec: { type: 'Limited', limited: { limitResponse: { type: 'Queue' } } } });
  t.deepEqual(cells(pl), ['p', 'Limited', 30, 64, 8, 50, '90s']);
  t.deepEqual(cells({ apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'PriorityLevelConfiguration', metadata: { name: 'exempt' }, spec: { type: 'Exempt', exempt: {} } }),
    ['exempt', 'Exempt', '<none>', '<none>', '<none>', '<none>', '90s']);
  t.deepEqual(fields({ apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'PriorityLevelConfiguration', metadata: { name: 'p' }, spec: { type: 'Limited' } }),
    ['spec.limited: Required value: must not be empty when type is Limited']);
  t.deepEqual(fields({ apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'FlowSchema', metadata: { name: 'f' }, spec: { matchingPrecedence: 20000 } }), [
    'spec.priorityLevelConfiguration.name: Required value', 'spec.matchingPrecedence: Invalid value: 20000: must be between 1 and 10000, inclusive']);
  const fs = applyDefaults({ apiVersion: 'flowcontrol.apiserver.k8s.io/v1', kind: 'FlowSchema', metadata: { name: 'f' }, spec: { priorityLevelConfiguration: { name: 'p' } },
    status: { conditions: [{ type: 'Dangling', status: 'False' }] } });
  t.deepEqual(cells(fs), ['f', 'p', '1000', '<none>', '90s', 'False']);
  const hook = applyDefaults({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'm' },
    webhooks: [{ name: 'a.example.com', clientConfig: { service: { namespace: 'n', name: 's' } }, sideEffects: 'None', admissionReviewVersions: ['v1'] }] });
  t.like((hook['webhooks'] as JsonObject[])[0], { failurePolicy: 'Fail', matchPolicy: 'Equivalent', timeoutSeconds: 10, reinvocationPolicy: 'Never', clientConfig: { service: { port: 443 } } });
  t.deepEqual(cells(hook), ['m', 1, '90s']);
  t.deepEqual(fields({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' }, webhooks: [{ name: 'short', clientConfig: {} }] }), [
    'webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots',
    'webhooks[0].sideEffects: Required value', 'webhooks[0].admissionReviewVersions: Required value: must specify one of v1, v1beta1',
    'webhooks[0].clientConfig: Required value: exactly one of url or service is required']);
});

test('core v1 extras, certificates, controller revisions, events.k8s.io, component statuses, api services', (t) => {
  const rc = applyDefaults({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc', namespace: 'a' },
    spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } });
  t.deepEqual((rc['spec'] as JsonObject)['selector'], { app: 'x' }, 'the selector defaults to the template labels');
  t.deepEqual(cells(rc), ['rc', 1, 0, 0, '90s', 'c', 'nginx', 'app=x']);
  t.deepEqual(fields({ ...rc, spec: { ...(rc['spec'] as JsonObject), selector: { app: 'y' } } }),
    ['spec.template.metadata.labels: Invalid value: {"app":"x"}: `selector` does not match template `labels`']);
  t.deepEqual(cells({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'a' },
    status: { hard: { pods: '10', 'limits.cpu': '2', 'requests.memory': '1Gi' }, used: { pods: '3' } } }), ['q', '90s', 'pods: 3/10, requests.memory: 0/1Gi', 'limits.cpu: 0/2']);
  t.deepEqual(fields({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', namespace: 'a' }, spec: { limits: [{ type: 'Node', max: { cpu: 'lots' } }] } }).map((f) => f.split(':')[0]),
    ['spec.limits[0].type', 'spec.limits[0].max[cpu]']);
  const csr = { apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'c' },
    spec: { request: 'eA==', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'], username: 'jane', expirationSeconds: 86400 },
    status: { conditions: [{ type: 'Approved', status: 'True' }], certificate: 'eA==' } };
  t.deepEqual(cells(csr), ['c', '90s', 'kubernetes.io/kube-apiserver-client', 'jane', '24h', 'Approved,Issued']);
  const csrCauses = fields({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'c' }, spec: { usages: ['magic'] } });
  t.deepEqual(csrCauses.slice(0, 2), ['spec.request: Required value', 'spec.signerName: Required value']);
  t.deepEqual(fields({ ...csr, status: {} }), ['spec.request: Invalid value: "<request>": PEM block type must be CERTIFICATE REQUEST']);
  t.deepEqual(fields({ ...csr, spec: { ...csr.spec, request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n').toString('base64') },
    status: { conditions: [{ type: 'Approved', status: 'True' }, { type: 'Denied', status: 'Maybe' }] } }), [
    'status.conditions[1].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
    'status.conditions: Invalid value: "Approved": Approved and Denied conditions are mutually exclusive']);
  t.regex(csrCauses[2] ?? '', /^spec\.usages\[0\]: Unsupported value: "magic": supported values: "signing", "digital signature"/);
  t.deepEqual(cells({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'ds-1', namespace: 'a',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u', controller: true }] }, revision: 3 }), ['ds-1', 'daemonset.apps/ds', 3, '90s']);
  const ev = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'a' }, eventTime: created, reportingController: 'c', reportingInstance: 'i',
    action: 'A', reason: 'R', type: 'Warning', note: 'hello ', regarding: { kind: 'Pod', name: 'p' }, series: { count: 4, lastObservedTime: created } };
  t.deepEqual(cells(ev), ['90s', 'Warning', 'R', 'pod/p', '', 'c', 'hello', '90s', 4, 'e']);
  t.deepEqual(fields({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'a' }, type: 'Odd' }), [
    'eventTime: Required value', 'reportingController: Required value', 'reportingInstance: Required value', 'action: Required value', 'reason: Required value',
    'type: Unsupported value: "Odd": supported values: "Normal", "Warning"']);
  t.deepEqual(cells({ apiVersion: 'v1', kind: 'ComponentStatus', metadata: { name: 'etcd-1' }, conditions: [{ type: 'Healthy', status: 'False', error: 'timeout' }] }),
    ['etcd-1', 'Unhealthy', '', 'timeout']);
  t.deepEqual(cells({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'v1beta1.metrics.k8s.io' },
    spec: { service: { namespace: 'kube-system', name: 'metrics-server' } }, status: { conditions: [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }] } }),
  ['v1beta1.metrics.k8s.io', 'kube-system/metrics-server', 'False (MissingEndpoints)', '90s']);
});

test('strict decoding knows the new kinds\' fields', (t) => {
  t.deepEqual(unknownFields({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 's' }, provisioner: 'p', reclaimpolicy: 'Delete' }), ['reclaimpolicy']);
  t.deepEqual(unknownFields({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { accessMode: ['ReadWriteOnce'] } }), ['spec.accessMode']);
  t.deepEqual(unknownFields({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'v' },
    webhooks: [{ name: 'a.b.c', reinvocationPolicy: 'Never' }] }), ['webhooks[0].reinvocationPolicy']);
});
