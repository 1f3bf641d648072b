/** Three apiservers over one store behind the front door: kubectl keeps working when the one that served it stops. */
import test from 'ava';
import { FrontDoor } from '../../src/apiserver/front-door.js';
import { adminToken, startE2e } from './e2e-helpers.js';

test('HA: kubectl through the front door survives the loss of the apiserver that served it', async (t) => {
  const door = '127.77.3.100';
  const e = await startE2e(['127.77.3.1', '127.77.3.2', '127.77.3.3'], { frontDoorIp: door });
  const fd = await FrontDoor.listen({
    backends: e.servers.map((s) => ({ host: s.host, port: s.port })), caPem: e.caPem, host: door, port: 0, healthIntervalMs: 100,
  });
  t.teardown(async () => { await fd.close(); await e.close(); });
  const kubeconfig = await e.kubeconfigFor(fd.url, adminToken, 'front-door');
  const ok = async (args: string[]): Promise<string> => {
    const r = await e.kubectl(args, { kubeconfig });
    t.is(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(['create', 'configmap', 'one', '--from-literal=a=1']);
  const victim = fd.lastBackend!;
  t.truthy(victim);
  const index = e.servers.findIndex((s) => s.host === victim.host && s.port === victim.port);
  await e.servers[index]!.close();
  e.cores[index]!.stop();
  await fd.checkNow();
  await fd.checkNow();
  t.false(fd.healthyBackends().some((b) => b.host === victim.host));
  for (let i = 0; i < 3; i++) await ok(['create', 'configmap', `after-${i}`, '--from-literal=a=1']);
  t.regex(await ok(['get', 'cm']), /after-2/);
  t.not(fd.lastBackend?.host, victim.host);
});

test('front door: a backend that refuses connections is skipped even before health checks notice', async (t) => {
  const door = '127.77.3.101';
  const e = await startE2e(['127.77.3.11', '127.77.3.12'], { frontDoorIp: door });
  const dead = e.servers[0]!;
  const backends = e.servers.map((s) => ({ host: s.host, port: s.port }));
  await dead.close();
  const fd = await FrontDoor.listen({ backends, caPem: e.caPem, host: door, port: 0, healthIntervalMs: 60_000 });
  t.teardown(async () => { await fd.close(); await e.close(); });
  const kubeconfig = await e.kubeconfigFor(fd.url, adminToken, 'fd2');
  for (let i = 0; i < 4; i++) {
    const r = await e.kubectl(['get', 'ns', 'default', '-o', 'name'], { kubeconfig });
    t.is(r.stdout.trim(), 'namespace/default', r.stderr);
  }
});
