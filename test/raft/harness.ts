/**
 * A deterministic in-test Raft cluster: N RaftNodes, each with an in-memory "disk" (what the shell
 * would have persisted) and a toy state machine, one message queue with seeded drops, duplicates,
 * reordering, partitions and crash-restarts. Every Ready is handled exactly as the Ready contract
 * says (persist, send, apply, advance), and the five safety properties of the Raft paper's Figure 3
 * are checked on every step; a violation throws with the seed in its message.
 */
import { SeededPrng, type Prng } from '../../src/primitives/prng.js';
import { validateRaftMessage, type RaftMessage } from '../../src/raft/messages.js';
import { RaftNode, type RaftConfig, type Ready } from '../../src/raft/node.js';
import type { Entry, HardState, NodeId, Snapshot } from '../../src/raft/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** Ready handling for unit tests that need no disk: take the Ready and acknowledge it at once. */
export function drain(node: RaftNode): Ready | undefined {
  if (!node.hasReady()) return undefined;
  const rd = node.ready();
  node.advance(rd);
  return rd;
}

/** All messages a node wants to send now (its Ready is acknowledged). */
export function outbox(node: RaftNode): RaftMessage[] {
  const out: RaftMessage[] = [];
  for (let rd = drain(node); rd; rd = drain(node)) out.push(...rd.messages);
  return out;
}

