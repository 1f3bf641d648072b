/**
 * CacheView over the client's IndexedCache (one per kind): the shell builds it from its informers'
 * caches, tests from fixtures (`cacheFromObjects`, which deep-freezes everything it is given).
 */
import { matchesLabels, type KubeObject } from '../../api/index.js';
import { deepFreeze, IndexedCache, namespaceIndex, objectKey } from '../../client/cache.js';
import { kindKey, type CacheSelector, type CacheView, type IndexFunc, type KindRef } from './types.js';

/** What the view reads of one kind's cache: an IndexedCache, or an adapter over an informer. */
export type CacheSource = Pick<IndexedCache<KubeObject>, 'get' | 'values' | 'byIndex'>;

export class IndexedCacheView implements CacheView {
  constructor(
    private readonly caches: ReadonlyMap<string, CacheSource>,
    private readonly synced: (kind: KindRef) => boolean = () => true,
  ) {}

  private cache(kind: KindRef): CacheSource {
    const c = this.caches.get(kindKey(kind));
    // A controller reading a kind it did not declare in `watches` is a programming error.
    if (c === undefined) throw new Error(`no cache for ${kindKey(kind)}: declare it in the controller's watches`);
    return c;
  }

  get<T extends KubeObject = KubeObject>(kind: KindRef, key: string): T | undefined {
    return this.cache(kind).get(key) as T | undefined;
  }

  list<T extends KubeObject = KubeObject>(kind: KindRef, namespace: string | undefined, selector: CacheSelector = 'everything'): readonly T[] {
    const c = this.cache(kind);
    const objs = namespace === undefined ? c.values() : c.byIndex(namespaceIndex, namespace);
    const out = selector === 'everything' ? objs : objs.filter((o) => matchesLabels(selector, o.metadata?.labels));
    // Sorted by key so that reconciles are deterministic whatever the cache's insertion order.
    return (out as T[]).sort((a, b) => compareKeys(objectKey(a), objectKey(b)));
  }

  byIndex<T extends KubeObject = KubeObject>(kind: KindRef, indexName: string, value: string): readonly T[] {
    return (this.cache(kind).byIndex(indexName, value) as T[]).sort((a, b) => compareKeys(objectKey(a), objectKey(b)));
  }

  hasSynced(kind: KindRef): boolean {
    return this.caches.has(kindKey(kind)) && this.synced(kind);
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The indexers each kind needs, merged from every watch spec (same name must mean the same function). */
export function mergeIndexers(specs: ReadonlyArray<{ readonly kind: KindRef; readonly indexers?: Readonly<Record<string, IndexFunc>> }>): Map<string, Record<string, IndexFunc>> {
  const out = new Map<string, Record<string, IndexFunc>>();
  for (const s of specs) {
    const k = kindKey(s.kind);
    const merged = out.get(k) ?? {};
    for (const [name, fn] of Object.entries(s.indexers ?? {})) {
      if (merged[name] !== undefined && merged[name] !== fn) throw new Error(`two different indexers named ${name} on ${k}`);
      merged[name] = fn;
    }
    out.set(k, merged);
  }
  return out;
}

/**
 * A frozen cache of the given objects (each must carry apiVersion and kind), with the indexers
 * the watch specs declare and an empty cache for every declared kind: the unit-test fixture.
 */
export function cacheFromObjects(
  objects: readonly KubeObject[],
  specs: ReadonlyArray<{ readonly kind: KindRef; readonly indexers?: Readonly<Record<string, IndexFunc>> }>,
): IndexedCacheView {
  const indexers = mergeIndexers(specs);
  const caches = new Map<string, IndexedCache<KubeObject>>();
  for (const [k, idx] of indexers) caches.set(k, new IndexedCache<KubeObject>(idx));
  for (const o of objects) {
    if (o.apiVersion === undefined || o.kind === undefined) throw new Error('fixture objects need apiVersion and kind');
    const k = kindKey({ apiVersion: o.apiVersion, kind: o.kind });
    let c = caches.get(k);
    if (c === undefined) caches.set(k, (c = new IndexedCache<KubeObject>({})));
    c.set(objectKey(o), deepFreeze(o));
  }
  return new IndexedCacheView(caches);
}
