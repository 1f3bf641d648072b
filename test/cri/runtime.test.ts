import test from 'ava';
import { resolveArgv } from '../../src/cri/command.js';
import type { Image } from '../../src/cri/image.js';
import { HostLocalIpam } from '../../src/cri/ipam.js';
import { ContainerLog } from '../../src/cri/logs.js';
import { containerConfig, fixture, logText, runContainer, sandboxConfig, settle, statusOf, until } from './helpers.js';

const podCidr = '127.244.1.0/24';

/** An image that ignores SIGTERM: only the kill after the grace period ends it. */
const stubborn: Image = {
  repository: 'test/stubborn', entrypoint: [], cmd: [],
  run: async (process) => {
    process.stdout('ignoring signals\n');
    await new Promise<void>(() => undefined);
    return 0;
  },
};

test('sandbox before the pod CIDR fails FailedPrecondition; after it, IPs from .2 and released on remove', async (t) => {
  const f = fixture();
  const early = await f.call({ type: 'runPodSandbox', config: sandboxConfig('a') });
  t.like(early, { type: 'criError', code: 'FailedPrecondition' });
  t.like(await f.call({ type: 'status' }), { conditions: [{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: false }] });
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const a = await f.ok({ type: 'runPodSandbox', config: sandboxConfig('a') });
  const b = await f.ok({ type: 'runPodSandbox', config: sandboxConfig('b') });
  t.is((await f.ok({ type: 'podSandboxStatus', podSandboxId: a.podSandboxId })).status.network.ip, '127.244.1.2');
  t.is((await f.ok({ type: 'podSandboxStatus', podSandboxId: b.podSandboxId })).status.network.ip, '127.244.1.3');
  // A retried RunPodSandbox (same uid and attempt) gets the same sandbox.
  t.is((await f.ok({ type: 'runPodSandbox', config: sandboxConfig('a') })).podSandboxId, a.podSandboxId);
  await f.ok({ type: 'stopPodSandbox', podSandboxId: a.podSandboxId });
  t.is((await f.ok({ type: 'listPodSandbox', filter: { state: 'SANDBOX_NOTREADY' } })).items.length, 1);
  t.is(f.ipam.allocated(), 2);
  await f.ok({ type: 'removePodSandbox', podSandboxId: a.podSandboxId });
  t.is(f.ipam.allocated(), 1);
  t.like(await f.call({ type: 'podSandboxStatus', podSandboxId: a.podSandboxId }), { type: 'criError', code: 'NotFound' });
  // Removing twice is not an error (CRI).
  await f.ok({ type: 'removePodSandbox', podSandboxId: a.podSandboxId });
});

test('hostNetwork sandboxes use the node IP and need no CIDR; a bad CIDR is InvalidArgument', async (t) => {
  const f = fixture();
  const { podSandboxId } = await f.ok({ type: 'runPodSandbox', config: sandboxConfig('h', { hostNetwork: true }) });
  t.is((await f.ok({ type: 'podSandboxStatus', podSandboxId })).status.network.ip, '127.10.1.1');
  t.like(await f.call({ type: 'updateRuntimeConfig', podCidr: '127.244.1/24' }), { type: 'criError', code: 'InvalidArgument' });
  t.like(await f.call({ type: 'runPodSandbox', config: sandboxConfig('p'), runtimeHandler: 'kata' }), { type: 'criError', code: 'InvalidArgument' });
});

test('host-local IPAM: round-robin, exhaustion names the range, release makes room', (t) => {
  const ipam = new HostLocalIpam();
  const cidr = '127.244.9.0/29'; // .2 .. .6
  const ips = ['a', 'b', 'c', 'd', 'e'].map((id) => ipam.add(id, cidr));
  t.deepEqual(ips.map((r) => (r.ok ? r.value : r.message)), ['127.244.9.2', '127.244.9.3', '127.244.9.4', '127.244.9.5', '127.244.9.6']);
  const full = ipam.add('f', cidr);
  t.false(full.ok);
  t.regex(full.ok ? '' : full.message, /no IP addresses available in range set: 127\.244\.9\.2-127\.244\.9\.6/);
  ipam.del('b');
  t.deepEqual(ipam.check('b').ok, false);
  t.deepEqual(ipam.add('f', cidr), { ok: true, value: '127.244.9.3' });
  t.deepEqual(ipam.add('f', cidr), { ok: true, value: '127.244.9.3' }, 'ADD is idempotent per sandbox');
  t.false(ipam.add('g', '127.244.10.0/24').ok, 'the CIDR cannot change under live addresses');
});

