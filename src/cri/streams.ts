/**
 * The runtime's end of a pod stream (src/apiserver/pod-stream.ts): numbers and windows what goes
 * to the apiserver, checks the order of what comes from it, and feeds a process's stdin with
 * acknowledgements as the process reads (so a process that does not read holds the client back).
 */
import type { Address } from '../primitives/address.js';
import {
  chunksOf, SeqReceiver, StreamSender, type PodStreamEnd, type PodStreamTell,
} from '../apiserver/pod-stream.js';
import type { StdinReader } from './image.js';

/** A process's stdin fed from the stream: chunks wait until read; reading returns the peer's credit. */
export class StdinPipe implements StdinReader {
  private readonly chunks: { readonly text: string; readonly bytes: number }[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly consumed: (bytes: number) => void) {}

  push(text: string, bytes: number): void {
    if (this.ended) { this.consumed(bytes); return; }
    this.chunks.push({ text, bytes });
    this.wake?.();
  }

  close(): void {
    this.ended = true;
    this.wake?.();
  }

  async read(): Promise<string | undefined> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.consumed(chunk.bytes);
        return chunk.text;
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }
}

export interface RuntimeStreamHooks {
  stdin?(data: Uint8Array): void;
  closeStdin?(): void;
  resize?(width: number, height: number): void;
  /** The apiserver cancelled (its client left) or the stream broke: stop the process's side. */
  cancelled(reason: string): void;
  /** The end tell left (or the stream was cancelled): forget the stream. */
  done(): void;
}

/** Output a stream holds for a slow client before it gives up (beyond the window in flight). */
const outputQueueBytesMax = 1024 * 1024;

export class RuntimeStream {
  private readonly receiver = new SeqReceiver();
  private readonly sender: StreamSender<PodStreamTell>;
  private ending = false;
  private finished = false;
  private readonly encoder = new TextEncoder();

  constructor(readonly id: string, readonly peer: Address, private readonly send: (peer: Address, tell: PodStreamTell) => void, private readonly hooks: RuntimeStreamHooks) {
    this.sender = new StreamSender<PodStreamTell>((tell) => {
      this.send(peer, tell);
      if (tell.type === 'podStreamEnd') this.finish();
    }, undefined, outputQueueBytesMax);
  }

  get active(): boolean {
    return !this.ending && !this.finished;
  }

  /** Output for the client; false when the client has not kept up (the caller ends the stream). */
  output(channel: 1 | 2, text: string): boolean {
    if (!this.active || text === '') return true;
    let ok = true;
    for (const data of chunksOf(this.encoder.encode(text))) {
      ok = this.sender.push(data.length, (seq) => ({ type: 'podStreamData', streamId: this.id, seq, channel, data })) && ok;
    }
    return ok;
  }

  /** The end, after every byte of output queued before it. */
  end(end: PodStreamEnd): void {
    if (!this.active) return;
    this.ending = true;
    this.sender.push(0, (seq) => ({ type: 'podStreamEnd', streamId: this.id, seq, end }));
  }

  /** Stops at once and tells the apiserver why (no end status follows). */
  cancel(reason: string): void {
    if (this.finished) return;
    this.send(this.peer, { type: 'podStreamCancel', streamId: this.id, reason });
    this.hooks.cancelled(reason);
    this.finish();
  }

  /** Returns credit for `bytes` of stdin the process consumed. */
  ackStdin(bytes: number): void {
    if (!this.finished && bytes > 0) this.send(this.peer, { type: 'podStreamAck', streamId: this.id, bytes });
  }

  receive(tell: PodStreamTell): void {
    if (this.finished) return;
    switch (tell.type) {
      case 'podStreamAck':
        this.sender.ack(tell.bytes);
        return;
      case 'podStreamCancel':
        this.hooks.cancelled(tell.reason);
        this.finish();
        return;
      case 'podStreamData':
      case 'podStreamCloseStdin':
      case 'podStreamResize': {
        const order = this.receiver.accept(tell.seq);
        if (order === 'duplicate') return;
        if (order === 'gap') { this.cancel('the runtime missed part of stdin (a network fault)'); return; }
        if (tell.type === 'podStreamData') {
          if (tell.channel !== 0) return;
          if (this.hooks.stdin === undefined) { this.ackStdin(tell.data.length); return; }
          this.hooks.stdin(tell.data);
        } else if (tell.type === 'podStreamCloseStdin') this.hooks.closeStdin?.();
        else this.hooks.resize?.(tell.width, tell.height);
        return;
      }
      case 'podStreamEnd':
        // The apiserver never ends a stream this way; ignore.
        return;
      default: {
        const never: never = tell;
        throw new Error(`runtime stream: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.hooks.done();
  }
}
