/**
 * The node IPAM controller with the range allocator (pkg/controller/nodeipam/ipam/range_allocator.go):
 * every Node gets a /24 of the cluster CIDR (127.244.0.0/16 by default, DESIGN §5) in
 * spec.podCIDR / spec.podCIDRs, set once. Like upstream, the allocator keeps its own bitmap of
 * taken ranges (seeded from every Node it sees), because the cache can lag behind its own patches.
 */
import { asRecord, type KubeObject } from '../api/index.js';
import { ignoreEvent, kinds, noActions, sequential, steps, type CacheView, type ControllerDefinition, type EventMapping, type ReconcileResult, type WatchEvent } from './framework/index.js';

export interface NodeIpamConfig {
  /** An IPv4 /16 whose /24s are handed out, e.g. `127.244.0.0/16`. */
  readonly clusterCidr: string;
}

const defaultNodeIpam: NodeIpamConfig = { clusterCidr: '127.244.0.0/16' };

const subnetsPerCluster = 256;

function parseClusterCidr(cidr: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  if (m === null || Number(m[1]) > 255 || Number(m[2]) > 255) throw new Error(`node-ipam: clusterCidr must be an IPv4 /16 such as 127.244.0.0/16, not ${JSON.stringify(cidr)}`);
  return `${m[1]!}.${m[2]!}`;
}

function podCidrOf(node: KubeObject | undefined): string | undefined {
  const cidr = asRecord(node?.['spec'])?.['podCIDR'];
  return typeof cidr === 'string' && cidr !== '' ? cidr : undefined;
}

/** The allocator's state: which /24 index each node holds. */
class RangeAllocator {
  private readonly byNode = new Map<string, number>();
  private readonly taken = new Set<number>();

  constructor(private readonly prefix: string) {}

  /** Marks a range seen on a Node (after a restart, or allocated by another instance). */
  occupy(node: string, cidr: string): void {
    const m = new RegExp(`^${this.prefix.replace(/\./g, '\\.')}\\.(\\d{1,3})\\.0/24$`).exec(cidr);
    if (m === null) return;
    this.byNode.set(node, Number(m[1]));
    this.taken.add(Number(m[1]));
  }

  allocate(node: string): string | undefined {
    const held = this.byNode.get(node);
    if (held !== undefined) return `${this.prefix}.${held}.0/24`;
    for (let i = 0; i < subnetsPerCluster; i++) {
      if (this.taken.has(i)) continue;
      this.taken.add(i);
      this.byNode.set(node, i);
      return `${this.prefix}.${i}.0/24`;
    }
    return undefined;
  }

  release(node: string): void {
    const held = this.byNode.get(node);
    if (held === undefined) return;
    this.byNode.delete(node);
    this.taken.delete(held);
  }
}

function reconcileNode(allocator: RangeAllocator, name: string, cache: CacheView): ReconcileResult {
  for (const node of cache.list(kinds.node, undefined)) {
    const cidr = podCidrOf(node);
    if (cidr !== undefined) allocator.occupy(node.metadata!.name!, cidr);
  }
  const node = cache.get(kinds.node, name);
  if (node === undefined) {
    allocator.release(name);
    return noActions;
  }
  if (podCidrOf(node) !== undefined) return noActions;
  const cidr = allocator.allocate(name);
  if (cidr === undefined) {
    return { steps: steps({ execution: sequential, actions: [{ type: 'event', event: { involvedObject: { apiVersion: 'v1', kind: 'Node', name }, type: 'Warning', reason: 'CIDRNotAvailable', message: `Node ${name} status is now: CIDRNotAvailable (every /24 of the cluster CIDR is taken)` } }] }) };
  }
  return { steps: steps({ execution: sequential, actions: [{ type: 'patch', resource: kinds.node, namespace: undefined, name, patchType: 'strategic', patch: { spec: { podCIDR: cidr, podCIDRs: [cidr] } } }] }) };
}

function mapNode(event: WatchEvent): EventMapping {
  const obj = event.type === 'update' ? event.newObj : event.obj;
  if (event.type === 'update' && podCidrOf(obj) !== undefined) return ignoreEvent;
  return { enqueue: [{ key: obj.metadata?.name ?? '' }] };
}

export function nodeIpamController(config: NodeIpamConfig = defaultNodeIpam): ControllerDefinition {
  const allocator = new RangeAllocator(parseClusterCidr(config.clusterCidr));
  return {
    name: 'node-ipam-controller',
    primary: kinds.node,
    workers: 1,
    watches: [{ kind: kinds.node, map: (e) => mapNode(e) }],
    reconcile: (key, cache) => reconcileNode(allocator, key, cache),
  };
}
