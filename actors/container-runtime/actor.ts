/**
 * The container runtime of one node (`<node>/container-runtime`): a thin shell around the core
 * of src/cri/runtime.ts. It answers every CRI-shaped request with its response (or a criError),
 * gives the core real sockets (or an in-memory network), the node's disk and host-local IPAM,
 * and tells `containerEvent`s to the actors that asked `getContainerEvents` (the kubelet's PLEG).
 */
import type { Address } from '../../src/primitives/address.js';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import { builtInImages } from '../../src/cri/images/index.js';
import { dnsImage } from '../../src/dns/image.js';
import { HostLocalIpam } from '../../src/cri/ipam.js';
import { MemoryNetworkFabric } from '../../src/cri/memory-network.js';
import { validateContainerRuntimeMessage, type ContainerEvent, type ContainerRuntimeConfig, type ContainerRuntimeMessage } from '../../src/cri/messages.js';
import { podStreamTellTypes, type PodStreamTell } from '../../src/apiserver/pod-stream.js';
import { ContainerRuntime, type SandboxNetworkSpec } from '../../src/cri/runtime.js';
import type { PodNetwork } from '../../src/cri/image.js';
import { nodeHostFs } from './node-fs.js';
import { LoopbackPodNetwork } from './pod-network.js';
import { hostProcessLauncher } from './host-process.js';

/** Event subscribers kept (a kubelet, its restarted incarnation, a debugging probe, …). */
const subscribersMax = 16;

export const containerRuntimeActor = defineActor<ContainerRuntimeMessage, ContainerRuntimeConfig>({
  kind: 'container-runtime',
  validate: validateContainerRuntimeMessage,
  create: (context, config) => new ContainerRuntimeBehaviour(context, config),
});

function isPodStreamTell(message: ContainerRuntimeMessage): message is PodStreamTell {
  return podStreamTellTypes.has(message.type);
}

class ContainerRuntimeBehaviour implements ActorBehaviour<ContainerRuntimeMessage> {
  private readonly runtime: ContainerRuntime;
  /** Newest last: when full, the oldest subscriber is dropped. */
  private readonly subscribers: Address[] = [];

  constructor(private readonly context: ActorContext, config: ContainerRuntimeConfig) {
    const fabric = config.podNetwork === 'memory' ? new MemoryNetworkFabric() : undefined;
    const networkFor = (spec: SandboxNetworkSpec): PodNetwork => fabric?.podNetwork(spec.podIp) ?? new LoopbackPodNetwork(spec, config, context.clock);
    this.runtime = new ContainerRuntime({
      clock: context.clock, prng: context.random.fork('container-runtime'), images: builtInImages().register(dnsImage), cni: new HostLocalIpam(), fs: nodeHostFs,
      nodeIp: config.nodeIp, networkFor, onEvent: (event) => this.publish(event), sendStream: (peer, tell) => context.send(peer, tell),
      ...(config.logBytesMax === undefined ? {} : { logBytesMax: config.logBytesMax }),
      // Real processes want real sockets: not with the in-memory pod network.
      ...(config.processesDir === undefined || fabric !== undefined ? {} : { hostProcesses: hostProcessLauncher(config.processesDir) }),
    });
  }

  receive(message: ContainerRuntimeMessage, incoming: Incoming): Promise<void> | void {
    if (isPodStreamTell(message)) {
      this.runtime.streamTell(incoming.from, message);
      return;
    }
    if (message.type === 'getContainerEvents') this.subscribe(incoming.from);
    // A rejection here is a broken invariant in the core: it crashes the actor (its supervisor restarts it).
    return this.runtime.handle(message).then((response) => incoming.reply?.(response));
  }

  /** An apiserver's host was killed: the streams it carried stop. */
  onPeerDown(host: string): void {
    this.runtime.peerDown(host);
  }

  inspect(): Record<string, unknown> {
    return { ...this.runtime.counts(), subscribers: this.subscribers.length };
  }

  stop(): void {
    this.runtime.shutdown();
  }

  private subscribe(from: Address): void {
    if (this.subscribers.includes(from)) return;
    if (this.subscribers.length >= subscribersMax) this.subscribers.shift();
    this.subscribers.push(from);
  }

  private publish(event: ContainerEvent): void {
    for (const subscriber of this.subscribers) this.context.send(subscriber, event);
  }
}
