import test from 'ava';
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
