/**
 * README.md's code runs as written: every block is either a file in examples/ (included verbatim,
 * and run here, importing the package by its name `pocketkube`) or says why it is not run; and the
 * README names no file that does not exist.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const register = pathToFileURL(join(root, 'tools/ts-node-register.mjs')).href;

interface Block {
  readonly line: number;
  /** The HTML comment just above the fence: `example: FILE` or `not run ...: REASON`. */
  readonly marker: string | undefined;
  readonly body: string;
}

function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (!lines[i]!.startsWith('```')) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never ends`);
    const marker = /^<!-- (.*) -->$/.exec(lines[i - 1] ?? '')?.[1];
    found.push({ line: i + 1, marker, body: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return found;
}

/** Shown in the README whole; the other experiment files are built-ins the README names (checked below). */
const shownExperiment = 'examples/experiments/worker-death-eviction.yaml';
const exampleFiles = [
  ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts') || f.endsWith('.sh')).map((f) => `examples/${f}`),
  // Parsed by test/chaos/experiment-file.test.ts (running one is a whole cluster: cluster-under-fire covers the engine).
  shownExperiment,
];
const builtinExperiments = readdirSync(join(root, 'examples/experiments')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));

test('the README names every built-in experiment file', (t) => {
  for (const name of builtinExperiments) t.true(readme.includes(`\`${name}\``), `README.md does not name the built-in experiment ${name}`);
});

