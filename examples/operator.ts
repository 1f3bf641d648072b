import { isMainThread } from 'node:worker_threads';
import { Cluster, KubeClient, RealClock, controllerRefFor, defineOperator, kinds, noActions, sleep, wallClock, type api } from 'pocketkube';

// A CRD's kind names its plural and scope (the client does no discovery).
const widget = { apiVersion: 'example.com/v1', kind: 'Widget', resource: 'widgets', namespaced: true } as const;
type Widget = api.KubeObject & { spec?: { color?: string } };

// Each Widget gets a ConfigMap it owns, holding its color. An actor on every master imports this
// module again (only the holder of Lease kube-system/operator-widgets acts).
export const widgets = defineOperator(import.meta.url, {
  name: 'widgets', primary: widget, workers: 1,
  watches: [
    { kind: widget, map: (e) => { const o = e.type === 'update' ? e.newObj : e.obj; return { enqueue: [{ key: `${o.metadata?.namespace}/${o.metadata?.name}` }] }; } },
    { kind: kinds.configMap, map: () => ({ enqueue: [] }) },
  ],
  reconcile: (key, cache) => {
    const w = cache.get<Widget>(widget, key);
    const [namespace, name] = key.split('/') as [string, string];
    if (w === undefined || cache.get(kinds.configMap, `${namespace}/widget-${name}`) !== undefined) return noActions;
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `widget-${name}`, namespace, ownerReferences: [controllerRefFor(w, widget)] }, data: { color: w.spec?.color ?? '' } };
    return { steps: [{ execution: { kind: 'sequential' }, actions: [{ type: 'create', resource: kinds.configMap, namespace, body }] }] };
  },
});

if (isMainThread) {
  const cluster = await Cluster.start({ profile: 'fast', frontDoor: { port: 0 }, apiserverNetwork: '127.44.0', operators: [widgets] });
  const kube = new KubeClient({ transport: cluster.apiTransport(), clock: new RealClock() });
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };
  await kube.create(crd, { ...crd, metadata: { name: 'widgets.example.com' }, spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { color: { type: 'string' } } } } } } }] } });
  const w1 = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' }, spec: { color: 'blue' } };
  while (!(await kube.create(widget, w1).then(() => true, () => false))) await sleep(wallClock, 100); // until every apiserver serves the CRD
  let cm: (api.KubeObject & { data?: Record<string, string> }) | undefined;
  while ((cm = await kube.get(kinds.configMap, 'default', 'widget-w1').catch(() => undefined)) === undefined) await sleep(wallClock, 100);
  console.log(`${cm.metadata?.name}: color=${cm.data?.['color']}, owned by ${cm.metadata?.ownerReferences?.[0]?.kind}`);
  await cluster.stop();
}
