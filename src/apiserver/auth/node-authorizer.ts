/**
 * Node authorizer, pure, plus the authorizer chain kube-apiserver uses (privileged group, Node, RBAC).
 *
 * A kubelet (`system:node:<n>` in group `system:nodes`) is confined to its own objects. This combines
 * two Kubernetes pieces:
 * - the Node authorizer: reads of secrets, configmaps, PVCs and service accounts only when a pod bound
 *   to the node references them; its own Lease only; otherwise the static node rules. A failed check
 *   here is "no opinion" with Kubernetes' reason, so RBAC may still grant it (as in Kubernetes);
 * - NodeRestriction admission: writes to another node's Node object or Lease, or to pods bound to
 *   another node, are an explicit deny that RBAC cannot override (admission is not bypassable either).
 *
 * Requirements on the caller, because authorization sees no request body:
 * - create of nodes and leases must carry the new object's metadata.name in `attrs.name` (Kubernetes
 *   checks the body in admission; here a create without a name is denied);
 * - list/watch with `fieldSelector=metadata.name=<n>` must carry `<n>` in `attrs.name` (as Kubernetes'
 *   RequestInfo does), or kubelets cannot watch the secrets/configmaps they mount.
 * Simplifications: nodes cannot create (mirror) pods; only direct pod → object references count.
 */
import { nodeRules } from './bootstrap-policy.js';
import type { NodeGraph, ReferencedKind } from './node-graph.js';
import type { Decision, RequestAttributes } from './rbac-types.js';
import { rulesAllow, type RbacAuthorizer } from './rbac.js';
import { nodeNameOf, wellKnown } from './user.js';

const nodeLeaseNamespace = 'kube-node-lease';

export type AuthorizerDecision =
  | { readonly decision: 'allow'; readonly reason: string }
  | { readonly decision: 'deny'; readonly reason: string }
  | { readonly decision: 'no-opinion'; readonly reason: string };

const allow: AuthorizerDecision = { decision: 'allow', reason: '' };
const deny = (reason: string): AuthorizerDecision => ({ decision: 'deny', reason });
const noOpinion = (reason = ''): AuthorizerDecision => ({ decision: 'no-opinion', reason });

const readVerbs: ReadonlySet<string> = new Set(['get', 'list', 'watch']);
const writeVerbs: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export function authorizeNode(attrs: RequestAttributes, graph: NodeGraph): AuthorizerDecision {
  const nodeName = nodeNameOf(attrs.user);
  if (nodeName === undefined) return noOpinion();
  if (nodeName === '') return noOpinion(`unknown node for user "${attrs.user.username}"`);
  if (attrs.resourceRequest) {
    const group = attrs.apiGroup ?? '';
    const resource = attrs.resource ?? '';
    if (group === '') {
      switch (resource) {
        case 'nodes': return authorizeNodeObject(nodeName, attrs);
        case 'pods': return authorizePod(nodeName, attrs, graph);
        case 'secrets': case 'configmaps': case 'persistentvolumeclaims':
          return authorizeReadReferenced(nodeName, resource, attrs, graph);
        case 'serviceaccounts': return authorizeServiceAccount(nodeName, attrs, graph);
        default: break;
      }
    } else if (group === 'coordination.k8s.io' && resource === 'leases') {
      return authorizeLease(nodeName, attrs);
    } else if (group === 'metrics.k8s.io') {
      return authorizeMetrics(nodeName, resource, attrs, graph);
    }
  }
  return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
}

/** Any node may read nodes; a node may write only its own Node object (and its status). */
function authorizeNodeObject(nodeName: string, attrs: RequestAttributes): AuthorizerDecision {
  if (!writeVerbs.has(attrs.verb)) return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
  if (attrs.verb === 'deletecollection') return deny(`node "${nodeName}" is not allowed to delete nodes collectively`);
  const target = attrs.name ?? '';
  if (target !== nodeName) return deny(`node "${nodeName}" is not allowed to modify node "${target}"`);
  return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
}

function authorizePod(nodeName: string, attrs: RequestAttributes, graph: NodeGraph): AuthorizerDecision {
  const sub = attrs.subresource ?? '';
  const bound = (): boolean => graph.podNodeName(attrs.namespace ?? '', attrs.name ?? '') === nodeName;
  if (sub === '' && attrs.verb === 'create') return deny(`node "${nodeName}" can not create pods`);
  if (sub === '' && attrs.verb === 'delete') {
    return bound() ? allow : deny(`node "${nodeName}" can only delete pods with spec.nodeName set to itself`);
  }
  if (sub === 'status' && (attrs.verb === 'update' || attrs.verb === 'patch')) {
    return bound() ? allow : deny(`node "${nodeName}" can only update pod status for pods with spec.nodeName set to itself`);
  }
  if (sub === 'eviction' && attrs.verb === 'create') {
    return bound() ? allow : deny(`node "${nodeName}" can only evict pods with spec.nodeName set to itself`);
  }
  return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
}

