/**
 * kubectl exec and kubectl logs -f end to end, on threads with the real kubectl 1.32 (WebSocket,
 * v5.channel.k8s.io) against a cluster with one worker: output, exit codes, stdin, the errors
 * kubectl prints, and a log line written after `logs -f` started.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../src/cluster/index.js';
import { freePort, kubectlFor, type Kubectl } from './helpers.js';
import { until } from './pod-history.js';

const network = '127.78.42';
let shared: { cluster: Cluster; kubectl: Kubectl } | undefined;

const pods = `
apiVersion: v1
kind: Pod
metadata: { name: box }
spec:
  containers:
  - { name: box, image: busybox:1.36, command: [sleep, infinity] }
---
apiVersion: v1
kind: Pod
metadata: { name: logger }
spec:
  containers:
  - name: logger
    image: busybox:1.36
    command: [sh, -c, 'echo begin; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after; sleep 3600']
`;

test.before(async () => {
  const cluster = await Cluster.start({
    apiserverNetwork: network, apiserverPort: await freePort(`${network}.1`), frontDoor: { host: `${network}.100`, port: 0 },
    workers: 1, serviceNetwork: '127.101', podNetwork: '127.249.0.0/16', seed: 42,
  });
  const kubectl = await kubectlFor(cluster.kubeconfigPath);
  shared = { cluster, kubectl };
  const applied = await kubectl(['apply', '-f', '-'], { input: pods });
  if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
  const ready = await kubectl(['wait', '--for=condition=Ready', 'pod/box', 'pod/logger', '--timeout=60s'], { timeoutMs: 70_000 });
  if (ready.code !== 0) throw new Error(`pods not ready: ${ready.stdout}${ready.stderr}`);
});

test.after.always(async () => {
  await shared?.kubectl.close();
  await shared?.cluster.stop();
});

function kubectl(): Kubectl {
  if (!shared) throw new Error('the cluster did not start');
  return shared.kubectl;
}

test('kubectl exec prints the command\'s output and exits 0', async (t) => {
  const r = await kubectl()(['exec', 'box', '--', 'echo', 'hi']);
  t.is(r.stdout, 'hi\n', r.stderr);
  t.is(r.code, 0);
});

test('kubectl exec exits with the command\'s exit code; stderr reaches kubectl\'s stderr', async (t) => {
  const three = await kubectl()(['exec', 'box', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
  t.is(three.code, 3, three.stderr);
  t.regex(three.stderr, /oops/);
  t.regex(three.stderr, /command terminated with exit code 3/);
  const missing = await kubectl()(['exec', 'box', '--', 'nosuch']);
  t.is(missing.code, 127, missing.stderr);
});

test('stdin round-trips: echo data | kubectl exec -i box -- cat', async (t) => {
  const r = await kubectl()(['exec', '-i', 'box', '--', 'cat'], { input: 'data\nsecond line\n' });
  t.is(r.stdout, 'data\nsecond line\n', r.stderr);
  t.is(r.code, 0);
  const script = await kubectl()(['exec', '-i', 'box', '--', 'sh'], { input: 'echo one\nexport X=two; echo $X\nexit 4\n' });
  t.is(script.stdout, 'one\ntwo\n', script.stderr);
  t.is(script.code, 4);
});

test('errors kubectl prints: an unknown container, an unknown pod; port-forward says it is not implemented', async (t) => {
  const container = await kubectl()(['exec', 'box', '-c', 'nosuch', '--', 'true']);
  t.not(container.code, 0);
  t.regex(container.stderr, /container nosuch is not valid for pod box/);
  const pod = await kubectl()(['exec', 'nopod', '--', 'true']);
  t.not(pod.code, 0);
  t.regex(pod.stderr, /pods "nopod" not found/);
  const forward = await kubectl()(['port-forward', 'pod/box', '0:80'], { timeoutMs: 15_000 });
  t.not(forward.code, 0);
  t.regex(forward.stderr, /port-forward is not implemented by pocketkube/, forward.stderr);
});

test('kubectl logs -f sees a line written after it started, and ends when the client leaves', async (t) => {
  const { cluster } = shared!;
  const cacheDir = await mkdtemp(join(tmpdir(), 'pk-exec-cache-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const child = spawn('kubectl', ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', cacheDir, 'logs', '-f', 'logger'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await until('logs -f to print the first line', () => (out.includes('begin\n') ? true : undefined), 20_000);
    t.false(out.includes('after'), 'the second line is not written yet');
    const go = await kubectl()(['exec', 'logger', '--', 'touch', '/tmp/go']);
    t.is(go.code, 0, go.stderr);
    await until('logs -f to print the line written after it started', () => (out.includes('after\n') ? true : undefined), 20_000);
    t.is(out, 'begin\nafter\n', err);
  } finally {
    child.kill('SIGTERM');
  }
  await exited;
  // The follow ended at the node too (and no exec of the other tests lingers there).
  await until('the runtime to drop its streams', async () => ((await streamsAtNode()) === 0 ? true : undefined), 10_000);
});

async function streamsAtNode(): Promise<number> {
  const state = await shared!.cluster.system.inspect('worker-1/container-runtime');
  return (state['summary'] as { streams?: number } | undefined)?.streams ?? -1;
}

test('kubectl exec -it on a pseudo-terminal (util-linux script): the shell prompts, echoes what is typed, and exit ends it with its code', async (t) => {
  const { cluster } = shared!;
  const cacheDir = await mkdtemp(join(tmpdir(), 'pk-exec-tty-cache-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const command = `kubectl --kubeconfig ${cluster.kubeconfigPath} --cache-dir ${cacheDir} exec -it box -- sh`;
  // script gives kubectl a terminal; what we write to script's stdin is what the user types.
  const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await until('the shell to prompt', () => (out.includes('/ # ') ? true : undefined), 20_000);
    child.stdin.write('echo typed\r');
    await until('the command to run', () => (out.includes('typed\r\n') ? true : undefined), 20_000);
    child.stdin.write('exit 6\r');
    t.is(await exited, 6, out);
    t.regex(out, /echo typed\r\ntyped\r\n\/ # /, 'echoed, then its output, then the next prompt');
  } finally {
    child.kill('SIGTERM');
  }
});

test('kubectl attach streams the container\'s output until it exits', async (t) => {
  const manifest = `apiVersion: v1
kind: Pod
metadata: { name: ticker }
spec:
  restartPolicy: Never
  containers:
  # Long enough that a loaded machine still attaches before the end (kubectl wait, then attach).
  - { name: ticker, image: busybox:1.36, command: [sh, -c, 'echo tick; sleep 8; echo tock'] }
`;
  t.is((await kubectl()(['apply', '-f', '-'], { input: manifest })).code, 0);
  const ready = await kubectl()(['wait', '--for=condition=Ready', 'pod/ticker', '--timeout=30s'], { timeoutMs: 40_000 });
  t.is(ready.code, 0, ready.stderr);
  const attached = await kubectl()(['attach', 'ticker'], { timeoutMs: 30_000 });
  t.is(attached.code, 0, attached.stderr);
  t.regex(attached.stdout, /tock\n$/);
});
