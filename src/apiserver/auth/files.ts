/** Small durable-file helpers shared by the PKI and token stores (shell code: real disk I/O). */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export const secretFileMode = 0o600;
export const publicFileMode = 0o644;
const secretDirMode = 0o700;
/** Nothing under pki/ is legitimately larger than this; a bigger file is corrupt or not ours. */
const maxPkiFileBytes = 1024 * 1024;

/** Reads a file, or returns undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    const data = await readFile(path);
    if (data.length > maxPkiFileBytes) throw new Error(`${path} is larger than ${maxPkiFileBytes} bytes`);
    return data.toString('utf8');
  } catch (err) {
    if (isNodeError(err) && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes via a temporary file, fsync and rename, so a crash leaves either the old or the new file,
 * never a torn one. The mode is set at creation, so a secret is never readable by others, even briefly.
 */
export async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: secretDirMode });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.chmod(mode); // open()'s mode is filtered by the umask
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function isNodeError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}
