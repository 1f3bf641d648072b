/**
 * How a Kubernetes API request travels, independent of the wire: the apiserver core answers
 * `ApiRequest`s; the HTTPS server (kubectl, client-node) and the actor protocol (in-cluster
 * components talking to `master-N/apiserver` through the network relay, so chaos reaches them)
 * are two adapters over the same core. The in-process client (src/client) speaks it through an
 * `ApiTransport`.
 */
import type { Observable } from 'rxjs';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  readonly method: ApiMethod;
  /** URL path without the query, e.g. `/api/v1/namespaces/default/pods/web-0`. */
  readonly path: string;
  /** Decoded query parameters (`labelSelector`, `resourceVersion`, `watch`, `fieldManager`, ...). */
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case header names: `content-type`, `accept`, `authorization`, `user-agent`. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw request body (JSON, YAML for apply patches), when there is one. */
  readonly body?: Uint8Array;
}

export interface ApiResponse {
  readonly status: number;
  /** `application/json` for objects and Status; `text/plain` for logs and health checks. */
  readonly contentType: string;
  /** A JSON-able object (serialised by the adapter) or raw bytes. */
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One line of a watch stream, as Kubernetes sends it. */
export interface ApiWatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

/**
 * A watch answer: either a refusal before streaming (401, 403, 404, 410 as a response) or a stream
 * of events that completes when the server ends the watch (timeoutSeconds, shutdown, member loss).
 */
export type ApiWatchResult =
  | { readonly kind: 'response'; readonly response: ApiResponse }
  | { readonly kind: 'stream'; readonly events: Observable<ApiWatchEvent> };

export interface ApiTransport {
  request(request: ApiRequest): Promise<ApiResponse>;
  /** `request` must carry `watch=true` in its query. */
  watch(request: ApiRequest): Promise<ApiWatchResult>;
}
