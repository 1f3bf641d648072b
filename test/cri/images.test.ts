import test from 'ava';
import { httpGet } from '../../src/cri/images/http-client.js';
import { livenessHealthyMs } from '../../src/cri/images/agnhost.js';
import { containerConfig, fixture, logText, runContainer, settle, statusOf, until, type Fixture } from './helpers.js';

const podCidr = '127.244.1.0/24';

async function started(options: Parameters<typeof fixture>[0] = {}): Promise<Fixture> {
  const f = fixture(options);
  await f.ok({ type: 'updateRuntimeConfig', podCidr });
  return f;
}

/** An HTTP GET from a client pod address on the same in-memory network. */
function get(f: Fixture, url: string): ReturnType<typeof httpGet> {
  return httpGet({ net: f.fabric.podNetwork('127.244.1.250'), clock: f.clock, signal: new AbortController().signal }, url, { timeoutMs: 5_000, bodyBytesMax: 1 << 20 });
}

async function getOk(f: Fixture, url: string): Promise<{ status: number; body: string }> {
  const result = await get(f, url);
  if (!result.ok) throw new Error(result.message);
  return result;
}

async function sh(f: Fixture, script: string, env: { key: string; value: string }[] = []): Promise<{ stdout: string; exitCode: number; stderr: string }> {
  const { containerId } = await runContainer(f, `sh-${Math.abs(hash(script))}`, containerConfig('c', 'busybox', { command: ['sh', '-c', script], envs: env }));
  await until(async () => (await statusOf(f, containerId)).state === 'CONTAINER_EXITED');
  const { lines } = await f.ok({ type: 'readContainerLog', containerId });
  const text = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => `${l.text}\n`).join('');
  return { stdout: text('stdout'), stderr: text('stderr'), exitCode: (await statusOf(f, containerId)).exitCode };
}

function hash(text: string): number {
  let h = 0;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) | 0;
  return h;
}

test('nginx serves its default page naming the pod, a mounted ConfigMap page, 404 for missing, and exits 0 on SIGTERM', async (t) => {
  const f = await started();
  const plain = await runContainer(f, 'web-1', containerConfig('nginx', 'nginx:1.27'));
  await settle();
  const page = await getOk(f, `http://${plain.ip}/`);
  t.is(page.status, 200);
  t.regex(page.body, /Welcome to nginx!/);
  t.regex(page.body, /Served by pod <b>web-1<\/b>/);
  t.is((await getOk(f, `http://${plain.ip}/nope.html`)).status, 404);
  t.regex(await logText(f, plain.containerId), /"GET \/ HTTP\/1.1" 200 \d+/);

  f.fs.files.set('/var/lib/pods/cm/index.html', Buffer.from('<h1>from a ConfigMap</h1>\n'));
  f.fs.files.set('/var/lib/pods/cm/extra.txt', Buffer.from('extra\n'));
  const mounted = await runContainer(f, 'web-2', containerConfig('nginx', 'nginx', { mounts: [{ containerPath: '/usr/share/nginx/html', hostPath: '/var/lib/pods/cm', readonly: true }] }));
  await settle();
  t.is((await getOk(f, `http://${mounted.ip}/`)).body, '<h1>from a ConfigMap</h1>\n');
  t.is((await getOk(f, `http://${mounted.ip}/extra.txt`)).body, 'extra\n');
  t.is((await getOk(f, `http://${mounted.ip}/index.html`)).body, '<h1>from a ConfigMap</h1>\n');

  await f.ok({ type: 'stopContainer', containerId: plain.containerId, timeout: 30 });
  t.like(await statusOf(f, plain.containerId), { exitCode: 0, reason: 'Completed' });
  const after = await get(f, `http://${plain.ip}/`);
  t.false(after.ok, 'the port is closed once nginx exits');
});

