/**
 * The `default/kubernetes` Service's endpoints, kept by the apiservers themselves (upstream's
 * lease endpoint reconciler, --endpoint-reconciler-type=lease): each apiserver renews a Lease
 * `kube-system/apiserver-<ip>` and writes the Endpoints and EndpointSlice `kubernetes` with every
 * apiserver whose Lease is live, so pods (cluster DNS) reach the API through 127.96.0.1:443 and
 * a dead master leaves the list within one Lease duration.
 */
import { formatRfc3339Micro, parseRfc3339 } from '../api/time.js';
import { deepEqual, type KubeObject } from '../api/types.js';
import type { KubeClient } from '../client/client.js';
import { isAlreadyExists, isConflict, isNotFound } from '../client/errors.js';
import type { Clock } from '../primitives/clock.js';

const leasesRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;
const endpointsRef = { apiVersion: 'v1', kind: 'Endpoints' } as const;
const slicesRef = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' } as const;
const identityLabel = 'apiserver.kubernetes.io/identity';
const identityValue = 'kube-apiserver';
/** The apiservers' own name for the slices they write (so the EndpointSlice controller leaves them alone). */
const managedBy = 'endpoint-reconciler.kubernetes.io';

export interface EndpointReconcilerOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  /** This apiserver's address and port (what pods connect to). */
  readonly ip: string;
  readonly port: number;
  /** How long a Lease counts as live after its renewal (upstream: 15 s; the fast profile less). */
  readonly leaseDurationMs: number;
}

function leaseName(ip: string): string {
  return `apiserver-${ip.replace(/\./g, '-')}`;
}

export class EndpointReconciler {
  constructor(private readonly o: EndpointReconcilerOptions) {}

  /** One round: renew our Lease, then make the endpoints list every live apiserver. */
  async reconcile(): Promise<void> {
    await this.renew();
    const leases = (await this.o.client.list(leasesRef, { namespace: 'kube-system', labelSelector: `${identityLabel}=${identityValue}` })).items;
    const now = this.o.clock.wallNow();
    const live = leases.flatMap((lease) => {
      const spec = (lease['spec'] ?? {}) as { renewTime?: string; leaseDurationSeconds?: number };
      const renewed = spec.renewTime === undefined ? undefined : parseRfc3339(spec.renewTime);
      const ip = lease.metadata?.annotations?.['pocketkube.io/address'];
      return renewed !== undefined && ip !== undefined && renewed + (spec.leaseDurationSeconds ?? 15) * 1_000 > now ? [ip] : [];
    }).sort();
    if (!live.includes(this.o.ip)) live.push(this.o.ip);
    await Promise.all([this.writeEndpoints(live.sort()), this.writeSlice(live)]);
  }

  private async renew(): Promise<void> {
    const name = leaseName(this.o.ip);
    const spec = { holderIdentity: name, leaseDurationSeconds: Math.max(1, Math.ceil(this.o.leaseDurationMs / 1_000)), renewTime: formatRfc3339Micro(this.o.clock.wallNow()) };
    const metadata = { name, namespace: 'kube-system', labels: { [identityLabel]: identityValue }, annotations: { 'pocketkube.io/address': this.o.ip } };
    try {
      const current = await this.o.client.get(leasesRef, 'kube-system', name);
      await this.o.client.update(leasesRef, { ...current, spec });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.o.client.create(leasesRef, { apiVersion: leasesRef.apiVersion, kind: 'Lease', metadata, spec }).catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
    }
  }

  private async writeEndpoints(ips: readonly string[]): Promise<void> {
    const subsets = [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'https', port: this.o.port, protocol: 'TCP' }] }];
    await this.upsert(endpointsRef, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets }, (o) => o['subsets']);
  }

  private async writeSlice(ips: readonly string[]): Promise<void> {
    const body: KubeObject = {
      apiVersion: slicesRef.apiVersion, kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': managedBy } },
      addressType: 'IPv4', endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })), ports: [{ name: 'https', port: this.o.port, protocol: 'TCP' }],
    };
    await this.upsert(slicesRef, body, (o) => [o['endpoints'], o['ports']]);
  }

  /** Creates the object, or updates it when the compared part differs (a conflict: another apiserver wrote; the next round converges). */
  private async upsert(ref: { apiVersion: string; kind: string }, desired: KubeObject, part: (o: KubeObject) => unknown): Promise<void> {
    try {
      const current = await this.o.client.get(ref, 'default', 'kubernetes');
      if (deepEqual(part(current), part(desired))) return;
      await this.o.client.update(ref, { ...current, ...desired, metadata: { ...current.metadata, ...desired.metadata } });
    } catch (error) {
      if (isConflict(error)) return;
      if (!isNotFound(error)) throw error;
      await this.o.client.create(ref, desired).catch((e: unknown) => { if (!isAlreadyExists(e)) throw e; });
    }
  }
}
