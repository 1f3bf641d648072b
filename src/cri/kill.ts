/**
 * Killing one running container of a pod through its node's container runtime, as `docker kill`,
 * `crictl stop --timeout 0` and Chaos Mesh's container-kill do: SIGKILL at once, the restart left
 * to the kubelet. Shared by the chaos engine's container-kill fault and Chaos Mesh's PodChaos.
 */
import { address, type Address } from '../primitives/address.js';
import type { ContainerStatus, CriRequest, CriResponse, NetworkChaosRule } from './messages.js';

export type CriAsk = (runtime: Address, request: CriRequest) => Promise<CriResponse>;

export interface KilledContainer {
  readonly runtime: Address;
  readonly name: string;
}

/**
 * Sets (empty `rules`: removes) one NetworkChaos's rules on the pod `podUid` on `node`, as Chaos
 * Mesh's daemon does in the pod's network namespace. Throws with the runtime's reason when refused.
 */
export async function setPodNetworkChaos(ask: CriAsk, node: string, podUid: string, chaosId: string, rules: readonly NetworkChaosRule[]): Promise<void> {
  const runtime = address(node, 'container-runtime');
  const answer = await ask(runtime, { type: 'setPodNetworkChaos', podUid, chaosId, rules });
  if (answer.type !== 'setPodNetworkChaosResponse') throw new Error(`${runtime} did not set the network chaos of pod ${podUid}: ${answer.type === 'criError' ? `${answer.code}: ${answer.message}` : answer.type}`);
}

/**
 * Kills the running container `containerName` of the pod `podUid` on `node` (absent name: the
 * oldest running one). Throws with the reason when there is none, or the runtime refuses.
 */
export async function killPodContainer(ask: CriAsk, node: string, podUid: string, containerName?: string): Promise<KilledContainer> {
  const runtime = address(node, 'container-runtime');
  const listed = await ask(runtime, { type: 'listContainers', filter: { state: 'CONTAINER_RUNNING', labelSelector: { 'io.kubernetes.pod.uid': podUid } } });
  if (listed.type !== 'listContainersResponse') throw new Error(`${runtime} did not list the containers of pod ${podUid}: ${JSON.stringify(listed)}`);
  const running: readonly ContainerStatus[] = listed.containers;
  const container = containerName === undefined ? [...running].sort((a, b) => a.createdAtMs - b.createdAtMs)[0] : running.find((c) => c.metadata.name === containerName);
  if (container === undefined) throw new Error(`pod ${podUid} has no running container${containerName === undefined ? '' : ` named ${containerName}`} on ${node}`);
  const stopped = await ask(runtime, { type: 'stopContainer', containerId: container.id, timeout: 0 });
  if (stopped.type !== 'stopContainerResponse') throw new Error(`${runtime} did not kill ${container.metadata.name}: ${JSON.stringify(stopped)}`);
  return { runtime, name: container.metadata.name };
}
