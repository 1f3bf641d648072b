import { Observable, filter, type Subscription } from 'rxjs';
import { hostOf, type Address } from '../primitives/address.js';
import { AskRefusedError, AskTimeoutError, PEER_DOWN, type OutgoingMessage, type PeerDownNotice } from '../primitives/envelope.js';
import type {
  Command, CommandMeta, CommandResponse, DeleteRangeRequest, DeleteRangeResponse, LeaseGrantResponse, PutRequest,
  PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
} from '../store/index.js';
import type { KvCallOptions, KvClient, KvError, KvResult, RangeOptions, WatchSpec, WatchUpdate } from './kv.js';
import type { ActorPort } from './actor-port.js';
import { sleep } from '../primitives/clock.js';
import type { EtcdReply } from '../etcd/messages.js';

/** The replies to the asks this client makes (the member's protocol, src/etcd/messages.ts). */
type MemberReply = Extract<EtcdReply, { readonly type: 'ok' | 'storeError' | 'notLeader' | 'unavailable' | 'keepAliveOk' | 'done' }>;

type Attempt = { readonly target: Address; readonly settled: Promise<Attempt> } & ({ readonly reply: MemberReply } | { readonly error: unknown });

type Verdict =
  | { readonly done: true; readonly result: KvResult<MemberReply> }
  | { readonly done: false; readonly indefinite: boolean; readonly reason: string; readonly pauseMs: number };

type WatchUpdateMessage = Extract<EtcdReply, { readonly type: 'watchUpdate' }>;

export interface EtcdClientOptions {
  /** The members' actor addresses (`master-1/etcd`, ...). */
  readonly members: readonly Address[];
  /** A name unique among clients (de-duplication key); default from the port's address and a counter. */
  readonly clientId?: string;
  /** Whole-call deadline, retries included (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** One attempt at one member before trying another (default 300 ms: a dead leader is noticed well within an election). */
  readonly attemptTimeoutMs?: number;
  /** Pause before trying again after a refusal (default 20 ms). */
  readonly retryBackoffMs?: number;
  /** A watch that heard nothing from its member for this long moves to another (default 3 s). */
  readonly watchIdleMs?: number;
}

let clientCounter = 0;

/** How long a member may take to answer "are you there?" before it counts as gone. */
const LIVENESS_PROBE_MS = 100;

function keyFromLeaderId(id: string): Address | undefined {
  if (id === '') return undefined;
  const tilde = id.lastIndexOf('~');
  return (tilde < 0 ? id : id.slice(0, tilde)) as Address;
}

/**
 * The etcd client: finds the leader, follows leader changes, retries safely (a write carries the
 * same (clientId, seq) on every attempt, so the state machine applies it at most once), and says
 * whether a failure was definite or indefinite.
 */
export class EtcdClient implements KvClient {
  readonly clientId: string;
  private seq = 0;
  private leader: Address | undefined;
  private rotation = 0;
  private nextWatchId = 1;
  /** Watch updates found missing (by their sequence numbers) and recovered by re-watching. */
  lostWatchUpdates = 0;
  private readonly requestTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly retryBackoffMs: number;
  private readonly watchIdleMs: number;

