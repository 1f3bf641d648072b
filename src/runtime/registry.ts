import type { AnyActorDefinition } from './actor.js';
import type { DefinitionLoader } from './thread-host.js';

/**
 * Actor kinds by name, each loaded on demand (a worker thread imports only the kinds it hosts).
 * The runtime is given one (DESIGN.md §2: it never imports actors/); composition names it.
 */
export type ActorRegistry = Readonly<Record<string, () => Promise<AnyActorDefinition>>>;

/** What a registry module (the `registry` URL given to `ThreadedSystem.start`) exports. */
export interface RegistryModule {
  readonly actors: ActorRegistry;
}

/**
 * The loader a thread uses: an actor spec's own `module` (exporting `definition`) wins, else the
 * kind is looked up in the registry module at `registryUrl`, imported once, on first use.
 */
export function registryLoader(registryUrl: string): DefinitionLoader {
  let registry: Promise<ActorRegistry> | undefined;
  return async (kind, moduleUrl) => {
    if (moduleUrl) {
      const loaded = (await import(moduleUrl)) as { definition?: AnyActorDefinition };
      if (!loaded.definition) throw new Error(`actor module ${moduleUrl} does not export "definition"`);
      return loaded.definition;
    }
    registry ??= import(registryUrl).then((loaded: Partial<RegistryModule>) => {
      if (!loaded.actors) throw new Error(`actor registry ${registryUrl} does not export "actors"`);
      return loaded.actors;
    });
    const actors = await registry;
    const load = actors[kind];
    if (!load) throw new Error(`unknown actor kind ${JSON.stringify(kind)}; kinds in ${registryUrl}: ${Object.keys(actors).join(', ')}`);
    return load();
  };
}
