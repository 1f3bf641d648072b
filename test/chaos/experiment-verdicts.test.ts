// Each verdict the experiment engine adds, against a good and a deliberately broken record:
// it passes on the one, fails on the other, and says unknown when the evidence is too thin.
import test from 'ava';
import {
  checkConvergence, checkPlacementSafety, checkServiceAvailability, checkStatefulSetIdentity, checkSteadyStateRestored, leaseTransitions, verdictRows,
  type Evidence, type FaultRecord, type HttpSample, type PodPlacement, type ProbeResult,
} from '../../src/chaos/index.js';
import { history } from './helpers.js';

const fault: FaultRecord = { step: 0, name: 'step 0: kill a worker', host: 'worker-1', startMs: 1_000, endMs: 2_000, injected: true, note: 'killed worker-1; restarted worker-1' };

/** One request every 10 ms from 0 to 3 s; those started in [from, to) fail. */
function requests(from = Infinity, to = -Infinity): HttpSample[] {
  return Array.from({ length: 300 }, (_, i) => {
    const startMs = i * 10;
    return startMs >= from && startMs < to
      ? { process: 'http-0', startMs, endMs: startMs + 5, error: 'connect ECONNREFUSED' }
      : { process: 'http-0', startMs, endMs: startMs + 5, status: 200 };
  });
}

test('service availability: passes with every request answered, fails when a fault takes the Service down, unknown with too few requests', (t) => {
  const good = checkServiceAvailability(requests(), [fault], 0.9);
  t.is(good.status, 'pass', good.explanation);
  t.is(good.during, 101);
  // Down for the first half of the fault: 50 of 101 requests fail (outside the fault would not count).
  const broken = checkServiceAvailability(requests(1_000, 1_500), [fault], 0.9);
  t.is(broken.status, 'fail');
  t.regex(broken.explanation, /51 of 101 requests started during the faults \(after their detection windows\) answered 200/);
  t.regex(broken.explanation, /http-0 at 1000 ms: connect ECONNREFUSED/);
  // Failures outside every fault interval are not the faults' doing.
  t.is(checkServiceAvailability(requests(0, 900), [fault], 0.9).status, 'pass');
  t.is(checkServiceAvailability(requests().slice(0, 105), [fault], 0.9).status, 'unknown');
});

test('service availability: requests in a fault\'s detection window are reported but not held to the threshold; after it they are', (t) => {
  const slow: FaultRecord = { ...fault, detectionMs: 500 };
  // Down for the first 500 ms of the fault (the system noticing a dead node), then answered: a pass.
  const noticed = checkServiceAvailability(requests(1_000, 1_500), [slow], 0.9);
  t.is(noticed.status, 'pass', noticed.explanation);
  t.is(noticed.during, 51);
  t.regex(noticed.explanation, /0\/50 in its first 500 ms, not held to the threshold/);
  // A kube-proxy that keeps the dead endpoint: still failing after the detection window, a fail.
  t.is(checkServiceAvailability(requests(1_000, 2_001), [slow], 0.9).status, 'fail');
});

test('convergence: passes when every Deployment is available in time, fails when one stays short, unknown when the window was not observed', (t) => {
  const obs = (timeMs: number, available: number) => ({ timeMs, deployments: [{ name: 'default/nginx', desired: 2, available }, { name: 'kube-system/coredns', desired: 1, available: 1 }] });
  const good = checkConvergence([obs(900, 1), obs(1_500, 1), obs(4_000, 2)], 1_000, 5_000);
  t.is(good.status, 'pass', good.explanation);
  t.is(good.convergedAfterMs, 3_000);
  const broken = checkConvergence([obs(1_500, 1), obs(6_500, 1)], 1_000, 5_000);
  t.is(broken.status, 'fail');
  t.regex(broken.explanation, /default\/nginx 1\/2 available/);
  t.is(checkConvergence([obs(7_000, 2)], 1_000, 5_000).status, 'fail');
  t.is(checkConvergence([obs(1_500, 1)], 1_000, 5_000).status, 'unknown');
  // A list that could not be read is not convergence; nor is a cluster with no Deployments.
  t.is(checkConvergence([{ timeMs: 1_200 }, { timeMs: 1_300, deployments: [] }], 1_000, 100).status, 'fail');
});

