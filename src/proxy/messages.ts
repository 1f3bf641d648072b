import type { Address } from '../primitives/address.js';
import type { ProfileName } from '../runtime/profiles.js';
import { isRecord, protocolError, type ProtocolError } from '../runtime/validate.js';
import { validateWatchTell, type ApiWatchTell } from '../apiserver/messages.js';
import type { ProxyMode } from './rules.js';

/**
 * The kube-proxy actor's protocol (`<node>/kube-proxy`). It is a client of the apiservers (their
 * watch tells arrive here), and answers a status ask with the size of its table and its counters.
 */
export type KubeProxyMessage =
  /** Ask: answered with `kubeProxyStatus`. */
  | { readonly type: 'kubeProxyStatusRequest' }
  | ApiWatchTell;

export interface KubeProxyCounters {
  /** TCP connections accepted on the service-proxy port and on NodePorts. */
  readonly tcpConnections: number;
  /** Connections and datagrams refused: no usable endpoint, unknown ClusterIP, bad PROXY header. */
  readonly rejected: number;
  /** UDP flows opened (one per client socket and destination). */
  readonly udpFlows: number;
  readonly udpDatagrams: number;
  /** Failed binds of a NodePort or of the service-proxy port (EADDRINUSE, EACCES). */
  readonly bindErrors: number;
  /** Table rebuilds (one per burst of Service/EndpointSlice changes). */
  readonly syncs: number;
}

export interface KubeProxyStatus extends KubeProxyCounters {
  readonly type: 'kubeProxyStatus';
  readonly nodeName: string;
  /** True once the Service and EndpointSlice informers have listed. */
  readonly synced: boolean;
  /** Service ports in the table. */
  readonly rules: number;
  /** NodePort sockets bound now (TCP and UDP counted apart). */
  readonly nodePortsBound: number;
  readonly activeUdpFlows: number;
}

/** Structured-cloneable: sent to the actor's worker thread. */
export interface KubeProxyConfig {
  readonly nodeName: string;
  /** The node's address (127.10.x.y): the service-proxy port and every NodePort bind it. */
  readonly nodeIp: string;
  /** The apiserver actors, in preference order. */
  readonly apiservers: readonly Address[];
  /** Bearer token of system:kube-proxy (absent: an apiserver without authentication). */
  readonly token?: string;
  readonly profile?: ProfileName;
  /** TCP and UDP port of the service proxy on nodeIp (default 10240, see defaultServiceProxyPort). */
  readonly serviceProxyPort?: number;
  /** Default `random` (iptables mode). */
  readonly mode?: ProxyMode;
  /** A UDP flow without traffic this long is closed (default 30 s, Linux's nf_conntrack_udp_timeout). */
  readonly udpIdleTimeoutMs?: number;
  /** Broken on purpose (a chaos sabotage): route to endpoints that are not ready too, as a proxy that keeps dead endpoints would. */
  readonly unsafeUseUnreadyEndpoints?: boolean;
}

export const defaultServiceProxyPort = 10_240;
export const defaultUdpIdleTimeoutMs = 30_000;


export function validateKubeProxyMessage(raw: unknown): KubeProxyMessage | ProtocolError {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return protocolError('kube-proxy: a message is an object with a string type');
  if (raw['type'] === 'kubeProxyStatusRequest') return { type: 'kubeProxyStatusRequest' };
  return validateWatchTell('kube-proxy', raw['type'], raw) ?? protocolError(`kube-proxy: unknown message type ${JSON.stringify(raw['type'])}`);
}
