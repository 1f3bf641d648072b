import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { deploymentController, revisionAnnotation } from '../../src/controllers/deployment.js';
import { isPodAvailable, kinds } from '../../src/controllers/framework/index.js';
import { replicaSetController } from '../../src/controllers/replicaset.js';
import { Kubelet, Sim } from './sim.js';

const deployment = (name: string, replicas: number, image: string, strategy?: Record<string, unknown>) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
  spec: {
    replicas, selector: { matchLabels: { app: name } }, ...(strategy === undefined ? {} : { strategy }),
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
  },
});

const live = (pods: readonly KubeObject[]) => pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
const imageOf = (p: KubeObject) => ((p['spec'] as { containers: Array<{ image: string }> }).containers[0]!.image);

async function start(): Promise<{ sim: Sim; kubelet: Kubelet }> {
  const sim = await Sim.start([deploymentController, replicaSetController]);
  return { sim, kubelet: new Kubelet(sim) };
}

async function setImage(sim: Sim, name: string, image: string): Promise<void> {
  await sim.client.patch(kinds.deployment, 'default', name, { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } }, { type: 'strategic' });
  await sim.refresh();
}

test('rolling update stays within maxSurge / maxUnavailable at every step, then rollback restores the image', async (t) => {
  const { sim, kubelet } = await start();
  kubelet.perTick = 2; // a slow kubelet: the rollout takes many steps
  await sim.client.create(kinds.deployment, deployment('web', 10, 'nginx:1'));
  await sim.refresh();
  await sim.settle(300, kubelet);
  t.is(live(sim.list(kinds.pod, 'default')).length, 10);
  const d0 = sim.view.get(kinds.deployment, 'default/web')!;
  t.is(d0.metadata?.annotations?.[revisionAnnotation], '1');
  t.like(d0['status'], { replicas: 10, updatedReplicas: 10, readyReplicas: 10, availableReplicas: 10, observedGeneration: 1 });

  // 25% of 10: surge rounds up to 3, unavailable down to 2.
  let minAvailable = Infinity;
  let maxPods = 0;
  sim.onRound = (s) => {
    const pods = s.list(kinds.pod, 'default');
    // Terminating pods do not count against maxSurge upstream (the ReplicaSet counts active pods only).
    maxPods = Math.max(maxPods, live(pods).length);
    minAvailable = Math.min(minAvailable, live(pods).filter((p) => isPodAvailable(p, 0, s.nowMs)).length);
  };
  await setImage(sim, 'web', 'nginx:2');
  await sim.settle(500, kubelet);
  const pods = live(sim.list(kinds.pod, 'default'));
  t.is(pods.length, 10);
  t.true(pods.every((p) => imageOf(p) === 'nginx:2'));
  t.true(minAvailable >= 8, `min available ${minAvailable}`);
  t.true(maxPods <= 13, `max pods ${maxPods}`);
  const rss = sim.list(kinds.replicaSet, 'default');
  t.is(rss.length, 2);
  const d1 = sim.view.get(kinds.deployment, 'default/web')!;
  t.is(d1.metadata?.annotations?.[revisionAnnotation], '2');
  const conds = (d1['status'] as { conditions: Array<Record<string, string>> }).conditions;
  t.like(conds.find((c) => c['type'] === 'Available'), { status: 'True', reason: 'MinimumReplicasAvailable' });
  t.like(conds.find((c) => c['type'] === 'Progressing'), { status: 'True', reason: 'NewReplicaSetAvailable' });

  // Rollback: the template of revision 1 again: the old ReplicaSet becomes new, revision 3, history "1".
  await setImage(sim, 'web', 'nginx:1');
  await sim.settle(500, kubelet);
  t.true(live(sim.list(kinds.pod, 'default')).every((p) => imageOf(p) === 'nginx:1'));
  t.is(sim.list(kinds.replicaSet, 'default').length, 2, 'no third ReplicaSet: the old one was reused');
  const back = sim.list(kinds.replicaSet, 'default').find((r) => (r['spec'] as { replicas: number }).replicas === 10)!;
  t.is(back.metadata?.annotations?.[revisionAnnotation], '3');
  t.is(back.metadata?.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  t.true(minAvailable >= 8 && maxPods <= 13);
  // Two controllers writing one ReplicaSet meet optimistic-concurrency conflicts; they retry, nothing else fails.
  const failures = sim.log.filter((l) => !l.ok);
  t.true(failures.every((l) => l.error?.includes('the object has been modified') === true), failures.map((l) => l.error).join('\n'));
});

test('Recreate never runs old and new pods together', async (t) => {
  const { sim, kubelet } = await start();
  await sim.client.create(kinds.deployment, deployment('web', 4, 'nginx:1', { type: 'Recreate' }));
  await sim.refresh();
  await sim.settle(200, kubelet);
  let mixed = false;
  sim.onRound = (s) => {
    const images = new Set(s.list(kinds.pod, 'default').map(imageOf));
    if (images.size > 1) mixed = true;
  };
  await setImage(sim, 'web', 'nginx:2');
  await sim.settle(200, kubelet);
  t.false(mixed);
  t.deepEqual(new Set(sim.list(kinds.pod, 'default').map(imageOf)), new Set(['nginx:2']));
  t.is(sim.list(kinds.pod, 'default').length, 4);
});

test('paused deployments do not roll; resume rolls; revisionHistoryLimit prunes old ReplicaSets', async (t) => {
  const { sim, kubelet } = await start();
  const d = deployment('web', 2, 'nginx:1');
  (d.spec as Record<string, unknown>)['revisionHistoryLimit'] = 1;
  await sim.client.create(kinds.deployment, d);
  await sim.refresh();
  await sim.settle(200, kubelet);
  await sim.client.patch(kinds.deployment, 'default', 'web', { spec: { paused: true } }, { type: 'merge' });
  await setImage(sim, 'web', 'nginx:2');
  await sim.settle(200, kubelet);
  t.deepEqual(new Set(sim.list(kinds.pod, 'default').map(imageOf)), new Set(['nginx:1']));
  const paused = (sim.view.get(kinds.deployment, 'default/web')!['status'] as { conditions: Array<Record<string, string>> }).conditions;
  t.like(paused.find((c) => c['type'] === 'Progressing'), { status: 'Unknown', reason: 'DeploymentPaused' });
  await sim.client.patch(kinds.deployment, 'default', 'web', { spec: { paused: false } }, { type: 'merge' });
  await sim.refresh();
  await sim.settle(200, kubelet);
  t.deepEqual(new Set(sim.list(kinds.pod, 'default').map(imageOf)), new Set(['nginx:2']));
  await setImage(sim, 'web', 'nginx:3');
  await sim.settle(200, kubelet);
  // Revisions 1, 2, 3: with a limit of one old ReplicaSet, revision 1's is deleted.
  const revs = sim.list(kinds.replicaSet, 'default').map((r) => r.metadata?.annotations?.[revisionAnnotation]).sort();
  t.deepEqual(revs, ['2', '3']);
});

test('a rollout that cannot progress reports ProgressDeadlineExceeded after progressDeadlineSeconds', async (t) => {
  const { sim, kubelet } = await start();
  const d = deployment('web', 2, 'nginx:1');
  (d.spec as Record<string, unknown>)['progressDeadlineSeconds'] = 30;
  await sim.client.create(kinds.deployment, d);
  await sim.refresh();
  await sim.settle(200, kubelet);
  kubelet.hold = (p) => imageOf(p) === 'broken';
  await setImage(sim, 'web', 'broken');
  await sim.settle(200, kubelet);
  const cond = () => (sim.view.get(kinds.deployment, 'default/web')!['status'] as { conditions: Array<Record<string, string>> }).conditions.find((c) => c['type'] === 'Progressing');
  t.like(cond(), { status: 'True', reason: 'ReplicaSetUpdated' });
  sim.advance(32_000);
  await sim.settle(200, kubelet);
  t.like(cond(), { status: 'False', reason: 'ProgressDeadlineExceeded' });
  // The old pods keep serving: availability never fell below replicas - maxUnavailable (1 of 2).
  t.true(live(sim.list(kinds.pod, 'default')).filter((p) => imageOf(p) === 'nginx:1').length >= 1);
});
