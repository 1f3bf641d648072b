import test from 'ava';
import type { KubeObject } from '../../src/api/index.js';
import { resolveResource } from '../../src/client/client.js';
import { allActions, cacheFromObjects, defineOperator, findOperator, kinds, operatorLease, replicaSetController } from '../../src/controllers/index.js';
import * as fixture from '../fixtures/widget-operator.js';

const widget = (o: { generation?: number; status?: Record<string, unknown> } = {}) => ({
  apiVersion: 'example.com/v1', kind: 'Widget',
  metadata: { name: 'w1', namespace: 'default', uid: 'uid-w1', resourceVersion: '5', generation: o.generation ?? 1 },
  spec: { color: 'blue', size: 3 }, ...(o.status === undefined ? {} : { status: o.status }),
});
const def = fixture.widgets.definition;
const reconcile = (objects: KubeObject[]) => allActions(def.reconcile('default/w1', cacheFromObjects(objects, def.watches), { nowMs: 0, expectations: { satisfied: () => true } }));

test('defineOperator: a file URL and a definition the registry accepts; found again among a module\'s exports by name', (t) => {
  t.is(fixture.widgets.module, new URL('../fixtures/widget-operator.ts', import.meta.url).href);
  t.is(findOperator(fixture, 'widgets'), fixture.widgets);
  t.is(findOperator(fixture, 'other'), undefined);
  t.is(findOperator({ widgets: { module: 'file:///x', definition: def } }, 'widgets'), undefined, 'a look-alike without the brand is not an operator');
  t.throws(() => defineOperator('https://example.com/op.js', replicaSetController), { message: /file: URL/ });
  t.throws(() => defineOperator(import.meta.url, { ...replicaSetController, name: 'Bad' }), { message: /lower-case/ });
  t.deepEqual(operatorLease('widgets'), { namespace: 'kube-system', name: 'operator-widgets' });
});

test('the fixture operator: a new Widget gets its owned ConfigMap and a status; an up-to-date one nothing', (t) => {
  const actions = reconcile([widget()]);
  t.deepEqual(actions.map((a) => a.type), ['create', 'updateStatus']);
  t.like(actions[0], { type: 'create', resource: kinds.configMap, namespace: 'default', body: { metadata: { name: 'widget-w1', ownerReferences: [{ kind: 'Widget', name: 'w1', uid: 'uid-w1', controller: true }] }, data: { color: 'blue', size: '3' } } });
  t.like(actions[1], { type: 'updateStatus', body: { status: { configMap: 'widget-w1', observedGeneration: 1 } } });
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'widget-w1', namespace: 'default', uid: 'c1', resourceVersion: '6' }, data: { color: 'blue', size: '3' } };
  t.deepEqual(reconcile([widget({ status: { configMap: 'widget-w1', observedGeneration: 1 } }), cm]), []);
  t.deepEqual(reconcile([widget({ generation: 2, status: { configMap: 'widget-w1', observedGeneration: 1 } }), { ...cm, data: { color: 'red', size: '3' } }]).map((a) => a.type), ['update', 'updateStatus']);
});

test('the client resolves a custom resource from its ref (plural and scope); a bare unknown kind says how', (t) => {
  t.like(resolveResource(fixture.widgetKind), { group: 'example.com', version: 'v1', resource: 'widgets', namespaced: true, kind: 'Widget' });
  t.throws(() => resolveResource({ apiVersion: 'example.com/v1', kind: 'Widget' }), { message: /names its plural and scope/ });
  t.throws(() => resolveResource({ apiVersion: 'v1', kind: 'Gadget', resource: 'gadgets', namespaced: true } as never), { message: /unknown resource/ });
});
