// Writing an experiment as a file (src/chaos/experiment/file-write.ts): what file.ts reads back is
// the spec that was written, for every built-in experiment, every fault kind and a shrunk one.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterUnderFire } from '../../src/chaos/experiment/cluster-under-fire.js';
import { faultKinds } from '../../src/chaos/experiment/catalog.js';
import { defineExperiment, faultTarget, type ExperimentSpec, type MethodStep } from '../../src/chaos/experiment/define.js';
import { loadExperimentFile } from '../../src/chaos/experiment/file.js';
import { experimentFileText, writeExperimentFile } from '../../src/chaos/experiment/file-write.js';
import { planSchedule } from '../../src/chaos/experiment/schedule.js';
import { pinnedExperiment, pinSchedule } from '../../src/chaos/experiment/shrink.js';

const examples = fileURLToPath(new URL('../../examples/experiments/', import.meta.url));

function roundTrip(t: { teardown(fn: () => void): void }, spec: ExperimentSpec, name = 'x.yaml'): { loaded: ExperimentSpec; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pk-file-write-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { loaded: loadExperimentFile(writeExperimentFile(spec, join(dir, name), ['a comment', 'and another'])), dir };
}

test('the default experiment (cluster-under-fire) round-trips; its inline manifests become files next to it', (t) => {
  const spec = clusterUnderFire();
  const { loaded, dir } = roundTrip(t, spec, 'cuf.yaml');
  t.deepEqual(loaded, spec);
  t.deepEqual(readdirSync(dir).sort(), ['cuf.manifest-1.yaml', 'cuf.manifest-2.yaml', 'cuf.yaml']);
  t.is(readFileSync(join(dir, 'cuf.manifest-1.yaml'), 'utf8'), spec.setup.manifests[0]!);
  t.regex(readFileSync(join(dir, 'cuf.yaml'), 'utf8'), /^# a comment\n# and another\nversion: 1\.0\.0\n/);
  t.deepEqual(roundTrip(t, clusterUnderFire({ short: true })).loaded, clusterUnderFire({ short: true }));
});

test('every file in examples/experiments round-trips', (t) => {
  const files = readdirSync(examples).filter((f) => /\.(ya?ml|json)$/.test(f));
  t.true(files.length > 0);
  for (const file of files) {
    const spec = loadExperimentFile(join(examples, file));
    t.deepEqual(roundTrip(t, spec).loaded, spec, file);
  }
});

test('every fault kind, target, probe, workload and verdict round-trips; provider keys are the fields in kebab-case', (t) => {
  const method: MethodStep[] = [
    { fault: { kind: 'kill-host', target: { kind: 'random-worker' }, resetConnections: false }, afterMs: [250, 1_250], durationMs: 3_000, detectionMs: 1_234 },
    { fault: { kind: 'kill-host', target: { kind: 'host', host: 'master-2' }, resetConnections: true }, afterMs: 0, durationMs: [1_000, 2_000] },
    { fault: { kind: 'isolate-master', target: { kind: 'etcd-leader-master' } }, afterMs: 1_001, durationMs: 999 },
    { fault: { kind: 'isolate-master', target: { kind: 'majority-masters' } }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'one-way-partition', target: { kind: 'random-master' }, direction: 'inbound' }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'bridge-partition', target: { kind: 'lease-holder', component: 'scheduler' } }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'majorities-ring' }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'partition-groups', groups: [['master-1', 'master-2'], ['master-3', 'worker-1']] }, afterMs: 0, durationMs: 1_000 },
    {
      fault: { kind: 'degrade-links', target: { kind: 'minority-master' }, drop: 0.25, duplicate: 0.1, reorder: 0.5, reorderWindowMs: 30, delayMs: 40, delayJitterMs: 60, messageTypes: ['append-entries', 'vote'] },
      afterMs: 10, durationMs: 2_000,
    },
    { fault: { kind: 'pause-actor', target: { kind: 'host', host: 'worker-1' }, actor: 'kubelet' }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'kill-actor', target: { kind: 'lease-holder', component: 'controller-manager' }, actor: 'controller-manager' }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'node-not-ready', target: { kind: 'any-host' } }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'slow-node', target: { kind: 'busiest-master' }, pauseMs: 20, periodMs: 100 }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'clock-skew', target: { kind: 'random-master' }, actor: 'etcd', offsetMs: -1_500, rate: 0.5 }, afterMs: 0, durationMs: 500, background: true },
    { fault: { kind: 'disk-fault', target: { kind: 'etcd-leader-master' }, actor: 'etcd', mode: 'stall', stallMs: 200 }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'container-kill', target: { kind: 'pod', pods: { namespace: 'default', selector: 'app=nginx' } }, container: 'nginx' }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'pod-delete', target: { kind: 'pod', pods: { namespace: 'web', selector: 'app=web,tier=front' } }, gracePeriodSeconds: 5 }, afterMs: 0, durationMs: 500 },
    { fault: { kind: 'isolate-master', target: { kind: 'hosts', hosts: ['master-4', 'master-5'] } }, afterMs: 0, durationMs: 500 },
    {
      fault: {
        kind: 'chaos-mesh',
        manifest: { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'kill-one', namespace: 'web' }, spec: { action: 'pod-kill', mode: 'fixed-percent', value: '50', selector: { labelSelectors: { app: 'web' } } } },
      },
      afterMs: 0, durationMs: 500,
    },
  ];
  // Every kind of the catalog is here: a new kind fails this test until it is added (and round-trips).
  t.deepEqual([...new Set(method.map((m) => m.fault.kind))].sort(), [...faultKinds].sort());
  const spec = defineExperiment({
    name: 'everything', description: 'all of it', cluster: { masters: 5, workers: 1, profile: 'kubernetes', sabotage: ['etcd-skips-fsync', 'scheduler-skips-assume'] },
    setup: { manifests: [], waitFor: [{ kind: 'nodes-ready', count: 4 }, { kind: 'api-writable' }], timeoutMs: 45_500 },
    workloads: [
      { kind: 'api-configmaps', processes: 3, keys: 7 }, { kind: 'kv', processes: 2, keys: 4 }, { kind: 'http', service: 'default/web', processes: 1 },
      { kind: 'rollout', deployment: 'default/web', container: 'nginx', images: ['nginx:1.14.2', 'nginx:1.15'], everyMs: 4_000 },
    ],
    steadyState: [
      { kind: 'service-responds', service: 'default/web' }, { kind: 'service-responds', service: 'default/web', samples: 9, minOkRatio: 0.8 },
      { kind: 'deployments-available' }, { kind: 'api-writable', timeoutMs: 1_500 }, { kind: 'nodes-ready' },
    ],
    method,
    heal: { settleMs: 2_500 },
    verdicts: [
      { kind: 'faults-injected' }, { kind: 'acked-writes-present' }, { kind: 'api-linearizable' }, { kind: 'etcd-consistent' },
      { kind: 'service-availability', minOkRatio: 0.75 }, { kind: 'convergence', withinMs: 20_000 }, { kind: 'single-active-controller-manager' },
      { kind: 'single-active-scheduler' }, { kind: 'steady-state-restored', withinMs: 12_500 }, { kind: 'rollout-converged', withinMs: 30_000 },
      { kind: 'placement-safe' }, { kind: 'statefulset-identity' }, { kind: 'watch-guarantees' }, { kind: 'kv-linearizable' }, { kind: 'kv-acked-writes-present' },
    ],
  });
  t.deepEqual(roundTrip(t, spec).loaded, spec);
  const text = experimentFileText(spec, []);
  t.regex(text, /reset-connections: false/);
  t.regex(text, /delay-jitter-ms: 60/);
  t.regex(text, /reorder-window-ms: 30/);
  t.regex(text, /grace-period-seconds: 5/);
  t.regex(text, /target: scheduler-leader/);
  t.regex(text, /offset-ms: -1500/);
});

