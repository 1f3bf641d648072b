/**
 * The service-account controller (pkg/controller/serviceaccount): every active namespace has a
 * `default` ServiceAccount; deleting it brings it back.
 */
import { asRecord } from '../api/index.js';
import {
  ignoreEvent, kinds, noActions, sequential, steps,
  type CacheView, type ControllerDefinition, type EventMapping, type ReconcileContext, type ReconcileResult, type WatchEvent,
} from './framework/index.js';

const defaultServiceAccounts: readonly string[] = ['default'];

export function reconcileServiceAccounts(key: string, cache: CacheView, _ctx: ReconcileContext): ReconcileResult {
  const ns = cache.get(kinds.namespace, key);
  // Only Active namespaces: creating into a terminating one would be refused (and pointless).
  if (ns === undefined || ns.metadata?.deletionTimestamp !== undefined) return noActions;
  const phase = asRecord(ns['status'])?.['phase'];
  if (phase !== undefined && phase !== 'Active') return noActions;
  const missing = defaultServiceAccounts.filter((name) => cache.get(kinds.serviceAccount, `${key}/${name}`) === undefined);
  if (missing.length === 0) return noActions;
  return {
    steps: steps({
      execution: sequential,
      actions: missing.map((name) => ({ type: 'create' as const, resource: kinds.serviceAccount, namespace: key, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: key } } })),
    }),
  };
}

function mapNamespace(event: WatchEvent): EventMapping {
  if (event.type === 'delete') return ignoreEvent;
  const obj = event.type === 'update' ? event.newObj : event.obj;
  return { enqueue: [{ key: obj.metadata?.name ?? '' }] };
}

function mapServiceAccount(event: WatchEvent): EventMapping {
  if (event.type !== 'delete' || !defaultServiceAccounts.includes(event.obj.metadata?.name ?? '')) return ignoreEvent;
  return { enqueue: [{ key: event.obj.metadata?.namespace ?? '' }] };
}

export const serviceAccountController: ControllerDefinition = {
  name: 'serviceaccount',
  primary: kinds.namespace,
  workers: 1,
  watches: [{ kind: kinds.namespace, map: (e) => mapNamespace(e) }, { kind: kinds.serviceAccount, map: (e) => mapServiceAccount(e) }],
  reconcile: reconcileServiceAccounts,
};
