import test from 'ava';
import { body, harness, type Harness } from './helpers.js';

const ns = '/api/v1/namespaces/default';
const pdbs = '/apis/policy/v1/namespaces/default/poddisruptionbudgets';

async function runningPod(h: Harness, name: string, phase = 'Running'): Promise<void> {
  await h.call('POST', `${ns}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const pod = body(await h.call('GET', `${ns}/pods/${name}`));
  await h.call('PUT', `${ns}/pods/${name}/status`, { ...pod, status: { phase } });
}

/** A PDB whose status the disruption controller has processed: `allowed` disruptions left. */
async function budget(h: Harness, name: string, allowed: number): Promise<void> {
  await h.call('POST', pdbs, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } });
  const pdb = body(await h.call('GET', `${pdbs}/${name}`));
  const r = await h.call('PUT', `${pdbs}/${name}/status`, { ...pdb, status: { observedGeneration: pdb['metadata']['generation'], disruptionsAllowed: allowed, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 } });
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
}

const evict = (h: Harness, name: string, query = '') => h.call('POST', `${ns}/pods/${name}/eviction${query}`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name } });

test('an eviction takes a disruption from the budget; with none left it is 429 DisruptionBudget and the pod stays', async (t) => {
  const h = await harness();
  await runningPod(h, 'a');
  await runningPod(h, 'b');
  await budget(h, 'web', 1);
  t.is((await evict(h, 'a', '?dryRun=All')).status, 201);
  t.is(body(await h.call('GET', `${pdbs}/web`))['status']['disruptionsAllowed'], 1, 'a dry run takes nothing');
  t.is((await evict(h, 'a')).status, 201);
  t.is((await h.call('GET', `${ns}/pods/a`)).status, 404);
  const status = body(await h.call('GET', `${pdbs}/web`))['status'];
  t.is(status['disruptionsAllowed'], 0);
  t.truthy(status['disruptedPods']['a']);
  const refused = await evict(h, 'b');
  t.is(refused.status, 429);
  t.regex(body(refused)['message'] as string, /Cannot evict pod as it would violate the pod's disruption budget/);
  t.is(body(refused)['details']['causes'][0]['reason'], 'DisruptionBudget');
  t.is((await h.call('GET', `${ns}/pods/b`)).status, 200);
  h.close();
});

test('pods that are not running are evicted without a budget check; two budgets for one pod are refused; a stale budget waits', async (t) => {
  const h = await harness();
  await runningPod(h, 'pending', 'Pending');
  await runningPod(h, 'running');
  await budget(h, 'first', 0);
  t.is((await evict(h, 'pending')).status, 201);
  await budget(h, 'second', 1);
  const two = await evict(h, 'running');
  t.is(two.status, 500);
  t.regex(body(two)['message'] as string, /more than one PodDisruptionBudget/);
  await h.call('DELETE', `${pdbs}/first`);
  await h.call('DELETE', `${pdbs}/second`);
  await h.call('POST', pdbs, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'unprocessed' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } });
  const stale = await evict(h, 'running');
  t.is(stale.status, 429);
  t.regex(body(stale)['message'] as string, /still being processed/);
  h.close();
});
