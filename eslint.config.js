import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Pure cores compute; shells perform (DESIGN.md §2). These folders may not touch threads,
// timers, sockets, the disk, the wall clock or ambient randomness.
const pureCores = ['src/raft/**', 'src/store/**', 'src/api/**', 'src/chaos/check/**', 'src/controllers/**', 'src/etcd/**', 'src/scheduler/**'];
const ioModules = [
  'worker_threads', 'node:worker_threads', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises',
  'net', 'node:net', 'tls', 'node:tls', 'http', 'node:http', 'https', 'node:https', 'dgram', 'node:dgram',
  'timers', 'node:timers', 'timers/promises', 'node:timers/promises', 'child_process', 'node:child_process',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench-out/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: pureCores,
    ignores: ['src/store/disk/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules.map((name) => ({ name, message: 'pure cores take I/O through an injected interface (DESIGN.md §2)' })) }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'use the injected Clock' },
        { name: 'setInterval', message: 'use the injected Clock' },
        { name: 'setImmediate', message: 'use the injected Clock' },
        { name: 'Date', message: 'use the injected Clock' },
        { name: 'performance', message: 'use the injected Clock' },
        { name: 'process', message: 'pure cores take configuration as parameters' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'use the injected seeded PRNG' }],
    },
  },
);
