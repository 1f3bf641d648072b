// Shrinking a failing schedule (src/chaos/experiment/shrink.ts) against pure predicates: the
// failure's cause is known, so the shrinker must find it, keep to its run limit, and never hand back
// a schedule that was not seen to fail.
import test from 'ava';
import { pinnedExperiment, pinSchedule, shrinkSchedule, type PinnedStep } from '../../src/chaos/experiment/shrink.js';
import { clusterUnderFire } from '../../src/chaos/experiment/cluster-under-fire.js';
import { planSchedule } from '../../src/chaos/experiment/schedule.js';
import { faultTarget } from '../../src/chaos/experiment/define.js';

/** Eight faults, each on its own worker (worker-0 .. worker-7) so a predicate can tell them apart. */
const eight: PinnedStep[] = Array.from({ length: 8 }, (_, i) => ({
  fault: { kind: 'kill-host', target: { kind: 'host', host: `worker-${i}` } }, afterMs: 2_000 + i * 100, durationMs: 8_000,
}));

const hostOf = (s: PinnedStep) => { const t = faultTarget(s.fault); return t?.kind === 'host' ? t.host : '?'; };
const find = (steps: readonly PinnedStep[], host: string) => steps.find((s) => hostOf(s) === host);

/** Fails iff steps 2 and 5 are both there and step 5 lasts at least 3 s. */
const cause = (steps: readonly PinnedStep[]) => {
  const five = find(steps, 'worker-5');
  return find(steps, 'worker-2') !== undefined && five !== undefined && five.durationMs >= 3_000;
};

test('an 8-fault schedule shrinks to the two steps that matter, with short durations and no pauses', async (t) => {
  const tried: (readonly PinnedStep[])[] = [];
  const result = await shrinkSchedule(eight, async (steps) => { tried.push(steps); return cause(steps); }, { maxRuns: 40, minDurationMs: 500 });
  if (!result.reproduced) return t.fail('the pinned schedule fails by construction');
  t.false(result.exhausted);
  t.deepEqual(result.kept, [2, 5]);
  t.deepEqual(result.steps.map(hostOf), ['worker-2', 'worker-5']);
  // Step 2's duration is free: halved to the floor. Step 5's must stay >= 3 s: 8 s -> 4 s, and 2 s passes.
  t.deepEqual(result.steps.map((s) => s.durationMs), [500, 4_000]);
  t.deepEqual(result.steps.map((s) => s.afterMs), [0, 0]);
  t.true(cause(result.steps));
  t.is(result.runs, tried.length);
  t.true(result.runs <= 40);
  // No candidate ran twice.
  t.is(new Set(tried.map((s) => JSON.stringify(s))).size, tried.length);
});

test('the run limit is honoured, and what comes back failed', async (t) => {
  for (const maxRuns of [1, 2, 3, 5, 8, 13]) {
    let runs = 0;
    const result = await shrinkSchedule(eight, async (steps) => { runs++; return cause(steps); }, { maxRuns, minDurationMs: 500 });
    t.true(runs <= maxRuns, `maxRuns ${maxRuns}: ${runs} runs`);
    if (!result.reproduced) return t.fail();
    t.true(cause(result.steps), `maxRuns ${maxRuns}`);
    t.is(result.runs, runs);
    if (maxRuns < 10) t.true(result.exhausted, `maxRuns ${maxRuns}`);
  }
});

test('a flaky failure: never returns a schedule that was not seen to fail', async (t) => {
  // Fails on every third call only, whatever the schedule: the shrinker may only keep what it saw fail.
  let call = 0;
  const failedSchedules = new Set<string>();
  const result = await shrinkSchedule(eight, async (steps) => {
    const failed = call++ % 3 === 0;
    if (failed) failedSchedules.add(JSON.stringify(steps));
    return failed;
  }, { maxRuns: 40, minDurationMs: 500 });
  if (!result.reproduced) return t.fail('the first run fails');
  t.true(failedSchedules.has(JSON.stringify(result.steps)));
  // A pinned schedule that passes when re-run is reported as not reproduced, not shrunk.
  const never = await shrinkSchedule(eight, async () => false, { maxRuns: 40, minDurationMs: 500 });
  t.deepEqual(never, { reproduced: false, runs: 1 });
});

test('pinSchedule: drawn times become numbers, targets the host each step hit; an unresolved step keeps its target', (t) => {
  const spec = clusterUnderFire();
  const schedule = planSchedule(spec.method, 3);
  const pinned = pinSchedule(schedule, [
    { step: 0, name: 'step 0', host: 'worker-2', startMs: 1, endMs: 2, injected: true, note: '' },
    { step: 1, name: 'step 1', host: 'master-3', startMs: 3, endMs: 4, injected: true, note: '' },
    { step: 2, name: 'step 2', startMs: 5, endMs: 5, injected: false, note: 'not injected' },
  ]);
  t.deepEqual(pinned.map((s) => faultTarget(s.fault)), [{ kind: 'host', host: 'worker-2' }, { kind: 'host', host: 'master-3' }, { kind: 'minority-master' }]);
  t.deepEqual(pinned.map((s) => [s.afterMs, s.durationMs]), schedule.map((p) => [p.pauseMs, p.durationMs]));
  t.is(pinned[0]!.detectionMs, 5_000);
  t.false('detectionMs' in pinned[1]!);
  // Pinned, the schedule no longer depends on the seed (bar the unused picks).
  const pinnedSpec = pinnedExperiment(spec, pinned, 'shrunk');
  t.is(pinnedSpec.name, 'cluster-under-fire-shrunk');
  const strip = (seed: number) => planSchedule(pinnedSpec.method, seed).map(({ pick: _pick, ...rest }) => rest);
  t.deepEqual(strip(1), strip(99));
});

test('pinSchedule: a target of several hosts pins to that list; pod targets and faults naming their own hosts are kept', (t) => {
  const method: PinnedStep[] = [
    { fault: { kind: 'isolate-master', target: { kind: 'majority-masters' } }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'pod-delete', target: { kind: 'pod', pods: { namespace: 'default', selector: 'app=nginx' } } }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'partition-groups', groups: [['master-1'], ['master-2', 'master-3']] }, afterMs: 0, durationMs: 1_000 },
    { fault: { kind: 'pause-actor', target: { kind: 'hosts', hosts: ['master-1', 'master-2'] }, actor: 'scheduler' }, afterMs: 0, durationMs: 1_000 },
  ];
  const record = (step: number, host?: string) => ({ step, name: `s${step}`, ...(host === undefined ? {} : { host }), startMs: 0, endMs: 1, injected: true, note: '' });
  const pinned = pinSchedule(planSchedule(method, 1), [record(0, 'master-2,master-3'), record(1, 'worker-1'), record(2), record(3, 'master-1,master-2')]);
  t.deepEqual(pinned.map((s) => s.fault), [
    { kind: 'isolate-master', target: { kind: 'hosts', hosts: ['master-2', 'master-3'] } },
    method[1]!.fault, method[2]!.fault,
    { kind: 'pause-actor', target: { kind: 'hosts', hosts: ['master-1', 'master-2'] }, actor: 'scheduler' },
  ]);
});
