/**
 * What an HTTP request asks for, in authorization terms: Kubernetes' RequestInfoFactory
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), pure. The verb, resource, namespace and
 * name it derives are what RBAC rules and the Node authorizer match, so the REST layer should build
 * attributes with this rather than by hand.
 */
import type { RequestAttributes } from './rbac-types.js';

export type RequestInfo = Omit<RequestAttributes, 'user'> & {
  readonly verb: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  readonly path: string;
  /** Path segments from the resource on, e.g. ['pods', 'web', 'log']. Empty for non-resource requests. */
  readonly parts: readonly string[];
};

const apiPrefixes: ReadonlySet<string> = new Set(['api', 'apis']);
const grouplessPrefixes: ReadonlySet<string> = new Set(['api']);
/** Legacy path verbs: /api/v1/watch/..., /api/v1/proxy/... */
const specialVerbs: ReadonlySet<string> = new Set(['proxy', 'watch']);
/** Subresources of a namespace, as opposed to resources inside it. */
const namespaceSubresources: ReadonlySet<string> = new Set(['status', 'finalize']);
const goTrue: ReadonlySet<string> = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

const methodVerbs: Readonly<Record<string, string>> = {
  POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete',
};

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** The name a field selector pins with `metadata.name=<n>` (or `==`), as Go's RequiresExactMatch. */
function exactNameOf(fieldSelector: string | null): string | undefined {
  if (fieldSelector === null) return undefined;
  for (const term of fieldSelector.split(',')) {
    const m = /^metadata\.name(==|=)(.*)$/.exec(term.trim());
    if (m !== null) return m[2];
  }
  return undefined;
}

/** A name usable as a path segment (path.IsValidPathSegmentName). */
const validSegment = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !/[/%]/.test(name);

/**
 * @param method HTTP method, upper case
 * @param path the URL path, already percent-decoded per segment by the caller's router or not at all
 * @param query the URL query
 */
export function requestInfoOf(method: string, path: string, query: URLSearchParams): RequestInfo {
  const nonResource: RequestInfo = {
    resourceRequest: false, verb: method.toLowerCase(), path,
    apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '', parts: [],
  };
  let parts = splitPath(path);
  if (parts.length < 3 || !apiPrefixes.has(parts[0]!)) return nonResource;
  const prefix = parts[0]!;
  parts = parts.slice(1);
  let apiGroup = '';
  if (!grouplessPrefixes.has(prefix)) {
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  const apiVersion = parts[0]!;
  parts = parts.slice(1);
  let verb: string;
  if (specialVerbs.has(parts[0]!)) {
    if (parts.length < 2) return nonResource; // Kubernetes answers this with an error; nothing is authorized
    verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    verb = methodVerbs[method.toUpperCase()] ?? '';
  }
  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1]!;
    if (parts.length > 2 && !namespaceSubresources.has(parts[2]!)) parts = parts.slice(2);
  }
  const resource = parts[0] ?? '';
  let name = parts[1] ?? '';
  const subresource = parts.length >= 3 && verb !== 'proxy' ? parts[2]! : '';
  if (name === '' && verb === 'get') {
    verb = goTrue.has(query.get('watch') ?? '') ? 'watch' : 'list';
    const pinned = exactNameOf(query.get('fieldSelector'));
    if (pinned !== undefined && validSegment(pinned)) name = pinned;
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  return { resourceRequest: true, verb, path, apiGroup, apiVersion, resource, subresource, namespace, name, parts };
}

/** Attributes for the authorizers: the request info plus who asks. */
export function requestAttributesOf(user: RequestAttributes['user'], info: RequestInfo): RequestAttributes {
  return { ...info, user };
}
