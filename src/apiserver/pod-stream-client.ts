/**
 * The apiserver's end of pod streams (pod-stream.ts): one session per exec, attach or log follow,
 * keyed by a stream id the apiserver chose. Pure: the shell gives it how to send a tell, how to
 * ask a node's kubelet to open a stream, and where ids come from.
 */
import { asRecord, asString, serviceUnavailable, type JsonObject, type Status } from '../api/index.js';
import { hostOf, type Address } from '../primitives/address.js';
import {
  chunksOf, SeqReceiver, StreamSender, podStreamWindowBytes, type PodStreamEnd, type PodStreamHandle, type PodStreamRequest, type PodStreamSink,
  type PodStreamSource, type PodStreamTell,
} from './pod-stream.js';

/** What opening at the node answers: the runtime that streams, or a refusal. */
export type NodeOpenResult = { readonly ok: true; readonly runtime: Address } | { readonly ok: false; readonly status: Status };

export interface PodStreamClientDeps {
  send(to: Address, tell: PodStreamTell): void;
  /** Asks the kubelet of `nodeName` to open the stream (it answers once the runtime streams). */
  openAtNode(nodeName: string, streamId: string, pod: { readonly namespace: string; readonly name: string; readonly uid: string }, request: PodStreamRequest): Promise<NodeOpenResult>;
  newStreamId(): string;
  /** Sessions at once (default 256). */
  readonly sessionsMax?: number;
}

interface Session {
  readonly id: string;
  readonly node: string;
  readonly sink: PodStreamSink;
  readonly receiver: SeqReceiver;
  runtime: Address | undefined;
  sender: StreamSender<PodStreamTell> | undefined;
  readonly drainListeners: (() => void)[];
  ended: boolean;
}

/** stdin the apiserver holds for one stream beyond the window (the WebSocket is paused before this fills). */
const stdinQueueBytesMax = 2 * 1024 * 1024 + podStreamWindowBytes;

