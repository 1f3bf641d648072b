import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { staleBundleReason, writeSourceFingerprint, FINGERPRINT_FILE } from '../../src/runtime/bundle-fingerprint.js';
import { bundledUrl } from '../../src/runtime/worker-url.js';

const repoRoot = resolve(import.meta.dirname, '../..');

/** A project with sources and a built dist/ whose fingerprint matches them. */
function project(t: { teardown(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'pocketkube-bundle-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'package.json': '{"type":"module"}\n',
    'src/runtime/system.ts': 'export const a = 1;\n',
    'actors/echo/actor.ts': 'export const b = 2;\n',
    'tools/build.mjs': '// build\n',
    'dist/worker-main.js': '// bundle\n',
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  writeSourceFingerprint(root);
  return root;
}

/** How code under the project's sources asks for the bundle (as src/runtime/threaded.ts does). */
const fromSources = (root: string) => pathToFileURL(join(root, 'src/runtime/threaded.ts')).href;

test('a bundle built from the sources on disk is accepted, from sources and from the bundle itself', (t) => {
  const root = project(t);
  t.is(staleBundleReason(root), undefined);
  t.is(bundledUrl(fromSources(root), 'worker-main.js').href, pathToFileURL(join(root, 'dist/worker-main.js')).href);
  t.is(bundledUrl(pathToFileURL(join(root, 'dist/cli.js')).href, 'worker-main.js').href, pathToFileURL(join(root, 'dist/worker-main.js')).href);
});

test('an edited source makes the bundle stale: workers refuse to start and the message names the file and the fix', (t) => {
  const root = project(t);
  writeFileSync(join(root, 'src/runtime/system.ts'), 'export const a = 2;\n');
  const error = t.throws(() => bundledUrl(fromSources(root), 'worker-main.js'));
  t.regex(error.message, /older than its sources/);
  t.regex(error.message, /src\/runtime\/system\.ts/);
  t.regex(error.message, /run "npm run build"/);
  // Run from the bundle (dist/cli.js) beside the edited sources: refused just the same.
  const again = project(t);
  writeFileSync(join(again, 'actors/echo/actor.ts'), 'export const b = 3;\n');
  t.throws(() => bundledUrl(pathToFileURL(join(again, 'dist/cli.js')).href, 'worker-main.js'), { message: /actors\/echo\/actor\.ts.*npm run build/ });
});

test('a new or deleted source, a changed build script, and a dist/ without a fingerprint are stale too', (t) => {
  const added = project(t);
  writeFileSync(join(added, 'src/runtime/new-thing.ts'), 'export {};\n');
  t.regex(staleBundleReason(added) ?? '', /src\/runtime\/new-thing\.ts \(new\)/);

  const deleted = project(t);
  unlinkSync(join(deleted, 'actors/echo/actor.ts'));
  t.regex(staleBundleReason(deleted) ?? '', /actors\/echo\/actor\.ts \(deleted\)/);

  const script = project(t);
  writeFileSync(join(script, 'tools/build.mjs'), '// build, changed\n');
  t.regex(staleBundleReason(script) ?? '', /tools\/build\.mjs/);

  const unmarked = project(t);
  unlinkSync(join(unmarked, 'dist', FINGERPRINT_FILE));
  t.regex(staleBundleReason(unmarked) ?? '', /sources\.json is missing.*npm run build/);
});

test('a test-only change does not make the bundle stale (tests are not in it)', (t) => {
  const root = project(t);
  mkdirSync(join(root, 'test'));
  writeFileSync(join(root, 'test/x.test.ts'), 'export {};\n');
  t.is(staleBundleReason(root), undefined);
});

test('the real dist/ matches the real sources (npm test builds first; tools/build.mjs writes the fingerprint)', (t) => {
  t.is(staleBundleReason(repoRoot), undefined);
});
