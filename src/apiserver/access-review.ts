/**
 * The create-only review kinds, answered by the apiserver's own authenticator and authorizer chain
 * and never stored (kube-apiserver's pkg/registry/{authentication,authorization}):
 *   authentication.k8s.io/v1 tokenreviews, selfsubjectreviews (`kubectl auth whoami`);
 *   authorization.k8s.io/v1 selfsubjectaccessreviews (`kubectl auth can-i`), subjectaccessreviews,
 *   localsubjectaccessreviews, selfsubjectrulesreviews (`kubectl auth can-i --list`).
 * They are rows in src/api's resource table (so discovery advertises them with the create verb);
 * `answerReview` serves the POST in place of the generic registry.
 */
import { asArray, asRecord, asString, invalid, type JsonObject, methodNotAllowed, type ResourceInfo } from '../api/index.js';
import type { ApiResponse } from '../client/api-transport.js';
import type { AuthenticationResult, PolicyRule, RequestAttributes, UserInfo } from './auth/index.js';
import { decodeObjectBody, jsonResponse, statusResponse } from './request.js';
import type { ResourceRoute } from './route.js';

const authorizationApiVersion = 'authorization.k8s.io/v1';
const authenticationApiVersion = 'authentication.k8s.io/v1';

export interface ReviewDeps {
  readonly user: UserInfo;
  /** The authorizer chain (Node, RBAC) exactly as for real requests. */
  readonly decide: (attrs: RequestAttributes) => { allowed: boolean; reason: string };
  /** The authenticator on a bearer token; undefined when this apiserver runs without authentication. */
  readonly authenticateToken?: (token: string) => AuthenticationResult;
  /** RBAC rules of a user in a namespace; undefined without authentication (everything is allowed). */
  readonly rulesFor?: (user: UserInfo, namespace: string) => { rules: PolicyRule[]; errors: string[] };
  readonly nowIso: string;
}

const reviewKinds = new Set(['TokenReview', 'SelfSubjectReview', 'SelfSubjectAccessReview', 'SubjectAccessReview',
  'LocalSubjectAccessReview', 'SelfSubjectRulesReview']);

/** True for the review kinds this module answers. */
export function isReviewKind(info: ResourceInfo): boolean {
  return (info.group === 'authentication.k8s.io' || info.group === 'authorization.k8s.io') && reviewKinds.has(info.kind);
}

