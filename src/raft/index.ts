export * from './types.js';
export * from './messages.js';
export * from './confchange.js';
export * from './node.js';
export * from './sessions.js';
