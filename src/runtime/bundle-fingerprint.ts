import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Worker threads run the bundle in dist/, while tests and `ts-node` run the TypeScript: a bundle
 * older than its sources would test yesterday's code. tools/build.mjs records a fingerprint of
 * the sources it bundled (a hash per file) in dist/; everything that spawns workers compares it
 * with the sources on disk first and refuses a stale bundle, saying how to rebuild.
 */
export const FINGERPRINT_FILE = 'sources.json';

/** What goes into the bundle: the TypeScript under these folders, and the build script itself. */
const SOURCE_DIRS = ['src', 'actors'];
const SOURCE_FILES = ['tools/build.mjs'];
/** A project has a few hundred sources; a walk that finds more is looking at the wrong tree. */
const MAX_SOURCES = 20_000;

interface Fingerprint {
  readonly version: 1;
  /** Project-relative path (forward slashes) -> sha256 of its contents, hex, first 16 digits. */
  readonly files: Readonly<Record<string, string>>;
}

function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(path);
    if (out.length > MAX_SOURCES) throw new Error(`more than ${MAX_SOURCES} sources under ${dir}`);
  }
}

/** Hashes of the project's bundled sources now, by project-relative path. */
function sourceFingerprint(root: string): Record<string, string> {
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) if (existsSync(join(root, dir))) walk(join(root, dir), files);
  for (const file of SOURCE_FILES) if (existsSync(join(root, file))) files.push(join(root, file));
  const out: Record<string, string> = {};
  for (const file of files.sort()) out[relative(root, file).split(sep).join('/')] = hashFile(file);
  return out;
}

/** Called by tools/build.mjs after bundling: records what dist/ was built from. */
export function writeSourceFingerprint(root: string): void {
  const fingerprint: Fingerprint = { version: 1, files: sourceFingerprint(root) };
  writeFileSync(join(root, 'dist', FINGERPRINT_FILE), JSON.stringify(fingerprint, null, 1) + '\n');
}

/**
 * Why dist/ under `root` must not run (it is older than the sources, or unmarked), or undefined
 * when it matches them. A tree without sources (an installed package) has nothing to compare.
 */
export function staleBundleReason(root: string): string | undefined {
  if (!SOURCE_DIRS.some((dir) => existsSync(join(root, dir)))) return undefined;
  const recordedFile = join(root, 'dist', FINGERPRINT_FILE);
  const rebuild = 'run "npm run build"';
  if (!existsSync(recordedFile)) return `${recordedFile} is missing, so dist/ cannot be checked against the sources: ${rebuild}`;
  let recorded: Fingerprint;
  try {
    recorded = JSON.parse(readFileSync(recordedFile, 'utf8')) as Fingerprint;
  } catch (error) {
    return `${recordedFile} is unreadable (${String(error)}): ${rebuild}`;
  }
  if (recorded.version !== 1 || typeof recorded.files !== 'object' || recorded.files === null) return `${recordedFile} has an unknown format: ${rebuild}`;
  const now = sourceFingerprint(root);
  const changed: string[] = [];
  for (const [path, hash] of Object.entries(now)) {
    if (recorded.files[path] === undefined) changed.push(`${path} (new)`);
    else if (recorded.files[path] !== hash) changed.push(path);
  }
  for (const path of Object.keys(recorded.files)) if (now[path] === undefined) changed.push(`${path} (deleted)`);
  if (changed.length === 0) return undefined;
  const shown = changed.slice(0, 5).join(', ') + (changed.length > 5 ? `, and ${changed.length - 5} more` : '');
  return `dist/ is older than its sources (worker threads would run stale code); changed since the last build: ${shown}. Fix: ${rebuild}`;
}

const checked = new Map<string, string | undefined>();

/** Throws when dist/ under `root` is stale; checked once per process and root. */
export function assertBundleFresh(root: string): void {
  if (!checked.has(root)) checked.set(root, staleBundleReason(root));
  const reason = checked.get(root);
  if (reason !== undefined) throw new Error(reason);
}
