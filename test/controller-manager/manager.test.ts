/**
 * The controller-manager engine over the real ApiServerCore (LocalKv, virtual time): controllers
 * converge a Deployment; with leader election exactly one instance acts; a partitioned leader
 * stops writing by its renewDeadline, before a successor can take the Lease (DESIGN §7).
 */
import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { ApiServerCore } from '../../src/apiserver/core.js';
import type { ApiRequest, ApiResponse, ApiTransport, ApiWatchResult } from '../../src/client/api-transport.js';
import { KubeClient } from '../../src/client/client.js';
import { TransportError } from '../../src/client/errors.js';
import { leaderElectionProfiles } from '../../src/client/leader-election.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { builtInControllers } from '../../src/controllers/index.js';
import { controllerManagerLease } from '../../src/controllers/messages.js';
import { sleep, VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { ControllerManager } from '../../actors/controller-manager/manager.js';
import { advance } from '../client/virtual-time.js';

const fast = leaderElectionProfiles.fast;
const pods = { apiVersion: 'v1', kind: 'Pod' } as const;
const deployments = { apiVersion: 'apps/v1', kind: 'Deployment' } as const;

/** One instance's connection to the apiserver: can be cut (every call refused), and logs the writes that got through. */
class Link implements ApiTransport {
  cut = false;
  /** Only the Lease is unreachable: without a fence the old leader would go on writing everything else. */
  cutLease = false;
  /** Each call takes this long (virtual ms) before it reaches the apiserver: reconciles then span the deadline. */
  latencyMs = 0;
  constructor(private readonly core: ApiServerCore, private readonly clock: VirtualClock, private readonly who: string, private readonly audit: Array<{ who: string; sentMs: number; atMs: number; what: string }>) {}

  async request(request: ApiRequest): Promise<ApiResponse> {
    if (this.cut || (this.cutLease && request.path.includes('/leases'))) throw new TransportError('unreachable', `${this.who}: link cut`);
    const sentMs = this.clock.wallNow();
    if (this.latencyMs > 0) await sleep(this.clock, this.latencyMs);
    if (request.method !== 'GET' && !request.path.includes('/leases')) this.audit.push({ who: this.who, sentMs, atMs: this.clock.wallNow(), what: `${request.method} ${request.path}` });
    return this.core.request(request);
  }

  async watch(request: ApiRequest): Promise<ApiWatchResult> {
    if (this.cut) throw new TransportError('unreachable', `${this.who}: link cut`);
    return this.core.watch(request);
  }
}

async function world() {
  const clock = new VirtualClock();
  const kv = new LocalKv({ clock });
  const core = new ApiServerCore({ kv, clock, prng: new SeededPrng(3) });
  await core.start();
  const admin = new KubeClient({ transport: core, clock });
  const audit: Array<{ who: string; sentMs: number; atMs: number; what: string }> = [];
  const instance = (who: string, elect: boolean) => {
    const link = new Link(core, clock, who, audit);
    const manager = new ControllerManager({
      client: new KubeClient({ transport: link, clock, requestTimeoutMs: 1_000, maxReadAttempts: 1 }), clock, prng: new SeededPrng(who.length),
      identity: who, controllers: builtInControllers().all(),
      ...(elect ? { election: { ...fast, lease: controllerManagerLease } } : {}),
    });
    return { who, link, manager };
  };
  return { clock, core, kv, admin, audit, instance, close: () => { core.stop(); kv.close(); } };
}

const deployment = (replicas: number): KubeObject => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.14.2' }] } } },
});

test('an active controller-manager turns a Deployment into a ReplicaSet and its pods, and records Events', async (t) => {
  const w = await world();
  const { manager } = w.instance('cm-1', false);
  manager.start();
  await w.admin.create(deployments, deployment(3), { namespace: 'default' });
  await advance(w.clock, 2_000, 10);
  const rs = await w.admin.list({ apiVersion: 'apps/v1', kind: 'ReplicaSet' }, { namespace: 'default' });
  t.is(rs.items.length, 1);
  t.is((await w.admin.list(pods, { namespace: 'default' })).items.length, 3);
  const events = await w.admin.list({ apiVersion: 'v1', kind: 'Event' }, { namespace: 'default' });
  t.true(events.items.some((e) => e['reason'] === 'ScalingReplicaSet'), JSON.stringify(events.items.map((e) => e['reason'])));
  t.true(events.items.some((e) => e['reason'] === 'SuccessfulCreate'));
  t.true(manager.active);
  t.is(manager.activeIntervals().intervals.length, 1);
  await manager.stop();
  t.false(manager.active);
  t.is(typeof manager.activeIntervals().intervals[0]!.endMs, 'number');
  w.close();
});

