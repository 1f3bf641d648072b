import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function pocketkube(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('chaos run writes a report and a verdict (simulated etcd experiment, replayable by seed)', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pk-report-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = pocketkube(['chaos', 'run', 'etcd-isolate-leader', '--placement', 'simulated', '--seed', '7', '--out', out]);
  t.is(run.status, 0, run.stderr);
  t.regex(run.stdout, /verdict: PASS/);
  const dir = join(out, 'etcd-isolate-leader-seed7');
  t.regex(readFileSync(join(dir, 'report.md'), 'utf8'), /\*\*Verdict: PASS\*\*/);
  t.is(JSON.parse(readFileSync(join(dir, 'verdict.json'), 'utf8')).status, 'pass');
  t.true(readFileSync(join(dir, 'history.jsonl'), 'utf8').split('\n').length > 100);
});

// Serial: both runs bind the main job's loopback block (127.79.x).
test.serial('kill-serving-master on the HA control plane passes and reports', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pk-report-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = pocketkube(['chaos', 'run', 'kill-serving-master', '--out', out]);
  t.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /experiment kill-serving-master/);
  t.regex(run.stdout, /killed master-\d \(its connections reset\)/);
  t.regex(run.stdout, /PASS +linearizability/);
  t.regex(run.stdout, /PASS +api-recovered/);
  t.true(existsSync(join(out, 'kill-serving-master-seed1', 'report.md')));
});

test.serial('isolate-serving-master: the serving master is partitioned from the others; the API stays linearizable and nothing acknowledged is lost', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pk-report-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = pocketkube(['chaos', 'run', 'isolate-serving-master', '--out', out]);
  t.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /cut master-\d off from master-\d and master-\d/);
  t.regex(run.stdout, /healed the partition around master-\d/);
  t.regex(run.stdout, /PASS +linearizability/);
  t.regex(run.stdout, /PASS +acked-writes-present/);
  t.regex(readFileSync(join(out, 'isolate-serving-master-seed1', 'report.md'), 'utf8'), /was cut off from the other masters/);
});

test.serial('--silent-kill: the master loses power without resets, and the control plane still recovers', (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pk-report-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const run = pocketkube(['chaos', 'run', 'kill-serving-master', '--silent-kill', '--seed', '2', '--out', out]);
  t.is(run.status, 0, `${run.stdout}\n${run.stderr}`);
  t.regex(run.stdout, /killed master-\d silently \(a power loss: no connection resets\)/);
  t.regex(run.stdout, /PASS +api-recovered/);
  t.regex(readFileSync(join(out, 'kill-serving-master-seed2', 'report.md'), 'utf8'), /lost power \(no connection resets/);
});

test('bad input gets a message naming the problem and the fix, exit code 2', (t) => {
  const unknown = pocketkube(['chaos', 'run', 'no-such-experiment']);
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /unknown experiment "no-such-experiment".*pocketkube chaos list/);
  const placement = pocketkube(['chaos', 'run', 'etcd-kill-leader', '--placement', 'moon']);
  t.is(placement.status, 2);
  t.regex(placement.stderr, /--placement must be "threads" or "simulated"/);
  const silent = pocketkube(['chaos', 'run', 'etcd-kill-leader', '--silent-kill']);
  t.is(silent.status, 2);
  t.regex(silent.stderr, /--silent-kill applies to kill-serving-master only; drop it/);
  t.is(pocketkube(['chaos', 'run', 'isolate-serving-master', '--silent-kill']).status, 2);
  // The default experiment (cluster-under-fire) has no --silent-kill either.
  t.is(pocketkube(['chaos', 'run', '--silent-kill']).status, 2);
  const seed = pocketkube(['chaos', 'run', '--seed', 'x']);
  t.not(seed.status, 0);
  t.regex(seed.stderr, /expected a non-negative integer/);
});
