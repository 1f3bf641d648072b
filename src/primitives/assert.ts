/**
 * Programmer errors crash (DESIGN.md §2: assert invariants; the actor's supervisor restarts it).
 * Operating errors (a conflict, a timeout, a missing object) are typed results, never these.
 */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}

/** The default branch of an exhaustive switch: reaching it means a value the types ruled out. */
export function assertNever(value: never, what: string): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
