/**
 * The controller-manager's high availability on the 3-master control plane (threads):
 * - a partition isolating the leader's master (its controller-manager still runs and still
 *   reaches its own apiserver, which has lost etcd's quorum): its term ends by renewDeadline after
 *   the cut, no apiserver's audit log shows a write from it received afterwards, a successor on the majority converges the
 *   cluster, and no two terms overlap;
 * - then killing the master of the Lease holder in the middle of a rollout: another instance is
 *   active within the Lease's bound (leaseDuration after the last renew was observed, or the moment the
 *   survivors accept writes again, + a retryPeriod; plus the timer lateness measured meanwhile) and the
 *   rollout completes.
 * The partition comes first so that neither needs a restarted master (see the controllers
 * benchmark: a restarted master's apiserver can stall writes for seconds when the etcd leader dies).
 */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import { leaderElectionProfiles } from '../../src/client/leader-election.js';
import type { ActiveInterval, ControllerManagerStatus } from '../../src/controllers/messages.js';
import { address } from '../../src/primitives/address.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { freePort, kubectlFor, killForTakeover, type Kubectl } from './helpers.js';
import { KubeletStandIn, podImage, podsRef } from '../../tools/bench/kubelet-stand-in.js';
import { isPodReady, until } from './pod-history.js';

const network = '127.78.7';
const fast = leaderElectionProfiles.fast;
const newImage = 'nginx:1.16.1';
const deployment = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ha-web }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ha-web } }
  template:
    metadata: { labels: { app: ha-web } }
    spec: { containers: [{ name: nginx, image: nginx:1.14.2 }] }
`;

/** While true, the stand-in leaves pods of the new image Pending: the rollout stops half-way. */
let holdNewPods = false;
let shared: { cluster: Cluster; kubectl: Kubectl; client: KubeClient; kubelets: KubeletStandIn } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 13 });
  const client = new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  const kubelets = new KubeletStandIn({ client, outcome: (pod) => (holdNewPods && podImage(pod) === newImage ? 'Pending' : 'Running') });
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
const hostOf = (identity: string) => identity.split('/')[0]!;

async function theLeader(cluster: Cluster, except?: string): Promise<ControllerManagerStatus> {
  return until('one active controller-manager', async () => {
    const a = activeOnes(await cluster.controllerManagerStatus(500));
    return a.length === 1 && a[0]!.identity !== except ? a[0] : undefined;
  }, 10_000);
}

function assertNoOverlap(t: { true: (v: boolean, m?: string) => void }, intervals: readonly ActiveInterval[]): void {
  const terms = [...intervals].sort((a, b) => a.startMs - b.startMs);
  for (let i = 1; i < terms.length; i++) {
    t.true((terms[i - 1]!.endMs ?? Infinity) <= terms[i]!.startMs, `overlapping terms ${JSON.stringify(terms[i - 1])} and ${JSON.stringify(terms[i])}`);
  }
}

async function pods(client: KubeClient): Promise<KubeObject[]> {
  return (await client.list(podsRef, { namespace: 'default', labelSelector: 'app=ha-web' })).items;
}

test.serial('a partitioned leader: its term ends by renewDeadline, it writes nothing afterwards, a successor converges and no terms overlap', async (t) => {
  const { cluster, client, kubectl } = started();
  t.is((await kubectl(['apply', '-f', '-'], { input: deployment(2) })).code, 0);
  const ready = await kubectl(['rollout', 'status', 'deployment/ha-web', '--timeout=20s'], { timeoutMs: 30_000 });
  t.is(ready.code, 0, ready.stderr);
  const leader = await theLeader(cluster);
  const victim = hostOf(leader.identity);
  const others = cluster.masters.filter((m) => m !== victim);
  // The test's own client and stand-in must not lean on the isolated apiserver (it would time out).
  const majority = new KubeClient({ transport: cluster.apiTransport({ servers: others.map((m) => address(m, 'apiserver')), attemptTimeoutMs: 2_000 }), clock: new RealClock() });
  let fence: { identity: string; endMs: number; successorStartMs: number } | undefined;
  const cutAt = Date.now();
  const partition = await cluster.system.network.inject({ kind: 'partition', groups: [[victim], others] });
  try {
    const successor = await theLeader(cluster, leader.identity);
    const status = async (identity: string) => (await cluster.controllerManagerStatus(500)).find((s) => s.identity === identity);
    const old = await until('the old leader standing down', async () => {
      const s = await status(leader.identity);
      return s !== undefined && !s.active ? s : undefined;
    }, 5_000);
    const oldTerm = old.intervals.at(-1)!;
    const newTerm = successor.intervals.at(-1)!;
    const endedAfterMs = oldTerm.endMs! - cutAt;
    const takeoverMs = newTerm.startMs - cutAt;
    t.log(`cut ${victim} off; its term ended ${Math.round(endedAfterMs)} ms after the cut, ${successor.identity} active after ${Math.round(takeoverMs)} ms; old leader's actions ${JSON.stringify(old.actions)}`);
    // The last successful renew was sent before the cut; leadership lapses renewDeadline after it
    // (the slack is timer lateness on a loaded machine).
    t.true(endedAfterMs <= fast.renewDeadlineMs + 250, `the old term ended ${endedAfterMs} ms after the cut (renewDeadline ${fast.renewDeadlineMs} ms)`);
    t.true(oldTerm.endMs! <= newTerm.startMs, 'the successor started after the old term ended');

    // Work for the successor while the partition holds; the old leader must write none of it.
    const okAtEnd = old.actions.ok;
    // Idempotent, so retried: the majority may be electing a new etcd leader right now.
    await until('the scale accepted', () => majority.scale({ apiVersion: 'apps/v1', kind: 'Deployment' }, 'default', 'ha-web', 3).then(() => true, () => undefined), 10_000);
    await until('3 pods', async () => {
      const all = (await majority.list(podsRef, { namespace: 'default', labelSelector: 'app=ha-web' })).items;
      return all.length === 3 && all.every((p) => p.metadata?.deletionTimestamp === undefined) ? true : undefined;
    }, 15_000);
    const later = (await status(leader.identity))!;
    t.false(later.active);
    t.is(later.actions.ok, okAtEnd, `the isolated old leader completed writes after its term: ${JSON.stringify(later.actions)}`);
    t.is(later.intervals.length, old.intervals.length, 'and started no new term');
    fence = { identity: leader.identity, endMs: oldTerm.endMs!, successorStartMs: newTerm.startMs };
  } finally {
    await cluster.system.network.heal(partition);
  }
  // The apiservers' own record, not the writer's counters: every write they received from the old
  // leader (its Lease renewals aside: the elector keeps trying) arrived before its term ended.
  const audit = await cluster.auditEvents();
  t.deepEqual(audit.unreachable, [], 'every apiserver answered with its audit log');
  t.is(audit.dropped, 0, 'no audit event was pushed out of a ring');
  const byOldLeader = audit.events.filter((e) => e.userAgent.endsWith(` ${fence!.identity}`) && !(e.objectRef.resource === 'leases' && e.objectRef.name === 'kube-controller-manager'));
  t.true(byOldLeader.some((e) => e.requestReceivedMs < fence!.endMs), 'the audit holds the old leader\'s writes from its term (the check can see them)');
  const late = byOldLeader.filter((e) => e.requestReceivedMs > fence!.endMs);
  t.deepEqual(late.map((e) => `${e.verb} ${e.requestURI} ${e.responseStatus.code} at +${Math.round(e.requestReceivedMs - fence!.endMs)} ms (${e.apiserver})`), [],
    'writes by the old leader that its apiservers received after its term ended');
  await until('one active controller-manager after healing', async () => (activeOnes(await cluster.controllerManagerStatus(500)).length === 1 ? true : undefined), 10_000);
  assertNoOverlap(t, (await cluster.controllerManagerStatus()).flatMap((s) => s.intervals));
  t.is((await pods(client)).length, 3);
});

