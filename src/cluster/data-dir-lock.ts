/**
 * One running cluster per data directory: two clusters on one etcd WAL would corrupt it. The lock
 * is a file holding the holder's pid; a lock whose pid is dead (a cluster that crashed or was
 * killed) is stale and taken over. This is a shell: it touches the disk and asks the OS about pids.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'pocketkube.lock';

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly lockFile: string, readonly holderPid: number) {
    super(`the data directory ${dataDir} is held by another running cluster (pid ${holderPid}${holderPid === process.pid ? ', this process' : ''}; lock file ${lockFile})`);
    this.name = 'DataDirLockedError';
  }
}

/** Whether `pid` names a live process (EPERM: it exists, owned by someone else). */
export type PidAlive = (pid: number) => boolean;

export const pidAlive: PidAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** A held lock; `release()` removes the file if it is still ours. */
export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/** The pid in a lock file, or undefined for a file that is not one (empty, torn, garbage). */
function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

/**
 * A stale lock or an unreadable one (a holder killed between creating and writing it) is taken
 * over; a few rounds cover another process racing for the same stale lock.
 */
const maxAttempts = 5;

/**
 * Takes the lock on `dataDir` (creating the directory) for `pid`, or throws DataDirLockedError
 * naming the live holder. The file appears complete or not at all (written aside, then linked).
 */
export function lockDataDir(dataDir: string, pid = process.pid, alive: PidAlive = pidAlive): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  const mine = `${file}.${pid}.tmp`;
  writeFileSync(mine, `${pid}\n`);
  try {
    for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
      try {
        linkSync(mine, file); // fails with EEXIST when a lock is there: atomic create-if-absent
        return { file, release: () => releaseIfMine(file, pid) };
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      const holder = readPid(file);
      if (holder !== undefined && alive(holder)) throw new DataDirLockedError(dataDir, file, holder);
      // Stale: move it aside first, so that of two processes taking it over only one removes it.
      const aside = `${file}.${pid}.stale`;
      try {
        renameSync(file, aside);
      } catch (error) {
        if (isCode(error, 'ENOENT')) continue; // someone else moved it: try again
        throw error;
      }
      const moved = readPid(aside);
      unlinkSync(aside);
      if (moved !== undefined && moved !== holder && alive(moved)) {
        // Between our read and our rename another process took the lock: we moved a live lock.
        // Put it back (it is that process's) and report it as the holder.
        try {
          writeFileSync(file, `${moved}\n`, { flag: 'wx' });
        } catch (error) {
          if (!isCode(error, 'EEXIST')) throw error; // a third process took it meanwhile: it holds it now
        }
        throw new DataDirLockedError(dataDir, file, moved);
      }
    }
    throw new Error(`could not take ${file} in ${maxAttempts} attempts: processes keep racing for it`);
  } finally {
    unlinkSync(mine);
  }
}

function releaseIfMine(file: string, pid: number): void {
  if (readPid(file) === pid) {
    try {
      unlinkSync(file);
    } catch (error) {
      if (!isCode(error, 'ENOENT')) throw error;
    }
  }
}