test('pulling an unknown image fails naming the problem; known images list and remove', async (t) => {
  const f = fixture();
  const bad = await f.call({ type: 'pullImage', image: { image: 'nosuch/thing:1.0' } });
  t.like(bad, { type: 'criError', code: 'NotFound' });
  t.regex(bad.type === 'criError' ? bad.message : '', /nosuch\/thing.*repository does not exist/);
  const { imageRef } = await f.ok({ type: 'pullImage', image: { image: 'docker.io/library/nginx:1.27' } });
  t.regex(imageRef, /^sha256:[0-9a-f]{64}$/);
  t.deepEqual((await f.ok({ type: 'listImages' })).images.map((i) => i.repoTags[0]), ['nginx:1.27']);
  t.truthy((await f.ok({ type: 'imageStatus', image: { image: 'nginx:1.27' } })).image);
  await f.ok({ type: 'removeImage', image: { image: 'nginx:1.27' } });
  t.is((await f.ok({ type: 'imageStatus', image: { image: 'nginx:1.27' } })).image, undefined);
});

test('create before pull is NotFound; name and attempt are unique per sandbox; restart attempts coexist', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const sb = sandboxConfig('p');
  const { podSandboxId } = await f.ok({ type: 'runPodSandbox', config: sb });
  t.like(await f.call({ type: 'createContainer', podSandboxId, config: containerConfig('c', 'busybox'), sandboxConfig: sb }), { type: 'criError', code: 'NotFound' });
  await f.ok({ type: 'pullImage', image: { image: 'busybox' } });
  const first = await f.ok({ type: 'createContainer', podSandboxId, config: containerConfig('c', 'busybox', { command: ['sh', '-c', 'exit 3'] }), sandboxConfig: sb });
  t.like(await f.call({ type: 'createContainer', podSandboxId, config: containerConfig('c', 'busybox'), sandboxConfig: sb }), { type: 'criError', code: 'AlreadyExists' });
  await f.ok({ type: 'startContainer', containerId: first.containerId });
  await until(async () => (await statusOf(f, first.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, first.containerId), { exitCode: 3, reason: 'Error' });
  t.like(await f.call({ type: 'startContainer', containerId: first.containerId }), { type: 'criError', code: 'FailedPrecondition' });
  const second = await f.ok({ type: 'createContainer', podSandboxId, config: { ...containerConfig('c', 'busybox', { command: ['true'] }), metadata: { name: 'c', attempt: 1 } }, sandboxConfig: sb });
  await f.ok({ type: 'startContainer', containerId: second.containerId });
  await until(async () => (await statusOf(f, second.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, second.containerId), { exitCode: 0, reason: 'Completed', metadata: { name: 'c', attempt: 1 } });
  t.is((await f.ok({ type: 'listContainers', filter: { podSandboxId } })).containers.length, 2);
});

test('stop: SIGTERM ends a cooperative container at once; a stubborn one is killed after the grace period', async (t) => {
  const f = fixture({ extraImages: [stubborn] });
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const sleeper = await runContainer(f, 'sleeper', containerConfig('c', 'busybox', { command: ['sleep', '3600'] }));
  await f.ok({ type: 'stopContainer', containerId: sleeper.containerId, timeout: 30 });
  t.like(await statusOf(f, sleeper.containerId), { state: 'CONTAINER_EXITED', exitCode: 143, reason: 'Error' });
  t.is(f.clock.now(), 0, 'no grace period spent');

  const hard = await runContainer(f, 'hard', containerConfig('c', 'test/stubborn'));
  let stopped = false;
  const stopping = f.ok({ type: 'stopContainer', containerId: hard.containerId, timeout: 5 }).then(() => { stopped = true; });
  await settle();
  f.clock.advance(4_999);
  await settle();
  t.false(stopped);
  t.is((await statusOf(f, hard.containerId)).state, 'CONTAINER_RUNNING');
  f.clock.advance(1);
  await stopping;
  t.like(await statusOf(f, hard.containerId), { state: 'CONTAINER_EXITED', exitCode: 137 });
  t.regex((await statusOf(f, hard.containerId)).message, /grace period/);
});

test('a killed container\'s sockets close with it: the next attempt binds the same port', async (t) => {
  const squatter: Image = {
    repository: 'test/squatter', entrypoint: [], cmd: [],
    run: async (process) => {
      await process.net.listen(80, (stream) => stream.end('old'));
      process.stdout('listening\n');
      await new Promise<void>(() => undefined);
      return 0;
    },
  };
  const f = fixture({ extraImages: [squatter] });
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const first = await runContainer(f, 'p', containerConfig('c', 'test/squatter'));
  await until(async () => (await logText(f, first.containerId)) === 'listening\n');
  const stopping = f.ok({ type: 'stopContainer', containerId: first.containerId, timeout: 1 });
  await settle();
  f.clock.advance(1000);
  await stopping;
  const sandbox = sandboxConfig('p');
  await f.ok({ type: 'pullImage', image: { image: 'nginx' } });
  const second = await f.ok({ type: 'createContainer', podSandboxId: first.sandboxId, config: { ...containerConfig('c', 'nginx'), metadata: { name: 'c', attempt: 1 } }, sandboxConfig: sandbox });
  await f.ok({ type: 'startContainer', containerId: second.containerId });
  await until(async () => (await logText(f, second.containerId)).includes('ready for start up'));
  await settle();
  t.is((await statusOf(f, second.containerId)).state, 'CONTAINER_RUNNING', 'nginx bound :80 the killed container held');
});

test('events: created, started, stopped, deleted, in order', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const { containerId } = await runContainer(f, 'p', containerConfig('c', 'busybox', { command: ['sleep', '10'] }));
  f.clock.advance(10_000);
  await until(() => f.events.length >= 3);
  await f.ok({ type: 'removeContainer', containerId });
  t.deepEqual(f.events.map((e) => e.eventType), ['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  t.true(f.events.every((e) => e.containerId === containerId));
  t.like(await f.call({ type: 'containerStatus', containerId }), { type: 'criError', code: 'NotFound' });
});

test('command replaces ENTRYPOINT, args replaces CMD; $(VAR) is left to the kubelet, env reaches the process', async (t) => {
  const image = { entrypoint: ['/ep'], cmd: ['default'] };
  t.deepEqual(resolveArgv(image, undefined, undefined), ['/ep', 'default']);
  t.deepEqual(resolveArgv(image, undefined, ['x']), ['/ep', 'x']);
  t.deepEqual(resolveArgv(image, ['cmd'], undefined), ['cmd']);
  t.deepEqual(resolveArgv(image, ['cmd'], ['y']), ['cmd', 'y']);
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const { containerId } = await runContainer(f, 'p', containerConfig('c', 'busybox', { args: ['sh', '-c', 'echo greeting=$GREETING "$(GREETING)"'], envs: [{ key: 'GREETING', value: 'hello' }] }));
  await until(async () => (await statusOf(f, containerId)).state === 'CONTAINER_EXITED');
  // `$(GREETING)` reaches the shell unexpanded, where it is a command substitution (not found).
  t.is(await logText(f, containerId), 'sh: GREETING: not found\ngreeting=hello \n');
});

test('logs: timestamps, tailLines, sinceMs, limitBytes, and the byte bound drops the oldest lines', async (t) => {
  const f = fixture({ logBytesMax: 100 });
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const script = 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo line-$i; sleep 1; done';
  const { containerId } = await runContainer(f, 'p', containerConfig('c', 'busybox', { command: ['sh', '-c', script] }));
  for (let i = 0; i < 20; i++) { await settle(); f.clock.advance(1000); }
  await until(async () => (await statusOf(f, containerId)).state === 'CONTAINER_EXITED');
  const all = (await f.ok({ type: 'readContainerLog', containerId })).lines;
  t.true(all.reduce((sum, l) => sum + l.text.length + 1, 0) <= 100);
  t.is(all[all.length - 1]!.text, 'line-20');
  t.not(all[0]!.text, 'line-1', 'the oldest lines were dropped');
  t.deepEqual((await f.ok({ type: 'readContainerLog', containerId, tailLines: 2 })).lines.map((l) => l.text), ['line-19', 'line-20']);
  const since = all[all.length - 3]!.timeMs;
  t.deepEqual((await f.ok({ type: 'readContainerLog', containerId, sinceMs: since })).lines.map((l) => l.text), ['line-18', 'line-19', 'line-20']);
  t.true(all.every((l, i) => i === 0 || l.timeMs >= all[i - 1]!.timeMs));
  const limited = await f.ok({ type: 'readContainerLog', containerId, tailLines: 2, limitBytes: 10 });
  t.true(limited.truncated);
  t.deepEqual(limited.lines.map((l) => l.text), ['line-19', 'l']);
});

test('ContainerLog keeps partial lines until their newline and splits overlong ones', (t) => {
  const log = new ContainerLog(1000);
  log.write('stdout', 'par', 1);
  log.write('stdout', 'tial\nnext', 2);
  t.deepEqual(log.read({}).lines.map((l) => l.text), ['partial']);
  log.flush(3);
  t.deepEqual(log.read({}).lines.map((l) => [l.text, l.timeMs]), [['partial', 2], ['next', 3]]);
});

test('list filters by state, sandbox and labels; stats integrate usage', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const a = await runContainer(f, 'a', containerConfig('c', 'polinux/stress', { command: ['stress'], args: ['--cpu', '2', '--vm', '1', '--vm-bytes', '1M'], labels: { app: 'burn' } }));
  const b = await runContainer(f, 'b', containerConfig('c', 'busybox', { command: ['true'], labels: { app: 'quiet' } }));
  await until(async () => (await statusOf(f, b.containerId)).state === 'CONTAINER_EXITED');
  t.deepEqual((await f.ok({ type: 'listContainers', filter: { state: 'CONTAINER_RUNNING' } })).containers.map((c) => c.id), [a.containerId]);
  t.deepEqual((await f.ok({ type: 'listContainers', filter: { labelSelector: { app: 'quiet' } } })).containers.map((c) => c.id), [b.containerId]);
  t.deepEqual((await f.ok({ type: 'listContainers', filter: { podSandboxId: a.sandboxId } })).containers.map((c) => c.id), [a.containerId]);
  await settle();
  f.clock.advance(2000);
  const { stats } = await f.ok({ type: 'containerStats', containerId: a.containerId });
  // (2 cpu + 1 vm worker) × 1000 m for 2 s = 6 core-seconds.
  t.is(stats.cpuUsageCoreNanoSeconds, 6e9);
  t.is(stats.memoryWorkingSetBytes, 1024 * 1024);
  t.is((await f.ok({ type: 'listContainerStats', filter: { labelSelector: { app: 'burn' } } })).stats.length, 1);
});

test('execSync: shell images run the command; pause has no executables; timeouts are DeadlineExceeded', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const box = await runContainer(f, 'box', containerConfig('c', 'busybox', { command: ['sleep', '3600'], envs: [{ key: 'WHO', value: 'me' }] }));
  t.like(await f.ok({ type: 'execSync', containerId: box.containerId, cmd: ['sh', '-c', 'echo $WHO; hostname; exit 4'], timeout: 5 }), { stdout: 'me\nbox\n', exitCode: 4 });
  t.like(await f.ok({ type: 'execSync', containerId: box.containerId, cmd: ['nosuch'], timeout: 5 }), { exitCode: 127, stderr: 'sh: nosuch: not found\n' });
  const slow = f.call({ type: 'execSync', containerId: box.containerId, cmd: ['sleep', '10'], timeout: 1 });
  await settle();
  f.clock.advance(1000);
  t.like(await slow, { type: 'criError', code: 'DeadlineExceeded' });
  const pause = await runContainer(f, 'pz', containerConfig('c', 'registry.k8s.io/pause:3.10'));
  t.like(await f.ok({ type: 'execSync', containerId: pause.containerId, cmd: ['ls'], timeout: 1 }), { exitCode: 126 });
  await f.ok({ type: 'stopContainer', containerId: box.containerId, timeout: 0 });
  t.like(await f.call({ type: 'execSync', containerId: box.containerId, cmd: ['true'], timeout: 1 }), { type: 'criError', code: 'FailedPrecondition' });
});

