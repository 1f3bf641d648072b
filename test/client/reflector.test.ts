/**
 * The Reflector alone, against a scripted source under a VirtualClock: every list answer and every
 * watch stream is the test's to give, so resume points, re-lists, backoff delays and stops are
 * asserted exactly.
 */
import test from 'ava';
import { Subject } from 'rxjs';
import { expired, type KubeObject } from '../../src/api/index.js';
import { Reflector, type ListResult, type ReflectorEnd, type ReflectorEvent, type ReflectorOptions, type ReflectorSignal } from '../../src/client/reflector.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { advance, flush } from './virtual-time.js';

interface Watch {
  readonly resourceVersion: string | undefined;
  readonly atMs: number;
  readonly stream: Subject<ReflectorSignal<KubeObject>>;
}

/** A source whose lists answer from a script (an Error fails that attempt) and whose watches are Subjects. */
class Scripted {
  readonly lists: number[] = [];
  readonly watches: Watch[] = [];
  readonly seen: string[] = [];
  readonly errors: Array<{ phase: 'list' | 'watch'; retryInMs: number; atMs: number }> = [];
  readonly ends: ReflectorEnd[] = [];
  readonly expiries: number[] = [];
  script: Array<ListResult<KubeObject> | Error> = [];
  /** When set, the next list waits for this to be resolved. */
  hold: Promise<void> | undefined;

  constructor(readonly clock: VirtualClock) {}

  get last(): Watch {
    const w = this.watches.at(-1);
    if (w === undefined) throw new Error('no watch yet');
    return w;
  }

  options(extra: Partial<ReflectorOptions<KubeObject>> = {}): ReflectorOptions<KubeObject> {
    return {
      list: async () => {
        this.lists.push(this.clock.now());
        if (this.hold !== undefined) await this.hold;
        const next = this.script.shift() ?? { items: [], resourceVersion: '1' };
        if (next instanceof Error) throw next;
        return next;
      },
      watch: (resourceVersion) => {
        const stream = new Subject<ReflectorSignal<KubeObject>>();
        this.watches.push({ resourceVersion, atMs: this.clock.now(), stream });
        return stream;
      },
      clock: this.clock,
      backoff: { initialMs: 100, maxMs: 800 },
      backoffResetMs: 10_000,
      handler: {
        list: (items, rv) => this.seen.push(`list@${rv}:${items.map((o) => o.metadata?.name ?? '').join(',')}`),
        event: (e) => this.seen.push(describe(e)),
        error: (_e, phase, retryInMs) => this.errors.push({ phase, retryInMs, atMs: this.clock.now() }),
        ended: (end) => this.ends.push(end),
        expired: () => this.expiries.push(this.clock.now()),
      },
      ...extra,
    };
  }
}

function describe(e: ReflectorEvent<KubeObject>): string {
  return e.type === 'BOOKMARK' ? `BOOKMARK@${e.resourceVersion}` : `${e.type} ${e.object.metadata?.name ?? ''}@${e.resourceVersion}`;
}

const obj = (name: string, rv: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: rv } });
const added = (name: string, rv: string): ReflectorSignal<KubeObject> => ({ type: 'ADDED', object: obj(name, rv), resourceVersion: rv });
const gone = (rv: string): ReflectorSignal<KubeObject> => ({ type: 'EXPIRED', status: expired(rv, '100') });

function setup(extra: Partial<ReflectorOptions<KubeObject>> = {}): { clock: VirtualClock; src: Scripted; reflector: Reflector<KubeObject> } {
  const clock = new VirtualClock();
  const src = new Scripted(clock);
  const reflector = new Reflector<KubeObject>(src.options(extra));
  return { clock, src, reflector };
}

