/**
 * Durable storage, injected. A core persists only through this interface, so the same code runs
 * on a real data directory (`FileStorage`, fsync) and in memory (`MemoryStorage`) under simulation.
 *
 * The model is a flat directory of named files. `append` may sit in a volatile buffer until
 * `sync(name)` returns (as with write(2) before fsync(2)); `writeAtomic` is durable on return.
 * Calls are synchronous: each actor has its own thread, and group commit is the caller's job
 * (append many records, then sync once).
 */
export interface Storage {
  /** The whole content of a file (synced or not, as a running process sees it), or undefined. */
  read(name: string): Uint8Array | undefined;
  append(name: string, data: Uint8Array): void;
  /** Make everything appended to `name` durable (fsync). */
  sync(name: string): void;
  /** Replace a file atomically and durably (write a temporary file, fsync, rename). */
  writeAtomic(name: string, data: Uint8Array): void;
  /** Cut a file to `length` bytes (used to drop a torn WAL tail). Durable on return. */
  truncate(name: string, length: number): void;
  remove(name: string): void;
  list(): string[];
}

const FILE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export function assertFileName(name: string): void {
  if (!FILE_NAME_PATTERN.test(name)) throw new Error(`storage: invalid file name ${JSON.stringify(name)}`);
}

interface MemoryFile {
  /** Synced data as appended chunks (joined only when read: a WAL syncs far more often than it is read). */
  durable: Uint8Array[];
  volatile: Uint8Array[];
}

/** One array holding `parts` back to back. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Storage in memory, surviving an actor's restart when the owner keeps the object (the simulated
 * host's "disk"). `crash({ loseUnsynced: true })` models a power cut: what was appended but not
 * synced is gone.
 */
export class MemoryStorage implements Storage {
  private readonly files = new Map<string, MemoryFile>();
  /** Counters the test kit and benchmarks read. */
  readonly stats = { appends: 0, syncs: 0, bytesAppended: 0, atomicWrites: 0 };

  read(name: string): Uint8Array | undefined {
    const file = this.files.get(name);
    if (!file) return undefined;
    return concatBytes([...file.durable, ...file.volatile]);
  }

  append(name: string, data: Uint8Array): void {
    assertFileName(name);
    let file = this.files.get(name);
    if (!file) {
      file = { durable: [], volatile: [] };
      this.files.set(name, file);
    }
    file.volatile.push(data.slice());
    this.stats.appends++;
    this.stats.bytesAppended += data.length;
  }

  sync(name: string): void {
    if (this.powerCut) this.cutPower(this.powerCut.keepFraction);
    const file = this.files.get(name);
    this.stats.syncs++;
    if (file) this.fold(file);
  }

  /**
   * Fault hook: the next `sync` never happens. The machine loses power first: of everything not
   * yet synced only the first `keepFraction` of the bytes reached the disk (a torn write), and the
   * call throws, crashing the actor mid-write, before it could acknowledge anything.
   */
  powerCutOnNextSync(keepFraction: number): void {
    if (!(keepFraction >= 0 && keepFraction <= 1)) throw new Error(`keepFraction must be within [0, 1], got ${keepFraction}`);
    this.powerCut = { keepFraction };
  }

  private powerCut: { keepFraction: number } | undefined;

  private cutPower(keepFraction: number): never {
    this.powerCut = undefined;
    for (const file of this.files.values()) {
      const pending = concatBytes(file.volatile);
      const kept = pending.slice(0, Math.floor(pending.length * keepFraction));
      file.volatile = [];
      if (kept.length > 0) file.durable.push(kept);
    }
    throw new Error('power cut before fsync (fault injection)');
  }

  writeAtomic(name: string, data: Uint8Array): void {
    assertFileName(name);
    this.files.set(name, { durable: [data.slice()], volatile: [] });
    this.stats.atomicWrites++;
  }

  truncate(name: string, length: number): void {
    const file = this.files.get(name);
    if (!file) return;
    this.fold(file);
    file.durable = [concatBytes(file.durable).slice(0, length)];
  }

