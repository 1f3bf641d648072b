/**
 * Kubernetes API machinery for pocketkube, pure (no I/O, no clock, no randomness): the apiserver
 * composes these per request. A typical write:
 *   decodeBody → unknownFields (fieldValidation=Strict → strictDecodingError) → [PATCH: applyJsonPatch /
 *   applyMergePatch / applyStrategicMergePatch / serverSideApply on the stored object] → applyDefaults
 *   → prepareForCreate | prepareForUpdate → validateCreate | validateUpdate (→ invalidStatus, 422)
 *   → recordUpdate (managedFields of non-apply writes) → store → shouldRemoveAfterUpdate.
 * Reads: parseLabelSelector / parseFieldSelector + matches*, listOf, toTable (wantsTable), discovery
 * documents from resources.ts (wantsAggregatedDiscovery → aggregatedDiscoveryMediaType).
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
export * from './token-request.js';
export * from './structural.js';
export * from './crd.js';
export * from './quota.js';
