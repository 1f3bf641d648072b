/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package:
 * - candidates try every retryPeriod (jittered) to create the Lease or, once the holder has not
 *   renewed it for leaseDuration of *our own* clock since we last saw it change, to take it over;
 * - the leader renews every retryPeriod and steps down if it has not renewed successfully within
 *   renewDeadline (counted from when the successful renew was *sent*), before anyone else can take
 *   over (leaseDuration > renewDeadline);
 * - every write carries the resourceVersion it read (optimistic concurrency: two candidates
 *   cannot both win, the loser gets 409 Conflict).
 * Expiry is judged by when we observed a change, never by the renewTime written in the Lease,
 * so clock offsets between hosts do not matter (only rates).
 */
import { formatRfc3339Micro, type KubeObject } from '../api/index.js';
import type { Clock, TimerId } from '../primitives/clock.js';
import type { Prng } from '../primitives/prng.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { withDeadline } from './timing.js';
import { sleep } from '../primitives/clock.js';

export interface LeaderElectionTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** DESIGN §4. */
export const leaderElectionProfiles: Readonly<Record<'kubernetes' | 'fast', LeaderElectionTiming>> = {
  kubernetes: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
  fast: { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 },
};

/** client-go's JitterFactor: candidates wait retryPeriod * [1, 1.2). */
export const retryJitterFactor = 1.2;

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
  /** The observed holder changed (also called for ourselves). */
  onNewLeader?(identity: string): void;
}

export interface LeaderElectionOptions extends LeaderElectionTiming {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly prng?: Prng;
  readonly lease: { readonly namespace: string; readonly name: string };
  readonly identity: string;
  readonly callbacks: LeaderCallbacks;
  /** Release the lease on stop() so a successor need not wait leaseDuration (default true). */
  readonly releaseOnStop?: boolean;
  readonly onError?: (error: unknown) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type LeaseObject = KubeObject & { spec?: LeaseSpec };

const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

export function validateTiming(t: LeaderElectionTiming): void {
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) throw new Error('leaseDuration must be greater than renewDeadline');
  if (!(t.renewDeadlineMs > retryJitterFactor * t.retryPeriodMs)) throw new Error('renewDeadline must exceed retryPeriod * 1.2');
  if (!(t.retryPeriodMs > 0)) throw new Error('retryPeriod must be positive');
}

export class LeaderElector {
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private leading = false;
  /** Bumped on every change of leadership, so late replies of an old term are ignored. */
  private term = 0;
  private stepDownTimer: TimerId | undefined;
  private observed: LeaseObject | undefined;
  private observedAtMs = 0;
  private observedHolder: string | undefined;
  private leadingUntil = 0;

