/**
 * Watches through each apiserver, recorded for the watch guarantees (src/chaos/check/watch.ts):
 * one watcher per apiserver on the API workload's ConfigMaps, pinned to that apiserver, resumed
 * from the last resourceVersion it delivered each time its stream ends or fails (a session per
 * watch request, as a reflector resumes). Events are recorded under their storage key and
 * resourceVersion (the etcd revision), bookmarks as progress, so the recording is checked against
 * etcd's own log of the same keys, read at the end by a fresh etcd watch.
 */
import type { KubeObject } from '../../api/index.js';
import type { KubeClient } from '../../client/index.js';
import type { WatchItem, WatchSession } from '../check/index.js';

const CONFIGMAPS = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
/** Pause before resuming a watch that ended or failed (an apiserver down answers at once). */
const RESUME_DELAY_MS = 100;
/** Server-side end of each watch request, so sessions also end in quiet times. */
const WATCH_TIMEOUT_S = 20;
/** Bound on what one watcher records. */
const MAX_ITEMS = 200_000;

interface MutableSession {
  readonly startRevision: number;
  readonly items: WatchItem[];
  observedUntil?: number;
}

export class ApiWatchRecorder {
  private readonly sessionsMutable: MutableSession[] = [];
  private running = true;
  private loop: Promise<void> | undefined;
  private stopCurrent: (() => void) | undefined;
  private lastRv: number;
  /** Why the watcher gave up (the resume point expired), if it did. */
  expired: string | undefined;

  constructor(private readonly o: {
    /** The watcher's name in the verdict (`watch@master-1`). */
    readonly watcher: string;
    /** A client that talks to this one apiserver only. */
    readonly kube: KubeClient;
    readonly namespace: string;
    /** The etcd key prefix of the namespace's ConfigMaps (`/registry/configmaps/<namespace>/`). */
    readonly keyPrefix: string;
    /** Watch from after this resourceVersion. */
    readonly fromRevision: number;
  }) {
    this.lastRv = o.fromRevision;
  }

  get watcherName(): string {
    return this.o.watcher;
  }

  get sessions(): readonly WatchSession[] {
    return this.sessionsMutable;
  }

  /** The highest revision an event or a bookmark reached. */
  get lastRevision(): number {
    return this.lastRv;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Ends the recording; the last session is known complete up to `observedUntil` if given. */
  async stop(observedUntil?: number): Promise<void> {
    this.running = false;
    this.stopCurrent?.();
    await this.loop;
    const last = this.sessionsMutable.at(-1);
    if (last !== undefined && observedUntil !== undefined && this.lastRv >= observedUntil) last.observedUntil = observedUntil;
  }

  private async run(): Promise<void> {
    while (this.running && this.expired === undefined && this.sessionsMutable.reduce((n, s) => n + s.items.length, 0) < MAX_ITEMS) {
      await this.session();
      if (this.running) await new Promise((resolve) => setTimeout(resolve, RESUME_DELAY_MS));
    }
  }

  /** One watch request from the last delivered revision, until it ends, fails or the recorder stops. */
  private session(): Promise<void> {
    const session: MutableSession = { startRevision: this.lastRv + 1, items: [] };
    this.sessionsMutable.push(session);
    return new Promise<void>((resolve) => {
      const subscription = this.o.kube.watchOnce<KubeObject>(CONFIGMAPS, {
        namespace: this.o.namespace, resourceVersion: String(this.lastRv), allowWatchBookmarks: true, timeoutSeconds: WATCH_TIMEOUT_S,
      }).subscribe({
        next: (signal) => {
          // 410 Gone is allowed (a reflector relists): the watcher ends there, checked up to it.
          if (signal.type === 'EXPIRED') {
            this.expired = signal.status.message ?? 'the resume point expired';
            return;
          }
          const revision = Number(signal.resourceVersion);
          if (!Number.isSafeInteger(revision)) return;
          if (signal.type === 'BOOKMARK') session.items.push({ kind: 'progress', revision });
          else session.items.push({ kind: 'event', revision, key: `${this.o.keyPrefix}${signal.object.metadata?.name ?? ''}`, type: signal.type === 'DELETED' ? 'delete' : 'put' });
          this.lastRv = Math.max(this.lastRv, revision);
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
      this.stopCurrent = () => { subscription.unsubscribe(); resolve(); };
    });
  }
}
