import test from 'ava';
import { statusFailure, type KubeObject } from '../../src/api/index.js';
import { Informer, isTombstone, SharedInformerFactory, type DeletedFinalStateUnknown, type EventHandler } from '../../src/client/informer.js';
import { runController } from '../../src/client/controller.js';
import { WorkQueue } from '../../src/client/workqueue.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import { watches } from './faulty-api.js';
import { advance, flush, pod, podRef, setup } from './helpers.js';

interface Recorded {
  readonly events: string[];
  /** The handler's own view, rebuilt only from events: it must converge to the cache. */
  readonly view: Map<string, KubeObject>;
  readonly handler: EventHandler<KubeObject>;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

function recorder(): Recorded {
  const events: string[] = [];
  const view = new Map<string, KubeObject>();
  return {
    events, view,
    handler: {
      onAdd: (obj, initial) => { events.push(`add:${obj.metadata?.name ?? ''}${initial ? ':initial' : ''}`); view.set(keyOf(obj), obj); },
      onUpdate: (old, obj) => {
        events.push(`${old === obj ? 'resync' : 'update'}:${obj.metadata?.name ?? ''}`);
        view.set(keyOf(obj), obj);
      },
      onDelete: (obj: KubeObject | DeletedFinalStateUnknown<KubeObject>) => {
        if (isTombstone(obj)) {
          events.push(`tombstone:${obj.obj.metadata?.name ?? ''}`);
          view.delete(keyOf(obj.obj));
        } else {
          events.push(`delete:${obj.metadata?.name ?? ''}`);
          view.delete(keyOf(obj));
        }
      },
    },
  };
}

function sameView(rec: Recorded, informer: Informer): boolean {
  const cache = informer.list();
  return cache.length === rec.view.size && cache.every((o) => rec.view.get(keyOf(o)) === o);
}

test('list, sync, then watch events reach handlers in order', async (t) => {
  const { client, server, api } = await setup();
  await api.put(podRef, pod('a'));
  await api.put(podRef, pod('b'));
  const informer = new Informer({ client, resource: podRef });
  const rec = recorder();
  const reg = informer.addEventHandler(rec.handler);
  t.false(informer.hasSynced());
  informer.start();
  t.true(await informer.waitForSync());
  await flush();
  t.true(reg.hasSynced());
  t.deepEqual(rec.events, ['add:a:initial', 'add:b:initial']);

  await api.put(podRef, pod('c'));
  await api.put(podRef, pod('a', { labels: { v: '2' } }));
  await api.remove(podRef, 'default', 'b');
  await flush();
  t.deepEqual(rec.events.slice(2), ['add:c', 'update:a', 'delete:b']);
  t.deepEqual(informer.keys().sort(), ['default/a', 'default/c']);
  t.is(informer.get('default', 'a')?.metadata?.labels?.['v'], '2');
  t.is(informer.lastSyncResourceVersion, api.resourceVersion);
  t.true(sameView(rec, informer));

  server.dropWatches(); // a normal end (server timeout, failover): resumed, not re-listed
  await api.put(podRef, pod('e'));
  await flush();
  t.is(rec.events.at(-1), 'add:e');
  t.is(informer.stats.lists, 1);
  t.is(informer.stats.relistsOnExpired, 0);
  informer.stop();
  t.is(server.openWatches, 0);
});

test('cached objects are deep-frozen', async (t) => {
  const { client, api } = await setup();
  await api.put(podRef, pod('a', { labels: { app: 'x' } }));
  const informer = new Informer({ client, resource: podRef });
  informer.start();
  await informer.waitForSync();
  const cached = informer.get('default', 'a')!;
  t.true(Object.isFrozen(cached));
  t.throws(() => { (cached.metadata!.labels as Record<string, string>)['app'] = 'mutated'; }, { instanceOf: TypeError });
  t.throws(() => { ((cached['spec'] as { containers: Array<{ image: string }> }).containers[0]!).image = 'evil'; }, { instanceOf: TypeError });
  t.is((await api.stored(podRef, 'default', 'a'))?.metadata?.labels?.['app'], 'x');
  informer.stop();
});

test('periodic resync re-delivers the cache as updates, on the injected clock', async (t) => {
  const { client, clock, api } = await setup();
  await api.put(podRef, pod('a'));
  await api.put(podRef, pod('b'));
  const informer = new Informer({ client, resource: podRef, resyncPeriodMs: 1_000 });
  const rec = recorder();
  const fast = recorder();
  informer.addEventHandler(rec.handler);
  informer.addEventHandler(fast.handler, { resyncPeriodMs: 300 });
  informer.start();
  await informer.waitForSync();
  await advance(clock, 999);
  t.deepEqual(rec.events, ['add:a:initial', 'add:b:initial']);
  t.is(fast.events.filter((e) => e.startsWith('resync')).length, 6);
  await advance(clock, 1);
  t.deepEqual(rec.events.slice(2), ['resync:a', 'resync:b']);
  informer.stop();
  await advance(clock, 5_000);
  t.is(rec.events.length, 4, 'no resync after stop');
});

test('410 on re-watch: re-list, and the difference becomes add/update/tombstone events', async (t) => {
  // A two-event watch cache: the re-watch after three writes is served by the store, which compacted them.
  const { client, server, clock, api } = await setup({ watchCacheCapacity: 2 });
  await api.put(podRef, pod('a'));
  await api.put(podRef, pod('b'));
  await api.put(podRef, pod('same'));
  const informer = new Informer({ client, resource: podRef });
  const rec = recorder();
  informer.addEventHandler(rec.handler);
  informer.start();
  await informer.waitForSync();
  await flush();
  const lists = server.requests.filter((r) => !watches(r)).length;

  server.breakWatches();
  // While disconnected: changes the watch will never replay, since history is compacted.
  await api.put(podRef, pod('c'));
  await api.put(podRef, pod('a', { labels: { v: '2' } }));
  await api.remove(podRef, 'default', 'b');
  await api.compact();
  await advance(clock, 60_000);

  t.is(informer.stats.relistsOnExpired, 1);
  t.is(server.requests.filter((r) => !watches(r)).length, lists + 1);
  t.deepEqual(rec.events.slice(3).sort(), ['add:c', 'tombstone:b', 'update:a']);
  t.true(sameView(rec, informer));
  t.is(server.openWatches, 1, 'watching again from the new list');
  await api.put(podRef, pod('d'));
  await flush();
  t.is(rec.events.at(-1), 'add:d');
  informer.stop();
});

test('custom indexers (a label) and the namespace index follow updates', async (t) => {
  const { client, api } = await setup();
  await api.put(podRef, pod('a', { labels: { node: 'n1' } }));
  await api.put(podRef, pod('b', { labels: { node: 'n2' }, namespace: 'kube-system' }));
  const byNode = (o: KubeObject): string[] => {
    const node = o.metadata?.labels?.['node'];
    return node === undefined ? [] : [node];
  };
  const informer = new Informer({ client, resource: podRef, indexers: { byNode } });
  informer.start();
  await informer.waitForSync();
  t.deepEqual(informer.byIndex('byNode', 'n1').map((o) => o.metadata?.name), ['a']);
  t.deepEqual(informer.list('kube-system').map((o) => o.metadata?.name), ['b']);
  await api.put(podRef, pod('a', { labels: { node: 'n2' } }));
  await flush();
  t.deepEqual(informer.byIndex('byNode', 'n1'), []);
  t.deepEqual(informer.byIndex('byNode', 'n2').map((o) => o.metadata?.name).sort(), ['a', 'b']);
  await api.remove(podRef, 'kube-system', 'b');
  await flush();
  t.deepEqual(informer.byIndex('byNode', 'n2').map((o) => o.metadata?.name), ['a']);
  informer.addIndexers({ byName: (o) => [o.metadata?.name ?? ''] });
  t.is(informer.byIndex('byName', 'a').length, 1);
  t.throws(() => informer.byIndex('nope', 'x'));
  informer.stop();
});

test('paged initial list; selectors are passed to list and watch', async (t) => {
  const { client, server, api } = await setup();
  for (let i = 0; i < 5; i++) await api.put(podRef, pod(`p${i}`, { labels: { app: i % 2 === 0 ? 'even' : 'odd' } }));
  const informer = new Informer({ client, resource: podRef, pageSize: 2 });
  informer.start();
  await informer.waitForSync();
  t.is(informer.list().length, 5);
  t.is(server.requests.filter((r) => !watches(r)).length, 3);
  informer.stop();

  const even = new Informer({ client, resource: podRef, labelSelector: 'app=even' });
  even.start();
  await even.waitForSync();
  t.is(even.list().length, 3);
  await api.put(podRef, pod('p9', { labels: { app: 'odd' } }));
  await flush();
  t.is(even.list().length, 3);
  t.is(server.requests.at(-1)!.query['labelSelector'], 'app=even');
  even.stop();
});

test('a handler added after sync gets the cache as initial adds', async (t) => {
  const { client, api } = await setup();
  await api.put(podRef, pod('a'));
  const informer = new Informer({ client, resource: podRef });
  informer.start();
  await informer.waitForSync();
  const rec = recorder();
  const reg = informer.addEventHandler(rec.handler);
  t.false(reg.hasSynced());
  await flush();
  t.true(reg.hasSynced());
  t.deepEqual(rec.events, ['add:a:initial']);
  reg.remove();
  await api.put(podRef, pod('b'));
  await flush();
  t.deepEqual(rec.events, ['add:a:initial']);
  informer.stop();
});

test('bounded handler queue: an overflowing handler catches up to the cache (tombstones for deletes)', async (t) => {
  const { client, server, api } = await setup();
  for (let i = 0; i < 4; i++) await api.put(podRef, pod(`p${i}`));
  const informer = new Informer({ client, resource: podRef, maxPendingNotifications: 3 });
  const rec = recorder();
  informer.addEventHandler(rec.handler);
  informer.start();
  await informer.waitForSync();
  await flush();
  t.true(sameView(rec, informer));
  // Held back by a slow link, the events arrive as one burst: the handler cannot run in between.
  server.holdWatches();
  for (let i = 0; i < 10; i++) await api.put(podRef, pod(`q${i}`));
  await api.remove(podRef, 'default', 'p0');
  await api.put(podRef, pod('p1', { labels: { v: '2' } }));
  server.releaseWatches();
  await flush();
  t.true(sameView(rec, informer));
  t.true(rec.events.includes('tombstone:p0'));
  t.true(rec.events.includes('update:p1'));
  t.is(rec.events.filter((e) => e.startsWith('add:q')).length, 10);
  informer.stop();
});

test('list failures are reported and retried with backoff; a throwing handler does not stop the informer', async (t) => {
  const { client, server, clock, api } = await setup();
  await api.put(podRef, pod('a'));
  server.failNext({ kind: 'status', status: statusFailure(403, 'Forbidden', 'not yet') }, 1);
  const errors: string[] = [];
  const informer = new Informer({ client, resource: podRef, onError: (_e, context) => errors.push(context) });
  informer.addEventHandler({ onAdd: () => { throw new Error('handler bug'); } });
  const rec = recorder();
  informer.addEventHandler(rec.handler);
  informer.start();
  await flush();
  t.false(informer.hasSynced());
  t.deepEqual(errors, ['list/watch']);
  await advance(clock, 800);
  t.true(informer.hasSynced());
  await flush();
  t.deepEqual(errors, ['list/watch', 'event handler (add)']);
  t.deepEqual(rec.events, ['add:a:initial']);
  informer.stop();
});

test('shared informer factory: one informer and one watch per resource and scope', async (t) => {
  const { client, server, api } = await setup();
  await api.put(podRef, pod('a'));
  const factory = new SharedInformerFactory({ client });
  const first = factory.informerFor(podRef);
  const second = factory.informerFor({ apiVersion: 'v1', resource: 'pods' });
  t.is(first, second);
  const recA = recorder();
  const recB = recorder();
  first.addEventHandler(recA.handler);
  second.addEventHandler(recB.handler);
  const scoped = factory.informerFor(podRef, { namespace: 'kube-system' });
  t.not(scoped, first);
  factory.start();
  t.true(await factory.waitForCacheSync());
  t.is(server.watchRequests, 2);
  const late = factory.informerFor({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' });
  t.true(late.isRunning, 'started because the factory is');
  await flush();
  t.is(server.watchRequests, 3);
  await api.put(podRef, pod('b'));
  await flush();
  t.deepEqual(recA.events, recB.events);
  t.deepEqual(recA.events, ['add:a:initial', 'add:b']);
  factory.shutdown();
  t.is(server.openWatches, 0);
});

test('waitForSync resolves false when stopped before syncing', async (t) => {
  const { client, server } = await setup();
  server.failNext({ kind: 'hang' }, 1);
  const informer = new Informer({ client, resource: podRef });
  informer.start();
  const waiting = informer.waitForSync();
  informer.stop();
  t.false(await waiting);
});

test('sample-controller pattern: informer + queue + reconcile converge despite failing writes', async (t) => {
  const { client, server, clock, api } = await setup();
  for (let i = 0; i < 3; i++) await api.put(podRef, pod(`p${i}`));
  const factory = new SharedInformerFactory({ client, defaultResyncPeriodMs: 30_000 });
  const pods = factory.informerFor(podRef);
  const queue = new WorkQueue<string>({ clock });
  const enqueue = (obj: KubeObject): void => { queue.add(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`); };
  pods.addEventHandler({
    onAdd: enqueue, onUpdate: (_old, obj) => enqueue(obj),
    onDelete: (obj) => enqueue(isTombstone(obj) ? obj.obj : obj),
  });
  factory.start();
  t.true(await factory.waitForCacheSync());
  // Every PUT fails twice with 500 before going through: errors must requeue with backoff.
  server.failNext({ kind: 'status', status: statusFailure(500, 'InternalError', 'etcd hiccup') }, 2, (r) => r.method === 'PUT');
  let reconciles = 0;
  const controller = runController({
    queue, workers: 2,
    reconcile: async (key) => {
      reconciles++;
      const [namespace, name] = key.split('/') as [string, string];
      const cached = pods.get(namespace, name);
      if (cached === undefined || cached.metadata?.labels?.['managed'] === 'yes') return 'done';
      // Never mutate the cache: copy, then write.
      await client.update(podRef, { ...cached, metadata: { ...cached.metadata, labels: { ...cached.metadata?.labels, managed: 'yes' } } });
      return 'done';
    },
  });
  await advance(clock, 5_000);
  await api.put(podRef, pod('late'));
  await advance(clock, 5_000);
  t.deepEqual(pods.list().map((p) => p.metadata?.labels?.['managed']), ['yes', 'yes', 'yes', 'yes']);
  t.true(reconciles >= 8 + 2);
  await controller.stop();
  factory.shutdown();
});

for (const seed of [11, 12, 13]) {
  test(`randomized writes and watch faults: cache and handler view converge to the server (seed ${seed})`, async (t) => {
    const prng = new SeededPrng(seed);
    const { client, server, clock, api } = await setup({ watchCacheCapacity: 20 });
    const informer = new Informer({ client, resource: podRef, pageSize: 3, maxPendingNotifications: 8 });
    const rec = recorder();
    informer.addEventHandler(rec.handler);
    informer.start();
    for (let step = 0; step < 200; step++) {
      const name = `p${prng.int(12)}`;
      const roll = prng.next();
      if (roll < 0.35) await api.put(podRef, pod(name, { labels: { v: String(step) } }));
      else if (roll < 0.55) { if (await api.stored(podRef, 'default', name) !== undefined) await api.remove(podRef, 'default', name); }
      else if (roll < 0.62) server.dropWatches();
      else if (roll < 0.69) server.breakWatches();
      else if (roll < 0.76) await api.compact();
      else if (roll < 0.80) server.sendWatchError(statusFailure(410, 'Expired', 'too old resource version'));
      else if (roll < 0.85) server.failNext({ kind: 'status', status: statusFailure(500, 'InternalError', 'x') }, 1 + prng.int(3));
      if (prng.next() < 0.3) await advance(clock, prng.int(2_000));
    }
    server.clearFaults();
    await advance(clock, 120_000);
    const truth = (await api.storedAll(podRef)).map((p) => `${p.metadata?.name ?? ''}@${p.metadata?.resourceVersion ?? ''}`).sort();
    const cached = informer.list().map((p) => `${p.metadata?.name ?? ''}@${p.metadata?.resourceVersion ?? ''}`).sort();
    t.deepEqual(cached, truth);
    t.true(sameView(rec, informer));
    t.true(informer.stats.relistsOnExpired > 0, 'the schedule exercised re-lists');
    informer.stop();
  });
}
