/** `pocketkube up` as a child process (the built dist/cli.js): ready lines, kubectl, SIGINT, state kept in --data-dir. */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { kubectlFor } from './helpers.js';

const cli = join(process.cwd(), 'dist', 'cli.js');
const network = '127.78.3';

interface Up {
  readonly child: ChildProcess;
  readonly kubeconfig: string;
  readonly ready: string;
  readonly exited: Promise<number | null>;
}

function up(args: readonly string[]): Promise<Up> {
  const child = spawn(process.execPath, [cli, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve, reject) => {
    let kubeconfig: string | undefined;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const exported = /^export KUBECONFIG=(.+)$/.exec(line);
      if (exported) kubeconfig = exported[1];
      if (line.startsWith('ready:')) {
        if (kubeconfig === undefined) reject(new Error('ready before the export line'));
        else resolve({ child, kubeconfig, ready: line, exited });
      }
    });
    void exited.then((code) => reject(new Error(`pocketkube up exited (${String(code)}) before ready: ${stderr}`)));
  });
}

/** Runs `up` to its end (for runs that must fail). */
function run(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, 'up', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('exit', (code) => done({ code, stderr }));
  });
}

async function stop(u: Up): Promise<number | null> {
  u.child.kill('SIGINT');
  return u.exited;
}

test('pocketkube up: export and ready lines, kubectl works, SIGINT exits 0, --data-dir keeps state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pk-up-'));
  const running = new Set<ChildProcess>();
  t.teardown(async () => {
    for (const child of running) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const args = ['--data-dir', dir, '--port', '0', '--host', `${network}.100`, '--apiserver-network', network, '--service-network', '127.99', '--pod-network', '127.247.0.0/16'];
  const first = await up(args);
  running.add(first.child);
  t.regex(first.ready, new RegExp(`^ready: 3 masters, 2 workers, API at https://${network.replace(/\./g, '\\.')}\\.100:\\d+$`));
  t.is(first.kubeconfig, join(dir, 'kubeconfig'));
  const kubectl = await kubectlFor(first.kubeconfig);
  t.teardown(() => kubectl.close());
  const created = await kubectl(['create', 'namespace', 'kept']);
  t.is(created.code, 0, created.stderr);
  // A second cluster on the same front door address fails at once, naming the port and the fix.
  const port = /:(\d+)$/.exec(first.ready)![1]!;
  const clash = await run(['--data-dir', join(dir, 'other'), '--port', port, '--host', `${network}.100`, '--apiserver-network', '127.78.4']);
  t.is(clash.code, 1);
  t.regex(clash.stderr, new RegExp(`port ${port} on ${network.replace(/\./g, '\\.')}\\.100 \\(the front door\\) is already in use`));
  t.regex(clash.stderr, /pass another --port/);
  t.notRegex(clash.stderr, /^\s+at /m, 'no stack trace');
  // A second cluster on the same data directory is refused, naming the directory and the holder.
  const held = await run(['--data-dir', dir, '--port', '0', '--host', '127.78.5.100', '--apiserver-network', '127.78.5']);
  t.is(held.code, 1);
  t.true(held.stderr.includes(`the data directory ${dir} is held by another running cluster (pid ${first.child.pid!}`), held.stderr);
  t.regex(held.stderr, /pass another --data-dir/);
  t.notRegex(held.stderr, /^\s+at /m, 'no stack trace');
  t.is(await stop(first), 0);
  running.delete(first.child);

  const second = await up(args);
  running.add(second.child);
  const again = await kubectlFor(second.kubeconfig);
  t.teardown(() => again.close());
  const got = await again(['get', 'namespace', 'kept', '-o', 'name']);
  t.is(got.stdout.trim(), 'namespace/kept', got.stderr);
  t.is(await stop(second), 0);
  running.delete(second.child);
  t.false(existsSync(join(dir, 'pocketkube.lock')), 'a stopped cluster releases its data directory');
});

