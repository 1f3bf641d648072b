/**
 * One etcd member as a pure core: the pure Raft node and the pure MVCC store, driven by messages,
 * returning what must be done as data. It never touches a timer, a thread, the disk or the wall
 * clock: time and randomness are injected, and persistence, sends, replies and timers are
 * effects the shell (actors/etcd/member.ts) performs in the order given (persist before send,
 * except a leader's appends, which may leave before its own fsync).
 */
import { hostOf, type Address } from '../primitives/address.js';
import { assert, assertNever } from '../primitives/assert.js';
import type { Clock } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import { profile } from '../runtime/profiles.js';
import { RaftNode, defaultSessionLimits, type ConfChange, type Entry, type HardState, type NodeId, type RaftMessage, type Ready, type Snapshot, type SoftState } from '../raft/index.js';
import {
  StoreStateMachine, WatchHub, decodeCommand, encodeCommand,
  type ApplyResult, type Command, type RangeRequest, type StateMachineOptions, type WatchResponse, type WatchUpdate,
} from '../store/index.js';
import { addressOfMember, type EtcdConfig, type EtcdMessage, type EtcdReply, type MemberStatus } from './messages.js';

/** How long a proposal waits for its entry to apply before the member gives up on it. */
const DEFAULT_PROPOSAL_TIMEOUT_MS = 5_000;
const MAX_PENDING_PROPOSALS = 100_000;
const MAX_PENDING_READS = 100_000;
const SNAPSHOT_FILES_KEPT = 2;
const DEFAULT_SNAPSHOT_EVERY = 10_000;
const MAX_CHECKPOINTS_PER_ENTRY = 1000;

/**
 * What the member asks its shell to do, in order. `To` is the shell's handle for a pending ask
 * (opaque to the core): a reply goes to it at most once.
 */
export type MemberEffect<To> =
  | { readonly kind: 'send'; readonly to: Address; readonly message: EtcdMessage | EtcdReply }
  | { readonly kind: 'reply'; readonly to: To; readonly message: EtcdReply }
  /** Hand the sends so far to the network now, before the fsync that follows. */
  | { readonly kind: 'flush' }
  | { readonly kind: 'timer'; readonly key: 'tick' | 'housekeeping'; readonly delayMs: number }
  /** Append to the WAL (when there is anything) and fsync when `sync`. */
  | { readonly kind: 'persist'; readonly hardState: HardState | undefined; readonly entries: readonly Entry[]; readonly sync: boolean }
  /** Write the snapshot file and its WAL marker (fsync when `sync`). */
  | { readonly kind: 'saveSnapshot'; readonly snapshot: Snapshot; readonly sync: boolean }
  /** Keep the newest `keep` snapshot files; WAL segments up to `releaseWalTo` may go (0: none). */
  | { readonly kind: 'pruneSnapshots'; readonly keep: number; readonly releaseWalTo: number }
  | { readonly kind: 'log'; readonly level: 'warn'; readonly message: string; readonly fields: Record<string, unknown> };

/** What a turn produced; `ready` asks the shell for a `ready()` pass once the turn is done. */
export interface MemberStep<To> {
  readonly effects: MemberEffect<To>[];
  readonly ready: boolean;
}

/** The member's durable state as the shell read it from disk (src/store `recover`). */
export interface MemberRecovery {
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly droppedTailBytes: number;
}

export interface MemberCoreOptions {
  readonly config: EtcdConfig;
  readonly self: Address;
  /** This life of the actor: client ids and read contexts must not repeat a previous life's. */
  readonly incarnation: number;
  readonly clock: Clock;
  readonly random: Prng;
  readonly recovered: MemberRecovery;
}

interface PendingProposal<To> {
  readonly replyTo: To | undefined;
  readonly deadlineMs: number;
  /** The encoded command, re-proposed (same session and sequence: applied at most once) when the leader changes. */
  readonly data: Uint8Array;
}

interface PendingRead<To> {
  readonly request: RangeRequest;
  readonly replyTo: To | undefined;
  readonly deadlineMs: number;
}

interface RemoteWatcher {
  readonly client: Address;
  readonly clientWatchId: number;
  /** Updates sent so far: each carries its number, so the client sees a lost one (tells may be lost). */
  sent: number;
}

function keyOf(command: Command): string | undefined {
  return command.meta ? `${command.meta.clientId}\u0000${command.meta.seq}` : undefined;
}