interface Disk {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

/** The toy state machine: the chain hash of every applied entry's (index, term, data). */
interface Machine {
  index: number;
  hash: number;
  applied: string[];
}

function chain(hash: number, e: Entry): number {
  let h = hash ^ e.index ^ (e.term << 16);
  for (let i = 0; i < e.data.length; i++) h = Math.imul(h ^ e.data[i]!, 0x01000193);
  return h >>> 0;
}

function entryKey(e: Entry): string {
  return `${e.term}|${e.type}|${text(e.data)}`;
}

export interface ClusterOptions {
  readonly ids: readonly NodeId[];
  readonly seed: number;
  readonly config?: Partial<RaftConfig>;
  readonly bootstrapEntry?: boolean;
  /** Per-node persisted state to start from instead of an empty disk (paper scenarios). */
  readonly initial?: Readonly<Record<NodeId, { readonly hardState: HardState; readonly entries: readonly Entry[] }>>;
}

/** Elects `id` by campaigning and running messages to quiescence. */
export function elect(c: RaftTestGroup, id: NodeId): void {
  c.node(id).campaign();
  c.stabilize();
  if (c.node(id).role !== 'leader') throw new Error(`${id} not elected`);
}

/** `count` proposals on `id`, then quiescence. */
export function proposeN(c: RaftTestGroup, id: NodeId, count: number, prefix = 'v'): void {
  for (let i = 0; i < count; i++) c.node(id).propose(bytes(`${prefix}${i}`));
  c.stabilize();
}

export function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** Runs `run` for seeds 1..count; a seed that throws is reported by number, the others' results kept. */
export function sweepSeeds<T>(count: number, run: (seed: number) => T): { readonly failures: string[]; readonly results: T[] } {
  const failures: string[] = [];
  const results: T[] = [];
  for (let seed = 1; seed <= count; seed++) {
    try {
      results.push(run(seed));
    } catch (err) {
      failures.push(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { failures, results };
}

class SafetyViolation extends Error {}

export class RaftTestGroup {
  readonly prng: Prng;
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, Disk>();
  readonly machines = new Map<NodeId, Machine>();
  /** Directed links that drop everything ("a->b"). */
  readonly cut = new Set<string>();
  dropRate = 0;
  duplicateRate = 0;
  reorderRate = 0;
  /** Chance that a message is held back 1..maxDelayRounds rounds (overtaken by later ones). */
  delayRate = 0;
  maxDelayRounds = 10;
  queue: RaftMessage[] = [];
  private delayed: { at: number; m: RaftMessage }[] = [];
  private roundNo = 0;
  readonly readStates: { node: NodeId; ctx: string; index: number }[] = [];
  messagesDelivered = 0;
  /** Complete each Ready one round after taking it (steps and ticks happen in between). */
  asyncReady = false;
  private readonly pending = new Map<NodeId, Ready>();
  /** Sees every committed entry a member applies, in order. */
  onApply: ((id: NodeId, e: Entry) => void) | undefined;
  /** Sees every message about to be delivered. */
  observer: ((m: RaftMessage) => void) | undefined;
  private readonly config: Partial<RaftConfig>;
  private restarts = 0;

  // Figure 3 bookkeeping
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly leaderSince = new Map<NodeId, number>();
  /** (index, term) -> entry key and the term of the entry before it (Log Matching by induction). */
  private readonly logPairs = new Map<string, { key: string; prevTerm: number }>();
  /** index -> entry key, for every entry applied anywhere (State Machine Safety). */
  private readonly appliedAt = new Map<number, string>();
  /** index -> the state machine hash after applying it. */
  private readonly hashAt = new Map<number, number>();
  /** index -> term of entries known committed (applied somewhere). */
  private readonly committedTerm = new Map<number, number>();
  maxApplied = 0;
  /** Highest commit index any node has reached (a read issued now must return at least this). */
  maxCommitSeen = 0;
  private readonly readFloor = new Map<string, number>();

  constructor(readonly options: ClusterOptions) {
    this.prng = new SeededPrng(options.seed);
    this.config = options.config ?? {};
    for (const id of options.ids) this.start(id, options.ids);
  }

  fail(message: string): never {
    throw new SafetyViolation(`seed ${this.options.seed}: ${message}`);
  }

  private start(id: NodeId, peers: readonly NodeId[]): void {
    const init = this.options.initial?.[id];
    const disk: Disk = { hardState: init?.hardState ?? { term: 0, vote: '', commit: 0 }, snapshot: undefined, entries: [...(init?.entries ?? [])] };
    this.disks.set(id, disk);
    this.machines.set(id, { index: 0, hash: 0, applied: [] });
    this.nodes.set(id, RaftNode.restore({
      id, peers, config: this.config, prng: this.prng.fork(`node-${id}`), bootstrapEntry: this.options.bootstrapEntry,
      hardState: disk.hardState, entries: disk.entries,
    }));
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`node ${id} is down`);
    return n;
  }

  alive(): NodeId[] {
    return [...this.nodes.keys()];
  }

  /** Adds a brand-new, empty member process (not yet a voter: propose addVoter for it). */
  join(id: NodeId): void {
    this.start(id, []);
  }

  /** Power cut: the node and its unsent messages vanish; its disk stays. */
  crash(id: NodeId): void {
    this.nodes.delete(id);
    this.pending.delete(id); // never persisted, never sent
    this.queue = this.queue.filter((m) => m.from !== id);
    this.delayed = this.delayed.filter((d) => d.m.from !== id);
  }

  /** Rebuilds the node from its disk alone, as a restarted etcd member would. */
  restart(id: NodeId): void {
    const disk = this.disks.get(id);
    if (!disk || this.nodes.has(id)) throw new Error(`cannot restart ${id}`);
    const snap = disk.snapshot;
    const machine: Machine = snap ? { ...this.loadSnapshot(snap), applied: [] } : { index: 0, hash: 0, applied: [] };
    this.machines.set(id, machine);
    this.restarts++;
    this.nodes.set(id, RaftNode.restore({
      id, hardState: disk.hardState, snapshot: snap, entries: disk.entries, config: this.config,
      prng: this.prng.fork(`node-${id}-${this.restarts}`),
    }));
  }

  /** Wipes a member's disk for good (it may come back only under a new id). */
  wipe(id: NodeId): void {
    this.crash(id);
    this.disks.delete(id);
    this.machines.delete(id);
  }

  /** One sweep step of random crashes and restarts (rates per step), drawn from `prng`. */
  crashOrRestartAtRandom(prng: Prng, crashRate = 0.006, restartRate = 0.03): void {
    const pick = <T>(items: readonly T[]): T => items[prng.int(items.length)]!;
    const alive = this.alive();
    if (prng.next() < crashRate && alive.length > 0) this.crash(pick(alive));
    const down = [...this.disks.keys()].filter((id) => !this.nodes.has(id));
    if (down.length > 0 && prng.next() < restartRate) this.restart(pick(down));
  }

  isolate(id: NodeId): void {
    for (const other of this.disks.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.heal();
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): RaftNode | undefined {
    let best: RaftNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.role === 'leader' && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  // ------------------------------------------------------------ running

  tick(rounds = 1): void {
    for (let r = 0; r < rounds; r++) {
      for (const [id, n] of this.nodes) {
        n.tick();
        this.checkRole(id, n);
      }
      this.round();
    }
  }

  /** Handles every Ready, then delivers each queued message once (replies wait for the next round). */
  round(): void {
    for (const id of this.alive()) this.processReady(id);
    this.roundNo++;
    let batch = this.queue;
    this.queue = [];
    if (this.delayed.length > 0) {
      const due = this.delayed.filter((d) => d.at <= this.roundNo);
      if (due.length > 0) {
        this.delayed = this.delayed.filter((d) => d.at > this.roundNo);
        batch = batch.concat(due.map((d) => d.m));
      }
    }
    if (this.reorderRate > 0 && this.prng.next() < this.reorderRate) batch = this.shuffle(batch);
    for (const m of batch) {
      if (this.delayRate > 0 && this.prng.next() < this.delayRate) {
        this.delayed.push({ at: this.roundNo + 1 + this.prng.int(this.maxDelayRounds), m });
        continue;
      }
      this.deliver(m);
      if (this.duplicateRate > 0 && this.prng.next() < this.duplicateRate) this.deliver(m);
    }
    for (const id of this.alive()) this.processReady(id);
  }

  /** Runs rounds without ticking until no message is in flight (bounded). */
  stabilize(maxRounds = 1000): void {
    for (let r = 0; r < maxRounds; r++) {
      this.round();
      if (this.queue.length === 0 && this.delayed.length === 0 && this.pending.size === 0 && this.alive().every((id) => !this.node(id).hasReady())) return;
    }
    throw new Error('cluster did not stabilize');
  }

  private shuffle<T>(items: T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.prng.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private deliver(m: RaftMessage): void {
    const to = this.nodes.get(m.to);
    if (!to || (this.cut.size > 0 && this.cut.has(`${m.from}->${m.to}`))) return;
    if (this.dropRate > 0 && this.prng.next() < this.dropRate) return;
    this.observer?.(m);
    const valid = validateRaftMessage(m);
    if ('error' in valid) this.fail(`node ${m.from} sent an invalid message: ${valid.error}`);
    this.messagesDelivered++;
    to.step(valid);
    this.checkRole(m.to, to);
  }

  /** Follows the Ready contract: persist, send, apply, advance. */
  processReady(id: NodeId): void {
    const node = this.nodes.get(id);
    if (!node) return;
    if (this.asyncReady) {
      // Like a shell whose fsync completes later: the previous Ready finishes now, and the node
      // has been stepped and ticked in between.
      const pending = this.pending.get(id);
      this.pending.delete(id);
      if (pending) this.completeReady(id, node, pending);
      if (node.hasReady()) this.pending.set(id, node.ready());
      return;
    }
    while (node.hasReady()) this.completeReady(id, node, node.ready());
  }

  private completeReady(id: NodeId, node: RaftNode, rd: Ready): void {
    const disk = this.disks.get(id)!;
    const machine = this.machines.get(id)!;
    {
      this.checkLeaderAppendOnly(id, node, disk, rd);
      if (rd.snapshot) {
        disk.snapshot = rd.snapshot;
        disk.entries = [];
        const loaded = this.loadSnapshot(rd.snapshot);
        machine.index = loaded.index;
        machine.hash = loaded.hash;
      }
      if (rd.entries.length > 0) this.persistEntries(id, disk, rd.entries);
      if (rd.hardState) disk.hardState = rd.hardState;
      this.queue.push(...rd.messages);
      for (const e of rd.committedEntries) this.apply(id, machine, e);
      for (const r of rd.readStates) {
        const floor = this.readFloor.get(r.ctx);
        if (floor !== undefined && r.index < floor) this.fail(`ReadIndex ${r.ctx} at ${id} returned ${r.index}, but ${floor} was committed before it was issued`);
        this.readStates.push({ node: id, ctx: r.ctx, index: r.index });
      }
      node.advance(rd);
    }
  }

  private loadSnapshot(snap: Snapshot): { index: number; hash: number } {
    const parsed = JSON.parse(text(snap.data)) as { index: number; hash: number };
    if (parsed.index !== snap.metadata.index) this.fail(`snapshot data at ${parsed.index} labelled ${snap.metadata.index}`);
    return parsed;
  }

  private persistEntries(id: NodeId, disk: Disk, entries: readonly Entry[]): void {
    const first = entries[0]!.index;
    const base = disk.snapshot?.metadata.index ?? 0;
    const keep = first - base - 1;
    if (keep < 0 || keep > disk.entries.length) this.fail(`${id} persisted entries from ${first} with a gap (disk base ${base}, ${disk.entries.length} entries)`);
    disk.entries.length = keep;
    let prevTerm = keep === 0 ? disk.snapshot?.metadata.term ?? 0 : disk.entries[keep - 1]!.term;
    for (const e of entries) {
      // Log Matching: (index, term) names one entry and one predecessor term; by induction the
      // whole prefix is then identical in every log holding (index, term).
      const pair = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const seen = this.logPairs.get(pair);
      if (!seen) this.logPairs.set(pair, { key, prevTerm });
      else if (seen.key !== key || seen.prevTerm !== prevTerm) this.fail(`Log Matching: two different entries at ${pair} (${id})`);
      disk.entries.push(e);
      prevTerm = e.term;
    }
  }

  private apply(id: NodeId, machine: Machine, e: Entry): void {
    if (e.index !== machine.index + 1) this.fail(`${id} applied ${e.index} after ${machine.index}`);
    const key = entryKey(e);
    const prior = this.appliedAt.get(e.index);
    if (prior === undefined) {
      this.appliedAt.set(e.index, key);
      this.committedTerm.set(e.index, e.term);
    } else if (prior !== key) {
      this.fail(`State Machine Safety: ${id} applied ${key} at ${e.index}, another server applied ${prior}`);
    }
    machine.index = e.index;
    machine.hash = chain(machine.hash, e);
    machine.applied.push(text(e.data));
    this.onApply?.(id, e);
    const hash = this.hashAt.get(e.index);
    if (hash === undefined) this.hashAt.set(e.index, machine.hash);
    else if (hash !== machine.hash) this.fail(`State Machine Safety: ${id} state differs from others at ${e.index}`);
    if (e.index > this.maxApplied) this.maxApplied = e.index;
  }

  /** The application's snapshot: compacts each live node whose applied log exceeds `threshold`. */
  compactAll(threshold: number, keep: number): void {
    for (const [id, node] of this.nodes) {
      const at = this.machines.get(id)!.index - keep;
      if (at - node.firstIndex + 1 > threshold) this.compact(id, at);
    }
  }

  compact(id: NodeId, at: number): void {
    const node = this.node(id);
    const machine = this.machines.get(id)!;
    const disk = this.disks.get(id)!;
    if (at > machine.index) this.fail(`compact ${at} beyond applied ${machine.index}`);
    const hash = this.hashAt.get(at);
    if (hash === undefined) this.fail(`no state hash known at ${at}`);
    node.compact(at, bytes(JSON.stringify({ index: at, hash })));
    const snap = node.latestSnapshot()!;
    const base = disk.snapshot?.metadata.index ?? 0;
    disk.snapshot = snap;
    disk.entries = disk.entries.slice(at - base);
  }

  // ------------------------------------------------------------ Figure 3 checks

  /** Issues a ReadIndex and remembers what it must at least return (linearizability). */
  read(id: NodeId, ctx: string): ReturnType<RaftNode['readIndex']> {
    this.readFloor.set(ctx, this.maxCommitSeen);
    return this.node(id).readIndex(ctx);
  }

  private checkRole(id: NodeId, node: RaftNode): void {
    if (node.commitIndex > this.maxCommitSeen) this.maxCommitSeen = node.commitIndex;
    if (node.role !== 'leader') {
      this.leaderSince.delete(id);
      return;
    }
    // Election Safety: at most one leader per term.
    const other = this.leaderOfTerm.get(node.term);
    if (other !== undefined && other !== id) this.fail(`Election Safety: ${other} and ${id} both lead term ${node.term}`);
    if (this.leaderSince.get(id) === node.term) return;
    this.leaderOfTerm.set(node.term, id);
    this.leaderSince.set(id, node.term);
    // Leader Completeness: the new leader holds every entry committed before its term.
    const snapIndex = node.firstIndex - 1;
    for (const [index, term] of this.committedTerm) {
      if (index < snapIndex) continue;
      if (node.termAt(index) !== term) this.fail(`Leader Completeness: leader ${id} of term ${node.term} lacks committed entry ${index}`);
    }
  }

  private checkLeaderAppendOnly(id: NodeId, node: RaftNode, disk: Disk, rd: Ready): void {
    if (rd.entries.length === 0 || node.role !== 'leader') return;
    const base = disk.snapshot?.metadata.index ?? 0;
    const diskLast = base + disk.entries.length;
    const lastTerm = disk.entries[disk.entries.length - 1]?.term ?? 0;
    // Leader Append-Only: once its own entries are on disk, a leader only appends after them.
    if (lastTerm === node.term && rd.entries[0]!.index !== diskLast + 1) {
      this.fail(`Leader Append-Only: leader ${id} of term ${node.term} rewrites its log from ${rd.entries[0]!.index} (disk last ${diskLast})`);
    }
  }

  /** Liveness at the end of a chaos run: heal, restart everyone, and a new write must commit everywhere. */
  settleAndWrite(maxRounds: number, label: string): void {
    this.heal();
    this.dropRate = 0;
    this.duplicateRate = 0;
    this.reorderRate = 0;
    this.delayRate = 0;
    for (const id of this.disks.keys()) if (!this.nodes.has(id)) this.restart(id);
    let proposed: { index: number; term: number; key: string } | undefined;
    for (let r = 0; r < maxRounds; r++) {
      this.tick();
      const lead = this.leader();
      if (proposed && this.appliedAt.has(proposed.index) && this.appliedAt.get(proposed.index) !== proposed.key) proposed = undefined;
      // A proposal made to a stale leader is lost when a newer leader overwrites it: propose again.
      if (proposed && lead && lead.term > proposed.term && lead.termAt(proposed.index) !== proposed.term) proposed = undefined;
      if (lead && !proposed) {
        const res = lead.propose(bytes(label));
        if (res.kind === 'appended') proposed = { index: res.index, term: res.term, key: `${res.term}|normal|${label}` };
      }
      const target = proposed;
      // Every voter must apply it; a joined process whose addVoter never committed is no member.
      const members = (lead?.confState().voters ?? []).filter((id) => this.disks.has(id));
      if (target && this.appliedAt.get(target.index) === target.key && members.every((id) => (this.machines.get(id)?.index ?? 0) >= target.index)) return;
    }
    this.fail(`liveness: no final write "${label}" applied on all members within ${maxRounds} rounds (leader ${this.leader()?.id ?? 'none'})`);
  }
}
