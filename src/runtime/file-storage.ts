import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { assertFileName, type Storage } from './storage.js';

/**
 * Storage in a real directory. Files are opened per sync, not held: a killed thread leaves no
 * descriptor behind (measured: no slower than a held descriptor on this machine's disk). Appends stay in this process's memory until `sync`, which writes
 * them with one write(2) and fsync(2)s: a group commit, and the reason a killed thread loses
 * exactly what it had not synced (a power cut), never more.
 */
export class FileStorage implements Storage {
  private readonly pending = new Map<string, Uint8Array[]>();
  readonly stats = { appends: 0, syncs: 0, bytesWritten: 0 };

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  read(name: string): Uint8Array | undefined {
    assertFileName(name);
    let onDisk: Uint8Array | undefined;
    try {
      onDisk = readFileSync(join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const buffered = this.pending.get(name);
    if (!buffered || buffered.length === 0) return onDisk === undefined ? undefined : new Uint8Array(onDisk);
    return Buffer.concat([...(onDisk ? [onDisk] : []), ...buffered]);
  }

  append(name: string, data: Uint8Array): void {
    assertFileName(name);
    let buffered = this.pending.get(name);
    if (!buffered) {
      buffered = [];
      this.pending.set(name, buffered);
    }
    buffered.push(data.slice());
    this.stats.appends++;
  }

  sync(name: string): void {
    assertFileName(name);
    const buffered = this.pending.get(name) ?? [];
    this.pending.delete(name);
    const fd = openSync(join(this.dir, name), 'a');
    try {
      if (buffered.length > 0) {
        const data = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
        let offset = 0;
        while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
        this.stats.bytesWritten += data.length;
      }
      fsyncSync(fd);
      this.stats.syncs++;
    } finally {
      closeSync(fd);
    }
  }

  writeAtomic(name: string, data: Uint8Array): void {
    assertFileName(name);
    this.pending.delete(name);
    const target = join(this.dir, name);
    const temporary = `${target}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, target);
    this.syncDirectory();
  }

  truncate(name: string, length: number): void {
    assertFileName(name);
    this.sync(name);
    const fd = openSync(join(this.dir, name), 'r+');
    try {
      ftruncateSync(fd, length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  remove(name: string): void {
    assertFileName(name);
    this.pending.delete(name);
    rmSync(join(this.dir, name), { force: true });
    this.syncDirectory();
  }

  list(): string[] {
    const names = new Set(readdirSync(this.dir).filter((name) => !name.endsWith('.tmp')));
    for (const name of this.pending.keys()) names.add(name);
    return [...names].sort();
  }

  private syncDirectory(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}
