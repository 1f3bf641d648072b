import type { ActorBehaviour, ActorContext, Incoming } from '../../src/runtime/actor.js';
import { hostOf, type Address } from '../../src/primitives/address.js';
import type { Message } from '../../src/primitives/envelope.js';
import { profile } from '../../src/runtime/profiles.js';
import { RaftNode, type ConfChange, type Entry, type NodeId, type RaftMessage, type Ready, type Snapshot, type SoftState } from '../../src/raft/index.js';
import {
  StoreStateMachine, WatchHub, decodeCommand, encodeCommand, pruneSnapshotFiles, recover, saveSnapshotFile,
  type ApplyResult, type Command, type RangeRequest, type StateMachineOptions, type Wal, type WatchResponse,
} from '../../src/store/index.js';
import type { WatchUpdate } from '../../src/store/index.js';
import { addressOfMember, type EtcdConfig, type EtcdMessage, type EtcdReply, type MemberStatus } from '../../src/etcd/messages.js';

/** How long a proposal waits for its entry to apply before the member gives up on it. */
const DEFAULT_PROPOSAL_TIMEOUT_MS = 5_000;
const MAX_PENDING_PROPOSALS = 100_000;
const MAX_PENDING_READS = 100_000;
const SNAPSHOT_FILES_KEPT = 2;
const DEFAULT_SNAPSHOT_EVERY = 10_000;
const SESSION_LIMITS = { maxSessions: 10_000, maxResultsPerSession: 64 };

type Reply = (message: EtcdReply) => void;

interface PendingProposal {
  readonly reply: Reply;
  readonly deadlineMs: number;
  /** The encoded command, re-proposed (same session and sequence: applied at most once) when the leader changes. */
  readonly data: Uint8Array;
}

interface PendingRead {
  readonly request: RangeRequest;
  readonly reply: Reply;
  readonly deadlineMs: number;
}

interface RemoteWatcher {
  readonly client: Address;
  readonly clientWatchId: number;
}

function keyOf(command: Command): string | undefined {
  return command.meta ? `${command.meta.clientId}\u0000${command.meta.seq}` : undefined;
}

/**
 * One etcd member: the shell around the pure Raft core and the pure store. It persists each
 * Ready before sending its messages (group commit: one fsync per turn of the mailbox), applies
 * committed entries to the MVCC state machine, answers proposals once their entry applies, serves
 * linearizable reads on any member by
 * ReadIndex, and streams watch events. Writes go to the leader: others answer `notLeader` with a hint.
 */
export class EtcdMember implements ActorBehaviour<EtcdMessage> {
  private node: RaftNode;
  private machine: StoreStateMachine;
  private readonly hub: WatchHub;
  private readonly wal: Wal;
  private readonly tickMs: number;
  private readonly electionTimeoutMs: number;
  private readonly snapshotEvery: number;
  private readonly proposals = new Map<string, PendingProposal>();
  private readonly confChanges = new Map<number, Reply>();
  private readQueue: PendingRead[] = [];
  private readonly readsInFlight = new Map<string, PendingRead[]>();
  private readsWaitingApply: { index: number; reads: PendingRead[] }[] = [];
  private readonly watchers = new Map<number, RemoteWatcher>();
  private readonly watchIds = new Map<string, number>();
  private readScheduled = false;
  private readyScheduled = false;
  private readSeq = 0;
  private localSeq = 0;
  private snapshotIndex = 0;
  private leading = false;
  private knownLeader: NodeId = '';

  constructor(private readonly context: ActorContext, private readonly config: EtcdConfig) {
    const timing = profile(config.profile ?? 'fast');
    this.tickMs = timing.etcdTickMs;
    this.electionTimeoutMs = timing.etcdTickMs * timing.etcdElectionTicks;
    this.snapshotEvery = config.snapshotEveryEntries ?? DEFAULT_SNAPSHOT_EVERY;
    const recovered = recover(context.storage);
    if (!recovered.ok) throw new Error(`etcd ${config.id}: data directory is damaged: ${JSON.stringify(recovered.error)}`);
    const { wal, hardState, snapshot, entries, droppedTailBytes } = recovered.value;
    if (droppedTailBytes > 0) context.log.warn('dropped a torn WAL tail', { bytes: droppedTailBytes });
    this.wal = wal;
    this.machine = snapshot ? this.restoreMachine(snapshot) : new StoreStateMachine(this.machineOptions());
    this.snapshotIndex = snapshot?.metadata.index ?? 0;
    this.hub = new WatchHub(this.machine.mvcc);
    const fresh = !hardState && !snapshot && entries.length === 0;
    this.node = RaftNode.restore({
      id: config.id,
      ...(fresh && config.peers.length > 0 ? { peers: config.peers } : {}),
      ...(hardState ? { hardState } : {}),
      ...(snapshot ? { snapshot } : {}),
      entries,
      prng: context.random,
      config: { heartbeatTicks: timing.etcdHeartbeatTicks, electionTicks: timing.etcdElectionTicks, ...config.raft },
    });
    // A random first tick: members started together must not tick in lockstep.
    context.setTimer('tick', context.random.between(0, this.tickMs), { type: 'tick' });
    context.setTimer('housekeeping', this.electionTimeoutMs, { type: 'housekeeping' });
    this.scheduleReady();
  }

