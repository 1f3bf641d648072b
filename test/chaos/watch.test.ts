import test from 'ava';
import { SeededPrng } from '../../src/primitives/prng.js';
import { checkWatchGuarantees, type StoreEvent, type StoreLog, type WatchFilter, type WatchGuarantee, type WatchItem, type WatchSession, type WatchVerdict } from '../../src/chaos/check/watch.js';

const logEvents: StoreEvent[] = [
  { revision: 2, key: 'a', type: 'put', value: 1 },
  { revision: 3, key: 'b', type: 'put', value: 1 },
  { revision: 3, key: 'c', type: 'put', value: 1 },
  { revision: 4, key: 'a', type: 'delete' },
  { revision: 5, key: 'a', type: 'put', value: 2 },
  { revision: 6, key: 'b', type: 'put', value: 2 },
];
const log: StoreLog = { events: logEvents };

function ev(revision: number, key: string, response?: number): WatchItem {
  const logged = logEvents.find((e) => e.revision === revision && e.key === key);
  return { kind: 'event', revision, key, type: logged?.type ?? 'put', ...(logged?.value === undefined ? {} : { value: logged.value }), ...(response === undefined ? {} : { response }) };
}

const all = (...ids: [number, string][]): WatchItem[] => ids.map(([r, k]) => ev(r, k));
const everything: [number, string][] = [[2, 'a'], [3, 'b'], [3, 'c'], [4, 'a'], [5, 'a'], [6, 'b']];

function check(sessions: WatchSession[], filter: WatchFilter = { kind: 'all' }, storeLog: StoreLog = log): WatchVerdict {
  return checkWatchGuarantees([{ watcher: 'w1', filter, sessions }], storeLog);
}

function guarantees(v: WatchVerdict): WatchGuarantee[] {
  return v.violations.map((x) => x.guarantee);
}

test('a complete, ordered delivery passes', (t) => {
  const v = check([{ startRevision: 2, items: all(...everything) }]);
  t.is(v.status, 'pass', v.explanation);
  t.is(v.eventsDelivered, 6);
  t.regex(v.explanation, /ordered, unique, reliable, atomic/);
});

test('a gap is caught as unreliable', (t) => {
  const v = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c'], [5, 'a'], [6, 'b']) }]);
  t.is(v.status, 'fail');
  t.deepEqual(guarantees(v), ['reliable']);
  t.is(v.violations[0]!.revision, 4);
  t.regex(v.explanation, /missed revision 4 \("a"\)/);
});

test('a duplicate is caught', (t) => {
  const v = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c'], [3, 'c'], [4, 'a'], [5, 'a'], [6, 'b']) }]);
  t.deepEqual(guarantees(v), ['unique']);
});

test('a split revision is caught: partial delivery, or across responses', (t) => {
  const partial = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [4, 'a'], [5, 'a'], [6, 'b']) }]);
  t.deepEqual(guarantees(partial), ['atomic']);
  t.regex(partial.explanation, /revision 3 delivered partially: 1 events arrived, missing 1 \("c"\)/);
  // Missing the tail of the last revision reached is a split too.
  t.deepEqual(guarantees(check([{ startRevision: 2, items: all([2, 'a'], [3, 'b']) }])), ['atomic']);
  const responses = check([{ startRevision: 2, items: [ev(2, 'a', 1), ev(3, 'b', 1), ev(3, 'c', 2), ev(4, 'a', 2)] }]);
  t.deepEqual(guarantees(responses), ['atomic']);
  t.regex(responses.explanation, /split across responses 1 and 2/);
});

