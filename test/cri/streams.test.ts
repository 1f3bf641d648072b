/**
 * Pod streams end to end in memory: the apiserver's PodStreamClient and the container runtime's
 * core, wired by a fake network that carries their tells (and can drop one), with the busybox
 * shell as the exec'd process. No threads, no sockets.
 */
import test from 'ava';
import { badRequest } from '../../src/api/index.js';
import type { Image } from '../../src/cri/image.js';
import { PodStreamClient } from '../../src/apiserver/pod-stream-client.js';
import type { PodStreamEnd, PodStreamHandle, PodStreamRequest, PodStreamTell } from '../../src/apiserver/pod-stream.js';
import type { Address } from '../../src/primitives/address.js';
import { containerConfig, fixture, runContainer, settle, until, type Fixture } from './helpers.js';

const apiserver: Address = 'master-1/apiserver';
const runtimeAddress: Address = 'worker-1/container-runtime';
const podCidr = '127.244.1.0/24';

/** Writes `count` chunks of `chunkBytes`, yielding between them (a command with much output). */
const flood: Image = {
  repository: 'test/flood', entrypoint: [], cmd: ['sleep', 'infinity'],
  run: async (p) => { await new Promise<void>((resolve) => p.signal.addEventListener('abort', () => resolve())); return 0; },
  exec: async (p) => {
    const [count, chunkBytes] = p.argv.slice(1).map(Number) as [number, number];
    for (let i = 0; i < count && !p.signal.aborted; i++) {
      p.stdout('x'.repeat(chunkBytes));
      await new Promise((r) => setImmediate(r));
    }
    return 0;
  },
};

interface Wiring {
  readonly f: Fixture;
  readonly client: PodStreamClient;
  /** Return true to drop the tell (a network fault). */
  dropToApiserver: (tell: PodStreamTell) => boolean;
  readonly toRuntime: PodStreamTell[];
}

function wire(): Wiring {
  const toRuntime: PodStreamTell[] = [];
  const late: { client?: PodStreamClient } = {};
  const w: Wiring = {
    dropToApiserver: () => false,
    toRuntime,
    // Replaced below (the fixture and the client need each other).
    f: undefined as unknown as Fixture,
    client: undefined as unknown as PodStreamClient,
  };
  // Tells travel on a later turn, as over the actor network.
  const f = fixture({
    extraImages: [flood],
    sendStream: (peer, tell) => {
      if (peer !== apiserver) throw new Error(`runtime streamed to ${peer}`);
      if (w.dropToApiserver(tell)) return;
      queueMicrotask(() => late.client!.receive(runtimeAddress, tell));
    },
  });
  let ids = 0;
  const client = new PodStreamClient({
    send: (to, tell) => {
      if (to !== runtimeAddress) throw new Error(`apiserver streamed to ${to}`);
      toRuntime.push(tell);
      queueMicrotask(() => f.runtime.streamTell(apiserver, tell));
    },
    newStreamId: () => `stream-${++ids}`,
    openAtNode: async (_node, streamId, _pod, request) => {
      const containerId = containers.get(request.container);
      if (containerId === undefined) return { ok: false, status: badRequest(`container ${request.container} is not valid`) };
      const reply = request.kind === 'log'
        ? await f.runtime.handle({ type: 'followContainerLog', containerId, streamId, peer: apiserver, timestamps: request.timestamps })
        : request.kind === 'exec'
          ? await f.runtime.handle({ type: 'exec', containerId, cmd: request.command, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, tty: request.tty, streamId, peer: apiserver })
          : await f.runtime.handle({ type: 'attach', containerId, stdin: request.stdin, stdout: request.stdout, stderr: request.stderr, tty: request.tty, streamId, peer: apiserver });
      return reply.type === 'criError' ? { ok: false, status: badRequest(reply.message) } : { ok: true, runtime: runtimeAddress };
    },
  });
  late.client = client;
  Object.assign(w, { f, client });
  return w;
}

/** Container name → id, for openAtNode (the kubelet's part). */
const containers = new Map<string, string>();

const pod = { metadata: { namespace: 'default', name: 'box', uid: 'uid-box' }, spec: { nodeName: 'worker-1' } };

interface Opened {
  readonly handle: PodStreamHandle;
  readonly out: { stdout: string; stderr: string };
  readonly ended: () => PodStreamEnd | undefined;
}

