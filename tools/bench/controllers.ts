/**
 * controllers benchmark, on the HA control plane (3 masters on threads, Raft etcd, the
 * controller-manager and the scheduler on every master, one of each active): a Deployment of N
 * replicas, bound by the scheduler to 10 nodes whose kubelet stand-in (tools/bench/kubelet-stand-in.ts)
 * marks them Running and Ready in bulk as they come;
 * - pods_created_per_s: N / the time from the Deployment's create until N pods exist (the
 *   ReplicaSet controller's slow-start batches through the actor protocol and the apiservers);
 * - deployment_<N>_available_s (deployment_10k_available_s at the default N): until the
 *   Deployment's status reports N available;
 * - cm_failover_p50_ms / cm_failover_p99_ms: kill the master of the Lease holder (with the N pods
 *   in every cache), time until another instance's term starts; the master is restarted between
 *   kills.
 * Args: --replicas N (default 10000) --kills K (default 10) --timeout-s S (default 900).
 */
import type { KubeObject } from '../../src/api/index.js';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { Informer } from '../../src/client/informer.js';
import type { ControllerManagerStatus } from '../../src/controllers/messages.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { burstReplicas } from '../../src/controllers/replicaset.js';
import { failoverTrials, until } from './failover.js';
import { KubeletStandIn, podsRef } from './kubelet-stand-in.js';
import { printResult, quantile, round, sortedCopy, numberArg } from './stats.js';

const network = '127.77.253';
const deploymentsRef = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;



/** Times at which each slow-start batch's last pod was seen (batches 1, 2, 4, ... restarting every burstReplicas). */
function batchTimes(addedAtMs: readonly number[]): string {
  const out: string[] = [];
  let prev = 0;
  for (let start = 0; start < addedAtMs.length; start += burstReplicas) {
    for (let done = 0, batch = 1; done < burstReplicas && start + done < addedAtMs.length; batch *= 2) {
      const size = Math.min(batch, burstReplicas - done, addedAtMs.length - start - done);
      done += size;
      const at = addedAtMs[start + done - 1]!;
      out.push(`${size}:+${Math.round(at - prev)}ms`);
      prev = at;
    }
  }
  return out.join(' ');
}


const activeOnes = (all: readonly ControllerManagerStatus[]) => all.filter((s) => s.active);

/** The figure's name says what it measured: N available, named in thousands when round. */
function availableMetric(replicas: number): string {
  return replicas % 1000 === 0 ? `deployment_${replicas / 1000}k_available_s` : `deployment_${replicas}_available_s`;
}

export async function run(args: string[]): Promise<void> {
  const replicas = Math.floor(numberArg(args, 'replicas', 10_000));
  const kills = Math.floor(numberArg(args, 'kills', 10));
  const timeoutMs = numberArg(args, 'timeout-s', 900) * 1000;
  const cluster = await Cluster.start({ apiserverNetwork: network, frontDoor: { host: `${network}.100`, port: 0 }, seed: 7 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 5_000 }), clock: new RealClock() });
  const nodes = Array.from({ length: 10 }, (_, i) => `node-${i + 1}`);
  // The scheduler spreads the pods over the nodes; each must hold its share of the N.
  const allocatable = { cpu: '1000', memory: '4Ti', pods: String(Math.ceil((2 * replicas) / nodes.length)) };
  const standIn = new KubeletStandIn({ client, nodes, allocatable, concurrency: 64, retryMs: 500 });
  const pods = new Informer<KubeObject>({ client, resource: podsRef, namespace: 'default' });
  try {
    // Nodes first; the pods are acted on once all N exist, so the create rate is the controller's alone.
    await standIn.registerNodes();
    pods.start();
    await pods.waitForSync();
    const leader = await until('an active controller-manager', async () => activeOnes(await cluster.controllerManagerStatus(500))[0], 20_000);
    console.log(`HA control plane up: ${cluster.masters.length} masters, ${leader.identity} holds the controller-manager Lease`);

    // 1. N pods from one Deployment.
    let created = 0;
    let createdAtMs: number | undefined;
    const began = performance.now();
    const addedAtMs: number[] = [];
    pods.addEventHandler({
      onAdd: (_, initial) => {
        if (initial) return;
        addedAtMs.push(performance.now() - began);
        if (++created === replicas) {
          createdAtMs = performance.now();
          void standIn.start();
        }
      },
    });
    await client.create(deploymentsRef, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench', namespace: 'default' },
      spec: {
        replicas, selector: { matchLabels: { app: 'bench' } },
        template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.14.2' }] } },
      },
    });
    let lastReport = began;
    let availableAtMs: number | undefined;
    await until(`${replicas} available`, async () => {
      const d = await client.get(deploymentsRef, 'default', 'bench').catch(() => undefined);
      const available = (d?.['status'] as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0;
      const now = performance.now();
      if (now - lastReport > 5_000) {
        lastReport = now;
        console.log(`  ${round((now - began) / 1000, 1)} s: ${created} pods created, ${available} available; stand-in ${JSON.stringify(standIn.stats)}`);
      }
      if (available >= replicas) availableAtMs = now;
      return available >= replicas ? true : undefined;
    }, timeoutMs, 200);
    const createdS = ((createdAtMs ?? availableAtMs!) - began) / 1000;
    const availableS = (availableAtMs! - began) / 1000;
    console.log(`${replicas} pods created in ${round(createdS, 2)} s (${round(replicas / createdS)} pods/s); ${replicas} available after ${round(availableS, 2)} s`);
    console.log(`  stand-in writes: ${JSON.stringify(standIn.stats)}`);
    console.log(`  where the create time goes (slow-start batches 1, 2, 4, ... of at most ${burstReplicas} per sync): ${batchTimes(addedAtMs)}`);

    // 2. Failover with N pods in every cache.
    const failovers = await failoverTrials(cluster, client, {
      name: 'controller-manager',
      instances: async (timeoutMs) => (await cluster.controllerManagerStatus(timeoutMs)).map((s) => ({ identity: s.identity, active: s.active, lastTermStartMs: s.intervals.at(-1)?.startMs })),
    }, kills);
    const sorted = sortedCopy(failovers);
    console.log(`controller-manager failover over ${kills} kills: p50 ${Math.round(quantile(sorted, 0.5))} ms, p99 ${Math.round(quantile(sorted, 0.99))} ms, max ${Math.round(sorted.at(-1)!)} ms`);
    printResult('controllers', {
      replicas,
      pods_created_per_s: round(replicas / createdS),
      [availableMetric(replicas)]: round(availableS, 2),
      cm_failover_p50_ms: Math.round(quantile(sorted, 0.5)),
      cm_failover_p99_ms: Math.round(quantile(sorted, 0.99)),
      kills,
    });
  } finally {
    pods.stop();
    standIn.stop();
    await cluster.stop();
  }
}
