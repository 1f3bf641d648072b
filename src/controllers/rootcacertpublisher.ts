/**
 * The root CA certificate publisher (pkg/controller/certificates/rootcacertpublisher): every
 * active namespace has a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so that a
 * pod can verify the apiserver (projected service-account volumes mount it). Deleting or editing
 * it brings it back; a terminating namespace gets none (the create would be refused).
 */
import { asRecord, deepClone, type KubeObject } from '../api/index.js';
import {
  ignoreEvent, kinds, noActions, sequential, steps,
  type CacheView, type ControllerDefinition, type EventMapping, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

const rootCaConfigMapName = 'kube-root-ca.crt';
const rootCaDataKey = 'ca.crt';
/** Upstream's description annotation, set on create and restored on update. */
export const rootCaDescriptionAnnotation = 'kubernetes.io/description';
const description = 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. '
  + 'No other usage is guaranteed across distributions of Kubernetes clusters.';

function reconcileRootCaConfigMap(caPem: string, key: string, cache: CacheView): ReconcileResult {
  const ns = cache.get(kinds.namespace, key);
  if (ns === undefined || ns.metadata?.deletionTimestamp !== undefined) return noActions;
  const phase = asRecord(ns['status'])?.['phase'];
  if (phase !== undefined && phase !== 'Active') return noActions;
  const data = { [rootCaDataKey]: caPem };
  const cm = cache.get(kinds.configMap, `${key}/${rootCaConfigMapName}`);
  if (cm === undefined) {
    return {
      steps: steps({
        execution: sequential,
        actions: [{
          type: 'create', resource: kinds.configMap, namespace: key,
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: rootCaConfigMapName, namespace: key, annotations: { [rootCaDescriptionAnnotation]: description } }, data },
        }],
      }),
    };
  }
  // Upstream's test: the data exactly (no extra keys, no binaryData) and a description present.
  const current = asRecord(cm['data']);
  const sameData = current !== undefined && Object.keys(current).length === 1 && current[rootCaDataKey] === caPem && cm['binaryData'] === undefined;
  if (sameData && (cm.metadata?.annotations?.[rootCaDescriptionAnnotation] ?? '') !== '') return noActions;
  // A copy of the cached object (never mutate it); its resourceVersion makes the update a compare-and-swap.
  const body = deepClone(cm) as KubeObject & { data?: unknown; binaryData?: unknown };
  body.data = data;
  delete body.binaryData;
  const metadata = body.metadata ?? {};
  body.metadata = { ...metadata, annotations: { ...(metadata.annotations ?? {}), [rootCaDescriptionAnnotation]: metadata.annotations?.[rootCaDescriptionAnnotation] || description } };
  return { steps: steps({ execution: sequential, actions: [{ type: 'update', resource: kinds.configMap, body }] }) };
}

function mapNamespace(event: WatchEvent): EventMapping {
  if (event.type === 'delete') return ignoreEvent;
  const obj = event.type === 'update' ? event.newObj : event.obj;
  return { enqueue: [{ key: obj.metadata?.name ?? '' }] };
}

/** Only the published ConfigMap's edits and deletions matter (its add is this controller's own create). */
function mapConfigMap(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  if (event.type === 'add' || obj.metadata?.name !== rootCaConfigMapName) return ignoreEvent;
  return { enqueue: [{ key: obj.metadata.namespace ?? '' }] };
}

/** The controller for the cluster CA `caPem` (kube-controller-manager runs it only when given a root CA file). */
export function rootCaCertPublisherController(caPem: string): ControllerDefinition {
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('root-ca-cert-publisher: the CA must be a PEM certificate');
  return {
    name: 'root-ca-cert-publisher',
    primary: kinds.namespace,
    workers: 1,
    watches: [{ kind: kinds.namespace, map: (e) => mapNamespace(e) }, { kind: kinds.configMap, map: (e) => mapConfigMap(e) }],
    reconcile: (key: string, cache: CacheView, _ctx: ReconcileContext) => reconcileRootCaConfigMap(caPem, key, cache),
  };
}
