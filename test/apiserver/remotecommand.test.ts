import test from 'ava';
import {
  decodeClientFrame, encodeFrame, endStatus, negotiateStreamProtocol, streamOptionsOf, streamProtocolV4, streamProtocolV5,
} from '../../src/apiserver/remotecommand.js';
import { chunksOf, SeqReceiver, StreamSender, validatePodStreamTell, type PodStreamTell } from '../../src/apiserver/pod-stream.js';
import { TtyLineDiscipline, ttyOutput } from '../../src/cri/tty.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (s: string) => new TextEncoder().encode(s);

test('subprotocol: v5 preferred, v4 accepted, nothing else', (t) => {
  t.is(negotiateStreamProtocol(['v4.channel.k8s.io', ' v5.channel.k8s.io']), streamProtocolV5);
  t.is(negotiateStreamProtocol(['v4.channel.k8s.io', 'v3.channel.k8s.io']), streamProtocolV4);
  t.is(negotiateStreamProtocol(['SPDY/3.1+portforward.k8s.io', 'channel.k8s.io']), undefined);
});

test('client frames: stdin, v5 close of stdin, resize; bad frames are named', (t) => {
  t.deepEqual(decodeClientFrame(streamProtocolV5, bytes(0, 104, 105)), { kind: 'stdin', data: bytes(104, 105) });
  t.deepEqual(decodeClientFrame(streamProtocolV5, bytes(0)), { kind: 'empty' });
  t.deepEqual(decodeClientFrame(streamProtocolV5, bytes()), { kind: 'empty' });
  t.deepEqual(decodeClientFrame(streamProtocolV5, bytes(255, 0)), { kind: 'closeStdin' });
  t.deepEqual(decodeClientFrame(streamProtocolV5, bytes(255, 1)), { kind: 'empty' }, 'closing an output channel means nothing');
  t.like(decodeClientFrame(streamProtocolV4, bytes(255, 0)), { kind: 'invalid' }, 'v4 has no close frame');
  t.like(decodeClientFrame(streamProtocolV5, bytes(255, 0, 0)), { kind: 'invalid' });
  const resize = new Uint8Array([4, ...text('{"Width":120,"Height":40}')]);
  t.deepEqual(decodeClientFrame(streamProtocolV5, resize), { kind: 'resize', width: 120, height: 40 });
  t.like(decodeClientFrame(streamProtocolV5, new Uint8Array([4, ...text('{"Width":-1}')])), { kind: 'invalid' });
  t.like(decodeClientFrame(streamProtocolV5, new Uint8Array([4, ...text('not json')])), { kind: 'invalid' });
  const stdout = decodeClientFrame(streamProtocolV5, bytes(1, 65));
  t.is(stdout.kind, 'invalid');
  t.regex(stdout.kind === 'invalid' ? stdout.message : '', /channel 1 is not the client's/);
});

test('server frames carry the channel first; the error channel ends with upstream\'s Status', (t) => {
  t.deepEqual(encodeFrame(1, 'hi'), bytes(1, 104, 105));
  t.deepEqual(encodeFrame(3), bytes(3));
  t.deepEqual(endStatus({ exitCode: 0 }), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  t.like(endStatus({ exitCode: 3 }, ['sh', '-c', 'exit 3']), {
    status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
  });
  t.like(endStatus({ error: 'node worker-1 went down' }), { status: 'Failure', message: 'node worker-1 went down', reason: 'InternalError', code: 500 });
});

test('exec options: command repeats; at least one stream; a command for exec; no stderr with a tty', (t) => {
  const ok = streamOptionsOf('exec', new URLSearchParams('command=sh&command=-c&command=echo+hi&stdout=true&stderr=true'), 'box');
  t.deepEqual(ok, { ok: true, value: { kind: 'exec', container: 'box', command: ['sh', '-c', 'echo hi'], stdin: false, stdout: true, stderr: true, tty: false } });
  const message = (r: ReturnType<typeof streamOptionsOf>) => (r.ok ? '' : `${r.status.code} ${r.status.message}`);
  t.regex(message(streamOptionsOf('exec', new URLSearchParams('command=ls'), 'box')), /^400 you must specify at least 1 of stdin, stdout, stderr/);
  t.regex(message(streamOptionsOf('exec', new URLSearchParams('stdout=1'), 'box')), /^400 you must specify a command/);
  t.regex(message(streamOptionsOf('exec', new URLSearchParams('command=sh&stdin=true&tty=true&stderr=true'), 'box')), /^400 tty and stderr cannot both be true/);
  t.like(streamOptionsOf('attach', new URLSearchParams('stdout=true'), 'box'), { ok: true, value: { kind: 'attach', command: [] } });
});

test('stream order: duplicates dropped, a gap reported', (t) => {
  const r = new SeqReceiver();
  t.deepEqual([r.accept(1), r.accept(1), r.accept(2), r.accept(4)], ['ok', 'duplicate', 'ok', 'gap']);
});

test('stream sender: holds data past the window, keeps order with control tells, reports a queue past its bound', (t) => {
  const sent: string[] = [];
  const sender = new StreamSender<string>((tell) => sent.push(tell), 10, 25);
  t.true(sender.push(6, (seq) => `a${seq}`));
  t.true(sender.push(6, (seq) => `b${seq}`), 'queued: 12 > the window of 10');
  t.true(sender.push(0, (seq) => `end${seq}`));
  t.deepEqual(sent, ['a1']);
  t.true(sender.full);
  t.is(sender.pendingBytes, 12);
  sender.ack(6);
  t.deepEqual(sent, ['a1', 'b2', 'end3'], 'the end waits behind the data it follows');
  t.false(sender.full);
  // Nothing acknowledged (b's 6 bytes still in flight): the queue grows until its bound.
  t.true(sender.push(10, (seq) => `c${seq}`));
  t.true(sender.push(10, (seq) => `d${seq}`));
  t.false(sender.push(10, (seq) => `e${seq}`), 'past 25 bytes waiting');
  t.deepEqual(sent, ['a1', 'b2', 'end3']);
  // A chunk larger than the window still goes when nothing is in flight.
  const big = new StreamSender<string>((tell) => sent.push(tell), 4);
  big.push(9, () => 'big');
  t.is(sent.at(-1), 'big');
});

test('chunks of at most the tell size; tells validated after decode', (t) => {
  t.deepEqual(chunksOf(new Uint8Array(10), 4).map((c) => c.length), [4, 4, 2]);
  const good: PodStreamTell = { type: 'podStreamData', streamId: 's1', seq: 1, channel: 1, data: text('x') };
  t.is(validatePodStreamTell(good), good);
  t.is(validatePodStreamTell({ ...good, channel: 3 }), undefined);
  t.is(validatePodStreamTell({ ...good, data: 'x' }), undefined);
  t.is(validatePodStreamTell({ type: 'podStreamEnd', streamId: 's1', seq: 2, end: {} }), undefined);
  t.truthy(validatePodStreamTell({ type: 'podStreamEnd', streamId: 's1', seq: 2, end: { exitCode: 3 } }));
  t.is(validatePodStreamTell({ type: 'podStreamAck', streamId: '', bytes: 3 }), undefined);
});

test('tty line discipline: echo, backspace, CR as newline, ^C, ^D; output newlines become CR LF', (t) => {
  const echoed: string[] = [];
  const tty = new TtyLineDiscipline((s) => echoed.push(s));
  t.deepEqual(tty.input('ecx\x7fho hi'), { lines: [], eof: false, interrupt: false });
  t.deepEqual(tty.input('\r'), { lines: ['echo hi\n'], eof: false, interrupt: false });
  t.is(echoed.join(''), 'ecx\b \bho hi\r\n');
  t.deepEqual(tty.input('\x1b[Als\r'), { lines: ['ls\n'], eof: false, interrupt: false }, 'arrow keys are dropped');
  t.like(tty.input('sleep 9\x03'), { lines: [], interrupt: true });
  t.like(tty.input('\x04'), { eof: true });
  t.is(ttyOutput('a\nb\r\n'), 'a\r\nb\r\n');
});
