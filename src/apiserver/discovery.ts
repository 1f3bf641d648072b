/** Non-resource endpoints: discovery, version, OpenAPI stubs, health checks. */
import {
  aggregatedDiscovery, aggregatedDiscoveryMediaType, apiGroupList, apiResourceList, apiVersions, notAcceptable, notFound,
  type ResourceInfo, servedGroupVersions, wantsAggregatedDiscovery,
} from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import { type OpenApiDocuments, openApiV2ProtobufMediaType, preferredOpenApiType } from './openapi.js';
import { jsonResponse, statusResponse } from './request.js';

export const kubernetesVersion = { major: '1', minor: '32', gitVersion: 'v1.32.0-pocketkube' } as const;

export function versionInfo(): Record<string, string> {
  return {
    ...kubernetesVersion, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64',
  };
}

const emptyBytes = new Uint8Array(0);

export function textResponse(status: number, text: string): ApiResponse {
  return { status, contentType: 'text/plain; charset=utf-8', body: new TextEncoder().encode(text) };
}

/** `extra`: the custom resources this apiserver serves besides the built-in table. */
export function discoveryRoot(path: '/api' | '/apis', accept: string | undefined, serverAddress: string, extra: readonly ResourceInfo[] = []): ApiResponse {
  if (wantsAggregatedDiscovery(accept)) {
    return { status: 200, contentType: aggregatedDiscoveryMediaType, body: aggregatedDiscovery(path === '/api' ? 'core' : 'groups', extra) };
  }
  return jsonResponse(200, path === '/api' ? apiVersions(serverAddress) : apiGroupList(extra));
}

export function groupDocument(group: string, extra: readonly ResourceInfo[] = []): ApiResponse {
  const versions = servedGroupVersions(extra).filter((gv) => gv.group === group).map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  if (versions.length === 0) return statusResponse(notFound({ group: '', resource: '' }, ''));
  return jsonResponse(200, { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] });
}

export function groupVersionDocument(group: string, version: string, extra: readonly ResourceInfo[] = []): ApiResponse {
  const doc = apiResourceList(group, version, extra);
  return doc === undefined ? statusResponse(notFound({ group: '', resource: '' }, '')) : jsonResponse(200, doc);
}

/**
 * `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<group-version>`, as JSON. v2 in protobuf (what
 * kubectl asks for) is an empty document: kubectl then skips client-side validation and computes
 * strategic merge patches from its built-in types, as before; v3 has no protobuf form here (406).
 */
export function openApiResponse(path: string, accept: string | undefined, docs: OpenApiDocuments): ApiResponse {
  const type = preferredOpenApiType(accept);
  if (path === '/openapi/v2') {
    if (type === 'protobuf') return { status: 200, contentType: 'application/octet-stream', body: emptyBytes };
    if (type === undefined) return statusResponse(notAcceptable(['application/json', openApiV2ProtobufMediaType]));
    return jsonResponse(200, docs.v2());
  }
  if (type !== 'json') return statusResponse(notAcceptable(['application/json']));
  if (path === '/openapi/v3') return jsonResponse(200, docs.root());
  const doc = docs.groupVersion(path.slice('/openapi/v3/'.length));
  return doc === undefined ? pathNotFound() : jsonResponse(200, doc);
}

export function pathNotFound(): ApiResponse {
  return statusResponse({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });
}
