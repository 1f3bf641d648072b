/**
 * kube-proxy's rule computation (pkg/proxy: ServicePortMap + EndpointsMap → the table a proxier
 * programs), as a pure function of the Services and EndpointSlices it watched, and the endpoint
 * choice it makes for each new connection or UDP flow. No sockets, no timers: the shell
 * (actors/kube-proxy) gives it the clock reading and the PRNG.
 *
 * What follows Kubernetes:
 * - Headless Services (`clusterIP: None`) and ExternalName Services are not proxied.
 * - An EndpointSlice belongs to the Service named by its `kubernetes.io/service-name` label; a
 *   Service port uses the slice port with the same name (the endpointslice controller has
 *   already resolved a named targetPort per pod, so that is how a targetPort by name is honoured).
 * - Usable endpoints are the ready ones; when none is ready, the serving-and-terminating ones
 *   (KEP-1669 ProxyTerminatingEndpoints, GA in 1.28).
 * - internalTrafficPolicy: Local — traffic from pods only goes to endpoints on this node; none
 *   there: the connection is refused, even if other nodes have endpoints (KEP-2086).
 * - externalTrafficPolicy: Local — NodePort traffic only goes to endpoints on this node; none:
 *   upstream drops the packet, we refuse the connection (a drop of a TCP connect cannot be
 *   expressed without netfilter except by holding it open, which only makes clients wait).
 * - No usable endpoint at all: the connection is refused at once (upstream installs a REJECT).
 * - sessionAffinity: ClientIP — the same client IP goes to the same endpoint while it stays
 *   usable and it has been used within timeoutSeconds (default 10800, the API's default), like
 *   iptables' `recent` match that kube-proxy installs.
 * - Random choice (iptables mode: `statistic --mode random`) or round robin (ipvs' default `rr`).
 */
import { asArray, asNumber, asRecord, asString, type KubeObject } from '../api/index.js';
import type { Prng } from '../primitives/prng.js';

export type ProxyProtocol = 'TCP' | 'UDP';

