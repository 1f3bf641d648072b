import test from 'ava';
import { requestInfoOf } from '../../src/apiserver/auth/request-info.js';

const info = (method: string, url: string) => {
  const u = new URL(url, 'https://127.0.0.1:6443');
  const { verb, resourceRequest, apiGroup, apiVersion, resource, subresource, namespace, name } = requestInfoOf(method, u.pathname, u.searchParams);
  return resourceRequest ? { verb, apiGroup, apiVersion, resource, subresource, namespace, name } : { verb, path: u.pathname };
};
const r = (verb: string, resource: string, more: { group?: string; version?: string; sub?: string; ns?: string; name?: string } = {}) => ({
  verb, apiGroup: more.group ?? '', apiVersion: more.version ?? 'v1', resource, subresource: more.sub ?? '', namespace: more.ns ?? '', name: more.name ?? '',
});

test('collections, objects and subresources map to the verbs and resources RBAC matches', (t) => {
  t.deepEqual(info('GET', '/api/v1/namespaces/default/pods?limit=500'), r('list', 'pods', { ns: 'default' }));
  t.deepEqual(info('GET', '/api/v1/namespaces/default/pods?watch=1&resourceVersion=10'), r('watch', 'pods', { ns: 'default' }));
  t.deepEqual(info('GET', '/api/v1/namespaces/default/pods?watch=false'), r('list', 'pods', { ns: 'default' }));
  t.deepEqual(info('GET', '/api/v1/namespaces/default/pods/web/log?follow=true'), r('get', 'pods', { ns: 'default', name: 'web', sub: 'log' }));
  t.deepEqual(info('POST', '/api/v1/namespaces/default/pods/web/eviction'), r('create', 'pods', { ns: 'default', name: 'web', sub: 'eviction' }));
  t.deepEqual(info('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale'),
    r('patch', 'deployments', { group: 'apps', ns: 'default', name: 'web', sub: 'scale' }));
  t.deepEqual(info('POST', '/api/v1/namespaces'), r('create', 'namespaces'));
  t.deepEqual(info('GET', '/api/v1/nodes'), r('list', 'nodes'));
  t.deepEqual(info('PATCH', '/api/v1/nodes/worker-1/status'), r('patch', 'nodes', { name: 'worker-1', sub: 'status' }));
  t.deepEqual(info('DELETE', '/api/v1/namespaces/default/pods'), r('deletecollection', 'pods', { ns: 'default' }));
  t.deepEqual(info('DELETE', '/api/v1/namespaces/default/pods/web'), r('delete', 'pods', { ns: 'default', name: 'web' }));
  t.deepEqual(info('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews'),
    r('create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' }));
  t.deepEqual(info('PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1'),
    r('update', 'leases', { group: 'coordination.k8s.io', ns: 'kube-node-lease', name: 'worker-1' }));
});

test('a namespace is its own namespace; status and finalize are its subresources', (t) => {
  t.deepEqual(info('GET', '/api/v1/namespaces/foo'), r('get', 'namespaces', { ns: 'foo', name: 'foo' }));
  t.deepEqual(info('PUT', '/api/v1/namespaces/foo/finalize'), r('update', 'namespaces', { ns: 'foo', name: 'foo', sub: 'finalize' }));
  t.deepEqual(info('GET', '/api/v1/namespaces'), r('list', 'namespaces'));
});

test('a metadata.name field selector names the object of a list or watch; legacy watch paths', (t) => {
  t.deepEqual(info('GET', '/api/v1/namespaces/kube-system/secrets?fieldSelector=metadata.name%3Dtls&watch=true'),
    r('watch', 'secrets', { ns: 'kube-system', name: 'tls' }));
  t.deepEqual(info('GET', '/api/v1/namespaces/d/configmaps?fieldSelector=metadata.name%3D%3Dcfg%2Cother%3Dx'),
    r('list', 'configmaps', { ns: 'd', name: 'cfg' }));
  t.deepEqual(info('GET', '/api/v1/namespaces/d/configmaps?fieldSelector=metadata.name%21%3Dcfg'), r('list', 'configmaps', { ns: 'd' }));
  t.deepEqual(info('GET', '/api/v1/watch/namespaces/default/pods'), r('watch', 'pods', { ns: 'default' }));
  t.deepEqual(info('GET', '/api/v1/proxy/namespaces/default/pods/web/some/path'), r('proxy', 'pods', { ns: 'default', name: 'web' }));
});

test('discovery, health and openapi are non-resource requests', (t) => {
  for (const path of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/healthz', '/version', '/openapi/v2', '/']) {
    t.deepEqual(info('GET', path), { verb: 'get', path });
  }
  t.deepEqual(info('POST', '/logs'), { verb: 'post', path: '/logs' });
});