test('steady state restored: passes when it held before and after, fails when it did not come back, unknown when it never held', (t) => {
  const r = (probe: string, ok: boolean, timeMs = 0): ProbeResult => ({ probe, ok, timeMs, detail: ok ? 'fine' : 'broken' });
  t.is(checkSteadyStateRestored({ before: [r('a', true), r('b', true)], after: [r('a', true), r('b', true)] }).status, 'pass');
  const broken = checkSteadyStateRestored({ before: [r('a', true), r('b', true)], after: [r('a', true), r('b', false, 9_000)] });
  t.is(broken.status, 'fail');
  t.regex(broken.explanation, /NOT b at 9000 ms: broken/);
  t.is(checkSteadyStateRestored({ before: [r('a', false)], after: [r('a', true)] }).status, 'unknown');
  t.is(checkSteadyStateRestored({ before: [r('a', true), r('b', true)], after: [r('a', true)] }).status, 'unknown');
});

function evidence(over: Partial<Evidence> = {}): Evidence {
  return {
    apiHistory: history([{ p: 0, f: 'write', value: 'a', start: 0, end: 10 }, { p: 1, f: 'read', value: 'a', start: 20, end: 30 }]),
    finalState: new Map([['x', 'a']]), http: requests(), faults: [fault], healedAtMs: 2_000, deployments: [], steadyBefore: [], steadyAfter: [],
    roles: [], memberHashes: [], members: [], live: {}, leases: [], rollouts: [], rolloutHistory: [], placements: [], identities: [], kvHistory: [], kvFinalState: new Map(), ...over,
  };
}

test('the engine wires the API checkers: a lost acknowledged write and a stale read fail; a fault that found no target is unknown', (t) => {
  const row = (kind: 'acked-writes-present' | 'api-linearizable' | 'faults-injected', e: Evidence) => verdictRows({ kind }, e)[0]!;
  t.is(row('acked-writes-present', evidence()).status, 'pass');
  t.is(row('api-linearizable', evidence()).status, 'pass');
  t.is(row('acked-writes-present', evidence({ finalState: new Map([['x', null]]) })).status, 'fail');
  t.is(row('acked-writes-present', evidence({ finalState: { unavailable: 'x could not be read' } })).status, 'unknown');
  const stale = history([{ p: 0, f: 'write', value: 'a', start: 0, end: 10 }, { p: 1, f: 'read', value: null, start: 20, end: 30 }]);
  t.is(row('api-linearizable', evidence({ apiHistory: stale })).status, 'fail');
  t.is(row('faults-injected', evidence()).status, 'pass');
  const missed = row('faults-injected', evidence({ faults: [fault, { ...fault, step: 1, injected: false, note: 'not injected: no live worker to hit' }] }));
  t.is(missed.status, 'unknown');
  t.regex(missed.detail, /step 1: not injected: no live worker/);
  // A single-active verdict whose instances were never asked is unknown, not a pass.
  t.is(verdictRows({ kind: 'single-active-scheduler' }, evidence())[0]!.status, 'unknown');
  // Service availability counts only injected faults' windows.
  t.is(verdictRows({ kind: 'service-availability', minOkRatio: 0.9 }, evidence({ http: requests(1_000, 1_500) }))[0]!.status, 'fail');
});

test('Lease holders as observed: one entry per change of holder, unreadable samples skipped', (t) => {
  const o = (timeMs: number, holder?: string) => ({ timeMs, component: 'scheduler', ...(holder === undefined ? {} : { holder }) });
  t.deepEqual(leaseTransitions([o(0, 'master-1/scheduler'), o(250, 'master-1/scheduler'), o(500), o(750, 'master-2/scheduler'), { timeMs: 800, component: 'controller-manager', holder: 'x' }], 'scheduler'),
    ['master-1/scheduler from 0 ms', 'master-2/scheduler from 750 ms']);
});

