/** Experiment files (src/chaos/experiment/file.ts): the example parses to the spec it says; bad files name the line and the field. */
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { ExperimentFileError, loadExperimentFile, parseExperimentFile } from '../../src/chaos/experiment/file.js';

const example = fileURLToPath(new URL('../../examples/experiments/worker-death.yaml', import.meta.url));

test('examples/experiments/worker-death.yaml: the cluster, manifests read from disk, probes with tolerances, the method in milliseconds, verdicts', (t) => {
  const spec = loadExperimentFile(example);
  t.is(spec.name, 'worker-death');
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
    'bad.yaml:3: configuration.cluster.colour: unknown field (expected one of masters, workers, profile)',
    'bad.yaml:10: rollbacks: must be empty: every action heals itself after its duration (kill-host restarts the host, isolate-master removes the partition)',
    'bad.yaml:7: method[0].provider.target: unknown target "random" (expected etcd-leader-master, minority-master, random-worker or a host such as worker-1)',
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
  t.regex(nothing.problems.join('\n'), /method\[0\]\.fault degrades nothing: give drop, duplicate or delayMs/);
  const probability = t.throws(() => parseExperimentFile('title: x\nmethod: [{ type: action, name: degrade-links, provider: { target: master-1, drop: 2 }, duration: 1 }]\nverdicts: [faults-injected]', 'h.yaml', '/'), { instanceOf: ExperimentFileError })!;
  t.regex(probability.problems.join('\n'), /method\[0\]\.fault\.drop must be a probability from 0 to 1, not 2/);
});
