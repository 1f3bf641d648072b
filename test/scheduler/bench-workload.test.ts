/** The scheduler benchmark's workload generator makes what its doc comment says (no timing here). */
import test from 'ava';
import { newPodInfo, newNodeInfo } from '../../src/scheduler/podinfo.js';
import { benchHostnameKey, benchWorkload, benchZoneKey } from '../../tools/bench/scheduler-workload.js';

test('nodes: 4 CPU / 32Gi / 110 pods, hostname label, round-robin zones', (t) => {
  const w = benchWorkload({ nodes: 25, pods: 0, zones: 5 });
  t.is(w.nodes.length, 25);
  const zones = new Map<string, number>();
  for (const n of w.nodes) {
    const info = newNodeInfo(n);
    t.is(info.allocatable.milliCpu, 4000);
    t.is(info.allocatable.memory, 32 * 1024 ** 3);
    t.is(info.allocatable.allowedPodNumber, 110);
    t.is(info.labels[benchHostnameKey], info.name);
    zones.set(info.labels[benchZoneKey]!, (zones.get(info.labels[benchZoneKey]!) ?? 0) + 1);
  }
  t.deepEqual([...zones.values()], [5, 5, 5, 5, 5]);
  t.is(new Set(w.nodes.map((n) => n.metadata?.name)).size, 25);
});

test('default pods: 100m / 500Mi, pending, unique uids, no constraints, creation order = index order', (t) => {
  const w = benchWorkload({ nodes: 3, pods: 50 });
  const infos = w.pods.map(newPodInfo);
  t.is(new Set(infos.map((p) => p.uid)).size, 50);
  for (const p of infos) {
    t.is(p.requests.milliCpu, 100);
    t.is(p.requests.memory, 500 * 1024 * 1024);
    t.is(p.nodeName, '');
    t.is(p.topologySpread.length, 0);
    t.is(p.affinity.requiredAntiAffinity.length, 0);
  }
  for (let i = 1; i < infos.length; i++) t.true(infos[i]!.creationMs > infos[i - 1]!.creationMs);
});

test('heavy pods: zone spread (DoNotSchedule), hostname spread (ScheduleAnyway), anti-affinity within groups', (t) => {
  const w = benchWorkload({ nodes: 10, pods: 25, constraints: 'spreadAndAntiAffinity', groupSize: 10 });
  const infos = w.pods.map(newPodInfo);
  const groups = new Map<string, number>();
  for (const p of infos) {
    t.deepEqual(p.topologySpread.map((c) => [c.topologyKey, c.whenUnsatisfiable, c.maxSkew]), [[benchZoneKey, 'DoNotSchedule', 1], [benchHostnameKey, 'ScheduleAnyway', 1]]);
    t.true(p.topologySpread.every((c) => c.selector?.(infos[0]!.labels) === true));
    const [term] = p.affinity.requiredAntiAffinity;
    t.is(p.affinity.requiredAntiAffinity.length, 1);
    t.is(term!.topologyKey, benchHostnameKey);
    const g = p.labels['group']!;
    groups.set(g, (groups.get(g) ?? 0) + 1);
    // The term selects exactly the pod's own group.
    t.deepEqual(infos.filter((q) => term!.selector?.(q.labels)).map((q) => q.labels['group']), infos.filter((q) => q.labels['group'] === g).map(() => g));
  }
  t.deepEqual([...groups.values()], [10, 10, 5]);
  t.throws(() => benchWorkload({ nodes: 5, pods: 10, constraints: 'spreadAndAntiAffinity', groupSize: 6 }), { message: /cannot fit on 5 nodes/ });
});
