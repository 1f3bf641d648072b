import type { AnyActorDefinition } from '../src/runtime/actor.js';
import type { ActorRegistry } from '../src/runtime/registry.js';

/**
 * Built-in actor kinds, loaded on demand (a worker thread imports only the kinds it hosts).
 * A new kind is one folder under actors/ and one entry here.
 *
 * This module is what every worker thread loads as its registry (dist/actors.js), so it imports
 * nothing but the kinds: finding the bundle (actors/registry.ts) checks it against the sources,
 * which brings node:crypto and a file-system walk that no thread needs (~4 ms per thread).
 */
export const actors: ActorRegistry = {
  echo: async () => (await import('./echo/actor.js')).echoActor as AnyActorDefinition,
  etcd: async () => (await import('./etcd/actor.js')).etcdActor as AnyActorDefinition,
  apiserver: async () => (await import('./apiserver/actor.js')).apiserverActor as AnyActorDefinition,
  'controller-manager': async () => (await import('./controller-manager/actor.js')).controllerManagerActor as AnyActorDefinition,
  scheduler: async () => (await import('./scheduler/actor.js')).schedulerActor as AnyActorDefinition,
  kubelet: async () => (await import('./kubelet/actor.js')).kubeletActor as AnyActorDefinition,
  'container-runtime': async () => (await import('./container-runtime/actor.js')).containerRuntimeActor as AnyActorDefinition,
  'kube-proxy': async () => (await import('./kube-proxy/actor.js')).kubeProxyActor as AnyActorDefinition,
  operator: async () => (await import('./controller-manager/operator.js')).operatorActor as AnyActorDefinition,
};
