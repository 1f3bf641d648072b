import test from 'ava';
import { objectKey, parseObjectKey, resourcePrefix, resourceSelector } from '../../src/store/keys.js';
import { MvccStore } from '../../src/store/mvcc.js';
import { b, errorCode, must } from './helpers.js';

test('object keys for namespaced, cluster-scoped and grouped resources, and back', (t) => {
  t.is(must(objectKey({ resource: 'pods', namespace: 'default', name: 'web-0' })), '/registry/pods/default/web-0');
  t.is(must(objectKey({ resource: 'nodes', name: 'worker-1' })), '/registry/nodes/worker-1');
  t.is(must(objectKey({ resource: 'apiregistration.k8s.io/apiservices', name: 'v1.apps' })), '/registry/apiregistration.k8s.io/apiservices/v1.apps');
  t.is(must(objectKey({ resource: 'clusterroles', name: 'system:controller:node-controller' })), '/registry/clusterroles/system:controller:node-controller');
  t.deepEqual(must(parseObjectKey('/registry/pods/default/web-0', true)), { resource: 'pods', namespace: 'default', name: 'web-0' });
  t.deepEqual(must(parseObjectKey('/registry/apiregistration.k8s.io/apiservices/v1.apps', false)), { resource: 'apiregistration.k8s.io/apiservices', name: 'v1.apps' });
  t.is(errorCode(parseObjectKey('/other/pods/x', false)), 'malformed');
  t.is(errorCode(parseObjectKey('/registry/pods', true)), 'malformed');
});

test('invalid parts are typed errors', (t) => {
  t.is(errorCode(objectKey({ resource: 'pods', namespace: 'Bad_NS', name: 'x' })), 'malformed');
  t.is(errorCode(objectKey({ resource: 'pods', namespace: 'ns', name: 'a/b' })), 'malformed');
  t.is(errorCode(objectKey({ resource: 'pods', namespace: 'ns', name: '' })), 'malformed');
  t.is(errorCode(objectKey({ resource: 'Pods', name: 'x' })), 'malformed');
  t.is(errorCode(objectKey({ resource: 'pods', name: 'x'.repeat(254) })), 'malformed');
  t.is(errorCode(resourcePrefix('pods', 'NS')), 'malformed');
});

test('a namespace prefix never matches a longer namespace', (t) => {
  const store = new MvccStore();
  for (const [namespace, name] of [['default', 'a'], ['default-2', 'b'], ['default', 'c'], ['kube-system', 'd']] as const) {
    must(store.put({ key: must(objectKey({ resource: 'pods', namespace, name })), value: b('') }));
  }
  must(store.put({ key: must(objectKey({ resource: 'podtemplates', namespace: 'default', name: 'x' })), value: b('') }));
  const inDefault = must(store.range(must(resourceSelector('pods', 'default'))));
  t.deepEqual(inDefault.kvs.map((kv) => kv.key), ['/registry/pods/default/a', '/registry/pods/default/c']);
  t.is(must(store.range(must(resourceSelector('pods')))).count, 4);
  t.is(must(resourcePrefix('pods')), '/registry/pods/');
});
