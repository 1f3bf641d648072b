/**
 * Injecting the method's faults into a running cluster (a shell). Each kind is a registry entry:
 * `inject` performs the fault on the resolved host and returns its heal, which leaves nothing
 * blocked (a killed host restarted from its data directory, a partition removed).
 */
import type { Cluster } from '../../cluster/index.js';
import { Registry, type Named } from '../registry.js';
import type { FaultSpec } from './define.js';
import { address } from '../../primitives/address.js';
import type { DelaySpec, FaultId } from '../../transport/network.js';

export interface InjectContext {
  readonly cluster: Cluster;
  readonly host: string;
}

export interface Injected {
  /** What was done, for the timeline. */
  readonly note: string;
  /** The host's actors died at injection (the single-active checks then know when their terms ended). */
  readonly killed: boolean;
  heal(): Promise<string>;
}

export interface ExperimentFaultKind<K extends FaultSpec['kind'] = FaultSpec['kind']> extends Named {
  readonly name: K;
  inject(ctx: InjectContext, fault: Extract<FaultSpec, { kind: K }>): Promise<Injected>;
}

export const experimentFaultRegistry = new Registry<ExperimentFaultKind>('experiment fault');

const killHost: ExperimentFaultKind<'kill-host'> = {
  name: 'kill-host',
  description: 'kill a host (a power cut; with or without connection resets), then restart it from its data directory',
  async inject({ cluster, host }, fault) {
    const resetConnections = fault.resetConnections ?? true;
    await cluster.system.killHost(host, { resetConnections });
    return {
      note: `killed ${host}${resetConnections ? ' (its connections reset)' : ' silently (no connection resets)'}`,
      killed: true,
      heal: async () => {
        await cluster.system.restartHost(host);
        return `restarted ${host}`;
      },
    };
  },
};

const isolateMaster: ExperimentFaultKind<'isolate-master'> = {
  name: 'isolate-master',
  description: 'partition one master from the other masters (clients still reach its apiserver), then heal',
  async inject({ cluster, host }) {
    if (!cluster.masters.includes(host)) throw new Error(`isolate-master needs a master, not ${host}`);
    const others = cluster.masters.filter((m) => m !== host);
    const id = await cluster.system.network.inject({ kind: 'partition', groups: [[host], others] });
    return {
      note: `partitioned ${host} from ${others.join(' and ')}`,
      killed: false,
      heal: async () => {
        await cluster.system.network.heal(id);
        return `healed the partition around ${host}`;
      },
    };
  },
};

const degradeLinks: ExperimentFaultKind<'degrade-links'> = {
  name: 'degrade-links',
  description: "drop, duplicate or delay the messages on every link from and to a host (its own loopback is untouched), then restore them",
  async inject({ cluster, host }, fault) {
    const ids: FaultId[] = [];
    for (const link of [{ from: [host] }, { to: [host] }]) {
      if (fault.drop) ids.push(await cluster.system.network.inject({ kind: 'drop', link, probability: fault.drop }));
      if (fault.duplicate) ids.push(await cluster.system.network.inject({ kind: 'duplicate', link, probability: fault.duplicate }));
      if (fault.delayMs || fault.delayJitterMs) {
        const min = fault.delayMs ?? 0;
        const delay: DelaySpec = fault.delayJitterMs ? { dist: 'uniform', minMs: min, maxMs: min + fault.delayJitterMs } : { dist: 'fixed', ms: min };
        ids.push(await cluster.system.network.inject({ kind: 'delay', link, delay }));
      }
    }
    return {
      note: `degraded the links of ${host}`,
      killed: false,
      heal: async () => {
        for (const id of ids) await cluster.system.network.heal(id);
        return `restored the links of ${host}`;
      },
    };
  },
};

const pauseActor: ExperimentFaultKind<'pause-actor'> = {
  name: 'pause-actor',
  description: 'pause one actor of a host (SIGSTOP-like: no messages or timers handled), then resume it',
  async inject({ cluster, host }, fault) {
    const actor = address(host, fault.actor);
    await cluster.system.pause(actor);
    return {
      note: `paused ${actor}`,
      killed: false,
      heal: async () => {
        await cluster.system.resume(actor);
        return `resumed ${actor}`;
      },
    };
  },
};

experimentFaultRegistry.register(killHost as ExperimentFaultKind);
experimentFaultRegistry.register(isolateMaster as ExperimentFaultKind);
experimentFaultRegistry.register(degradeLinks as ExperimentFaultKind);
experimentFaultRegistry.register(pauseActor as ExperimentFaultKind);

export function injectFault(ctx: InjectContext, fault: FaultSpec): Promise<Injected> {
  return experimentFaultRegistry.require(fault.kind).inject(ctx, fault as never);
}
