/**
 * Issue 10's cluster acceptance on the HA control plane (threads, kubectl 1.32), the test acting
 * as scheduler and kubelets (kubelet-stand-in.ts): scaling, a rolling update bounded by maxSurge
 * and maxUnavailable at every moment of the pods' watch history, rollout undo, garbage collection
 * of a deleted Deployment, namespace deletion, a Job to completion, a StatefulSet's one pod per
 * identity, and NoExecute taint eviction.
 */
import { manifestPath } from '../fixtures/paths.js';
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';
import { KubeletStandIn, podImage, podsRef } from '../../tools/bench/kubelet-stand-in.js';
import { isPodReady, PodHistory, replay, until } from './pod-history.js';

const network = '127.78.6';
let shared: { cluster: Cluster; kubectl: Kubectl; client: KubeClient; kubelets: KubeletStandIn } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 12 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  const kubelets = new KubeletStandIn({ client, nodes: ['node-a', 'node-b'] });
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

const live = (pod: KubeObject) => pod.metadata?.deletionTimestamp === undefined;

async function podsOf(client: KubeClient, namespace: string, labelSelector: string): Promise<KubeObject[]> {
  return (await client.list(podsRef, { namespace, labelSelector })).items;
}

/** `n` live pods with the label, all Ready (and nothing terminating). */
async function readyPods(client: KubeClient, namespace: string, labelSelector: string, n: number, timeoutMs = 15_000): Promise<KubeObject[]> {
  return until(`${n} ready pods ${labelSelector} in ${namespace}`, async () => {
    const all = await podsOf(client, namespace, labelSelector);
    return all.length === n && all.every((p) => live(p) && isPodReady(p)) ? all : undefined;
  }, timeoutMs);
}

