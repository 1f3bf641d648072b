/**
 * URL path → what is addressed: a resource collection, one object, or one of its subresources.
 * Pure; the REST layer dispatches on the result.
 */
import { lookupResource, type ResourceInfo } from '../api/index.js';

export interface ResourceRoute {
  readonly kind: 'resource';
  readonly info: ResourceInfo;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

export type Route =
  | ResourceRoute
  /** A group-version or group that exists, or a path under /api or /apis this server does not serve. */
  | { readonly kind: 'groupVersion'; readonly group: string; readonly version: string }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'other'; readonly path: string };

const namespaceSubresources = new Set(['status', 'finalize']);
/** Longest accepted path, in segments: /apis/g/v/namespaces/ns/resource/name/sub. */
const maxSegments = 8;

/** Finds a served resource: the built-in table, or a core's built-ins plus its custom resources. */
export type ResourceLookup = (group: string, version: string, resource: string) => ResourceInfo | undefined;

export function parseRoute(path: string, lookup: ResourceLookup = lookupResource): Route {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] !== 'api' && segments[0] !== 'apis') return { kind: 'other', path };
  if (segments.length > maxSegments) return { kind: 'notFound' };
  let rest: string[];
  let group: string;
  let version: string | undefined;
  if (segments[0] === 'api') {
    group = '';
    version = segments[1];
    rest = segments.slice(2);
  } else {
    group = segments[1] ?? '';
    version = segments[2];
    rest = segments.slice(3);
    if (group === '') return { kind: 'other', path };
    if (version === undefined) return { kind: 'group', group };
  }
  if (version === undefined) return { kind: 'other', path };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  return resourceRoute(group, version, rest, lookup);
}

function resourceRoute(group: string, version: string, rest: string[], lookup: ResourceLookup): Route {
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSubresources.has(rest[2]!)) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const info = lookup(group, version, rest[0]!);
  if (info === undefined || rest.length > 3) return { kind: 'notFound' };
  if (info.namespaced !== (namespace !== undefined) && rest.length > 1) {
    // A named object of a namespaced resource needs its namespace; a cluster-scoped one must not have one.
    return { kind: 'notFound' };
  }
  if (!info.namespaced && namespace !== undefined) return { kind: 'notFound' };
  return { kind: 'resource', info, namespace, name: rest[1], subresource: rest[2] };
}
