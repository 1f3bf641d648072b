/** kube-proxy's table and endpoint choice (src/proxy/rules.ts), against Kubernetes' documented behaviour. */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { buildProxyTable, clusterIpKey, EndpointPicker, nodePortKey } from '../../src/proxy/rules.js';

function service(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'ClusterIP', ...spec } };
}

function slice(svc: string, ports: Array<Record<string, unknown>>, endpoints: Array<{ ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean }>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${svc}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4', ports,
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false }, ...(e.node === undefined ? {} : { nodeName: e.node }) })),
  };
}

const web = service('web', { clusterIP: '127.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }] });
const webSlice = slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [{ ip: '127.244.1.2', node: 'n1' }, { ip: '127.244.2.2', node: 'n2' }]);

test('a ClusterIP port maps to the ready endpoints of its slices, through the slice port of the same name (named targetPort)', (t) => {
  const table = buildProxyTable([web], [webSlice]);
  const rule = table.byClusterIp.get(clusterIpKey('TCP', '127.96.0.20', 80));
  t.truthy(rule);
  t.deepEqual(rule!.endpoints.map((e) => `${e.ip}:${e.port}@${e.nodeName}`), ['127.244.1.2:8080@n1', '127.244.2.2:8080@n2']);
  t.is(table.byClusterIp.get(clusterIpKey('UDP', '127.96.0.20', 80)), undefined, 'protocol is part of the key');
});

test('headless and ExternalName Services are not proxied', (t) => {
  const table = buildProxyTable([
    service('h', { clusterIP: 'None', ports: [{ port: 80 }] }),
    service('x', { type: 'ExternalName', externalName: 'example.com' }),
  ], [slice('h', [{ port: 80, protocol: 'TCP' }], [{ ip: '127.244.1.9' }])]);
  t.is(table.rules.length, 0);
});

test('NodePort Services get a NodePort rule; ClusterIP ones do not', (t) => {
  const np = service('np', { type: 'NodePort', clusterIP: '127.96.0.21', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }] });
  const table = buildProxyTable([np, web], []);
  t.truthy(table.byNodePort.get(nodePortKey('TCP', 30080)));
  t.is(table.byNodePort.get(nodePortKey('UDP', 30053))?.portName, 'dns');
  t.is(table.byNodePort.size, 2);
});

test('no ready endpoint: reject at once; none ready but some serving-terminating: those are used (KEP-1669)', (t) => {
  const picker = new EndpointPicker('random', new SeededPrng(1));
  const none = buildProxyTable([web], [slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [{ ip: '127.244.1.2', ready: false, serving: false }])]);
  t.deepEqual(picker.pick(none.rules[0]!, { source: 'internal', clientIp: '127.244.1.5', nodeName: 'n1', nowMs: 0 }), { kind: 'reject', reason: 'no-endpoints' });
  const terminating = buildProxyTable([web], [slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [{ ip: '127.244.1.3', ready: false, serving: true, terminating: true }])]);
  const r = picker.pick(terminating.rules[0]!, { source: 'internal', clientIp: '127.244.1.5', nodeName: 'n1', nowMs: 0 });
  t.is(r.kind === 'endpoint' ? r.endpoint.ip : r.reason, '127.244.1.3');
});

test('round robin visits every ready endpoint in turn; random uses the seeded PRNG and replays', (t) => {
  const table = buildProxyTable([web], [webSlice]);
  const rr = new EndpointPicker('round-robin', new SeededPrng(1));
  const at = (p: EndpointPicker) => { const r = p.pick(table.rules[0]!, { source: 'internal', clientIp: '127.244.1.5', nodeName: 'n1', nowMs: 0 }); return r.kind === 'endpoint' ? r.endpoint.ip : r.reason; };
  t.deepEqual([at(rr), at(rr), at(rr)], ['127.244.1.2', '127.244.2.2', '127.244.1.2']);
  const a = new EndpointPicker('random', new SeededPrng(9));
  const b = new EndpointPicker('random', new SeededPrng(9));
  const seqA = Array.from({ length: 20 }, () => at(a));
  t.deepEqual(seqA, Array.from({ length: 20 }, () => at(b)));
  t.is(new Set(seqA).size, 2, 'both endpoints are chosen');
});

