/**
 * The `watch-guarantees` verdict's evidence (a shell): a watcher through every apiserver on the
 * API workload's namespace for the whole run, then, at the verdict, a marker write every watcher
 * must deliver, and etcd's own log of the same keys read by a fresh etcd watch. The watchers are
 * checked against that log (src/chaos/check/watch.ts): ordered, no duplicates, no gaps, bookmarks
 * after what they cover, nothing below where a resumed watch started.
 */
import type { Cluster } from '../../cluster/index.js';
import { EtcdClient } from '../../client/etcd-client.js';
import { systemPort } from '../../client/actor-port.js';
import { KubeClient, resolveResource } from '../../client/index.js';
import { storagePrefix, type KubeObject } from '../../api/index.js';
import { address } from '../../primitives/address.js';
import { RealClock } from '../../runtime/real-clock.js';
import { checkWatchGuarantees, toCheckResult, type CheckResult, type StoreEvent } from '../check/index.js';
import { WatchRecorder } from '../etcd/workload.js';
import { ApiWatchRecorder } from '../workloads/api-watch.js';

const CONFIGMAPS = { apiVersion: 'v1', kind: 'ConfigMap' } as const;
/** How long every watcher (and the etcd reference watch) may take to deliver the marker write. */
const CATCH_UP_MS = 10_000;
const POLL_MS = 50;
const VERDICT = 'watch-guarantees';

async function until(condition: () => boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

export interface ApiWatches {
  /** Stops the watchers and checks them against etcd's log. */
  verdict(): Promise<CheckResult>;
  stop(): Promise<void>;
}

export async function startApiWatches(cluster: Cluster, kube: KubeClient, namespace: string): Promise<ApiWatches> {
  const keyPrefix = storagePrefix(resolveResource(CONFIGMAPS), namespace);
  const fromRevision = Number((await kube.list(CONFIGMAPS, { namespace })).metadata.resourceVersion);
  const recorders = cluster.masters.map((m) => new ApiWatchRecorder({
    watcher: `watch@${m}`, namespace, keyPrefix, fromRevision,
    kube: new KubeClient({ transport: cluster.apiTransport({ servers: [address(m, 'apiserver')], attemptTimeoutMs: 2_000 }), clock: new RealClock(), maxReadAttempts: 1 }),
  }));
  for (const r of recorders) r.start();
  const stop = async (observedUntil?: number) => { await Promise.all(recorders.map((r) => r.stop(observedUntil))); };
  return {
    stop: () => stop(),
    verdict: async () => {
      const marker = await kube.create<KubeObject>(CONFIGMAPS, { ...CONFIGMAPS, metadata: { name: 'watch-guarantees-marker', namespace }, data: { at: 'end' } }).catch(() => undefined);
      const toRevision = Number(marker?.metadata?.resourceVersion);
      if (!Number.isSafeInteger(toRevision)) {
        await stop();
        return { name: VERDICT, status: 'unknown', detail: 'the marker write at the end was not acknowledged, so there is no revision every watcher must reach' };
      }
      const caughtUp = await until(() => recorders.every((r) => r.expired !== undefined || r.lastRevision >= toRevision), CATCH_UP_MS);
      await stop(toRevision);
      const log = await referenceLog(cluster, keyPrefix, fromRevision + 1, toRevision);
      if (typeof log === 'string') return { name: VERDICT, status: 'unknown', detail: log };
      const result = toCheckResult(VERDICT, checkWatchGuarantees(recorders.map((r) => ({ watcher: r.watcherName, filter: { kind: 'prefix', prefix: keyPrefix }, sessions: r.sessions })), log));
      const late = recorders.filter((r) => r.expired === undefined && r.lastRevision < toRevision).map((r) => `${r.watcherName} stopped at revision ${r.lastRevision}`);
      const expired = recorders.filter((r) => r.expired !== undefined).map((r) => `${r.watcherName} expired (${r.expired}) at revision ${r.lastRevision}: checked up to there`);
      const sessions = recorders.map((r) => `${r.watcherName} ${r.sessions.length} sessions`).join(', ');
      const extra = [`revisions ${fromRevision + 1}–${toRevision}, ${log.events.length} events in etcd's log; ${sessions}`, ...expired,
        ...(caughtUp ? [] : [`not every watcher delivered the marker at revision ${toRevision} within ${CATCH_UP_MS} ms: ${late.join(', ')}`])];
      // A watcher that never caught up is not a proven gap (its tail is unchecked), but not a pass either.
      const status = result.status === 'pass' && !caughtUp ? 'unknown' : result.status;
      return { ...result, status, detail: `${result.detail}\n${extra.join('\n')}` };
    },
  };
}

/** etcd's events on `prefix` in [fromRevision, toRevision], from a fresh watch; a string says why it could not be read. */
async function referenceLog(cluster: Cluster, prefix: string, fromRevision: number, toRevision: number): Promise<{ events: StoreEvent[]; fromRevision: number; toRevision: number } | string> {
  const recorder = new WatchRecorder('any');
  const client = new EtcdClient(systemPort(cluster.system), { members: cluster.masters.map((m) => address(m, 'etcd')) });
  const subscription = client.watch({ key: prefix, prefix: true, startRevision: fromRevision }).subscribe((update) => recorder.onUpdate(update));
  const complete = await until(() => recorder.lastRevision >= toRevision || recorder.canceled !== undefined, CATCH_UP_MS);
  subscription.unsubscribe();
  if (recorder.canceled !== undefined) return `etcd cancelled the reference watch from revision ${fromRevision}: ${recorder.canceled}`;
  if (!complete) return `a fresh etcd watch did not deliver revisions ${fromRevision}–${toRevision} within ${CATCH_UP_MS} ms (got to ${recorder.lastRevision})`;
  const events = recorder.items.flatMap((i) => (i.kind === 'event' && i.revision <= toRevision ? [{ revision: i.revision, key: i.key, type: i.type }] : []));
  return { events, fromRevision, toRevision };
}
