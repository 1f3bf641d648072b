/**
 * pocketkube's in-process Kubernetes client toolkit (client-go's shape): a typed client over an
 * ApiTransport, one reflector (list, watch, resume, re-list) under the resuming watches and the
 * informers with a shared factory, rate-limited work queues, the reconcile loop, Lease-based leader
 * election, and an HTTPS transport.
 */
export type { ApiMethod, ApiRequest, ApiResponse, ApiTransport, ApiWatchEvent, ApiWatchResult } from './api-transport.js';
export * from './errors.js';
export * from './timing.js';
export * from './client.js';
export * from './watch.js';
export * from './reflector.js';
export * from './cache.js';
export {
  Informer, SharedInformerFactory, isTombstone,
  type DeletedFinalStateUnknown, type EventHandler, type HandlerOptions, type HandlerRegistration, type InformerOptions,
  type InformerScope, type SharedInformerFactoryOptions,
} from './informer.js';
export * from './workqueue.js';
export * from './controller.js';
export * from './leader-election.js';
export * from './https-transport.js';
