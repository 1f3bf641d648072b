import test from 'ava';
import { EtcdCluster } from '../../src/cluster/etcd-cluster.js';
import type { SimulatedSystem } from '../../src/runtime/simulated.js';

const text = (value: string) => new TextEncoder().encode(value);
const read = (value: Uint8Array | undefined) => (value ? new TextDecoder().decode(value) : undefined);

async function simCluster(seed = 1) {
  const cluster = await EtcdCluster.start({ placement: 'simulated', seed });
  const sim = cluster.system as SimulatedSystem;
  await sim.advance(2_000);
  return { cluster, sim };
}

test('a simulated 3-member cluster elects one leader, replicates writes, and serves linearizable reads from any member', async (t) => {
  const { cluster, sim } = await simCluster();
  t.teardown(() => cluster.stop());
  const statuses = await sim.drive(cluster.statuses());
  t.is(statuses.filter((s) => s.role === 'leader').length, 1);
  const client = cluster.client();
  const put = await sim.drive(client.put({ key: '/registry/pods/default/a', value: text('one') }));
  t.true(put.ok, JSON.stringify(put));
  for (const member of cluster.members) {
    const pinned = cluster.client({ members: [member] });
    const got = await sim.drive(pinned.range({ key: '/registry/pods/default/a' }));
    t.true(got.ok);
    if (got.ok) t.is(read(got.value.kvs[0]?.value), 'one', member);
  }
  const txn = await sim.drive(client.txn({ compare: [{ key: '/registry/pods/default/a', target: 'value', result: '=', operand: text('one') }], success: [{ type: 'put', request: { key: '/registry/pods/default/a', value: text('two') } }], failure: [] }));
  t.true(txn.ok && txn.value.succeeded);
});

test('killing the leader: a new one is elected and acknowledged writes survive', async (t) => {
  const { cluster, sim } = await simCluster(2);
  t.teardown(() => cluster.stop());
  const client = cluster.client();
  for (let i = 0; i < 20; i++) t.true((await sim.drive(client.put({ key: `/k/${i}`, value: text(String(i)) }))).ok);
  const leader = (await sim.drive(cluster.leader()))!;
  t.truthy(leader);
  await sim.killHost(cluster.hostOf(leader));
  const began = sim.clock.now();
  const after = await sim.drive(client.put({ key: '/k/after', value: text('x') }));
  t.true(after.ok, JSON.stringify(after));
  t.log(`first acknowledged write ${Math.round(sim.clock.now() - began)} ms after the leader died`);
  const all = await sim.drive(client.range({ key: '/k/', prefix: true }));
  t.true(all.ok);
  if (all.ok) t.is(all.value.count, 21);
  const newLeader = await sim.drive(cluster.leader());
  t.not(newLeader, leader);
  await sim.restartHost(cluster.hostOf(leader));
  await sim.advance(2_000);
  const rejoined = cluster.client({ members: [leader] });
  const got = await sim.drive(rejoined.range({ key: '/k/', prefix: true }));
  t.true(got.ok && got.value.count === 21, 'the restarted member caught up from its WAL and the leader');
});

test('a watch delivers every change in order, resumes on another member after its member dies, never goes back in time', async (t) => {
  const { cluster, sim } = await simCluster(3);
  t.teardown(() => cluster.stop());
  const client = cluster.client();
  const seen: number[] = [];
  const watchClient = cluster.client({ members: ['master-3/etcd', 'master-1/etcd', 'master-2/etcd'], watchIdleMs: 600 });
  const subscription = watchClient.watch({ key: '/w/', prefix: true, startRevision: 1 }).subscribe((update) => {
    if (update.kind === 'events') for (const event of update.events) seen.push(event.kv.modRevision);
  });
  t.teardown(() => subscription.unsubscribe());
  for (let i = 0; i < 10; i++) await sim.drive(client.put({ key: `/w/${i % 3}`, value: text(String(i)) }));
  await sim.advance(200);
  t.is(seen.length, 10);
  await sim.killHost('master-3');
  for (let i = 10; i < 20; i++) await sim.drive(client.put({ key: `/w/${i % 3}`, value: text(String(i)) }));
  await sim.advance(3_000);
  t.is(seen.length, 20);
  t.deepEqual(seen, [...seen].sort((a, b) => a - b));
  t.is(new Set(seen).size, 20);
});

test('a killed leader is replaced within a few ticks (its reset tells the members); without trusting resets, after an election timeout', async (t) => {
  const firstAckMs = async (forgetDeadLeader: boolean, seed: number): Promise<number> => {
    const cluster = await EtcdCluster.start({ placement: 'simulated', seed, forgetDeadLeader });
    try {
      const sim = cluster.system as SimulatedSystem;
      await sim.advance(2_000);
      const client = cluster.client();
      t.true((await sim.drive(client.put({ key: '/k/before', value: text('x') }))).ok);
      const leader = (await sim.drive(cluster.leader()))!;
      await sim.killHost(cluster.hostOf(leader));
      const began = sim.clock.now();
      const after = await sim.drive(client.put({ key: '/k/after', value: text('y') }));
      t.true(after.ok, JSON.stringify(after));
      return sim.clock.now() - began;
    } finally {
      await cluster.stop();
    }
  };
  for (const seed of [1, 2, 3, 4, 5]) {
    const withResets = await firstAckMs(true, seed);
    const timeoutsOnly = await firstAckMs(false, seed);
    t.log(`seed ${seed}: first write acknowledged ${withResets.toFixed(1)} ms after the kill (timeouts only: ${timeoutsOnly.toFixed(1)} ms)`);
    // fast profile: 10 ms ticks, members 2 ticks apart; the election timeout is 300-600 ms.
    t.true(withResets < 100, `seed ${seed}: ${withResets} ms`);
    t.true(timeoutsOnly >= 300, `seed ${seed}: ${timeoutsOnly} ms`);
  }
});

