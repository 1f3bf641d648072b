/**
 * The 401 and 403 replies, worded exactly as kube-apiserver words them (kubectl prints `message`):
 * responsewriters.forbiddenMessage + apierrors.NewForbidden.
 */
import type { RequestAttributes } from './rbac-types.js';

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: 'Forbidden' | 'Unauthorized';
  readonly details?: StatusDetails;
  readonly code: 401 | 403;
}

/** `User "jane" cannot list resource "pods" in API group "" in the namespace "default"`. */
function forbiddenMessage(attrs: RequestAttributes): string {
  const user = attrs.user.username;
  if (!attrs.resourceRequest) return `User ${q(user)} cannot ${attrs.verb} path ${q(attrs.path ?? '')}`;
  const resource = attrs.subresource ? `${attrs.resource ?? ''}/${attrs.subresource}` : attrs.resource ?? '';
  const group = attrs.apiGroup ?? '';
  if (attrs.namespace) {
    return `User ${q(user)} cannot ${attrs.verb} resource ${q(resource)} in API group ${q(group)} in the namespace ${q(attrs.namespace)}`;
  }
  return `User ${q(user)} cannot ${attrs.verb} resource ${q(resource)} in API group ${q(group)} at the cluster scope`;
}

/**
 * The full Status message: `pods is forbidden: User ...`, `deployments.apps "web" is forbidden: ...`,
 * `forbidden: User "x" cannot get path "/foo"`; a non-empty authorizer reason is appended after ": ".
 */
export function forbiddenStatusMessage(attrs: RequestAttributes, reason = ''): string {
  const err = reason === '' ? forbiddenMessage(attrs) : `${forbiddenMessage(attrs)}: ${reason}`;
  const resource = attrs.resourceRequest ? attrs.resource ?? '' : '';
  const group = attrs.resourceRequest ? attrs.apiGroup ?? '' : '';
  if (resource === '' && group === '') return `forbidden: ${err}`;
  const qualified = group === '' ? resource : `${resource}.${group}`;
  return attrs.name ? `${qualified} ${q(attrs.name)} is forbidden: ${err}` : `${qualified} is forbidden: ${err}`;
}

export function forbiddenStatus(attrs: RequestAttributes, reason = ''): Status {
  const resource = attrs.resourceRequest ? attrs.resource ?? '' : '';
  const group = attrs.resourceRequest ? attrs.apiGroup ?? '' : '';
  const details: StatusDetails = {
    ...(attrs.resourceRequest && attrs.name ? { name: attrs.name } : {}),
    ...(group ? { group } : {}),
    ...(resource ? { kind: resource } : {}),
  };
  return {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
    message: forbiddenStatusMessage(attrs, reason), reason: 'Forbidden', details, code: 403,
  };
}

export function unauthorizedStatus(): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
}

/** Go's %q for the ASCII strings Kubernetes names are made of. */
function q(s: string): string {
  return JSON.stringify(s);
}