test('going back in time across a resume is caught', (t) => {
  const v = check([
    { startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c'], [4, 'a'], [5, 'a']) },
    { startRevision: 6, items: all([3, 'b'], [6, 'b']) },
  ]);
  t.true(guarantees(v).includes('back-in-time'));
  t.true(guarantees(v).includes('unique'));
  t.is(v.violations.find((x) => x.guarantee === 'back-in-time')!.session, 1);
  // A resumed session that starts earlier than it is told, delivering older revisions than before.
  const older = check([
    { startRevision: 4, items: all([4, 'a'], [5, 'a']) },
    { startRevision: 2, items: all([2, 'a']) },
  ]);
  t.true(guarantees(older).includes('back-in-time'));
});

test('ordering within a session is checked', (t) => {
  const v = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c'], [5, 'a'], [4, 'a'], [6, 'b']) }]);
  t.true(guarantees(v).includes('ordered'));
});

test('resuming at last + 1 passes; skipping revisions on resume is caught', (t) => {
  t.is(check([
    { startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c']) },
    { startRevision: 4, items: all([4, 'a'], [5, 'a'], [6, 'b']) },
  ]).status, 'pass');
  const v = check([
    { startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c']) },
    { startRevision: 5, items: all([5, 'a'], [6, 'b']) },
  ]);
  t.deepEqual(guarantees(v), ['resumable']);
  t.regex(v.explanation, /skipped revisions 4/);
});

test('progress notifications must cover every earlier event', (t) => {
  t.is(check([{ startRevision: 2, items: [...all([2, 'a'], [3, 'b'], [3, 'c']), { kind: 'progress', revision: 3 }, ...all([4, 'a'])] }]).status, 'pass');
  const early = check([{ startRevision: 2, items: [...all([2, 'a']), { kind: 'progress', revision: 4 }] }]);
  t.deepEqual(guarantees(early), ['bookmarkable', 'bookmarkable']);
  const late = check([{ startRevision: 2, items: [...all([2, 'a']), { kind: 'progress', revision: 3 }, ...all([3, 'b'], [3, 'c'])] }]);
  t.true(guarantees(late).includes('bookmarkable'));
});

test('a quiet tail is checked up to observedUntil', (t) => {
  const v = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c']), observedUntil: 6 }]);
  t.deepEqual(v.violations.map((x) => x.revision), [4, 5, 6]);
});

test('delivered events must match the log and the filter', (t) => {
  const phantom = check([{ startRevision: 2, items: [...all([2, 'a']), { kind: 'event', revision: 2, key: 'z', type: 'put', value: 9 }] }]);
  t.deepEqual(guarantees(phantom), ['matches-log']);
  const wrongValue = check([{ startRevision: 2, items: [{ kind: 'event', revision: 2, key: 'a', type: 'put', value: 7 }] }]);
  t.deepEqual(guarantees(wrongValue), ['matches-log']);
  const filtered = check([{ startRevision: 2, items: all([3, 'b'], [6, 'b']) }], { kind: 'key', key: 'b' });
  t.is(filtered.status, 'pass', filtered.explanation);
  t.is(check([{ startRevision: 2, items: all([3, 'b'], [3, 'c'], [6, 'b']) }], { kind: 'range', start: 'b', end: 'd' }).status, 'pass');
  const outside = check([{ startRevision: 2, items: all([3, 'b'], [4, 'a']) }], { kind: 'prefix', prefix: 'b' });
  t.deepEqual(guarantees(outside), ['matches-log']);
});

test('compaction cancels are legitimate only below the compact revision', (t) => {
  t.is(check([
    { startRevision: 2, items: all([2, 'a']), compactRevision: 5 },
    { startRevision: 5, items: all([5, 'a'], [6, 'b']) },
  ]).status, 'pass');
  const v = check([{ startRevision: 2, items: all([2, 'a'], [3, 'b'], [3, 'c']), compactRevision: 3 }]);
  t.deepEqual(guarantees(v), ['resumable']);
});

test('events outside the log coverage are not judged', (t) => {
  const v = check([{ startRevision: 1, items: all([4, 'a'], [5, 'a'], [6, 'b']) }], { kind: 'all' }, { events: logEvents.slice(3), fromRevision: 4 });
  t.is(v.status, 'pass', v.explanation);
});

test('no watchers gives unknown; a disordered log is a programmer error', (t) => {
  t.is(checkWatchGuarantees([], log).status, 'unknown');
  t.throws(() => checkWatchGuarantees([], { events: [logEvents[1]!, logEvents[0]!] }), { message: /out of order/ });
});

/** A random log and a correct delivery of it to a prefix watcher: resumes at last + 1, batched responses, bookmarks. */
function randomCorrectWatch(seed: number): { log: StoreLog; sessions: WatchSession[] } {
  const prng = new SeededPrng(seed);
  const events: StoreEvent[] = [];
  for (let rev = 2; rev < 60; rev++) {
    const keys = new Set(Array.from({ length: 1 + prng.int(3) }, () => `${prng.next() < 0.7 ? 'p/' : 'q/'}${prng.int(5)}`));
    for (const key of [...keys].sort()) events.push(prng.next() < 0.2 ? { revision: rev, key, type: 'delete' } : { revision: rev, key, type: 'put', value: `v${rev}` });
  }
  const matching = events.filter((e) => e.key.startsWith('p/'));
  const revisions = [...new Set(matching.map((e) => e.revision))];
  const sessions: WatchSession[] = [];
  let items: WatchItem[] = [];
  let start = 1;
  let response = 0;
  revisions.forEach((rev, index) => {
    if (prng.next() < 0.1) {
      sessions.push({ startRevision: start, items });
      items = [];
      start = rev;
    }
    if (prng.next() < 0.5) response++;
    for (const e of matching.filter((m) => m.revision === rev)) items.push({ kind: 'event', revision: rev, key: e.key, type: e.type, ...(e.value === undefined ? {} : { value: e.value }), response });
    response++;
    // A bookmark may name any revision before the next matching one.
    const nextRev = revisions[index + 1] ?? 60;
    if (prng.next() < 0.1) items.push({ kind: 'progress', revision: rev + prng.int(nextRev - rev) });
  });
  sessions.push({ startRevision: start, items, observedUntil: 59 });
  return { log: { events }, sessions };
}

test('random correct deliveries pass; dropping, duplicating or swapping an event fails', (t) => {
  const filter: WatchFilter = { kind: 'prefix', prefix: 'p/' };
  for (let seed = 1; seed <= 30; seed++) {
    const { log: storeLog, sessions } = randomCorrectWatch(seed);
    const correct = check(sessions, filter, storeLog);
    t.is(correct.status, 'pass', `seed ${seed}: ${correct.explanation}`);
    const prng = new SeededPrng(seed).fork('mutate');
    const mutate = (change: (items: WatchItem[]) => void): WatchSession[] => sessions.map((s, i) => {
      if (i !== sessions.length - 1) return s;
      const items = [...s.items];
      change(items);
      return { ...s, items };
    });
    const eventPositions = (items: readonly WatchItem[]) => items.flatMap((it, i) => (it.kind === 'event' ? [i] : []));
    const last = sessions[sessions.length - 1]!.items;
    if (eventPositions(last).length < 2) continue;
    const dropAt = eventPositions(last)[prng.int(eventPositions(last).length)]!;
    t.is(check(mutate((items) => items.splice(dropAt, 1)), filter, storeLog).status, 'fail', `seed ${seed}: drop`);
    t.is(check(mutate((items) => items.splice(dropAt, 0, items[dropAt]!)), filter, storeLog).status, 'fail', `seed ${seed}: duplicate`);
    const positions = eventPositions(last);
    const i = positions.findIndex((p, k) => k + 1 < positions.length && last[positions[k + 1]!]!.revision !== last[p]!.revision);
    if (i === -1) continue;
    t.is(check(mutate((items) => {
      const [x, y] = [positions[i]!, positions[i + 1]!];
      [items[x], items[y]] = [items[y]!, items[x]!];
    }), filter, storeLog).status, 'fail', `seed ${seed}: swap`);
  }
});
