/** DefaultPreemption through the default profile: who is evicted, which node is nominated, and the messages. */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { snapshotOf } from '../../src/scheduler/cache.js';
import { buildProfiles, defaultSchedulerConfiguration } from '../../src/scheduler/config.js';
import type { CycleResult, PdbInfo, PodInfo, Profile } from '../../src/scheduler/framework.js';
import { labelMatcher } from '../../src/scheduler/podinfo.js';
import { pickOneNodeForPreemption, splitByPdbViolation } from '../../src/scheduler/plugins/preemption.js';
import { node, pod } from './fixtures.js';

function profile(seed = 1): Profile {
  const r = buildProfiles(defaultSchedulerConfiguration(), { prng: new SeededPrng(seed) });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value.get('default-scheduler')!;
}

function run(nodes: KubeObject[], existing: PodInfo[], p: PodInfo, pdbs: PdbInfo[] = [], seed = 1): CycleResult {
  return profile(seed).schedulingCycle({ snapshot: snapshotOf(nodes, existing), pod: p, nowMs: 0, pdbs });
}

const taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

test('no lower-priority pods anywhere: upstream\'s full message, preemption part included', (t) => {
  const nodes = [node('m', { taints: [taint] }), node('a', { cpu: '2' }), node('b', { cpu: '2' })];
  const existing = [pod('x', { cpu: '2', node: 'a', priority: 100 }), pod('y', { cpu: '2', node: 'b', priority: 100 })];
  const r = run(nodes, existing, pod('p', { cpu: '1', priority: 100 }));
  t.is(r.kind, 'unschedulable');
  if (r.kind !== 'unschedulable') return;
  t.is(r.message, '0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. '
    + 'preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.');
  t.is(r.nominatedNodeName, '');
  t.deepEqual(r.victims, []);
  t.is(r.decision.postFilter?.status.plugin, 'DefaultPreemption');
});

test('every node unresolvable: "3 Preemption is not helpful for scheduling"', (t) => {
  const nodes = [node('a', { taints: [taint] }), node('b', { taints: [taint] }), node('c', { unschedulable: true })];
  const r = run(nodes, [], pod('p', { priority: 1000 }));
  t.is(r.kind === 'unschedulable' ? r.message : r.kind,
    '0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. '
    + 'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.');
});

test('a high-priority pod preempts: the node whose most important victim matters least, fewest victims, reprieves', (t) => {
  const nodes = [node('a', { cpu: '4' }), node('b', { cpu: '4' })];
  const existing = [
    // a: one pod of priority 50 (must go).
    pod('a-50', { cpu: '3', node: 'a', priority: 50 }), pod('a-keep', { cpu: '1', node: 'a', priority: 1000 }),
    // b: three small pods of priority 10, 5, 1: removing the 2-CPU one of priority 10 is not needed, only two must go.
    pod('b-10', { cpu: '1', node: 'b', priority: 10 }), pod('b-5', { cpu: '1500m', node: 'b', priority: 5 }), pod('b-1', { cpu: '1500m', node: 'b', priority: 1 }),
  ];
  const r = run(nodes, existing, pod('vip', { cpu: '3', priority: 500 }));
  t.is(r.kind, 'unschedulable');
  if (r.kind !== 'unschedulable') return;
  // b's most important victim (priority 5) ranks below a's (50): b wins although it loses two pods.
  t.is(r.nominatedNodeName, 'b');
  t.deepEqual(r.victims.map((v) => v.name), ['b-5', 'b-1']);
  t.deepEqual(r.decision.postFilter, { status: { code: 'Success', reasons: [], plugin: 'DefaultPreemption' }, nominatedNodeName: 'b', victims: ['default/b-5', 'default/b-1'] });
  t.is(r.message, '0/2 nodes are available: 2 Insufficient cpu.');
});

test('PDBs: a node whose victims would violate a budget loses to one that would not', (t) => {
  const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' })];
  const existing = [pod('guarded', { cpu: '2', node: 'a', priority: 1, labels: { app: 'db' } }), pod('free', { cpu: '2', node: 'b', priority: 9 })];
  const pdb: PdbInfo = { namespace: 'default', selector: labelMatcher({ matchLabels: { app: 'db' } }), disruptionsAllowed: 0 };
  const withPdb = run(nodes, existing, pod('p', { cpu: '2', priority: 100 }), [pdb]);
  t.true(withPdb.kind === 'unschedulable' && withPdb.nominatedNodeName === 'b');
  // Without the budget the lower-priority victim's node wins.
  const without = run(nodes, existing, pod('p', { cpu: '2', priority: 100 }));
  t.true(without.kind === 'unschedulable' && without.nominatedNodeName === 'a');
  const split = splitByPdbViolation([existing[0]!, pod('other', { labels: { app: 'db' } })], [{ ...pdb, disruptionsAllowed: 1 }]);
  t.deepEqual([split.violating.map((p) => p.name), split.nonViolating.map((p) => p.name)], [['other'], ['guarded']]);
});

