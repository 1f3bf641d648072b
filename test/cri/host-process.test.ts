/**
 * The `process` runtime handler in the runtime core (a recording launcher stands in for
 * node:child_process), and the real launcher of the container-runtime shell running a real
 * command: its output reaches the container log, SIGTERM stops it, SIGKILL after the grace period.
 */
import test from 'ava';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcessLauncher } from '../../actors/container-runtime/host-process.js';
import type { HostProcessLauncher, HostProcessSpec } from '../../src/cri/host-process.js';
import { containerConfig, fixture, sandboxConfig } from './helpers.js';

test('a process-handler sandbox runs the container command through the launcher, with POD_IP, no image pull; stop is SIGTERM then SIGKILL', async (t) => {
  const seen: HostProcessSpec[] = [];
  const launcher: HostProcessLauncher = {
    run: (spec) => {
      seen.push(spec);
      spec.stdout('serving\n');
      // Ignores SIGTERM; only SIGKILL ends it.
      return new Promise((resolve) => spec.kill.addEventListener('abort', () => resolve(137), { once: true }));
    },
  };
  const f = fixture({ hostProcesses: launcher });
  await f.ok({ type: 'updateRuntimeConfig', podCidr: '127.244.1.0/24' });
  const { podSandboxId } = await f.ok({ type: 'runPodSandbox', config: sandboxConfig('p'), runtimeHandler: 'process' });
  const noCommand = await f.call({ type: 'createContainer', podSandboxId, config: containerConfig('c', 'my/server'), sandboxConfig: sandboxConfig('p') });
  t.like(noCommand, { type: 'criError', code: 'InvalidArgument' });
  t.regex((noCommand as { message: string }).message, /give container c a command/);
  const { containerId } = await f.ok({ type: 'createContainer', podSandboxId, config: containerConfig('c', 'my/server', { command: ['node', 'server.js'], envs: [{ key: 'MODE', value: 'x' }] }), sandboxConfig: sandboxConfig('p') });
  await f.ok({ type: 'startContainer', containerId });
  await f.clock.advance(0);
  t.is(seen.length, 1);
  t.deepEqual(seen[0]!.argv, ['node', 'server.js']);
  t.like(seen[0]!.env, { MODE: 'x', POD_IP: '127.244.1.2', HOSTNAME: 'p' });
  t.is(seen[0]!.podUid, 'uid-p');
  const stopping = f.ok({ type: 'stopContainer', containerId, timeout: 2 });
  await f.clock.advance(0);
  t.true(seen[0]!.terminate.aborted);
  t.false(seen[0]!.kill.aborted);
  f.clock.advance(2_000);
  await stopping;
  t.true(seen[0]!.kill.aborted);
  const { status } = await f.ok({ type: 'containerStatus', containerId });
  t.like(status, { state: 'CONTAINER_EXITED', exitCode: 137 });
  t.deepEqual((await f.ok({ type: 'readContainerLog', containerId })).lines.map((l) => l.text), ['serving']);
});

test('without a launcher (simulation, in-memory network) the process handler is refused with a message that says where it runs', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr: '127.244.1.0/24' });
  const refused = await f.call({ type: 'runPodSandbox', config: sandboxConfig('p'), runtimeHandler: 'process' });
  t.like(refused, { type: 'criError', code: 'InvalidArgument' });
  t.regex((refused as { message: string }).message, /runs real host processes.*threads placement/);
  t.regex(JSON.stringify(await f.call({ type: 'runPodSandbox', config: sandboxConfig('q'), runtimeHandler: 'kata' })), /no runtime for \\"kata\\"/);
});

test('the real launcher: a node child process in its own directory with the volumes linked, output to the log, SIGTERM ends it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pocketkube-process-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const terminate = new AbortController();
  const kill = new AbortController();
  let out = '';
  // The handler is installed before the first line is written: the test sends SIGTERM once it reads that line.
  const script = "process.on('SIGTERM', () => { console.log('bye'); process.exit(3); }); process.stdout.write(process.cwd() + ' ' + process.env.POD_IP + '\\n'); setInterval(() => {}, 1000);";
  const exited = hostProcessLauncher(dir).run({
    argv: [process.execPath, '-e', script], env: { POD_IP: '127.244.1.9', PATH: process.env['PATH'] ?? '' }, podUid: 'u1', containerName: 'c',
    mounts: [{ containerPath: '/data', hostPath: dir }], stdout: (text) => { out += text; }, stderr: (text) => { out += text; },
    terminate: terminate.signal, kill: kill.signal,
  });
  while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 20));
  t.is(out.trim(), `${join(dir, 'u1', 'c')} 127.244.1.9`);
  t.is(readlinkSync(join(dir, 'u1', 'c', 'data')), dir);
  terminate.abort();
  t.is(await exited, 3);
  t.regex(out, /bye/);
});