export interface ProxyEndpoint {
  readonly ip: string;
  readonly port: number;
  /** The node the endpoint's pod runs on (absent in hand-written slices). */
  readonly nodeName?: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

export interface ServicePortRule {
  /** `namespace/name:portName` (portName may be empty), upstream's ServicePortName. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly protocol: ProxyProtocol;
  readonly clusterIps: readonly string[];
  readonly port: number;
  /** Present for NodePort and LoadBalancer Services. */
  readonly nodePort?: number;
  /** Every endpoint of the slices for this port (usable or not), sorted by ip:port. */
  readonly endpoints: readonly ProxyEndpoint[];
  readonly internalLocal: boolean;
  readonly externalLocal: boolean;
  /** Present for sessionAffinity: ClientIP. */
  readonly affinityTimeoutMs?: number;
}

export interface ProxyTable {
  readonly rules: readonly ServicePortRule[];
  /** By `PROTO ip:port` of each ClusterIP. */
  readonly byClusterIp: ReadonlyMap<string, ServicePortRule>;
  /** By `PROTO port` of each NodePort. */
  readonly byNodePort: ReadonlyMap<string, ServicePortRule>;
}

const serviceNameLabel = 'kubernetes.io/service-name';
/** The API's default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
const defaultAffinityTimeoutSeconds = 10_800;

export function clusterIpKey(protocol: ProxyProtocol, ip: string, port: number): string {
  return `${protocol} ${ip}:${port}`;
}

export function nodePortKey(protocol: ProxyProtocol, port: number): string {
  return `${protocol} ${port}`;
}

function protocolOf(value: unknown): ProxyProtocol | undefined {
  const p = asString(value) ?? 'TCP';
  // SCTP cannot be carried over loopback sockets from Node: not proxied.
  return p === 'TCP' || p === 'UDP' ? p : undefined;
}

function isIpv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

function sliceEndpoints(slice: KubeObject, portName: string, protocol: ProxyProtocol): ProxyEndpoint[] {
  if (asString(slice['addressType']) !== undefined && slice['addressType'] !== 'IPv4') return [];
  const port = asArray(slice['ports']).map(asRecord).find((p) => p !== undefined && (asString(p['name']) ?? '') === portName && protocolOf(p['protocol']) === protocol);
  const number = asNumber(port?.['port']);
  if (number === undefined) return [];
  const out: ProxyEndpoint[] = [];
  for (const raw of asArray(slice['endpoints'])) {
    const e = asRecord(raw);
    if (e === undefined) continue;
    const conditions = asRecord(e['conditions']) ?? {};
    // The API: a nil ready means ready; serving defaults to ready; terminating to false.
    const ready = conditions['ready'] !== false;
    const serving = typeof conditions['serving'] === 'boolean' ? conditions['serving'] : ready;
    const terminating = conditions['terminating'] === true;
    const nodeName = asString(e['nodeName']);
    // One address per endpoint is all kube-proxy uses (the API allows more; only the first counts).
    const ip = asString(asArray(e['addresses'])[0]);
    if (ip === undefined || !isIpv4(ip)) continue;
    out.push({ ip, port: number, ready, serving, terminating, ...(nodeName === undefined ? {} : { nodeName }) });
  }
  return out;
}

/** The table for this node's proxier from every Service and EndpointSlice it knows. */
export function buildProxyTable(services: readonly KubeObject[], slices: readonly KubeObject[]): ProxyTable {
  const slicesByService = new Map<string, KubeObject[]>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[serviceNameLabel];
    if (svc === undefined) continue;
    const key = `${s.metadata?.namespace ?? ''}/${svc}`;
    const list = slicesByService.get(key);
    if (list === undefined) slicesByService.set(key, [s]);
    else list.push(s);
  }
  const rules: ServicePortRule[] = [];
  const byClusterIp = new Map<string, ServicePortRule>();
  const byNodePort = new Map<string, ServicePortRule>();
  const sorted = [...services].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  for (const svc of sorted) {
    const spec = asRecord(svc['spec']) ?? {};
    const type = asString(spec['type']) ?? 'ClusterIP';
    if (type === 'ExternalName') continue;
    const primary = asString(spec['clusterIP']);
    if (primary === undefined || primary === '' || primary === 'None') continue;
    const clusterIps = (asArray(spec['clusterIPs']).length > 0 ? asArray(spec['clusterIPs']).map(asString) : [primary])
      .filter((ip): ip is string => ip !== undefined && isIpv4(ip));
    if (clusterIps.length === 0) continue;
    const namespace = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const affinity = asString(spec['sessionAffinity']) === 'ClientIP';
    const timeoutSeconds = asNumber(asRecord(asRecord(spec['sessionAffinityConfig'])?.['clientIP'])?.['timeoutSeconds']) ?? defaultAffinityTimeoutSeconds;
    const hasNodePorts = type === 'NodePort' || type === 'LoadBalancer';
    for (const rawPort of asArray(spec['ports'])) {
      const p = asRecord(rawPort);
      const protocol = protocolOf(p?.['protocol']);
      const port = asNumber(p?.['port']);
      if (p === undefined || protocol === undefined || port === undefined) continue;
      const portName = asString(p['name']) ?? '';
      const endpoints = (slicesByService.get(`${namespace}/${name}`) ?? [])
        .flatMap((s) => sliceEndpoints(s, portName, protocol))
        .sort((a, b) => (a.ip === b.ip ? a.port - b.port : compareIp(a.ip, b.ip)));
      const nodePort = hasNodePorts ? asNumber(p['nodePort']) : undefined;
      const rule: ServicePortRule = {
        key: `${namespace}/${name}:${portName}`, namespace, name, portName, protocol, clusterIps, port, endpoints,
        internalLocal: spec['internalTrafficPolicy'] === 'Local',
        externalLocal: hasNodePorts && spec['externalTrafficPolicy'] === 'Local',
        ...(nodePort === undefined ? {} : { nodePort }),
        ...(affinity ? { affinityTimeoutMs: timeoutSeconds * 1_000 } : {}),
      };
      rules.push(rule);
      for (const ip of clusterIps) byClusterIp.set(clusterIpKey(protocol, ip, port), rule);
      if (nodePort !== undefined) byNodePort.set(nodePortKey(protocol, nodePort), rule);
    }
  }
  return { rules, byClusterIp, byNodePort };
}