test('with leader election one of three instances acts; the others keep warm caches and take over when it stops', async (t) => {
  const w = await world();
  const all = ['master-1', 'master-2', 'master-3'].map((m) => w.instance(`${m}/controller-manager`, true));
  for (const i of all) i.manager.start();
  await advance(w.clock, 1_000, 10);
  const active = all.filter((i) => i.manager.active);
  t.is(active.length, 1);
  await w.admin.create(deployments, deployment(2), { namespace: 'default' });
  await advance(w.clock, 1_000, 10);
  t.is((await w.admin.list(pods, { namespace: 'default' })).items.length, 2);
  t.true(w.audit.every((a) => a.who === active[0]!.who), 'only the leader wrote');

  await active[0]!.manager.stop();
  await advance(w.clock, 1_000, 10);
  const next = all.filter((i) => i.manager.active);
  t.is(next.length, 1);
  t.not(next[0]!.who, active[0]!.who);
  // The successor starts from its warm cache: a scale is acted on at once.
  await w.admin.patch(deployments, 'default', 'web', { spec: { replicas: 4 } }, { type: 'merge' });
  await advance(w.clock, 1_000, 10);
  t.is((await w.admin.list(pods, { namespace: 'default' })).items.length, 4);
  for (const i of all) await i.manager.stop();
  w.close();
});

test('fencing: a leader that cannot renew sends no write after renewDeadline, although its other calls would get through', async (t) => {
  const w = await world();
  const a = w.instance('cm-a', true);
  a.manager.start();
  await advance(w.clock, 500, 10);
  t.true(a.manager.active);
  const b = w.instance('cm-b', true);
  b.manager.start();
  await w.admin.create(deployments, deployment(2), { namespace: 'default' });
  await advance(w.clock, 500, 10);
  const cutAt = w.clock.wallNow();
  a.link.cutLease = true;
  a.link.latencyMs = 150;
  // Work arrives (a's watches still deliver it) while a cannot renew: a slow-start batch of creates spans the deadline.
  await w.admin.patch(deployments, 'default', 'web', { spec: { replicas: 40 } }, { type: 'merge' });
  await advance(w.clock, 4_000, 10);
  t.false(a.manager.active);
  t.true(b.manager.active);
  const aEnd = a.manager.activeIntervals().intervals[0]!.endMs!;
  const bStart = b.manager.activeIntervals().intervals[0]!.startMs;
  t.true(aEnd <= cutAt + fast.renewDeadlineMs, `a stepped down ${aEnd - cutAt} ms after the cut`);
  t.true(aEnd < bStart, 'the intervals do not overlap');
  const aWrites = w.audit.filter((x) => x.who === 'cm-a');
  t.true(aWrites.some((x) => x.atMs > cutAt), 'a went on acting after the cut, until its deadline');
  t.true(aWrites.every((x) => x.sentMs < aEnd), `a sent a write after its term ended: ${JSON.stringify(aWrites.filter((x) => x.sentMs >= aEnd))}`);
  // What a sent in time reaches the apiserver before b starts: leaseDuration - renewDeadline covers the latency.
  t.true(aWrites.every((x) => x.atMs < bStart));
  t.true(w.audit.filter((x) => x.who === 'cm-b').every((x) => x.atMs >= bStart));
  t.true(a.manager.actionCounts().fenced > 0, 'calls were refused by the fence');
  await advance(w.clock, 3_000, 10);
  t.is((await w.admin.list(pods, { namespace: 'default' })).items.length, 40, 'the successor converged');
  a.link.cutLease = false;
  await advance(w.clock, 2_000, 10);
  t.false(a.manager.active, 'the old leader rejoins as a standby');
  // Stopping finishes in-flight calls, which take virtual time.
  const stopping = Promise.all([a.manager.stop(), b.manager.stop()]);
  await advance(w.clock, 2_000, 10);
  await stopping;
  w.close();
});
