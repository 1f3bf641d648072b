/**
 * `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (what `kubectl auth can-i` sends):
 * the caller asks whether it may do something, answered by the same authorizer chain as real
 * requests. Not a stored kind, so it lives here rather than in src/api's resource table (and is not
 * advertised in discovery; kubectl posts to it directly).
 */
import { asRecord, asString, badRequest, type JsonObject } from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import type { RequestAttributes, UserInfo } from './auth/index.js';
import { decodeObjectBody, jsonResponse, statusResponse } from './request.js';

export const selfSubjectAccessReviewPath = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
const apiVersion = 'authorization.k8s.io/v1';

/** The attributes a review asks about, or an error message. */
export function reviewAttributes(spec: JsonObject, user: UserInfo): RequestAttributes | string {
  const ra = asRecord(spec['resourceAttributes']);
  const nra = asRecord(spec['nonResourceAttributes']);
  if ((ra === undefined) === (nra === undefined)) return 'exactly one of nonResourceAttributes or resourceAttributes must be specified';
  if (nra !== undefined) return { user, resourceRequest: false, verb: asString(nra['verb']) ?? '', path: asString(nra['path']) ?? '' };
  const r = ra!;
  const s = (k: string): string => asString(r[k]) ?? '';
  return {
    user, resourceRequest: true, verb: s('verb'), apiGroup: s('group'), apiVersion: s('version'), resource: s('resource'),
    subresource: s('subresource'), namespace: s('namespace'), name: s('name'),
  };
}

export function selfSubjectAccessReview(body: Uint8Array | undefined, contentType: string | undefined, user: UserInfo,
  decide: (attrs: RequestAttributes) => { allowed: boolean; reason: string }): ApiResponse {
  const decoded = decodeObjectBody(body, contentType);
  if (!decoded.ok) return statusResponse(decoded.status);
  const spec = asRecord(decoded.value['spec']) ?? {};
  const attrs = reviewAttributes(spec, user);
  if (typeof attrs === 'string') return statusResponse(badRequest(attrs));
  const decision = decide(attrs);
  return jsonResponse(201, {
    kind: 'SelfSubjectAccessReview', apiVersion, metadata: { creationTimestamp: null }, spec,
    status: { allowed: decision.allowed, ...(decision.reason !== '' ? { reason: decision.reason } : {}) },
  });
}
