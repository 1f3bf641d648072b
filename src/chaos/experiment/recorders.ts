/**
 * Background samplers of a run (a shell): etcd members' roles and terms (election safety, and who
 * leads when a fault needs the leader) and every Deployment's desired and available replicas
 * (convergence), and where every pod is bound (placement safety). Bounded: each keeps at most MAX_SAMPLES.
 */
import type { Address } from '../../primitives/address.js';
import type { ActorSystem } from '../../runtime/system.js';
import type { KubeClient } from '../../client/index.js';
import type { DeploymentObservation, IdentityObservation, NodeCapacity, NodeRuntimeSample, PlacementObservation, PodPlacement, RoleObservation } from '../check/index.js';
import { address } from '../../primitives/address.js';
import type { CriResponse } from '../../cri/messages.js';
import type { KubeObject } from '../../api/index.js';
import { parseQuantity, quantityToNumber } from '../../api/quantity.js';
import { podRequest } from '../../kubelet/admission.js';
import type { PodSpec } from '../../kubelet/pod-spec.js';
import { etcdStatuses } from '../cluster/evidence.js';
import { deploymentCounts } from './probes.js';
import type { LeaseObservation } from './verdicts.js';

const MAX_SAMPLES = 20_000;

export class Sampler<T> {
  readonly samples: T[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly periodMs: number, take: () => Promise<readonly T[]>) {
    this.loop = (async () => {
      while (this.running && this.samples.length < MAX_SAMPLES) {
        this.samples.push(...await take());
        await new Promise((resolve) => setTimeout(resolve, this.periodMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export function roleSampler(system: ActorSystem, members: readonly Address[], now: () => number, periodMs = 100): Sampler<RoleObservation> {
  return new Sampler(periodMs, async () => {
    const time = now();
    return (await etcdStatuses(system, members)).map((s) => ({ member: s.id, term: s.term, role: s.role, time }));
  });
}

export function deploymentSampler(kube: KubeClient, now: () => number, periodMs = 250): Sampler<DeploymentObservation> {
  return new Sampler(periodMs, async () => {
    // Stamped when the answer came: the state it shows held by then.
    try {
      const deployments = await deploymentCounts(kube);
      return [{ timeMs: now(), deployments }];
    } catch {
      return [{ timeMs: now() }];
    }
  });
}

const LEASES = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

/** The holder of each leader-election Lease as the API shows it (evidence beside the instances' own records). */
export function leaseSampler(kube: KubeClient, now: () => number, leases: readonly { component: string; namespace: string; name: string }[], periodMs = 250): Sampler<LeaseObservation> {
  return new Sampler(periodMs, async () => Promise.all(leases.map(async (l) => {
    try {
      const lease = await kube.get(LEASES, l.namespace, l.name);
      return { timeMs: now(), component: l.component, holder: (lease['spec'] as { holderIdentity?: string } | undefined)?.holderIdentity ?? '' };
    } catch {
      return { timeMs: now(), component: l.component };
    }
  })));
}

const PODS = { apiVersion: 'v1', kind: 'Pod' } as const;
const NODES = { apiVersion: 'v1', kind: 'Node' } as const;

function amount(value: unknown): number {
  if (typeof value !== 'string') return 0;
  const parsed = parseQuantity(value);
  return parsed.ok ? quantityToNumber(parsed.quantity) : 0;
}

function placementOf(p: KubeObject): PodPlacement {
  const meta = p.metadata as { uid: string; name: string; namespace?: string };
  const spec = (p['spec'] ?? { containers: [] }) as PodSpec & { nodeName?: string };
  const status = (p['status'] ?? {}) as { phase?: string; reason?: string };
  return {
    uid: meta.uid, name: `${meta.namespace ?? ''}/${meta.name}`, ...(spec.nodeName ? { node: spec.nodeName } : {}),
    cpu: podRequest(spec, 'cpu'), memory: podRequest(spec, 'memory'), phase: status.phase ?? 'Pending', ...(status.reason ? { reason: status.reason } : {}),
  };
}

function capacityOf(n: KubeObject): NodeCapacity {
  const allocatable = ((n['status'] as { allocatable?: Record<string, string> } | undefined)?.allocatable) ?? {};
  return { name: (n.metadata as { name: string }).name, cpu: amount(allocatable['cpu']), memory: amount(allocatable['memory']), pods: amount(allocatable['pods']) };
}

/** Every pod's node, requests and phase and every node's allocatable (the placement-safe verdict). */
export function placementSampler(kube: KubeClient, now: () => number, periodMs = 250): Sampler<PlacementObservation> {
  return new Sampler(periodMs, async () => {
    try {
      const [pods, nodes] = await Promise.all([kube.list(PODS), kube.list(NODES)]);
      return [{ timeMs: now(), pods: pods.items.map(placementOf), nodes: nodes.items.map(capacityOf) }];
    } catch {
      return [{ timeMs: now() }];
    }
  });
}

/** The label StatefulSet pods carry (their identity), and the CRI labels the kubelet puts on containers. */
const STATEFULSET_POD_NAME = 'statefulset.kubernetes.io/pod-name';
const POD_UID = 'io.kubernetes.pod.uid';
/** A runtime that does not answer this fast is unobserved in the sample (down, paused or slowed). */
const RUNTIME_ASK_TIMEOUT_MS = 500;

/** The StatefulSet pods with a running container on `node`, from its container runtime; undefined when it does not answer. */
async function runningIdentities(system: ActorSystem, node: string): Promise<NodeRuntimeSample> {
  const runtime = address(node, 'container-runtime');
  try {
    const [sandboxes, containers] = await Promise.all([
      system.ask<CriResponse>(runtime, { type: 'listPodSandbox' }, { timeoutMs: RUNTIME_ASK_TIMEOUT_MS }),
      system.ask<CriResponse>(runtime, { type: 'listContainers', filter: { state: 'CONTAINER_RUNNING' } }, { timeoutMs: RUNTIME_ASK_TIMEOUT_MS }),
    ]);
    if (sandboxes.type !== 'listPodSandboxResponse' || containers.type !== 'listContainersResponse') return { node };
    const identityOf = new Map(sandboxes.items.flatMap((s) => {
      const name = s.labels[STATEFULSET_POD_NAME];
      return name === undefined ? [] : [[s.id, { identity: `${s.metadata.namespace}/${name}`, uid: s.labels[POD_UID] ?? s.metadata.uid }] as const];
    }));
    const running = new Map<string, { identity: string; uid: string }>();
    for (const c of containers.containers) {
      const id = identityOf.get(c.podSandboxId);
      if (id !== undefined) running.set(id.uid, id);
    }
    return { node, running: [...running.values()] };
  } catch {
    return { node };
  }
}

/** Every worker's running StatefulSet pods, from the runtimes themselves (the statefulset-identity verdict). */
export function identitySampler(system: ActorSystem, workers: readonly string[], now: () => number, periodMs = 100): Sampler<IdentityObservation> {
  return new Sampler(periodMs, async () => {
    const timeMs = now();
    return [{ timeMs, nodes: await Promise.all(workers.map((w) => runningIdentities(system, w))) }];
  });
}