async function open(w: Wiring, request: PodStreamRequest, written: (done: () => void) => void = (done) => done()): Promise<Opened | string> {
  const out = { stdout: '', stderr: '' };
  let end: PodStreamEnd | undefined;
  const decoder = { 1: new TextDecoder(), 2: new TextDecoder() };
  const result = await w.client.open(pod, request, {
    output: (channel, data, done) => { out[channel === 1 ? 'stdout' : 'stderr'] += decoder[channel].decode(data, { stream: true }); written(done); },
    end: (e) => { if (end !== undefined) throw new Error('ended twice'); end = e; },
  });
  if (!result.ok) return result.status.message;
  return { handle: result.handle, out, ended: () => end };
}

function exec(command: string[], o: Partial<Exclude<PodStreamRequest, { kind: 'log' }>> = {}): PodStreamRequest {
  return { kind: 'exec', container: 'box', command, stdin: false, stdout: true, stderr: true, tty: false, ...o } as PodStreamRequest;
}

async function started(w: Wiring, image = 'busybox', command: string[] = ['sleep', 'infinity']): Promise<string> {
  await w.f.ok({ type: 'updateRuntimeConfig', podCidr });
  const { containerId } = await runContainer(w.f, 'box', containerConfig('box', image, { command }));
  containers.set('box', containerId);
  return containerId;
}

function opened(t: { fail(message: string): void }, o: Opened | string): Opened {
  if (typeof o === 'string') { t.fail(o); throw new Error(o); }
  return o;
}

test.serial('exec runs the command: output on its channels, its exit code ends the stream', async (t) => {
  const w = wire();
  await started(w);
  const hi = opened(t, await open(w, exec(['echo', 'hi'])));
  await until(() => hi.ended() !== undefined);
  t.deepEqual(hi.out, { stdout: 'hi\n', stderr: '' });
  t.deepEqual(hi.ended(), { exitCode: 0 });
  const three = opened(t, await open(w, exec(['sh', '-c', 'echo out; echo err >&2; exit 3'])));
  await until(() => three.ended() !== undefined);
  t.deepEqual(three.out, { stdout: 'out\n', stderr: 'err\n' });
  t.deepEqual(three.ended(), { exitCode: 3 });
  // Not asked for: not sent.
  const quiet = opened(t, await open(w, exec(['sh', '-c', 'echo out; echo err >&2'], { stderr: false })));
  await until(() => quiet.ended() !== undefined);
  t.deepEqual(quiet.out, { stdout: 'out\n', stderr: '' });
  t.is(w.f.runtime.counts().streams, 0);
});

test.serial('stdin round-trips through cat and sh -c; the end of stdin ends the read', async (t) => {
  const w = wire();
  await started(w);
  const cat = opened(t, await open(w, exec(['cat'], { stdin: true })));
  cat.handle.stdin(new TextEncoder().encode('data\n'));
  cat.handle.stdin(new TextEncoder().encode('more'));
  await settle();
  t.is(cat.ended(), undefined, 'cat waits for the end of its input');
  cat.handle.closeStdin();
  await until(() => cat.ended() !== undefined);
  t.is(cat.out.stdout, 'data\nmore');
  t.deepEqual(cat.ended(), { exitCode: 0 });
  const script = opened(t, await open(w, exec(['sh', '-c', 'grep -c a; echo done'], { stdin: true })));
  script.handle.stdin(new TextEncoder().encode('a\nb\naa\n'));
  script.handle.closeStdin();
  await until(() => script.ended() !== undefined);
  t.is(script.out.stdout, '2\ndone\n');
});

test.serial('an interactive sh runs each line as it arrives; exit ends it with its code', async (t) => {
  const w = wire();
  await started(w);
  const sh = opened(t, await open(w, exec(['sh'], { stdin: true })));
  sh.handle.stdin(new TextEncoder().encode('echo one\n'));
  await until(() => sh.out.stdout === 'one\n');
  t.is(sh.ended(), undefined);
  sh.handle.stdin(new TextEncoder().encode('export X=2; echo $X\nexit 5\n'));
  await until(() => sh.ended() !== undefined);
  t.is(sh.out.stdout, 'one\n2\n');
  t.deepEqual(sh.ended(), { exitCode: 5 });
});

test.serial('a tty: keystrokes echoed, a prompt, CR LF output, ^D ends the shell', async (t) => {
  const w = wire();
  await started(w);
  const sh = opened(t, await open(w, exec(['sh'], { stdin: true, tty: true, stderr: false })));
  await until(() => sh.out.stdout === '/ # ');
  sh.handle.stdin(new TextEncoder().encode('echo hi\r'));
  await until(() => sh.out.stdout.endsWith('hi\r\n/ # '));
  t.is(sh.out.stdout, '/ # echo hi\r\nhi\r\n/ # ');
  sh.handle.stdin(new TextEncoder().encode('\x04'));
  await until(() => sh.ended() !== undefined);
  t.deepEqual(sh.ended(), { exitCode: 0 });
});

