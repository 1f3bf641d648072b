/**
 * Leases (etcd's lessor). Which leases exist, their granted TTL, checkpointed remaining TTL and
 * attached keys are replicated state, changed only by applying log commands. Deadlines are local
 * to a member and matter only on the primary (the Raft leader's lessor): it alone decides expiry
 * and then proposes a revoke through the log, so every member deletes the keys at the same index.
 *
 * A member that is not primary holds no deadline (etcd's "forever"); `promote` gives every lease
 * its remaining (checkpointed, else granted) TTL plus an extension, so an election never expires
 * a lease early. `keepAlive` is answered by the primary alone and is not replicated, like etcd's.
 */
import type { LeaseIndex } from './mvcc.js';
import { type Result, fail, ok } from './types.js';
import { assert } from '../primitives/assert.js';

/** etcd's MaxLeaseTTL. */
export const maxLeaseTtlSeconds = 9_000_000_000;
/** How long an expired lease is left alone after being reported, while its revoke goes through the log. */
export const expiredRetryMs = 3_000;
/** Lease ids are positive safe integers (etcd: int64). */
export const maxLeaseId = Number.MAX_SAFE_INTEGER;

export interface LessorOptions {
  /** etcd: ceil(1.5 × election timeout); shorter grants are raised to it. */
  readonly minTtlSeconds: number;
}

export interface LeaseInfo {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Seconds left on the primary; the granted TTL elsewhere. */
  readonly remainingSeconds: number;
  readonly keys: string[];
}

interface Lease {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Checkpointed remaining TTL, 0 when none (etcd's remainingTTL). */
  remainingTtlSeconds: number;
  readonly keys: Set<string>;
  /** Local deadline; Infinity when not primary. */
  expiryMs: number;
  /** When `expired` last reported this lease (so a pending revoke is not proposed again at once). */
  reportedAtMs: number;
}

/** Replicated lease state in serialisable form: [id, ttlSeconds, remainingTtlSeconds]. */
export type LeaseState = [number, number, number][];

export class Lessor implements LeaseIndex {
  private readonly leases = new Map<number, Lease>();
  private primary = false;

