import { Subject } from 'rxjs';
import { ActorApiTransport, whenApiserverReady } from '../../src/apiserver/actor-transport.js';
import { contextPort } from '../../src/client/actor-port.js';
import { KubeClient } from '../../src/client/client.js';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import type { InboxMessage } from '../../src/runtime/client-actor.js';
import { rateLimitedWarn } from '../../src/runtime/rate-limited-log.js';
import {
  defaultServiceProxyPort, defaultUdpIdleTimeoutMs, validateKubeProxyMessage,
  type KubeProxyConfig, type KubeProxyMessage, type KubeProxyStatus,
} from '../../src/proxy/messages.js';
import { KubeProxier } from './proxier.js';

const userAgent = 'kube-proxy/v1.32.0 (pocketkube)';

export const kubeProxyActor = defineActor<KubeProxyMessage, KubeProxyConfig>({
  kind: 'kube-proxy',
  validate: validateKubeProxyMessage,
  create: async (context, config) => {
    const behaviour = new KubeProxyBehaviour(context, config);
    // A bind failure of the service-proxy port crashes the start: the supervisor retries (the port may free up).
    await behaviour.bind();
    return behaviour;
  },
});

/** One node's kube-proxy: a KubeClient over actor messages to the apiservers and the proxier of proxier.ts. */
class KubeProxyBehaviour implements ActorBehaviour<KubeProxyMessage> {
  private readonly incoming = new Subject<InboxMessage>();
  private readonly proxier: KubeProxier;
  private stopped = false;
  private readonly transport: ActorApiTransport;

  constructor(private readonly context: ActorContext, private readonly config: KubeProxyConfig) {
    const transport = this.transport = new ActorApiTransport(contextPort(context, this.incoming), {
      servers: config.apiservers, ...(config.token === undefined ? {} : { token: config.token }),
    });
    const warn = rateLimitedWarn(context.log, context.clock);
    this.proxier = new KubeProxier({
      client: new KubeClient({ transport, clock: context.clock, prng: context.random, userAgent: `${userAgent} ${context.self}` }),
      clock: context.clock, prng: context.random.fork('kube-proxy'),
      nodeName: config.nodeName, nodeIp: config.nodeIp,
      serviceProxyPort: config.serviceProxyPort ?? defaultServiceProxyPort,
      mode: config.mode ?? 'random',
      udpIdleTimeoutMs: config.udpIdleTimeoutMs ?? defaultUdpIdleTimeoutMs,
      ...(config.unsafeUseUnreadyEndpoints === true ? { useUnreadyEndpoints: true } : {}),
      warn: (message, fields) => warn(fields?.['error'] ?? '', message),
    });
  }

  async bind(): Promise<void> {
    await this.proxier.bind();
    void whenApiserverReady(this.transport, this.context.clock, () => this.stopped).then((ready) => { if (ready) this.proxier.startInformers(); });
  }

  receive(message: KubeProxyMessage, incoming: Incoming): void | Promise<void> {
    switch (message.type) {
      case 'kubeProxyStatusRequest':
        incoming.reply?.({ type: 'kubeProxyStatus', nodeName: this.config.nodeName, ...this.proxier.status() } satisfies KubeProxyStatus);
        return;
      case 'apiWatchEvent':
      case 'apiWatchEnd':
      case 'apiWatchHeartbeat':
        this.incoming.next({ from: incoming.from, message });
        return;
      default: {
        const never: never = message;
        throw new Error(`kube-proxy: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    const s = this.proxier.status();
    return { ...s };
  }

  stop(): void {
    this.stopped = true;
    this.proxier.stop();
    this.incoming.complete();
  }
}
