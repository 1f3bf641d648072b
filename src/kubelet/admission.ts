/**
 * The kubelet's own admission of a pod bound to it (pkg/kubelet/lifecycle/predicate.go): the
 * scheduler already checked, but a pod can be bound by hand (spec.nodeName) or race a change of
 * the node. A rejected pod is Failed with the upstream reason (NodeAffinity, OutOfcpu, OutOfmemory,
 * OutOfpods, Taint...). Pure.
 */
import { parseQuantity, quantityToNumber } from '../api/quantity.js';
import { tolerates, type Taint } from './node-status.js';
import type { PodSpec } from './pod-spec.js';

export type Admission = { readonly admit: true } | { readonly admit: false; readonly reason: string; readonly message: string };

function quantity(value: string | undefined): number {
  if (value === undefined) return 0;
  const parsed = parseQuantity(value);
  return parsed.ok ? quantityToNumber(parsed.quantity) : 0;
}

/** Effective request of a pod for a resource: the larger of the sum over containers and the largest init container (upstream's rule). */
export function podRequest(spec: PodSpec, resource: string): number {
  const sum = spec.containers.reduce((total, c) => total + quantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]), 0);
  const init = Math.max(0, ...(spec.initContainers ?? []).map((c) => quantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource])));
  return Math.max(sum, init);
}

export interface AdmissionNode {
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly allocatable: Readonly<Record<string, string>>;
}

export function admitPod(spec: PodSpec, node: AdmissionNode, admitted: readonly PodSpec[]): Admission {
  for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) {
    if (node.labels[key] !== value) return { admit: false, reason: 'NodeAffinity', message: `Pod Predicate NodeAffinity failed: node label ${key}=${value} is not set` };
  }
  for (const taint of node.taints) {
    if (taint.effect !== 'NoExecute') continue;
    if (!(spec.tolerations ?? []).some((t) => tolerates(t, taint))) return { admit: false, reason: 'Taint', message: `Predicate TaintToleration failed: node has taint {${taint.key}: ${taint.value ?? ''}}, that the pod didn't tolerate` };
  }
  const podsMax = quantity(node.allocatable['pods']);
  if (podsMax > 0 && admitted.length + 1 > podsMax) return { admit: false, reason: 'OutOfpods', message: `Node didn't have enough resource: pods, requested: 1, used: ${admitted.length}, capacity: ${podsMax}` };
  for (const resource of ['cpu', 'memory']) {
    const capacity = quantity(node.allocatable[resource]);
    const requested = podRequest(spec, resource);
    const used = admitted.reduce((total, p) => total + podRequest(p, resource), 0);
    if (requested > 0 && used + requested > capacity + 1e-9) {
      return { admit: false, reason: `OutOf${resource}`, message: `Node didn't have enough resource: ${resource}, requested: ${String(requested)}, used: ${String(used)}, capacity: ${String(capacity)}` };
    }
  }
  return { admit: true };
}
