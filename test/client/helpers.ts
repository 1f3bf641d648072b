/**
 * Client tests run against the real apiserver: an ApiServerCore over an in-memory LocalKv under a
 * VirtualClock, reached through a thin fault wrapper (faulty-api.ts). `api` writes and reads the
 * server side directly, past the wrapper, so setup is neither logged nor hit by injected faults.
 */
import { ApiServerCore } from '../../src/apiserver/core.js';
import { systemNamespaces } from '../../src/apiserver/bootstrap.js';
import { KubeClient, type ResourceRef } from '../../src/client/client.js';
import { isAlreadyExists, isNotFound } from '../../src/client/errors.js';
import { LocalKv } from '../../src/client/local-kv.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { SeededPrng } from '../../src/primitives/prng.js';
import type { KubeObject } from '../../src/api/index.js';
import { FaultyApi, type FaultyApiOptions } from './faulty-api.js';

export { advance, flush } from './virtual-time.js';

export const podRef = { apiVersion: 'v1', kind: 'Pod' } as const;
export const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

/** The server side of a test: writes and reads that bypass the fault wrapper. */
export class ServerSide {
  private readonly client: KubeClient;
  private readonly namespaces = new Set<string>(systemNamespaces);
  private compactedAt = 0;

  constructor(readonly kv: LocalKv, readonly core: ApiServerCore, clock: VirtualClock) {
    this.client = new KubeClient({ transport: core, clock });
  }

  /** The store's current revision: every write moves it, whatever its resource. */
  get resourceVersion(): string {
    return String(this.kv.machine.mvcc.currentRevision);
  }

  async namespace(name: string): Promise<void> {
    if (this.namespaces.has(name)) return;
    try {
      await this.client.create({ apiVersion: 'v1', kind: 'Namespace' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    // What the serviceaccount controller would do (no controller-manager here): ServiceAccount admission needs it.
    try {
      await this.client.create({ apiVersion: 'v1', kind: 'ServiceAccount' }, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    this.namespaces.add(name);
  }

  /**
   * Creates `obj`, or gives the stored one `obj`'s labels (a pod's spec cannot change on update).
   * Either way a write with a new resourceVersion.
   */
  async put(ref: ResourceRef, obj: KubeObject): Promise<KubeObject> {
    const namespace = obj.metadata?.namespace;
    if (namespace !== undefined) await this.namespace(namespace);
    try {
      return await this.client.create(ref, obj);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    const current = await this.client.get(ref, namespace, obj.metadata?.name ?? '');
    return await this.client.update(ref, { ...current, metadata: { ...current.metadata, labels: { ...obj.metadata?.labels } } });
  }

  async remove(ref: ResourceRef, namespace: string | undefined, name: string): Promise<void> {
    await this.client.delete(ref, namespace, name, { gracePeriodSeconds: 0 });
  }

  async stored(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.client.get(ref, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async storedAll(ref: ResourceRef): Promise<KubeObject[]> {
    return (await this.client.list(ref)).items;
  }

  /** Compacts the store at its current revision: a watch from before it (past the watch cache) gets 410. */
  async compact(): Promise<void> {
    const revision = this.kv.machine.mvcc.currentRevision;
    if (revision === this.compactedAt) return; // nothing written since: etcd refuses a second compaction there
    this.compactedAt = revision;
    const r = await this.kv.compact(revision);
    if (!r.ok) throw new Error(`compact failed: ${JSON.stringify(r.error)}`);
  }
}

export interface ServerOptions {
  /** Events each resource's watch cache keeps: a watch from further back goes to the store (default 1,000). */
  readonly watchCacheCapacity?: number;
  /** Bookmarks on watches that ask for them (default: one an hour, so only tests that want them see any). */
  readonly bookmarkIntervalMs?: number;
  readonly latency?: FaultyApiOptions['latency'];
  /** Issues serviceaccounts/token (TokenRequest), as a kubelet needs for projected token volumes. */
  readonly tokenIssuer?: { readonly signingKeyPem: string };
}

export interface Server {
  readonly clock: VirtualClock;
  readonly server: FaultyApi;
  readonly api: ServerSide;
}

export async function startServer(options: ServerOptions = {}): Promise<Server> {
  const clock = new VirtualClock();
  const kv = new LocalKv({ clock });
  const core = new ApiServerCore({
    kv, clock, prng: new SeededPrng(7), bookmarkIntervalMs: options.bookmarkIntervalMs ?? 3_600_000,
    ...(options.watchCacheCapacity === undefined ? {} : { watchCacheCapacity: options.watchCacheCapacity }),
    ...(options.tokenIssuer === undefined ? {} : { tokenIssuer: options.tokenIssuer }),
  });
  await core.start();
  return { clock, server: new FaultyApi(core, { clock, latency: options.latency }), api: new ServerSide(kv, core, clock) };
}

/** A server and one client through its fault wrapper. */
export async function setup(options: ServerOptions = {}): Promise<Server & { client: KubeClient }> {
  const s = await startServer(options);
  return { ...s, client: new KubeClient({ transport: s.server, clock: s.clock, requestTimeoutMs: 5_000 }) };
}

export function pod(name: string, extra: { namespace?: string; labels?: Record<string, string>; nodeName?: string; phase?: string } = {}): KubeObject {
  const spec: Record<string, unknown> = { containers: [{ name: 'c', image: 'nginx' }] };
  if (extra.nodeName !== undefined) spec['nodeName'] = extra.nodeName;
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: extra.namespace ?? 'default', labels: extra.labels ?? {} }, spec };
  if (extra.phase !== undefined) obj['status'] = { phase: extra.phase };
  return obj;
}
