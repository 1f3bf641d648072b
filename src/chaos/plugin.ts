/**
 * `--plugin FILE`: a user's module that registers faults and experiments. The module exports
 * `register(api)` (named or default); it is handed the registries rather than importing them, so
 * it works whether pocketkube runs from its bundle (dist/) or from sources: a plugin importing
 * pocketkube's modules itself would get copies with their own, empty registries.
 *
 * .js/.mjs files are imported as they are. A .ts file is bundled first with esbuild (the repo's
 * build tool, tools/build.mjs), into a temporary .mjs beside it so that its package imports still
 * resolve, imported, and removed; type imports from pocketkube vanish in the bundle.
 */
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { controlPlaneFaultRegistry } from './cluster/run.js';
import { etcdFaultRegistry } from './etcd/faults.js';
import { experimentRegistry } from './experiments.js';

export interface PluginApi {
  /** Faults on the 3-member etcd: `etcd-<name>` runs one. */
  readonly etcdFaults: typeof etcdFaultRegistry;
  /** Faults on the serving master of the 3-master control plane: `<name>` runs one. */
  readonly controlPlaneFaults: typeof controlPlaneFaultRegistry;
  /** Whole experiments with their own run(). */
  readonly experiments: typeof experimentRegistry;
}

export type PluginRegister = (api: PluginApi) => void | Promise<void>;

export const pluginApi: PluginApi = { etcdFaults: etcdFaultRegistry, controlPlaneFaults: controlPlaneFaultRegistry, experiments: experimentRegistry };

const EXTENSIONS = ['.js', '.mjs', '.ts', '.mts'];

/** Imports `file` and runs its register(); returns the names it added, for the log. */
export async function loadPlugin(file: string): Promise<string[]> {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`plugin ${file} does not exist`);
  const ext = extname(path);
  if (!EXTENSIONS.includes(ext)) throw new Error(`plugin ${file}: expected a ${EXTENSIONS.join(', ')} file`);
  const module = (ext === '.ts' || ext === '.mts' ? await importTypeScript(path) : await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const register = typeof module['register'] === 'function' ? module['register'] : module['default'];
  if (typeof register !== 'function') throw new Error(`plugin ${file} exports no register(api) function (named "register" or default)`);
  const before = names();
  await (register as PluginRegister)(pluginApi);
  return names().filter((n) => !before.includes(n));
}

function names(): string[] {
  return [
    ...etcdFaultRegistry.names().map((n) => `etcd fault ${n}`),
    ...controlPlaneFaultRegistry.names().map((n) => `control-plane fault ${n}`),
    ...experimentRegistry.names().map((n) => `experiment ${n}`),
  ];
}

async function importTypeScript(path: string): Promise<unknown> {
  let esbuild: typeof import('esbuild');
  try {
    // A specifier the bundler cannot see: the CLI bundle must load the installed esbuild, not a copy.
    const specifier: string = 'esbuild';
    esbuild = (await import(specifier)) as typeof import('esbuild');
  } catch {
    throw new Error(`plugin ${path}: a .ts plugin needs esbuild (a dev dependency of pocketkube); install it, or compile the plugin to .js`);
  }
  const out = join(dirname(path), `.${basename(path, extname(path))}.${process.pid}.pocketkube-plugin.mjs`);
  try {
    await esbuild.build({ entryPoints: [path], outfile: out, bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'error' });
    return await import(pathToFileURL(out).href);
  } finally {
    rmSync(out, { force: true });
  }
}
