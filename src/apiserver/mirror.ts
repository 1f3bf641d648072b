/**
 * A resource kept in memory from list + watch-cache events (an informer inside the apiserver): the
 * RBAC objects the authorizer reads and the pods the Node authorizer's graph follows. Entries only
 * move forward in revision, so a list and events may arrive in any order.
 */
import type { JsonObject, ResourceInfo } from '../api/index.js';
import type { ObjectStorage } from './storage.js';
import type { WatchCache } from './watch-cache.js';

interface Entry {
  readonly object: JsonObject | undefined;
  readonly revision: number;
}

export class Mirror {
  private readonly entries = new Map<string, Entry>();
  private changes = 0;
  private stopListening: (() => void) | undefined;

  constructor(private readonly cache: WatchCache, private readonly onChange?: (key: string, object: JsonObject | undefined) => void) {}

  get info(): ResourceInfo {
    return this.cache.info;
  }

  /** Bumps on every change: a cheap version for consumers that rebuild derived state. */
  get version(): number {
    return this.changes;
  }

  async start(storage: ObjectStorage): Promise<boolean> {
    if (!(await this.cache.start())) return false;
    this.stopListening ??= this.cache.listen((e) => this.set(keyOf(e.object), e.type === 'DELETED' ? undefined : e.object, e.revision));
    const listed = await storage.list(this.cache.info, undefined);
    if (!listed.ok) return false;
    const seen = new Set<string>();
    for (const s of listed.value.items) {
      seen.add(keyOf(s.object));
      this.set(keyOf(s.object), s.object, s.modRevision);
    }
    for (const [k, e] of this.entries) if (!seen.has(k) && e.revision <= listed.value.revision) this.set(k, undefined, listed.value.revision);
    return true;
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  values(): JsonObject[] {
    const out: JsonObject[] = [];
    for (const e of this.entries.values()) if (e.object !== undefined) out.push(e.object);
    return out;
  }

  private set(key: string, object: JsonObject | undefined, revision: number): void {
    const cur = this.entries.get(key);
    if (cur !== undefined && cur.revision >= revision) return;
    // Deleted keys are forgotten (bounded memory); only a list racing a delete at start could resurrect one.
    if (object === undefined) this.entries.delete(key);
    else this.entries.set(key, { object, revision });
    this.changes++;
    this.onChange?.(key, object);
  }
}

function keyOf(o: JsonObject): string {
  const m = (o['metadata'] ?? {}) as Record<string, unknown>;
  return `${String(m['namespace'] ?? '')}/${String(m['name'] ?? '')}`;
}
