// `pocketkube chaos run --runs N [--shrink]` (src/cli/chaos.ts, src/chaos/experiment/sweep.ts):
// the flags' checks, the sweep's lines, summary and exit status, and the shrink written as a file,
// with the runs injected (no cluster). The last tests run dist/cli.js (`node tools/build.mjs` first)
// for the usage errors only, which stop before any cluster starts.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuns, parseShrinkMaxRuns, reproduceCommand, runChaosSweep, sweepFlagProblem, type SweepDeps, type SweepFlags } from '../../src/cli/chaos.js';
import { faultTarget, type ExperimentSpec } from '../../src/chaos/experiment/define.js';
import { loadExperimentFile } from '../../src/chaos/experiment/file.js';
import { clusterUnderFire } from '../../src/chaos/experiment/cluster-under-fire.js';
import { planSchedule } from '../../src/chaos/experiment/schedule.js';
import { pinSchedule } from '../../src/chaos/experiment/shrink.js';
import type { RunOutcome } from '../../src/chaos/experiment/sweep.js';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function outDir(t: { teardown(fn: () => void): void }): string {
  const out = mkdtempSync(join(tmpdir(), 'pk-sweep-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  return out;
}

const flagsFor = (out: string, o: Partial<SweepFlags> = {}): SweepFlags => ({
  seed: 10, placement: 'threads', out, runs: 4, shrink: false, shrinkMaxRuns: 40, argument: 'cluster-under-fire', plugins: [], ...o,
});

const pass = (name: string) => ({ name, status: 'pass' as const, detail: 'fine' });
const fail = (name: string) => ({ name, status: 'fail' as const, detail: 'broken' });

/** A clock that moves 1.5 s a call, so every run lasts 1.5 s. */
function steppingClock(): () => number {
  let t = 0;
  return () => (t += 1_500);
}

test('--runs and --shrink-max-runs: whole numbers in range, else a message naming the flag and the range', (t) => {
  t.deepEqual(parseRuns('3'), { value: 3 });
  t.deepEqual(parseRuns('1000'), { value: 1000 });
  t.deepEqual(parseRuns('0'), { problem: '--runs must be a whole number from 1 to 1000 (the sweep runs seeds seed .. seed+N-1), not "0"' });
  for (const bad of ['1001', '-2', '1.5', 'x', '', '1e3']) t.true('problem' in parseRuns(bad), bad);
  t.deepEqual(parseShrinkMaxRuns('40'), { value: 40 });
  t.regex((parseShrinkMaxRuns('0') as { problem: string }).problem, /--shrink-max-runs must be a whole number from 1 to 200/);
  t.regex(sweepFlagProblem('etcd-kill-leader', { shrink: true })!, /--shrink needs an experiment with a fault schedule .*drop --shrink/);
  t.is(sweepFlagProblem('cluster-under-fire', { shrink: true }), undefined);
  t.is(sweepFlagProblem('etcd-kill-leader', { shrink: false }), undefined);
});

test('reproduce commands repeat the experiment as given, with the flags that change the run, quoted for the shell', (t) => {
  t.is(reproduceCommand({ argument: 'cluster-under-fire', placement: 'threads', plugins: [] }, 7), 'npx pocketkube chaos run cluster-under-fire --seed 7');
  t.is(reproduceCommand({ argument: 'my dir/x.yaml', placement: 'simulated', plugins: ['p.mjs'], silentKill: true }, 3),
    "npx pocketkube chaos run 'my dir/x.yaml' --seed 3 --placement simulated --silent-kill --plugin p.mjs");
});

test('a sweep runs each seed in turn under OUT/seed-S, prints a line per run, "k of N seeds failed" and how to replay each; status fail', async (t) => {
  const out = outDir(t);
  const lines: string[] = [];
  const dirs: string[] = [];
  const deps: SweepDeps = {
    async run(seed, dir) {
      dirs.push(dir);
      if (seed === 11) return { status: 'fail', checks: [pass('faults-injected'), fail('service-availability')] };
      if (seed === 12) return { status: 'unknown', checks: [{ name: 'member-hashes-equal', status: 'unknown', detail: 'no answer' }] };
      if (seed === 13) throw new Error('the cluster did not start');
      return { status: 'pass', checks: [pass('faults-injected')] };
    },
    runPinned: () => Promise.reject(new Error('no shrink asked for')),
    log: (line) => lines.push(line),
    now: steppingClock(),
  };
  const status = await runChaosSweep('cluster-under-fire', flagsFor(out), deps);
  t.is(status, 'fail');
  t.deepEqual(dirs, [10, 11, 12, 13].map((s) => join(out, `seed-${s}`)));
  t.deepEqual(lines.slice(0, 9), [
    'experiment cluster-under-fire: 4 runs, seeds 10..13, one after another',
    'run 1 of 4: seed 10', 'seed 10: PASS in 1.5 s',
    'run 2 of 4: seed 11', 'seed 11: FAIL in 1.5 s (service-availability fail)',
    'run 3 of 4: seed 12', 'seed 12: UNKNOWN in 1.5 s (member-hashes-equal unknown)',
    'run 4 of 4: seed 13', 'seed 13: ERROR in 1.5 s: the run could not complete: the cluster did not start',
  ]);
  t.deepEqual(lines.slice(9, 14), [
    '2 of 4 seeds failed',
    '  seed 11: npx pocketkube chaos run cluster-under-fire --seed 11',
    '  seed 13: npx pocketkube chaos run cluster-under-fire --seed 13',
    '1 of 4 seeds unknown (a check could not run: not a pass)',
    '  seed 12: npx pocketkube chaos run cluster-under-fire --seed 12',
  ]);
  t.true(lines.includes('verdict: FAIL'));
  const summary = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
  t.deepEqual(summary.runs.map((r: { seed: number; status: string }) => [r.seed, r.status]), [[10, 'pass'], [11, 'fail'], [12, 'unknown'], [13, 'error']]);
  t.false(existsSync(join(out, 'shrunk.yaml')));
});

test('the sweep status: all pass -> pass; an unknown and no failure -> unknown (not a pass)', async (t) => {
  const run = (outcomes: Record<number, RunOutcome>) => runChaosSweep('cluster-under-fire', flagsFor(outDir(t), { runs: 2 }), {
    run: async (seed) => outcomes[seed]!, runPinned: () => Promise.reject(new Error('unused')), log: () => undefined, now: steppingClock(),
  });
  t.is(await run({ 10: { status: 'pass', checks: [] }, 11: { status: 'pass', checks: [] } }), 'pass');
  t.is(await run({ 10: { status: 'pass', checks: [] }, 11: { status: 'unknown', checks: [] } }), 'unknown');
});

/** The failing run's pinned schedule: cluster-under-fire's three steps at seed 11, on worker-2, master-1, master-3. */
const pinned = pinSchedule(planSchedule(clusterUnderFire().method, 11), ['worker-2', 'master-1', 'master-3'].map((host, step) => ({ step, name: `s${step}`, host, startMs: 0, endMs: 1, injected: true, note: '' })));
const hosts = (spec: ExperimentSpec) => spec.method.map((s) => { const t = faultTarget(s.fault); return t?.kind === 'host' ? t.host : String(t?.kind); });

test('--shrink: the failing seed is re-run pinned, shrunk to the step that matters, and written as OUT/shrunk.yaml that loads back', async (t) => {
  const out = outDir(t);
  const lines: string[] = [];
  const attempts: { seed: number; dir: string; hosts: string[] }[] = [];
  // service-availability fails iff master-1 is killed for at least 1 s.
  const verdictOf = (spec: ExperimentSpec): RunOutcome => {
    const bad = spec.method.some((s) => { const t = faultTarget(s.fault); return t?.kind === 'host' && t.host === 'master-1' && (s.durationMs as number) >= 1_000; });
    return bad ? { status: 'fail', checks: [fail('service-availability')] } : { status: 'pass', checks: [pass('service-availability')] };
  };
  const status = await runChaosSweep('cluster-under-fire', flagsFor(out, { runs: 2, shrink: true }), {
    run: async (seed) => (seed === 11 ? { ...verdictOf({ ...clusterUnderFire(), method: pinned }), pinned } : { status: 'pass', checks: [], pinned }),
    async runPinned(spec, seed, dir) { attempts.push({ seed, dir, hosts: hosts(spec) }); return verdictOf(spec); },
    log: (line) => lines.push(line),
    now: steppingClock(),
  });
  t.is(status, 'fail');
  t.true(attempts.every((a) => a.seed === 11), 'every re-run uses the failing seed');
  t.deepEqual(attempts[0], { seed: 11, dir: join(out, 'shrink', 'run-1'), hosts: ['worker-2', 'master-1', 'master-3'] });
  t.true(attempts.length <= 40);
  const shrunk = loadExperimentFile(join(out, 'shrunk.yaml'));
  t.is(shrunk.name, 'cluster-under-fire-shrunk');
  t.deepEqual(hosts(shrunk), ['master-1']);
  t.deepEqual(shrunk.method.map((s) => [s.fault.kind, s.afterMs]), [['kill-host', 0]]);
  // Halved while it still lasts >= 1 s: from 3-4 s to 1.5-2 s.
  t.true((shrunk.method[0]!.durationMs as number) >= 1_000 && (shrunk.method[0]!.durationMs as number) < 2_000, `${String(shrunk.method[0]!.durationMs)}`);
  t.deepEqual(verdictOf(shrunk).status, 'fail');
  t.deepEqual({ ...shrunk, name: 'x', description: 'x', method: [] }, { ...clusterUnderFire(), name: 'x', description: 'x', method: [] });
  const text = readFileSync(join(out, 'shrunk.yaml'), 'utf8');
  t.regex(text, new RegExp(`^# The smallest schedule found that still makes service-availability fail \\(seed 11 of cluster-under-fire, \\d+ runs\\)\\. Replay:\\n#   npx pocketkube chaos run ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/shrunk\\.yaml --seed 11\\n`));
  t.true(lines.some((l) => /^shrunk: 1 of 3 steps \(step 1 of seed 11\) still make service-availability fail, after \d+ runs$/.test(l)), lines.join('\n'));
  t.is(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).shrunk, join(out, 'shrunk.yaml'));
});

test('--shrink when the pinned schedule passes on re-run: says so and writes no shrunk.yaml; the sweep still fails', async (t) => {
  const out = outDir(t);
  const lines: string[] = [];
  const status = await runChaosSweep('cluster-under-fire', flagsFor(out, { runs: 1, shrink: true }), {
    run: async () => ({ status: 'fail', checks: [fail('convergence')], pinned }),
    runPinned: async () => ({ status: 'pass', checks: [pass('convergence')] }),
    log: (line) => lines.push(line),
    now: steppingClock(),
  });
  t.is(status, 'fail');
  t.false(existsSync(join(out, 'shrunk.yaml')));
  t.true(lines.some((l) => /seed 10's pinned schedule did not fail convergence again.*no shrunk\.yaml written/.test(l)), lines.join('\n'));
});

test('the command: bad --runs, --shrink-max-runs and --shrink on an experiment without a schedule exit 2 with the reason', (t) => {
  const pocketkube = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  const zero = pocketkube(['chaos', 'run', '--runs', '0']);
  t.is(zero.status, 2, zero.stderr);
  t.regex(zero.stderr, /--runs must be a whole number from 1 to 1000 .*not "0"/);
  t.is(pocketkube(['chaos', 'run', '--runs', '1001']).status, 2);
  const limit = pocketkube(['chaos', 'run', '--shrink', '--shrink-max-runs', 'lots']);
  t.is(limit.status, 2);
  t.regex(limit.stderr, /--shrink-max-runs must be a whole number from 1 to 200/);
  const shrink = pocketkube(['chaos', 'run', 'etcd-kill-leader', '--placement', 'simulated', '--shrink']);
  t.is(shrink.status, 2);
  t.regex(shrink.stderr, /--shrink needs an experiment with a fault schedule/);
  const help = pocketkube(['chaos', 'run', '--help']);
  t.regex(help.stdout, /--runs <n>/);
  t.regex(help.stdout, /With --runs: 1 when any seed failed/);
});

// The one real run (about 30 s on 2 CPUs: 7 clusters of 3 masters, no workers, started one after
// another on the engine's own loopback block 127.71.x, which no other test uses). With no workers
// the masters run no kubelet, so the step pausing master-3's kubelet is never injected:
// faults-injected is unknown at every seed, a failure that does not depend on timing, and the
// shrink must come down to that one step.
test.serial('end to end: a sweep of 2 seeds and --shrink reduce a 3-step experiment to its one step that cannot be injected, and the shrunk file replays it', (t) => {
  const dir = outDir(t);
  const file = join(dir, 'bad-host.yaml');
  writeFileSync(file, [
    'title: bad-host',
    'description: three short faults, one on an actor the host does not run',
    'configuration: { cluster: { workers: 0, profile: fast }, settle: 0 }',
    'method:',
    '  - { type: action, name: pause-actor, provider: { target: master-1, actor: scheduler }, duration: 0.5 }',
    '  - { type: action, name: pause-actor, provider: { target: master-3, actor: kubelet }, duration: 1 }',
    '  - { type: action, name: pause-actor, provider: { target: minority-master, actor: controller-manager }, duration: 0.5 }',
    'verdicts: [faults-injected]',
  ].join('\n'));
  const out = join(dir, 'out');
  const run = spawnSync(process.execPath, [cli, 'chaos', 'run', file, '--runs', '2', '--seed', '5', '--shrink', '--out', out], { encoding: 'utf8', timeout: 110_000 });
  t.is(run.status, 3, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /^seed 5: UNKNOWN in [\d.]+ s \(faults-injected unknown\)$/m);
  t.regex(run.stdout, /^0 of 2 seeds failed\n2 of 2 seeds unknown/m);
  t.regex(run.stdout, new RegExp(`^  seed 6: npx pocketkube chaos run ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --seed 6$`, 'm'));
  t.regex(run.stdout, /^shrunk: 1 of 3 steps \(step 1 of seed 5\) still make faults-injected unknown/m);
  for (const seed of [5, 6]) t.true(existsSync(join(out, `seed-${seed}`, 'report.json')));
  const shrunk = loadExperimentFile(join(out, 'shrunk.yaml'));
  t.deepEqual(shrunk.method, [{ fault: { kind: 'pause-actor', target: { kind: 'host', host: 'master-3' }, actor: 'kubelet' }, afterMs: 0, durationMs: 500 }]);
  const replay = spawnSync(process.execPath, [cli, 'chaos', 'run', join(out, 'shrunk.yaml'), '--seed', '5', '--out', join(dir, 'replay')], { encoding: 'utf8', timeout: 60_000 });
  t.is(replay.status, 3, `${replay.stdout}\n${replay.stderr}`);
  t.regex(replay.stdout, /UNKNOWN +faults-injected: 1 of 1 faults could not be injected.*no actor master-3\/kubelet/);
});
