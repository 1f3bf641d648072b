import { Subject } from 'rxjs';
import { ActorApiTransport, whenApiserverReady } from '../../src/apiserver/actor-transport.js';
import { contextPort } from '../../src/client/actor-port.js';
import { ActiveIntervalLog } from '../../src/client/active-intervals.js';
import { KubeClient } from '../../src/client/client.js';
import { builtInControllers, kubernetesHpa, kubernetesNodeLifecycle, type ControllerDefinition } from '../../src/controllers/index.js';
import {
  controllerManagerLease, validateControllerManagerMessage,
  type ControllerManagerConfig, type ControllerManagerMessage, type ControllerManagerStatus,
} from '../../src/controllers/messages.js';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import type { InboxMessage } from '../../src/runtime/client-actor.js';
import { profile } from '../../src/runtime/profiles.js';
import { rateLimitedWarn } from '../../src/runtime/rate-limited-log.js';
import { ControllerManager } from './manager.js';
import type { CriResponse } from '../../src/cri/messages.js';

/** kube-controller-manager's user agent; with the instance it names the writer in the apiserver's records. */
const userAgent = 'kube-controller-manager/v1.32.0 (pocketkube)';

export const controllerManagerActor = defineActor<ControllerManagerMessage, ControllerManagerConfig>({
  kind: 'controller-manager',
  validate: validateControllerManagerMessage,
  create: (context, config) => {
    const timing = profile(config.profile ?? 'fast');
    const registry = builtInControllers({
      nodeLifecycle: { ...kubernetesNodeLifecycle, gracePeriodMs: timing.nodeGracePeriodMs },
      hpa: { ...kubernetesHpa, syncPeriodMs: timing.hpaSyncPeriodMs, downscaleStabilizationMs: timing.hpaDownscaleStabilizationMs },
      ...(config.rootCaCertPem === undefined ? {} : { rootCaCertPem: config.rootCaCertPem }),
      ...(config.clusterCidr === undefined ? {} : { nodeIpam: { clusterCidr: config.clusterCidr } }),
      ...(config.chaosMesh === true ? { chaosMesh: true } : {}),
    });
    const names = config.controllers ?? registry.names();
    const unknown = names.filter((n) => registry.get(n) === undefined);
    if (unknown.length > 0) throw new Error(`controller-manager: unknown controllers ${unknown.join(', ')}; known: ${registry.names().join(', ')}`);
    return new ControllerManagerBehaviour(context, config, { controllers: names.map((n) => registry.get(n)!), lease: controllerManagerLease, userAgent });
  },
});

/** What differs between the controller-manager and a user's operator running on the same engine. */
export interface EngineChoice {
  readonly controllers: readonly ControllerDefinition[];
  readonly lease: { readonly namespace: string; readonly name: string };
  readonly userAgent: string;
}

/**
 * One controller-manager: a KubeClient over actor messages to the apiservers, and the engine of
 * manager.ts running the built-in controllers when this instance holds the Lease.
 */
export class ControllerManagerBehaviour implements ActorBehaviour<ControllerManagerMessage> {
  private readonly incoming = new Subject<InboxMessage>();
  private readonly manager: ControllerManager;
  private readonly identity: string;
  private readonly controllers: readonly string[];
  private readonly logError: (error: unknown, where: string) => void;
  private stopped = false;

  constructor(private readonly context: ActorContext, config: Omit<ControllerManagerConfig, 'controllers' | 'rootCaCertPem' | 'chaosMesh'>, engine: EngineChoice) {
    this.identity = context.self;
    this.logError = rateLimitedWarn(context.log, context.clock);
    const timing = profile(config.profile ?? 'fast');
    const transport = new ActorApiTransport(contextPort(context, this.incoming), {
      servers: config.apiservers, ...(config.token === undefined ? {} : { token: config.token }),
    });
    this.controllers = engine.controllers.map((c) => c.name);
    this.manager = new ControllerManager({
      client: new KubeClient({ transport, clock: context.clock, prng: context.random, userAgent: `${engine.userAgent} ${this.identity}` }),
      clock: context.clock, prng: context.random, identity: this.identity,
      controllers: engine.controllers,
      cri: (runtime, request) => context.ask<CriResponse>(runtime, request),
      ...(config.leaderElection === false ? {} : {
        election: {
          leaseDurationMs: timing.leaseDurationMs, renewDeadlineMs: timing.renewDeadlineMs, retryPeriodMs: timing.retryPeriodMs,
          lease: engine.lease,
        },
      }),
      onError: (error, where) => this.logError(error, where),
      intervals: new ActiveIntervalLog(this.identity, context.storage, context.observerWallNow()), observerWallNow: () => context.observerWallNow(),
    });
    void this.startWhenServed(transport);
  }

  /** Starts the informers and the leader election once an apiserver is ready (whenApiserverReady says why). */
  private async startWhenServed(transport: ActorApiTransport): Promise<void> {
    if (await whenApiserverReady(transport, this.context.clock, () => this.stopped)) this.manager.start();
  }

  receive(message: ControllerManagerMessage, incoming: Incoming): void {
    switch (message.type) {
      case 'controllerManagerStatusRequest':
        incoming.reply?.(this.status());
        return;
      case 'apiWatchEvent':
      case 'apiWatchEnd':
      case 'apiWatchHeartbeat':
        this.incoming.next({ from: incoming.from, message });
        return;
      default: {
        const never: never = message;
        throw new Error(`controller-manager: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    const s = this.status();
    return { active: s.active, leader: s.leader ?? '', terms: s.intervals.length, ...s.actions };
  }

  stop(): void {
    this.stopped = true;
    void this.manager.stop();
    this.incoming.complete();
  }

  private status(): ControllerManagerStatus {
    const { intervals, dropped } = this.manager.activeIntervals();
    const leader = this.manager.leader();
    return {
      type: 'controllerManagerStatus', identity: this.identity, active: this.manager.active,
      ...(leader === undefined ? {} : { leader }), intervals, droppedIntervals: dropped,
      actions: this.manager.actionCounts(), controllers: this.controllers,
    };
  }
}
