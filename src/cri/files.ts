/**
 * A container's file system: its mounts (containerPath → hostPath on the node's disk, through an
 * injected `HostFs`), the image's own layer, and a small writable layer in memory for paths no
 * mount covers (a container's root file system is ephemeral: it dies with the container).
 */
import type { ContainerFiles } from './image.js';
import type { Mount } from './messages.js';

/** The node's disk as the runtime core sees it; the shell implements it with node:fs. */
export interface HostFs {
  readFile(path: string): Promise<Uint8Array | undefined>;
  readDir(path: string): Promise<readonly string[] | undefined>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

/** Bound on the in-memory writable layer of one container. */
const writableLayerBytesMax = 8 * 1024 * 1024;

export function normalizePath(path: string, workingDir = '/'): string {
  const absolute = path.startsWith('/') ? path : `${workingDir.replace(/\/$/, '')}/${path}`;
  const parts: string[] = [];
  for (const part of absolute.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

function within(path: string, dir: string): string | undefined {
  if (dir === '/') return path === '/' ? '' : path.slice(1);
  if (path === dir) return '';
  return path.startsWith(`${dir}/`) ? path.slice(dir.length + 1) : undefined;
}

/** Entry names directly below `dir` among `paths` (files or deeper paths). */
function childNames(paths: Iterable<string>, dir: string): string[] {
  const names = new Set<string>();
  for (const path of paths) {
    const rest = within(path, dir);
    if (rest === undefined || rest === '') continue;
    names.add(rest.split('/')[0]!);
  }
  return [...names];
}

export class LayeredFiles implements ContainerFiles {
  private readonly mounts: readonly Mount[];
  private readonly layer = new Map<string, Uint8Array>();
  private layerBytes = 0;

  constructor(
    private readonly hostFs: HostFs,
    mounts: readonly Mount[],
    private readonly imageFiles: Readonly<Record<string, string>>,
    private readonly workingDir = '/',
  ) {
    // Longest container path first: a file mounted inside a mounted directory wins.
    this.mounts = [...mounts].map((m) => ({ ...m, containerPath: normalizePath(m.containerPath) })).sort((a, b) => b.containerPath.length - a.containerPath.length);
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const full = normalizePath(path, this.workingDir);
    const mounted = this.mountFor(full);
    if (mounted !== undefined) return this.hostFs.readFile(mounted.hostPath);
    const written = this.layer.get(full);
    if (written !== undefined) return written;
    const own = this.imageFiles[full];
    return own === undefined ? undefined : Buffer.from(own, 'utf8');
  }

  async readDir(path: string): Promise<readonly string[] | undefined> {
    const full = normalizePath(path, this.workingDir);
    const names = new Set<string>();
    let exists = full === '/';
    const mounted = this.mountFor(full);
    if (mounted !== undefined) {
      const listed = await this.hostFs.readDir(mounted.hostPath);
      if (listed === undefined) return undefined;
      exists = true;
      for (const name of listed) names.add(name);
    } else {
      const below = [...Object.keys(this.imageFiles), ...this.layer.keys()];
      for (const name of childNames(below, full)) names.add(name);
      if (names.size > 0) exists = true;
    }
    // Mount points below this directory show up as entries too.
    for (const name of childNames(this.mounts.map((m) => m.containerPath), full)) {
      names.add(name);
      exists = true;
    }
    return exists ? [...names].sort() : undefined;
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const full = normalizePath(path, this.workingDir);
    const mounted = this.mountFor(full);
    if (mounted !== undefined) {
      if (mounted.readonly) throw new Error(`can't create '${full}': Read-only file system`);
      await this.hostFs.writeFile(mounted.hostPath, data);
      return;
    }
    const previous = this.layer.get(full)?.length ?? 0;
    if (this.layerBytes - previous + data.length > writableLayerBytesMax) throw new Error(`can't write '${full}': No space left on device (writable layer bound ${writableLayerBytesMax} bytes)`);
    this.layer.set(full, data);
    this.layerBytes += data.length - previous;
  }

  /** The mount covering `path` and the host path it maps to. */
  private mountFor(path: string): { readonly hostPath: string; readonly readonly: boolean } | undefined {
    for (const mount of this.mounts) {
      const rest = within(path, mount.containerPath);
      if (rest === undefined) continue;
      return { hostPath: rest === '' ? mount.hostPath : `${mount.hostPath.replace(/\/$/, '')}/${rest}`, readonly: mount.readonly === true };
    }
    return undefined;
  }
}
