/**
 * An ordered set of strings as a list of sorted chunks (the idea of Python's sortedcontainers):
 * insert and delete cost a binary search plus a splice inside one chunk of at most
 * `maxChunkKeys` keys, so 100k random inserts stay far from the O(n) memmove of one flat array,
 * while range scans are plain array walks.
 *
 * Ordering is JavaScript's string order (UTF-16 code units). For the ASCII keys Kubernetes uses
 * this is the byte order etcd uses; see mvcc.ts for the documented key representation.
 */
const maxChunkKeys = 512;

export class SortedKeys {
  private chunks: string[][] = [];
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Adds `key`; returns false when it was already present. */
  insert(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.total = 1;
      return true;
    }
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci]!;
    const pos = lowerBound(chunk, key);
    if (chunk[pos] === key) return false;
    chunk.splice(pos, 0, key);
    this.total++;
    if (chunk.length > maxChunkKeys) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >> 1));
    return true;
  }

  /** Removes `key`; returns false when it was absent. */
  delete(key: string): boolean {
    if (this.chunks.length === 0) return false;
    const ci = this.chunkFor(key);
    const chunk = this.chunks[ci]!;
    const pos = lowerBound(chunk, key);
    if (chunk[pos] !== key) return false;
    chunk.splice(pos, 1);
    this.total--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  has(key: string): boolean {
    if (this.chunks.length === 0) return false;
    const chunk = this.chunks[this.chunkFor(key)]!;
    return chunk[lowerBound(chunk, key)] === key;
  }

  /**
   * Keys in [from, to) in ascending order; `to` undefined means no upper bound. The callback
   * returns false to stop early. The set must not be modified during the walk.
   */
  scan(from: string, to: string | undefined, visit: (key: string) => boolean | void): void {
    if (this.chunks.length === 0) return;
    let ci = this.chunkFor(from);
    let pos = lowerBound(this.chunks[ci]!, from);
    for (; ci < this.chunks.length; ci++, pos = 0) {
      const chunk = this.chunks[ci]!;
      for (; pos < chunk.length; pos++) {
        const key = chunk[pos]!;
        if (to !== undefined && key >= to) return;
        if (visit(key) === false) return;
      }
    }
  }

  /** The index of the chunk that holds `key` or where it would be inserted. */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    // The first chunk whose last key is >= key; keys beyond every chunk go to the last one.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (chunk[chunk.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first position in the sorted `items` whose value is >= `key`. */
function lowerBound(items: readonly string[], key: string): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