test('pocketkube up: a taken apiserver port names the port, the master and the flags that fix it', async (t) => {
  const taken = '127.78.6';
  const blocker = createServer();
  await new Promise<void>((done) => blocker.listen(0, `${taken}.1`, done));
  t.teardown(() => blocker.close());
  const port = String((blocker.address() as AddressInfo).port);
  const clash = await run(['--port', '0', '--host', `${taken}.100`, '--apiserver-network', taken, '--apiserver-port', port]);
  t.is(clash.code, 1);
  t.regex(clash.stderr, new RegExp(`port ${port} on ${taken.replace(/\./g, '\\.')}\\.1 \\(the apiserver of master-1\\) is already in use`));
  t.regex(clash.stderr, /--apiserver-port/);
  t.regex(clash.stderr, /--apiserver-network/);
  t.notRegex(clash.stderr, /^\s+at /m, 'no stack trace');
});

test('pocketkube up: a bad flag names the problem and exits 2', async (t) => {
  const badProfile = await run(['--profile', 'slow']);
  t.is(badProfile.code, 2);
  t.regex(badProfile.stderr, /--profile must be "fast" or "kubernetes"/);
  const badPort = await run(['--port', '70000']);
  t.is(badPort.code, 2);
  t.regex(badPort.stderr, /--port must be a TCP port number/);
  const badServices = await run(['--service-network', '10.96']);
  t.is(badServices.code, 2);
  t.regex(badServices.stderr, /--service-network must be a loopback \/16 prefix like 127\.96, not "10\.96"/);
  const badPods = await run(['--pod-network', '127.244.0.0/24']);
  t.is(badPods.code, 2);
  t.regex(badPods.stderr, /--pod-network must be a loopback \/16 like 127\.244\.0\.0\/16/);
  const unknown = await run(['--bogus']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option '--bogus'/);
});

/** Runs `pocketkube explain ...` to its end. */
function explainCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, 'explain', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('pocketkube explain pod: the scheduler\'s last decision for a pod of a running "pocketkube up", nodes as rows and plugins as columns', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pk-explain-'));
  const explainNetwork = '127.78.14';
  const running = await up(['--data-dir', dir, '--port', '0', '--host', `${explainNetwork}.100`, '--apiserver-network', explainNetwork, '--workers', '0']);
  t.teardown(async () => {
    running.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const kubectl = await kubectlFor(running.kubeconfig);
  t.teardown(() => kubectl.close());
  const node = (name: string, cpu: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { allocatable: { cpu, memory: '8Gi', pods: '110' }, capacity: { cpu, memory: '8Gi', pods: '110' } } });
  t.is((await kubectl(['create', '-f', '-'], { input: node('small', '1') })).code, 0);
  t.is((await kubectl(['create', '-f', '-'], { input: node('large', '8') })).code, 0);
  const pod = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'default' }, spec: {
    containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '2' } } }],
    // These Nodes have no kubelet: the node lifecycle controller taints them unreachable.
    tolerations: [{ operator: 'Exists' }],
  } });
  t.is((await kubectl(['create', '-f', '-'], { input: pod })).code, 0);
  let out = { code: null as number | null, stdout: '', stderr: '' };
  for (let i = 0; i < 50 && out.code !== 0; i++) {
    out = await explainCli(['pod', 'default/big'], { ...process.env, KUBECONFIG: running.kubeconfig });
    if (out.code !== 0) await new Promise((r) => setTimeout(r, 200));
  }
  t.is(out.code, 0, out.stderr);
  t.regex(out.stdout, /^pod default\/big \(default-scheduler\): -> large; 1 feasible of 2 evaluated, 2 nodes/m);
  t.regex(out.stdout, /^NODE\s+.*NodeResourcesFit.*TOTAL$/m);
  t.regex(out.stdout, /^\* large\s/m);
  t.regex(out.stdout, /^small\s.*no: Insufficient cpu/m);
  t.regex(out.stdout, /decided by master-\d\/scheduler at \d{4}-/);
  // A pod nobody tried, a malformed name, and no cluster: each a clear message.
  const unknown = await explainCli(['pod', 'default/nope', '--data-dir', dir]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no scheduler has a decision for default\/nope/);
  const malformed = await explainCli(['pod', 'big', '--data-dir', dir]);
  t.is(malformed.code, 2);
  t.regex(malformed.stderr, /expected namespace\/name/);
  const none = await explainCli(['pod', 'default/big', '--data-dir', join(dir, 'nothing-here')]);
  t.is(none.code, 1);
  t.regex(none.stderr, /no running "pocketkube up" found .* Start one with "pocketkube up"/);
});
