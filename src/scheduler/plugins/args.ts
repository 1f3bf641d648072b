/** Plugin argument checking: upstream decodes args strictly, so an unknown field is an error. */
import { isRecord, type JsonObject } from '../../api/index.js';
import type { PluginBase } from '../types.js';

export type PluginBuild = { readonly ok: true; readonly plugin: PluginBase } | { readonly ok: false; readonly error: string };
export type PluginFactory = (args: JsonObject | undefined) => PluginBuild;

export const built = (plugin: PluginBase): PluginBuild => ({ ok: true, plugin });
export const refused = (name: string, error: string): PluginBuild => ({ ok: false, error: `plugin ${name}: ${error}` });

/** Undefined when `args` only has `allowed` keys (apiVersion/kind of a typed args object are fine). */
export function unknownArgKey(args: JsonObject | undefined, allowed: readonly string[]): string | undefined {
  if (args === undefined) return undefined;
  return Object.keys(args).find((k) => k !== 'apiVersion' && k !== 'kind' && !allowed.includes(k));
}

export function noArgs(name: string, make: () => PluginBase): PluginFactory {
  return (args) => {
    if (args !== undefined && !isRecord(args)) return refused(name, 'args must be an object');
    const bad = unknownArgKey(args, []);
    return bad === undefined ? built(make()) : refused(name, `unknown field ${JSON.stringify(bad)} in args`);
  };
}
