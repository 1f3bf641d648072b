/**
 * The controller-manager on the HA control plane (threads, the real kubectl 1.32): the seed's
 * Deployment gets its ReplicaSet and pods; with the test acting as the kubelets (binding pods
 * and reporting them Running and Ready) `kubectl rollout status` completes; killing the master
 * whose controller-manager holds the Lease hands the work to another instance within the
 * fast profile's leaseDuration + retryPeriod (and the survivors' etcd election), and the active intervals never overlap.
 */
import { manifestPath } from '../fixtures/paths.js';
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import type { ControllerManagerStatus } from '../../src/controllers/messages.js';
import { freePort, killForTakeover, kubectlFor, type Kubectl } from './helpers.js';
import { KubeletStandIn, podsRef as pods } from '../../tools/bench/kubelet-stand-in.js';
import { until } from './pod-history.js';

const network = '127.78.5';
let shared: { cluster: Cluster; kubectl: Kubectl; client: KubeClient; kubelets: KubeletStandIn } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 11 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  const kubelets = new KubeletStandIn({ client });
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

const activeOnes = (all: readonly ControllerManagerStatus[]) => all.filter((s) => s.active);

test.serial('kubectl apply of the seed Deployment: a ReplicaSet, two pods, and rollout status completes', async (t) => {
  const { kubectl, cluster } = started();
  const active = await until('one active controller-manager', async () => {
    const a = activeOnes(await cluster.controllerManagerStatus());
    return a.length === 1 ? a : undefined;
  }, 10_000);
  t.regex(active[0]!.identity, /^master-\d\/controller-manager$/);
  const applied = await kubectl(['apply', '-f', manifestPath('nginx-deployment.yaml')]);
  t.is(applied.code, 0, applied.stderr);
  const r = await kubectl(['rollout', 'status', 'deployment/nginx-deployment', '--timeout=30s'], { timeoutMs: 40_000 });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /successfully rolled out/);
  t.regex((await kubectl(['get', 'rs', '-o', 'name'])).stdout, /replicaset.apps\/nginx-deployment-[a-z0-9]+/);
  t.is((await kubectl(['get', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.status.availableReplicas}'])).stdout, '2');
  t.regex((await kubectl(['get', 'events'])).stdout, /ScalingReplicaSet/);
});

test.serial('killing the master of the active controller-manager: another takes over within leaseDuration + retryPeriod and scales the Deployment', async (t) => {
  const { kubectl, client, cluster } = started();
  const [leader] = activeOnes(await cluster.controllerManagerStatus());
  if (leader === undefined) return t.fail('no active controller-manager');
  const host = leader.identity.split('/')[0]!;
  const kill = await killForTakeover(cluster, host);
  const successor = await until('a new active controller-manager', async () => {
    const a = activeOnes(await cluster.controllerManagerStatus(500));
    return a.length === 1 && a[0]!.identity !== leader.identity ? a[0] : undefined;
  }, 10_000);
  const takeoverMs = successor.intervals.at(-1)!.startMs - kill.killedAtMs;
  const { boundMs, writableMs, lateMs } = await kill.bound();
  t.log(`takeover ${Math.round(takeoverMs)} ms after the kill (bound ${Math.round(boundMs)} ms: writable after ${writableMs} ms, timers up to ${Math.round(lateMs)} ms late)`);
  t.true(takeoverMs <= boundMs, `takeover took ${takeoverMs} ms, more than leaseDuration + retryPeriod + timer lateness (${boundMs} ms)`);
  t.is((await kubectl(['scale', 'deployment/nginx-deployment', '--replicas=4'])).code, 0);
  await until('4 pods', async () => {
    return (await client.list(pods, { namespace: 'default' })).items.length === 4 ? true : undefined;
  }, 15_000);
  // Evidence, not assumption: the terms of the live instances do not overlap each other.
  const terms = (await cluster.controllerManagerStatus()).flatMap((s) => s.intervals).sort((a, b) => a.startMs - b.startMs);
  for (let i = 1; i < terms.length; i++) t.true((terms[i - 1]!.endMs ?? Infinity) <= terms[i]!.startMs, JSON.stringify(terms));
});