  constructor(private readonly port: ActorPort, private readonly options: EtcdClientOptions) {
    if (options.members.length === 0) throw new Error('etcd client: no members given');
    this.clientId = options.clientId ?? `${port.self}#${++clientCounter}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 300;
    this.retryBackoffMs = options.retryBackoffMs ?? 20;
    this.watchIdleMs = options.watchIdleMs ?? 3_000;
    // A killed member's host resets our connections: stop sending to it at once (its pending
    // asks end with AskResetError, see the runtime) instead of waiting for it to time out.
    this.resets = port.incoming$.pipe(filter((received) => received.message.type === PEER_DOWN)).subscribe((received) => {
      this.onPeerDown((received.message as PeerDownNotice).host);
    });
  }

  private readonly resets: Subscription;

  /** Stop listening for resets (the client's requests and watches still end on their own). */
  close(): void {
    this.resets.unsubscribe();
  }

  private onPeerDown(host: string): void {
    for (const member of this.options.members) {
      if (hostOf(member) !== host) continue;
      this.suspect(member);
      if (this.leader === member) this.leader = undefined;
    }
  }

  private readonly suspects = new Map<Address, number>();

  private suspect(member: Address): void {
    this.suspects.set(member, this.port.clock.now() + this.attemptTimeoutMs * 3);
  }

  private isSuspect(member: Address): boolean {
    const until = this.suspects.get(member);
    return until !== undefined && until > this.port.clock.now();
  }

  /** The member this client believes leads (a hint, not a fact). */
  get leaderHint(): Address | undefined {
    return this.leader;
  }

  async range(request: RangeRequest, options: RangeOptions = {}): Promise<KvResult<RangeResponse>> {
    const result = await this.call({ type: 'range', request, serializable: options.serializable ?? false }, options);
    return mapResponse(result, 'range');
  }

  async put(request: PutRequest, options: KvCallOptions = {}): Promise<KvResult<PutResponse>> {
    return mapResponse(await this.propose({ type: 'put', request }, options), 'put');
  }

  async deleteRange(request: DeleteRangeRequest, options: KvCallOptions = {}): Promise<KvResult<DeleteRangeResponse>> {
    return mapResponse(await this.propose({ type: 'deleteRange', request }, options), 'deleteRange');
  }

  async txn(request: TxnRequest, options: KvCallOptions = {}): Promise<KvResult<TxnResponse>> {
    return mapResponse(await this.propose({ type: 'txn', request }, options), 'txn');
  }

  async compact(revision: number, options: KvCallOptions = {}): Promise<KvResult<{ readonly revision: number }>> {
    const result = mapResponse(await this.propose({ type: 'compact', revision }, options), 'compact');
    return result.ok ? { ok: true, value: { revision: result.value.header.revision } } : result;
  }

  async leaseGrant(ttlSeconds: number, options: KvCallOptions = {}): Promise<KvResult<LeaseGrantResponse>> {
    return mapResponse(await this.propose({ type: 'leaseGrant', id: 0, ttlSeconds }, options), 'leaseGrant');
  }

  async leaseRevoke(id: number, options: KvCallOptions = {}): Promise<KvResult<{ readonly revision: number }>> {
    const result = mapResponse(await this.propose({ type: 'leaseRevoke', id }, options), 'leaseRevoke');
    return result.ok ? { ok: true, value: { revision: result.value.header.revision } } : result;
  }

  async leaseKeepAlive(id: number, options: KvCallOptions = {}): Promise<KvResult<{ readonly ttlSeconds: number }>> {
    const reply = await this.call({ type: 'leaseKeepAlive', id }, options);
    if (!reply.ok) return reply;
    if (reply.value.type === 'keepAliveOk') return { ok: true, value: { ttlSeconds: reply.value.ttlSeconds } };
    return unexpected(reply.value);
  }

  async currentRevision(options: KvCallOptions = {}): Promise<KvResult<number>> {
    const result = await this.range({ key: '\u0000', countOnly: true }, options);
    return result.ok ? { ok: true, value: result.value.header.revision } : result;
  }

  /** A write through the log, with one (clientId, seq) for every attempt. */
  private propose(command: Command, options: KvCallOptions): Promise<KvResult<MemberReply>> {
    const meta: CommandMeta = { clientId: this.clientId, seq: ++this.seq };
    return this.call({ type: 'propose', command: { ...command, meta } as Command }, options);
  }

  /**
   * Sends `message` to the leader (or, not knowing it, to each member in turn) until the deadline.
   * An attempt that has not answered within `attemptTimeoutMs` is not abandoned: the next one
   * starts beside it and the first answer wins (a follower holding a forwarded proposal answers
   * as soon as a new leader commits it; a dead member never does).
   */
  private async call(message: OutgoingMessage, options: KvCallOptions): Promise<KvResult<MemberReply>> {
    const clock = this.port.clock;
    const deadline = clock.now() + (options.timeoutMs ?? this.requestTimeoutMs);
    const inflight = new Set<Promise<Attempt>>();
    let indefinite = false;
    let lastReason = 'no member answered';
    let pause = 0;
    let target: Address | undefined;
    for (;;) {
      if (pause > 0) await sleep(clock, pause);
      const remaining = deadline - clock.now();
      if (remaining <= 0) return { ok: false, error: indefinite ? { code: 'timeout', definite: false, message: lastReason } : { code: 'unavailable', definite: true, message: lastReason } };
      if (target === undefined) {
        target = this.pickTarget();
        inflight.add(this.attempt(target, message, remaining));
      }
      let patienceTimer = 0;
      const patience = new Promise<'next'>((resolve) => {
        patienceTimer = clock.setTimer(Math.min(remaining, this.attemptTimeoutMs), () => resolve('next'));
      });
      const outcome = await Promise.race([...inflight, patience]);
      clock.clearTimer(patienceTimer);
      pause = 0;
      if (outcome === 'next') {
        // The attempt may still take effect: from here on, a failure is not definite.
        indefinite = true;
        // Slow is not dead: a loaded leader answers a status ask at once, and then we stay with it.
        // Only a member that says nothing is suspected and its work hedged elsewhere (moving on
        // from a live leader would only pile more work on it).
        if (await this.answers(target, Math.min(LIVENESS_PROBE_MS, Math.max(1, deadline - clock.now())))) {
          // Alive: ask again there (our message may have been lost while it restarted). The member
          // does not propose a request it already holds; it only answers the newest ask.
          inflight.add(this.attempt(target, message, Math.max(1, deadline - clock.now())));
          continue;
        }
        this.suspect(target);
        this.leader = undefined;
        lastReason = `${target} did not answer in time`;
        target = undefined;
        continue;
      }
      inflight.delete(outcome.settled);
      target = undefined;
      const verdict = this.classify(outcome);
      if (verdict.done) return verdict.result;
      if (verdict.indefinite) indefinite = true;
      lastReason = verdict.reason;
      pause = verdict.pauseMs;
    }
  }

  private async answers(member: Address, timeoutMs: number): Promise<boolean> {
    try {
      await this.port.ask(member, { type: 'status' }, { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  /** The leader if known, else the next member in turn that has not just failed us. */
  private pickTarget(): Address {
    if (this.leader !== undefined && !this.isSuspect(this.leader)) return this.leader;
    const members = this.options.members;
    for (let i = 0; i < members.length; i++) {
      const candidate = members[this.rotation++ % members.length]!;
      if (!this.isSuspect(candidate)) return candidate;
    }
    return members[this.rotation++ % members.length]!;
  }

  private attempt(target: Address, message: OutgoingMessage, timeoutMs: number): Promise<Attempt> {
    const settled: Promise<Attempt> = this.port.ask<MemberReply & OutgoingMessage>(target, message, { timeoutMs: Math.max(1, timeoutMs) }).then(
      (reply): Attempt => ({ target, reply, settled }),
      (error: unknown): Attempt => ({ target, error, settled }),
    );
    return settled;
  }

  private classify(outcome: Attempt): Verdict {
    const { target } = outcome;
    if (!('reply' in outcome)) {
      const error = outcome.error;
      this.leader = undefined;
      if (error instanceof AskTimeoutError) {
        this.suspect(target);
        return { done: false, indefinite: true, reason: `${target} did not answer`, pauseMs: 0 };
      }
      if (error instanceof AskRefusedError && error.reply.type === '$rejected') {
        return { done: true, result: { ok: false, error: { code: 'store', definite: true, error: { code: 'malformed', reason: error.message } } } };
      }
      return { done: false, indefinite: false, reason: error instanceof Error ? error.message : String(error), pauseMs: this.retryBackoffMs };
    }
    const reply = outcome.reply;
    switch (reply.type) {
      case 'notLeader': {
        // A member that has not yet noticed its leader died still names it: don't follow a hint
        // to a member that just failed to answer us.
        const hinted = keyFromLeaderId(reply.leader);
        this.leader = hinted !== undefined && !this.isSuspect(hinted) ? hinted : undefined;
        return { done: false, indefinite: false, reason: `${target} is not the leader`, pauseMs: this.leader ? 0 : this.retryBackoffMs };
      }
      case 'unavailable':
        this.leader = undefined;
        return { done: false, indefinite: !reply.definite, reason: `${target}: ${reply.reason}`, pauseMs: this.retryBackoffMs };
      case 'storeError':
        if (reply.error.code === 'staleSequence') {
          return { done: true, result: { ok: false, error: { code: 'timeout', definite: false, message: 'the retried request is older than the session window: outcome unknown' } } };
        }
        this.leader ??= target;
        return { done: true, result: { ok: true, value: reply } };
      default:
        this.leader ??= target;
        this.suspects.delete(target);
        return { done: true, result: { ok: true, value: reply } };
    }
  }

  watch(spec: WatchSpec): Observable<WatchUpdate> {
    return new Observable<WatchUpdate>((subscriber) => {
      // A new id for every (re)open: a member whose cancel was lost keeps its watcher, still sending
      // under the old id; were the id reused, coming back to that member would take the stale
      // watcher's messages for the new one's and move the resume point past changes never received.
      let clientWatchId = this.nextWatchId++;
      let member = this.leader ?? this.options.members[this.rotation++ % this.options.members.length]!;
      /** Everything through this revision was delivered; resume after it. */
      let completeTo = spec.startRevision !== undefined && spec.startRevision > 0 ? spec.startRevision - 1 : -1;
      let lastHeardMs = this.port.clock.now();
      let idleTimer: number | undefined;
      let closed = false;
      /** The last update number of the current watcher; a jump means an update was lost. */
      let lastSeq = 0;

      const open = () => {
        lastSeq = 0;
        const startRevision = completeTo >= 0 ? completeTo + 1 : 0;
        this.port.send(member, {
          type: 'watchCreate',
          watchId: clientWatchId,
          request: { key: spec.key, ...(spec.rangeEnd === undefined ? {} : { rangeEnd: spec.rangeEnd }), ...(spec.prefix ? { prefix: true } : {}), startRevision, prevKv: spec.prevKv ?? false, progressNotify: true },
        });
      };
      /** Re-opens the watch on `to` (default: the next member) from where delivery is complete. */
      const moveOn = (to?: Address) => {
        this.port.send(member, { type: 'watchCancel', watchId: clientWatchId });
        clientWatchId = this.nextWatchId++;
        const index = this.options.members.indexOf(member);
        member = to ?? this.options.members[(index + 1) % this.options.members.length]!;
        lastHeardMs = this.port.clock.now();
        open();
      };
      const checkIdle = () => {
        if (closed) return;
        if (this.port.clock.now() - lastHeardMs >= this.watchIdleMs) moveOn();
        idleTimer = this.port.clock.setTimer(this.watchIdleMs / 3, checkIdle);
      };
      const subscription = this.port.incoming$
        .pipe(filter((received) => received.message.type === 'watchUpdate' && (received.message as unknown as WatchUpdateMessage).watchId === clientWatchId && received.from === member))
        .subscribe((received) => {
          lastHeardMs = this.port.clock.now();
          const message = received.message as unknown as WatchUpdateMessage;
          if (message.seq !== undefined) {
            if (message.seq !== lastSeq + 1) {
              // An update was lost (a tell through a faulty link): what it carried is unknown, so
              // resume from where delivery is known complete, with a new watcher.
              this.lostWatchUpdates++;
              moveOn(member);
              return;
            }
            lastSeq = message.seq;
          }
          const update = message.update;
          switch (update.kind) {
            case 'events': {
              // Never back in time: a resumed watch may repeat what a previous member delivered.
              const fresh = update.events.filter((event) => event.kv.modRevision > completeTo);
              this.port.send(member, { type: 'watchAck', watchId: clientWatchId, events: update.events.length });
              if (update.revision <= completeTo) return;
              completeTo = update.revision;
              subscriber.next(fresh.length === update.events.length ? update : { ...update, events: fresh });
              return;
            }
            case 'progress':
              if (update.revision < completeTo) return;
              completeTo = update.revision;
              subscriber.next(update);
              return;
            case 'canceled':
              if (update.compactRevision !== undefined || update.reason === 'canceled') {
                subscriber.next(update);
                subscriber.complete();
              } else {
                moveOn(); // slow watcher: resume from where it was complete
              }
              return;
            default: {
              const unreachable: never = update;
              throw new Error(`unknown watch update ${JSON.stringify(unreachable)}`);
            }
          }
        });
      // Its member's host was killed: resume elsewhere now rather than after watchIdleMs of silence.
      const resets = this.port.incoming$
        .pipe(filter((received) => received.message.type === PEER_DOWN && (received.message as PeerDownNotice).host === hostOf(member)))
        .subscribe(() => moveOn());
      open();
      idleTimer = this.port.clock.setTimer(this.watchIdleMs / 3, checkIdle);
      return () => {
        closed = true;
        subscription.unsubscribe();
        resets.unsubscribe();
        if (idleTimer !== undefined) this.port.clock.clearTimer(idleTimer);
        this.port.send(member, { type: 'watchCancel', watchId: clientWatchId });
      };
    });
  }
}

type ResponseOf<T extends CommandResponse['type']> = Extract<CommandResponse, { type: T }>['response'];

function mapResponse<T extends CommandResponse['type']>(result: KvResult<MemberReply>, type: T): KvResult<ResponseOf<T>> {
  if (!result.ok) return result;
  const reply = result.value;
  if (reply.type === 'storeError') return { ok: false, error: { code: 'store', definite: true, error: reply.error } };
  if (reply.type === 'ok' && reply.response.type === type) return { ok: true, value: reply.response.response as ResponseOf<T> };
  return unexpected(reply);
}

function unexpected<T>(reply: MemberReply): KvResult<T> {
  const error: KvError = { code: 'unavailable', definite: false, message: `unexpected reply ${JSON.stringify(reply).slice(0, 200)}` };
  return { ok: false, error };
}
