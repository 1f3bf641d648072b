/** Experiment files (src/chaos/experiment/file.ts): the example parses to the spec it says; bad files name the line and the field. */
import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinExperimentDir, ExperimentFileError, loadExperimentDir, loadExperimentFile, parseExperimentFile } from '../../src/chaos/experiment/file.js';
import { findExperiment, registerBuiltinExperimentFiles } from '../../src/chaos/experiments.js';

const example = fileURLToPath(new URL('../../examples/experiments/worker-death-eviction.yaml', import.meta.url));

test('examples/experiments/worker-death-eviction.yaml: the cluster, manifests read from disk, probes with tolerances, the method in milliseconds, verdicts', (t) => {
  const spec = loadExperimentFile(example);
  t.is(spec.name, 'worker-death-eviction');
  t.deepEqual(spec.cluster, { masters: 3, workers: 2, profile: 'fast' });
  t.is(spec.setup.manifests.length, 2);
  t.regex(spec.setup.manifests[0]!, /kind: Deployment/);
  t.deepEqual(spec.steadyState, [{ kind: 'service-responds', service: 'default/nginx', samples: 5, minOkRatio: 1 }, { kind: 'deployments-available' }]);
  t.deepEqual(spec.method, [{ fault: { kind: 'kill-host', target: { kind: 'random-worker' } }, afterMs: [500, 1500], durationMs: 8000, detectionMs: 5000 }]);
  t.deepEqual(spec.verdicts, [{ kind: 'faults-injected' }, { kind: 'service-availability', minOkRatio: 0.9 }, { kind: 'convergence', withinMs: 30_000 }, { kind: 'steady-state-restored', withinMs: 30_000 }]);
});