  receive(message: EtcdMessage, incoming: Incoming): void {
    const reply: Reply = (answer) => incoming.reply?.(answer);
    switch (message.type) {
      case 'raft':
        for (const m of message.messages) this.node.step(m);
        break;
      case 'tick':
        this.node.tick();
        this.context.setTimer('tick', this.tickMs, { type: 'tick' });
        break;
      case 'propose':
        this.propose(message.command, message.timeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS, reply);
        break;
      case 'range':
        this.read(message.request, message.serializable ?? false, message.timeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS, reply);
        break;
      case 'watchCreate':
        this.watchCreate(incoming.from, message.watchId, message);
        break;
      case 'watchCancel':
        this.watchCancel(incoming.from, message.watchId);
        break;
      case 'watchAck': {
        const id = this.watchIds.get(`${incoming.from}#${message.watchId}`);
        if (id !== undefined) this.hub.ack(id, message.events);
        break;
      }
      case 'leaseKeepAlive':
        this.keepAlive(message.id, reply);
        break;
      case 'status':
        reply({ type: 'statusReply', status: this.status() });
        return;
      case 'hashKv': {
        const hashed = this.machine.hashKv(message.revision);
        reply(hashed.ok ? { type: 'hashReply', ...hashed.value } : { type: 'storeError', error: hashed.error });
        return;
      }
      case 'transferLeadership': {
        const started = this.node.transferLeadership(message.to);
        reply(started.kind === 'started' ? { type: 'done' } : started.kind === 'forwarded' ? { type: 'notLeader', leader: started.leader } : { type: 'unavailable', definite: true, reason: started.reason });
        break;
      }
      case 'confChange':
        this.confChange(message.change, reply);
        break;
      case 'housekeeping':
        this.housekeeping();
        break;
      default: {
        const unreachable: never = message;
        throw new Error(`etcd: unhandled ${JSON.stringify(unreachable)}`);
      }
    }
    this.scheduleReady();
  }

  onPeerDown(host: string): void {
    if (this.config.forgetDeadLeader === false) return;
    for (const id of this.node.confState().voters) {
      if (id !== this.config.id && hostOf(addressOfMember(id)) === host) this.node.peerDown(id);
    }
    this.scheduleReady();
  }

  inspect(): Record<string, unknown> {
    return { ...this.status(), pendingProposals: this.proposals.size, watchers: this.watchers.size };
  }

  status(): MemberStatus {
    const s = this.node.status();
    return {
      id: s.id, role: s.role, term: s.term, leader: s.leader, commit: s.commit, applied: s.applied,
      revision: this.machine.mvcc.currentRevision, compactRevision: this.machine.mvcc.compactRevision,
      firstIndex: s.firstIndex, lastIndex: s.lastIndex, voters: s.voters, learners: s.learners, snapshotIndex: this.snapshotIndex,
    };
  }

  private machineOptions(): StateMachineOptions {
    return { now: () => this.context.clock.now(), minLeaseTtlSeconds: Math.ceil((1.5 * this.electionTimeoutMs) / 1000), sessionLimits: SESSION_LIMITS };
  }

  private restoreMachine(snapshot: Snapshot): StoreStateMachine {
    const restored = StoreStateMachine.restore(snapshot.data, this.machineOptions());
    if (!restored.ok) throw new Error(`etcd ${this.config.id}: snapshot ${snapshot.metadata.index} does not restore: ${JSON.stringify(restored.error)}`);
    return restored.value.machine;
  }

  private propose(command: Command, timeoutMs: number, reply: Reply): void {
    if (this.proposals.size >= MAX_PENDING_PROPOSALS) {
      reply({ type: 'unavailable', definite: true, reason: 'too many pending proposals' });
      return;
    }
    if (this.node.role !== 'leader') {
      // Clients come to the leader: a forwarded write would also wait for this member's apply,
      // which learns the commit only with the leader's next message.
      reply(this.node.leader === '' ? { type: 'unavailable', definite: true, reason: 'no leader' } : { type: 'notLeader', leader: this.node.leader });
      return;
    }
    const withMeta: Command = command.meta ? command : { ...command, meta: { clientId: `${this.context.self}#${this.context.incarnation}`, seq: ++this.localSeq } };
    const key = keyOf(withMeta)!;
    const held = this.proposals.get(key);
    if (held) {
      // A client asking again for a request this member already proposed: answer the newest ask,
      // don't append the same command twice.
      this.proposals.set(key, { ...held, reply, deadlineMs: this.context.clock.now() + timeoutMs });
      return;
    }
    const data = encodeCommand(withMeta);
    const result = this.node.propose(data);
    if (result.kind === 'dropped') {
      reply(result.reason === 'noLeader' ? { type: 'unavailable', definite: true, reason: 'no leader' } : { type: 'unavailable', definite: true, reason: result.reason });
      return;
    }
    this.proposals.set(key, { reply, deadlineMs: this.context.clock.now() + timeoutMs, data });
  }

