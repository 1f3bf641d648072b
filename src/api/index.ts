/**
 * Kubernetes API machinery for pocketkube, pure (no I/O, no clock, no randomness): the apiserver
 * composes these per request. A typical write:
 *   decodeBody → unknownFields (Strict) → applyDefaults → prepareForCreate/Update → validateCreate/Update
 *   → recordUpdate (managedFields) → store; PATCH first runs applyJsonPatch / applyMergePatch /
 *   applyStrategicMergePatch / serverSideApply on the stored object.
 */
export * from './types.js';
export * from './status.js';
export * from './names.js';
export * from './quantity.js';
export * from './time.js';
export * from './resources.js';
export * from './selectors.js';
export * from './patch.js';
export * from './apply.js';
export * from './schema.js';
export * from './defaults.js';
export * from './validation.js';
export * from './objects.js';
export * from './tables.js';
export * from './manifest.js';
export * from './subresources.js';
