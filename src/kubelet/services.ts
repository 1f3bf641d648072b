/**
 * What the kubelet core needs from its world, as small interfaces the shell implements: the
 * container runtime (CRI-shaped asks to `<node>/container-runtime`), network probes, and the
 * node's pod directories on disk.
 */
import type { CriErrorCode, CriRequest, ResponseOf } from '../cri/messages.js';

export class CriCallError extends Error {
  constructor(readonly code: CriErrorCode | 'Unreachable', message: string) {
    super(message);
    this.name = 'CriCallError';
  }
}

export interface RuntimeService {
  /** Resolves with the request's response; rejects with CriCallError (a criError, or no answer in time). */
  call<R extends CriRequest>(request: R, timeoutMs?: number): Promise<ResponseOf<R>>;
}

export interface ProbeOutcome {
  readonly success: boolean;
  readonly message: string;
}

export interface Prober {
  http(target: { readonly host: string; readonly port: number; readonly path: string; readonly scheme: 'HTTP' | 'HTTPS'; readonly headers: Readonly<Record<string, string>>; readonly timeoutMs: number }): Promise<ProbeOutcome>;
  tcp(target: { readonly host: string; readonly port: number; readonly timeoutMs: number }): Promise<ProbeOutcome>;
}

export interface VolumeHost {
  /** Creates (or keeps) the volume's directory and returns its path on the node. */
  ensureDir(podUid: string, volumeName: string): Promise<string>;
  /** Makes the volume hold exactly these files (relative path → content) and returns its path. */
  writeFiles(podUid: string, volumeName: string, files: Readonly<Record<string, string>>): Promise<string>;
  /** Removes everything of the pod (its volumes) from the node. */
  removePod(podUid: string): Promise<void>;
}
