import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { mostRecentTime, nextTime, parseCron } from '../../src/controllers/cron.js';
import { cronJobController, reconcileCronJob } from '../../src/controllers/cronjob.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { jobController } from '../../src/controllers/job.js';
import { ctx } from './fixtures.js';
import { Kubelet, Sim } from './sim.js';

const utc = (s: string) => Date.parse(s);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

test('cron: fields, ranges, steps, names, macros, and the day-of-month / day-of-week rule', (t) => {
  const after = utc('2026-03-14T10:07:30Z'); // a Saturday
  t.is(iso(nextTime(parseCron('*/15 * * * *'), after)), '2026-03-14T10:15:00.000Z');
  t.is(iso(nextTime(parseCron('0 9-17/4 * * MON-FRI'), after)), '2026-03-16T09:00:00.000Z');
  t.is(iso(nextTime(parseCron('@monthly'), after)), '2026-04-01T00:00:00.000Z');
  t.is(iso(nextTime(parseCron('30 2 29 FEB *'), after)), '2028-02-29T02:30:00.000Z');
  // Both restricted: either matches (the 1st of the month OR a Sunday).
  t.is(iso(nextTime(parseCron('0 0 1 * 0'), after)), '2026-03-15T00:00:00.000Z');
  // Day-of-week 7 is Sunday; with day-of-month "*", both must match.
  t.is(iso(nextTime(parseCron('0 12 * * 7'), after)), '2026-03-15T12:00:00.000Z');
  t.is(iso(nextTime(parseCron('5/20 * * * *'), after)), '2026-03-14T10:25:00.000Z');
  for (const bad of ['* * * *', '61 * * * *', '*/0 * * * *', 'TZ=UTC * * * * *', '1-2-3 * * * *']) t.throws(() => parseCron(bad), undefined, bad);
  const m = mostRecentTime(parseCron('*/10 * * * *'), utc('2026-03-14T09:00:00Z'), after);
  t.deepEqual({ at: iso(m.timeMs), missed: m.missed }, { at: '2026-03-14T10:00:00.000Z', missed: 6 });
});

function cronJob(o: { policy?: string; deadline?: number; lastSchedule?: string; suspend?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick', namespace: 'default', uid: 'uid-tick', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      schedule: '*/5 * * * *', concurrencyPolicy: o.policy ?? 'Allow', ...(o.deadline === undefined ? {} : { startingDeadlineSeconds: o.deadline }),
      ...(o.suspend === true ? { suspend: true } : {}),
      jobTemplate: { metadata: { labels: { app: 'tick' } }, spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'Never' } } } },
    },
    ...(o.lastSchedule === undefined ? {} : { status: { lastScheduleTime: o.lastSchedule } }),
  };
}
const ownedJob = (name: string, finished?: 'Complete' | 'Failed', created = '2026-01-01T00:05:00Z'): KubeObject => ({
  apiVersion: 'batch/v1', kind: 'Job',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: created, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: 'uid-tick', controller: true }] },
  spec: {}, status: finished === undefined ? { active: 1 } : { conditions: [{ type: finished, status: 'True' }], ...(finished === 'Complete' ? { completionTime: created } : {}) },
});
const cacheOf = (...o: KubeObject[]) => cacheFromObjects(o, cronJobController.watches);
const now = utc('2026-01-01T00:12:10Z');

test('creates the Job of the most recent schedule time, named by its minute, then records lastScheduleTime', (t) => {
  const r = reconcileCronJob('default/tick', cacheOf(cronJob({ lastSchedule: '2026-01-01T00:05:00Z' })), ctx(now));
  const a = allActions(r);
  const scheduled = utc('2026-01-01T00:10:00Z');
  t.like(a[0], { type: 'create', body: { metadata: { name: `tick-${scheduled / 60000}`, labels: { app: 'tick' }, annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-01-01T00:10:00Z' } } } });
  t.like(a[1], { type: 'updateStatus', body: { status: { lastScheduleTime: '2026-01-01T00:10:00Z' } } });
  t.is(r.requeueAfterMs, utc('2026-01-01T00:15:00Z') - now + 100);
});

test('Forbid skips while a Job runs; Replace deletes it first; a start past startingDeadlineSeconds is missed; suspend does nothing', (t) => {
  const running = ownedJob('tick-old');
  t.deepEqual(allActions(reconcileCronJob('default/tick', cacheOf(cronJob({ policy: 'Forbid', lastSchedule: '2026-01-01T00:05:00Z' }), running), ctx(now))).map((a) => a.type), ['updateStatus', 'event']);
  t.deepEqual(allActions(reconcileCronJob('default/tick', cacheOf(cronJob({ policy: 'Replace', lastSchedule: '2026-01-01T00:05:00Z' }), running), ctx(now))).map((a) => a.type), ['delete', 'create', 'updateStatus']);
  const missed = allActions(reconcileCronJob('default/tick', cacheOf(cronJob({ deadline: 60, lastSchedule: '2026-01-01T00:05:00Z' })), ctx(now)));
  t.like(missed.at(-1), { type: 'event', event: { reason: 'MissSchedule' } });
  t.false(missed.some((a) => a.type === 'create'));
  t.deepEqual(allActions(reconcileCronJob('default/tick', cacheOf(cronJob({ suspend: true })), ctx(now))), []);
});

test('history limits: the oldest finished Jobs beyond 3 successful / 1 failed are deleted', (t) => {
  const jobs = [1, 2, 3, 4].map((i) => ownedJob(`ok-${i}`, 'Complete', `2026-01-01T00:0${i}:00Z`)).concat([ownedJob('bad-1', 'Failed', '2026-01-01T00:01:00Z'), ownedJob('bad-2', 'Failed', '2026-01-01T00:02:00Z')]);
  const a = allActions(reconcileCronJob('default/tick', cacheOf(cronJob({ lastSchedule: '2026-01-01T00:10:00Z' }), ...jobs), ctx(now)));
  t.deepEqual(a.filter((x) => x.type === 'delete').map((x) => (x.type === 'delete' ? x.name : '')), ['ok-1', 'bad-1']);
  t.like(a.find((x) => x.type === 'updateStatus'), { body: { status: { lastSuccessfulTime: '2026-01-01T00:04:00Z' } } });
});

test('through the apiserver on the virtual clock: one Job per minute, Forbid never overlaps, history kept at 3', async (t) => {
  const sim = await Sim.start([cronJobController, jobController]);
  const kubelet = new Kubelet(sim);
  let overlapped = false;
  sim.onRound = (s) => { if (s.list(kinds.job, 'default').filter((j) => !JSON.stringify(j['status'] ?? {}).includes('"Complete"')).length > 1) overlapped = true; };
  kubelet.finish = () => 'Succeeded';
  const cj = cronJob({ policy: 'Forbid' });
  delete cj.metadata!.uid;
  delete cj.metadata!.creationTimestamp;
  (cj['spec'] as Record<string, unknown>)['schedule'] = '* * * * *';
  await sim.client.create(kinds.cronJob, cj);
  await sim.refresh();
  for (let minute = 0; minute < 6; minute++) {
    sim.advance(60_200); // the controller asks to look again 100 ms past each minute
    await sim.settle(200, kubelet);
  }
  const created = sim.log.filter((l) => l.controller === 'cronjob' && l.action.type === 'create' && l.ok).length;
  t.is(created, 6);
  t.is(sim.list(kinds.job, 'default').length, 3, 'successfulJobsHistoryLimit');
  t.false(overlapped);
});
