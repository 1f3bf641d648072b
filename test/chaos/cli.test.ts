// The chaos command as a user runs it (dist/cli.js; `npm run build` first): --seed replays a
// simulated run byte for byte, --plugin adds faults and experiments, the exit code is the verdict.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const tsPlugin = fileURLToPath(new URL('../fixtures/chaos-plugin.ts', import.meta.url));
const jsPlugin = fileURLToPath(new URL('../fixtures/chaos-plugin.mjs', import.meta.url));

function pocketkube(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

function outDir(t: { teardown(fn: () => void): void }): string {
  const out = mkdtempSync(join(tmpdir(), 'pk-chaos-cli-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  return out;
}

test('--seed N replays a simulated run: the same history and verdict twice, another seed differs', (t) => {
  const [a, b, c] = [outDir(t), outDir(t), outDir(t)];
  const run = (seed: string, out: string) => pocketkube(['chaos', 'run', 'etcd-kill-leader', '--placement', 'simulated', '--seed', seed, '--out', out]);
  for (const [seed, out] of [['4', a], ['4', b], ['5', c]] as const) t.is(run(seed, out).status, 0);
  const read = (out: string, seed: string, file: string) => readFileSync(join(out, `etcd-kill-leader-seed${seed}`, file), 'utf8');
  t.is(read(a, '4', 'history.jsonl'), read(b, '4', 'history.jsonl'));
  t.is(read(a, '4', 'verdict.json'), read(b, '4', 'verdict.json'));
  t.not(read(a, '4', 'history.jsonl'), read(c, '5', 'history.jsonl'));
});

test('--plugin FILE.ts registers a fault that `chaos list` shows and `chaos run` injects', (t) => {
  const list = pocketkube(['chaos', 'list', '--plugin', tsPlugin]);
  t.is(list.status, 0, list.stderr);
  t.regex(list.stdout, /^etcd-plugin-pause-follower$/m);
  t.regex(list.stdout, /^cluster-under-fire \(default\)$/m);
  t.regex(list.stdout, /^kill-serving-master$/m);
  const run = pocketkube(['chaos', 'run', 'etcd-plugin-pause-follower', '--plugin', tsPlugin, '--placement', 'simulated', '--seed', '3', '--out', outDir(t)]);
  t.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stderr, /registered etcd fault plugin-pause-follower/);
  t.regex(run.stdout, /plugin fault: cut master-\d\/etcd off/);
  t.regex(run.stdout, /verdict: PASS/);
  // Without the plugin the name is unknown: a usage error.
  t.is(pocketkube(['chaos', 'run', 'etcd-plugin-pause-follower', '--placement', 'simulated']).status, 2);
});

test('a run with an unknown check exits 3, not 0; a plugin that fails to load exits 2', (t) => {
  const run = pocketkube(['chaos', 'run', 'plugin-undecided', '--plugin', jsPlugin, '--placement', 'simulated', '--out', outDir(t)]);
  t.is(run.status, 3, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /UNKNOWN +member-hashes-equal: could not run/);
  t.regex(run.stdout, /verdict: UNKNOWN/);
  const missing = pocketkube(['chaos', 'run', '--plugin', 'no-such-plugin.mjs']);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /plugin no-such-plugin\.mjs does not exist/);
  const help = pocketkube(['chaos', 'run', '--help']);
  t.regex(help.stdout, /Exit codes: 0 pass, 1 fail \(or the run could not complete\), 3 unknown/);
});

test('an experiment file with problems exits 2 and prints each with its line and field; a title taken by a built-in is refused', (t) => {
  const dir = outDir(t);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'title: worker-death-2\nmethod:\n  - { type: action, name: kill-it, provider: { target: random-worker }, duration: 5 }\nverdicts: [faults-injected]\n');
  const run = pocketkube(['chaos', 'run', bad]);
  t.is(run.status, 2, run.stdout + run.stderr);
  t.regex(run.stderr, /bad\.yaml:3: method\[0\]\.name: unknown action "kill-it" \(expected kill-host, isolate-master, one-way-partition, /);
  const taken = join(dir, 'taken.json');
  writeFileSync(taken, JSON.stringify({ title: 'cluster-under-fire', method: [{ type: 'action', name: 'kill-host', provider: { target: 'master-1' }, duration: 1 }], verdicts: ['faults-injected'] }));
  const clash = pocketkube(['chaos', 'run', taken]);
  t.is(clash.status, 2);
  t.regex(clash.stderr, /title "cluster-under-fire" is already a built-in experiment/);
});
