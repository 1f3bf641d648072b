/**
 * The CLI checks the running Node.js against package.json's `engines` before it loads anything
 * else: npm only warns about `engines`, and on an older Node the failure would be a syntax or
 * missing-API error deep in a worker thread that says nothing about the version.
 */

type Version = readonly [major: number, minor: number, patch: number];

function parseVersion(text: string, what: string): Version {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (match === null) throw new Error(`${what}: not a version: ${JSON.stringify(text)}`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * Why `running` (process.versions.node, e.g. "20.11.1") does not satisfy `engines` (package.json's
 * engines.node), or undefined when it does. Only the `>=X.Y.Z` form is understood: another form
 * in package.json is a programmer error, thrown rather than silently passed.
 */
export function nodeVersionProblem(running: string, engines: string): string | undefined {
  const range = /^>=\s*(\S+)$/.exec(engines.trim());
  if (range === null) throw new Error(`package.json engines.node must be ">=X.Y.Z" for this check, not ${JSON.stringify(engines)}`);
  const required = parseVersion(range[1]!, 'package.json engines.node');
  if (compare(parseVersion(running, 'the running Node.js'), required) >= 0) return undefined;
  return `pocketkube needs Node.js ${engines.trim()} (package.json "engines"), but this is Node.js ${running.replace(/^v/, '')}. ` +
    `Install Node.js ${required.join('.')} or newer (for example "nvm install 20 && nvm use 20") and run it again.`;
}
