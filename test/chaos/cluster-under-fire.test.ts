// The default experiment end to end, shortened: 3 masters and 2 workers on threads, nginx behind
// its Service, API and HTTP workloads, a worker killed, the etcd leader's master killed, a minority
// master cut off, each healed; the verdict must be PASS and the report files written.
// Its own loopback block (127.72.x, pods 127.250/16, Services 127.102/16): no other test uses them.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterUnderFire, parseHistory, runExperiment } from '../../src/chaos/index.js';

const network = { frontDoor: { host: '127.72.0.1', port: 0 }, apiserverNetwork: '127.72.1', podNetwork: '127.250.0.0/16', serviceNetwork: '127.102' };

test('cluster-under-fire (short): every fault injected and healed, every verdict PASS, report.json, history.jsonl, report.md and report.html written', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'pk-under-fire-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const lines: string[] = [];
  const result = await runExperiment(clusterUnderFire({ short: true }), { seed: 3, out, network, log: (l) => lines.push(l) });
  t.is(result.verdict.status, 'pass', `${result.verdict.summary}\n${lines.join('\n')}`);
  t.deepEqual(result.verdict.results.map((r) => r.name), [
    'faults-injected', 'acked-writes-present', 'api-linearizable', 'kv-acked-writes-present', 'kv-linearizable', 'member-hashes-equal', 'election-safety', 'service-availability',
    'convergence', 'single-active-controller-manager', 'single-active-scheduler', 'watch-guarantees', 'steady-state-restored',
  ]);
  t.is(result.faults.length, 3);
  const [workerKill, leaderKill, isolate] = result.faults;
  t.regex(leaderKill!.host!, /^master-\d$/);
  t.regex(isolate!.host!, /^master-\d$/);
  t.regex(workerKill!.host!, /^worker-[12]$/);
  for (const f of result.faults) t.true(f.injected && f.endMs! > f.startMs, f.note);
  t.true(result.http.requests > 50 && result.ackedWrites > 20, `${result.http.requests} HTTP requests, ${result.ackedWrites} acknowledged writes`);
  for (const file of ['report.json', 'history.jsonl', 'report.md', 'report.html']) t.true(existsSync(join(out, file)), file);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { verdict: { status: string }; faults: unknown[]; schedule: unknown[] };
  t.is(report.verdict.status, 'pass');
  t.is(report.faults.length, 3);
  t.is(report.schedule.length, 3);
  const parsed = parseHistory(readFileSync(join(out, 'history.jsonl'), 'utf8'));
  t.true(parsed.ok, JSON.stringify(parsed).slice(0, 300));
  t.regex(readFileSync(join(out, 'report.md'), 'utf8'), /\*\*Verdict: PASS\*\*/);
});
