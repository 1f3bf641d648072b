#!/usr/bin/env node
// The `pocketkube` command. Only the Node.js version check is loaded before it passes: the
// program (commander, the cluster, the chaos code) is imported once the version is known to work.
import packageJson from '../../package.json' with { type: 'json' };
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node, packageJson.engines.node);
if (problem !== undefined) {
  console.error(`pocketkube: ${problem}`);
  process.exit(1);
}
await import('./program.js');