const noLeader: EtcdReply = { type: 'unavailable', definite: true, reason: 'no leader' };

/**
 * Persists each Ready before sending its messages (group commit: one `ready()` per turn of the
 * mailbox), applies committed entries to the MVCC state machine, answers proposals once their
 * entry applies, serves linearizable reads on any member by ReadIndex, and streams watch events.
 * Writes go to the leader: others answer `notLeader` with a hint.
 */
export class EtcdMemberCore<To> {
  private node: RaftNode;
  private machine: StoreStateMachine;
  private readonly hub: WatchHub;
  private readonly config: EtcdConfig;
  private readonly self: Address;
  private readonly incarnation: number;
  private readonly clock: Clock;
  private readonly random: Prng;
  private readonly tickMs: number;
  private readonly electionTimeoutMs: number;
  private readonly snapshotEvery: number;
  private readonly proposals = new Map<string, PendingProposal<To>>();
  private readonly confChanges = new Map<number, To | undefined>();
  private readQueue: PendingRead<To>[] = [];
  private readonly readsInFlight = new Map<string, PendingRead<To>[]>();
  private readsWaitingApply: { index: number; reads: PendingRead<To>[] }[] = [];
  private readonly watchers = new Map<number, RemoteWatcher>();
  private readonly watchIds = new Map<string, number>();
  private readScheduled = false;
  private readSeq = 0;
  private localSeq = 0;
  private snapshotIndex = 0;
  private leading = false;
  private knownLeader: NodeId = '';
  private out: MemberEffect<To>[] = [];
  private readonly droppedTailBytes: number;
  private readonly electionTicks: number;
  /** A new cluster's member, started with nothing on disk: no leader can exist yet to wait for. */
  private readonly freshCluster: boolean;

  constructor(options: MemberCoreOptions) {
    const { config, recovered } = options;
    this.config = config;
    this.self = options.self;
    this.incarnation = options.incarnation;
    this.clock = options.clock;
    this.random = options.random;
    const timing = profile(config.profile ?? 'fast');
    this.tickMs = timing.etcdTickMs;
    this.electionTimeoutMs = timing.etcdTickMs * timing.etcdElectionTicks;
    this.electionTicks = config.raft?.electionTicks ?? timing.etcdElectionTicks;
    this.snapshotEvery = config.snapshotEveryEntries ?? DEFAULT_SNAPSHOT_EVERY;
    assert(this.snapshotEvery > 0, `etcd ${config.id}: snapshotEveryEntries must be positive`);
    const { hardState, snapshot, entries } = recovered;
    this.droppedTailBytes = recovered.droppedTailBytes;
    this.machine = snapshot ? this.restoreMachine(snapshot) : new StoreStateMachine(this.machineOptions());
    this.snapshotIndex = snapshot?.metadata.index ?? 0;
    this.hub = new WatchHub(this.machine.mvcc);
    const fresh = !hardState && !snapshot && entries.length === 0;
    this.freshCluster = fresh && config.peers.length > 0;
    this.node = RaftNode.restore({
      id: config.id,
      ...(fresh && config.peers.length > 0 ? { peers: config.peers } : {}),
      ...(hardState ? { hardState } : {}),
      ...(snapshot ? { snapshot } : {}),
      entries: [...entries],
      prng: options.random,
      config: { heartbeatTicks: timing.etcdHeartbeatTicks, electionTicks: timing.etcdElectionTicks, ...config.raft },
    });
  }

  /** The first turn: the timers, and a word about a torn WAL tail the recovery dropped. */
  start(): MemberStep<To> {
    if (this.droppedTailBytes > 0) this.out.push({ kind: 'log', level: 'warn', message: 'dropped a torn WAL tail', fields: { bytes: this.droppedTailBytes } });
    // A new cluster has no leader to hear from: fast-forward the election clock to two ticks short
    // of the election timeout, as etcd does on start (`--initial-election-tick-advance`, on by
    // default: adjustTicks advances electionTicks - 2 once its peers are reachable), so the first
    // election comes after 2 ticks plus the random part (~20-320 ms in the fast profile), not
    // after the whole randomised timeout (300-600 ms). Restarted members keep the full timeout:
    // a leader may well exist, and they should hear from it rather than pre-vote.
    if (this.freshCluster) for (let i = 0; i < this.electionTicks - 2; i++) this.node.tick();
    // A random first tick: members started together must not tick in lockstep.
    this.out.push({ kind: 'timer', key: 'tick', delayMs: this.random.between(0, this.tickMs) });
    this.out.push({ kind: 'timer', key: 'housekeeping', delayMs: this.electionTimeoutMs });
    return this.step(true);
  }

