import type { AnyActorDefinition } from '../src/runtime/actor.js';
import type { ActorRegistry } from '../src/runtime/registry.js';
import { bundledUrl } from '../src/runtime/worker-url.js';

/**
 * Built-in actor kinds, loaded on demand (a worker thread imports only the kinds it hosts).
 * A new kind is one folder under actors/ and one entry here.
 */
export const actors: ActorRegistry = {
  echo: async () => (await import('./echo/actor.js')).echoActor as AnyActorDefinition,
  etcd: async () => (await import('./etcd/actor.js')).etcdActor as AnyActorDefinition,
  apiserver: async () => (await import('./apiserver/actor.js')).apiserverActor as AnyActorDefinition,
  'controller-manager': async () => (await import('./controller-manager/actor.js')).controllerManagerActor as AnyActorDefinition,
};

/**
 * The URL of this registry as worker threads load it (the compiled dist/actors.js, built by
 * tools/build.mjs), for `ThreadedSystem.start({ registry })`.
 */
export function builtinRegistry(): string {
  return bundledUrl(import.meta.url, 'actors.js').href;
}