test.serial('killing the Lease holder\'s master mid-rollout: a successor is active within leaseDuration + retryPeriod and the rollout completes', async (t) => {
  const { cluster, kubectl, client, kubelets } = started();
  t.is((await kubectl(['apply', '-f', '-'], { input: deployment(6) })).code, 0);
  const ready = await kubectl(['rollout', 'status', 'deployment/ha-web', '--timeout=20s'], { timeoutMs: 30_000 });
  t.is(ready.code, 0, `${ready.stderr}; schedulers ${JSON.stringify(await cluster.schedulerStatus(500))}; pods ${JSON.stringify((await pods(client)).map((p) => [p.metadata?.name, (p['spec'] as { nodeName?: string }).nodeName, p['status']]))}`);

  holdNewPods = true;
  t.is((await kubectl(['set', 'image', 'deployment/ha-web', `nginx=${newImage}`])).code, 0);
  // Half-way: new pods exist (Pending, held), old ones still serve.
  await until('new pods created and held', async () => {
    const all = await pods(client);
    return all.some((p) => podImage(p) === newImage) && all.some((p) => podImage(p) !== newImage) ? true : undefined;
  }, 10_000);
  const leader = await theLeader(cluster);
  const victim = hostOf(leader.identity);
  const kill = await killForTakeover(cluster, victim);
  const successor = await theLeader(cluster, leader.identity);
  const takeoverMs = successor.intervals.at(-1)!.startMs - kill.killedAtMs;
  const { boundMs, writableMs, lateMs } = await kill.bound();
  t.log(`killed ${victim}; ${successor.identity} active ${Math.round(takeoverMs)} ms later (bound ${Math.round(boundMs)} ms: writable after ${writableMs} ms, timers up to ${Math.round(lateMs)} ms late)`);
  t.true(takeoverMs <= boundMs, `takeover took ${takeoverMs} ms, more than leaseDuration + retryPeriod + timer lateness (${boundMs} ms)`);

  holdNewPods = false;
  kubelets.resync();
  const done = await kubectl(['rollout', 'status', 'deployment/ha-web', '--timeout=20s'], { timeoutMs: 30_000 });
  t.is(done.code, 0, done.stderr);
  let seen = '';
  const after = await until('6 ready pods of the new image', async () => {
    const all = await pods(client);
    seen = JSON.stringify(all.map((p) => [p.metadata?.name, podImage(p), isPodReady(p), p.metadata?.deletionTimestamp ?? '']));
    return all.length === 6 && all.every((p) => p.metadata?.deletionTimestamp === undefined && isPodReady(p) && podImage(p) === newImage) ? all : undefined;
  }, 15_000).catch(() => []);
  t.is(after.length, 6, `pods: ${seen}; stand-in ${JSON.stringify(kubelets.stats)}`);
  assertNoOverlap(t, (await cluster.controllerManagerStatus()).flatMap((s) => s.intervals));
});
