import test from 'ava';
import { KubeClient } from '../../src/client/client.js';
import { LeaderElector, leaderElectionProfiles, validateTiming } from '../../src/client/leader-election.js';
import type { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng, type Prng } from '../../src/primitives/prng.js';
import type { FaultyLink } from './faulty-api.js';
import { advance, leaseRef, startServer, type ServerSide } from './helpers.js';

const fast = leaderElectionProfiles.fast;

interface Candidate {
  readonly id: string;
  readonly link: FaultyLink;
  elector: LeaderElector;
  readonly log: string[];
}

interface World {
  readonly clock: VirtualClock;
  readonly api: ServerSide;
  readonly candidates: Candidate[];
  /** Set when a candidate starts leading while another still leads. */
  readonly violations: string[];
  readonly newElector: (c: Candidate) => LeaderElector;
}

async function world(count: number, prng?: Prng): Promise<World> {
  const { clock, server, api } = await startServer(prng === undefined ? {} : { latency: { prng: prng.fork('latency'), minMs: 0, maxMs: 120 } });
  const violations: string[] = [];
  const candidates: Candidate[] = [];
  const newElector = (c: Candidate): LeaderElector => new LeaderElector({
    ...fast, clock, prng: prng?.fork(c.id),
    client: new KubeClient({ transport: c.link, clock, requestTimeoutMs: 2_000, maxReadAttempts: 1 }),
    lease: { namespace: 'kube-system', name: 'kube-controller-manager' }, identity: c.id,
    callbacks: {
      onStartedLeading: () => {
        c.log.push(`start@${clock.now()}`);
        const others = candidates.filter((o) => o !== c && o.elector.isLeader()).map((o) => o.id);
        if (others.length > 0) violations.push(`${c.id} started leading at ${clock.now()} while ${others.join(',')} leads`);
      },
      onStoppedLeading: () => c.log.push(`stop@${clock.now()}`),
      onNewLeader: (id) => c.log.push(`leader=${id}`),
    },
  });
  for (let i = 1; i <= count; i++) {
    const c: Candidate = { id: `cm-${i}`, link: server.connection(), elector: undefined as unknown as LeaderElector, log: [] };
    c.elector = newElector(c);
    candidates.push(c);
  }
  return { clock, api, candidates, violations, newElector };
}

const leaders = (w: World): string[] => w.candidates.filter((c) => c.elector.isLeader()).map((c) => c.id);

