import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const register = pathToFileURL(resolve('tools/ts-node-register.mjs')).href;

export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import', register, '--no-warnings'],
  timeout: '120s',
  workerThreads: false,
  concurrency: 2,
};
