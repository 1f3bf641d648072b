/**
 * End to end: a real 3-master cluster on threads (etcd Raft + apiserver actors serving HTTPS),
 * the front door, and the real kubectl 1.32. Every address is in this file's own loopback block.
 */
import { manifestPath } from '../fixtures/paths.js';
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { Cluster, readyz } from '../../src/cluster/index.js';
import { Informer, KubeClient } from '../../src/client/index.js';
import { RealClock } from '../../src/runtime/real-clock.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

const manifest = manifestPath('nginx-deployment.yaml');

const network = '127.78.1';
// One cluster for the file (a start costs ~1.5 s of two busy cores): the tests run in order, the HA test last.
let shared: { cluster: Cluster; kubectl: Kubectl } | undefined;

test.before(async () => {
  const cluster = await Cluster.start({ apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 }, seed: 7 });
  shared = { cluster, kubectl: await kubectlFor(cluster.kubeconfigPath) };
});

test.after.always(async () => {
  await shared?.kubectl.close();
  await shared?.cluster.stop();
});

function started(): { cluster: Cluster; kubectl: Kubectl } {
  if (!shared) throw new Error('the cluster did not start');
  return shared;
}

test.serial('kubectl through the front door: namespace, apply, get -o wide, scale, label, patch, delete', async (t) => {
  const { cluster, kubectl } = started();
  t.regex(cluster.server, /^https:\/\/127\.78\.1\.100:\d+$/);
  const ok = async (args: string[]): Promise<string> => {
    const r = await kubectl(args);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(['create', 'namespace', 'web']);
  t.regex(await ok(['apply', '-n', 'web', '-f', manifest]), /deployment.apps\/nginx-deployment created/);
  const wide = await ok(['get', 'deployments', '-n', 'web', '-o', 'wide']);
  t.regex(wide, /nginx-deployment/);
  t.regex(wide, /nginx:1\.14\.2/);
  t.regex(wide, /app=nginx/);
  t.regex(await ok(['scale', '-n', 'web', 'deployment/nginx-deployment', '--replicas=4']), /scaled/);
  t.is(await ok(['get', '-n', 'web', 'deployment/nginx-deployment', '-o', 'jsonpath={.spec.replicas}']), '4');
  await ok(['label', '-n', 'web', 'deployment/nginx-deployment', 'tier=frontend']);
  await ok(['patch', '-n', 'web', 'deployment/nginx-deployment', '--type=merge', '-p', '{"spec":{"minReadySeconds":5}}']);
  const got = JSON.parse(await ok(['get', '-n', 'web', 'deployment/nginx-deployment', '-o', 'json'])) as { metadata: { labels: Record<string, string> }; spec: { minReadySeconds: number } };
  t.is(got.metadata.labels['tier'], 'frontend');
  t.is(got.spec.minReadySeconds, 5);
  t.regex(await ok(['delete', '-n', 'web', 'deployment/nginx-deployment', '--wait=false']), /deleted/);
  const after = await kubectl(['get', '-n', 'web', 'deployment/nginx-deployment']);
  t.not(after.code, 0);
  t.regex(after.stderr, /NotFound|not found/);
  // The kubeconfig embeds the CA and a token: no skip-verify.
  const kubeconfig = await readFile(cluster.kubeconfigPath, 'utf8');
  t.regex(kubeconfig, /certificate-authority-data/);
  t.notRegex(kubeconfig, /insecure-skip-tls-verify/);
});

test.serial('kubectl create token: a TokenRequest signed by the cluster authenticates as its ServiceAccount; RBAC then decides', async (t) => {
  const { cluster, kubectl } = started();
  t.is((await kubectl(['create', 'serviceaccount', 'robot', '-n', 'web'])).code, 0);
  const issued = await kubectl(['create', 'token', 'robot', '-n', 'web', '--duration=20m', '--audience=https://kubernetes.default.svc.cluster.local']);
  t.is(issued.code, 0, issued.stderr);
  const token = issued.stdout.trim();
  const denied = await kubectl(['get', 'pods', '-n', 'web', '--token', token]);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /pods is forbidden: User "system:serviceaccount:web:robot" cannot list resource "pods"/);
  const forged = await kubectl(['get', 'pods', '-n', 'web', '--token', `${token.slice(0, -4)}AAAA`]);
  t.not(forged.code, 0);
  t.regex(forged.stderr, /Unauthorized/);
  // The cluster's own signer (for code that mints tokens without the API) is accepted the same way.
  const uid = (await kubectl(['get', 'serviceaccount', 'robot', '-n', 'web', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  t.regex((await kubectl(['get', 'pods', '-n', 'web', '--token', cluster.serviceAccountToken('web', 'robot', uid)])).stderr, /system:serviceaccount:web:robot/);
  const missing = await kubectl(['create', 'token', 'ghost', '-n', 'web']);
  t.not(missing.code, 0);
  t.regex(missing.stderr, /serviceaccounts "ghost" not found/);
  const short = await kubectl(['create', 'token', 'robot', '-n', 'web', '--duration=5m']);
  t.not(short.code, 0);
  t.regex(short.stderr, /may not specify a duration less than 10 minutes/);
});

test.serial('HA: killing the master whose apiserver served kubectl; reads keep working, writes resume, it comes back', async (t) => {
  const { cluster, kubectl } = started();
  const ok = async (args: string[]): Promise<string> => {
    const r = await kubectl(args);
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(['create', 'configmap', 'before', '--from-literal=a=1']);
  const victim = cluster.lastServedBy();
  if (victim === undefined) return t.fail('the front door did not record a backend');
  // An in-process informer over actor messages, watching through the victim's apiserver first.
  const servers = [...cluster.apiservers].sort((a, b) => Number(b.startsWith(`${victim}/`)) - Number(a.startsWith(`${victim}/`)));
  const client = new KubeClient({ transport: cluster.apiTransport({ servers, attemptTimeoutMs: 2_000, watchIdleMs: 1_000 }), clock: new RealClock() });
  const informer = new Informer({ client, resource: { apiVersion: 'v1', resource: 'configmaps' }, namespace: 'default', retryInitialMs: 100 });
  informer.start();
  t.teardown(() => informer.stop());
  t.true(await informer.waitForSync());
  t.truthy(informer.get('default', 'before'));
  await cluster.system.killHost(victim);
  for (let i = 0; i < 3; i++) t.regex(await ok(['get', 'configmap', 'before', '-o', 'name']), /configmap\/before/);
  t.not(cluster.lastServedBy(), victim);
  // The victim may have hosted the etcd leader: writes wait for the election (~0.5 s with the fast profile).
  let created = false;
  for (let attempt = 0; attempt < 20 && !created; attempt++) {
    created = (await kubectl(['create', 'configmap', 'after', '--from-literal=a=2'])).code === 0;
    if (!created) await sleep(wallClock, 250);
  }
  t.true(created);
  t.regex(await ok(['get', 'configmaps']), /after/);
  // The informer's watch moves off a dead apiserver (heartbeats stop) and catches up.
  let seen = false;
  for (let attempt = 0; attempt < 50 && !seen; attempt++) {
    seen = informer.get('default', 'after') !== undefined;
    if (!seen) await sleep(wallClock, 100);
  }
  t.true(seen, 'the informer never saw the configmap created after the kill');
  // The in-process transport fails over past the dead apiserver too.
  const transport = cluster.apiTransport({ attemptTimeoutMs: 1_000 });
  const listed = await transport.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps/after', query: {}, headers: {} });
  t.is(listed.status, 200);
  // The restarted master binds its address again and rejoins the front door's rotation.
  await cluster.system.restartHost(victim);
  let back = false;
  for (let attempt = 0; attempt < 40 && !back; attempt++) {
    await sleep(wallClock, 100);
    back = await readyz(cluster.apiserverUrls[cluster.masters.indexOf(victim)]!, cluster.pki.ca.certPem);
  }
  t.true(back, `${victim} did not come back`);
});
