/** metrics.k8s.io as kubectl top reads it (written by the test until kubelets report usage). */
import test from 'ava';
import { startE2e } from './e2e-helpers.js';

test('kubectl top pod and top node read metrics.k8s.io PodMetrics and NodeMetrics', async (t) => {
  const e = await startE2e(['127.77.1.40']);
  t.teardown(() => e.close());
  const podMetrics = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics', metadata: { name: 'web-1', namespace: 'default' }, timestamp: '2026-12-06T00:00:00Z', window: '30s', containers: [{ name: 'nginx', usage: { cpu: '250m', memory: '64Mi' } }] };
  const nodeMetrics = { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics', metadata: { name: 'node-a' }, timestamp: '2026-12-06T00:00:00Z', window: '30s', usage: { cpu: '1500m', memory: '2Gi' } };
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { allocatable: { cpu: '4', memory: '8Gi' }, capacity: { cpu: '4', memory: '8Gi' } } };
  for (const o of [podMetrics, nodeMetrics, node]) {
    const r = await e.kubectl(['create', '-f', '-'], { input: JSON.stringify(o) });
    t.is(r.code, 0, r.stderr);
  }
  const pods = await e.kubectl(['top', 'pod', '-n', 'default']);
  t.is(pods.code, 0, pods.stderr);
  t.regex(pods.stdout, /web-1\s+250m\s+64Mi/);
  const nodes = await e.kubectl(['top', 'node']);
  t.is(nodes.code, 0, nodes.stderr);
  t.regex(nodes.stdout, /node-a\s+1500m\s+37%\s+2048Mi\s+25%/);
});
