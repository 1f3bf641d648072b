import type { AnyActorDefinition } from '../src/runtime/actor.js';

/**
 * Built-in actor kinds, loaded on demand (a worker thread imports only the kinds it hosts).
 * A new kind is one folder under actors/ and one entry here.
 */
export const builtinActors: Readonly<Record<string, () => Promise<AnyActorDefinition>>> = {
  echo: async () => (await import('./echo/actor.js')).echoActor as AnyActorDefinition,
  etcd: async () => (await import('./etcd/actor.js')).etcdActor as AnyActorDefinition,
  apiserver: async () => (await import('./apiserver/actor.js')).apiserverActor as AnyActorDefinition,
};

export async function loadDefinition(kind: string, moduleUrl?: string): Promise<AnyActorDefinition> {
  if (moduleUrl) {
    const loaded = (await import(moduleUrl)) as { definition?: AnyActorDefinition };
    if (!loaded.definition) throw new Error(`actor module ${moduleUrl} does not export "definition"`);
    return loaded.definition;
  }
  const load = builtinActors[kind];
  if (!load) throw new Error(`unknown actor kind ${JSON.stringify(kind)}; built-in kinds: ${Object.keys(builtinActors).join(', ')}`);
  return load();
}

export async function loadDefinitions(kinds: readonly string[]): Promise<Record<string, AnyActorDefinition>> {
  const out: Record<string, AnyActorDefinition> = {};
  for (const kind of kinds) out[kind] = await loadDefinition(kind);
  return out;
}