  remove(name: string): void {
    this.files.delete(name);
  }

  list(): string[] {
    return [...this.files.keys()].sort();
  }

  /** Bytes appended to `name` but not yet synced. */
  unsyncedBytes(name: string): number {
    const file = this.files.get(name);
    return file ? file.volatile.reduce((sum, part) => sum + part.length, 0) : 0;
  }

  /** A crash of the process owning this storage. With `loseUnsynced`, unsynced appends vanish. */
  crash(options: { loseUnsynced: boolean }): void {
    for (const file of this.files.values()) {
      if (options.loseUnsynced) file.volatile = [];
      else this.fold(file);
    }
  }

  private fold(file: MemoryFile): void {
    if (file.volatile.length === 0) return;
    file.durable.push(...file.volatile);
    file.volatile = [];
  }
}

/** Wraps a Storage so that every write is also reported (the test kit's "what it persisted"). */
export function recordingStorage(
  inner: Storage,
  report: (op: 'append' | 'sync' | 'write' | 'truncate' | 'remove', file: string, bytes: number) => void,
): Storage {
  return {
    read: (name) => inner.read(name),
    append: (name, data) => {
      inner.append(name, data);
      report('append', name, data.length);
    },
    sync: (name) => {
      inner.sync(name);
      report('sync', name, 0);
    },
    writeAtomic: (name, data) => {
      inner.writeAtomic(name, data);
      report('write', name, data.length);
    },
    truncate: (name, length) => {
      inner.truncate(name, length);
      report('truncate', name, length);
    },
    remove: (name) => {
      inner.remove(name);
      report('remove', name, 0);
    },
    list: () => inner.list(),
  };
}

/** A failing disk (disk faults): fsync fails with EIO, fsync stalls, or the disk is full (ENOSPC). */
export type DiskFault =
  | { readonly kind: 'eio' }
  | { readonly kind: 'stall'; readonly stallMs: number }
  | { readonly kind: 'full' };

export const MAX_DISK_STALL_MS = 10_000;

/** Blocks this thread for `ms` (a stalled fsync blocks its caller just so). */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function diskError(code: 'EIO' | 'ENOSPC', op: string, name: string): Error {
  const error = new Error(`${code}: ${code === 'EIO' ? 'i/o error' : 'no space left on device'}, ${op} '${name}' (disk fault injected)`) as Error & { code: string };
  error.code = code;
  return error;
}

/**
 * `inner` as seen through a disk fault, when `fault()` names one: `eio` fails every sync,
 * atomic write and truncate; `stall` blocks the thread `stallMs` in each of them first; `full`
 * fails every append and atomic write with ENOSPC. Reads are unaffected (the page cache).
 */
export class FaultyStorage implements Storage {
  constructor(private readonly inner: Storage, private readonly fault: () => DiskFault | undefined) {}

  read(name: string): Uint8Array | undefined {
    return this.inner.read(name);
  }

  append(name: string, data: Uint8Array): void {
    if (this.fault()?.kind === 'full') throw diskError('ENOSPC', 'write', name);
    this.inner.append(name, data);
  }

  sync(name: string): void {
    this.durable('fsync', name);
    this.inner.sync(name);
  }

  writeAtomic(name: string, data: Uint8Array): void {
    if (this.fault()?.kind === 'full') throw diskError('ENOSPC', 'write', name);
    this.durable('fsync', name);
    this.inner.writeAtomic(name, data);
  }

  truncate(name: string, length: number): void {
    this.durable('ftruncate', name);
    this.inner.truncate(name, length);
  }

  remove(name: string): void {
    this.inner.remove(name);
  }

  list(): string[] {
    return this.inner.list();
  }

  private durable(op: string, name: string): void {
    const fault = this.fault();
    if (fault?.kind === 'eio') throw diskError('EIO', op, name);
    if (fault?.kind === 'stall') blockThread(Math.min(fault.stallMs, MAX_DISK_STALL_MS));
  }
}