  /** One message; `replyTo` is present for asks. */
  receive(message: EtcdMessage, from: Address, replyTo: To | undefined): MemberStep<To> {
    switch (message.type) {
      case 'raft':
        for (const m of message.messages) this.node.step(m);
        break;
      case 'tick':
        this.node.tick();
        this.out.push({ kind: 'timer', key: 'tick', delayMs: this.tickMs });
        break;
      case 'propose':
        this.propose(message.command, message.timeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS, replyTo);
        break;
      case 'range':
        this.read(message.request, message.serializable ?? false, message.timeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS, replyTo);
        break;
      case 'watchCreate':
        this.watchCreate(from, message.watchId, message);
        break;
      case 'watchCancel':
        this.watchCancel(from, message.watchId);
        break;
      case 'watchAck': {
        const id = this.watchIds.get(`${from}#${message.watchId}`);
        if (id !== undefined) this.hub.ack(id, message.events);
        break;
      }
      case 'leaseKeepAlive':
        this.keepAlive(message.id, replyTo);
        break;
      case 'status':
        this.reply(replyTo, { type: 'statusReply', status: this.status() });
        return this.step(false);
      case 'hashKv': {
        const hashed = this.machine.hashKv(message.revision);
        this.reply(replyTo, hashed.ok ? { type: 'hashReply', ...hashed.value } : { type: 'storeError', error: hashed.error });
        return this.step(false);
      }
      case 'transferLeadership': {
        const started = this.node.transferLeadership(message.to);
        this.reply(replyTo, started.kind === 'started' ? { type: 'done' } : started.kind === 'forwarded' ? { type: 'notLeader', leader: started.leader } : { type: 'unavailable', definite: true, reason: started.reason });
        break;
      }
      case 'confChange':
        this.confChange(message.change, replyTo);
        break;
      case 'housekeeping':
        this.housekeeping();
        break;
      default:
        return assertNever(message, 'etcd message');
    }
    return this.step(true);
  }

  /** The runtime reports `host` killed: forget a leader there at once (unless configured not to). */
  peerDown(host: string): MemberStep<To> {
    if (this.config.forgetDeadLeader === false) return this.step(false);
    for (const id of this.node.confState().voters) {
      if (id !== this.config.id && hostOf(addressOfMember(id)) === host) this.node.peerDown(id);
    }
    return this.step(true);
  }

