import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Worker threads run the bundled JavaScript in dist/ (`npm run build`): a TypeScript worker would
 * load ts-node (~250 ms per thread) and an unbundled one hundreds of modules. Code running from
 * the bundle finds it beside itself; code running from sources (tests, benchmarks under
 * ts-node) finds it under the project root.
 */
export function bundledUrl(importMetaUrl: string, bundle: string): URL {
  const here = fileURLToPath(importMetaUrl);
  if (here.endsWith('.js') && basenameDir(here) === 'dist') return new URL(`./${bundle}`, importMetaUrl);
  let root = dirname(here);
  while (!existsSync(join(root, 'package.json'))) {
    const parent = resolve(root, '..');
    if (parent === root) throw new Error(`no package.json above ${here}`);
    root = parent;
  }
  const target = join(root, 'dist', bundle);
  if (!existsSync(target)) throw new Error(`${target} is missing: run "npm run build" first`);
  return pathToFileURL(target);
}

function basenameDir(file: string): string {
  const dir = dirname(file);
  return dir.slice(dir.lastIndexOf('/') + 1);
}