  constructor(private readonly options: LessorOptions) {
    assert(Number.isInteger(options.minTtlSeconds) && options.minTtlSeconds > 0, 'minTtlSeconds must be a positive integer');
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  attach(id: number, key: string): void {
    const lease = this.leases.get(id);
    assert(lease !== undefined, `attach ${key} to missing lease ${id}`);
    lease.keys.add(key);
  }

  detach(id: number, key: string): void {
    // The lease may already be gone: revoke removes it after deleting its keys.
    this.leases.get(id)?.keys.delete(key);
  }

  grant(id: number, ttlSeconds: number, nowMs: number): Result<{ id: number; ttlSeconds: number }> {
    assert(Number.isSafeInteger(id) && id > 0, `lease id ${id}`);
    if (this.leases.has(id)) return fail({ code: 'leaseExists', lease: id });
    if (ttlSeconds > maxLeaseTtlSeconds) return fail({ code: 'leaseTtlTooLarge', ttlSeconds, limit: maxLeaseTtlSeconds });
    const ttl = Math.max(Math.ceil(ttlSeconds), this.options.minTtlSeconds);
    const lease: Lease = { id, ttlSeconds: ttl, remainingTtlSeconds: 0, keys: new Set(), expiryMs: Infinity, reportedAtMs: -Infinity };
    if (this.primary) lease.expiryMs = nowMs + ttl * 1000;
    this.leases.set(id, lease);
    return ok({ id, ttlSeconds: ttl });
  }

  /** Keys attached to a lease, sorted (revoke deletes them, then calls `remove`). */
  keysOf(id: number): Result<string[]> {
    const lease = this.leases.get(id);
    if (!lease) return fail({ code: 'leaseNotFound', lease: id });
    return ok([...lease.keys].sort());
  }

  remove(id: number): void {
    this.leases.delete(id);
  }

  /** Applies a replicated checkpoint of remaining TTL (0 clears it). Unknown leases are skipped, as in etcd. */
  checkpoint(id: number, remainingTtlSeconds: number): void {
    const lease = this.leases.get(id);
    if (lease) lease.remainingTtlSeconds = remainingTtlSeconds;
  }

  /**
   * Primary only: restart the lease's TTL. `checkpointReset` tells the shell to replicate a
   * checkpoint of 0, because a stale checkpoint would make the next primary expire it early.
   */
  keepAlive(id: number, nowMs: number): Result<{ ttlSeconds: number; checkpointReset: boolean }> {
    assert(this.primary, 'keepAlive on a lessor that is not primary');
    const lease = this.leases.get(id);
    // An expired lease is being revoked: etcd answers "lease not found" too.
    if (!lease || lease.expiryMs <= nowMs) return fail({ code: 'leaseNotFound', lease: id });
    lease.expiryMs = nowMs + lease.ttlSeconds * 1000;
    lease.reportedAtMs = -Infinity;
    return ok({ ttlSeconds: lease.ttlSeconds, checkpointReset: lease.remainingTtlSeconds > 0 });
  }

  timeToLive(id: number, nowMs: number): Result<LeaseInfo> {
    const lease = this.leases.get(id);
    if (!lease) return fail({ code: 'leaseNotFound', lease: id });
    const remainingSeconds = Number.isFinite(lease.expiryMs)
      ? Math.max(0, Math.ceil((lease.expiryMs - nowMs) / 1000))
      : lease.remainingTtlSeconds || lease.ttlSeconds;
    return ok({ id, ttlSeconds: lease.ttlSeconds, remainingSeconds, keys: [...lease.keys].sort() });
  }

  list(): number[] {
    return [...this.leases.keys()].sort((a, b) => a - b);
  }

  /**
   * Primary only: leases past their deadline, earliest first, at most `max`. A reported lease is
   * reported again only after `expiredRetryMs`, in case its revoke proposal was lost.
   */
  expired(nowMs: number, max = 1000): number[] {
    if (!this.primary) return [];
    const due: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (lease.expiryMs <= nowMs && nowMs - lease.reportedAtMs >= expiredRetryMs) due.push(lease);
    }
    due.sort((a, b) => a.expiryMs - b.expiryMs || a.id - b.id);
    const picked = due.slice(0, max);
    for (const lease of picked) lease.reportedAtMs = nowMs;
    return picked.map((lease) => lease.id);
  }

  /**
   * Primary only: remaining TTLs worth replicating (etcd's lease checkpoints), so that a new
   * primary does not restart long leases from their full TTL. Returns [id, remainingSeconds].
   */
  checkpoints(nowMs: number): [number, number][] {
    if (!this.primary) return [];
    const out: [number, number][] = [];
    for (const lease of this.leases.values()) {
      if (lease.expiryMs <= nowMs) continue; // being revoked
      const remaining = Math.ceil((lease.expiryMs - nowMs) / 1000);
      if (remaining < lease.ttlSeconds) out.push([lease.id, remaining]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** This member became leader: give every lease its remaining TTL plus `extendMs` from now. */
  promote(nowMs: number, extendMs: number): void {
    this.primary = true;
    for (const lease of this.leases.values()) {
      lease.expiryMs = nowMs + extendMs + (lease.remainingTtlSeconds || lease.ttlSeconds) * 1000;
      lease.reportedAtMs = -Infinity;
    }
  }

  /** This member lost leadership: deadlines are no longer its business. */
  demote(): void {
    this.primary = false;
    for (const lease of this.leases.values()) lease.expiryMs = Infinity;
  }

  exportState(): LeaseState {
    return this.list().map((id) => {
      const lease = this.leases.get(id)!;
      return [id, lease.ttlSeconds, lease.remainingTtlSeconds];
    });
  }

  /** Restores leases (not primary; keys are re-attached by the caller from the MVCC store). */
  importState(state: LeaseState): void {
    assert(this.leases.size === 0, 'importState into a non-empty lessor');
    for (const [id, ttlSeconds, remainingTtlSeconds] of state) {
      this.leases.set(id, { id, ttlSeconds, remainingTtlSeconds, keys: new Set(), expiryMs: Infinity, reportedAtMs: -Infinity });
    }
  }
}
