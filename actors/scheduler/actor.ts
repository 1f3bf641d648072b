import { Subject } from 'rxjs';
import { ActorApiTransport, whenApiserverReady } from '../../src/apiserver/actor-transport.js';
import { contextPort } from '../../src/client/actor-port.js';
import { ActiveIntervalLog } from '../../src/client/active-intervals.js';
import { KubeClient } from '../../src/client/client.js';
import { defineActor, type ActorBehaviour, type ActorContext, type Incoming } from '../../src/runtime/actor.js';
import type { InboxMessage } from '../../src/runtime/client-actor.js';
import { profile } from '../../src/runtime/profiles.js';
import { rateLimitedWarn } from '../../src/runtime/rate-limited-log.js';
import { defaultSchedulerConfiguration, parseSchedulerConfiguration } from '../../src/scheduler/config.js';
import { explainTable } from '../../src/scheduler/explain.js';
import { validateSchedulerMessage, type SchedulerConfig, type SchedulerExplain, type SchedulerMessage, type SchedulerStatus } from '../../src/scheduler/messages.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

/** kube-scheduler's user agent; with the instance it names the writer in the apiserver's records. */
const userAgent = 'kube-scheduler/v1.32.0 (pocketkube)';

export const schedulerActor = defineActor<SchedulerMessage, SchedulerConfig>({
  kind: 'scheduler',
  validate: validateSchedulerMessage,
  create: (context, config) => new SchedulerBehaviour(context, config),
});

/** One kube-scheduler: a KubeClient over actor messages to the apiservers and the engine of src/scheduler. */
class SchedulerBehaviour implements ActorBehaviour<SchedulerMessage> {
  private readonly incoming = new Subject<InboxMessage>();
  private readonly scheduler: Scheduler;
  private stopped = false;

  constructor(private readonly context: ActorContext, config: SchedulerConfig) {
    const timing = profile(config.profile ?? 'fast');
    const parsed = config.configYaml === undefined ? { ok: true as const, value: defaultSchedulerConfiguration() } : parseSchedulerConfiguration(config.configYaml);
    // The cluster checks the configuration before it starts any thread; this is the last line.
    if (!parsed.ok) throw new Error(`scheduler: bad KubeSchedulerConfiguration: ${parsed.errors.join('; ')}`);
    const transport = new ActorApiTransport(contextPort(context, this.incoming), {
      servers: config.apiservers, ...(config.token === undefined ? {} : { token: config.token }),
    });
    const created = Scheduler.create({
      client: new KubeClient({ transport, clock: context.clock, prng: context.random, userAgent: `${userAgent} ${context.self}` }),
      clock: context.clock, prng: context.random, identity: context.self, config: parsed.value,
      backoffScale: timing.schedulerBackoffScale,
      ...(config.leaderElection === false ? {} : {
        election: { leaseDurationMs: timing.leaseDurationMs, renewDeadlineMs: timing.renewDeadlineMs, retryPeriodMs: timing.retryPeriodMs },
      }),
      onError: rateLimitedWarn(context.log, context.clock), ...(config.unsafeSkipAssume === true ? { unsafeSkipAssume: true } : {}),
      intervals: new ActiveIntervalLog(context.self, context.storage, context.observerWallNow()), observerWallNow: () => context.observerWallNow(),
    });
    if (!created.ok) throw new Error(`scheduler: ${created.errors.join('; ')}`);
    this.scheduler = created.value;
    void whenApiserverReady(transport, context.clock, () => this.stopped).then((ready) => { if (ready) this.scheduler.start(); });
  }

  receive(message: SchedulerMessage, incoming: Incoming): void {
    switch (message.type) {
      case 'schedulerStatusRequest':
        incoming.reply?.({ type: 'schedulerStatus', ...this.scheduler.status() } satisfies SchedulerStatus);
        return;
      case 'schedulerExplainRequest':
        incoming.reply?.(this.explain(message.pod));
        return;
      case 'apiWatchEvent':
      case 'apiWatchEnd':
      case 'apiWatchHeartbeat':
        this.incoming.next({ from: incoming.from, message });
        return;
      default: {
        const never: never = message;
        throw new Error(`scheduler: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  inspect(): Record<string, unknown> {
    const s = this.scheduler.status();
    return { active: s.active, leader: s.leader ?? '', terms: s.intervals.intervals.length, ...s.counts, queued: s.queue.active + s.queue.backoff, unschedulablePool: s.queue.unschedulable };
  }

  stop(): void {
    this.stopped = true;
    void this.scheduler.stop();
    this.incoming.complete();
  }

  private explain(pod: string): SchedulerExplain {
    const d = this.scheduler.explain(pod);
    if (d === undefined) return { type: 'schedulerExplain', pod };
    return {
      type: 'schedulerExplain', pod,
      decision: {
        table: explainTable(d), atMs: this.context.clock.wallNow() - (this.context.clock.now() - d.nowMs),
        ...(d.nodeName === undefined ? {} : { nodeName: d.nodeName }), ...(d.message === undefined ? {} : { message: d.message }),
      },
    };
  }
}