test('placement safety: a pod on two nodes, requests beyond allocatable, or a pod the kubelet refused for room fail; finished pods do not count; no sample is unknown', (t) => {
  const node = { name: 'worker-1', cpu: 2, memory: 1_000, pods: 3 };
  const pod = (uid: string, over: Partial<PodPlacement> = {}): PodPlacement => ({ uid, name: `default/${uid}`, node: 'worker-1', cpu: 1, memory: 100, phase: 'Running', ...over });
  t.is(checkPlacementSafety([{ timeMs: 0, pods: [pod('a'), pod('b'), pod('c', { phase: 'Succeeded' }), pod('d', { node: undefined } as never)], nodes: [node] }]).status, 'pass');
  const over = checkPlacementSafety([{ timeMs: 5, pods: [pod('a'), pod('b'), pod('c')], nodes: [node] }]);
  t.is(over.status, 'fail');
  t.regex(over.explanation, /over-committed \(1 node samples\): at 5 ms worker-1: cpu 3 of 2/);
  const refused = checkPlacementSafety([{ timeMs: 7, pods: [pod('a'), pod('b', { cpu: 0.5, phase: 'Failed', reason: 'OutOfcpu' })], nodes: [node] }]);
  t.regex(refused.explanation, /the kubelet refused default\/b \(OutOfcpu\)/);
  t.is(checkPlacementSafety([{ timeMs: 7, pods: [pod('a'), pod('b', { phase: 'Failed', reason: 'Evicted' })], nodes: [node] }]).status, 'pass', 'a pod that failed for another reason holds nothing');
  const moved = checkPlacementSafety([{ timeMs: 1, pods: [pod('a')], nodes: [node] }, { timeMs: 2, pods: [pod('a', { node: 'worker-2' })], nodes: [node, { ...node, name: 'worker-2' }] }]);
  t.regex(moved.explanation, /bound twice: default\/a \(uid a\) on worker-1 at 1 ms, on worker-2 at 2 ms/);
  t.is(checkPlacementSafety([{ timeMs: 1 }]).status, 'unknown');
});

test('statefulset identity: passes when each identity runs as one pod, fails with both uids when the nodes run it twice, unknown without data; partial samples are said', (t) => {
  const sample = (timeMs: number, nodes: { node: string; running?: { identity: string; uid: string }[] }[]) => ({ timeMs, nodes });
  const web0 = (uid: string) => ({ identity: 'default/web-0', uid });
  const good = [
    sample(0, [{ node: 'worker-1', running: [web0('a')] }, { node: 'worker-2', running: [] }]),
    // The old pod stopped, then its replacement started elsewhere: never both.
    sample(100, [{ node: 'worker-1', running: [] }, { node: 'worker-2', running: [] }]),
    sample(200, [{ node: 'worker-1' }, { node: 'worker-2', running: [web0('b')] }]),
  ];
  const pass = checkStatefulSetIdentity(good);
  t.is(pass.status, 'pass', pass.explanation);
  t.regex(pass.explanation, /1 StatefulSet identities, never two pods of one in consecutive samples of the nodes' runtimes \(3 samples\) \(1 of them missed a node/);
  const both = (timeMs: number) => sample(timeMs, [{ node: 'worker-1', running: [web0('a')] }, { node: 'worker-2', running: [web0('b')] }]);
  const once = checkStatefulSetIdentity([...good, both(300)]);
  t.is(once.status, 'pass', 'one sample alone may be the nodes answering at different moments');
  t.regex(once.explanation, /1 single samples showed two pods of one identity, never two samples in a row/);
  const twice = checkStatefulSetIdentity([...good, both(300), both(400)]);
  t.is(twice.status, 'fail');
  t.regex(twice.explanation, /from 300 to 400 ms default\/web-0 ran as uid a on worker-1 and uid b on worker-2/);
  t.is(checkStatefulSetIdentity([]).status, 'unknown');
  t.is(checkStatefulSetIdentity([sample(0, [{ node: 'worker-1' }])]).status, 'unknown', 'no runtime answered');
  t.regex(checkStatefulSetIdentity([sample(0, [{ node: 'worker-1', running: [] }])]).explanation, /no StatefulSet pod ran/);
});

test('kv verdicts: linearizable and acked writes from the kv workload\'s own history; unknown without one or without its final state', (t) => {
  const kvHistory = history([{ p: 0, f: 'write', value: 'a', start: 0, end: 10 }, { p: 1, f: 'read', value: 'a', start: 20, end: 30 }]);
  const rows = (over: Partial<Evidence>) => [...verdictRows({ kind: 'kv-linearizable' }, evidence(over)), ...verdictRows({ kind: 'kv-acked-writes-present' }, evidence(over))].map((r) => r.status);
  t.deepEqual(rows({ kvHistory, kvFinalState: new Map([['x', 'a']]) }), ['pass', 'pass']);
  t.deepEqual(rows({ kvHistory, kvFinalState: new Map([['x', null]]) }), ['pass', 'fail'], 'an acknowledged write missing at the end');
  t.deepEqual(rows({ kvHistory: [], kvFinalState: { unavailable: 'no kv workload ran' } }), ['unknown', 'unknown']);
});