test('a conf change sent to a follower is refused with notLeader and does not happen', async (t) => {
  const { cluster, sim } = await simCluster(3);
  t.teardown(() => cluster.stop());
  const leader = (await sim.drive(cluster.leader()))!;
  const follower = cluster.members.find((m) => m !== leader)!;
  const reply = await sim.drive(sim.ask<{ type: string }>(follower, { type: 'confChange', change: { type: 'addLearner', nodeId: 'master-9/etcd~1' } }));
  t.is(reply.type, 'notLeader');
  await sim.advance(1_000);
  const status = await sim.drive(cluster.status(leader));
  t.deepEqual(status?.learners, [], 'the follower did not forward it');
});

test('a watch that moved away and back to a member never takes the stale watcher it left there for its own (no gap)', async (t) => {
  // The client's cancel to its first member is lost in a cut, so that member keeps a watcher with
  // the client's watch id and keeps sending into the void. When the client cycles back to it, the
  // stale watcher's messages must not pass for the new one's: they would move the resume point
  // past changes the client never received.
  const { cluster, sim } = await simCluster(5);
  t.teardown(() => cluster.stop());
  const writer = cluster.client();
  const me = sim.clientAddress.split('/')[0]!;
  const [m1, m2, m3] = ['master-1', 'master-2', 'master-3'];
  const seen: number[] = [];
  const watchClient = cluster.client({ members: [`${m1}/etcd`, `${m2}/etcd`, `${m3}/etcd`], watchIdleMs: 600 });
  const subscription = watchClient.watch({ key: '/g/', prefix: true, startRevision: 1 }).subscribe((update) => {
    if (update.kind === 'events') for (const event of update.events) seen.push(event.kv.modRevision);
  });
  t.teardown(() => subscription.unsubscribe());
  let written = 0;
  const writeFor = async (ms: number) => {
    const end = sim.clock.now() + ms;
    while (sim.clock.now() < end) {
      const put = await sim.drive(writer.put({ key: `/g/${written % 5}`, value: text(String(written)) }));
      if (put.ok) written++;
      await sim.advance(20);
    }
  };
  await writeFor(300);
  const cutOff = async (host: string) => [
    await sim.network.inject({ kind: 'cut', from: [host], to: [me] }),
    await sim.network.inject({ kind: 'cut', from: [me], to: [host] }),
  ];
  const heal = async (ids: number[]) => { for (const id of ids) await sim.network.heal(id); };
  const first = await cutOff(m1);
  await writeFor(1_500); // the client gives up on m1 (its cancel is lost) and resumes on m2
  const second = [...await cutOff(m2), ...await cutOff(m3)];
  // Latency on m1's link: what its stale watcher sent just before the client returned arrives after.
  await sim.network.inject({ kind: 'delay', link: { from: [m1], to: [me] }, delay: { dist: 'fixed', ms: 100 } });
  await heal(first); // m1's stale watcher reaches the client again, which now idles towards m1
  await writeFor(3_000);
  await heal(second);
  await writeFor(500);
  await sim.advance(2_000);
  const revisions = [...new Set(seen)];
  t.deepEqual(seen, revisions, 'no revision delivered twice');
  t.is(revisions.length, written, `every write seen once (missing ${written - revisions.length})`);
});

test('a watch through a link that loses updates notices each loss by its sequence number and re-watches: every change arrives once, in order', async (t) => {
  const { cluster, sim } = await simCluster(6);
  t.teardown(() => cluster.stop());
  const writer = cluster.client();
  const watchClient = cluster.client({ watchIdleMs: 600 });
  const seen: number[] = [];
  const subscription = watchClient.watch({ key: '/l/', prefix: true, startRevision: 1 }).subscribe((update) => {
    if (update.kind === 'events') for (const event of update.events) seen.push(event.kv.modRevision);
  });
  t.teardown(() => subscription.unsubscribe());
  await sim.network.inject({ kind: 'drop', link: { types: ['watchUpdate'] }, probability: 0.3 });
  let written = 0;
  for (let i = 0; i < 60; i++) {
    if ((await sim.drive(writer.put({ key: `/l/${i % 4}`, value: text(String(i)) }))).ok) written++;
    await sim.advance(15);
  }
  await sim.advance(3_000);
  t.true(watchClient.lostWatchUpdates > 0, 'the fault did lose updates');
  t.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b), 'in order, none twice');
  t.is(seen.length, written);
});