test('lists, then watches from the list; a dropped watch resumes from the last event without a re-list', async (t) => {
  const { src, reflector } = setup();
  src.script = [{ items: [obj('a', '4')], resourceVersion: '5' }];
  reflector.start();
  await flush();
  t.is(reflector.state, 'watching');
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5']);
  src.last.stream.next(added('b', '6'));
  src.last.stream.next({ type: 'MODIFIED', object: obj('a', '7'), resourceVersion: '7' });
  src.last.stream.complete(); // a normal end (server timeout, failover)
  await flush();
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '7'], 'resumed at once from the last event');
  src.last.stream.error(new Error('connection reset'));
  await flush();
  t.is(reflector.state, 'waiting');
  t.deepEqual(src.errors.map((e) => [e.phase, e.retryInMs]), [['watch', 100]], 'a failure that made progress waits the initial step');
  await advance(src.clock, 100);
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '7', '7']);
  t.deepEqual(src.lists, [0], 'never re-listed');
  t.deepEqual(src.seen, ['list@5:a', 'ADDED b@6', 'MODIFIED a@7']);
  t.is(reflector.lastSyncResourceVersion, '7');
  t.deepEqual(reflector.stats, { lists: 1, watches: 3, relists: 0 });
  reflector.stop();
});

test('410 (EXPIRED) re-lists and watches from the new list; a watch-only reflector ends with expired instead', async (t) => {
  const { src, reflector, clock } = setup();
  src.script = [{ items: [obj('a', '4')], resourceVersion: '5' }, { items: [obj('b', '20')], resourceVersion: '21' }];
  reflector.start();
  await flush();
  src.last.stream.next(added('c', '6'));
  src.last.stream.next(gone('6'));
  await flush();
  t.deepEqual(src.lists, [0, 0], 'a watch past its list that expires re-lists at once');
  t.deepEqual(src.expiries, [0]);
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '21']);
  t.deepEqual(src.seen, ['list@5:a', 'ADDED c@6', 'list@21:b']);
  t.is(reflector.stats.relists, 1);
  // Refused straight from a fresh list: waits a step, never a list/410 hot loop.
  src.last.stream.next(gone('21'));
  await flush();
  t.deepEqual(src.lists, [0, 0]);
  await advance(clock, 100);
  t.deepEqual(src.lists, [0, 0, 100]);
  reflector.stop();

  const only = setup({ list: undefined, resourceVersion: '9' });
  only.reflector.start();
  await flush();
  t.deepEqual(only.src.watches.map((w) => w.resourceVersion), ['9']);
  only.src.last.stream.next(gone('9'));
  await flush();
  t.deepEqual(only.src.ends.map((e) => e.kind), ['expired']);
  t.is(only.reflector.state, 'stopped');
  t.deepEqual(only.src.lists, []);
  await advance(only.clock, 10_000);
  t.is(only.src.watches.length, 1, 'nothing after the end');
});

test('bookmarks advance the resume point', async (t) => {
  const { src, reflector, clock } = setup();
  src.script = [{ items: [], resourceVersion: '5' }];
  reflector.start();
  await flush();
  src.last.stream.next(added('a', '6'));
  src.last.stream.next({ type: 'BOOKMARK', resourceVersion: '40' });
  t.is(reflector.lastSyncResourceVersion, '40');
  src.last.stream.error(new Error('broken'));
  await advance(clock, 100);
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '40']);
  // A bookmark alone is progress too: the stream that carried only one resumes at once.
  src.last.stream.next({ type: 'BOOKMARK', resourceVersion: '41' });
  src.last.stream.complete();
  await flush();
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '40', '41']);
  t.deepEqual(src.seen, ['list@5:', 'ADDED a@6', 'BOOKMARK@40', 'BOOKMARK@41']);
  reflector.stop();
});

test('backoff between failures doubles up to its cap, and starts over after progress or a healthy watch', async (t) => {
  const { src, reflector, clock } = setup();
  src.script = [new Error('a'), new Error('b'), new Error('c'), new Error('d'), new Error('e'), { items: [], resourceVersion: '5' }];
  reflector.start();
  await advance(clock, 10_000);
  t.deepEqual(src.lists, [0, 100, 300, 700, 1500, 2300], 'waits 100, 200, 400, 800, then the 800 ms cap');
  t.deepEqual(src.errors.map((e) => e.retryInMs), [100, 200, 400, 800, 800]);
  t.is(reflector.state, 'watching');

  // Streams that keep ending empty are re-opened with growing delays, never in a hot loop.
  const t0 = clock.now();
  const opened = (): number[] => src.watches.slice(1).map((w) => w.atMs - t0);
  for (let i = 0; i < 3; i++) {
    src.last.stream.complete();
    await advance(clock, 800);
  }
  t.deepEqual(opened(), [800, 1600, 2400], 'still at the cap: no success reset it');

  // An event is progress: the next failure waits the initial step.
  src.last.stream.next(added('a', '6'));
  src.last.stream.error(new Error('reset'));
  await flush();
  t.is(src.errors.at(-1)!.retryInMs, 100);
  await advance(clock, 100);
  // A watch that stayed open past backoffResetMs was healthy, even without events: its end resumes
  // at once, and the next failure waits the initial step again (it would have been 200 ms).
  const before = src.watches.length;
  await advance(clock, 10_000);
  src.last.stream.complete();
  await flush();
  t.is(src.watches.length, before + 1);
  src.last.stream.error(new Error('flapping'));
  await flush();
  t.is(src.errors.at(-1)!.retryInMs, 100);
  reflector.stop();
});

