// Runs ava with its TAP reporter, passes the TAP through, and ends with the plain line
// `N passed, N failed` that CI reads. Exits non-zero when anything failed or ava itself failed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const avaCli = resolve('node_modules/ava/entrypoints/cli.mjs');
const timeoutFix = pathToFileURL(resolve('tools/ava-tap-timeout-fix.mjs')).href;
const args = ['--import', timeoutFix, avaCli, '--tap', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let skipped = 0;
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(line + '\n');
  if (/^ok \d+/.test(line)) {
    if (/# SKIP/i.test(line)) skipped += 1;
    else passed += 1;
  } else if (/^not ok \d+/.test(line)) {
    if (/# TODO/i.test(line)) skipped += 1;
    else failed += 1;
  }
});
child.on('close', (code) => {
  if (code !== 0 && failed === 0) failed = 1; // ava crashed or timed out outside any test
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || code !== 0 ? 1 : 0);
});
