import test from 'ava';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { reconcileResourceQuota, resourceQuotaController } from '../../src/controllers/resourcequota.js';
import { ctx, pod } from './fixtures.js';

const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'default', uid: 'uq', resourceVersion: '4' },
  spec: { hard: { pods: '5', 'requests.cpu': '2', 'count/secrets': '3' } }, status: { used: { pods: '9' } } };
const withCpu = (name: string, cpu: string, phase = 'Running') => {
  const p = pod(name);
  return { ...p, spec: { ...(p['spec'] as object), containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu } } }] }, status: { phase } };
};

test('resourcequota: status.hard from spec, used recounted; terminal pods do not count', (t) => {
  const cache = cacheFromObjects([quota, withCpu('a', '500m'), withCpu('b', '250m'), withCpu('done', '1', 'Succeeded')], resourceQuotaController.watches);
  const actions = allActions(reconcileResourceQuota('default/q', cache, ctx()));
  t.is(actions.length, 1);
  t.like(actions[0], { type: 'updateStatus', resource: kinds.resourceQuota });
  const status = actions[0]!.type === 'updateStatus' ? actions[0]!.body['status'] : undefined;
  t.deepEqual(status, { hard: quota.spec.hard, used: { 'count/secrets': '0', pods: '2', 'requests.cpu': '750m' } });
  const settled = cacheFromObjects([{ ...quota, status }, withCpu('a', '500m'), withCpu('b', '250m')], resourceQuotaController.watches);
  t.deepEqual(allActions(reconcileResourceQuota('default/q', settled, ctx())), []);
});

test('resourcequota scopes: Terminating counts pods with activeDeadlineSeconds only; NotBestEffort skips pods without requests', (t) => {
  const terminating = { ...quota, metadata: { ...quota.metadata, name: 't' }, spec: { hard: { pods: '5', 'requests.cpu': '2' }, scopes: ['Terminating', 'NotBestEffort'] } };
  const job = withCpu('job', '300m');
  const deadline = { ...job, spec: { ...(job['spec'] as object), activeDeadlineSeconds: 60 } };
  const bare = pod('bare');
  const cache = cacheFromObjects([terminating, withCpu('server', '500m'), deadline, { ...bare, spec: { ...(bare['spec'] as object), activeDeadlineSeconds: 5 } }], resourceQuotaController.watches);
  const actions = allActions(reconcileResourceQuota('default/t', cache, ctx()));
  const status = actions[0]?.type === 'updateStatus' ? actions[0].body['status'] : undefined;
  t.deepEqual((status as { used: unknown } | undefined)?.used, { pods: '1', 'requests.cpu': '300m' });
});