test('files: mounts map to host paths, read-only mounts refuse writes, /etc/resolv.conf comes from dnsConfig', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  f.fs.files.set('/data/cm/greeting', Buffer.from('hi from a ConfigMap\n'));
  const mounts = [{ containerPath: '/etc/config', hostPath: '/data/cm', readonly: true }, { containerPath: '/scratch', hostPath: '/data/empty' }];
  const dnsConfig = { servers: ['127.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] };
  const { containerId } = await runContainer(f, 'p', containerConfig('c', 'busybox', { command: ['sleep', '3600'], mounts }), { dnsConfig });
  const exec = (script: string) => f.ok({ type: 'execSync', containerId, cmd: ['sh', '-c', script], timeout: 5 });
  t.is((await exec('cat /etc/config/greeting')).stdout, 'hi from a ConfigMap\n');
  t.is((await exec('ls /etc')).stdout, 'config\nhostname\nresolv.conf\n');
  t.regex((await exec('echo no > /etc/config/greeting')).stderr, /Read-only file system/);
  t.is((await exec('echo kept > /scratch/out && cat /scratch/out')).stdout, 'kept\n');
  t.is(Buffer.from(f.fs.files.get('/data/empty/out')!).toString(), 'kept\n');
  t.is((await exec('cat /etc/resolv.conf')).stdout, 'search default.svc.cluster.local svc.cluster.local\nnameserver 127.96.0.10\noptions ndots:5\n');
});

test('setPodNetworkChaos: rules on a pod\'s sandbox hold what reaches it until removed; a pod not here, a hostNetwork pod and a bad rule are refused', async (t) => {
  const f = fixture();
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  const partition = [{ action: 'partition', direction: 'ingress' }] as const;
  t.like(await f.call({ type: 'setPodNetworkChaos', podUid: 'uid-web', chaosId: 'c1', rules: partition }), { type: 'criError', code: 'NotFound' });
  const web = await runContainer(f, 'web', containerConfig('nginx', 'nginx'));
  await settle();
  t.like(await f.call({ type: 'setPodNetworkChaos', podUid: 'uid-web', chaosId: 'c1', rules: [{ action: 'explode', direction: 'ingress' } as never] }), { type: 'criError', code: 'InvalidArgument', message: 'setPodNetworkChaos: unknown action "explode"' });
  t.like(await f.ok({ type: 'setPodNetworkChaos', podUid: 'uid-web', chaosId: 'c1', rules: partition }), { sandboxes: 1 });
  const answer: string[] = [];
  const stream = await f.fabric.podNetwork('127.244.1.99').connect(web.ip, 80);
  stream.on('data', (chunk: Buffer) => answer.push(chunk.toString()));
  stream.write('GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n');
  await settle(100);
  t.deepEqual(answer, [], 'nginx never sees the request while partitioned');
  t.like(await f.ok({ type: 'setPodNetworkChaos', podUid: 'uid-web', chaosId: 'c1', rules: [] }), { sandboxes: 1 });
  await until(() => answer.join('').includes('200 OK'));
  t.pass('answered once the partition is gone');
  await f.ok({ type: 'runPodSandbox', config: sandboxConfig('h', { hostNetwork: true }) });
  t.like(await f.call({ type: 'setPodNetworkChaos', podUid: 'uid-h', chaosId: 'c1', rules: partition }), { type: 'criError', code: 'InvalidArgument', message: 'pod uid-h uses the host\'s network: NetworkChaos is not injected into hostNetwork pods (as in Chaos Mesh)' });
});
