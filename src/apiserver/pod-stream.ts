/**
 * Pod streams: `kubectl exec`, `kubectl attach` and `kubectl logs -f`, carried between an
 * apiserver and a node's container runtime as actor tells. The apiserver asks the pod's kubelet to
 * open the stream (the kubelet resolves pod and container and asks its runtime, as CRI's Exec
 * answers the URL of the runtime's streaming server); from then on the runtime and the apiserver
 * exchange the tells below directly.
 *
 * Tells may be lost, duplicated or reordered by the network (DESIGN §2): each direction numbers
 * its ordered tells (`seq` 1, 2, 3…), the receiver drops duplicates and ends the stream on a gap
 * (lost bytes cannot be repaired without retransmission, and a half-delivered `cat` is worse than
 * an error). Flow control is a credit window per direction: a sender has at most
 * `podStreamWindowBytes` of data unacknowledged, and the receiver acknowledges data once it has
 * passed it on (to the WebSocket, or to the process's stdin).
 *
 * Lives in src/apiserver (not src/cri) so that both the apiserver and the runtime can import it.
 */
import type { JsonObject, Status } from '../api/index.js';
import { isRecord } from '../runtime/validate.js';
import type { LogWindow } from './log-options.js';

/** Unacknowledged data a sender may have in flight, per direction of one stream. */
export const podStreamWindowBytes = 256 * 1024;
/** Largest data tell (bigger writes are split). */
const podStreamChunkBytesMax = 32 * 1024;

/** What a client asked for, validated (see remotecommand.ts for the query parameters). */
export type PodStreamRequest =
  | {
    readonly kind: 'exec' | 'attach';
    readonly container: string;
    /** exec only; empty for attach. */
    readonly command: readonly string[];
    readonly stdin: boolean;
    readonly stdout: boolean;
    readonly stderr: boolean;
    readonly tty: boolean;
  }
  | (LogWindow & {
    readonly kind: 'log';
    readonly container: string;
    readonly tailLines?: number;
    readonly timestamps: boolean;
  });

/** Channels as remotecommand numbers them: 0 stdin, 1 stdout, 2 stderr. */
export type StreamChannel = 0 | 1 | 2;

/** How a stream ended: the process's exit code, or why it could not go on. */
export type PodStreamEnd =
  | { readonly exitCode: number }
  | { readonly error: string; readonly code?: number };

export type PodStreamTell =
  /** Either way: bytes on a channel (0 toward the runtime, 1 and 2 toward the apiserver). */
  | { readonly type: 'podStreamData'; readonly streamId: string; readonly seq: number; readonly channel: StreamChannel; readonly data: Uint8Array }
  /** Toward the runtime: stdin reached its end. */
  | { readonly type: 'podStreamCloseStdin'; readonly streamId: string; readonly seq: number }
  /** Toward the runtime: the client's terminal size changed. */
  | { readonly type: 'podStreamResize'; readonly streamId: string; readonly seq: number; readonly width: number; readonly height: number }
  /** Toward the apiserver: the stream is over (after every data tell, by seq). */
  | { readonly type: 'podStreamEnd'; readonly streamId: string; readonly seq: number; readonly end: PodStreamEnd }
  /** Either way: `bytes` more of the peer's data were passed on (credit returned). */
  | { readonly type: 'podStreamAck'; readonly streamId: string; readonly bytes: number }
  /** Either way: stop now (the client left, the apiserver or the runtime gave up). */
  | { readonly type: 'podStreamCancel'; readonly streamId: string; readonly reason: string };

export const podStreamTellTypes: ReadonlySet<string> = new Set(['podStreamData', 'podStreamCloseStdin', 'podStreamResize', 'podStreamEnd', 'podStreamAck', 'podStreamCancel']);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A valid tell, or undefined. */
export function validatePodStreamTell(raw: unknown): PodStreamTell | undefined {
  if (!isRecord(raw) || typeof raw['streamId'] !== 'string' || raw['streamId'] === '') return undefined;
  switch (raw['type']) {
    case 'podStreamData':
      return isCount(raw['seq']) && (raw['channel'] === 0 || raw['channel'] === 1 || raw['channel'] === 2) && raw['data'] instanceof Uint8Array ? raw as unknown as PodStreamTell : undefined;
    case 'podStreamCloseStdin':
      return isCount(raw['seq']) ? raw as unknown as PodStreamTell : undefined;
    case 'podStreamResize':
      return isCount(raw['seq']) && isCount(raw['width']) && isCount(raw['height']) ? raw as unknown as PodStreamTell : undefined;
    case 'podStreamEnd': {
      const end = raw['end'];
      const ok = isRecord(end) && (isCount(end['exitCode']) || typeof end['error'] === 'string');
      return isCount(raw['seq']) && ok ? raw as unknown as PodStreamTell : undefined;
    }
    case 'podStreamAck':
      return isCount(raw['bytes']) ? raw as unknown as PodStreamTell : undefined;
    case 'podStreamCancel':
      return typeof raw['reason'] === 'string' ? raw as unknown as PodStreamTell : undefined;
    default:
      return undefined;
  }
}