test('every README block is an examples/ file, verbatim, or says why it is not run; every example is in the README', (t) => {
  const all = blocks(readme);
  t.true(all.length >= 5, `found only ${all.length} blocks`);
  const included: string[] = [];
  for (const block of all) {
    const where = `README.md:${block.line}`;
    if (block.marker === undefined) {
      t.fail(`${where}: a code block without a marker above it (<!-- example: examples/FILE --> or <!-- not run ...: why -->)`);
      continue;
    }
    const example = /^example: (examples\/\S+)$/.exec(block.marker)?.[1];
    if (example === undefined) {
      t.regex(block.marker, /^not run[^:]*: \S/, `${where}: the marker says neither the example file nor why the block is not run`);
      continue;
    }
    t.true(existsSync(join(root, example)), `${where}: ${example} does not exist`);
    if (!existsSync(join(root, example))) continue;
    t.is(block.body, readFileSync(join(root, example), 'utf8'), `${where}: the block differs from ${example}`);
    included.push(example);
  }
  t.deepEqual([...included].sort(), [...exampleFiles].sort(), 'each example appears in the README exactly once');
  t.is(new Set(included).size, included.length);
  for (const file of exampleFiles.filter((f) => f.endsWith('.ts'))) {
    t.regex(readFileSync(join(root, file), 'utf8'), /from 'pocketkube'/, `${file} imports the package by its name`);
    t.notRegex(readFileSync(join(root, file), 'utf8'), /from '\.\.?\//, `${file} imports no relative path`);
  }
});

/** Files the README names that only exist once something ran: `npm ci` builds dist/; `chaos run` writes the report (and with --runs/--shrink the sweep's summary and the shrunk experiment). */
const generated = new Set(['dist/index.js', 'report.md', 'report.json', 'history.jsonl', 'verdict.json', 'shrunk.yaml', 'sweep.json']);

test('the README names no file that does not exist', (t) => {
  const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => f !== '');
  const names = new Set(tracked.map((f) => basename(f)));
  const mentioned = new Set(readme.match(/[A-Za-z0-9_./-]+\.(?:ts|mts|mjs|cjs|js|md|yaml|yml|json|jsonl|sh)\b/g) ?? []);
  for (const link of readme.matchAll(/\]\(([^)#]+)\)/g)) if (!/^[a-z]+:/.test(link[1]!)) mentioned.add(link[1]!);
  t.true(mentioned.size >= 10, `found only ${[...mentioned].join(', ')}`);
  const missing = [...mentioned].filter((name) => {
    if (name === 'Node.js' || generated.has(name)) return false;
    // A path is looked up from the project root; a bare name (messages.ts: one per actor) anywhere in the tree.
    // `../manifests/...` inside an experiment file is relative to that file (examples/experiments).
    if (name.startsWith('../')) return !existsSync(join(root, 'examples/experiments', name));
    return name.includes('/') ? !existsSync(join(root, name)) : !names.has(name);
  });
  t.deepEqual(missing, []);
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 90_000): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** What each TypeScript example prints when it did its work. A new example needs a line here. */
const expected: Readonly<Record<string, RegExp>> = {
  'examples/cluster.ts': /^killed master-[123]; namespaces: after, before, default, kube-node-lease, kube-public, kube-system \(1 created after the kill\)$/m,
  'examples/etcd.ts': /^1 key\(s\) after losing master-[123]\/etcd$/m,
  'examples/operator.ts': /^widget-w1: color=blue, owned by Widget$/m,
  'examples/scheduler.ts': /^pod default\/web \(default-scheduler\): -> a; 2 feasible of 3 evaluated[\s\S]*SameTeam\(x5\)[\s\S]*^c +ok.*no: Insufficient cpu$/m,
  'examples/testkit.ts': /\{ type: 'total', value: 2 \}[\s\S]*effect: 'persist'/,
};

test('every TypeScript example has an expected output', (t) => {
  t.deepEqual(Object.keys(expected).sort(), exampleFiles.filter((f) => f.endsWith('.ts')).sort());
});

// One at a time: each starts real threads (the cluster example: three masters), and two cores are shared.
for (const [file, output] of Object.entries(expected)) {
  test.serial(`${file} runs as written and prints what it did`, async (t) => {
    const result = await run(process.execPath, ['--import', register, '--no-warnings', file]);
    t.is(result.code, 0, `${file} failed:\n${result.stderr.slice(-4_000)}`);
    t.regex(result.stdout, output);
  });
}

test.serial('examples/kubectl.sh runs as written against `pocketkube up --data-dir ~/.pocketkube`', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'pk-readme-home-'));
  const env = { ...process.env, HOME: home };
  // The README's `up` command, on free ports and an address block of its own (the defaults may be taken here).
  const network = '127.78.8';
  const up = spawn(process.execPath, [join(root, 'dist/cli.js'), 'up', '--data-dir', join(home, '.pocketkube'), '--port', '0', '--host', `${network}.100`, '--apiserver-network', network,
    '--service-network', '127.100', '--pod-network', '127.248.0.0/16'],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((done) => up.once('exit', (code) => done(code)));
  t.teardown(() => {
    up.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });
  let upErr = '';
  up.stderr.on('data', (chunk: Buffer) => { upErr += chunk.toString(); });
  await new Promise<void>((ready, fail) => {
    createInterface({ input: up.stdout }).on('line', (line) => { if (line.startsWith('ready:')) ready(); });
    void exited.then((code) => fail(new Error(`pocketkube up exited (${String(code)}) before ready: ${upErr}`)));
  });
  const result = await run('bash', ['examples/kubectl.sh'], env);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^namespace\/demo created$/m);
  t.regex(result.stdout, /^deployment\.apps\/web created$/m);
  t.regex(result.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
  t.regex(result.stdout, /^web\s+\S+\s+\d+\s+\d+\s+\S+\s+nginx\s+nginx:1\.27\s+app=web$/m);
  up.kill('SIGINT');
  t.is(await exited, 0, upErr);
});

test.serial('the published declarations type-check the examples as a user project sees the package (exports types)', async (t) => {
  // A copy of the package as installed: package.json (its exports), the declarations that
  // `prepare` writes, the examples; no tsconfig paths, so 'pocketkube' resolves through exports.
  const copy = mkdtempSync(join(tmpdir(), 'pk-types-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const emit = await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(copy, 'dist/types')], process.env, 110_000);
  t.is(emit.code, 0, emit.stdout + emit.stderr);
  cpSync(join(root, 'package.json'), join(copy, 'package.json'));
  cpSync(join(root, 'examples'), join(copy, 'examples'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  const examples = exampleFiles.filter((f) => f.endsWith('.ts'));
  writeFileSync(join(copy, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: ['node'] },
    files: examples,
  }));
  const exportsTypes = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: { '.': { types: string } } }).exports['.'].types;
  t.true(existsSync(join(copy, exportsTypes)), `package.json exports types ${exportsTypes} is not what tsconfig.build.json writes`);
  const check = await run(process.execPath, [tsc, '-p', join(copy, 'tsconfig.json'), '--traceResolution'], process.env, 60_000);
  t.is(check.code, 0, check.stdout.split('\n').filter((l) => l.includes('error')).join('\n'));
  t.regex(check.stdout, new RegExp(`Module name 'pocketkube' was successfully resolved to '${join(copy, exportsTypes).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
});
