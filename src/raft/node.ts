/**
 * RaftNode: Raft consensus as a pure, single-threaded state machine (after etcd-io/raft's RawNode).
 * It never performs I/O, never reads a clock and draws randomness only from the injected Prng.
 * The shell (the etcd actor) feeds it inputs and carries out the effects it returns.
 *
 * Inputs: `tick()` (one logical clock tick; the shell calls it every `tickMs`), `step(message)`
 * (a validated peer message addressed to this node), and the requests `propose`,
 * `proposeConfChange`, `readIndex`, `transferLeadership`, `campaign`, `compact`,
 * `reportUnreachable`, `reportSnapshot`.
 *
 * THE READY CONTRACT. Whenever `hasReady()` is true, the shell calls `rd = ready()` and then, in
 * this order:
 *   1. Persist durably (one fsync covers all three):
 *      - `rd.snapshot` if present: save it, and load it into the state machine (it replaces the
 *        state machine's whole state; later committedEntries follow it);
 *      - `rd.entries`: append to the WAL; entries[0].index may be <= the WAL's last index, in which
 *        case the WAL entries from entries[0].index onward are discarded first (conflicting suffix);
 *      - `rd.hardState` if present (term, vote, commit).
 *      If these are not written atomically, write them in that order: a restart must never find
 *      a hardState.commit beyond the entries on disk (restore() throws on that).
 *      `rd.mustSync` says whether an fsync is required (false when only commit moved).
 *   2. Send `rd.messages` (only after step 1: they promise what was just persisted, e.g. a vote).
 *      Delivery may fail or reorder; Raft copes. Optionally `reportUnreachable(to)` on send failure.
 *   3. Apply `rd.committedEntries` to the state machine in order. Entry types: 'normal' (client
 *      command), 'noop' (leader's first entry of its term: apply nothing), 'confChange' (membership
 *      change, already in effect inside the core; `rd.confState` carries the new membership).
 *      Each entry must be applied exactly once per state-machine incarnation.
 *   4. Serve `rd.readStates`: a linearizable read with context `ctx` may be answered once the state
 *      machine has applied at least `index`.
 *   5. Call `advance(rd)`. Until then `hasReady()` is false and `ready()` throws. Calls to step/tick/
 *      propose between ready() and advance() are allowed; their effects appear in the next Ready.
 * `rd.softState` (leader id, role) is informational and present when it changed.
 *
 * Snapshots: after applying through index N the application may serialise its state S, persist it,
 * and call `compact(N, S)`: the core drops log entries <= N and will ship S to any follower whose
 * next needed entry is gone. The WAL may then drop entries <= N too. The log lives in memory until
 * compacted, so the application must compact periodically (etcd: every 10,000 entries), keeping
 * some entries after N so that briefly lagging followers need no snapshot.
 *
 * Restart: `RaftNode.restore({ id, hardState, snapshot, entries, config, prng })` with what the
 * shell persisted. The state machine is rebuilt from the snapshot, and committed entries after it
 * come back through committedEntries. A brand-new founding member passes `peers` and nothing
 * persisted; a brand-new joining member passes no peers and nothing persisted, and learns the
 * membership from its leader once it has been added with proposeConfChange({type:'addLearner'})
 * (then promoted with {type:'promoteLearner'} once caught up) or {type:'addVoter'}.
 * A member whose disk was lost must never restart under its old id (it could vote twice in a term
 * or forget committed entries): remove it and add a fresh id.
 */
import type { Prng } from '../primitives/prng.js';
import { applyConfChange, decodeConfChange, encodeConfChange, learnersOf, parseConfChange, type ConfChange } from './confchange.js';
import { assert } from '../primitives/assert.js';
import { RaftLog } from './log.js';
import { isTermless, maxReadCtxLength, maxVotersInConf, type AppendMessage, type HeartbeatMessage, type PreVoteMessage, type ProposedEntry, type RaftMessage, type SnapshotMessage, type VoteMessage, type VoteRespMessage } from './messages.js';
import { Progress } from './progress.js';
import { EMPTY_HARD_STATE, type ConfState, type Entry, type HardState, type NodeId, type Snapshot } from './types.js';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface RaftConfig {
  /** Base election timeout; each node waits a random count in [T, 2T) ticks. */
  readonly electionTicks: number;
  /** Leader heartbeat interval; must be well below electionTicks. */
  readonly heartbeatTicks: number;
  /** Unacknowledged appends per follower in replicate state. */
  readonly maxInflightAppends: number;
  readonly maxEntriesPerAppend: number;
  /** Data bytes per append message (an entry larger than this still goes alone). */
  readonly maxAppendBytes: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Largest single proposal (etcd: 1.5 MiB request limit). */
  readonly maxProposalBytes: number;
  /** Proposal data the leader accepts beyond its commit index (and a follower queues for forwarding) before refusing more. */
  readonly maxUncommittedBytes: number;
  /** ReadIndex requests queued at the leader. */
  readonly maxPendingReads: number;
  /** Data bytes of committed entries handed out per Ready (at least one entry). */
  readonly maxCommittedBytesPerReady: number;
  /**
   * After `peerDown` of the leader, the surviving voters campaign this many ticks apart, in id
   * order: enough for one pre-vote and vote round trip, so two of them rarely split the vote.
   */
  readonly forgetStaggerTicks: number;
}

