import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Worker threads run compiled JavaScript from dist/ (a TypeScript worker would load ts-node:
 * ~250 ms per thread instead of ~35 ms). From the sources (tests, benchmarks under ts-node) this
 * maps to the compiled twin of the same file.
 */
export function compiledUrl(importMetaUrl: string, relativeJs: string): URL {
  const here = fileURLToPath(importMetaUrl);
  if (here.endsWith('.js')) return new URL(relativeJs, importMetaUrl);
  let root = dirname(here);
  while (!existsSync(join(root, 'package.json'))) {
    const parent = resolve(root, '..');
    if (parent === root) throw new Error(`no package.json above ${here}`);
    root = parent;
  }
  const sourceDir = dirname(here).slice(root.length);
  const target = join(root, 'dist', sourceDir, relativeJs);
  if (!existsSync(target)) throw new Error(`compiled worker ${target} is missing: run "npm run build" first`);
  return pathToFileURL(target);
}