  private read(request: RangeRequest, serializable: boolean, timeoutMs: number, reply: Reply): void {
    if (serializable) {
      this.serveRead({ request, reply, deadlineMs: 0 });
      return;
    }
    if (this.readQueue.length + this.readsInFlight.size >= MAX_PENDING_READS) {
      reply({ type: 'unavailable', definite: true, reason: 'too many pending reads' });
      return;
    }
    this.readQueue.push({ request, reply, deadlineMs: this.context.clock.now() + timeoutMs });
    this.readScheduled = true;
  }

  private serveRead(read: PendingRead): void {
    const result = this.machine.mvcc.range(read.request);
    read.reply(result.ok ? { type: 'ok', response: { type: 'range', response: result.value } } : { type: 'storeError', error: result.error });
  }

  private keepAlive(id: number, reply: Reply): void {
    if (this.node.role !== 'leader') {
      reply({ type: 'notLeader', leader: this.node.leader });
      return;
    }
    const kept = this.machine.lessor.keepAlive(id, this.context.clock.now());
    reply(kept.ok ? { type: 'keepAliveOk', ttlSeconds: kept.value.ttlSeconds } : { type: 'storeError', error: kept.error });
  }

  private confChange(change: ConfChange, reply: Reply): void {
    if (this.node.role !== 'leader') {
      // Not forwarded: `notLeader` tells the caller the change did not happen, so it must not.
      reply(this.node.leader === '' ? { type: 'unavailable', definite: true, reason: 'no leader' } : { type: 'notLeader', leader: this.node.leader });
      return;
    }
    const result = this.node.proposeConfChange(change);
    if (result.kind === 'appended') this.confChanges.set(result.index, reply);
    else if (result.kind === 'forwarded') throw new Error(`etcd ${this.config.id}: the leader forwarded a conf change`);
    else reply({ type: 'unavailable', definite: true, reason: result.reason });
  }

  private scheduleReady(): void {
    if (this.readyScheduled) return;
    this.readyScheduled = true;
    this.context.defer(() => {
      this.readyScheduled = false;
      this.processReady();
    });
  }

