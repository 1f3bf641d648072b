/** The incremental snapshot must equal a snapshot rebuilt from scratch after any sequence of changes. */
import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { SchedulerCache, Snapshot } from '../../src/scheduler/cache.js';
import type { NodeInfo, PodInfo } from '../../src/scheduler/types.js';
import { node, pod } from './fixtures.js';

function summary(s: Snapshot): string[] {
  const row = (n: NodeInfo) => `${n.name} cpu=${n.requested.milliCpu}/${n.allocatable.milliCpu} pods=${n.pods.map((p) => p.name).sort().join(',')} zone=${n.labels['topology.kubernetes.io/zone'] ?? ''} anti=${n.podsWithRequiredAntiAffinity.length}`;
  return [...s.nodes.map(row), `affinity: ${s.havePodsWithRequiredAntiAffinity.map((n) => n.name).join(',')}`, `images: ${s.imageNodeCount('img:1')}`];
}

test('incremental snapshots (two of them, updated at different times) match fresh ones through random changes', (t) => {
  const prng = new SeededPrng(11);
  const cache = new SchedulerCache(0);
  const a = new Snapshot(); const b = new Snapshot();
  const placed = new Map<string, PodInfo>();
  const anti = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  let seq = 0;
  for (let step = 0; step < 600; step++) {
    const n = `n${prng.int(12)}`;
    const op = prng.int(7);
    if (op === 0) {
      const withImage = prng.int(2) === 0;
      const obj = node(n, { cpu: `${1 + prng.int(8)}`, labels: { 'topology.kubernetes.io/zone': `z${prng.int(3)}` } });
      if (withImage) (obj['status'] as Record<string, unknown>)['images'] = [{ names: ['img:1'], sizeBytes: 1000 }];
      cache.addNode(obj);
    } else if (op === 1) cache.removeNode(n);
    else if (op <= 4) {
      const p = pod(`p${seq++}`, { cpu: `${100 * (1 + prng.int(5))}m`, node: n, ...(prng.int(4) === 0 ? { spec: anti } : {}) });
      if (prng.int(2) === 0) cache.addPod(p); else cache.assumePod(p, n);
      placed.set(p.uid, p);
    } else if (placed.size > 0) {
      const uids = [...placed.keys()];
      const uid = uids[prng.int(uids.length)]!;
      placed.delete(uid);
      if (op === 5) cache.removePod(uid); else { cache.forgetPod(uid); cache.removePod(uid); }
    }
    if (prng.int(3) === 0) cache.updateSnapshot(a);
    if (prng.int(5) === 0) cache.updateSnapshot(b);
    if (step % 50 === 49) {
      const fresh = new Snapshot();
      cache.updateSnapshot(fresh);
      cache.updateSnapshot(a); cache.updateSnapshot(b);
      t.deepEqual(summary(a), summary(fresh), `step ${step}`);
      t.deepEqual(summary(b), summary(fresh), `step ${step}`);
    }
  }
});

test('a node update that keeps its zone does not reorder; a snapshot still sees the new allocatable', (t) => {
  const cache = new SchedulerCache(0);
  for (const n of ['a', 'b', 'c']) cache.addNode(node(n, { labels: { 'topology.kubernetes.io/zone': n === 'b' ? 'z2' : 'z1' } }));
  const s = new Snapshot();
  cache.updateSnapshot(s);
  const order = s.nodes.map((n) => n.name);
  cache.updateNode(node('a', { cpu: '16', labels: { 'topology.kubernetes.io/zone': 'z1' } }));
  cache.updateSnapshot(s);
  t.deepEqual(s.nodes.map((n) => n.name), order);
  t.is(s.get('a')!.allocatable.milliCpu, 16_000);
  t.is(s.nodes.find((n) => n.name === 'a')!.allocatable.milliCpu, 16_000);
});
