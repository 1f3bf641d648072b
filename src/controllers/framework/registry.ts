/**
 * The controller registry (DESIGN §2: extension points are small interfaces plus a registry).
 * The controller-manager runs every registered controller; a user's operator registers its own
 * definition the same way.
 */
import type { ControllerDefinition } from './types.js';

const maxControllers = 256;

export class ControllerRegistry {
  private readonly byName = new Map<string, ControllerDefinition>();

  register(def: ControllerDefinition): this {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(def.name)) throw new Error(`controller name ${JSON.stringify(def.name)} must be lower-case words joined by -`);
    if (this.byName.has(def.name)) throw new Error(`controller ${def.name} is already registered`);
    if (this.byName.size >= maxControllers) throw new Error(`more than ${maxControllers} controllers`);
    if (!(Number.isInteger(def.workers) && def.workers >= 1)) throw new Error(`controller ${def.name}: workers must be a positive integer`);
    const primary = def.primary;
    if (primary !== undefined && !def.watches.some((w) => w.kind.apiVersion === primary.apiVersion && w.kind.kind === primary.kind)) {
      throw new Error(`controller ${def.name} must watch its primary kind ${primary.apiVersion}/${primary.kind}`);
    }
    this.byName.set(def.name, def);
    return this;
  }

  get(name: string): ControllerDefinition | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): ControllerDefinition[] {
    return [...this.byName.values()];
  }
}