test('pickOneNodeForPreemption applies the criteria in upstream\'s order', (t) => {
  const v = (name: string, priority: number, start?: string) => pod(name, { priority, ...(start === undefined ? {} : { status: { startTime: start } }) });
  const pick = (...cs: Array<[string, PodInfo[], number?]>) => pickOneNodeForPreemption(cs.map(([nodeName, victims, n]) => ({ nodeName, victims, numPdbViolations: n ?? 0 })))?.nodeName;
  t.is(pick(['a', [v('1', 1)], 1], ['b', [v('2', 100)]]), 'b'); // fewest PDB violations
  t.is(pick(['a', [v('1', 10)]], ['b', [v('2', 5), v('3', 5)]]), 'b'); // lowest highest priority
  t.is(pick(['a', [v('1', 5), v('2', 4)]], ['b', [v('3', 5), v('4', 1)]]), 'b'); // lowest priority sum
  t.is(pick(['a', [v('1', 5), v('2', -2147483648)]], ['b', [v('3', 5)]]), 'b'); // negative priorities still add up (MaxInt32+1 offset)
  t.is(pick(['a', [v('1', 5, '2026-01-01T00:00:00Z')]], ['b', [v('2', 5, '2026-01-01T00:05:00Z')]]), 'b'); // latest start of the top victims
  t.is(pick(['a', [v('1', 5)]], ['b', [v('2', 5)]]), 'a'); // then the first
  t.is(pick(), undefined);
});

test('preemptionPolicy Never and a terminating victim on the nominated node stop preemption', (t) => {
  const nodes = [node('a', { cpu: '1' })];
  const never = run(nodes, [pod('low', { cpu: '1', node: 'a' })], pod('p', { cpu: '1', priority: 10, spec: { preemptionPolicy: 'Never' } }));
  t.is(never.kind === 'unschedulable' ? never.message : never.kind, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
  const dying = pod('low', { cpu: '1', node: 'a' });
  const terminating = { ...dying, terminating: true } as PodInfo;
  const again = run(nodes, [terminating], pod('p', { cpu: '1', priority: 10, status: { nominatedNodeName: 'a' } }));
  t.is(again.kind === 'unschedulable' ? again.message : again.kind, '0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a terminating pod on the nominated node.');
});

test('preemption respects the other filters: victims are only chosen where removing them makes the pod fit', (t) => {
  // Node a has a low-priority pod, but the preemptor's nodeSelector excludes a (unresolvable); b holds host port 80 via a low pod.
  const nodes = [node('a', { labels: { disk: 'hdd' } }), node('b', { labels: { disk: 'ssd' } })];
  const port = { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 80 }] }] };
  const existing = [pod('low-a', { node: 'a', spec: port }), pod('low-b', { node: 'b', spec: port }), pod('high-b', { node: 'b', priority: 1000 })];
  const r = run(nodes, existing, pod('p', { priority: 100, spec: { ...port, nodeSelector: { disk: 'ssd' } } }));
  t.true(r.kind === 'unschedulable' && r.nominatedNodeName === 'b');
  t.deepEqual(r.kind === 'unschedulable' ? r.victims.map((v) => v.name) : [], ['low-b']);
  t.is(r.kind === 'unschedulable' ? r.message : '', "0/2 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 1 node(s) didn't match Pod's node affinity/selector.");
});

test('a pod nominated to a node (higher priority) counts in the dry run: a second preemptor picks another node', (t) => {
  const nodes = [node('a', { cpu: '2' }), node('b', { cpu: '2' })];
  const existing = [pod('low-a', { cpu: '2', node: 'a', priority: 1 }), pod('low-b', { cpu: '2', node: 'b', priority: 2 })];
  const first = profile().schedulingCycle({ snapshot: snapshotOf(nodes, existing), pod: pod('vip1', { cpu: '2', priority: 100 }), nowMs: 0 });
  t.true(first.kind === 'unschedulable' && first.nominatedNodeName === 'a');
  // vip1 is nominated to a (its victim still terminating there); vip2 must not count on a's room.
  const vip1 = pod('vip1', { cpu: '2', priority: 100 });
  const second = profile().schedulingCycle({
    snapshot: snapshotOf(nodes, existing), pod: pod('vip2', { cpu: '2', priority: 100 }), nowMs: 0,
    nominatedPods: (n) => (n === 'a' ? [vip1] : []),
  });
  t.true(second.kind === 'unschedulable' && second.nominatedNodeName === 'b');
  t.deepEqual(second.kind === 'unschedulable' ? second.victims.map((v) => v.name) : [], ['low-b']);
});