  constructor(private readonly options: LeaderElectionOptions) {
    validateTiming(options);
    if (options.identity === '') throw new Error('leader election identity must not be empty');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Until when (clock.now() ms) leadership holds: renewDeadline after the last successful renew
   * was sent. A fence compares against it, not only `isLeader()`, so a late step-down timer
   * (a busy event loop) cannot let a write through. Undefined when not leading.
   */
  leadingUntilMs(): number | undefined {
    return this.leading ? this.leadingUntil : undefined;
  }

  /** The holder as last observed ('' when released). */
  getLeader(): string | undefined {
    return this.observedHolder;
  }

  start(): void {
    if (this.abort !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.running = this.run(abort.signal);
  }

  /** Stops campaigning; a leader steps down first and then (by default) releases the Lease. */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (abort === undefined) return;
    this.abort = undefined;
    abort.abort();
    this.stepDown();
    await this.running;
    // Also after an acquire that succeeded while stopping: the Lease may name us without our leading.
    if (this.options.releaseOnStop ?? true) await this.release();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { clock, prng } = this.options;
    while (!signal.aborted) {
      const sentAtMs = clock.now();
      if (await this.attempt(signal) && !signal.aborted) {
        this.becomeLeader(sentAtMs);
        await this.renewLoop(signal);
        continue;
      }
      const jitter = prng === undefined ? 0 : (retryJitterFactor - 1) * prng.next();
      await sleep(clock, this.options.retryPeriodMs * (1 + jitter), signal);
    }
  }

  private async renewLoop(signal: AbortSignal): Promise<void> {
    const term = this.term;
    while (!signal.aborted && this.leading && this.term === term) {
      await sleep(this.options.clock, this.options.retryPeriodMs, signal);
      if (signal.aborted || this.term !== term) return;
      const sentAtMs = this.options.clock.now();
      const renewed = await this.attempt(signal);
      if (this.term !== term || !this.leading) return;
      if (renewed) this.armStepDown(sentAtMs);
      else if (this.observedHolder !== this.options.identity && this.observedHolder !== undefined) this.stepDown();
    }
  }

  private becomeLeader(sentAtMs: number): void {
    this.leading = true;
    this.term++;
    this.armStepDown(sentAtMs);
    this.call(() => this.options.callbacks.onStartedLeading());
  }

  /** Leadership lapses renewDeadline after the last successful renew was sent. */
  private armStepDown(sentAtMs: number): void {
    const { clock } = this.options;
    if (this.stepDownTimer !== undefined) clock.clearTimer(this.stepDownTimer);
    this.leadingUntil = sentAtMs + this.options.renewDeadlineMs;
    const remaining = this.leadingUntil - clock.now();
    this.stepDownTimer = clock.setTimer(Math.max(0, remaining), () => {
      this.stepDownTimer = undefined;
      this.stepDown();
    });
  }

  private stepDown(): void {
    if (!this.leading) return;
    this.leading = false;
    this.term++;
    if (this.stepDownTimer !== undefined) this.options.clock.clearTimer(this.stepDownTimer);
    this.stepDownTimer = undefined;
    this.call(() => this.options.callbacks.onStoppedLeading());
  }

  /** tryAcquireOrRenew, bounded by renewDeadline; false on any failure. */
  private async attempt(signal: AbortSignal): Promise<boolean> {
    try {
      return await withDeadline(this.options.clock, this.tryAcquireOrRenew(signal), this.options.renewDeadlineMs, 'leader election');
    } catch (error) {
      if (!isConflict(error) && !isAlreadyExists(error)) this.report(error);
      return false;
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, lease, identity } = this.options;
    const now = this.options.clock.now();
    let current: LeaseObject;
    try {
      current = await client.get<LeaseObject>(leaseRef, lease.namespace, lease.name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (signal.aborted) return false;
      const created = await client.create<LeaseObject>(leaseRef, {
        apiVersion: leaseRef.apiVersion, kind: leaseRef.kind, metadata: { name: lease.name, namespace: lease.namespace },
        spec: this.spec(undefined),
      });
      this.observe(created);
      return true;
    }
    this.observe(current);
    const holder = current.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== identity && this.observedAtMs + this.options.leaseDurationMs > now) return false;
    if (signal.aborted) return false;
    const updated = await client.update<LeaseObject>(leaseRef, { ...current, spec: this.spec(current.spec) });
    this.observe(updated);
    return true;
  }

  private spec(old: LeaseSpec | undefined): LeaseSpec {
    const stamp = formatRfc3339Micro(this.options.clock.wallNow());
    const mine = old?.holderIdentity === this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: mine && old?.acquireTime !== undefined ? old.acquireTime : stamp,
      renewTime: stamp,
      leaseTransitions: old === undefined ? 0 : (old.leaseTransitions ?? 0) + (mine ? 0 : 1),
    };
  }

  /** Any write to the Lease (a new resourceVersion) restarts the expiry countdown. */
  private observe(lease: LeaseObject): void {
    const rv = lease.metadata?.resourceVersion;
    if (this.observed !== undefined && this.observed.metadata?.resourceVersion === rv) return;
    this.observed = lease;
    this.observedAtMs = this.options.clock.now();
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder !== '') this.call(() => this.options.callbacks.onNewLeader?.(holder));
    }
  }

  /** Hands the Lease back (holder ''), so candidates need not wait out leaseDuration. */
  private async release(): Promise<void> {
    const last = this.observed;
    if (last === undefined || last.spec?.holderIdentity !== this.options.identity) return;
    const stamp = formatRfc3339Micro(this.options.clock.wallNow());
    const spec: LeaseSpec = { ...last.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: stamp, acquireTime: stamp };
    try {
      const released = await withDeadline(this.options.clock, this.options.client.update<LeaseObject>(leaseRef, { ...last, spec }),
        this.options.renewDeadlineMs, 'release lease');
      this.observe(released);
    } catch (error) {
      this.report(error);
    }
  }

  private call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // Reporting must not break the election loop.
    }
  }
}
