import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { containerEnv, expandVariables, serviceLinkVariables } from '../../src/kubelet/env.js';
import { admitPod } from '../../src/kubelet/admission.js';
import { controlPlaneTaint } from '../../src/kubelet/node-status.js';
import type { ContainerSpec, PodSpec } from '../../src/kubelet/pod-spec.js';
import { containerMounts, objectData, referencedObjects, volumeContent, type VolumeSources } from '../../src/kubelet/volumes.js';

const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team', uid: 'u1', labels: { app: 'web', tier: 'front' } }, spec: { nodeName: 'worker-1', containers: [] } };
const svc = (name: string, ip: string, ports: Record<string, unknown>[]): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'team' }, spec: { clusterIP: ip, ports } });
const sources = (spec: PodSpec, o: Partial<VolumeSources> = {}): VolumeSources => ({
  pod, spec, podIp: '127.244.1.2', hostIp: '127.10.1.1', services: [], nodeAllocatable: { cpu: '4', memory: '8Gi' },
  configMap: (name) => (name === 'cfg' ? { mode: 'prod', 'index.html': '<h1>hi</h1>' } : undefined),
  secret: (name) => (name === 'creds' ? { password: 's3cret' } : undefined),
  serviceAccountToken: () => 'token-abc', ...o,
});

test('$(VAR) expansion: defined names expand, $$ escapes, unknown names stay as written (upstream expansion)', (t) => {
  t.is(expandVariables('a $(X) b $$(X) c $(Y)', { X: '1' }), 'a 1 b $(X) c $(Y)');
});

test('service link variables for each Service with a ClusterIP, docker-link style', (t) => {
  const env = serviceLinkVariables([svc('my-db', '127.96.3.4', [{ name: 'sql', port: 5432, protocol: 'TCP' }]), svc('headless', 'None', [{ port: 80 }])]);
  t.like(env, {
    MY_DB_SERVICE_HOST: '127.96.3.4', MY_DB_SERVICE_PORT: '5432', MY_DB_SERVICE_PORT_SQL: '5432', MY_DB_PORT: 'tcp://127.96.3.4:5432',
    MY_DB_PORT_5432_TCP: 'tcp://127.96.3.4:5432', MY_DB_PORT_5432_TCP_PROTO: 'tcp', MY_DB_PORT_5432_TCP_PORT: '5432', MY_DB_PORT_5432_TCP_ADDR: '127.96.3.4',
  });
  t.false(Object.keys(env).some((k) => k.startsWith('HEADLESS')));
});

test('container env: envFrom, then env in order with expansion, Downward API fields and resources, ConfigMap and Secret keys; a missing key is CreateContainerConfigError', (t) => {
  const c: ContainerSpec = {
    name: 'c', image: 'busybox', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
    envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'cfg' } }],
    env: [
      { name: 'A', value: 'x' }, { name: 'B', value: '$(A)-y' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'absent', optional: true } } },
    ],
  };
  const env = containerEnv(c, sources({ containers: [c] }));
  t.true(env.ok);
  if (!env.ok) return;
  t.like(env.env, { CFG_mode: 'prod', A: 'x', B: 'x-y', POD: 'p', IP: '127.244.1.2', TIER: 'front', MEM: '64', CPU: '250', PW: 's3cret' });
  t.false('OPT' in env.env);
  const missing = containerEnv({ name: 'c', image: 'x', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope' } } }] }, sources({ containers: [] }));
  t.deepEqual(missing, { ok: false, message: "couldn't find key nope in ConfigMap team/cfg" });
});

test('volumes: configMap items, secret, downwardAPI, projected token with CA and namespace; a missing ConfigMap is FailedMount', (t) => {
  const s = sources({ containers: [] });
  t.deepEqual(volumeContent({ name: 'v', configMap: { name: 'cfg', items: [{ key: 'index.html', path: 'site/index.html' }] } }, s), { kind: 'files', files: { 'site/index.html': '<h1>hi</h1>' } });
  t.deepEqual(volumeContent({ name: 'v', secret: { secretName: 'creds' } }, s), { kind: 'files', files: { password: 's3cret' } });
  t.deepEqual(volumeContent({ name: 'v', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } }, s), { kind: 'files', files: { labels: 'app="web"\ntier="front"' } });
  const projected = volumeContent({ name: 'kube-api-access-x', projected: { sources: [
    { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }, { configMap: { name: 'cfg', items: [{ key: 'mode', path: 'ca.crt' }] } },
    { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
  ] } }, s);
  t.deepEqual(projected, { kind: 'files', files: { token: 'token-abc', 'ca.crt': 'prod', namespace: 'team' } });
  t.like(volumeContent({ name: 'v', configMap: { name: 'gone' } }, s), { kind: 'error', reason: 'FailedMount', message: 'MountVolume.SetUp failed for volume "v" : configmap "gone" not found' });
  t.like(volumeContent({ name: 'v', hostPath: { path: '/etc' } }, s), { kind: 'error', reason: 'FailedMount' });
  t.deepEqual(volumeContent({ name: 'v', emptyDir: {} }, s), { kind: 'dir' });
});

test('referenced objects, mounts with subPath, and ConfigMap/Secret data decoding', (t) => {
  const spec: PodSpec = {
    volumes: [{ name: 'a', configMap: { name: 'cfg' } }, { name: 'b', secret: { secretName: 'creds' } }],
    containers: [{ name: 'c', image: 'x', env: [{ name: 'K', valueFrom: { configMapKeyRef: { name: 'other', key: 'k' } } }], volumeMounts: [{ name: 'a', mountPath: '/etc/cfg', readOnly: true }, { name: 'b', mountPath: '/pw', subPath: 'password' }] }],
  };
  const refs = referencedObjects(spec);
  t.deepEqual([...refs.configMaps].sort(), ['cfg', 'other']);
  t.deepEqual([...refs.secrets], ['creds']);
  t.deepEqual(containerMounts(spec.containers[0]!, (v) => `/node/pods/u1/volumes/${v}`), [
    { containerPath: '/etc/cfg', hostPath: '/node/pods/u1/volumes/a', readonly: true },
    { containerPath: '/pw', hostPath: '/node/pods/u1/volumes/b/password', readonly: false },
  ]);
  t.deepEqual(objectData({ data: { k: Buffer.from('v').toString('base64') } }, 'Secret'), { k: 'v' });
});

test('kubelet admission: node selector, untolerated NoExecute taints and resources reject with upstream reasons', (t) => {
  const node = { labels: { disk: 'ssd' }, taints: [controlPlaneTaint], allocatable: { cpu: '1', memory: '1Gi', pods: '2' } };
  const small: PodSpec = { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '600m' } } }] };
  t.deepEqual(admitPod(small, node, []), { admit: true });
  t.like(admitPod({ ...small, nodeSelector: { disk: 'hdd' } }, node, []), { admit: false, reason: 'NodeAffinity' });
  t.like(admitPod(small, node, [small]), { admit: false, reason: 'OutOfcpu' });
  t.like(admitPod({ containers: [{ name: 'c', image: 'x' }] }, node, [{ containers: [] }, { containers: [] }]), { admit: false, reason: 'OutOfpods' });
  t.like(admitPod(small, { ...node, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }, []), { admit: false, reason: 'Taint' });
  t.deepEqual(admitPod({ ...small, tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }] }, { ...node, taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }, []), { admit: true });
});
