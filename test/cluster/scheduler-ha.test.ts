/**
 * The scheduler's high availability on the 3-master control plane (threads): 1,000 pods wait for
 * nodes; the nodes appear, and while the pods are being bound the master of the active scheduler
 * is killed. Another scheduler is active within the protocol's bound (leaseDuration, or the
 * moment the survivors accept writes again, + retryPeriod + its catch-up list + timer lateness;
 * the 2 s target is measured by `npm run bench -- scheduler`), every pod ends up bound, and the history of
 * bindings shows no pod bound twice (its nodeName never changes once set, and no surviving
 * apiserver accepted two bindings of one pod) and no node over-committed (pods and CPU).
 */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import type { SchedulerStatus } from '../../src/scheduler/messages.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { freePort, killForTakeover } from './helpers.js';
import { KubeletStandIn, podsRef } from '../../tools/bench/kubelet-stand-in.js';
import { PodHistory, until } from './pod-history.js';

const network = '127.78.11';
const podCount = 1_000;
const nodeNames = Array.from({ length: 20 }, (_, i) => `node-${i + 1}`);
/** 20 nodes × 55 pods: room for the 1,000 with little to spare, so an over-commit would show. */
const allocatable = { cpu: '6', memory: '64Gi', pods: '55' };
const podCpuMilli = 100;
const failoverTargetMs = 2_000;

const hostOf = (identity: string) => identity.split('/')[0]!;
const nodeOf = (p: KubeObject) => (p['spec'] as { nodeName?: string }).nodeName ?? '';

async function activeScheduler(cluster: Cluster, except?: string): Promise<SchedulerStatus> {
  return until('one active scheduler', async () => {
    const a = (await cluster.schedulerStatus(500)).filter((s) => s.active);
    return a.length === 1 && a[0]!.identity !== except ? a[0] : undefined;
  }, 15_000);
}

async function createPods(client: KubeClient): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < podCount; i = next++) {
      await client.create(podsRef, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: `burst-${i}`, namespace: 'default', labels: { app: 'burst' } },
        spec: { containers: [{ name: 'c', image: 'nginx:1.14.2', resources: { requests: { cpu: `${podCpuMilli}m` } } }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

test('killing the active scheduler\'s master during a burst of 1,000 pending pods: a successor within the Lease bound, every pod bound exactly once, no node over-committed', async (t) => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 17 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  // Pods stay Pending on their nodes: the test is about binding, not about running them.
  const kubelets = new KubeletStandIn({ client, nodes: nodeNames, allocatable, outcome: () => 'Pending' });
  const history = new PodHistory(client, 'default');
  try {
    await history.start();
    const leader = await activeScheduler(cluster);
    // No nodes yet: every pod is created, tried, and backs off ("no nodes available").
    await createPods(client);
    await until('every pod tried', async () => ((await cluster.schedulerStatus(500)).find((s) => s.active)?.counts.attempts ?? 0) >= podCount ? true : undefined, 30_000);
    // Nodes appear: binding begins.
    await kubelets.start();
    await until('binding under way', () => {
      const bound = new Set(history.events.filter((e) => nodeOf(e.pod) !== '').map((e) => e.pod.metadata!.name));
      return bound.size >= 50 ? true : undefined;
    }, 30_000);
    const kill = await killForTakeover(cluster, hostOf(leader.identity));
    const successor = await activeScheduler(cluster, leader.identity);
    const takeoverMs = successor.intervals.intervals.at(-1)!.startMs - kill.killedAtMs;
    // The election's bound (see killForTakeover), then the new leader's catch-up list. The 2 s
    // target itself is the benchmark's (scheduler_failover_p99_ms), not a timed assertion on a
    // shared CI machine.
    const catchUpMs = successor.lastCatchUpMs ?? 0;
    const { boundMs, writableMs, lateMs } = await kill.bound(catchUpMs);
    t.log(`killed ${hostOf(leader.identity)}; ${successor.identity} active ${Math.round(takeoverMs)} ms later (target ${failoverTargetMs} ms; bound ${Math.round(boundMs)} ms: writable after ${writableMs} ms, catch-up ${Math.round(catchUpMs)} ms, timers up to ${Math.round(lateMs)} ms late)`);
    t.true(takeoverMs <= boundMs, `takeover took ${takeoverMs} ms, more than the bound (${boundMs} ms)`);

    const all = await until('every pod bound', async () => {
      const pods = (await client.list<KubeObject>(podsRef, { namespace: 'default', labelSelector: 'app=burst' })).items;
      return pods.length === podCount && pods.every((p) => nodeOf(p) !== '') ? pods : undefined;
    }, 60_000);

    // From the watch history: once a pod has a node it keeps it.
    t.true(history.complete, 'the pod history saw every change (no relist)');
    const firstNode = new Map<string, string>();
    const rebinds: string[] = [];
    for (const e of history.events) {
      const node = nodeOf(e.pod);
      if (node === '') continue;
      const name = e.pod.metadata!.name!;
      const first = firstNode.get(name);
      if (first === undefined) firstNode.set(name, node);
      else if (first !== node) rebinds.push(`${name}: ${first} then ${node}`);
    }
    t.deepEqual(rebinds, [], 'pods whose node changed');
    // From the surviving apiservers' audit: no pod had two bindings accepted.
    const audit = await cluster.auditEvents();
    const accepted = new Map<string, number>();
    for (const e of audit.events) {
      if (e.objectRef.subresource === 'binding' && e.responseStatus.code === 201) accepted.set(e.objectRef.name ?? '', (accepted.get(e.objectRef.name ?? '') ?? 0) + 1);
    }
    t.deepEqual([...accepted].filter(([, n]) => n > 1), [], 'pods with two accepted bindings');
    // No node holds more than its allocatable.
    const perNode = new Map<string, number>();
    for (const p of all) perNode.set(nodeOf(p), (perNode.get(nodeOf(p)) ?? 0) + 1);
    const over = [...perNode].filter(([, n]) => n > Number(allocatable.pods) || n * podCpuMilli > Number(allocatable.cpu) * 1000);
    t.deepEqual(over, [], 'over-committed nodes');
    t.true([...perNode.keys()].every((n) => nodeNames.includes(n)));
  } finally {
    history.stop();
    kubelets.stop();
    await cluster.stop();
  }
});
