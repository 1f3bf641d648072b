// Builds the runnable JavaScript: one bundle per entry point (worker threads start ~3x faster
// from one file than from hundreds of modules), code-split so each actor kind loads on demand.
// Type-checking is `npm run typecheck`; this step only transpiles. With --types it also writes the
// package's declarations (dist/types, what package.json `exports` gives TypeScript users): `prepare`
// (npm ci, npm pack, an install from git) passes it; a plain `npm run build` skips the ~15 s of tsc,
// since the project's own type-check reads the sources (tsconfig.json `paths`).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const withTypes = process.argv.includes('--types');
// A plain build keeps the declarations of the last --types build (npm start and npm test rebuild
// after npm ci, and must not take the package's types away); --types writes them anew.
for (const entry of existsSync('dist') ? readdirSync('dist') : []) {
  if (entry !== 'types' || withTypes) rmSync(join('dist', entry), { recursive: true, force: true });
}
await build({
  // actors.js is the built-in registry the threads are given (actors/kinds.ts; its URL is
  // actors/registry.ts builtinRegistry()); index.js is the package entry (`import ... from 'pocketkube'`).
  entryPoints: { 'worker-main': 'src/runtime/worker-main.ts', actors: 'actors/kinds.ts', cli: 'src/cli/main.ts', index: 'src/index.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // rxjs resolves to its CommonJS build under the "node" condition, which cannot be tree-shaken:
  // its ES module build brings ~12 KB instead of ~340 KB into every thread.
  // msgpackr's Node entry probes for an optional native addon on every load (file-system lookups
  // in every thread); its portable entry is the same codec without the probe.
  alias: { rxjs: './node_modules/rxjs/dist/esm/index.js', msgpackr: './node_modules/msgpackr/index.js' },
  minifyWhitespace: true,
  minifySyntax: true,
  // ws probes for its optional native addons inside try/catch; they are not installed, and ws falls back to JavaScript.
  external: ['msgpackr-extract', 'bufferutil', 'utf-8-validate'],
  // CommonJS dependencies call require(); give the ES module bundle a real one.
  banner: { js: "import { createRequire as __pkCreateRequire } from 'node:module'; const require = __pkCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The protobuf schemas (src/apiserver/protobuf.ts reads them beside the chunk that holds it: dist/proto/).
cpSync('src/apiserver/proto', 'dist/proto', { recursive: true });
// The built-in OpenAPI schemas (src/apiserver/openapi.ts reads them the same way: dist/openapi/).
cpSync('src/apiserver/openapi', 'dist/openapi', { recursive: true });

// Record what dist/ was built from, so that whatever spawns workers can refuse a stale bundle.
// The fingerprint code is the runtime's own (src/runtime/bundle-fingerprint.ts), bundled in memory.
const fingerprint = await build({ entryPoints: ['src/runtime/bundle-fingerprint.ts'], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'warning' });
const { writeSourceFingerprint } = await import(`data:text/javascript;base64,${Buffer.from(fingerprint.outputFiles[0].text).toString('base64')}`);
writeSourceFingerprint(process.cwd());

if (withTypes) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
