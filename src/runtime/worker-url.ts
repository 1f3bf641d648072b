import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { assertBundleFresh } from './bundle-fingerprint.js';

/**
 * Worker threads run the bundled JavaScript in dist/ (`npm run build`): a TypeScript worker would
 * load ts-node (~250 ms per thread) and an unbundled one hundreds of modules. Code running from
 * the bundle finds it beside itself; code running from sources (tests, benchmarks under
 * ts-node) finds it under the project root. Either way a bundle older than the sources beside it
 * is refused (src/runtime/bundle-fingerprint.ts), so threads never run other code than the tests.
 */
export function bundledUrl(importMetaUrl: string, bundle: string): URL {
  const here = fileURLToPath(importMetaUrl);
  const dist = here.endsWith('.js') && basenameDir(here) === 'dist' ? dirname(here) : join(projectRoot(here), 'dist');
  const target = join(dist, bundle);
  if (!existsSync(target)) throw new Error(`${target} is missing: run "npm run build" first`);
  assertBundleFresh(dirname(dist));
  return pathToFileURL(target);
}

function projectRoot(from: string): string {
  let root = dirname(from);
  while (!existsSync(join(root, 'package.json'))) {
    const parent = resolve(root, '..');
    if (parent === root) throw new Error(`no package.json above ${from}`);
    root = parent;
  }
  return root;
}

function basenameDir(file: string): string {
  const dir = dirname(file);
  return dir.slice(dir.lastIndexOf('/') + 1);
}
