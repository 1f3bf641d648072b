/**
 * The remotecommand WebSocket protocol kubectl 1.32 speaks for exec and attach
 * (k8s.io/apimachinery/pkg/util/remotecommand and the apiserver's wsstream), pure: subprotocol
 * choice, frames, the status written on the error channel, and the query parameters.
 *
 * Each binary message is one frame: the first byte is the channel (0 stdin, 1 stdout, 2 stderr,
 * 3 error, 4 resize), the rest its payload. `v5.channel.k8s.io` adds a close frame `[255, channel]`
 * (kubectl sends it when its stdin ends); `v4.channel.k8s.io` has none, so a v4 client's stdin
 * never ends. The error channel carries one meta/v1 Status as JSON when the command ended: Success,
 * or Failure with reason NonZeroExitCode and an ExitCode cause, which kubectl turns into its own
 * exit code.
 */
import { badRequest, type Status } from '../api/index.js';
import type { PodStreamEnd, PodStreamRequest } from './pod-stream.js';

export const streamProtocolV5 = 'v5.channel.k8s.io';
export const streamProtocolV4 = 'v4.channel.k8s.io';
export type StreamProtocol = typeof streamProtocolV5 | typeof streamProtocolV4;

const channelStdin = 0;
export const channelStdout = 1;
export const channelStderr = 2;
export const channelError = 3;
const channelResize = 4;
/** v5: `[255, channel]` closes a channel (kubectl: its stdin ended). */
const closeSignal = 255;

/** The newest protocol both sides speak; undefined when the client offers none of ours. */
export function negotiateStreamProtocol(offered: Iterable<string>): StreamProtocol | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  if (set.has(streamProtocolV5)) return streamProtocolV5;
  if (set.has(streamProtocolV4)) return streamProtocolV4;
  return undefined;
}

export type InboundFrame =
  | { readonly kind: 'stdin'; readonly data: Uint8Array }
  | { readonly kind: 'closeStdin' }
  | { readonly kind: 'resize'; readonly width: number; readonly height: number }
  /** A frame with nothing in it (clients may send them); ignore. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'invalid'; readonly message: string };

/** One message from the client. */
export function decodeClientFrame(protocol: StreamProtocol, frame: Uint8Array): InboundFrame {
  if (frame.length === 0) return { kind: 'empty' };
  const channel = frame[0]!;
  if (channel === closeSignal) {
    if (protocol !== streamProtocolV5) return { kind: 'invalid', message: `a close frame needs ${streamProtocolV5}` };
    if (frame.length !== 2) return { kind: 'invalid', message: `a close frame is 2 bytes, got ${frame.length}` };
    // Only stdin is the client's to close; closing another channel is meaningless and ignored, as upstream does.
    return frame[1] === channelStdin ? { kind: 'closeStdin' } : { kind: 'empty' };
  }
  const payload = frame.subarray(1);
  switch (channel) {
    case channelStdin:
      return payload.length === 0 ? { kind: 'empty' } : { kind: 'stdin', data: payload };
    case channelResize: {
      let size: unknown;
      try {
        size = JSON.parse(new TextDecoder().decode(payload));
      } catch {
        return { kind: 'invalid', message: 'a resize frame is JSON {"Width":n,"Height":n}' };
      }
      const s = size as { Width?: unknown; Height?: unknown } | null;
      const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
      return s !== null && typeof s === 'object' && ok(s.Width) && ok(s.Height) ? { kind: 'resize', width: s.Width, height: s.Height } : { kind: 'invalid', message: 'a resize frame is JSON {"Width":n,"Height":n}' };
    }
    default:
      return { kind: 'invalid', message: `channel ${channel} is not the client's to write` };
  }
}

export function encodeFrame(channel: number, payload: Uint8Array | string = new Uint8Array()): Uint8Array {
  const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const frame = new Uint8Array(bytes.length + 1);
  frame[0] = channel;
  frame.set(bytes, 1);
  return frame;
}

/** The error channel's Status for how the stream ended (upstream's remotecommand server and StreamTranslator). */
export function endStatus(end: PodStreamEnd, command: readonly string[] = []): Record<string, unknown> {
  const base = { kind: 'Status', apiVersion: 'v1', metadata: {} };
  if ('exitCode' in end) {
    if (end.exitCode === 0) return { ...base, status: 'Success' };
    return {
      ...base, status: 'Failure', message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${end.exitCode}`,
      reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(end.exitCode) }] },
    };
  }
  return { ...base, status: 'Failure', message: end.error, reason: 'InternalError', code: end.code ?? 500 };
}

const goTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const flag = (params: URLSearchParams, name: string): boolean => goTrue.has(params.get(name) ?? '');

/**
 * PodExecOptions / PodAttachOptions from the query (`command` repeats), with upstream's checks.
 * `container` is resolved by the caller against the pod (it may be omitted for one-container pods).
 */
export function streamOptionsOf(kind: 'exec' | 'attach', params: URLSearchParams, container: string): { ok: true; value: PodStreamRequest } | { ok: false; status: Status } {
  const command = params.getAll('command');
  const stdin = flag(params, 'stdin');
  const stdout = flag(params, 'stdout');
  const stderr = flag(params, 'stderr');
  const tty = flag(params, 'tty');
  if (!stdin && !stdout && !stderr) return { ok: false, status: badRequest('you must specify at least 1 of stdin, stdout, stderr') };
  if (kind === 'exec' && command.length === 0) return { ok: false, status: badRequest('you must specify a command: kubectl exec POD -- COMMAND [ARGS...]') };
  if (tty && stderr) return { ok: false, status: badRequest('tty and stderr cannot both be true: a terminal merges stderr into stdout (kubectl -t does not ask for stderr)') };
  return { ok: true, value: { kind, container, command: kind === 'exec' ? command : [], stdin, stdout, stderr, tty } };
}
