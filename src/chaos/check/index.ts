export * from './history.js';
export * from './linearizability.js';
export * from './acked-writes.js';
export * from './revisions.js';
export * from './watch.js';
export * from './hashes.js';
export * from './verdict.js';
export * from './run.js';
