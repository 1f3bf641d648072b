/** Lifecycle handlers (src/kubelet/lifecycle.ts): exec through the runtime, httpGet against the pod IP, sleep on the injected clock, tcpSocket refused. */
import test from 'ava';
import type { CriRequest, ResponseOf } from '../../src/cri/messages.js';
import { runLifecycleHandler } from '../../src/kubelet/lifecycle.js';
import type { Prober, RuntimeService } from '../../src/kubelet/services.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { advance } from '../client/helpers.js';

function deps() {
  const calls: unknown[] = [];
  const runtime: RuntimeService = {
    call: async <R extends CriRequest>(request: R): Promise<ResponseOf<R>> => {
      calls.push(request);
      return { type: 'execSyncResponse', stdout: 'out', stderr: '', exitCode: 0 } as unknown as ResponseOf<R>;
    },
  };
  const prober: Prober = {
    http: async (target) => { calls.push(target); return { success: target.path === '/ok', message: `GET ${target.path}` }; },
    tcp: async () => ({ success: true, message: '' }),
  };
  return { calls, runtime, prober, clock: new VirtualClock() };
}

const target = { containerId: 'c1', podIp: '127.244.1.5', ports: [{ name: 'http', containerPort: 8080 }], timeoutSeconds: 30 };

test('exec runs in the container through ExecSync; httpGet goes to the pod IP with a named port resolved', async (t) => {
  const d = deps();
  t.deepEqual(await runLifecycleHandler(d, { exec: { command: ['touch', '/ready'] } }, target), { success: true, message: 'out' });
  t.like(d.calls[0], { type: 'execSync', containerId: 'c1', cmd: ['touch', '/ready'], timeout: 30 });
  t.like(await runLifecycleHandler(d, { httpGet: { path: '/ok', port: 'http' } }, target), { success: true });
  t.like(d.calls[1], { host: '127.244.1.5', port: 8080, path: '/ok' });
  t.like(await runLifecycleHandler(d, { httpGet: { path: '/no', port: 'missing' } }, target), { success: false, message: 'unknown port missing' });
});

test('sleep waits on the injected clock, bounded by the timeout; tcpSocket is not a handler the kubelet runs', async (t) => {
  const d = deps();
  let done = false;
  const sleeping = runLifecycleHandler(d, { sleep: { seconds: 5 } }, { ...target, timeoutSeconds: 2 }).then((o) => { done = true; return o; });
  await advance(d.clock, 1_999);
  t.false(done);
  await advance(d.clock, 1);
  t.deepEqual(await sleeping, { success: true, message: '' });
  t.deepEqual(await runLifecycleHandler(d, { tcpSocket: { port: 80 } }, target), { success: false, message: 'tcpSocket is not supported as a lifecycle handler' });
});