test.serial('flow control: no more than the window in flight while the client does not take it; a client that never reads is cut off', async (t) => {
  const w = wire();
  await started(w, 'test/flood', ['sleep', 'infinity']);
  const held: (() => void)[] = [];
  const slow = opened(t, await open(w, exec(['flood', '40', '16384']), (done) => held.push(done)));
  await settle(200);
  // 256 KiB window over 16 KiB writes: 16 chunks, then the runtime waits for credit.
  t.is(slow.out.stdout.length, 256 * 1024);
  t.is(slow.ended(), undefined);
  while (slow.ended() === undefined) {
    for (const done of held.splice(0)) done();
    await settle();
  }
  t.is(slow.out.stdout.length, 40 * 16384);
  t.deepEqual(slow.ended(), { exitCode: 0 });
  // Never acknowledged: past the runtime's output bound the stream ends with an error and the command stops.
  const stuck = opened(t, await open(w, exec(['flood', '200', '16384']), () => undefined));
  await until(() => stuck.ended() !== undefined, 20_000);
  t.like(stuck.ended(), { error: 'the client does not read the output fast enough: the command was stopped' });
  t.true(stuck.out.stdout.length <= 256 * 1024);
  await until(() => w.f.runtime.counts().streams === 0);
});

test.serial('the client leaving cancels the exec at the runtime; a lost tell ends the stream with an error', async (t) => {
  const w = wire();
  await started(w);
  const sleeper = opened(t, await open(w, exec(['sleep', 'infinity'], { stdin: true })));
  await settle();
  t.is(w.f.runtime.counts().streams, 1);
  sleeper.handle.cancel('the client went away');
  await until(() => w.f.runtime.counts().streams === 0);
  t.like(w.toRuntime.at(-1), { type: 'podStreamCancel', reason: 'the client went away' });
  // Drop the first stdout tell: the apiserver sees the gap at the next one.
  let dropped = false;
  w.dropToApiserver = (tell) => { if (!dropped && tell.type === 'podStreamData') { dropped = true; return true; } return false; };
  const lossy = opened(t, await open(w, exec(['sh', '-c', 'echo a; echo b'])));
  await until(() => lossy.ended() !== undefined);
  t.like(lossy.ended(), { error: 'part of the stream from node worker-1 was lost on the way (a network fault): run the command again' });
  t.is(lossy.out.stdout, '');
});

test.serial('logs -f: the log so far, new lines as they come, the end when the container exits; attach -i is refused', async (t) => {
  const w = wire();
  const clock = w.f.clock;
  const id = await started(w, 'busybox', ['sh', '-c', 'echo first; sleep 1; echo second; sleep 1']);
  await settle();
  const follow = opened(t, await open(w, { kind: 'log', container: 'box', timestamps: false }));
  await until(() => follow.out.stdout === 'first\n');
  clock.advance(1000);
  await until(() => follow.out.stdout === 'first\nsecond\n');
  t.is(follow.ended(), undefined);
  const attach = opened(t, await open(w, { kind: 'attach', container: 'box', command: [], stdin: false, stdout: true, stderr: true, tty: false }));
  const refused = await open(w, { kind: 'attach', container: 'box', command: [], stdin: true, stdout: true, stderr: false, tty: false });
  t.regex(typeof refused === 'string' ? refused : '', /do not read stdin.*attach without -i/);
  clock.advance(1000);
  await until(() => follow.ended() !== undefined && attach.ended() !== undefined);
  t.deepEqual(follow.ended(), { exitCode: 0 });
  t.deepEqual(attach.ended(), { exitCode: 0 });
  // A follow of an exited container answers its log and ends at once.
  const after = opened(t, await open(w, { kind: 'log', container: 'box', timestamps: false }));
  await until(() => after.ended() !== undefined);
  t.is(after.out.stdout, 'first\nsecond\n');
  t.like((await w.f.ok({ type: 'containerStatus', containerId: id })).status, { state: 'CONTAINER_EXITED' });
  // exec into it now: FailedPrecondition, as the kubelet reports it.
  t.regex(String(await open(w, exec(['true']))), /is not running/);
});