test('timing profiles are valid and bad timings are refused', (t) => {
  validateTiming(leaderElectionProfiles.kubernetes);
  validateTiming(fast);
  t.deepEqual(leaderElectionProfiles.kubernetes, { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  t.throws(() => validateTiming({ leaseDurationMs: 1_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 }));
  t.throws(() => validateTiming({ leaseDurationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 900 }));
});

test('one leader among three candidates; everyone learns who it is; the leader keeps renewing', async (t) => {
  const w = await world(3);
  for (const c of w.candidates) c.elector.start();
  await advance(w.clock, 5_000);
  const [leader, ...rest] = leaders(w);
  t.truthy(leader);
  t.deepEqual(rest, []);
  for (const c of w.candidates) t.is(c.elector.getLeader(), leader);
  const lease = (await w.api.stored(leaseRef, 'kube-system', 'kube-controller-manager'))!;
  const spec = lease['spec'] as { holderIdentity: string; leaseDurationSeconds: number; leaseTransitions: number; renewTime: string };
  t.is(spec.holderIdentity, leader!);
  t.is(spec.leaseDurationSeconds, 2);
  t.is(spec.leaseTransitions, 0);
  const rv = lease.metadata?.resourceVersion;
  await advance(w.clock, 1_000);
  t.not((await w.api.stored(leaseRef, 'kube-system', 'kube-controller-manager'))!.metadata?.resourceVersion, rv, 'renewed');
  t.deepEqual(w.violations, []);
});

test('a leader that cannot renew steps down within renewDeadline; another takes over after leaseDuration', async (t) => {
  const w = await world(3);
  for (const c of w.candidates) c.elector.start();
  await advance(w.clock, 3_000);
  const old = w.candidates.find((c) => c.elector.isLeader())!;
  const cutAt = w.clock.now();
  old.link.mode = 'hang';
  await advance(w.clock, fast.renewDeadlineMs);
  t.false(old.elector.isLeader(), 'stepped down by renewDeadline');
  const stoppedAt = Number(old.log.find((l) => l.startsWith('stop@'))!.slice(5));
  t.true(stoppedAt <= cutAt + fast.renewDeadlineMs);
  await advance(w.clock, 2_000);
  const next = w.candidates.find((c) => c.elector.isLeader());
  t.truthy(next);
  t.not(next, old);
  const startedAt = Number(next!.log.find((l) => l.startsWith('start@'))!.slice(6));
  t.true(startedAt - stoppedAt >= fast.leaseDurationMs - fast.renewDeadlineMs, 'takeover waits out the lease');
  const spec = (await w.api.stored(leaseRef, 'kube-system', 'kube-controller-manager'))!['spec'] as { holderIdentity: string; leaseTransitions: number };
  t.is(spec.holderIdentity, next!.id);
  t.is(spec.leaseTransitions, 1);
  old.link.mode = 'up';
  await advance(w.clock, 3_000);
  t.deepEqual(leaders(w), [next!.id], 'the old leader rejoins as a follower');
  t.deepEqual(w.violations, []);
});

test('stop releases the lease so a successor takes over quickly', async (t) => {
  const w = await world(2);
  for (const c of w.candidates) c.elector.start();
  await advance(w.clock, 2_000);
  const old = w.candidates.find((c) => c.elector.isLeader())!;
  const other = w.candidates.find((c) => c !== old)!;
  let stopped = false;
  void old.elector.stop().then(() => { stopped = true; });
  await advance(w.clock, 1);
  t.true(stopped);
  t.false(old.elector.isLeader());
  t.is(((await w.api.stored(leaseRef, 'kube-system', 'kube-controller-manager'))!['spec'] as { holderIdentity: string }).holderIdentity, '');
  await advance(w.clock, fast.retryPeriodMs * 1.2);
  t.true(other.elector.isLeader(), 'no need to wait leaseDuration after a release');
  t.deepEqual(w.violations, []);
});

for (const seed of [1, 2, 3, 4, 5, 6]) {
  test(`never two leaders under a randomized schedule of latency, partitions and restarts (seed ${seed})`, async (t) => {
    const prng = new SeededPrng(seed);
    const w = await world(3, prng);
    const chaos = prng.fork('chaos');
    for (const c of w.candidates) c.elector.start();
    const stopping = new Set<Candidate>();
    let maxConcurrent = 0;
    for (let step = 0; step < 300; step++) {
      await advance(w.clock, chaos.between(20, 400));
      maxConcurrent = Math.max(maxConcurrent, leaders(w).length);
      const c = w.candidates[chaos.int(w.candidates.length)]!;
      const roll = chaos.next();
      if (roll < 0.08) c.link.mode = (['up', 'unreachable', 'hang'] as const)[chaos.int(3)]!;
      else if (roll < 0.11 && !stopping.has(c)) {
        stopping.add(c);
        void c.elector.stop().then(() => {
          c.elector = w.newElector(c);
          c.elector.start();
          stopping.delete(c);
        });
      }
    }
    t.deepEqual(w.violations, []);
    t.true(maxConcurrent <= 1);
    const starts = w.candidates.flatMap((c) => c.log.filter((l) => l.startsWith('start@')));
    t.true(starts.length >= 2, `the schedule moved leadership (${starts.length} terms)`);
    for (const c of w.candidates) c.link.mode = 'up';
    await advance(w.clock, 10_000);
    t.is(leaders(w).length, 1, 'a healed cluster has a leader');
  });
}