  /** The Ready contract (src/raft/node.ts): persist, send, apply, serve reads, advance. */
  ready(): MemberEffect<To>[] {
    if (this.readScheduled) this.issueReadIndex();
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      // A leader's appends may leave before its own fsync (Raft thesis §10.2.1): the followers'
      // disks work in parallel with ours, and nothing commits before this synchronous Ready,
      // fsync included, is done. Anything else (votes, append responses) promises what it
      // persisted, so it waits for the disk.
      const early = this.node.role === 'leader' && rd.messages.every((m) => m.type === 'append' || m.type === 'heartbeat');
      if (early && rd.messages.length > 0) {
        this.send(rd.messages);
        this.out.push({ kind: 'flush' });
      }
      this.persist(rd);
      if (!early) this.send(rd.messages);
      this.apply(rd.committedEntries);
      if (rd.softState) this.onSoftState(rd.softState);
      for (const state of rd.readStates) {
        const reads = this.readsInFlight.get(state.ctx);
        if (!reads) continue;
        this.readsInFlight.delete(state.ctx);
        this.readsWaitingApply.push({ index: state.index, reads });
      }
      this.serveAppliedReads();
      this.node.advance(rd);
    }
    this.maybeSnapshot();
    this.deliverWatchResponses(this.hub.poll());
    return this.drain();
  }

  status(): MemberStatus {
    const s = this.node.status();
    return {
      id: s.id, role: s.role, term: s.term, leader: s.leader, commit: s.commit, applied: s.applied,
      revision: this.machine.mvcc.currentRevision, compactRevision: this.machine.mvcc.compactRevision,
      firstIndex: s.firstIndex, lastIndex: s.lastIndex, voters: s.voters, learners: s.learners, snapshotIndex: this.snapshotIndex,
    };
  }

  inspect(): Record<string, unknown> {
    return { ...this.status(), pendingProposals: this.proposals.size, watchers: this.watchers.size };
  }

  private step(ready: boolean): MemberStep<To> {
    return { effects: this.drain(), ready };
  }

  private drain(): MemberEffect<To>[] {
    const effects = this.out;
    this.out = [];
    return effects;
  }

  private reply(to: To | undefined, message: EtcdReply): void {
    if (to !== undefined) this.out.push({ kind: 'reply', to, message });
  }

  private machineOptions(): StateMachineOptions {
    return { now: () => this.clock.now(), minLeaseTtlSeconds: Math.ceil((1.5 * this.electionTimeoutMs) / 1000), sessionLimits: defaultSessionLimits };
  }

  private restoreMachine(snapshot: Snapshot): StoreStateMachine {
    const restored = StoreStateMachine.restore(snapshot.data, this.machineOptions());
    if (!restored.ok) throw new Error(`etcd ${this.config.id}: snapshot ${snapshot.metadata.index} does not restore: ${JSON.stringify(restored.error)}`);
    return restored.value.machine;
  }

  private clientId(): string {
    return `${this.self}#${this.incarnation}`;
  }

  private propose(command: Command, timeoutMs: number, replyTo: To | undefined): void {
    if (this.proposals.size >= MAX_PENDING_PROPOSALS) {
      this.reply(replyTo, { type: 'unavailable', definite: true, reason: 'too many pending proposals' });
      return;
    }
    if (this.node.role !== 'leader') {
      // Clients come to the leader: a forwarded write would also wait for this member's apply,
      // which learns the commit only with the leader's next message.
      this.reply(replyTo, this.node.leader === '' ? noLeader : { type: 'notLeader', leader: this.node.leader });
      return;
    }
    const withMeta: Command = command.meta ? command : { ...command, meta: { clientId: this.clientId(), seq: ++this.localSeq } };
    const key = keyOf(withMeta)!;
    const held = this.proposals.get(key);
    if (held) {
      // A client asking again for a request this member already proposed: answer the newest ask,
      // don't append the same command twice.
      this.proposals.set(key, { ...held, replyTo, deadlineMs: this.clock.now() + timeoutMs });
      return;
    }
    const data = encodeCommand(withMeta);
    const result = this.node.propose(data);
    if (result.kind === 'dropped') {
      this.reply(replyTo, result.reason === 'noLeader' ? noLeader : { type: 'unavailable', definite: true, reason: result.reason });
      return;
    }
    this.proposals.set(key, { replyTo, deadlineMs: this.clock.now() + timeoutMs, data });
  }

  private read(request: RangeRequest, serializable: boolean, timeoutMs: number, replyTo: To | undefined): void {
    if (serializable) {
      this.serveRead({ request, replyTo, deadlineMs: 0 });
      return;
    }
    if (this.readQueue.length + this.readsInFlight.size >= MAX_PENDING_READS) {
      this.reply(replyTo, { type: 'unavailable', definite: true, reason: 'too many pending reads' });
      return;
    }
    this.readQueue.push({ request, replyTo, deadlineMs: this.clock.now() + timeoutMs });
    this.readScheduled = true;
  }

  private serveRead(read: PendingRead<To>): void {
    const result = this.machine.mvcc.range(read.request);
    this.reply(read.replyTo, result.ok ? { type: 'ok', response: { type: 'range', response: result.value } } : { type: 'storeError', error: result.error });
  }

  private keepAlive(id: number, replyTo: To | undefined): void {
    if (this.node.role !== 'leader') {
      this.reply(replyTo, { type: 'notLeader', leader: this.node.leader });
      return;
    }
    const kept = this.machine.lessor.keepAlive(id, this.clock.now());
    this.reply(replyTo, kept.ok ? { type: 'keepAliveOk', ttlSeconds: kept.value.ttlSeconds } : { type: 'storeError', error: kept.error });
  }

  private confChange(change: ConfChange, replyTo: To | undefined): void {
    if (this.node.role !== 'leader') {
      // Not forwarded: `notLeader` tells the caller the change did not happen, so it must not.
      this.reply(replyTo, this.node.leader === '' ? noLeader : { type: 'notLeader', leader: this.node.leader });
      return;
    }
    const result = this.node.proposeConfChange(change);
    if (result.kind === 'appended') this.confChanges.set(result.index, replyTo);
    else if (result.kind === 'forwarded') throw new Error(`etcd ${this.config.id}: the leader forwarded a conf change`);
    else this.reply(replyTo, { type: 'unavailable', definite: true, reason: result.reason });
  }

  private persist(rd: Ready): void {
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    const sync = rd.mustSync || rd.snapshot !== undefined;
    if (rd.entries.length > 0 || rd.hardState || sync) this.out.push({ kind: 'persist', hardState: rd.hardState, entries: rd.entries, sync });
  }

  private send(messages: readonly RaftMessage[]): void {
    if (messages.length === 0) return;
    const byTarget = new Map<NodeId, RaftMessage[]>();
    for (const m of messages) {
      const list = byTarget.get(m.to);
      if (list) list.push(m);
      else byTarget.set(m.to, [m]);
    }
    for (const [to, list] of byTarget) this.out.push({ kind: 'send', to: addressOfMember(to), message: { type: 'raft', messages: list } });
  }

  private apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type !== 'normal') {
        this.machine.skip(entry.index);
        if (this.confChanges.has(entry.index)) {
          const replyTo = this.confChanges.get(entry.index);
          this.confChanges.delete(entry.index);
          this.reply(replyTo, { type: 'done' });
        }
        continue;
      }
      const decoded = decodeCommand(entry.data);
      const result: ApplyResult = decoded.ok ? this.machine.apply(decoded.value, entry.index) : this.machine.applyEntryData(entry.data, entry.index);
      const key = decoded.ok ? keyOf(decoded.value) : undefined;
      const pending = key === undefined ? undefined : this.proposals.get(key);
      if (pending) {
        this.proposals.delete(key!);
        this.reply(pending.replyTo, result.ok ? { type: 'ok', response: result.value } : { type: 'storeError', error: result.error });
      }
    }
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.out.push({ kind: 'saveSnapshot', snapshot, sync: false });
    this.machine = this.restoreMachine(snapshot);
    this.hub.rebind(this.machine.mvcc);
    this.snapshotIndex = snapshot.metadata.index;
    if (this.leading) this.machine.lessor.promote(this.clock.now(), this.electionTimeoutMs);
  }

  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (applied - this.snapshotIndex < this.snapshotEvery) return;
    const term = this.node.termAt(applied);
    if (term === undefined) return;
    const data = this.machine.snapshot();
    const snapshot: Snapshot = { metadata: { index: applied, term, conf: this.node.confState() }, data };
    this.out.push({ kind: 'saveSnapshot', snapshot, sync: true });
    this.node.compact(applied, data);
    // WAL segments may go only up to the oldest snapshot still kept: if the newest file is damaged,
    // recovery falls back to the older one and needs the entries after it.
    const previous = this.snapshotIndex;
    this.snapshotIndex = applied;
    this.out.push({ kind: 'pruneSnapshots', keep: SNAPSHOT_FILES_KEPT, releaseWalTo: previous });
  }

  private issueReadIndex(): void {
    this.readScheduled = false;
    if (this.readQueue.length === 0) return;
    const reads = this.readQueue;
    this.readQueue = [];
    const ctx = `${this.config.id}#${this.incarnation}:${++this.readSeq}`;
    const started = this.node.readIndex(ctx);
    if (started.kind === 'dropped') {
      const answer: EtcdReply = started.reason === 'noLeader' ? noLeader : { type: 'unavailable', definite: true, reason: started.reason };
      for (const read of reads) this.reply(read.replyTo, answer);
      return;
    }
    this.readsInFlight.set(ctx, reads);
  }

  private serveAppliedReads(): void {
    if (this.readsWaitingApply.length === 0) return;
    const applied = this.machine.appliedIndex;
    const waiting: { index: number; reads: PendingRead<To>[] }[] = [];
    for (const batch of this.readsWaitingApply) {
      if (batch.index <= applied) batch.reads.forEach((read) => this.serveRead(read));
      else waiting.push(batch);
    }
    this.readsWaitingApply = waiting;
  }

  private onSoftState(soft: SoftState): void {
    if (soft.leader !== '' && soft.leader !== this.knownLeader) this.retryUnderNewLeader();
    this.knownLeader = soft.leader;
    const leading = soft.role === 'leader';
    if (leading === this.leading) return;
    this.leading = leading;
    // A new leader gives every lease its remaining TTL plus an election timeout: elections never expire leases early.
    if (leading) this.machine.lessor.promote(this.clock.now(), this.electionTimeoutMs);
    else this.machine.lessor.demote();
  }

  /**
   * Requests forwarded to a leader that is gone would wait for their deadline: send them again
   * (proposals keep their session sequence, so one that did get through applies only once).
   */
  private retryUnderNewLeader(): void {
    for (const pending of this.proposals.values()) this.node.propose(pending.data);
    for (const reads of this.readsInFlight.values()) this.readQueue.push(...reads);
    this.readsInFlight.clear();
    if (this.readQueue.length > 0) this.readScheduled = true;
  }

  /** Lease expiry and checkpoints (leader), watch bookmarks, and giving up on stale requests. */
  private housekeeping(): void {
    this.out.push({ kind: 'timer', key: 'housekeeping', delayMs: this.electionTimeoutMs });
    const now = this.clock.now();
    if (this.leading) {
      for (const id of this.machine.lessor.expired(now)) this.proposeInternal({ type: 'leaseRevoke', id });
      const checkpoints = this.machine.lessor.checkpoints(now);
      if (checkpoints.length > 0) this.proposeInternal({ type: 'leaseCheckpoint', checkpoints: checkpoints.slice(0, MAX_CHECKPOINTS_PER_ENTRY) });
    }
    this.deliverWatchResponses(this.hub.progress());
    this.expire(now);
  }

  private proposeInternal(command: Command): void {
    this.node.propose(encodeCommand({ ...command, meta: { clientId: this.clientId(), seq: ++this.localSeq } }));
  }

  private expire(now: number): void {
    const timedOut: EtcdReply = { type: 'unavailable', definite: false, reason: 'timed out waiting for the entry to apply' };
    for (const [key, pending] of this.proposals) {
      if (pending.deadlineMs > now) continue;
      this.proposals.delete(key);
      this.reply(pending.replyTo, timedOut);
    }
    const readTimedOut: EtcdReply = { type: 'unavailable', definite: true, reason: 'timed out waiting for read index' };
    for (const [ctx, reads] of this.readsInFlight) {
      if (reads.every((read) => read.deadlineMs > now)) continue;
      this.readsInFlight.delete(ctx);
      reads.forEach((read) => this.reply(read.replyTo, readTimedOut));
    }
  }

  private watchCreate(client: Address, clientWatchId: number, message: Extract<EtcdMessage, { type: 'watchCreate' }>): void {
    this.watchCancel(client, clientWatchId);
    const created = this.hub.watch(message.request);
    if (!created.ok) {
      this.out.push({ kind: 'send', to: client, message: { type: 'watchUpdate', watchId: clientWatchId, update: { kind: 'canceled', reason: JSON.stringify(created.error) } } });
      return;
    }
    const first = created.value[0];
    if (!first) return;
    this.watchers.set(first.watchId, { client, clientWatchId, sent: 0 });
    this.watchIds.set(`${client}#${clientWatchId}`, first.watchId);
    // "Created" means complete through its header revision only for a watch from now; a watch
    // from a past revision is complete once the history replay arrives.
    const fromPast = (message.request.startRevision ?? 0) > 0;
    this.deliverWatchResponses(fromPast ? created.value.filter((response) => !response.created || response.canceled) : created.value);
  }

  private watchCancel(client: Address, clientWatchId: number): void {
    const key = `${client}#${clientWatchId}`;
    const id = this.watchIds.get(key);
    if (id === undefined) return;
    this.watchIds.delete(key);
    this.watchers.delete(id);
    this.hub.cancel(id);
  }

  private deliverWatchResponses(responses: readonly WatchResponse[]): void {
    for (const response of responses) {
      const watcher = this.watchers.get(response.watchId);
      if (!watcher) continue;
      const update: WatchUpdate = response.canceled
        ? { kind: 'canceled', reason: response.cancelReason ?? 'canceled', ...(response.compactRevision === undefined ? {} : { compactRevision: response.compactRevision }) }
        : response.events.length > 0
          ? { kind: 'events', revision: response.header.revision, events: response.events }
          : { kind: 'progress', revision: response.header.revision };
      this.out.push({ kind: 'send', to: watcher.client, message: { type: 'watchUpdate', watchId: watcher.clientWatchId, update, seq: ++watcher.sent } });
      if (response.canceled) {
        this.watchers.delete(response.watchId);
        this.watchIds.delete(`${watcher.client}#${watcher.clientWatchId}`);
      }
    }
  }
}