test('a bad file: every problem with its line and field, and the spec checks too; JSON works the same', (t) => {
  const bad = [
    'title: Bad Name',
    'configuration:',
    '  cluster: { workers: 0, colour: red }',
    'method:',
    '  - type: action',
    '    name: kill-host',
    '    provider: { target: random }',
    '    duration: 5',
    '  - { type: probe, name: x }',
    'rollbacks: [{ name: undo }]',
    'verdicts: [convergence]',
  ].join('\n');
  const error = t.throws(() => parseExperimentFile(bad, 'bad.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.deepEqual(error.problems, [
    'bad.yaml:3: configuration.cluster.colour: unknown field (expected one of masters, workers, profile, sabotage)',
    'bad.yaml:10: rollbacks: must be empty: every action heals itself after its duration (kill-host restarts the host, isolate-master removes the partition)',
    'bad.yaml:7: method[0].provider.target: unknown target "random" (expected etcd-leader-master, minority-master, majority-masters, random-master, random-worker, any-host, controller-manager-leader, scheduler-leader, busiest-master, a host such as worker-1, a list of hosts, or { pod: { namespace, selector } })',
    'bad.yaml:9: method[1].type: probes in the method are not supported: put them in steady-state-hypothesis',
    'bad.yaml:11: verdicts[0].convergence: expected a number, got nothing',
  ]);
  const json = JSON.stringify({ title: 'ok-name', method: [{ type: 'action', name: 'isolate-master', provider: { target: 'minority-master' }, duration: 3 }], verdicts: ['faults-injected'] });
  t.like(parseExperimentFile(json, 'x.json', '/'), { name: 'ok-name', method: [{ fault: { kind: 'isolate-master', target: { kind: 'minority-master' } }, afterMs: 0, durationMs: 3000 }] });
  const unparsable = t.throws(() => parseExperimentFile('title: [unclosed', 'y.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.regex(unparsable.problems[0]!, /^y\.yaml:1: /);
  const specProblem = t.throws(() => parseExperimentFile('title: Upper\nmethod: [{ type: action, name: kill-host, provider: { target: master-1 }, duration: 1 }]\nverdicts: [faults-injected]', 'z.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.regex(specProblem.problems[0]!, /^z\.yaml:1: name must be lower-case letters/);
});

test('degrade-links and pause-actor actions: parsed with their parameters; a degradation of nothing and a bad probability are refused', (t) => {
  const yaml = [
    'title: flaky-links',
    'method:',
    '  - { type: action, name: degrade-links, provider: { target: minority-master, drop: 0.3, delay-ms: 50, delay-jitter-ms: 100 }, duration: 4 }',
    '  - { type: action, name: pause-actor, provider: { target: etcd-leader-master, actor: scheduler }, duration: 2 }',
    'verdicts: [faults-injected]',
  ].join('\n');
  t.deepEqual(parseExperimentFile(yaml, 'f.yaml', '/').method.map((m) => m.fault), [
    { kind: 'degrade-links', target: { kind: 'minority-master' }, drop: 0.3, delayMs: 50, delayJitterMs: 100 },
    { kind: 'pause-actor', target: { kind: 'etcd-leader-master' }, actor: 'scheduler' },
  ]);
  const nothing = t.throws(() => parseExperimentFile('title: x\nmethod: [{ type: action, name: degrade-links, provider: { target: master-1 }, duration: 1 }]\nverdicts: [faults-injected]', 'g.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.regex(nothing.problems.join('\n'), /g\.yaml:2: method\[0\]: fault degrades nothing: give drop, duplicate, reorder or delay-ms/);
  const probability = t.throws(() => parseExperimentFile('title: x\nmethod: [{ type: action, name: degrade-links, provider: { target: master-1, drop: 2 }, duration: 1 }]\nverdicts: [faults-injected]', 'h.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.regex(probability.problems.join('\n'), /method\[0\]\.provider\.drop: expected a probability from 0 to 1, not 2/);
});

test('every fault kind reads from a file with its parameters under kebab-case keys; each bad parameter is named with its line', (t) => {
  const yaml = [
    'title: all-faults',
    'configuration: { cluster: { masters: 5, workers: 2 } }',
    'method:',
    '  - { type: action, name: one-way-partition, provider: { target: scheduler-leader, direction: inbound }, duration: 1 }',
    '  - { type: action, name: bridge-partition, provider: { target: random-master }, duration: 1 }',
    '  - { type: action, name: majorities-ring, duration: 1 }',
    '  - { type: action, name: partition-groups, provider: { groups: [[master-1, worker-1], [master-2]] }, duration: 1 }',
    '  - { type: action, name: kill-host, provider: { target: majority-masters }, duration: 1 }',
    '  - { type: action, name: kill-actor, provider: { target: [master-1, master-2], actor: etcd }, duration: 1 }',
    '  - { type: action, name: node-not-ready, provider: { target: { pod: { selector: app=nginx } } }, duration: 1 }',
    '  - { type: action, name: slow-node, provider: { target: any-host, pause-ms: 50, period-ms: 200 }, duration: 1 }',
    '  - { type: action, name: container-kill, provider: { target: { pod: { namespace: web, selector: app=nginx } }, container: nginx }, duration: 1 }',
    '  - { type: action, name: pod-delete, provider: { target: { pod: { selector: app=nginx } }, grace-period-seconds: 5 }, duration: 1 }',
    '  - { type: action, name: degrade-links, provider: { target: busiest-master, reorder: 0.5, reorder-window-ms: 20, message-types: [append] }, duration: 1 }',
    '  - type: action',
    '    name: chaos-mesh',
    '    duration: 1',
    '    provider:',
    '      manifest:',
    '        apiVersion: chaos-mesh.org/v1alpha1',
    '        kind: PodChaos',
    '        metadata: { name: kill-one }',
    '        spec: { action: pod-kill, mode: one, selector: { labelSelectors: { app: nginx } } }',
    'verdicts: [faults-injected]',
  ].join('\n');
  const pod = { kind: 'pod', pods: { namespace: 'default', selector: 'app=nginx' } };
  t.deepEqual(parseExperimentFile(yaml, 'all.yaml', '/').method.map((m) => m.fault), [
    { kind: 'one-way-partition', target: { kind: 'lease-holder', component: 'scheduler' }, direction: 'inbound' },
    { kind: 'bridge-partition', target: { kind: 'random-master' } },
    { kind: 'majorities-ring' },
    { kind: 'partition-groups', groups: [['master-1', 'worker-1'], ['master-2']] },
    { kind: 'kill-host', target: { kind: 'majority-masters' } },
    { kind: 'kill-actor', target: { kind: 'hosts', hosts: ['master-1', 'master-2'] }, actor: 'etcd' },
    { kind: 'node-not-ready', target: pod },
    { kind: 'slow-node', target: { kind: 'any-host' }, pauseMs: 50, periodMs: 200 },
    { kind: 'container-kill', target: { kind: 'pod', pods: { namespace: 'web', selector: 'app=nginx' } }, container: 'nginx' },
    { kind: 'pod-delete', target: pod, gracePeriodSeconds: 5 },
    { kind: 'degrade-links', target: { kind: 'busiest-master' }, reorder: 0.5, reorderWindowMs: 20, messageTypes: ['append'] },
    { kind: 'chaos-mesh', manifest: { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'kill-one' }, spec: { action: 'pod-kill', mode: 'one', selector: { labelSelectors: { app: 'nginx' } } } } },
  ]);
  const bad = [
    'title: bad-faults',
    'method:',
    '  - { type: action, name: one-way-partition, provider: { target: master-1, direction: sideways }, duration: 1 }',
    '  - { type: action, name: majorities-ring, duration: 1 }',
    '  - { type: action, name: slow-node, provider: { target: worker-1, pause-ms: 300, period-ms: 200 }, duration: 1 }',
    '  - { type: action, name: pod-delete, provider: { target: worker-1 }, duration: 1 }',
    '  - { type: action, name: partition-groups, provider: { groups: [[master-1], [worker-7]] }, duration: 1 }',
    '  - { type: action, name: kill-actor, provider: { target: master-1 }, duration: 1 }',
    'verdicts: [faults-injected]',
  ].join('\n');
  const problems = t.throws(() => parseExperimentFile(bad, 'bad.yaml', '/'), { instanceOf: ExperimentFileError })!.problems;
  t.deepEqual(problems, ['bad.yaml:3: method[0].provider.direction: expected outbound or inbound, not "sideways"']);
  const fixedFirst = bad.replace('sideways', 'outbound');
  t.deepEqual(t.throws(() => parseExperimentFile(fixedFirst, 'bad.yaml', '/'), { instanceOf: ExperimentFileError })!.problems, [
    'bad.yaml:4: method[1]: fault: a majorities ring needs 5 masters (with 3 every master reaches all the others); set cluster.masters to 5',
    'bad.yaml:5: method[2]: fault.pauseMs must be shorter than periodMs (300 >= 200): a node paused all the time is a paused node',
    'bad.yaml:6: method[3]: fault.target must be a pod selector ({ pod: { namespace, selector } }) for pod-delete',
    'bad.yaml:7: method[4]: fault.groups: this cluster has no host "worker-7"',
    'bad.yaml:8: method[5]: fault.actor is required',
  ]);
});

test('a chaos-mesh action takes a Chaos Mesh file unchanged by its path (relative to the experiment); a wrong kind, a second document or a cluster without workers is refused with the line', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-mesh-'));
  writeFileSync(join(dir, 'kill.yaml'), 'apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata:\n  name: kill-one\n  namespace: default\nspec:\n  action: pod-kill\n  mode: one\n  selector:\n    labelSelectors:\n      app: nginx\n');
  writeFileSync(join(dir, 'network.yaml'), 'apiVersion: chaos-mesh.org/v1alpha1\nkind: StressChaos\nmetadata:\n  name: net\nspec:\n  mode: one\n');
  writeFileSync(join(dir, 'two.yaml'), 'apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: { name: a }\nspec: {}\n---\nkind: PodChaos\n');
  const file = (manifest: string, workers = 1) => `title: mesh\nconfiguration: { cluster: { workers: ${workers} } }\nmethod:\n  - { type: action, name: chaos-mesh, provider: { manifest: ${manifest} }, duration: 5 }\nverdicts: [faults-injected]\n`;
  const spec = parseExperimentFile(file('kill.yaml'), join(dir, 'mesh.yaml'));
  t.deepEqual(spec.method[0]!.fault, {
    kind: 'chaos-mesh',
    manifest: { apiVersion: 'chaos-mesh.org/v1alpha1', kind: 'PodChaos', metadata: { name: 'kill-one', namespace: 'default' }, spec: { action: 'pod-kill', mode: 'one', selector: { labelSelectors: { app: 'nginx' } } } },
  });
  const problems = (text: string) => t.throws(() => parseExperimentFile(text, 'mesh.yaml', dir), { instanceOf: ExperimentFileError })!.problems;
  t.deepEqual(problems(file('network.yaml')), ['mesh.yaml:4: method[0].provider.manifest: expected a PodChaos, NetworkChaos or Schedule (the Chaos Mesh kinds this cluster serves), not "StressChaos"']);
  t.regex(problems(file('two.yaml'))[0]!, /^mesh\.yaml:4: method\[0\]\.provider\.manifest: .*two\.yaml must hold one YAML or JSON document, not 2$/);
  t.regex(problems(file('missing.yaml'))[0]!, /^mesh\.yaml:4: method\[0\]\.provider\.manifest: cannot read .*missing\.yaml/);
  t.deepEqual(problems(file('kill.yaml', 0)), ['mesh.yaml:4: method[0]: fault: Chaos Mesh objects act on pods, which need cluster.workers >= 1 (the Chaos Mesh controllers run only in a cluster with nodes)']);
});

test('the built-in experiment files: each loads and is valid, is titled after its file, says how to run it, and is registered once under its title', (t) => {
  const dir = builtinExperimentDir();
  t.truthy(dir, 'examples/experiments is found from the module');
  const loaded = loadExperimentDir(dir!);
  t.deepEqual(loaded.map(({ spec }) => spec.name), [
    'chaos-mesh-pod-kill', 'clock-skew-lease-holder', 'controller-manager-split-brain', 'crash-lose-unsynced-wal', 'flapping-links', 'kill-etcd-leader',
    'lose-quorum-and-recover', 'majorities-ring', 'partition-leader', 'rolling-update-under-chaos', 'worker-death-eviction',
  ]);
  for (const { file, spec } of loaded) {
    t.is(basename(file), `${spec.name}.yaml`);
    t.regex(readFileSync(file, 'utf8'), new RegExp(`npx pocketkube chaos run (examples/experiments/)?${spec.name}(\\.yaml)? --seed \\d+`), `${spec.name} says how to run it`);
  }
  const first = registerBuiltinExperimentFiles(dir);
  t.deepEqual(registerBuiltinExperimentFiles(dir), first, 'registering again changes nothing');
  for (const { name } of first) t.is(findExperiment(name)?.spec?.name, name);
});
