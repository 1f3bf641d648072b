/**
 * This apiserver's dynamic resource table: the custom resources of the established
 * CustomResourceDefinitions it follows from the store (a Mirror over the CRDs), so that every
 * apiserver of the cluster serves them without talking to the others. It also does the work of
 * apiextensions-apiserver's controllers, in-core: the CRD's status (names, Established) on each
 * write, and the cleanup of a deleted CRD's objects before its finalizer goes.
 */
import {
  asArray, asRecord, asString, crdCleanupFinalizer, crdStatus, customResourceInfos, deepEqual, formatRfc3339, invalidStatus,
  type JsonObject, lookupResource, pruneStructural, type ResourceInfo, validateStructural,
} from '../api/index.js';
import type { Clock } from '../primitives/clock.js';
import { Mirror } from './mirror.js';
import type { Registry } from './registry.js';
import { failOf, okOf, type ObjectStorage, type Outcome } from './storage.js';
import type { WatchCache } from './watch-cache.js';

const crdInfo = lookupResource('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;

/** Wait before trying again a cleanup that left objects behind (their own finalizers) or failed. */
const crdCleanupRetryMs = 500;

export interface CustomResourcesOptions {
  readonly storage: ObjectStorage;
  readonly clock: Clock;
  readonly cacheFor: (info: ResourceInfo) => WatchCache;
  /** Stops and forgets a resource's watch cache (its CRD is gone). */
  readonly dropCache: (info: ResourceInfo) => void;
}

const nameOf = (o: JsonObject): string => asString(asRecord(o['metadata'])?.['name']) ?? '';

export class CustomResources {
  /** group/version/resource → info, for the established CRDs. */
  private readonly byGvr = new Map<string, ResourceInfo>();
  /** CRD name → the infos it contributes. */
  private readonly byCrd = new Map<string, ResourceInfo[]>();
  private mirror: Mirror | undefined;
  private registry: Registry | undefined;
  private readonly cleaning = new Set<string>();
  private stopped = false;
  private changes = 0;

  constructor(private readonly o: CustomResourcesOptions) {}

  /** Follows the CRDs of the store; true once the first list succeeded. */
  start(registry: Registry): Promise<boolean> {
    this.registry = registry;
    this.mirror = new Mirror({
      cache: this.o.cacheFor(crdInfo), storage: this.o.storage, clock: this.o.clock,
      onChange: (_key, crd) => this.onChange(_key, crd),
    });
    return this.mirror.start();
  }

  stop(): void {
    this.stopped = true;
    this.mirror?.stop();
  }

  /** Bumps whenever the served set changes. */
  get version(): number {
    return this.changes;
  }

  get synced(): boolean {
    return this.mirror?.synced ?? false;
  }

  lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
    return this.byGvr.get(`${group}/${version}/${resource}`);
  }

  /** Every served custom resource (discovery). */
  served(): ResourceInfo[] {
    return [...this.byGvr.values()];
  }

  /**
   * The registry's kind-specific preparation: a CRD gets its cleanup finalizer and its status; a
   * custom resource is pruned to its schema and validated against it (422 with field causes).
   */
  async prepare(info: ResourceInfo, obj: JsonObject, old: JsonObject | undefined): Promise<Outcome<JsonObject>> {
    if (info === crdInfo) return this.prepareCrd(obj, old);
    if (info.custom === undefined) return okOf(obj);
    const pruned = pruneStructural(info.custom.schema, obj);
    const causes = validateStructural(info.custom.schema, pruned);
    if (causes.length > 0) return failOf(invalidStatus(pruned, causes));
    return okOf(old === undefined ? pruned : withGeneration(info, pruned, old));
  }

  private async prepareCrd(obj: JsonObject, old: JsonObject | undefined): Promise<Outcome<JsonObject>> {
    const meta = { ...(asRecord(obj['metadata']) ?? {}) };
    const finalizers = asArray(meta['finalizers']);
    if (old === undefined && meta['deletionTimestamp'] === undefined && !finalizers.includes(crdCleanupFinalizer)) {
      meta['finalizers'] = [...finalizers, crdCleanupFinalizer];
    }
    const listed = await this.o.storage.list(crdInfo, undefined);
    if (!listed.ok) return listed;
    const others = listed.value.items.map((s) => s.object).filter((o) => nameOf(o) !== nameOf(obj));
    const status = crdStatus(obj, others, formatRfc3339(this.o.clock.wallNow()), old);
    return okOf({ ...obj, metadata: meta, status });
  }

  private onChange(key: string, crd: JsonObject | undefined): void {
    const name = key.split('/')[1] ?? '';
    const before = this.byCrd.get(name) ?? [];
    for (const i of before) this.byGvr.delete(`${i.group}/${i.version}/${i.resource}`);
    const after = crd === undefined ? [] : customResourceInfos(crd);
    for (const i of after) this.byGvr.set(`${i.group}/${i.version}/${i.resource}`, i);
    if (after.length === 0) this.byCrd.delete(name);
    else this.byCrd.set(name, after);
    // A served version's cache follows the objects' key prefix; once nothing serves it, it stops.
    if (after.length === 0 && before.length > 0) this.o.dropCache(before[0]!);
    this.changes++;
    if (crd !== undefined && asRecord(crd['metadata'])?.['deletionTimestamp'] !== undefined
      && asArray(asRecord(crd['metadata'])?.['finalizers']).includes(crdCleanupFinalizer)) {
      void this.cleanup(name);
    }
  }

  /** Deletes the CRD's objects, then drops its finalizer (so the store removes the CRD); retried until done. */
  private async cleanup(name: string): Promise<void> {
    if (this.cleaning.has(name) || this.stopped || this.registry === undefined) return;
    this.cleaning.add(name);
    let done: boolean;
    try {
      done = await this.cleanupOnce(this.registry, name);
    } catch {
      done = false;
    } finally {
      this.cleaning.delete(name);
    }
    if (!done && !this.stopped) {
      this.o.clock.setTimer(crdCleanupRetryMs, () => { void this.cleanup(name); });
    }
  }

  private async cleanupOnce(registry: Registry, name: string): Promise<boolean> {
    const cur = await registry.get(crdInfo, undefined, name);
    if (!cur.ok) return cur.status.reason === 'NotFound';
    const crd = cur.value.object;
    const meta = asRecord(crd['metadata']) ?? {};
    if (meta['deletionTimestamp'] === undefined || !asArray(meta['finalizers']).includes(crdCleanupFinalizer)) return true;
    const info = customResourceInfos(crd, { evenIfNotServed: true })[0];
    if (info !== undefined) {
      const listed = await this.o.storage.list(info, undefined);
      if (!listed.ok) return false;
      let left = 0;
      for (const s of listed.value.items) {
        const m = asRecord(s.object['metadata']) ?? {};
        const r = await registry.delete(info, asString(m['namespace']), asString(m['name']) ?? '', {}, false);
        if (r.ok && !r.value.deleted) left++;
        if (!r.ok && r.status.reason !== 'NotFound') return false;
      }
      if (left > 0) return false;
    }
    const removed = await registry.guaranteedUpdate(crdInfo, undefined, name, 'main', { dryRun: false, manager: 'apiextensions-apiserver' }, (c) => {
      const m = { ...(asRecord(c.object['metadata']) ?? {}) };
      m['finalizers'] = asArray(m['finalizers']).filter((f) => f !== crdCleanupFinalizer);
      return okOf({ ...c.object, metadata: m });
    });
    return removed.ok || removed.status.reason === 'NotFound';
  }
}

/**
 * The generation after pruning: what pruning dropped is no change (the generation prepareForUpdate
 * computed saw the unpruned input). Everything but metadata counts, and status too unless it is a subresource.
 */
function withGeneration(info: ResourceInfo, obj: JsonObject, old: JsonObject): JsonObject {
  const content = (o: JsonObject): JsonObject => {
    const { metadata: _m, ...rest } = o;
    if (info.hasStatus) delete rest['status'];
    return rest;
  };
  const oldGeneration = asRecord(old['metadata'])?.['generation'];
  const base = typeof oldGeneration === 'number' ? oldGeneration : 1;
  const generation = deepEqual(content(obj), content(old)) ? base : base + 1;
  return { ...obj, metadata: { ...(asRecord(obj['metadata']) ?? {}), generation } };
}