test('stop: during a wait, a watch or a list, nothing is delivered after and no timer is left', async (t) => {
  const waiting = setup();
  waiting.src.script = [new Error('down')];
  waiting.reflector.start();
  await flush();
  t.is(waiting.reflector.state, 'waiting');
  waiting.reflector.stop();
  t.is(waiting.clock.pendingTimers(), 0, 'the backoff timer is cancelled');
  await advance(waiting.clock, 10_000);
  t.deepEqual(waiting.src.lists, [0]);

  const watching = setup();
  watching.reflector.start();
  await flush();
  const stream = watching.src.last.stream;
  t.true(stream.observed);
  watching.reflector.stop();
  t.false(stream.observed, 'the open watch is unsubscribed');
  t.is(watching.reflector.state, 'stopped');
  stream.next(added('late', '9'));
  await advance(watching.clock, 10_000);
  t.deepEqual(watching.src.seen, ['list@1:']);
  t.is(watching.src.watches.length, 1);

  const listing = setup();
  let release = (): void => undefined;
  listing.src.hold = new Promise((resolve) => { release = resolve; });
  listing.src.script = [{ items: [obj('a', '2')], resourceVersion: '3' }];
  listing.reflector.start();
  await flush();
  t.is(listing.reflector.state, 'listing');
  listing.reflector.stop();
  release();
  await advance(listing.clock, 10_000);
  t.deepEqual(listing.src.seen, [], 'a list answered after stop is dropped');
  t.is(listing.src.watches.length, 0);
  t.deepEqual(listing.src.ends, [], 'stop is not an end');

  // Stopping from inside the handler (an unsubscribe in next) ends delivery there.
  const inside = setup();
  inside.reflector = new Reflector<KubeObject>({
    ...inside.src.options(),
    handler: { event: (e) => { inside.src.seen.push(describe(e)); inside.reflector.stop(); } },
  });
  inside.reflector.start();
  await flush();
  inside.src.last.stream.next(added('a', '2'));
  inside.src.last.stream.next(added('b', '3'));
  await advance(inside.clock, 10_000);
  t.deepEqual(inside.src.seen, ['ADDED a@2']);
  t.is(inside.src.watches.length, 1);
});

test('fatal errors end the reflector; a throwing handler does not move the resume point past its event', async (t) => {
  const fatal = setup({ isFatal: (e) => e instanceof Error && e.message === 'forbidden' });
  fatal.src.script = [new Error('forbidden')];
  fatal.reflector.start();
  await flush();
  t.deepEqual(fatal.src.ends.map((e) => e.kind), ['failed']);
  t.is(fatal.reflector.state, 'stopped');
  await advance(fatal.clock, 10_000);
  t.deepEqual(fatal.src.lists, [0]);

  const { src, reflector, clock } = setup();
  let fail = true;
  const base = src.options();
  const flaky = new Reflector<KubeObject>({
    ...base,
    handler: {
      ...base.handler,
      event: (e) => {
        if (fail) {
          fail = false;
          throw new Error('handler bug');
        }
        base.handler.event(e);
      },
    },
  });
  src.script = [{ items: [], resourceVersion: '5' }];
  flaky.start();
  await flush();
  src.last.stream.next(added('a', '6'));
  await flush();
  t.deepEqual(src.errors.map((e) => e.phase), ['watch']);
  await advance(clock, 100);
  t.deepEqual(src.watches.map((w) => w.resourceVersion), ['5', '5'], 're-watched from before the event it could not take');
  src.last.stream.next(added('a', '6'));
  t.deepEqual(src.seen, ['list@5:', 'ADDED a@6']);
  flaky.stop();
  reflector.stop();
});
