/**
 * Service ClusterIP allocation in a /16 (DESIGN §5: 127.96.0.0/16). `.0.1` is the `kubernetes`
 * Service and `.0.10` cluster DNS; both are only ever given explicitly. A random free address is
 * picked from the addresses current Services hold; two apiservers racing for the same address is
 * possible but improbable (Kubernetes serialises this through an allocation bitmap in etcd).
 */
import { asRecord, asString, lookupResource } from '../api/index.js';
import type { ObjectStorage } from './storage.js';

/** Random probes before scanning the whole range in order. */
const maxRandomIpProbes = 64;
const reservedHosts = new Set([0, 1, 10, 65535]);
const servicesInfo = lookupResource('', 'v1', 'services')!;

export class ClusterIpAllocator {
  constructor(private readonly storage: ObjectStorage, private readonly prefix: string, private readonly randomInt: (n: number) => number) {}

  async allocate(): Promise<string> {
    const listed = await this.storage.list(servicesInfo, undefined);
    if (!listed.ok) throw new Error(`cannot allocate a ClusterIP: ${listed.status.message}`);
    const used = new Set(listed.value.items.map((s) => asString(asRecord(s.object['spec'])?.['clusterIP']) ?? ''));
    const ipOf = (host: number): string => `${this.prefix}.${host >> 8}.${host & 255}`;
    const free = (host: number): boolean => !reservedHosts.has(host) && !used.has(ipOf(host));
    for (let i = 0; i < maxRandomIpProbes; i++) {
      const host = this.randomInt(65536);
      if (free(host)) return ipOf(host);
    }
    for (let host = 0; host < 65536; host++) if (free(host)) return ipOf(host);
    throw new Error('the ClusterIP range is full');
  }
}

/** The default --service-node-port-range. */
const nodePortFirst = 30_000;
const nodePortLast = 32_767;

/**
 * NodePorts for a NodePort or LoadBalancer Service's ports that ask for none: random free ports
 * of 30000–32767, free meaning no other Service holds them (for its protocol).
 */
export async function withNodePorts(storage: ObjectStorage, body: Record<string, unknown>, randomInt: (n: number) => number): Promise<Record<string, unknown>> {
  const spec = asRecord(body['spec']);
  if (spec === undefined || (spec['type'] !== 'NodePort' && spec['type'] !== 'LoadBalancer') || !Array.isArray(spec['ports'])) return body;
  const ports = (spec['ports'] as unknown[]).map((p) => ({ ...(asRecord(p) ?? {}) }));
  if (ports.every((p) => typeof p['nodePort'] === 'number' && p['nodePort'] !== 0)) return body;
  const listed = await storage.list(servicesInfo, undefined);
  if (!listed.ok) throw new Error(`cannot allocate a NodePort: ${listed.status.message}`);
  const used = new Set<string>();
  for (const s of listed.value.items) {
    for (const p of (asRecord(s.object['spec'])?.['ports'] as unknown[] | undefined) ?? []) {
      const port = asRecord(p);
      if (typeof port?.['nodePort'] === 'number') used.add(`${String(port['protocol'] ?? 'TCP')}/${port['nodePort']}`);
    }
  }
  for (const p of ports) if (typeof p['nodePort'] === 'number') used.add(`${String(p['protocol'] ?? 'TCP')}/${p['nodePort']}`);
  const span = nodePortLast - nodePortFirst + 1;
  for (const p of ports) {
    if (typeof p['nodePort'] === 'number' && p['nodePort'] !== 0) continue;
    const protocol = String(p['protocol'] ?? 'TCP');
    const start = randomInt(span);
    const offset = Array.from({ length: span }, (_, i) => (start + i) % span).find((i) => !used.has(`${protocol}/${nodePortFirst + i}`));
    if (offset === undefined) throw new Error(`the NodePort range ${nodePortFirst}-${nodePortLast} is full`);
    p['nodePort'] = nodePortFirst + offset;
    used.add(`${protocol}/${p['nodePort']}`);
  }
  return { ...body, spec: { ...spec, ports } };
}