export class PodStreamClient {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly deps: PodStreamClientDeps) {}

  get size(): number {
    return this.sessions.size;
  }

  readonly open: PodStreamSource = async (pod: JsonObject, request: PodStreamRequest, sink: PodStreamSink) => {
    const meta = asRecord(pod['metadata']) ?? {};
    const node = asString(asRecord(pod['spec'])?.['nodeName']) ?? '';
    const limit = this.deps.sessionsMax ?? 256;
    if (this.sessions.size >= limit) return { ok: false, status: { ...serviceUnavailable(`this apiserver carries ${this.sessions.size} pod streams (bound ${limit}): try again later`), code: 429, reason: 'TooManyRequests' } };
    const id = this.deps.newStreamId();
    const session: Session = { id, node, sink, receiver: new SeqReceiver(), runtime: undefined, sender: undefined, drainListeners: [], ended: false };
    // Registered before asking: the runtime may stream output before the kubelet's answer arrives.
    this.sessions.set(id, session);
    let opened: NodeOpenResult;
    try {
      opened = await this.deps.openAtNode(node, id, { namespace: asString(meta['namespace']) ?? 'default', name: asString(meta['name']) ?? '', uid: asString(meta['uid']) ?? '' }, request);
    } catch (error) {
      opened = { ok: false, status: serviceUnavailable(`the kubelet of node ${node} did not answer: ${error instanceof Error ? error.message : String(error)}`) };
    }
    if (!opened.ok) {
      this.sessions.delete(id);
      return { ok: false, status: opened.status };
    }
    if (session.ended) {
      // The client left (or the stream ended) while the kubelet was opening it: stop it at the runtime.
      this.deps.send(opened.runtime, { type: 'podStreamCancel', streamId: id, reason: 'the client went away' });
      return { ok: true, handle: this.handleFor(session) };
    }
    session.runtime = opened.runtime;
    const runtime = opened.runtime;
    session.sender = new StreamSender<PodStreamTell>((tell) => this.deps.send(runtime, tell), podStreamWindowBytes, stdinQueueBytesMax);
    return { ok: true, handle: this.handleFor(session) };
  };

  /** A tell from a runtime. Unknown streams are ignored (a late tell of a stream that ended). */
  receive(from: Address, tell: PodStreamTell): void {
    const session = this.sessions.get(tell.streamId);
    if (session === undefined || session.ended) {
      // Tell the runtime to stop a stream nobody reads any more (once per data tell; it stops at the first).
      if (tell.type === 'podStreamData') this.deps.send(from, { type: 'podStreamCancel', streamId: tell.streamId, reason: 'the apiserver has no such stream (it ended)' });
      return;
    }
    switch (tell.type) {
      case 'podStreamData':
      case 'podStreamEnd': {
        const order = session.receiver.accept(tell.seq);
        if (order === 'duplicate') return;
        if (order === 'gap') {
          this.deps.send(from, { type: 'podStreamCancel', streamId: session.id, reason: 'the apiserver missed part of the stream' });
          this.finish(session, { error: `part of the stream from node ${session.node} was lost on the way (a network fault): run the command again` });
          return;
        }
        if (tell.type === 'podStreamEnd') { this.finish(session, tell.end); return; }
        if (tell.channel === 0) return;
        const bytes = tell.data.length;
        session.sink.output(tell.channel, tell.data, () => { if (!session.ended) this.deps.send(from, { type: 'podStreamAck', streamId: session.id, bytes }); });
        return;
      }
      case 'podStreamAck':
        session.sender?.ack(tell.bytes);
        if (session.sender !== undefined && !session.sender.full) for (const listener of session.drainListeners.splice(0)) listener();
        return;
      case 'podStreamCancel':
        this.finish(session, { error: tell.reason });
        return;
      case 'podStreamCloseStdin':
      case 'podStreamResize':
        // The runtime's to receive, not ours: ignore.
        return;
      default: {
        const never: never = tell;
        throw new Error(`pod stream client: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  /** A node's host went down: its streams end now instead of waiting forever. */
  peerDown(host: string): void {
    for (const session of [...this.sessions.values()]) {
      if (session.node === host || (session.runtime !== undefined && hostOf(session.runtime) === host)) this.finish(session, { error: `node ${host} went down` });
    }
  }

  /** This apiserver stops: every stream ends, the runtimes are told. */
  stopAll(reason: string): void {
    for (const session of [...this.sessions.values()]) {
      if (session.runtime !== undefined) this.deps.send(session.runtime, { type: 'podStreamCancel', streamId: session.id, reason });
      this.finish(session, { error: reason });
    }
  }

  private finish(session: Session, end: PodStreamEnd): void {
    if (session.ended) return;
    session.ended = true;
    this.sessions.delete(session.id);
    session.sink.end(end);
  }

  private handleFor(session: Session): PodStreamHandle {
    const push = (bytes: number, make: (seq: number) => PodStreamTell): boolean => {
      if (session.ended || session.sender === undefined) return true;
      if (!session.sender.push(bytes, make)) {
        // The client wrote far past the window although it was told to wait: a broken client.
        this.cancel(session, 'stdin exceeded its buffer');
        this.finish(session, { error: 'stdin exceeded its buffer: the client did not wait for the window' });
      }
      return !session.sender.full;
    };
    return {
      stdin: (data) => {
        let ok = true;
        for (const chunk of chunksOf(data)) ok = push(chunk.length, (seq) => ({ type: 'podStreamData', streamId: session.id, seq, channel: 0, data: chunk }));
        return ok;
      },
      onDrain: (listener) => { session.drainListeners.push(listener); },
      closeStdin: () => { push(0, (seq) => ({ type: 'podStreamCloseStdin', streamId: session.id, seq })); },
      resize: (width, height) => { push(0, (seq) => ({ type: 'podStreamResize', streamId: session.id, seq, width, height })); },
      cancel: (reason) => {
        this.cancel(session, reason);
        session.ended = true;
        this.sessions.delete(session.id);
      },
    };
  }

  private cancel(session: Session, reason: string): void {
    if (session.runtime !== undefined) this.deps.send(session.runtime, { type: 'podStreamCancel', streamId: session.id, reason });
  }
}
