/**
 * The scheduler on the HA control plane (threads, the real kubectl 1.32), with the test's
 * KubeletStandIn registering Node objects and running what gets bound: pods with requests fill
 * the nodes and the rest stay Pending with upstream's FailedScheduling message; a high-priority
 * pod preempts; required anti-affinity spreads replicas; a tainted master and a cordoned node take
 * no ordinary pods; `explainPod` gives the per-node table; a user's second scheduler (a custom
 * Score plugin, its own schedulerName) binds only its pods, and the default one only the others.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient, type ObjectList } from '../../src/client/index.js';
import type { KubeObject } from '../../src/api/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { Registry, type ScorePlugin } from '../../src/scheduler/framework.js';
import { parseSchedulerConfiguration } from '../../src/scheduler/config.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';
import { KubeletStandIn, podsRef } from '../../tools/bench/kubelet-stand-in.js';
import { until } from './pod-history.js';

const network = '127.78.15';
const nodesRef = { apiVersion: 'v1', kind: 'Node' } as const;
let shared: { cluster: Cluster; kubectl: Kubectl; client: KubeClient; kubelets: KubeletStandIn } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 21 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  const kubelets = new KubeletStandIn({ client, nodes: ['node-1', 'node-2', 'node-3'], allocatable: { cpu: '2', memory: '4Gi', pods: '110' } });
  shared = { cluster, kubectl: await kubectlFor(cluster.kubeconfigPath), client, kubelets };
  await kubelets.start();
});

test.after.always(async () => {
  shared?.kubelets.stop();
  await shared?.kubectl.close();
  await shared?.cluster.stop();
});

function started() {
  if (!shared) throw new Error('the cluster did not start');
  return shared;
}

const pod = (name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}, cpu = '100m'): KubeObject => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'nginx:1.14.2', resources: { requests: { cpu } } }], terminationGracePeriodSeconds: 0, ...spec },
});

async function podsOf(client: KubeClient, selector: string): Promise<KubeObject[]> {
  return (await client.list<KubeObject>(podsRef, { namespace: 'default', labelSelector: selector }) as ObjectList<KubeObject>).items;
}
const nodeOf = (p: KubeObject) => (p['spec'] as { nodeName?: string }).nodeName;
const condition = (p: KubeObject, type: string) => ((p['status'] as { conditions?: Array<Record<string, string>> } | undefined)?.conditions ?? []).find((c) => c['type'] === type);

async function deleteAll(client: KubeClient, selector: string): Promise<void> {
  await client.deleteCollection(podsRef, { namespace: 'default', labelSelector: selector, gracePeriodSeconds: 0 });
  await until(`pods ${selector} gone`, async () => ((await podsOf(client, selector)).length === 0 ? true : undefined), 10_000);
}

test.serial('exactly one scheduler is active, holding kube-system/kube-scheduler', async (t) => {
  const { cluster, client } = started();
  const active = await until('one active scheduler', async () => {
    const a = (await cluster.schedulerStatus()).filter((s) => s.active);
    return a.length === 1 ? a[0] : undefined;
  }, 10_000);
  const lease = await client.get<KubeObject & { spec: { holderIdentity: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' }, 'kube-system', 'kube-scheduler');
  t.is(lease.spec.holderIdentity, active.identity);
  t.deepEqual(active.profiles, ['default-scheduler']);
});

test.serial('pods with requests fill the nodes; the rest stay Pending with the FailedScheduling message and PodScheduled=False', async (t) => {
  const { client, kubectl } = started();
  // 3 nodes × 2 CPUs: three 1.5-CPU pods fit (one per node), the fourth and fifth cannot.
  for (let i = 0; i < 5; i++) await client.create(podsRef, pod(`fill-${i}`, { app: 'fill' }, {}, '1500m'));
  const placed = await until('three bound, two rejected', async () => {
    const all = await podsOf(client, 'app=fill');
    const bound = all.filter((p) => nodeOf(p) !== undefined);
    const rejected = all.filter((p) => condition(p, 'PodScheduled')?.['status'] === 'False');
    return bound.length === 3 && rejected.length === 2 ? { bound, rejected } : undefined;
  }, 15_000);
  t.deepEqual(placed.bound.map(nodeOf).sort(), ['node-1', 'node-2', 'node-3']);
  for (const p of placed.rejected) {
    t.is(condition(p, 'PodScheduled')?.['reason'], 'Unschedulable');
    t.is(condition(p, 'PodScheduled')?.['message'], '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.');
  }
  const events = await until('FailedScheduling events', async () => {
    const r = await kubectl(['get', 'events', '--field-selector', 'reason=FailedScheduling', '-o', 'jsonpath={range .items[*]}{.source.component} {.message}{"\\n"}{end}']);
    return r.stdout.includes('Insufficient cpu') ? r.stdout : undefined;
  }, 10_000);
  t.regex(events, /^default-scheduler 0\/3 nodes are available: 3 Insufficient cpu\./m);
  const explained = await started().cluster.explainPod(`default/${placed.rejected[0]!.metadata!.name!}`);
  t.truthy(explained.decision, 'the scheduler explains the rejected pod');
  t.deepEqual(explained.decision!.table.columns.slice(0, 1), ['NODE']);
  t.true(explained.decision!.table.columns.includes('NodeResourcesFit'));
  t.is(explained.decision!.table.rows.length, 3);
  t.true(explained.decision!.table.rows.every((r) => r.some((c) => c.includes('Insufficient cpu'))));
});

test.serial('a high-priority pod preempts a lower-priority one and is bound where it ran', async (t) => {
  const { client } = started();
  await client.create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass' }, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'urgent' }, value: 1000 });
  await client.create(podsRef, pod('vip', { app: 'vip' }, { priorityClassName: 'urgent' }, '1500m'));
  const vip = await until('vip bound', async () => {
    const [p] = await podsOf(client, 'app=vip');
    return p !== undefined && nodeOf(p) !== undefined ? p : undefined;
  }, 15_000);
  const fill = await podsOf(client, 'app=fill');
  t.is((vip['spec'] as { priority?: number }).priority, 1000);
  // The victim (priority 0) that ran on vip's node is gone; the pending fill pods did not take its place.
  t.deepEqual(fill.filter((p) => nodeOf(p) === nodeOf(vip)).map((p) => p.metadata!.name), []);
  t.is(fill.filter((p) => nodeOf(p) !== undefined).length, 2, 'one fill pod was preempted');
  const preempted = await until('a Preempted event', async () => (await started().kubectl(['get', 'events', '--field-selector', 'reason=Preempted', '-o', 'name'])).stdout.trim() || undefined, 10_000);
  t.truthy(preempted);
  await deleteAll(client, 'app in (fill,vip)');
});

test.serial('required anti-affinity spreads the replicas of a Deployment over the nodes', async (t) => {
  const { client, kubectl } = started();
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'spread', namespace: 'default' },
    spec: {
      replicas: 3, selector: { matchLabels: { app: 'spread' } },
      template: {
        metadata: { labels: { app: 'spread' } },
        spec: {
          containers: [{ name: 'c', image: 'nginx:1.14.2' }],
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'spread' } }, topologyKey: 'kubernetes.io/hostname' }] } },
        },
      },
    },
  };
  await client.create({ apiVersion: 'apps/v1', kind: 'Deployment' }, deployment);
  const r = await kubectl(['rollout', 'status', 'deployment/spread', '--timeout=30s'], { timeoutMs: 40_000 });
  t.is(r.code, 0, r.stderr);
  const nodes = (await podsOf(client, 'app=spread')).map(nodeOf).sort();
  t.deepEqual(nodes, ['node-1', 'node-2', 'node-3']);
  // A fourth replica has no node left.
  await client.scale({ apiVersion: 'apps/v1', kind: 'Deployment' }, 'default', 'spread', 4);
  const pending = await until('the fourth replica rejected', async () => (await podsOf(client, 'app=spread')).find((p) => condition(p, 'PodScheduled')?.['status'] === 'False'), 15_000);
  t.regex(condition(pending, 'PodScheduled')!['message']!, /^0\/3 nodes are available: 3 node\(s\) didn't match pod anti-affinity rules\./);
  await client.delete({ apiVersion: 'apps/v1', kind: 'Deployment' }, 'default', 'spread');
  await deleteAll(client, 'app=spread');
});

test.serial('a tainted master and a cordoned node take no ordinary pods; a toleration lets a pod onto the master', async (t) => {
  const { client, kubectl } = started();
  await client.create(nodesRef, {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'master-x', labels: { 'kubernetes.io/hostname': 'master-x', 'node-role.kubernetes.io/control-plane': '' } },
    spec: { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] },
    status: { allocatable: { cpu: '64', memory: '64Gi', pods: '110' }, capacity: { cpu: '64', memory: '64Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const cordon = await kubectl(['cordon', 'node-3']);
  t.is(cordon.code, 0, cordon.stderr);
  for (let i = 0; i < 6; i++) await client.create(podsRef, pod(`plain-${i}`, { app: 'plain' }));
  await client.create(podsRef, pod('tolerant', { app: 'tolerant' }, {
    nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
    tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
  }));
  const plain = await until('six plain pods bound', async () => {
    const all = await podsOf(client, 'app=plain');
    return all.length === 6 && all.every((p) => nodeOf(p) !== undefined) ? all : undefined;
  }, 15_000);
  t.true(plain.every((p) => nodeOf(p) === 'node-1' || nodeOf(p) === 'node-2'), plain.map(nodeOf).join(','));
  const tolerant = await until('tolerant pod bound', async () => {
    const [p] = await podsOf(client, 'app=tolerant');
    return p !== undefined && nodeOf(p) !== undefined ? p : undefined;
  }, 15_000);
  t.is(nodeOf(tolerant), 'master-x');
  t.is((await kubectl(['uncordon', 'node-3'])).code, 0);
  await client.delete(nodesRef, undefined, 'master-x');
  await deleteAll(client, 'app in (plain,tolerant)');
});

test.serial("a user's second scheduler with a custom Score plugin binds only its own pods; the default one only the others", async (t) => {
  const { cluster, client } = started();
  // Prefers the node whose name sorts last: visible in where its pods land.
  const lastName: ScorePlugin = {
    name: 'LastName',
    score: (_ctx, _pod, node) => Number(node.name.replace(/\D/g, '')) * 10,
  };
  const registry = new Registry([['LastName', () => ({ ok: true, plugin: lastName })]]);
  const config = parseSchedulerConfiguration(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: my-scheduler
    plugins:
      score:
        disabled: [{ name: '*' }]
        enabled: [{ name: LastName }]
`);
  if (!config.ok) return t.fail(config.errors.join('; '));
  const mine = Scheduler.create({ client, clock: new RealClock(), prng: new SeededPrng(3), identity: 'test/my-scheduler', config: config.value, registry, backoffScale: 0.1 });
  if (!mine.ok) return t.fail(mine.errors.join('; '));
  mine.value.start();
  try {
    for (let i = 0; i < 3; i++) await client.create(podsRef, pod(`mine-${i}`, { app: 'mine' }, { schedulerName: 'my-scheduler' }));
    for (let i = 0; i < 3; i++) await client.create(podsRef, pod(`theirs-${i}`, { app: 'theirs' }));
    const all = await until('six pods bound', async () => {
      const ps = await podsOf(client, 'app in (mine,theirs)');
      return ps.length === 6 && ps.every((p) => nodeOf(p) !== undefined) ? ps : undefined;
    }, 15_000);
    t.true(all.filter((p) => p.metadata!.labels!['app'] === 'mine').every((p) => nodeOf(p) === 'node-3'), 'LastName put every pod of my-scheduler on node-3');
    const audit = await cluster.auditEvents();
    const binders = new Map<string, string>();
    for (const e of audit.events) {
      if (e.objectRef?.subresource === 'binding' && e.responseStatus?.code === 201) binders.set(e.objectRef.name ?? '', e.user.username);
    }
    for (const p of all) {
      const name = p.metadata!.name!;
      t.is(binders.get(name), name.startsWith('mine-') ? 'admin' : 'system:kube-scheduler', `${name} bound by its own scheduler`);
    }
    t.is(mine.value.status().counts.bound, 3);
  } finally {
    await mine.value.stop();
  }
  await deleteAll(client, 'app in (mine,theirs)');
});
