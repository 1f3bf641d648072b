/**
 * The leader's view of one follower (etcd-io/raft's Progress). Flow control:
 * - probe: the follower's position is unknown; send one append, wait for its answer (or a heartbeat
 *   answer) before sending the next.
 * - replicate: the follower is keeping up; stream appends optimistically, at most
 *   `maxInflightAppends` unacknowledged at a time.
 * - snapshot: a snapshot is on its way; send nothing else until it is acknowledged.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Ring buffer of the last index of each unacknowledged append, oldest first. */
class Inflights {
  private readonly buf: number[];
  private start = 0;
  count = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count >= this.capacity;
  }

  add(lastIndex: number): void {
    if (this.full()) throw new Error('raft invariant violated: inflight appends over limit');
    this.buf[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** Frees every append whose last index is <= `index` (the follower acknowledged them). */
  freeTo(index: number): void {
    while (this.count > 0 && this.buf[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe: an append is out and unanswered. */
  probeSent = false;
  /** snapshot: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = true;
  /** The commit index last sent in an append, to know when a commit-only append is due. */
  sentCommit = 0;
  /** Leader ticks without an acknowledgement while appends or a snapshot are in flight. */
  stalledTicks = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightAppends: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightAppends);
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
      default: {
        const unreachable: never = this.state;
        throw new Error(`raft: unknown progress state ${String(unreachable)}`);
      }
    }
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot; probe right after it.
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.stalledTicks = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.stalledTicks = 0;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = snapshotIndex;
    this.probeSent = false;
    this.stalledTicks = 0;
    this.inflights.reset();
  }

  /** A successful append answer up to `index`; false if it was stale (already known). */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      this.probeSent = false;
      this.stalledTicks = 0;
      updated = true;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejected append at `rejected` (its prevIndex) with the follower's hint `matchHint`; false if
   * the rejection is stale (answers an append this progress no longer has in flight).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Records an append of entries ending at `lastIndex` (or an empty one when lastIndex is 0). */
  sentEntries(lastIndex: number): void {
    if (this.state === 'replicate') {
      if (lastIndex > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    } else {
      throw new Error('raft invariant violated: append sent to a follower awaiting a snapshot');
    }
  }
}
