import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

/** Runs the rules as `npm run deps` does, in `cwd`; returns the violations depcruise reported. */
async function cruise(cwd: string): Promise<Violation[]> {
  const args = [depcruise, 'src', 'actors', 'tools', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'];
  // depcruise exits non-zero when it finds errors; its JSON report is on stdout either way.
  const { stdout } = await run(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }).catch((error: { stdout?: string; stderr?: string }) => {
    if (!error.stdout) throw new Error(`depcruise failed: ${error.stderr ?? String(error)}`);
    return { stdout: error.stdout };
  });
  const report = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

/** Scratch imports that break one rule each, relative to the project root. */
const scratch: readonly { readonly file: string; readonly source: string; readonly rule: string; readonly to: string }[] = [
  { file: 'src/chaos/zz-entry.ts', source: "import '../index.js';\n", rule: 'layer-chaos', to: 'src/index.ts' },
  { file: 'src/store/zz-upward.ts', source: "import '../cluster/index.js';\n", rule: 'layer-store', to: 'src/cluster/index.ts' },
  { file: 'src/runtime/zz-actors.ts', source: "import '../../actors/registry.js';\n", rule: 'no-actors-below-composition', to: 'actors/registry.ts' },
  { file: 'src/api/zz-test-helper.ts', source: "import '../../test/fixtures/paths.js';\n", rule: 'no-test-helpers-in-shipped-code', to: 'test/fixtures/paths.ts' },
  { file: 'src/primitives/zz-import.ts', source: "import '../transport/codec.js';\n", rule: 'layer-primitives', to: 'src/transport/codec.ts' },
  { file: 'actors/echo/zz-shell.ts', source: "import '../etcd/actor.js';\n", rule: 'shells-do-not-import-shells', to: 'actors/etcd/actor.ts' },
  { file: 'src/zz-unplaced/a.ts', source: "import '../api/index.js';\n", rule: 'unplaced-folder', to: 'src/api/index.ts' },
  // src/apiserver imports src/client (its protocol speaks the client's types): the way back is a cycle.
  { file: 'src/client/zz-cycle.ts', source: "import '../apiserver/core.js';\n", rule: 'no-folder-cycles', to: 'src/apiserver' },
];

test('the real tree follows the layer rules', async (t) => {
  const violations = await cruise(root);
  t.deepEqual(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), []);
});

test('the rules reject an upward import, actors from below, a test helper, an import from primitives, shell to shell, an unplaced folder, a folder cycle', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'pocketkube-deps-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  for (const entry of ['src', 'actors', 'tools', 'test/fixtures', 'types', 'tsconfig.json', 'package.json', '.dependency-cruiser.cjs']) {
    cpSync(join(root, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  for (const { file, source } of scratch) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    writeFileSync(join(copy, file), source);
  }
  const violations = await cruise(copy);
  for (const { file, rule, to } of scratch) {
    const caught = violations.some((v) => v.rule.name === rule && (v.from === file || v.from.startsWith(dirname(file))) && v.to.startsWith(to));
    t.true(caught, `${rule} should reject ${file} -> ${to}; got ${violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`).join('; ')}`);
  }
  // Only the scratch files break rules: the copy is otherwise the real tree, which passes.
  const sources = new Set(scratch.map((s) => dirname(s.file)));
  const stray = violations.filter((v) => v.rule.name !== 'no-folder-cycles' && !scratch.some((s) => s.file === v.from));
  t.deepEqual(stray, [], `violations not caused by a scratch file (${[...sources].join(', ')})`);
});
