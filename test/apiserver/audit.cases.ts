/** The audit log: every write the core answers, refused or not, with who sent it and when; reads are not recorded; the ring is bounded. */
import test from 'ava';
import { Authenticator, wellKnown } from '../../src/apiserver/auth/index.js';
import { AuditLog } from '../../src/apiserver/audit.js';
import { requestInfoOf } from '../../src/apiserver/auth/index.js';
import { cm, harness } from './helpers.js';

const cms = '/api/v1/namespaces/default/configmaps';

test('audit: writes are recorded with user, user agent, object and answer; reads are not; 401 and 403 name who was refused', async (t) => {
  const authenticator = new Authenticator({ staticTokens: [
    { token: 'admin-token-xxxxxxxxxxxxxxxx', username: wellKnown.adminUser, groups: [wellKnown.mastersGroup] },
    { token: 'jane-token-xxxxxxxxxxxxxxxxx', username: 'jane', groups: [] },
  ] });
  const h = await harness({ authenticator, identity: 'master-1/apiserver' });
  t.teardown(() => h.close());
  const as = (token: string, agent: string) => ({ headers: { authorization: `Bearer ${token}`, 'user-agent': agent } });
  const before = h.core.audit.read().nextSeq;
  const created = await h.call('POST', cms, cm('a'), as('admin-token-xxxxxxxxxxxxxxxx', 'kubectl/v1.32.0'));
  t.is(created.status, 201);
  t.is((await h.call('GET', `${cms}/a`, undefined, as('admin-token-xxxxxxxxxxxxxxxx', 'kubectl/v1.32.0'))).status, 200);
  t.is((await h.call('DELETE', `${cms}/a`, undefined, as('jane-token-xxxxxxxxxxxxxxxxx', 'curl/8'))).status, 403);
  t.is((await h.call('POST', cms, cm('b'), as('wrong', 'curl/8'))).status, 401);
  const page = h.core.audit.read(before);
  t.is(page.dropped, 0);
  t.deepEqual(page.events.map((e) => [e.verb, e.objectRef.resource, e.objectRef.name ?? '', e.user.username, e.userAgent, e.responseStatus.code]), [
    ['create', 'configmaps', '', wellKnown.adminUser, 'kubectl/v1.32.0', 201],
    ['delete', 'configmaps', 'a', 'jane', 'curl/8', 403],
    ['create', 'configmaps', '', 'system:anonymous', 'curl/8', 401],
  ]);
  const first = page.events[0]!;
  t.like(first, { apiVersion: 'audit.k8s.io/v1', kind: 'Event', level: 'Metadata', stage: 'ResponseComplete', requestURI: cms, objectRef: { namespace: 'default', apiVersion: 'v1' } });
  t.regex(first.auditID, /^master-1\/apiserver-\d+$/);
  t.true(first.requestReceivedMs <= first.stageMs);
  t.regex(first.requestReceivedTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  t.is(h.core.audit.read(page.nextSeq).events.length, 0, 'reading after the last sequence number gives nothing new');
});

test('audit: the ring keeps the newest events and says how many a reader missed', (t) => {
  const log = new AuditLog('x', 3);
  const info = requestInfoOf('POST', cms, new URLSearchParams());
  for (let i = 0; i < 5; i++) {
    log.record({ info, requestURI: cms, user: { username: `u${i}`, groups: [] }, userAgent: '', code: 201, receivedMs: i, completedMs: i });
  }
  log.record({ info: requestInfoOf('GET', cms, new URLSearchParams()), requestURI: cms, user: { username: 'reader', groups: [] }, userAgent: '', code: 200, receivedMs: 9, completedMs: 9 });
  const all = log.read(0);
  t.is(all.dropped, 2);
  t.deepEqual(all.events.map((e) => e.user.username), ['u2', 'u3', 'u4']);
  t.is(all.nextSeq, 5);
  const tail = log.read(3, 1);
  t.deepEqual(tail.events.map((e) => e.user.username), ['u3']);
  t.is(tail.dropped, 0);
});
