import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { allActions, cacheFromObjects, kinds } from '../../src/controllers/framework/index.js';
import { nodeIpamController } from '../../src/controllers/index.js';
import { ctx } from './fixtures.js';

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}`, resourceVersion: '1' }, spec: podCIDR === undefined ? {} : { podCIDR, podCIDRs: [podCIDR] },
});

test('each node gets its own /24 of the cluster CIDR, once, even when the cache has not seen the previous patch', (t) => {
  const controller = nodeIpamController({ clusterCidr: '127.244.0.0/16' });
  const objects = [node('a'), node('b'), node('c', '127.244.0.0/24')];
  const reconcile = (key: string) => allActions(controller.reconcile(key, cacheFromObjects(objects, controller.watches), ctx()));
  const a = reconcile('a');
  t.like(a[0], { type: 'patch', resource: kinds.node, name: 'a', patch: { spec: { podCIDR: '127.244.1.0/24', podCIDRs: ['127.244.1.0/24'] } } });
  // The cache still shows a without a CIDR: b must not get a's range.
  t.like(reconcile('b')[0], { patch: { spec: { podCIDR: '127.244.2.0/24' } } });
  // A retry for a (its patch not yet seen) asks for the same range again, not a new one.
  t.like(reconcile('a')[0], { patch: { spec: { podCIDR: '127.244.1.0/24' } } });
  t.deepEqual(reconcile('c'), []);
});

test('a deleted node frees its range; a full cluster CIDR is an event, not a patch', (t) => {
  const controller = nodeIpamController({ clusterCidr: '127.244.0.0/16' });
  const full = Array.from({ length: 256 }, (_, i) => node(`n${i}`, `127.244.${i}.0/24`));
  const reconcile = (key: string, objects: KubeObject[]) => allActions(controller.reconcile(key, cacheFromObjects(objects, controller.watches), ctx()));
  t.like(reconcile('extra', [...full, node('extra')])[0], { type: 'event', event: { reason: 'CIDRNotAvailable' } });
  const rest = full.filter((n) => n.metadata!.name !== 'n7');
  t.deepEqual(reconcile('n7', rest), []);
  t.like(reconcile('extra', [...rest, node('extra')])[0], { patch: { spec: { podCIDR: '127.244.7.0/24' } } });
});

test('a cluster CIDR that is not a /16 is refused with the expected form', (t) => {
  t.throws(() => nodeIpamController({ clusterCidr: '10.0.0.0/8' }), { message: /IPv4 \/16 such as 127.244.0.0\/16/ });
});