/** Kubernetes' authorizeReadNamespacedObject: named reads of objects the node's pods reference. */
function authorizeReadReferenced(nodeName: string, kind: ReferencedKind, attrs: RequestAttributes, graph: NodeGraph):
  AuthorizerDecision {
  if (!readVerbs.has(attrs.verb)) return noOpinion('can only read resources of this type');
  if (attrs.subresource) return noOpinion('cannot read subresource');
  const namespace = attrs.namespace ?? '';
  if (namespace === '') return noOpinion('can only read namespaced object of this type');
  return related(nodeName, kind, namespace, attrs.name ?? '', graph);
}

/** Named reads of a referenced ServiceAccount, and TokenRequests for it (projected tokens). */
function authorizeServiceAccount(nodeName: string, attrs: RequestAttributes, graph: NodeGraph): AuthorizerDecision {
  const sub = attrs.subresource ?? '';
  const isRead = sub === '' && readVerbs.has(attrs.verb);
  const isTokenRequest = sub === 'token' && attrs.verb === 'create';
  if (!isRead && !isTokenRequest) return noOpinion('can only read or create tokens for individual service accounts');
  return related(nodeName, 'serviceaccounts', attrs.namespace ?? '', attrs.name ?? '', graph);
}

function related(nodeName: string, kind: ReferencedKind, namespace: string, name: string, graph: NodeGraph): AuthorizerDecision {
  if (name === '') return noOpinion('No Object name found');
  if (namespace === '' || !graph.nodeReferences(nodeName, kind, namespace, name)) {
    return noOpinion(`no relationship found between node '${nodeName}' and this object`);
  }
  return allow;
}

/** A node reads and writes only its own Lease in kube-node-lease; writes elsewhere are denied outright. */
function authorizeLease(nodeName: string, attrs: RequestAttributes): AuthorizerDecision {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(attrs.verb) || attrs.subresource) {
    return noOpinion('can only get, create, update, patch, or delete a node lease');
  }
  const refuse = attrs.verb === 'get' ? noOpinion : deny;
  if (attrs.namespace !== nodeLeaseNamespace) {
    return refuse(`can only access leases in the "${nodeLeaseNamespace}" system namespace`);
  }
  if ((attrs.name ?? '') !== nodeName) return refuse('can only access node lease with the same name as the requesting node');
  return allow;
}

/**
 * pocketkube's kubelets publish resource metrics (src/kubelet/metrics.ts; metrics-server's job in a
 * real cluster): a node writes only its own NodeMetrics and the PodMetrics of pods bound to it.
 */
function authorizeMetrics(nodeName: string, resource: string, attrs: RequestAttributes, graph: NodeGraph): AuthorizerDecision {
  if (!writeVerbs.has(attrs.verb) || attrs.subresource) return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
  if (attrs.verb === 'deletecollection') return deny(`node "${nodeName}" is not allowed to delete metrics collectively`);
  const name = attrs.name ?? '';
  if (resource === 'nodes' && name !== nodeName) return deny(`node "${nodeName}" can only write the NodeMetrics of its own node, not "${name}"`);
  if (resource === 'pods' && graph.podNodeName(attrs.namespace ?? '', name) !== nodeName) {
    return deny(`node "${nodeName}" can only write PodMetrics of pods with spec.nodeName set to itself`);
  }
  return rulesAllow(attrs, nodeRules) ? allow : noOpinion();
}

export interface AuthorizationContext {
  readonly rbac: RbacAuthorizer;
  readonly nodeGraph: NodeGraph;
}

/**
 * kube-apiserver's chain: members of system:masters are always allowed; then the Node authorizer;
 * then RBAC. The first allow or deny wins; no-opinion reasons are joined with newlines, as
 * Kubernetes' union authorizer does, and become the tail of the 403 message.
 */
export function authorize(attrs: RequestAttributes, ctx: AuthorizationContext): Decision {
  if (attrs.user.groups.includes(wellKnown.mastersGroup)) return { allowed: true, reason: '' };
  const node = authorizeNode(attrs, ctx.nodeGraph);
  if (node.decision !== 'no-opinion') return { allowed: node.decision === 'allow', reason: node.reason };
  const rbac = ctx.rbac.authorize(attrs);
  if (rbac.allowed) return rbac;
  return { allowed: false, reason: [node.reason, rbac.reason].filter((r) => r !== '').join('\n') };
}