/** The receiving end's order check over one direction's `seq`. */
export class SeqReceiver {
  private next = 1;

  /** `ok`: deliver it; `duplicate`: drop it; `gap`: a tell was lost, the stream cannot go on. */
  accept(seq: number): 'ok' | 'duplicate' | 'gap' {
    if (seq < this.next) return 'duplicate';
    if (seq > this.next) return 'gap';
    this.next++;
    return 'ok';
  }
}

/**
 * The sending end of one direction: numbers tells, holds data back while the window is full, and
 * keeps the order of data and the tells after it. Bounded: more than `queueBytesMax` waiting is a
 * peer that does not read, and `push` says so (the caller ends the stream).
 */
export class StreamSender<T> {
  private seq = 0;
  private inFlightBytes = 0;
  private queuedBytes = 0;
  private readonly queue: { readonly make: (seq: number) => T; readonly bytes: number }[] = [];

  constructor(private readonly send: (tell: T) => void, private readonly windowBytes = podStreamWindowBytes, private readonly queueBytesMax = 4 * podStreamWindowBytes) {}

  /** Queues a tell (data counts `bytes` against the window; 0 for control tells). False: the queue bound was passed. */
  push(bytes: number, make: (seq: number) => T): boolean {
    this.queue.push({ make, bytes });
    this.queuedBytes += bytes;
    this.pump();
    return this.queuedBytes <= this.queueBytesMax;
  }

  /** Credit came back. */
  ack(bytes: number): void {
    this.inFlightBytes = Math.max(0, this.inFlightBytes - bytes);
    this.pump();
  }

  /** Bytes sent or waiting that the peer has not acknowledged. */
  get pendingBytes(): number {
    return this.inFlightBytes + this.queuedBytes;
  }

  /** Whether a writer should hold back (the window is full and data is waiting). */
  get full(): boolean {
    return this.queuedBytes > 0;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      // A chunk larger than the whole window still goes once nothing is in flight, or it would wait forever.
      if (head.bytes > 0 && this.inFlightBytes > 0 && this.inFlightBytes + head.bytes > this.windowBytes) return;
      this.queue.shift();
      this.queuedBytes -= head.bytes;
      this.inFlightBytes += head.bytes;
      this.send(head.make(++this.seq));
    }
  }
}

/** Splits bytes into data chunks no larger than a tell may carry. */
export function chunksOf(data: Uint8Array, chunkBytesMax = podStreamChunkBytesMax): Uint8Array[] {
  if (data.length <= chunkBytesMax) return [data];
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += chunkBytesMax) out.push(data.subarray(at, Math.min(data.length, at + chunkBytesMax)));
  return out;
}

/** Where the apiserver's side of a stream delivers what comes from the runtime. */
export interface PodStreamSink {
  /** Bytes for the client; call `written` once they left (the credit goes back then). */
  output(channel: 1 | 2, data: Uint8Array, written: () => void): void;
  /** The stream is over (called once). */
  end(end: PodStreamEnd): void;
}

/** The apiserver's side of an open stream. */
export interface PodStreamHandle {
  /** False: the runtime's window is full; wait for `onDrain` before writing more. */
  stdin(data: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  closeStdin(): void;
  resize(width: number, height: number): void;
  /** The client left: the runtime stops the process's stream. */
  cancel(reason: string): void;
}

/**
 * Opens a stream to a pod's container (the apiserver actor implements it through the kubelet);
 * a refusal before anything streamed is a Status (404 pod not on its node, 400 container waiting…).
 */
export type PodStreamSource = (pod: JsonObject, request: PodStreamRequest, sink: PodStreamSink) => Promise<{ readonly ok: true; readonly handle: PodStreamHandle } | { readonly ok: false; readonly status: Status }>;