test('sessionAffinity ClientIP keeps a client on one endpoint until timeoutSeconds of idleness, and only while it is usable', (t) => {
  const sticky = service('web', { clusterIP: '127.96.0.20', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  const table = buildProxyTable([sticky], [webSlice]);
  const picker = new EndpointPicker('round-robin', new SeededPrng(1));
  const at = (clientIp: string, nowMs: number, rule = table.rules[0]!) => { const r = picker.pick(rule, { source: 'internal', clientIp, nodeName: 'n1', nowMs }); return r.kind === 'endpoint' ? r.endpoint.ip : r.reason; };
  const first = at('127.244.1.5', 0);
  t.is(at('127.244.1.5', 5_000), first);
  t.is(at('127.244.1.5', 14_000), first, 'each use refreshes the timer');
  t.not(at('127.244.1.6', 14_000), first, 'another client goes round');
  // 10 s idle: the affinity is gone, round robin continues from where it was.
  const after = at('127.244.1.5', 30_000);
  t.true(after === '127.244.1.2' || after === '127.244.2.2');
  // The held endpoint disappears: the client is moved.
  const held = at('127.244.1.7', 31_000);
  const without = buildProxyTable([sticky], [slice('web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [{ ip: held === '127.244.1.2' ? '127.244.2.2' : '127.244.1.2', node: 'x' }])]);
  t.not(at('127.244.1.7', 31_500, without.rules[0]!), held);
  t.is(buildProxyTable([web], [webSlice]).rules[0]!.affinityTimeoutMs, undefined, 'sessionAffinity None');
  t.is(buildProxyTable([service('d', { clusterIP: '127.96.0.9', sessionAffinity: 'ClientIP', ports: [{ port: 1 }] })], []).rules[0]!.affinityTimeoutMs, 10_800_000, 'default 3 hours');
});

test('internalTrafficPolicy Local: pod traffic only to endpoints on this node, none there: refused even with endpoints elsewhere', (t) => {
  const local = service('web', { clusterIP: '127.96.0.20', internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  const table = buildProxyTable([local], [webSlice]);
  const picker = new EndpointPicker('random', new SeededPrng(3));
  for (let i = 0; i < 10; i++) {
    const r = picker.pick(table.rules[0]!, { source: 'internal', clientIp: '127.244.2.9', nodeName: 'n2', nowMs: 0 });
    t.is(r.kind === 'endpoint' ? r.endpoint.ip : r.reason, '127.244.2.2');
  }
  t.deepEqual(picker.pick(table.rules[0]!, { source: 'internal', clientIp: '127.244.3.9', nodeName: 'n3', nowMs: 0 }), { kind: 'reject', reason: 'no-local-endpoints' });
});

test('externalTrafficPolicy Local applies to NodePort traffic only, not to pod traffic to the ClusterIP', (t) => {
  const np = service('web', { type: 'NodePort', clusterIP: '127.96.0.20', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }] });
  const table = buildProxyTable([np], [webSlice]);
  const rule = table.byNodePort.get(nodePortKey('TCP', 30080))!;
  const picker = new EndpointPicker('round-robin', new SeededPrng(3));
  t.deepEqual(picker.pick(rule, { source: 'external', clientIp: '127.0.0.1', nodeName: 'n3', nowMs: 0 }), { kind: 'reject', reason: 'no-local-endpoints' });
  const ext = picker.pick(rule, { source: 'external', clientIp: '127.0.0.1', nodeName: 'n1', nowMs: 0 });
  t.is(ext.kind === 'endpoint' ? ext.endpoint.ip : ext.reason, '127.244.1.2');
  t.is(picker.pick(rule, { source: 'internal', clientIp: '127.244.3.1', nodeName: 'n3', nowMs: 0 }).kind, 'endpoint');
});