test('busybox shell: && || ; exit N, variables, quoting, $(...), pipes, if, for, while, redirection', async (t) => {
  const f = await started();
  t.like(await sh(f, 'echo a && echo b; false || echo c; false && echo never; exit 7'), { stdout: 'a\nb\nc\n', exitCode: 7 });
  t.like(await sh(f, 'X=1; echo "$X ${X}2" \'$X\' $HOSTNAME; echo "$?"', [{ key: 'Y', value: 'y' }]), { stdout: '1 12 $X sh-' + Math.abs(hash('X=1; echo "$X ${X}2" \'$X\' $HOSTNAME; echo "$?"')) + '\n0\n' });
  t.like(await sh(f, 'echo "h=$(hostname | grep -c sh)"; env | grep -q ^Y=y && echo has-y', [{ key: 'Y', value: 'y' }]), { stdout: 'h=1\nhas-y\n' });
  t.like(await sh(f, 'if [ -f /etc/hostname ]; then echo yes; else echo no; fi; for i in 1 2 3; do printf "%s," $i; done; echo'), { stdout: 'yes\n1,2,3,\n' });
  t.like(await sh(f, 'n=; while [ "$n" != xxx ]; do n=${n}x; echo n=$n; done; until true; do echo never; done'), { stdout: 'n=x\nn=xx\nn=xxx\n', exitCode: 0 });
  t.like(await sh(f, 'echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; cat /missing 2>/dev/null || echo missing'), { stdout: 'one\ntwo\nmissing\n' });
  t.like(await sh(f, 'nosuch'), { exitCode: 127, stderr: 'sh: nosuch: not found\n' });
  t.like(await sh(f, 'echo "unterminated'), { exitCode: 2 });
});