function keyOf(o: KubeObject): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

function compareIp(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (x[i]! !== y[i]!) return x[i]! - y[i]!;
  return 0;
}

/** Where the traffic came from: a pod on this node (to a ClusterIP) or outside (to a NodePort). */
export type TrafficSource = 'internal' | 'external';

/**
 * The endpoints this node's proxier may use for a rule and a source: topology filtered by the
 * traffic policy, then ready ones (or, when none is ready, serving-terminating ones).
 */
export function usableEndpoints(rule: ServicePortRule, source: TrafficSource, nodeName: string): readonly ProxyEndpoint[] {
  const local = source === 'internal' ? rule.internalLocal : rule.externalLocal;
  const candidates = local ? rule.endpoints.filter((e) => e.nodeName === nodeName) : rule.endpoints;
  const ready = candidates.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return candidates.filter((e) => e.serving && e.terminating);
}

export type PickResult =
  | { readonly kind: 'endpoint'; readonly endpoint: ProxyEndpoint; readonly affinity: boolean }
  /** No usable endpoint: refuse (a local policy with endpoints only elsewhere says so). */
  | { readonly kind: 'reject'; readonly reason: 'no-endpoints' | 'no-local-endpoints' };

export type ProxyMode = 'random' | 'round-robin';

/**
 * Chooses endpoints. Its state — round-robin positions and ClientIP affinities — is what a
 * proxier keeps between connections; time and randomness come in as arguments.
 */
export class EndpointPicker {
  private readonly next = new Map<string, number>();
  /** rule key + client IP → endpoint and when it was last used. */
  private readonly affinities = new Map<string, { readonly ip: string; readonly port: number; usedMs: number }>();

  constructor(private readonly mode: ProxyMode, private readonly prng: Prng) {}

  pick(rule: ServicePortRule, o: { readonly source: TrafficSource; readonly clientIp: string; readonly nodeName: string; readonly nowMs: number }): PickResult {
    const usable = usableEndpoints(rule, o.source, o.nodeName);
    if (usable.length === 0) {
      const local = o.source === 'internal' ? rule.internalLocal : rule.externalLocal;
      return { kind: 'reject', reason: local && usableEndpoints({ ...rule, internalLocal: false, externalLocal: false }, o.source, o.nodeName).length > 0 ? 'no-local-endpoints' : 'no-endpoints' };
    }
    const affinityKey = `${rule.key}|${o.source}|${o.clientIp}`;
    if (rule.affinityTimeoutMs !== undefined) {
      const held = this.affinities.get(affinityKey);
      if (held !== undefined && o.nowMs - held.usedMs <= rule.affinityTimeoutMs) {
        const endpoint = usable.find((e) => e.ip === held.ip && e.port === held.port);
        if (endpoint !== undefined) {
          held.usedMs = o.nowMs;
          return { kind: 'endpoint', endpoint, affinity: true };
        }
      }
    }
    let endpoint: ProxyEndpoint;
    if (this.mode === 'random') {
      endpoint = usable[this.prng.int(usable.length)]!;
    } else {
      const position = this.next.get(rule.key) ?? 0;
      endpoint = usable[position % usable.length]!;
      this.next.set(rule.key, (position + 1) % usable.length);
    }
    if (rule.affinityTimeoutMs !== undefined) this.affinities.set(affinityKey, { ip: endpoint.ip, port: endpoint.port, usedMs: o.nowMs });
    return { kind: 'endpoint', endpoint, affinity: false };
  }

  /** Forgets affinities idle longer than their rule's timeout and state of rules gone (bounded memory). */
  expire(table: ProxyTable, nowMs: number): void {
    const live = new Map(table.rules.map((r) => [r.key, r]));
    for (const [key, held] of this.affinities) {
      const rule = live.get(key.slice(0, key.indexOf('|')));
      if (rule?.affinityTimeoutMs === undefined || nowMs - held.usedMs > rule.affinityTimeoutMs) this.affinities.delete(key);
    }
    for (const key of this.next.keys()) if (!live.has(key)) this.next.delete(key);
  }

  get affinityCount(): number {
    return this.affinities.size;
  }
}