const defaultRaftConfig: RaftConfig = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflightAppends: 256,
  maxEntriesPerAppend: 4096,
  maxAppendBytes: 1024 * 1024,
  preVote: true,
  checkQuorum: true,
  maxProposalBytes: 1.5 * 1024 * 1024,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxPendingReads: 4096,
  maxCommittedBytesPerReady: 16 * 1024 * 1024,
  forgetStaggerTicks: 2,
};

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

export interface ReadState {
  readonly ctx: string;
  readonly index: number;
}

export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  readonly entries: readonly Entry[];
  readonly mustSync: boolean;
  readonly messages: readonly RaftMessage[];
  readonly committedEntries: readonly Entry[];
  readonly confState?: ConfState;
  readonly readStates: readonly ReadState[];
}

export type DropReason =
  | 'noLeader'
  | 'transferring'
  | 'tooLarge'
  | 'uncommittedLimit'
  | 'confChangePending'
  | 'invalidConfChange'
  /** promoteLearner while the learner's match index is below 90% of the leader's last index (etcd's rule). */
  | 'learnerLagging'
  | 'notVoter'
  | 'duplicate'
  | 'tooManyReads'
  | 'invalid';

export type ProposeResult =
  | { readonly kind: 'appended'; readonly index: number; readonly term: number }
  | { readonly kind: 'forwarded'; readonly leader: NodeId }
  | { readonly kind: 'dropped'; readonly reason: DropReason };

export type RequestResult =
  | { readonly kind: 'started' }
  | { readonly kind: 'forwarded'; readonly leader: NodeId }
  | { readonly kind: 'dropped'; readonly reason: DropReason };

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly voters: readonly NodeId[];
  /** Non-voting members: they replicate the log but count for no quorum. */
  readonly learners: readonly NodeId[];
  readonly leadTransferee: NodeId;
  /** Leader only: its view of each follower. */
  readonly progress: Readonly<Record<NodeId, { readonly match: number; readonly next: number; readonly state: 'probe' | 'replicate' | 'snapshot' }>>;
}

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Founding voters; used only when there is no snapshot (conf changes in the log apply on top). */
  readonly peers?: readonly NodeId[];
  readonly hardState?: HardState;
  readonly snapshot?: Snapshot;
  readonly entries?: readonly Entry[];
  /**
   * Index the state machine already reflects after restart (default: the snapshot index). A state
   * machine that persists itself (like etcd's backend with its consistent index) passes it so that
   * committedEntries resume after it. Must lie within [snapshot index, hardState.commit].
   */
  readonly applied?: number;
  readonly config?: Partial<RaftConfig>;
  readonly prng: Prng;
  /**
   * When nothing is persisted and peers are given, write the founding membership as entry 1
   * (term 1, committed) so that a member joining later learns it from the log. Default true;
   * tests that reproduce the paper's figures turn it off to start from an empty log at term 0.
   */
  readonly bootstrapEntry?: boolean;
}

interface PendingRead {
  readonly ctx: string;
  readonly from: NodeId;
  index: number;
  readonly acks: Set<NodeId>;
}

const emptyData = new Uint8Array(0);

function dropped(reason: DropReason): { kind: 'dropped'; reason: DropReason } {
  return { kind: 'dropped', reason };
}