  /** The Ready contract (src/raft/node.ts): persist, send, apply, serve reads, advance. */
  private processReady(): void {
    if (this.readScheduled) this.issueReadIndex();
    while (this.node.hasReady()) {
      const rd = this.node.ready();
      // A leader's appends may leave before its own fsync (Raft thesis §10.2.1): the followers'
      // disks work in parallel with ours, and nothing commits before this synchronous Ready,
      // fsync included, is done. Anything else (votes, append responses) promises what it
      // persisted, so it waits for the disk.
      const early = this.node.role === 'leader' && rd.messages.every((m) => m.type === 'append' || m.type === 'heartbeat');
      if (early) {
        this.send(rd.messages);
        this.context.flush();
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
  }

  private persist(rd: Ready): void {
    if (rd.snapshot) this.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0 || rd.hardState) this.wal.save(rd.hardState, rd.entries);
    if (rd.mustSync || rd.snapshot) this.wal.sync();
  }

  private send(messages: readonly RaftMessage[]): void {
    if (messages.length === 0) return;
    const byTarget = new Map<NodeId, RaftMessage[]>();
    for (const m of messages) {
      const list = byTarget.get(m.to);
      if (list) list.push(m);
      else byTarget.set(m.to, [m]);
    }
    for (const [to, list] of byTarget) this.context.send(addressOfMember(to), { type: 'raft', messages: list });
  }

  private apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.type !== 'normal') {
        this.machine.skip(entry.index);
        const reply = this.confChanges.get(entry.index);
        if (reply) {
          this.confChanges.delete(entry.index);
          reply({ type: 'done' });
        }
        continue;
      }
      const decoded = decodeCommand(entry.data);
      const result: ApplyResult = decoded.ok ? this.machine.apply(decoded.value, entry.index) : this.machine.applyEntryData(entry.data, entry.index);
      const key = decoded.ok ? keyOf(decoded.value) : undefined;
      const pending = key === undefined ? undefined : this.proposals.get(key);
      if (pending) {
        this.proposals.delete(key!);
        pending.reply(result.ok ? { type: 'ok', response: result.value } : { type: 'storeError', error: result.error });
      }
    }
  }

  private installSnapshot(snapshot: Snapshot): void {
    saveSnapshotFile(this.context.storage, snapshot);
    this.wal.saveSnapshot({ index: snapshot.metadata.index, term: snapshot.metadata.term });
    this.machine = this.restoreMachine(snapshot);
    this.hub.rebind(this.machine.mvcc);
    this.snapshotIndex = snapshot.metadata.index;
    if (this.leading) this.machine.lessor.promote(this.context.clock.now(), this.electionTimeoutMs);
  }

  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (applied - this.snapshotIndex < this.snapshotEvery) return;
    const term = this.node.termAt(applied);
    if (term === undefined) return;
    const data = this.machine.snapshot();
    const snapshot: Snapshot = { metadata: { index: applied, term, conf: this.node.confState() }, data };
    saveSnapshotFile(this.context.storage, snapshot);
    this.wal.saveSnapshot({ index: applied, term });
    this.wal.sync();
    this.node.compact(applied, data);
    // WAL segments may go only up to the oldest snapshot still kept: if the newest file is damaged,
    // recovery falls back to the older one and needs the entries after it.
    const previous = this.snapshotIndex;
    this.snapshotIndex = applied;
    pruneSnapshotFiles(this.context.storage, SNAPSHOT_FILES_KEPT);
    if (previous > 0) this.wal.releaseTo(previous);
  }

  private issueReadIndex(): void {
    this.readScheduled = false;
    if (this.readQueue.length === 0) return;
    const reads = this.readQueue;
    this.readQueue = [];
    const ctx = `${this.config.id}#${this.context.incarnation}:${++this.readSeq}`;
    const started = this.node.readIndex(ctx);
    if (started.kind === 'dropped') {
      const answer: EtcdReply = started.reason === 'noLeader' ? { type: 'unavailable', definite: true, reason: 'no leader' } : { type: 'unavailable', definite: true, reason: started.reason };
      for (const read of reads) read.reply(answer);
      return;
    }
    this.readsInFlight.set(ctx, reads);
  }

  private serveAppliedReads(): void {
    if (this.readsWaitingApply.length === 0) return;
    const applied = this.machine.appliedIndex;
    const waiting: { index: number; reads: PendingRead[] }[] = [];
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
    if (leading) this.machine.lessor.promote(this.context.clock.now(), this.electionTimeoutMs);
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
    this.context.setTimer('housekeeping', this.electionTimeoutMs, { type: 'housekeeping' });
    const now = this.context.clock.now();
    if (this.leading) {
      for (const id of this.machine.lessor.expired(now)) this.proposeInternal({ type: 'leaseRevoke', id });
      const checkpoints = this.machine.lessor.checkpoints(now);
      if (checkpoints.length > 0) this.proposeInternal({ type: 'leaseCheckpoint', checkpoints: checkpoints.slice(0, 1000) });
    }
    this.deliverWatchResponses(this.hub.progress());
    this.expire(now);
  }

  private proposeInternal(command: Command): void {
    this.node.propose(encodeCommand({ ...command, meta: { clientId: `${this.context.self}#${this.context.incarnation}`, seq: ++this.localSeq } }));
  }

  private expire(now: number): void {
    const timedOut: EtcdReply = { type: 'unavailable', definite: false, reason: 'timed out waiting for the entry to apply' };
    for (const [key, pending] of this.proposals) {
      if (pending.deadlineMs > now) continue;
      this.proposals.delete(key);
      pending.reply(timedOut);
    }
    const readTimedOut: EtcdReply = { type: 'unavailable', definite: true, reason: 'timed out waiting for read index' };
    for (const [ctx, reads] of this.readsInFlight) {
      if (reads.every((read) => read.deadlineMs > now)) continue;
      this.readsInFlight.delete(ctx);
      reads.forEach((read) => read.reply(readTimedOut));
    }
  }

  private watchCreate(client: Address, clientWatchId: number, message: Extract<EtcdMessage, { type: 'watchCreate' }>): void {
    this.watchCancel(client, clientWatchId);
    const created = this.hub.watch(message.request);
    if (!created.ok) {
      this.context.send(client, { type: 'watchUpdate', watchId: clientWatchId, update: { kind: 'canceled', reason: JSON.stringify(created.error) } });
      return;
    }
    const first = created.value[0];
    if (!first) return;
    this.watchers.set(first.watchId, { client, clientWatchId });
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
      const message: EtcdReply = { type: 'watchUpdate', watchId: watcher.clientWatchId, update };
      this.context.send(watcher.client, message as EtcdReply & Message);
      if (response.canceled) {
        this.watchers.delete(response.watchId);
        this.watchIds.delete(`${watcher.client}#${watcher.clientWatchId}`);
      }
    }
  }
}
