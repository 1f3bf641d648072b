/** pods/log's line window (src/apiserver/log-options.ts): sinceSeconds, sinceTime, limitBytes, checked as upstream's validation. */
import test from 'ava';
import { logWindowOf, sinceMsOf } from '../../src/apiserver/log-options.js';

const of = (q: Record<string, string>) => logWindowOf((name) => q[name]);

test('a window from sinceSeconds, sinceTime and limitBytes; the kubelet turns it into sinceMs with its clock', (t) => {
  t.deepEqual(of({}), { ok: true, value: {} });
  t.deepEqual(of({ sinceSeconds: '60', limitBytes: '100' }), { ok: true, value: { sinceSeconds: 60, limitBytes: 100 } });
  const byTime = of({ sinceTime: '2026-12-07T12:00:00Z' });
  t.deepEqual(byTime, { ok: true, value: { sinceTimeMs: Date.UTC(2026, 11, 7, 12) } });
  t.is(sinceMsOf({ sinceSeconds: 60 }, 1_000_000), 940_000);
  t.is(sinceMsOf({ sinceTimeMs: 5 }, 1_000_000), 5);
  t.is(sinceMsOf({}, 1_000_000), undefined);
});

test('bad windows are 400s with upstream messages', (t) => {
  const message = (q: Record<string, string>) => { const r = of(q); return r.ok ? 'ok' : r.status.message; };
  t.is(message({ sinceSeconds: '5', sinceTime: '2026-12-07T12:00:00Z' }), 'at most one of sinceTime or sinceSeconds may be specified');
  t.is(message({ sinceSeconds: '0' }), 'sinceSeconds: Invalid value: "0": must be greater than 0');
  t.is(message({ limitBytes: '-1' }), 'limitBytes: Invalid value: "-1": must be greater than 0');
  t.is(message({ sinceTime: 'yesterday' }), 'sinceTime: Invalid value: "yesterday": must be an RFC 3339 time');
  const r = of({ sinceSeconds: 'x' });
  t.like(r.ok ? {} : r.status, { code: 400, reason: 'BadRequest' });
});