function validateConfig(c: RaftConfig): void {
  const positive = ['electionTicks', 'heartbeatTicks', 'maxInflightAppends', 'maxEntriesPerAppend', 'maxAppendBytes',
    'maxProposalBytes', 'maxUncommittedBytes', 'maxPendingReads', 'maxCommittedBytesPerReady', 'forgetStaggerTicks'] as const;
  for (const key of positive) {
    if (!Number.isSafeInteger(c[key]) || c[key] < 1) throw new Error(`raft config: ${key} must be a positive integer`);
  }
  if (c.heartbeatTicks >= c.electionTicks) throw new Error('raft config: heartbeatTicks must be < electionTicks');
  if (c.forgetStaggerTicks >= c.electionTicks) throw new Error('raft config: forgetStaggerTicks must be < electionTicks');
}

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly prng: Prng;
  private readonly log: RaftLog;

  private currentTerm = 0;
  private votedFor: NodeId = '';
  private lead: NodeId = '';
  private state: Role = 'follower';
  private applied: number;

  private voters: NodeId[];
  /** Receive appends and have a Progress, but never count toward a quorum nor campaign (§4.2.1). */
  private learners: NodeId[];
  private confIndex: number;
  /** Membership at each conf change since the snapshot, for the snapshot metadata of compact(). */
  private confHistory: { index: number; conf: ConfState }[];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();
  private readonly matchBuf: number[] = [];
  private leadTransferee: NodeId = '';
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;

  private readQueue: PendingRead[] = [];
  private waitingReads: PendingRead[] = [];
  private readonly readByCtx = new Map<string, PendingRead>();
  private readHeartbeatDue = false;
  private pendingForward: ProposedEntry[] = [];
  private pendingForwardBytes = 0;

  /** The latest snapshot (made by compact or received), shipped to followers that fell behind it. */
  private snapshot: Snapshot | undefined;
  /** A received snapshot the shell has not yet persisted. */
  private pendingSnapshot: Snapshot | undefined;

  private msgs: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private prevHard: HardState;
  private prevSoft: SoftState = { leader: '', role: 'follower' };
  private prevConfIndex: number;
  private outstanding = false;

  static restore(opts: RaftNodeOptions): RaftNode {
    return new RaftNode(opts);
  }

  constructor(opts: RaftNodeOptions) {
    assert(opts.id.length > 0, 'node id must not be empty');
    this.id = opts.id;
    this.cfg = { ...defaultRaftConfig, ...opts.config };
    validateConfig(this.cfg);
    this.prng = opts.prng;
    const snap = opts.snapshot;
    const hs = opts.hardState ?? EMPTY_HARD_STATE;
    const snapIndex = snap?.metadata.index ?? 0;
    const entries = (opts.entries ?? []).filter((e) => e.index > snapIndex);
    const fresh = snap === undefined && entries.length === 0 && hs.term === 0 && hs.commit === 0 && hs.vote === '';
    this.log = new RaftLog(snapIndex, snap?.metadata.term ?? 0, entries, Math.max(hs.commit, snapIndex));
    assert(hs.term >= this.log.lastTerm(), `persisted term ${hs.term} below last log term ${this.log.lastTerm()}`);
    this.currentTerm = hs.term;
    this.votedFor = hs.vote;
    this.prevHard = hs;
    const applied = opts.applied ?? snapIndex;
    assert(applied >= snapIndex && applied <= this.log.committed, `restored applied ${applied} outside [${snapIndex}, ${this.log.committed}]`);
    this.applied = applied;
    this.snapshot = snap;
    this.voters = [...(snap ? snap.metadata.conf.voters : opts.peers ?? [])].sort();
    this.learners = snap ? [...learnersOf(snap.metadata.conf)].sort() : [];
    this.confIndex = snapIndex;
    this.confHistory = [{ index: snapIndex, conf: this.confState() }];
    this.prevConfIndex = this.confIndex;
    for (let i = snapIndex + 1; i <= this.log.committed; i++) {
      const e = this.log.entry(i)!;
      if (e.type === 'confChange') this.applyConfEntry(e);
    }
    if (fresh && this.voters.length > 0 && opts.bootstrapEntry !== false) this.bootstrap();
    this.becomeFollower(this.currentTerm, '');
    this.prevSoft = { leader: '', role: 'follower' };
  }

  private bootstrap(): void {
    const data = encodeConfChange({ type: 'bootstrap', voters: this.voters });
    const entry: Entry = { term: 1, index: 1, type: 'confChange', data };
    this.log.appendOne(entry);
    this.currentTerm = 1;
    this.log.commitTo(1);
    this.applyConfEntry(entry);
  }

  // ---------------------------------------------------------------- read-only view

  get term(): number {
    return this.currentTerm;
  }
  get vote(): NodeId {
    return this.votedFor;
  }
  get role(): Role {
    return this.state;
  }
  get leader(): NodeId {
    return this.lead;
  }
  get commitIndex(): number {
    return this.log.committed;
  }
  get appliedIndex(): number {
    return this.applied;
  }
  get lastIndex(): number {
    return this.log.lastIndex();
  }
  get firstIndex(): number {
    return this.log.firstIndex();
  }
  termAt(index: number): number | undefined {
    return this.log.term(index);
  }
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }
  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }
  /** The leader's view of a follower, for status pages and tests. */
  progressOf(id: NodeId): { match: number; next: number; state: Progress['state'] } | undefined {
    const pr = this.progress.get(id);
    return pr && { match: pr.match, next: pr.next, state: pr.state };
  }
  latestSnapshot(): Snapshot | undefined {
    return this.snapshot;
  }
  /** A plain summary for status pages, metrics and role-aware fault targets. */
  status(): RaftStatus {
    const progress: Record<NodeId, { match: number; next: number; state: Progress['state'] }> = {};
    for (const [id, pr] of this.progress) progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    return {
      id: this.id, role: this.state, term: this.currentTerm, vote: this.votedFor, leader: this.lead,
      commit: this.log.committed, applied: this.applied, firstIndex: this.log.firstIndex(), lastIndex: this.log.lastIndex(),
      voters: [...this.voters], learners: [...this.learners], leadTransferee: this.leadTransferee, progress,
    };
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
  }

  private quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  private promotable(): boolean {
    return this.voters.includes(this.id);
  }

  private send(m: RaftMessage): void {
    this.msgs.push(m);
  }

  // ---------------------------------------------------------------- role transitions

  private setTerm(term: number): void {
    assert(term >= this.currentTerm, `term decreasing ${this.currentTerm} -> ${term}`);
    if (term > this.currentTerm) {
      this.currentTerm = term;
      this.votedFor = '';
    }
  }

  private reset(term: number): void {
    this.setTerm(term);
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizeElectionTimeout();
    this.leadTransferee = '';
    this.votes.clear();
    this.progress.clear();
    this.readQueue = [];
    this.waitingReads = [];
    this.readByCtx.clear();
    this.readHeartbeatDue = false;
    this.pendingForward = [];
    this.pendingForwardBytes = 0;
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomePreCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become pre-candidate');
    // Neither term nor vote changes: a pre-election must not disturb anyone (dissertation §9.6).
    this.state = 'preCandidate';
    this.lead = '';
    this.votes.clear();
    this.randomizeElectionTimeout();
  }

  /** §5.2: a timeout drawn from [electionTicks, 2 * electionTicks). */
  private randomizeElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.prng.int(this.cfg.electionTicks);
  }

  private becomeCandidate(): void {
    assert(this.state !== 'leader', 'leader cannot become candidate');
    this.reset(this.currentTerm + 1);
    this.votedFor = this.id;
    this.state = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.state === 'candidate', `only a candidate becomes leader (was ${this.state})`);
    this.reset(this.currentTerm);
    this.state = 'leader';
    this.lead = this.id;
    const next = this.log.lastIndex() + 1;
    for (const v of [...this.voters, ...this.learners]) {
      if (v === this.id) continue;
      const pr = new Progress(next, this.cfg.maxInflightAppends);
      pr.recentActive = false;
      this.progress.set(v, pr);
    }
    // §5.4.2 / §8: an entry of the new term commits everything before it and enables ReadIndex.
    this.log.appendOne({ term: this.currentTerm, index: next, type: 'noop', data: emptyData });
    // A conf change may only be proposed once the noop commits (fixes the single-server change bug).
    this.pendingConfIndex = this.log.lastIndex();
    this.maybeCommit();
  }

  // ---------------------------------------------------------------- ticks and elections

  tick(): void {
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.detectStalls();
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.currentTerm, '');
        return;
      }
      this.leadTransferee = '';
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** CheckQuorum: did a quorum (self included) answer since the last round? Resets the marks. */
  private quorumActive(): boolean {
    let active = this.voters.includes(this.id) ? 1 : 0;
    for (const [id, pr] of this.progress) {
      if (pr.recentActive && this.voters.includes(id)) active++;
      pr.recentActive = false;
    }
    return active >= this.quorum();
  }

  /** Starts an election now (as on election timeout); with PreVote, a pre-election first. */
  campaign(): void {
    this.hup(false);
  }

  private hup(force: boolean): void {
    if (this.state === 'leader' || !this.promotable()) return;
    this.startCampaign(this.cfg.preVote && !force ? 'pre' : force ? 'transfer' : 'real');
  }

  private startCampaign(kind: 'pre' | 'real' | 'transfer'): void {
    const pre = kind === 'pre';
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    if (this.poll(this.id, true) === 'won') {
      if (pre) this.startCampaign('real');
      else this.becomeLeader();
      return;
    }
    const term = pre ? this.currentTerm + 1 : this.currentTerm;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const to of this.voters) {
      if (to === this.id) continue;
      if (pre) this.send({ type: 'preVote', from: this.id, to, term, lastIndex, lastTerm });
      else this.send({ type: 'vote', from: this.id, to, term, lastIndex, lastTerm, force: kind === 'transfer' });
    }
  }

  private poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (this.voters.includes(from) && !this.votes.has(from)) this.votes.set(from, granted);
    let yes = 0;
    let no = 0;
    for (const [id, g] of this.votes) {
      if (!this.voters.includes(id)) continue;
      if (g) yes++;
      else no++;
    }
    const q = this.quorum();
    if (yes >= q) return 'won';
    if (no > this.voters.length - q) return 'lost';
    return 'pending';
  }

  // ---------------------------------------------------------------- messages

  /** Feeds one validated message. Messages for another node or from itself are ignored. */
  step(m: RaftMessage): void {
    if (m.to !== this.id || m.from === this.id) return;
    if (!isTermless(m.type)) {
      if (m.term > this.currentTerm) {
        if (!this.onHigherTerm(m)) return;
      } else if (m.term < this.currentTerm) {
        this.onLowerTerm(m);
        return;
      }
    }
    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      case 'voteResp':
      case 'preVoteResp':
        this.handleVoteResp(m);
        return;
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.handleFromLeader(m);
        return;
      case 'appendResp':
        if (this.state === 'leader') this.handleAppendResp(m.from, m.index, m.reject, m.hintIndex, m.hintTerm);
        return;
      case 'heartbeatResp':
        if (this.state === 'leader') this.handleHeartbeatResp(m.from, m.ctx);
        return;
      case 'propose':
        // Only one hop: a follower that is not the leader drops forwarded proposals (clients retry).
        if (this.state === 'leader') for (const e of m.entries) this.appendProposal(e.type, e.data);
        return;
      case 'readIndex':
        if (this.state === 'leader') this.leaderReadIndex(m.ctx, m.from);
        return;
      case 'readIndexResp':
        if (this.state === 'follower' && m.from === this.lead) this.readStates.push({ ctx: m.ctx, index: m.index });
        return;
      case 'timeoutNow':
        // Leader transfer: campaign at once, skipping PreVote and the lease (dissertation §3.10).
        if (this.state !== 'leader') this.hup(true);
        return;
      case 'transferLeader':
        if (this.state === 'leader') this.leaderTransfer(m.target);
        return;
      default: {
        const unreachable: never = m;
        throw new Error(`raft: unknown message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** §5.1: a higher term makes us a follower, with exceptions for PreVote and the leader lease. */
  private onHigherTerm(m: RaftMessage): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      const force = m.type === 'vote' && m.force;
      // Leader lease (CheckQuorum, dissertation §4.2.3): while we hear from a live leader, a
      // disruptive candidate is ignored and cannot make anyone adopt its term.
      const inLease = this.cfg.checkQuorum && this.lead !== '' && this.electionElapsed < this.cfg.electionTicks;
      if (inLease && !force) return false;
    }
    if (m.type === 'preVote') return true;
    if (m.type === 'preVoteResp' && !m.reject) return true;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    this.becomeFollower(m.term, fromLeader ? m.from : '');
    return true;
  }

  /** §5.1: stale terms are rejected; tell a deposed leader or pre-candidate our term. */
  private onLowerTerm(m: RaftMessage): void {
    if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
      // Without this, a leader cut off by CheckQuorum/PreVote peers would never learn the new term.
      this.send({ type: 'appendResp', from: this.id, to: m.from, term: this.currentTerm, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
    } else if (m.type === 'preVote') {
      this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.currentTerm, reject: true });
    }
  }

  /** §5.2 one vote per term, §5.4.1 only for an up-to-date log. */
  private handleVoteRequest(m: VoteMessage | PreVoteMessage): void {
    const canVote = this.votedFor === m.from
      || (this.votedFor === '' && this.lead === '')
      || (m.type === 'preVote' && m.term > this.currentTerm);
    const type = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send({ type, from: this.id, to: m.from, term: this.currentTerm, reject: true });
    }
  }

  private handleVoteResp(m: VoteRespMessage): void {
    const expected: Role = m.type === 'voteResp' ? 'candidate' : 'preCandidate';
    if (this.state !== expected) return;
    const result = this.poll(m.from, !m.reject);
    if (result === 'won') {
      if (this.state === 'preCandidate') this.startCampaign('real');
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.currentTerm, '');
    }
  }

  private handleFromLeader(m: AppendMessage | HeartbeatMessage | SnapshotMessage): void {
    assert(this.state !== 'leader', `two leaders in term ${this.currentTerm}: ${this.id} and ${m.from}`);
    // §5.2: a candidate that hears from a leader of its term returns to follower.
    if (this.state !== 'follower') this.becomeFollower(this.currentTerm, m.from);
    // The leader was reported dead (peerDown) but lives: back to a full election timeout.
    if (this.lead === '' && this.randomizedElectionTimeout < this.cfg.electionTicks) this.randomizeElectionTimeout();
    this.electionElapsed = 0;
    this.lead = m.from;
    switch (m.type) {
      case 'append':
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.commitTo(m.commit);
        this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.currentTerm, ctx: m.ctx });
        return;
      case 'snapshot':
        this.handleSnapshot(m);
        return;
      default: {
        const unreachable: never = m;
        throw new Error(`raft: unknown leader message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private appendResp(to: NodeId, index: number, reject: boolean, hintIndex = 0, hintTerm = 0): void {
    this.send({ type: 'appendResp', from: this.id, to, term: this.currentTerm, index, reject, hintIndex, hintTerm });
  }

  /** §5.3: the consistency check, conflicting-suffix truncation and follower commit. */
  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      this.appendResp(m.from, this.log.committed, false);
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = this.log.maybeAppend(m.prevIndex, m.entries);
      this.commitTo(Math.min(m.commit, lastNew));
      this.appendResp(m.from, lastNew, false);
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.appendResp(m.from, m.prevIndex, true, hint.index, hint.term);
  }

  /** §7: install a snapshot unless the log already covers it. */
  private handleSnapshot(m: SnapshotMessage): void {
    const meta = m.snapshot.metadata;
    if (meta.index <= this.log.committed) {
      this.appendResp(m.from, this.log.committed, false);
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      this.commitTo(meta.index);
      this.appendResp(m.from, this.log.committed, false);
      return;
    }
    this.log.restoreSnapshot(meta.index, meta.term);
    this.voters = [...meta.conf.voters].sort();
    this.learners = [...learnersOf(meta.conf)].sort();
    this.confIndex = meta.index;
    this.confHistory = [{ index: meta.index, conf: this.confState() }];
    this.snapshot = m.snapshot;
    this.pendingSnapshot = m.snapshot;
    this.appendResp(m.from, this.log.lastIndex(), false);
  }

  // ---------------------------------------------------------------- commit and membership

  private commitTo(index: number): void {
    const old = this.log.committed;
    if (index <= old) return;
    this.log.commitTo(index);
    const leader = this.state === 'leader';
    for (let i = old + 1; i <= index; i++) {
      const e = this.log.entry(i)!;
      if (leader) this.uncommittedBytes = Math.max(0, this.uncommittedBytes - e.data.byteLength);
      if (e.type === 'confChange') this.applyConfEntry(e);
    }
    if (this.state === 'leader' && this.waitingReads.length > 0 && this.committedInTerm()) {
      const waiting = this.waitingReads;
      this.waitingReads = [];
      for (const r of waiting) this.startRead(r);
    }
  }

  /** §5.3/§5.4.2: commit the highest index a quorum stores, only if it is of the current term. */
  private maybeCommit(): void {
    while (this.state === 'leader' && this.voters.length > 0) {
      // Insertion sort, descending, into a reused buffer: runs on every acknowledgement, n <= 7.
      const matches = this.matchBuf;
      const last = this.log.lastIndex();
      let n = 0;
      for (const v of this.voters) {
        const value = v === this.id ? last : this.progress.get(v)?.match ?? 0;
        let j = n++;
        while (j > 0 && matches[j - 1]! < value) {
          matches[j] = matches[j - 1]!;
          j--;
        }
        matches[j] = value;
      }
      const candidate = matches[this.quorum() - 1]!;
      if (candidate <= this.log.committed || this.log.term(candidate) !== this.currentTerm) return;
      this.commitTo(candidate);
    }
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.currentTerm;
  }

  /** A committed confChange takes effect (idempotently: restart replays them). */
  private applyConfEntry(e: Entry): void {
    if (e.index <= this.confIndex) return;
    const after = applyConfChange(this.confState(), decodeConfChange(e.data));
    assert(!after.voters.some((v) => after.learners.includes(v)), `a member is both voter and learner after entry ${e.index}`);
    this.voters = [...after.voters];
    this.learners = [...after.learners];
    this.confIndex = e.index;
    this.confHistory.push({ index: e.index, conf: after });
    if (this.state !== 'leader') return;
    const members = [...this.voters, ...this.learners];
    for (const v of members) {
      if (v !== this.id && !this.progress.has(v)) this.progress.set(v, new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightAppends));
    }
    for (const v of [...this.progress.keys()]) {
      if (members.includes(v)) continue;
      this.progress.delete(v);
      if (this.leadTransferee === v) this.leadTransferee = '';
    }
    if (!this.voters.includes(this.id)) this.becomeFollower(this.currentTerm, '');
  }

  private confAt(index: number): ConfState {
    for (let i = this.confHistory.length - 1; i >= 0; i--) {
      const h = this.confHistory[i]!;
      if (h.index <= index) return { voters: [...h.conf.voters], learners: [...h.conf.learners] };
    }
    throw new Error(`raft invariant violated: no membership known at index ${index}`);
  }

  // ---------------------------------------------------------------- leader: replication

  private handleAppendResp(from: NodeId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    if (reject) {
      // Fast back-off: skip every entry of ours that cannot match the follower's hint.
      const probe = hintTerm > 0 ? this.log.findConflictByTerm(hintIndex, hintTerm).index : hintIndex;
      if (pr.maybeDecrTo(index, probe) && pr.state === 'replicate') pr.becomeProbe();
      return;
    }
    if (!pr.maybeUpdate(index)) return;
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        if (pr.match + 1 >= this.log.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
        }
        break;
      case 'replicate':
        pr.inflights.freeTo(index);
        break;
      default: {
        const unreachable: never = pr.state;
        throw new Error(`raft: unknown progress state ${String(unreachable)}`);
      }
    }
    this.maybeCommit();
    if (from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(from);
  }

  private handleHeartbeatResp(from: NodeId, ctx: string): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (ctx !== '') this.ackRead(ctx, from);
  }

  /**
   * Appends or a snapshot lost on the way would otherwise stall a follower forever (the in-flight
   * window never drains): after `stallTicks` without an acknowledgement, go back to probing.
   */
  private detectStalls(): void {
    const stallTicks = Math.max(3 * this.cfg.heartbeatTicks, Math.ceil(this.cfg.electionTicks / 2));
    for (const pr of this.progress.values()) {
      if (pr.state === 'replicate' && pr.inflights.count > 0) {
        if (++pr.stalledTicks >= stallTicks) pr.becomeProbe();
      } else if (pr.state === 'snapshot') {
        if (++pr.stalledTicks >= this.cfg.electionTicks) {
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
        }
      }
    }
  }

  private bcastHeartbeat(): void {
    const ctx = this.readQueue.length > 0 ? this.readQueue[this.readQueue.length - 1]!.ctx : '';
    for (const [to, pr] of this.progress) {
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to, term: this.currentTerm, commit, ctx });
    }
    this.readHeartbeatDue = false;
  }

  /** Sends whatever each follower can take now: batches up to the in-flight limit, or a commit update. */
  private flush(): void {
    if (this.state === 'leader') {
      if (this.readHeartbeatDue) this.bcastHeartbeat();
      for (const [to, pr] of this.progress) this.sendAppends(to, pr);
    } else if (this.pendingForward.length > 0 && this.lead !== '') {
      this.send({ type: 'propose', from: this.id, to: this.lead, term: 0, entries: this.pendingForward });
      this.pendingForward = [];
      this.pendingForwardBytes = 0;
    }
  }

  private sendAppends(to: NodeId, pr: Progress): void {
    const last = this.log.lastIndex();
    while (!pr.isPaused()) {
      if (pr.next <= last) {
        this.sendAppend(to, pr);
        continue;
      }
      if (pr.sentCommit < this.log.committed) this.sendAppend(to, pr);
      return;
    }
  }

  private sendAppend(to: NodeId, pr: Progress): void {
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.sendSnapshot(to, pr);
      return;
    }
    const last = this.log.lastIndex();
    const entries = pr.next <= last ? this.log.slice(pr.next, last + 1, this.cfg.maxAppendBytes, this.cfg.maxEntriesPerAppend) : [];
    const commit = this.log.committed;
    this.send({ type: 'append', from: this.id, to, term: this.currentTerm, prevIndex, prevTerm, entries, commit });
    pr.sentCommit = commit;
    pr.sentEntries(entries.length > 0 ? entries[entries.length - 1]!.index : 0);
  }

  private sendSnapshot(to: NodeId, pr: Progress): void {
    const snap = this.snapshot;
    assert(snap !== undefined, `follower ${to} needs compacted entries but there is no snapshot`);
    this.send({ type: 'snapshot', from: this.id, to, term: this.currentTerm, snapshot: snap });
    pr.becomeSnapshot(snap.metadata.index);
  }

  /**
   * An external failure detector says `id` is dead (its host was killed and its connections reset;
   * never said of a node that is merely unreachable). A follower of `id` forgets it, as etcd-raft's
   * MsgForgetLeader does: a leaderless follower grants pre-votes at once, so once a quorum has
   * forgotten the dead leader an election succeeds without waiting out the election timeout. To
   * avoid split votes the survivors stagger their campaigns by their rank among the live voters
   * (`forgetStaggerTicks` apart); a lagging first candidate is refused and the next one wins.
   * Safety never depends on the detector: a wrong report costs at most one election.
   */
  peerDown(id: NodeId): void {
    if (this.state === 'leader') {
      this.reportUnreachable(id);
      return;
    }
    if (this.state !== 'follower' || this.lead !== id || !this.promotable()) return;
    this.lead = '';
    const survivors = this.voters.filter((v) => v !== id);
    const rank = survivors.indexOf(this.id);
    assert(rank >= 0, `promotable node ${this.id} missing from voters`);
    this.randomizedElectionTimeout = this.electionElapsed + 1 + rank * this.cfg.forgetStaggerTicks;
  }

  /** The shell could not deliver to `id`: stop streaming to it and probe. */
  reportUnreachable(id: NodeId): void {
    const pr = this.progress.get(id);
    if (this.state === 'leader' && pr?.state === 'replicate') pr.becomeProbe();
  }

  /** The shell learned whether a snapshot reached `id` (optional; lost snapshots also time out). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.progress.get(id);
    if (this.state !== 'leader' || pr?.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true; // wait for the next heartbeat answer before probing
  }

  // ---------------------------------------------------------------- proposals

  /**
   * Proposes a client command. On the leader the result names the entry's (index, term): the
   * command took effect iff the entry applied at that index has that term (a later leader may
   * overwrite an uncommitted entry; then the client's retry, de-duplicated by SessionTable, is the
   * remedy). On a follower it is forwarded to the leader with the next Ready, and its fate is
   * unknown: time out and retry. Call ready() after a batch of proposals to send them in one append.
   */
  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  /**
   * Proposes one membership change; it takes effect on each member when committed. One at a time.
   * Replace or add a server as a learner first and promote it once it caught up (§4.2.1): the
   * leader refuses the promotion ('learnerLagging') while its match index is below 90% of the
   * leader's last index, as etcd does. Refused outright ('invalidConfChange'): adding a present
   * member (voter or learner), promoting a non-learner, removing an absent one, removing the last
   * voter, more than maxVotersInConf voters or learners.
   */
  proposeConfChange(change: ConfChange): ProposeResult {
    return this.proposeEntry('confChange', encodeConfChange(change));
  }

  private proposeEntry(type: 'normal' | 'confChange', data: Uint8Array): ProposeResult {
    if (this.state === 'leader') return this.appendProposal(type, data);
    if (this.lead === '') return dropped('noLeader');
    if (data.byteLength > this.cfg.maxProposalBytes) return dropped('tooLarge');
    if (this.pendingForwardBytes > 0 && this.pendingForwardBytes + data.byteLength > this.cfg.maxUncommittedBytes) {
      return dropped('uncommittedLimit');
    }
    this.pendingForward.push({ type, data });
    this.pendingForwardBytes += data.byteLength;
    return { kind: 'forwarded', leader: this.lead };
  }

  private appendProposal(type: 'normal' | 'confChange', data: Uint8Array): ProposeResult {
    if (this.leadTransferee !== '') return dropped('transferring');
    if (data.byteLength > this.cfg.maxProposalBytes) return dropped('tooLarge');
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.byteLength > this.cfg.maxUncommittedBytes) {
      return dropped('uncommittedLimit');
    }
    if (type === 'confChange') {
      const problem = this.checkConfChange(data);
      if (problem) return dropped(problem);
    }
    const entry: Entry = { term: this.currentTerm, index: this.log.lastIndex() + 1, type, data };
    this.log.appendOne(entry);
    this.uncommittedBytes += data.byteLength;
    if (type === 'confChange') this.pendingConfIndex = entry.index;
    if (this.quorum() === 1) this.maybeCommit();
    return { kind: 'appended', index: entry.index, term: entry.term };
  }

  private checkConfChange(data: Uint8Array): DropReason | undefined {
    if (this.pendingConfIndex > this.log.committed) return 'confChangePending';
    const cc = parseConfChange(data);
    if ('error' in cc || cc.type === 'bootstrap') return 'invalidConfChange';
    const before = this.confState();
    const after = applyConfChange(before, cc);
    const noChange = after.voters.length === before.voters.length && after.learners.length === before.learners.length;
    if (noChange || after.voters.length === 0) return 'invalidConfChange';
    if (after.voters.length > maxVotersInConf || after.learners.length > maxVotersInConf) return 'invalidConfChange';
    if (cc.type === 'promoteLearner' && !this.caughtUp(cc.nodeId)) return 'learnerLagging';
    return undefined;
  }

  /** etcd's promotion rule: the learner holds at least 90% of the leader's log. */
  private caughtUp(learner: NodeId): boolean {
    const pr = this.progress.get(learner);
    return pr !== undefined && pr.match * 10 >= this.log.lastIndex() * 9;
  }

  // ---------------------------------------------------------------- ReadIndex (§8)

  /**
   * Asks for a linearizable read point. The answer arrives as a ReadState { ctx, index } in a later
   * Ready (on this node, even when it is a follower). `ctx` must be unique among outstanding reads
   * cluster-wide (e.g. "<memberId>/<counter>"). A read may be lost (leader change): retry on timeout.
   */
  readIndex(ctx: string): RequestResult {
    if (ctx.length === 0 || ctx.length > maxReadCtxLength) return dropped('invalid');
    if (this.state === 'leader') return this.leaderReadIndex(ctx, this.id);
    if (this.lead === '') return dropped('noLeader');
    this.send({ type: 'readIndex', from: this.id, to: this.lead, term: 0, ctx });
    return { kind: 'forwarded', leader: this.lead };
  }

  private leaderReadIndex(ctx: string, from: NodeId): RequestResult {
    if (this.readByCtx.has(ctx)) return dropped('duplicate');
    if (this.readByCtx.size >= this.cfg.maxPendingReads) return dropped('tooManyReads');
    const read: PendingRead = { ctx, from, index: 0, acks: new Set() };
    this.readByCtx.set(ctx, read);
    // The leader's commit index is only known complete once it committed an entry of its term.
    if (this.committedInTerm()) this.startRead(read);
    else this.waitingReads.push(read);
    return { kind: 'started' };
  }

  private startRead(read: PendingRead): void {
    read.index = this.log.committed;
    if (this.voters.includes(this.id)) read.acks.add(this.id);
    if (read.acks.size >= this.quorum()) {
      this.readByCtx.delete(read.ctx);
      this.respondRead(read);
      return;
    }
    this.readQueue.push(read);
    this.readHeartbeatDue = true;
  }

  private ackRead(ctx: string, from: NodeId): void {
    const read = this.readByCtx.get(ctx);
    if (!read || !this.voters.includes(from) || read.index === 0) return;
    read.acks.add(from);
    if (read.acks.size < this.quorum()) return;
    // A quorum confirmed leadership after every earlier read was queued: release them all.
    const position = this.readQueue.indexOf(read);
    const released = this.readQueue.splice(0, position + 1);
    for (const r of released) {
      this.readByCtx.delete(r.ctx);
      this.respondRead(r);
    }
  }

  private respondRead(read: PendingRead): void {
    if (read.from === this.id) this.readStates.push({ ctx: read.ctx, index: read.index });
    else this.send({ type: 'readIndexResp', from: this.id, to: read.from, term: this.currentTerm, ctx: read.ctx, index: read.index });
  }

  // ---------------------------------------------------------------- leader transfer

  /** Hands leadership to `to` (dissertation §3.10); proposals are refused until it completes or times out. */
  transferLeadership(to: NodeId): RequestResult {
    if (this.state === 'leader') return this.leaderTransfer(to);
    if (this.lead === '') return dropped('noLeader');
    this.send({ type: 'transferLeader', from: this.id, to: this.lead, term: 0, target: to });
    return { kind: 'forwarded', leader: this.lead };
  }

  private leaderTransfer(target: NodeId): RequestResult {
    if (target === this.id) return { kind: 'started' };
    const pr = this.progress.get(target);
    // A learner may not lead: it could not even count its own vote.
    if (!pr || !this.voters.includes(target)) return dropped('notVoter');
    if (this.leadTransferee === target) return { kind: 'started' };
    this.leadTransferee = target;
    // The transfer is abandoned if it has not completed within one election timeout.
    this.electionElapsed = 0;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    return { kind: 'started' };
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.currentTerm });
  }

  // ---------------------------------------------------------------- snapshots from the application

  /**
   * The application persisted a snapshot `data` of its state at applied index `index`: drop the
   * log up to it and keep the snapshot to ship to followers that need entries before it.
   */
  compact(index: number, data: Uint8Array): void {
    assert(index <= this.applied, `compact(${index}) beyond applied index ${this.applied}`);
    if (index <= this.log.snapshotIndex()) return;
    const term = this.log.term(index);
    assert(term !== undefined, `compact(${index}): unknown term`);
    this.snapshot = { metadata: { index, term, conf: this.confAt(index) }, data };
    this.log.compact(index);
    let keep = 0;
    while (keep + 1 < this.confHistory.length && this.confHistory[keep + 1]!.index <= index) keep++;
    if (keep > 0) this.confHistory = this.confHistory.slice(keep);
  }

  // ---------------------------------------------------------------- Ready

  hasReady(): boolean {
    if (this.outstanding) return false;
    this.flush();
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.pendingSnapshot !== undefined) return true;
    if (this.log.stableIndex < this.log.lastIndex() || this.log.committed > this.applied) return true;
    if (this.confIndex !== this.prevConfIndex) return true;
    const hs = this.prevHard;
    if (hs.term !== this.currentTerm || hs.vote !== this.votedFor || hs.commit !== this.log.committed) return true;
    return this.prevSoft.leader !== this.lead || this.prevSoft.role !== this.state;
  }

  ready(): Ready {
    assert(!this.outstanding, 'ready() called again before advance()');
    this.flush();
    const hs = this.hardState();
    const prev = this.prevHard;
    const hardChanged = hs.term !== prev.term || hs.vote !== prev.vote || hs.commit !== prev.commit;
    const softChanged = this.prevSoft.leader !== this.lead || this.prevSoft.role !== this.state;
    const entries = this.log.unstableEntries();
    const snapshot = this.pendingSnapshot;
    const from = Math.max(this.applied, snapshot?.metadata.index ?? 0) + 1;
    const committedEntries = this.log.committed >= from
      ? this.log.slice(from, this.log.committed + 1, this.cfg.maxCommittedBytesPerReady, Number.MAX_SAFE_INTEGER)
      : [];
    const rd: Ready = {
      softState: softChanged ? { leader: this.lead, role: this.state } : undefined,
      hardState: hardChanged ? hs : undefined,
      snapshot,
      entries,
      mustSync: entries.length > 0 || snapshot !== undefined || hs.term !== prev.term || hs.vote !== prev.vote,
      messages: this.msgs,
      committedEntries,
      confState: this.confIndex !== this.prevConfIndex ? this.confState() : undefined,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevHard = hs;
    this.prevSoft = { leader: this.lead, role: this.state };
    this.prevConfIndex = this.confIndex;
    this.outstanding = true;
    return rd;
  }

  /** The shell has persisted, sent and applied `rd` (see the Ready contract above). */
  advance(rd: Ready): void {
    assert(this.outstanding, 'advance() without an outstanding ready()');
    this.outstanding = false;
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) this.log.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshot) {
      this.applied = Math.max(this.applied, rd.snapshot.metadata.index);
      if (this.pendingSnapshot === rd.snapshot) this.pendingSnapshot = undefined;
    }
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) this.applied = Math.max(this.applied, lastApplied.index);
    assert(this.applied <= this.log.committed, `applied ${this.applied} beyond commit ${this.log.committed}`);
  }
}
