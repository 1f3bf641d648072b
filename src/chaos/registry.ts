/**
 * A named, open set of things (faults, experiments): built-ins register themselves at load, and a
 * user's plugin file registers more through the same call, without editing src/.
 */
export interface Named {
  readonly name: string;
  /** One line for `chaos list` and the report. */
  readonly description: string;
}

/** Names appear on command lines and in report directories: keep them plain. */
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAX_ENTRIES = 1_000;

export class Registry<T extends Named> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly kind: string) {}

  /** Adds `entry`; a second entry under a taken name is refused (a plugin cannot shadow a built-in). */
  register(entry: T): void {
    if (!NAME.test(entry.name)) throw new Error(`${this.kind} name "${entry.name}" must be lower-case letters, digits and dashes (at most 63)`);
    if (this.entries.has(entry.name)) throw new Error(`a ${this.kind} named "${entry.name}" is already registered`);
    if (this.entries.size >= MAX_ENTRIES) throw new Error(`too many ${this.kind}s (limit ${MAX_ENTRIES})`);
    this.entries.set(entry.name, entry);
  }

  get(name: string): T | undefined {
    return this.entries.get(name);
  }

  /** Like get, but a missing name is an error naming the registered ones. */
  require(name: string): T {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new Error(`unknown ${this.kind} "${name}"; registered: ${this.names().join(', ')}`);
    return entry;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** In registration order (built-ins first). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  list(): T[] {
    return [...this.entries.values()];
  }
}
