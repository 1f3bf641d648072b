/** The pure controller framework: types, cache views, expectations, ownership, pod predicates. */
export * from './types.js';
export * from './cache-view.js';
export * from './expectations.js';
export * from './owners.js';
export * from './pods.js';
export * from './intstr.js';
export * from './hash.js';
export * from './status.js';
export * from './registry.js';
export * from './taints.js';