/** The attributes a review asks about, or an error message. */
function reviewAttributes(spec: JsonObject, user: UserInfo): RequestAttributes | string {
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

/** spec.user/groups/uid/extra of a SubjectAccessReview as the user asked about. */
function subjectOf(spec: JsonObject): UserInfo {
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(asRecord(spec['extra']) ?? {})) extra[k] = asArray(v).map(String);
  const uid = asString(spec['uid']);
  return {
    username: asString(spec['user']) ?? '', groups: asArray(spec['groups']).map(String),
    ...(uid !== undefined && uid !== '' ? { uid } : {}), ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

function userInfoJson(u: UserInfo): JsonObject {
  return { username: u.username, ...(u.uid !== undefined ? { uid: u.uid } : {}), groups: [...u.groups], ...(u.extra ? { extra: u.extra } : {}) };
}

function created(kind: string, apiVersion: string, metadata: JsonObject, rest: JsonObject): ApiResponse {
  return jsonResponse(201, { kind, apiVersion, metadata: { creationTimestamp: null, ...metadata }, ...rest });
}

const reviewMetadata = (body: JsonObject): JsonObject => {
  const m = asRecord(body['metadata']) ?? {};
  const out: JsonObject = {};
  for (const k of ['name', 'namespace', 'labels', 'annotations']) if (m[k] !== undefined) out[k] = m[k];
  return out;
};

function accessReview(route: ResourceRoute, body: JsonObject, d: ReviewDeps): ApiResponse {
  const kind = route.info.kind;
  const spec = asRecord(body['spec']) ?? {};
  if (kind !== 'SelfSubjectAccessReview') {
    if ((asString(spec['user']) ?? '') === '' && asArray(spec['groups']).length === 0) {
      return statusResponse(invalid('authorization.k8s.io', kind, '', [
        { type: 'FieldValueRequired', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]));
    }
  }
  if (kind === 'LocalSubjectAccessReview') {
    const ns = asString(asRecord(spec['resourceAttributes'])?.['namespace']) ?? '';
    if (ns !== route.namespace || asRecord(spec['nonResourceAttributes']) !== undefined) {
      return statusResponse(invalid('authorization.k8s.io', kind, '', [{ type: 'FieldValueInvalid', field: 'spec.resourceAttributes.namespace',
        message: `Invalid value: ${JSON.stringify(ns)}: must match metadata.namespace` }]));
    }
  }
  const who = kind === 'SelfSubjectAccessReview' ? d.user : subjectOf(spec);
  const attrs = reviewAttributes(spec, who);
  if (typeof attrs === 'string') {
    return statusResponse(invalid('authorization.k8s.io', kind, '', [{ type: 'FieldValueInvalid', field: 'spec', message: `Invalid value: "null": ${attrs}` }]));
  }
  const decision = d.decide(attrs);
  const metadata = reviewMetadata(body);
  if (kind === 'LocalSubjectAccessReview' && route.namespace !== undefined) metadata['namespace'] = route.namespace;
  return created(kind, authorizationApiVersion, metadata, {
    spec, status: { allowed: decision.allowed, ...(decision.reason !== '' ? { reason: decision.reason } : {}) },
  });
}

function rulesReview(body: JsonObject, d: ReviewDeps): ApiResponse {
  const spec = asRecord(body['spec']) ?? {};
  const namespace = asString(spec['namespace']) ?? '';
  let resourceRules: JsonObject[];
  let nonResourceRules: JsonObject[];
  let errors: string[] = [];
  if (d.rulesFor === undefined) {
    // Without authentication every request is the cluster admin's.
    resourceRules = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
    nonResourceRules = [{ verbs: ['*'], nonResourceURLs: ['*'] }];
  } else {
    const r = d.rulesFor(d.user, namespace);
    errors = r.errors;
    const strip = (rule: PolicyRule, keys: readonly (keyof PolicyRule)[]): JsonObject =>
      Object.fromEntries(keys.filter((k) => rule[k] !== undefined && rule[k] !== null && (rule[k] as readonly string[]).length > 0).map((k) => [k, [...(rule[k] as readonly string[])]]));
    resourceRules = r.rules.filter((x) => (x.resources ?? []).length > 0).map((x) => strip(x, ['verbs', 'apiGroups', 'resources', 'resourceNames']));
    nonResourceRules = r.rules.filter((x) => (x.nonResourceURLs ?? []).length > 0).map((x) => strip(x, ['verbs', 'nonResourceURLs']));
  }
  return created('SelfSubjectRulesReview', authorizationApiVersion, reviewMetadata(body), {
    spec, status: { resourceRules, nonResourceRules, incomplete: errors.length > 0, ...(errors.length > 0 ? { evaluationError: errors.join(', ') } : {}) },
  });
}

function tokenReview(body: JsonObject, d: ReviewDeps): ApiResponse {
  const spec = asRecord(body['spec']) ?? {};
  const token = asString(spec['token']) ?? '';
  if (token === '') {
    return statusResponse(invalid('authentication.k8s.io', 'TokenReview', '', [{ type: 'FieldValueRequired', field: 'spec.token', message: 'Required value' }]));
  }
  let status: JsonObject;
  if (d.authenticateToken === undefined) {
    status = { authenticated: false, user: {}, error: 'this apiserver runs without authentication' };
  } else {
    const r = d.authenticateToken(token);
    status = r.ok && r.method !== 'anonymous'
      ? { authenticated: true, user: userInfoJson(r.user), ...(asArray(spec['audiences']).length > 0 ? { audiences: spec['audiences'] } : {}) }
      : { authenticated: false, user: {}, ...(r.ok ? {} : { error: r.reason }) };
  }
  return created('TokenReview', authenticationApiVersion, reviewMetadata(body), { spec, status });
}

/** POST of a review kind. */
export function answerReview(route: ResourceRoute, method: string, rawBody: Uint8Array | undefined, contentType: string | undefined, d: ReviewDeps): ApiResponse {
  if (method !== 'POST' || route.name !== undefined) {
    return statusResponse(methodNotAllowed());
  }
  const decoded = decodeObjectBody(rawBody, contentType);
  if (!decoded.ok) return statusResponse(decoded.status);
  const body = decoded.value;
  switch (route.info.kind) {
    case 'SelfSubjectReview':
      return created('SelfSubjectReview', authenticationApiVersion, { ...reviewMetadata(body), creationTimestamp: d.nowIso }, { status: { userInfo: userInfoJson(d.user) } });
    case 'TokenReview': return tokenReview(body, d);
    case 'SelfSubjectRulesReview': return rulesReview(body, d);
    default: return accessReview(route, body, d);
  }
}
