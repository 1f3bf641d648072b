import test from 'ava';
import { nodeRoles, nodeStatusString, parseIncludeObject, podStatusSummary, toTable, wantsTable } from '../../src/api/tables.js';
import { formatRfc3339 } from '../../src/api/time.js';
import type { JsonObject } from '../../src/api/types.js';
import { nginxDeployment, nginxService, t0 } from './fixtures.js';

const created = formatRfc3339(t0);
const now = t0 + 200_000;

function pod(status: JsonObject, extra: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', creationTimestamp: created, ...extra },
    spec: { nodeName: 'worker-1', containers: [{ name: 'a', image: 'i' }, { name: 'b', image: 'i' }] }, status,
  };
}
const running = (ready: boolean, restartCount = 0): JsonObject => ({ ready, restartCount, state: { running: { startedAt: created } } });
const waiting = (reason: string, restartCount = 0): JsonObject => ({ ready: false, restartCount, state: { waiting: { reason } } });
const terminated = (reason: string, exitCode: number): JsonObject => ({ ready: false, restartCount: 0, state: { terminated: { reason, exitCode } } });

test('pod STATUS like kubectl for the common states', (t) => {
  const s = (st: JsonObject, extra?: JsonObject): string => podStatusSummary(pod(st, extra), now).status;
  t.is(s({ phase: 'Pending' }), 'Pending');
  t.is(s({ phase: 'Pending', containerStatuses: [waiting('ContainerCreating'), waiting('ContainerCreating')] }), 'ContainerCreating');
  t.is(s({ phase: 'Running', containerStatuses: [running(true), running(true)] }), 'Running');
  t.is(s({ phase: 'Running', containerStatuses: [running(true), waiting('CrashLoopBackOff', 4)] }), 'CrashLoopBackOff');
  t.is(s({ phase: 'Succeeded', containerStatuses: [terminated('Completed', 0), terminated('Completed', 0)] }), 'Completed');
  t.is(s({ phase: 'Failed', containerStatuses: [terminated('Error', 1), terminated('Completed', 0)] }), 'Error');
  t.is(s({ phase: 'Failed', containerStatuses: [{ state: { terminated: { exitCode: 137 } } }] }), 'ExitCode:137');
  t.is(s({ phase: 'Running', containerStatuses: [running(true), running(true)] }, { deletionTimestamp: created }), 'Terminating');
  t.is(s({ phase: 'Succeeded' }, { deletionTimestamp: created }), 'Succeeded', 'terminal pods are not Terminating');
  t.is(s({ phase: 'Failed', reason: 'Evicted' }), 'Evicted');
  t.is(s({ phase: 'Running', containerStatuses: [running(true), terminated('Completed', 0)] }), 'NotReady');
  t.is(s({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), 'SchedulingGated');
});

test('pod init containers: Init:N/M, Init:Error, sidecars count toward READY', (t) => {
  const withInit = (st: JsonObject, sidecar = false): JsonObject => {
    const p = pod(st);
    (p['spec'] as JsonObject)['initContainers'] = [{ name: 'init1', image: 'i', ...(sidecar ? { restartPolicy: 'Always' } : {}) }, { name: 'init2', image: 'i' }];
    return p;
  };
  t.is(podStatusSummary(withInit({ phase: 'Pending', initContainerStatuses: [terminated('Completed', 0), { state: { running: {} } }] }), now).status, 'Init:1/2');
  t.is(podStatusSummary(withInit({ phase: 'Pending', initContainerStatuses: [terminated('Error', 1)] }), now).status, 'Init:Error');
  t.is(podStatusSummary(withInit({ phase: 'Pending', initContainerStatuses: [waiting('CrashLoopBackOff')] }), now).status, 'Init:CrashLoopBackOff');
  const side = podStatusSummary(withInit({ phase: 'Running', conditions: [{ type: 'Initialized', status: 'True' }],
    initContainerStatuses: [{ name: 'init1', started: true, ready: true, restartCount: 0, state: { running: {} } }, terminated('Completed', 0)],
    containerStatuses: [running(true), running(true)] }, true), now);
  t.deepEqual(side, { ready: '3/3', status: 'Running', restarts: '0' });
});

test('pod READY and RESTARTS with "(age ago)"', (t) => {
  const st = { phase: 'Running', containerStatuses: [
    { ...running(true), restartCount: 2, lastState: { terminated: { finishedAt: formatRfc3339(now - 75_000) } } },
    running(false)] };
  t.deepEqual(podStatusSummary(pod(st), now), { ready: '1/2', status: 'Running', restarts: '2 (75s ago)' });
});

test('pod table: columns, wide cells, partial object metadata, resourceVersion', (t) => {
  const p = pod({ phase: 'Running', podIP: '127.244.1.5', containerStatuses: [running(true), running(true)] });
  const table = toTable('Pod', [p], { nowMs: now, resourceVersion: '42' });
  t.is(table['kind'], 'Table');
  t.is(table['apiVersion'], 'meta.k8s.io/v1');
  t.deepEqual(table['metadata'], { resourceVersion: '42' });
  const cols = table['columnDefinitions'] as JsonObject[];
  t.deepEqual(cols.map((c) => `${String(c['name'])}:${String(c['priority'])}`), ['Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1']);
  const row = (table['rows'] as JsonObject[])[0] ?? {};
  t.deepEqual(row['cells'], ['web', '2/2', 'Running', '0', '3m20s', '127.244.1.5', 'worker-1', '<none>', '<none>']);
  t.deepEqual(row['object'], { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: p['metadata'] });
  t.deepEqual(((toTable('Pod', [p], { nowMs: now, resourceVersion: '1', includeObject: 'Object' })['rows'] as JsonObject[])[0] ?? {})['object'], p);
  t.false('object' in (((toTable('Pod', [p], { nowMs: now, resourceVersion: '1', includeObject: 'None' })['rows'] as JsonObject[])[0]) ?? {}));
  t.deepEqual(toTable('Pod', [p], { nowMs: now, resourceVersion: '1', noHeaders: true })['columnDefinitions'], []);
});

test('node STATUS and ROLES', (t) => {
  const node: JsonObject = { kind: 'Node', metadata: { name: 'master-1', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/hostname': 'master-1' } },
    spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' }, addresses: [{ type: 'InternalIP', address: '127.10.0.1' }] } };
  t.is(nodeStatusString(node), 'Ready,SchedulingDisabled');
  t.deepEqual(nodeRoles(node), ['control-plane']);
  const row = ((toTable('Node', [node], { nowMs: now, resourceVersion: '1' })['rows'] as JsonObject[])[0] ?? {})['cells'];
  t.deepEqual(row, ['master-1', 'Ready,SchedulingDisabled', 'control-plane', '3m20s', 'v1.32.0', '127.10.0.1', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  t.is(nodeStatusString({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }), 'NotReady');
  t.is(nodeStatusString({}), 'Unknown');
  t.deepEqual(nodeRoles({}), []);
});

test('deployment, service, configmap, unknown kind rows', (t) => {
  const d = { ...nginxDeployment(), metadata: { name: 'nginx-deployment', creationTimestamp: created }, status: { readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 } };
  const cells = (kind: string, o: JsonObject): unknown => ((toTable(kind, [o], { nowMs: now, resourceVersion: '1' })['rows'] as JsonObject[])[0] ?? {})['cells'];
  t.deepEqual(cells('Deployment', d), ['nginx-deployment', '1/2', 2, 1, '3m20s', 'nginx', 'nginx:1.14.2', 'app=nginx']);
  const svc: JsonObject = { ...nginxService(), metadata: { name: 'nginx', creationTimestamp: created } };
  (svc['spec'] as JsonObject)['clusterIP'] = '127.96.0.20';
  t.deepEqual(cells('Service', svc), ['nginx', 'ClusterIP', '127.96.0.20', '<none>', '80/TCP', '3m20s', 'app=nginx']);
  t.deepEqual(cells('ConfigMap', { metadata: { name: 'c', creationTimestamp: created }, data: { a: '1', b: '2' } }), ['c', 2, '3m20s']);
  const unknown = toTable('Widget', [{ metadata: { name: 'w', creationTimestamp: created } }], { nowMs: now, resourceVersion: '1' });
  t.deepEqual((unknown['columnDefinitions'] as JsonObject[]).map((c) => c['name']), ['Name', 'Created At']);
  t.deepEqual(cells('Widget', { metadata: { name: 'w', creationTimestamp: created } }), ['w', created]);
  t.deepEqual(cells('Event', { metadata: { name: 'e1', creationTimestamp: created }, involvedObject: { kind: 'Pod', name: 'web' }, type: 'Normal', reason: 'Scheduled',
    message: 'ok', source: { component: 'default-scheduler' }, firstTimestamp: created, lastTimestamp: created, count: 1 }),
  ['3m20s', 'Normal', 'Scheduled', 'pod/web', '', 'default-scheduler', 'ok', '3m20s', 1, 'e1']);
  t.deepEqual(cells('Job', { metadata: { name: 'j', creationTimestamp: created }, spec: { completions: 1, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    status: { succeeded: 1, startTime: created, completionTime: formatRfc3339(t0 + 5000), conditions: [{ type: 'Complete', status: 'True' }] } }),
  ['j', 'Complete', '1/1', '5s', '3m20s', 'c', 'busybox', '<none>']);
});

test('every table printer emits exactly one cell per column on an empty object', (t) => {
  for (const kind of ['Pod', 'Node', 'Namespace', 'Service', 'Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'Endpoints', 'EndpointSlice',
    'ConfigMap', 'Secret', 'ServiceAccount', 'Event', 'Lease', 'PodDisruptionBudget', 'PriorityClass', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding', 'HorizontalPodAutoscaler']) {
    t.notThrows(() => toTable(kind, [{ kind }], { nowMs: now, resourceVersion: '1' }), kind);
  }
});

test('Accept negotiation and includeObject', (t) => {
  t.true(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'));
  t.false(wantsTable('application/json'));
  t.is(parseIncludeObject(undefined), 'Metadata');
  t.is(parseIncludeObject('Object'), 'Object');
  t.is(parseIncludeObject('bogus'), undefined);
});