async function deploymentAvailable(kubectl: Kubectl, n: number): Promise<void> {
  const r = await kubectl(['rollout', 'status', 'deployment/nginx-deployment', '--timeout=20s'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`rollout status: ${r.stderr}`);
  await until(`${n} available`, async () => ((await kubectl(['get', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.status.availableReplicas}/{.status.replicas}'])).stdout === `${n}/${n}` ? true : undefined), 15_000);
}

test.serial('the seed Deployment: 2 ready pods, scaled to 10 and back to 2', async (t) => {
  const { kubectl, client } = started();
  t.is((await kubectl(['apply', '-f', manifestPath('nginx-deployment.yaml')])).code, 0);
  await deploymentAvailable(kubectl, 2);
  t.is((await kubectl(['scale', 'deployment/nginx-deployment', '--replicas=10'])).code, 0);
  await readyPods(client, 'default', 'app=nginx', 10);
  await deploymentAvailable(kubectl, 10);
  t.is((await kubectl(['scale', 'deployment/nginx-deployment', '--replicas=2'])).code, 0);
  const two = await readyPods(client, 'default', 'app=nginx', 2);
  t.is(two.length, 2);
  await deploymentAvailable(kubectl, 2);
});

test.serial('kubectl set image rolls within maxSurge and maxUnavailable at every moment; rollout undo restores the image', async (t) => {
  const { kubectl, client } = started();
  // 4 replicas, 25% defaults: maxSurge ceil(1) = 1, maxUnavailable floor(1) = 1 → 3..5 pods, ≥ 3 available.
  t.is((await kubectl(['scale', 'deployment/nginx-deployment', '--replicas=4'])).code, 0);
  await readyPods(client, 'default', 'app=nginx', 4);
  await deploymentAvailable(kubectl, 4);
  const history = new PodHistory(client, 'default');
  await history.start();
  const set = await kubectl(['set', 'image', 'deployment/nginx-deployment', 'nginx=nginx:1.16.1']);
  t.is(set.code, 0, set.stderr);
  await deploymentAvailable(kubectl, 4);
  const rolled = await readyPods(client, 'default', 'app=nginx', 4);
  t.deepEqual(rolled.map(podImage), ['nginx:1.16.1', 'nginx:1.16.1', 'nginx:1.16.1', 'nginx:1.16.1']);
  history.stop();
  t.true(history.complete, 'the watch history has no gap (no relist)');

  let minAvailable = Infinity;
  let maxPods = 0;
  let maxWithTerminating = 0;
  let moments = 0;
  replay(history.events.filter((e) => (e.pod.metadata?.labels ?? {})['app'] === 'nginx'), (pods) => {
    const all = [...pods.values()];
    minAvailable = Math.min(minAvailable, all.filter((p) => live(p) && isPodReady(p)).length);
    maxPods = Math.max(maxPods, all.filter(live).length);
    maxWithTerminating = Math.max(maxWithTerminating, all.length);
    moments++;
  });
  t.log(`${moments} moments: min available ${minAvailable}, max pods ${maxPods} (${maxWithTerminating} counting terminating ones)`);
  t.true(moments > 8, 'the history saw the rollout');
  t.true(minAvailable >= 3, `available fell to ${minAvailable} (< replicas - maxUnavailable = 3)`);
  t.true(maxPods <= 5, `${maxPods} pods at once (> replicas + maxSurge = 5)`);

  const undo = await kubectl(['rollout', 'undo', 'deployment/nginx-deployment']);
  t.is(undo.code, 0, undo.stderr);
  await deploymentAvailable(kubectl, 4);
  const undone = await until('the old image back on every pod', async () => {
    const pods = await podsOf(client, 'default', 'app=nginx');
    return pods.length === 4 && pods.every((p) => live(p) && isPodReady(p) && podImage(p) === 'nginx:1.14.2') ? pods : undefined;
  }, 15_000);
  t.is(undone.length, 4);
  t.is((await kubectl(['get', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout, 'nginx:1.14.2');
});

test.serial('deleting the Deployment: the garbage collector removes its ReplicaSets and pods', async (t) => {
  const { kubectl, client } = started();
  t.true((await kubectl(['get', 'rs', '-l', 'app=nginx', '-o', 'name'])).stdout.trim().split('\n').length >= 2, 'two revisions kept');
  t.is((await kubectl(['delete', 'deployment/nginx-deployment', '--wait=false'])).code, 0);
  await until('no ReplicaSet and no pod of app=nginx', async () => {
    const rs = await client.list({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }, { namespace: 'default', labelSelector: 'app=nginx' });
    const pods = await podsOf(client, 'default', 'app=nginx');
    return rs.items.length === 0 && pods.length === 0 ? true : undefined;
  }, 15_000);
  t.pass();
});

test.serial('deleting a namespace empties it, then it goes away', async (t) => {
  const { kubectl, client } = started();
  t.is((await kubectl(['create', 'namespace', 'doomed'])).code, 0);
  t.is((await kubectl(['-n', 'doomed', 'create', 'deployment', 'web', '--image=nginx:1.14.2', '--replicas=2'])).code, 0);
  t.is((await kubectl(['-n', 'doomed', 'create', 'configmap', 'settings', '--from-literal=a=b'])).code, 0);
  await readyPods(client, 'doomed', 'app=web', 2);
  t.is((await kubectl(['delete', 'namespace', 'doomed', '--wait=false'])).code, 0);
  await until('namespace doomed gone', async () => {
    const r = await kubectl(['get', 'namespace', 'doomed']);
    return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
  }, 20_000);
  t.is((await podsOf(client, 'doomed', '')).length, 0);
  t.is((await client.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { namespace: 'doomed' })).items.length, 0);
});

test.serial('a Job completes when its pod succeeds', async (t) => {
  const { kubectl } = started();
  t.is((await kubectl(['create', 'job', 'pi', '--image=perl:5.34', '--', 'perl', '-e', 'print 3.14'])).code, 0);
  const wait = await kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=15s'], { timeoutMs: 20_000 });
  t.is(wait.code, 0, wait.stderr);
  t.is((await kubectl(['get', 'job', 'pi', '-o', 'jsonpath={.status.succeeded}'])).stdout, '1');
});

const statefulSet = `
apiVersion: v1
kind: Service
metadata: { name: web }
spec: { clusterIP: None, selector: { app: web-sts }, ports: [{ port: 80 }] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web }
spec:
  serviceName: web
  replicas: 3
  selector: { matchLabels: { app: web-sts } }
  template:
    metadata: { labels: { app: web-sts } }
    spec: { containers: [{ name: nginx, image: nginx:1.14.2 }] }
`;

test.serial('a StatefulSet never has two pods of one identity (from the watch history), web-0..2 in order', async (t) => {
  const { kubectl, client } = started();
  const history = new PodHistory(client, 'default');
  await history.start();
  const applied = await kubectl(['apply', '-f', '-'], { input: statefulSet });
  t.is(applied.code, 0, applied.stderr);
  const first = await readyPods(client, 'default', 'app=web-sts', 3);
  t.deepEqual(first.map((p) => p.metadata!.name).sort(), ['web-0', 'web-1', 'web-2']);
  const oldUid = first.find((p) => p.metadata!.name === 'web-1')!.metadata!.uid;
  t.is((await kubectl(['delete', 'pod', 'web-1', '--wait=false'])).code, 0);
  const again = await until('web-1 recreated and ready', async () => {
    const pods = await readyPods(client, 'default', 'app=web-sts', 3).catch(() => undefined);
    return pods?.find((p) => p.metadata!.name === 'web-1' && p.metadata!.uid !== oldUid);
  }, 15_000);
  t.truthy(again);
  history.stop();
  t.true(history.complete, 'the watch history has no gap');

  const violations: string[] = [];
  const createdOrder: string[] = [];
  const alive = new Map<string, string>();
  for (const e of history.events) {
    if ((e.pod.metadata?.labels ?? {})['app'] !== 'web-sts') continue;
    const name = e.pod.metadata!.name!;
    const uid = e.pod.metadata!.uid!;
    const current = alive.get(name);
    if (e.type === 'DELETED') {
      if (current === uid) alive.delete(name);
    } else if (current === undefined) {
      alive.set(name, uid);
      createdOrder.push(name);
    } else if (current !== uid) violations.push(`${name}: ${uid} appeared while ${current} lived`);
  }
  t.deepEqual(violations, []);
  t.deepEqual(createdOrder, ['web-0', 'web-1', 'web-2', 'web-1'], 'ordered creation, then web-1 again');
});

test.serial('a NoExecute taint evicts the pods that do not tolerate it, and only those', async (t) => {
  const { kubectl, client } = started();
  const pinned = (name: string, tolerate: boolean): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'taints' } },
    spec: {
      nodeName: 'node-b', containers: [{ name: 'c', image: 'nginx:1.14.2' }],
      ...(tolerate ? { tolerations: [{ key: 'example.com/drain', operator: 'Exists', effect: 'NoExecute' }] } : {}),
    },
  });
  await client.create(podsRef, pinned('victim', false));
  await client.create(podsRef, pinned('tolerant', true));
  await readyPods(client, 'default', 'app=taints', 2);
  const taint = await kubectl(['taint', 'nodes', 'node-b', 'example.com/drain=now:NoExecute']);
  t.is(taint.code, 0, taint.stderr);
  const left = await until('only the tolerant pod left', async () => {
    const pods = await podsOf(client, 'default', 'app=taints');
    return pods.length === 1 ? pods : undefined;
  }, 10_000);
  t.is(left[0]!.metadata!.name, 'tolerant');
  t.true(live(left[0]!));
});
