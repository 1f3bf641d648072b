import { bundledUrl } from '../src/runtime/worker-url.js';

/**
 * The URL of the built-in registry as worker threads load it (dist/actors.js, compiled from
 * actors/kinds.ts by tools/build.mjs), for `ThreadedSystem.start({ registry })`.
 */
export function builtinRegistry(): string {
  return bundledUrl(import.meta.url, 'actors.js').href;
}
