/**
 * Kubernetes storage keys, as the apiserver lays them out in etcd:
 * `/registry/<resource>/<namespace>/<name>` for namespaced objects and
 * `/registry/<resource>/<name>` for cluster-scoped ones. A list or watch of a resource (all
 * namespaces) or of one namespace is a prefix ending in '/', so that `pods/default` never
 * matches `pods/default-2`.
 */
import { type KeySelector, type Result, fail, ok } from './types.js';

const registryPrefix = '/registry/';
/** DNS-1123 subdomain (object names), label (namespaces), and resource names (lowercase, with dots for groups). */
const namePattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const namespacePattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A resource, optionally under its API group as the apiserver stores CRDs and aggregated APIs: `apiregistration.k8s.io/apiservices`. */
const resourcePattern = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,126}[a-z0-9])?$/;
/** Some built-in names are not DNS subdomains (e.g. RBAC `system:controller:...`); allow their characters. */
const lenientNamePattern = /^[A-Za-z0-9]([-A-Za-z0-9.:_@]{0,251}[A-Za-z0-9])?$/;

export interface ObjectKey {
  readonly resource: string;
  /** Undefined for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name: string;
}

function malformed<T>(reason: string): Result<T> {
  return fail({ code: 'malformed', reason });
}

function validateKeyParts(parts: ObjectKey): Result<ObjectKey> {
  if (!resourcePattern.test(parts.resource)) return malformed(`invalid resource ${JSON.stringify(parts.resource)}`);
  if (parts.namespace !== undefined && !namespacePattern.test(parts.namespace)) return malformed(`invalid namespace ${JSON.stringify(parts.namespace)}`);
  if (!namePattern.test(parts.name) && !lenientNamePattern.test(parts.name)) return malformed(`invalid name ${JSON.stringify(parts.name)}`);
  return ok(parts);
}

/** The key of one object; invalid parts are a typed error. */
export function objectKey(parts: ObjectKey): Result<string> {
  const valid = validateKeyParts(parts);
  if (!valid.ok) return valid;
  const ns = parts.namespace === undefined ? '' : `${parts.namespace}/`;
  return ok(`${registryPrefix}${parts.resource}/${ns}${parts.name}`);
}

/** The prefix of a resource's objects: all namespaces, or one namespace when given. */
export function resourcePrefix(resource: string, namespace?: string): Result<string> {
  if (!resourcePattern.test(resource)) return malformed(`invalid resource ${JSON.stringify(resource)}`);
  if (namespace === undefined) return ok(`${registryPrefix}${resource}/`);
  if (!namespacePattern.test(namespace)) return malformed(`invalid namespace ${JSON.stringify(namespace)}`);
  return ok(`${registryPrefix}${resource}/${namespace}/`);
}

/** A selector for list or watch of a resource (optionally one namespace). */
export function resourceSelector(resource: string, namespace?: string): Result<KeySelector> {
  const prefix = resourcePrefix(resource, namespace);
  return prefix.ok ? ok({ key: prefix.value, prefix: true }) : prefix;
}

/** Splits a key back into its parts; whether the resource is namespaced must come from the caller. */
export function parseObjectKey(key: string, namespaced: boolean): Result<ObjectKey> {
  if (!key.startsWith(registryPrefix)) return malformed(`not a registry key: ${JSON.stringify(key)}`);
  const segments = key.slice(registryPrefix.length).split('/');
  const name = segments.pop();
  const namespace = namespaced ? segments.pop() : undefined;
  if (name === undefined || (namespaced && namespace === undefined) || segments.length === 0) {
    return malformed(`unexpected key shape: ${JSON.stringify(key)}`);
  }
  const resource = segments.join('/');
  return validateKeyParts(namespace === undefined ? { resource, name } : { resource, namespace, name });
}
