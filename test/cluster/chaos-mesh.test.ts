/**
 * Chaos Mesh's manifests applied with the real kubectl 1.32 to a cluster with a worker (threads):
 * PodChaos pod-kill and container-kill act on the seed's nginx pods and report Chaos Mesh's
 * status, pod-failure swaps in the pause image for its duration, a Schedule makes PodChaos children
 * that go when it goes, a NetworkChaos partition cuts one nginx pod from the other until it is
 * deleted; a bad action and a kind this cluster does not serve are refused with the reason.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/index.js';
import { KubeClient } from '../../src/client/index.js';
import type { KubeObject } from '../../src/api/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';
import { until } from './pod-history.js';
import { manifestPath } from '../fixtures/paths.js';

const network = '127.78.31';
const podsRef = { apiVersion: 'v1', kind: 'Pod' } as const;
let shared: { cluster: Cluster; kubectl: Kubectl; client: KubeClient } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({
    apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 },
    workers: 1, serviceNetwork: '127.97', podNetwork: '127.247.0.0/16', seed: 31,
  });
  const kubectl = await kubectlFor(cluster.kubeconfigPath);
  shared = { cluster, kubectl, client: new KubeClient({ transport: cluster.apiTransport({ attemptTimeoutMs: 2_000 }), clock: new RealClock() }) };
  const applied = await kubectl(['apply', '-f', manifestPath('nginx-deployment.yaml')]);
  if (applied.code !== 0) throw new Error(applied.stderr);
});

test.after.always(async () => {
  await shared?.kubectl.close();
  await shared?.cluster.stop();
});

function started() {
  if (!shared) throw new Error('the cluster did not start');
  return shared;
}

type Pod = KubeObject & { spec?: { containers?: { image?: string }[] }; status?: { phase?: string; containerStatuses?: { restartCount?: number; ready?: boolean; image?: string }[] } };

async function readyNginx(client: KubeClient): Promise<Pod[]> {
  return until('two ready nginx pods', async () => {
    const pods = (await client.list<Pod>(podsRef, { namespace: 'default', labelSelector: 'app=nginx' })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
    return pods.length === 2 && pods.every((p) => p.status?.containerStatuses?.[0]?.ready === true) ? pods : undefined;
  }, 30_000);
}

const podChaos = (name: string, spec: string) => `apiVersion: chaos-mesh.org/v1alpha1
kind: PodChaos
metadata:
  name: ${name}
  namespace: default
spec:
${spec}`;

async function jsonpath(kubectl: Kubectl, args: readonly string[], path: string): Promise<string> {
  return (await kubectl([...args, '-o', `jsonpath=${path}`])).stdout;
}

test.serial('PodChaos pod-kill: one nginx pod is deleted, the records say Injected, and the Deployment replaces it', async (t) => {
  const { kubectl, client } = started();
  const before = await readyNginx(client);
  const r = await kubectl(['apply', '-f', '-'], { input: podChaos('kill-one', '  action: pod-kill\n  mode: one\n  selector:\n    labelSelectors:\n      app: nginx\n') });
  t.is(r.code, 0, r.stderr);
  const injected = await until('AllInjected', async () => (await jsonpath(kubectl, ['get', 'podchaos', 'kill-one'], '{.status.conditions[?(@.type=="AllInjected")].status}')) === 'True' ? true : undefined, 20_000);
  t.true(injected);
  const id = await jsonpath(kubectl, ['get', 'podchaos', 'kill-one'], '{.status.experiment.containerRecords[0].id}');
  t.true(before.some((p) => `default/${p.metadata?.name}` === id), id);
  t.is(await jsonpath(kubectl, ['get', 'podchaos', 'kill-one'], '{.status.experiment.desiredPhase}'), 'Stop', 'a one-shot chaos stops once injected');
  const after = await readyNginx(client);
  t.false(after.some((p) => `default/${p.metadata?.name}` === id), 'the killed pod is gone and replaced');
  t.regex((await kubectl(['get', 'podchaos'])).stdout, /kill-one\s+pod-kill/);
  t.is((await kubectl(['delete', 'podchaos', 'kill-one', '--wait=true', '--timeout=20s'])).code, 0, 'its finalizer lets go');
});

test.serial('PodChaos container-kill: the nginx container restarts in place (same pod, restartCount 1)', async (t) => {
  const { kubectl, client } = started();
  const before = await readyNginx(client);
  const target = before[0]!.metadata!.name!;
  const r = await kubectl(['apply', '-f', '-'], { input: podChaos('kill-container', `  action: container-kill\n  mode: all\n  containerNames: [nginx]\n  selector:\n    pods:\n      default: [${target}]\n`) });
  t.is(r.code, 0, r.stderr);
  const restarted = await until('restartCount 1', async () => {
    const pod = await client.get<Pod>(podsRef, 'default', target);
    return (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? pod : undefined;
  }, 30_000);
  t.is(restarted.metadata?.uid, before[0]!.metadata?.uid, 'the same pod');
  t.is(await jsonpath(kubectl, ['get', 'podchaos', 'kill-container'], '{.status.experiment.containerRecords[0].id}'), `default/${target}/nginx`);
  await kubectl(['delete', 'podchaos', 'kill-container']);
});

test.serial('PodChaos pod-failure: the container runs the pause image for the duration, then its own image again', async (t) => {
  const { kubectl, client } = started();
  const before = await readyNginx(client);
  const target = before[0]!.metadata!.name!;
  const image = before[0]!.spec!.containers![0]!.image!;
  const r = await kubectl(['apply', '-f', '-'], { input: podChaos('fail-one', `  action: pod-failure\n  mode: all\n  duration: 4s\n  selector:\n    pods:\n      default: [${target}]\n`) });
  t.is(r.code, 0, r.stderr);
  const failed = await until('the pause image running', async () => {
    const pod = await client.get<Pod>(podsRef, 'default', target);
    return pod.status?.containerStatuses?.[0]?.image === 'registry.k8s.io/pause:3.10' ? pod : undefined;
  }, 20_000);
  t.is(failed.metadata?.uid, before[0]!.metadata?.uid, 'the same pod, its app gone');
  t.is(failed.metadata?.annotations?.['chaos-mesh.org/origin-image-nginx'], image, 'its own image kept in an annotation');
  const recovered = await until('its own image back', async () => {
    const pod = await client.get<Pod>(podsRef, 'default', target);
    return pod.spec?.containers?.[0]?.image === image && pod.status?.containerStatuses?.[0]?.image === image && pod.status.containerStatuses[0].ready === true ? pod : undefined;
  }, 30_000);
  t.is(recovered.metadata?.annotations?.['chaos-mesh.org/origin-image-nginx'], undefined, 'the annotation is removed');
  t.is(await jsonpath(kubectl, ['get', 'podchaos', 'fail-one'], '{.status.conditions[?(@.type=="AllRecovered")].status}'), 'True');
  t.is((await kubectl(['delete', 'podchaos', 'fail-one', '--wait=true', '--timeout=20s'])).code, 0);
});

test.serial('Schedule: a PodChaos child every 2 s, named after its time and owned by the Schedule; deleting the Schedule deletes them', async (t) => {
  const { kubectl, client } = started();
  await readyNginx(client);
  const schedule = `apiVersion: chaos-mesh.org/v1alpha1
kind: Schedule
metadata:
  name: every-two
  namespace: default
spec:
  schedule: "@every 2s"
  type: PodChaos
  historyLimit: 2
  concurrencyPolicy: Allow
  podChaos:
    action: container-kill
    mode: one
    containerNames: [nginx]
    selector:
      labelSelectors:
        app: nginx
`;
  const r = await kubectl(['apply', '-f', '-'], { input: schedule });
  t.is(r.code, 0, r.stderr);
  const children = await until('two children', async () => {
    const names = (await jsonpath(kubectl, ['get', 'podchaos', '-l', 'managed-by=every-two'], '{.items[*].metadata.name}')).split(' ').filter(Boolean);
    return names.length >= 2 ? names : undefined;
  }, 20_000);
  t.true(children.every((n) => /^every-two-\d+$/.test(n)), children.join(' '));
  t.is(await jsonpath(kubectl, ['get', 'podchaos', children[0]!], '{.metadata.ownerReferences[0].kind}'), 'Schedule');
  t.is((await kubectl(['delete', 'schedule', 'every-two'])).code, 0);
  const gone = await until('no children left', async () => (await jsonpath(kubectl, ['get', 'podchaos', '-l', 'managed-by=every-two'], '{.items[*].metadata.name}')).trim() === '' ? true : undefined, 30_000);
  t.true(gone);
});

async function wgetFrom(kubectl: Kubectl, pod: string, ip: string): Promise<{ code: number; out: string }> {
  const r = await kubectl(['exec', pod, '--', 'wget', '-q', '-T', '2', '-O', '-', `http://${ip}/`]);
  return { code: r.code, out: r.stdout + r.stderr };
}

test.serial('NetworkChaos partition: one nginx pod cannot reach the other (TCP needs both ways, so neither can it be reached) until the NetworkChaos is deleted', async (t) => {
  const { kubectl, client } = started();
  const [a, b] = await readyNginx(client);
  const [nameA, nameB] = [a!.metadata!.name!, b!.metadata!.name!];
  const ipOf = (p: Pod) => (p.status as { podIP?: string }).podIP!;
  t.regex((await wgetFrom(kubectl, nameA, ipOf(b!))).out, /Welcome to nginx/, 'reachable before');
  const manifest = `apiVersion: chaos-mesh.org/v1alpha1
kind: NetworkChaos
metadata:
  name: cut-a
  namespace: default
spec:
  action: partition
  mode: all
  selector:
    pods:
      default: [${nameA}]
  direction: to
  target:
    mode: all
    selector:
      pods:
        default: [${nameB}]
`;
  const r = await kubectl(['apply', '-f', '-'], { input: manifest });
  t.is(r.code, 0, r.stderr);
  await until('AllInjected', async () => (await jsonpath(kubectl, ['get', 'networkchaos', 'cut-a'], '{.status.conditions[?(@.type=="AllInjected")].status}')) === 'True' ? true : undefined, 20_000);
  t.deepEqual((await jsonpath(kubectl, ['get', 'networkchaos', 'cut-a'], '{.status.experiment.containerRecords[*].selectorKey}')).split(' '), ['.', '.Target']);
  const cut = await wgetFrom(kubectl, nameA, ipOf(b!));
  t.not(cut.code, 0);
  t.regex(cut.out, /timed out|ETIMEDOUT/i, cut.out);
  t.not((await wgetFrom(kubectl, nameB, ipOf(a!))).code, 0, 'the answer from a to b would be cut: b\'s request gets none');
  t.regex((await kubectl(['get', 'networkchaos'])).stdout, /cut-a\s+partition/);
  t.is((await kubectl(['delete', 'networkchaos', 'cut-a', '--wait=true', '--timeout=20s'])).code, 0, 'its finalizer lets go once the rules are removed');
  t.regex((await wgetFrom(kubectl, nameA, ipOf(b!))).out, /Welcome to nginx/, 'reachable again');
});

test.serial('the example NetworkChaos (examples/manifests/chaos-mesh-network-delay.yaml) applies as written and injects every nginx pod', async (t) => {
  const { kubectl, client } = started();
  await readyNginx(client);
  const r = await kubectl(['apply', '-f', manifestPath('chaos-mesh-network-delay.yaml')]);
  t.is(r.code, 0, r.stderr);
  await until('AllInjected', async () => (await jsonpath(kubectl, ['get', 'networkchaos', 'nginx-delay'], '{.status.conditions[?(@.type=="AllInjected")].status}')) === 'True' ? true : undefined, 20_000);
  t.is((await jsonpath(kubectl, ['get', 'networkchaos', 'nginx-delay'], '{.status.experiment.containerRecords[*].selectorKey}')).split(' ').length, 4, 'two sources and two targets');
  t.is((await kubectl(['delete', '-f', manifestPath('chaos-mesh-network-delay.yaml'), '--wait=true', '--timeout=20s'])).code, 0);
});

test.serial('bad input: an unknown action names the supported ones; a Chaos Mesh kind not served here says so', async (t) => {
  const { kubectl } = started();
  const bad = await kubectl(['apply', '-f', '-'], { input: podChaos('bad', '  action: pod-explode\n  mode: one\n  selector: {}\n') });
  t.not(bad.code, 0);
  t.regex(bad.stderr, /spec\.action: Unsupported value: "pod-explode": supported values: "pod-kill", "pod-failure", "container-kill"/);
  const corrupt = await kubectl(['apply', '-f', '-'], { input: 'apiVersion: chaos-mesh.org/v1alpha1\nkind: NetworkChaos\nmetadata:\n  name: net\nspec:\n  action: corrupt\n  mode: one\n  selector: {}\n' });
  t.not(corrupt.code, 0);
  t.regex(corrupt.stderr, /spec\.action: Unsupported value: "corrupt": supported values: "partition", "delay", "loss", "duplicate"/);
  const stress = await kubectl(['apply', '-f', '-'], { input: 'apiVersion: chaos-mesh.org/v1alpha1\nkind: StressChaos\nmetadata:\n  name: cpu\nspec:\n  mode: one\n' });
  t.not(stress.code, 0);
  t.regex(stress.stderr, /no matches for kind "StressChaos"/);
});