test('busybox default CMD sh exits 0 at once; sleep is virtual time and SIGTERM ends it with 143', async (t) => {
  const f = await started();
  const idle = await runContainer(f, 'idle', containerConfig('c', 'busybox'));
  await until(async () => (await statusOf(f, idle.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, idle.containerId), { exitCode: 0, reason: 'Completed' });
  const sleeper = await runContainer(f, 'sleeper', containerConfig('c', 'alpine', { command: ['sh', '-c', 'sleep 2; echo woke'] }));
  await settle();
  f.clock.advance(1999);
  await settle();
  t.is((await statusOf(f, sleeper.containerId)).state, 'CONTAINER_RUNNING');
  f.clock.advance(1);
  await until(async () => (await statusOf(f, sleeper.containerId)).state === 'CONTAINER_EXITED');
  t.is(await logText(f, sleeper.containerId), 'woke\n');
});

test('busybox wget and nslookup go through the pod network and its resolver', async (t) => {
  const f = await started();
  const web = await runContainer(f, 'web', containerConfig('nginx', 'nginx'));
  f.fabric.setName('web', [web.ip]);
  await settle();
  const fetched = await sh(f, `wget -q -O- http://web/ | grep -c 'Served by pod'; wget -q -O- -T 2 http://${web.ip}/missing || echo failed=$?`);
  t.is(fetched.stdout, '1\nfailed=1\n');
  t.regex(fetched.stderr, /server returned error: HTTP\/1.1 404 Not Found/);
  const bad = await sh(f, 'wget -q -O- http://nowhere/');
  t.like(bad, { exitCode: 1 });
  t.regex(bad.stderr, /bad address 'nowhere'/);
  const lookup = await sh(f, 'nslookup web; nslookup nothing');
  t.regex(lookup.stdout, new RegExp(`Name:\\tweb\\nAddress: ${web.ip.replace(/\./g, '\\.')}`));
  t.regex(lookup.stderr, /server can't find nothing: NXDOMAIN/);
  t.is(lookup.exitCode, 1);
});

test('agnhost serve-hostname answers the hostname on 9376 (and --port)', async (t) => {
  const f = await started();
  const a = await runContainer(f, 'host-a', containerConfig('c', 'registry.k8s.io/e2e-test-images/agnhost:2.52', { args: ['serve-hostname'] }));
  const b = await runContainer(f, 'host-b', containerConfig('c', 'registry.k8s.io/e2e-test-images/agnhost:2.52', { args: ['serve-hostname', '--port=8000'] }));
  await settle();
  t.is((await getOk(f, `http://${a.ip}:9376/`)).body, 'host-a');
  t.is((await getOk(f, `http://${b.ip}:8000/`)).body, 'host-b');
});

test('agnhost netexec: /hostname /echo /shell /dial (http and udp) /exit', async (t) => {
  const f = await started();
  const image = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
  const server = await runContainer(f, 'server', containerConfig('c', image, { args: ['netexec', '--http-port=8080', '--udp-port=8081'] }));
  const client = await runContainer(f, 'client', containerConfig('c', image, { args: ['netexec'] }));
  await settle();
  const base = `http://${client.ip}:8080`;
  t.is((await getOk(f, `${base}/hostname`)).body, 'client');
  t.is((await getOk(f, `${base}/echo?msg=hello%20there`)).body, 'hello there');
  t.deepEqual(JSON.parse((await getOk(f, `${base}/shell?cmd=${encodeURIComponent('echo hi; hostname')}`)).body), { output: 'hi\nclient\n' });
  const http = JSON.parse((await getOk(f, `${base}/dial?request=hostname&protocol=http&host=${server.ip}&port=8080&tries=2`)).body);
  t.deepEqual(http, { responses: ['server', 'server'], errors: [] });
  const udpDial = getOk(f, `${base}/dial?request=hostname&protocol=udp&host=${server.ip}&port=8081&tries=1`);
  const udp = JSON.parse((await udpDial).body);
  t.deepEqual(udp, { responses: ['server'], errors: [] });
  const refused = JSON.parse((await getOk(f, `${base}/dial?request=hostname&protocol=http&host=${server.ip}&port=9999&tries=1`)).body);
  t.is(refused.responses.length, 0);
  t.regex(refused.errors[0], /Connection refused/);
  await getOk(f, `http://${server.ip}:8080/exit?code=3`);
  await until(async () => (await statusOf(f, server.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, server.containerId), { exitCode: 3, reason: 'Error' });
});

test('agnhost liveness: /healthz is 200 for 10 s, then 500', async (t) => {
  const f = await started();
  const live = await runContainer(f, 'live', containerConfig('c', 'registry.k8s.io/e2e-test-images/agnhost:2.52', { args: ['liveness'] }));
  await settle();
  t.is((await getOk(f, `http://${live.ip}:8080/healthz`)).status, 200);
  f.clock.advance(livenessHealthyMs);
  t.is((await getOk(f, `http://${live.ip}:8080/healthz`)).status, 200);
  f.clock.advance(1);
  const failing = await getOk(f, `http://${live.ip}:8080/healthz`);
  t.is(failing.status, 500);
  t.regex(failing.body, /^error: 10\.001s/);
});

test('stress reports cpu and memory usage, and completes after --timeout', async (t) => {
  const f = await started();
  const s = await runContainer(f, 'hog', containerConfig('c', 'pocketkube/stress', { command: ['stress'], args: ['--cpu', '3', '--timeout', '10s'] }));
  await settle();
  f.clock.advance(1000);
  t.is((await f.ok({ type: 'containerStats', containerId: s.containerId })).stats.cpuUsageCoreNanoSeconds, 3e9);
  f.clock.advance(9000);
  await until(async () => (await statusOf(f, s.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, s.containerId), { exitCode: 0 });
  t.regex(await logText(f, s.containerId), /successful run completed/);
  const bad = await runContainer(f, 'bad', containerConfig('c', 'polinux/stress', { command: ['stress'], args: ['--bogus'] }));
  await until(async () => (await statusOf(f, bad.containerId)).state === 'CONTAINER_EXITED');
  t.like(await statusOf(f, bad.containerId), { exitCode: 1 });
});
