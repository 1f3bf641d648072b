/**
 * A user's own controller (an "operator"): the same ControllerDefinition the built-in controllers
 * are, plus the URL of the ES module that exports it, since a definition holds functions and
 * cannot be sent to a worker thread: the operator actor on each master imports that module
 * itself and finds the definition by its brand and name. Typically
 * `export const widgets = defineOperator(import.meta.url, { name: 'widgets', ... })`.
 */
import { ControllerRegistry } from './framework/registry.js';
import type { ControllerDefinition } from './framework/types.js';

/** Found again after the module is imported in another thread (another copy of this file there). */
const brand = Symbol.for('pocketkube.operator');

export interface Operator {
  /** A file: URL of the module exporting this value (TypeScript when the process runs under a TS loader). */
  readonly module: string;
  readonly definition: ControllerDefinition;
  readonly [brand]: true;
}

export function defineOperator(moduleUrl: string | URL, definition: ControllerDefinition): Operator {
  const module = String(moduleUrl);
  if (!module.startsWith('file:')) throw new Error(`operator ${definition.name}: the module must be a file: URL (pass import.meta.url), not ${JSON.stringify(module)}`);
  // The registry's checks (name, workers, primary kind watched), now rather than on the masters.
  new ControllerRegistry().register(definition);
  return Object.freeze({ module, definition, [brand]: true as const });
}

export function isOperator(value: unknown): value is Operator {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/** The operator named `name` among a module's exports (undefined: none). */
export function findOperator(exports: Readonly<Record<string, unknown>>, name: string): Operator | undefined {
  return Object.values(exports).find((v): v is Operator => isOperator(v) && v.definition.name === name);
}

/** Each operator's Lease, beside the controller-manager's (one active instance per operator). */
export function operatorLease(name: string): { readonly namespace: string; readonly name: string } {
  return { namespace: 'kube-system', name: `operator-${name}` };
}

/** The actor name on each master (`master-1/operator-widgets`). */
export function operatorActorName(name: string): string {
  return `operator-${name}`;
}