test('a shrunk, pinned experiment round-trips and replays the same schedule from the file', (t) => {
  const spec = clusterUnderFire();
  const schedule = planSchedule(spec.method, 11);
  const pinned = pinSchedule(schedule, [
    { step: 0, name: 's0', host: 'worker-1', startMs: 0, endMs: 1, injected: true, note: '' },
    { step: 2, name: 's2', host: 'master-1', startMs: 2, endMs: 3, injected: true, note: '' },
  ]);
  const shrunk = pinnedExperiment(spec, [pinned[0]!, { ...pinned[2]!, durationMs: 500, afterMs: 0 }], 'Shrunk from seed 11.');
  const { loaded } = roundTrip(t, shrunk, 'shrunk.yaml');
  t.deepEqual(loaded, shrunk);
  t.deepEqual(planSchedule(loaded.method, 1), planSchedule(shrunk.method, 1));
  t.deepEqual(loaded.method.map((s) => faultTarget(s.fault)), [{ kind: 'host', host: 'worker-1' }, { kind: 'host', host: 'master-1' }]);
});

test('what the format cannot say is refused with the reason, not dropped', (t) => {
  const spec = { ...clusterUnderFire(), verdicts: [{ kind: 'service-availability', minOkRatio: 0.9, minSamples: 10 }] } as const;
  t.throws(() => experimentFileText(spec, ['a.yaml', 'b.yaml']), { message: /minSamples cannot be written to an experiment file/ });
  t.throws(() => experimentFileText(clusterUnderFire(), []), { message: /2 manifests need as many paths, got 0/ });
});
