import { KubeClient } from '../../src/client/client.js';
import type { ApiTransport } from '../../src/client/api-transport.js';
import { VirtualClock } from '../../src/primitives/clock.js';
import { lookupKind, type KubeObject, type ResourceInfo } from '../../src/api/index.js';
import { FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';

export { advance, flush } from './virtual-time.js';

export const podRef = { apiVersion: 'v1', kind: 'Pod' } as const;
export const podInfo: ResourceInfo = lookupKind('v1', 'Pod')!;
export const leaseInfo: ResourceInfo = lookupKind('coordination.k8s.io/v1', 'Lease')!;

export function setup(options: Omit<FakeApiServerOptions, 'clock'> & { clientTransport?: (server: FakeApiServer) => ApiTransport } = {}): {
  clock: VirtualClock; server: FakeApiServer; client: KubeClient;
} {
  const clock = new VirtualClock();
  const server = new FakeApiServer({ ...options, clock });
  const transport = options.clientTransport?.(server) ?? server;
  const client = new KubeClient({ transport, clock, requestTimeoutMs: 5_000 });
  return { clock, server, client };
}

export function pod(name: string, extra: { namespace?: string; labels?: Record<string, string>; nodeName?: string; phase?: string } = {}): KubeObject {
  const spec: Record<string, unknown> = { containers: [{ name: 'c', image: 'nginx' }] };
  if (extra.nodeName !== undefined) spec['nodeName'] = extra.nodeName;
  const obj: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: extra.namespace ?? 'default', labels: extra.labels ?? {} }, spec };
  if (extra.phase !== undefined) obj['status'] = { phase: extra.phase };
  return obj;
}
