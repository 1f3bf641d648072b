/** The real kubectl 1.32 against the HTTPS server (in-process, LocalKv), command by command. */
import { manifestPath } from '../fixtures/paths.js';
import test from 'ava';
import { nobodyToken, startE2e } from './e2e-helpers.js';
import { sleep } from '../../src/primitives/clock.js';
import { wallClock } from '../../src/runtime/real-clock.js';

const manifest = manifestPath('nginx-deployment.yaml');
const changed = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
spec:
  selector:
    matchLabels:
      app: nginx
  replicas: ${replicas}
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
`;

test('kubectl: namespaces, apply (new, unchanged, changed, server-side), get variants, describe, scale, label, annotate, patch, delete', async (t) => {
  const e = await startE2e(['127.77.1.10']);
  t.teardown(() => e.close());
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await e.kubectl(args, input === undefined ? {} : { input });
    t.is(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  t.regex(await ok(['create', 'namespace', 'web']), /namespace\/web created/);
  t.regex(await ok(['get', 'ns']), /web\s+Active/);
  t.regex(await ok(['apply', '-n', 'web', '-f', manifest]), /deployment.apps\/nginx-deployment created/);
  t.regex(await ok(['apply', '-n', 'web', '-f', manifest]), /unchanged/);
  t.regex(await ok(['apply', '-n', 'web', '-f', '-'], changed(3)), /configured/);
  t.regex(await ok(['get', '-n', 'web', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']), /^3 2$/);
  // replicas was changed to 3 by client-side apply: server-side apply of 2 conflicts until forced.
  t.regex((await e.kubectl(['apply', '--server-side', '-n', 'web', '-f', manifest])).stderr, /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply".*\.spec\.replicas/);
  t.regex(await ok(['apply', '--server-side', '--force-conflicts', '-n', 'web', '-f', manifest]), /serverside-applied/);
  const wide = await ok(['get', '-n', 'web', 'deploy', '-o', 'wide']);
  t.regex(wide, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
  t.regex(wide, /nginx-deployment\s+0\/2\s+.*nginx:1\.14\.2\s+app=nginx/);
  t.regex(await ok(['get', 'deploy', '-A']), /web\s+nginx-deployment/);
  t.regex(await ok(['get', '-n', 'web', 'deploy', '-o', 'yaml']), /last-applied-configuration/);
  t.regex(await ok(['label', '-n', 'web', 'deploy', 'nginx-deployment', 'tier=front']), /labeled/);
  t.regex(await ok(['get', '-n', 'web', 'deploy', '-l', 'tier=front', '--show-labels']), /nginx-deployment.*tier=front/);
  t.notRegex(await ok(['get', '-n', 'web', 'deploy', '-l', 'tier=back']), /nginx-deployment/);
  t.regex(await ok(['annotate', '-n', 'web', 'deploy', 'nginx-deployment', 'note=hi']), /annotated/);
  t.regex(await ok(['describe', '-n', 'web', 'deploy', 'nginx-deployment']), /Replicas:\s+2 desired/);
  t.regex(await ok(['scale', '-n', 'web', 'deploy', 'nginx-deployment', '--replicas=4']), /scaled/);
  t.regex(await ok(['get', '-n', 'web', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas}']), /^4$/);
  await ok(['patch', '-n', 'web', 'deploy', 'nginx-deployment', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":5}]']);
  await ok(['patch', '-n', 'web', 'deploy', 'nginx-deployment', '--type=merge', '-p', '{"metadata":{"labels":{"tier":null}}}']);
  await ok(['patch', '-n', 'web', 'deploy', 'nginx-deployment', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.16"}]}}}}']);
  const after = await ok(['get', '-n', 'web', 'deploy', 'nginx-deployment', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.tier} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}']);
  t.is(after, '5  nginx:1.16 80');
  const all = await ok(['get', 'all', '-A']);
  t.regex(all, /service\/kubernetes\s+ClusterIP\s+127\.96\.0\.1/);
  t.regex(all, /deployment.apps\/nginx-deployment/);
  t.regex(await ok(['api-resources']), /deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
  t.regex(await ok(['delete', '-n', 'web', 'deploy', 'nginx-deployment']), /deleted/);
  t.regex((await e.kubectl(['get', '-n', 'web', 'deploy'])).stderr, /No resources found/);
  // Generators send protobuf bodies.
  t.regex(await ok(['create', '-n', 'web', 'deployment', 'gen', '--image=nginx', '--port=80', '--replicas=2']), /created/);
  t.is(await ok(['get', '-n', 'web', 'deploy', 'gen', '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.selector.matchLabels.app}']), '2 80 gen');
  t.regex(await ok(['create', '-n', 'web', 'job', 'once', '--image=busybox', '--', 'echo', 'hi']), /created/);
  t.is(await ok(['get', '-n', 'web', 'job', 'once', '-o', 'jsonpath={.spec.template.spec.containers[0].command}']), '["echo","hi"]');
  t.regex(await ok(['create', '-n', 'web', 'service', 'clusterip', 'svc', '--tcp=80:8080']), /created/);
  t.is(await ok(['get', '-n', 'web', 'svc', 'svc', '-o', 'jsonpath={.spec.ports[0].targetPort}']), '8080');
  t.regex(await ok(['create', '-n', 'web', 'configmap', 'c', '--from-literal=a=b']), /created/);
  t.regex(await ok(['create', '-n', 'web', 'secret', 'generic', 's', '--from-literal=a=b']), /created/);
  t.is(await ok(['get', '-n', 'web', 'secret', 's', '-o', 'jsonpath={.data.a}']), 'Yg==');
  // These generators send protobuf too (they were 415 before the .proto schemas).
  t.regex(await ok(['create', '-n', 'web', 'role', 'reader', '--verb=get,list', '--resource=pods']), /created/);
  t.regex(await ok(['create', 'clusterrole', 'creader', '--verb=get', '--resource=nodes']), /created/);
  t.regex(await ok(['create', '-n', 'web', 'rolebinding', 'rb', '--role=reader', '--user=jane']), /created/);
  t.regex(await ok(['create', 'clusterrolebinding', 'crb', '--clusterrole=creader', '--serviceaccount=web:default']), /created/);
  t.regex(await ok(['create', 'priorityclass', 'high', '--value=1000', '--description=d']), /created/);
  t.regex(await ok(['create', '-n', 'web', 'poddisruptionbudget', 'pdb', '--selector=app=web', '--min-available=1']), /created/);
  t.is(await ok(['get', '-n', 'web', 'role', 'reader', '-o', 'jsonpath={.rules[0].verbs}']), '["get","list"]');
  t.is(await ok(['get', 'priorityclass', 'high', '-o', 'jsonpath={.value}']), '1000');
  t.is(await ok(['get', '-n', 'web', 'pdb', 'pdb', '-o', 'jsonpath={.spec.minAvailable}']), '1');
  t.is(await ok(['get', 'clusterrolebinding', 'crb', '-o', 'jsonpath={.subjects[0].kind} {.roleRef.name}']), 'ServiceAccount creader');
});

test('kubectl: get -w prints the initial rows and live changes until the server closes', async (t) => {
  const e = await startE2e(['127.77.1.11']);
  t.teardown(() => e.close());
  t.is((await e.kubectl(['create', 'configmap', 'early', '--from-literal=a=b', '--from-literal=c=d'])).code, 0);
  const watching = e.kubectl(['get', 'cm', '-n', 'default', '-w'], { timeoutMs: 15_000 });
  // Wait for kubectl's watch to be registered rather than for a fixed time (machines under load are slow).
  for (let i = 0; i < 300 && e.cores[0]!.watcherCount === 0; i++) await sleep(wallClock, 50);
  t.is((await e.kubectl(['create', 'configmap', 'late', '--from-literal=a=b'])).code, 0);
  await sleep(wallClock, 300);
  await e.servers[0]!.close();
  const r = await watching;
  t.regex(r.stdout, /NAME\s+DATA\s+AGE/);
  t.regex(r.stdout, /early\s+2/);
  t.regex(r.stdout, /late\s+1/);
  t.is(r.stdout.match(/late/g)?.length, 1);
});

test('kubectl: cordon/uncordon/drain a Node, describe a pod with its events, logs, and a token without rights is Forbidden', async (t) => {
  const e = await startE2e(['127.77.1.12']);
  t.teardown(() => e.close());
  const node = JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  t.is((await e.kubectl(['create', '-f', '-'], { input: node })).code, 0);
  t.regex((await e.kubectl(['cordon', 'n1'])).stdout, /cordoned/);
  t.regex((await e.kubectl(['get', 'node', 'n1', '-o', 'jsonpath={.spec.unschedulable}'])).stdout, /true/);
  t.regex((await e.kubectl(['uncordon', 'n1'])).stdout, /uncordoned/);
  t.is((await e.kubectl(['get', 'node', 'n1', '-o', 'jsonpath={.spec.unschedulable}'])).stdout, '');
  // drain: cordon, list the node's pods, POST pods/<p>/eviction (a protobuf Eviction), poll until gone.
  const bound = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'on-n1' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] } });
  t.is((await e.kubectl(['create', '-f', '-'], { input: bound })).code, 0);
  const drained = await e.kubectl(['drain', 'n1', '--ignore-daemonsets', '--force', '--grace-period=0', '--timeout=10s']);
  t.is(drained.code, 0, drained.stderr);
  t.regex(drained.stdout, /pod\/on-n1 evicted/);
  t.regex(drained.stdout, /node\/n1 drained/);
  t.is((await e.kubectl(['get', 'pod', 'on-n1'])).code, 1);
  const podJson = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  t.is((await e.kubectl(['create', '-f', '-'], { input: podJson })).code, 0);
  const uid = (await e.kubectl(['get', 'pod', 'p1', '-o', 'jsonpath={.metadata.uid}'])).stdout;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const event = JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'p1.1' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default', uid, apiVersion: 'v1' },
    reason: 'Scheduled', message: 'hello from the test', type: 'Normal', source: { component: 'test' }, count: 1, firstTimestamp: now, lastTimestamp: now });
  t.is((await e.kubectl(['create', '-f', '-'], { input: event })).code, 0);
  const described = await e.kubectl(['describe', 'pod', 'p1']);
  t.regex(described.stdout, /Status:\s+Pending/);
  t.regex(described.stdout, /Normal\s+Scheduled\s+.*test\s+hello from the test/);
  // This apiserver runs without kubelets behind it (no PodLogSource): pods/log says so.
  t.regex((await e.kubectl(['logs', 'p1'])).stderr, /logs not available yet/);
  const nobody = await e.kubeconfigFor(e.servers[0]!.url, nobodyToken, 'nobody');
  const denied = await e.kubectl(['get', 'pods', '-n', 'default'], { kubeconfig: nobody });
  t.not(denied.code, 0);
  t.regex(denied.stderr, /pods is forbidden: User "nobody" cannot list resource "pods" in API group "" in the namespace "default"/);
  t.is((await e.kubectl(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), 'yes');
  t.is((await e.kubectl(['auth', 'can-i', 'list', 'pods'], { kubeconfig: nobody })).stdout.trim(), 'no');
  const bad = await e.kubectl(['get', 'pods'], { kubeconfig: await e.kubeconfigFor(e.servers[0]!.url, 'wrong-token-0000000000', 'bad') });
  t.regex(bad.stderr, /Unauthorized|must be logged in/);
});
