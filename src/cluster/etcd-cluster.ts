import { address, type Address } from '../primitives/address.js';
import type { AnyActorDefinition, HostSpec } from '../runtime/actor.js';
import type { ProfileName } from '../runtime/profiles.js';
import { SimulatedSystem } from '../runtime/simulated.js';
import type { ActorSystem } from '../runtime/system.js';
import { ThreadedSystem } from '../runtime/threaded.js';
import { etcdActor } from '../../actors/etcd/actor.js';
import { memberId, type EtcdConfig, type MemberStatus } from '../etcd/messages.js';
import { systemPort } from '../client/actor-port.js';
import { EtcdClient, type EtcdClientOptions } from '../client/etcd-client.js';
import { builtinRegistry } from '../../actors/registry.js';

export interface EtcdClusterOptions {
  readonly placement: 'simulated' | 'threads';
  /** 3 or 5 members (default 3), on hosts `master-1..N`. */
  readonly members?: number;
  readonly seed?: number;
  readonly profile?: ProfileName;
  readonly snapshotEveryEntries?: number;
  /** Elect a new leader as soon as the leader's host is reported killed (default true; see EtcdConfig). */
  readonly forgetDeadLeader?: boolean;
  /** Threads only: where the members keep their data (default a temporary directory). */
  readonly dataDir?: string;
  readonly traceLimit?: number;
  /** Simulation only: one-way latency between hosts. */
  readonly linkLatencyMs?: number;
}

/**
 * A standalone Raft-replicated store: 3 (or 5) etcd members on their own hosts, on threads or
 * in simulation, for tests, benchmarks and experiments.
 */
export class EtcdCluster {
  private constructor(
    readonly system: ActorSystem,
    readonly members: readonly Address[],
    readonly hosts: readonly string[],
  ) {}

  static async start(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const count = options.members ?? 3;
    if (count !== 3 && count !== 5) throw new Error(`an etcd cluster has 3 or 5 members, not ${count}`);
    const hosts = Array.from({ length: count }, (_, i) => `master-${i + 1}`);
    const members = hosts.map((host) => address(host, 'etcd'));
    const peers = members.map((member) => memberId(member, 1));
    const hostSpecs: HostSpec[] = hosts.map((host, i) => {
      const config: EtcdConfig = {
        id: peers[i]!,
        peers,
        profile: options.profile ?? 'fast',
        ...(options.snapshotEveryEntries === undefined ? {} : { snapshotEveryEntries: options.snapshotEveryEntries }),
        ...(options.forgetDeadLeader === undefined ? {} : { forgetDeadLeader: options.forgetDeadLeader }),
      };
      return { name: host, actors: [{ name: 'etcd', kind: 'etcd', config, restart: 'permanent' }] };
    });
    const system: ActorSystem =
      options.placement === 'simulated'
        ? await SimulatedSystem.start({
            hosts: hostSpecs,
            seed: options.seed ?? 1,
            definitions: { etcd: etcdActor as AnyActorDefinition },
            traceLimit: options.traceLimit ?? 0,
            ...(options.linkLatencyMs === undefined ? {} : { linkLatencyMs: options.linkLatencyMs }),
          })
        : await ThreadedSystem.start({ registry: builtinRegistry(), hosts: hostSpecs, seed: options.seed ?? 1, traceLimit: options.traceLimit ?? 0, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) });
    return new EtcdCluster(system, members, hosts);
  }

  /** A new client on the caller's side (the system's client mailbox). */
  client(options: Partial<EtcdClientOptions> = {}): EtcdClient {
    return new EtcdClient(systemPort(this.system), { members: this.members, ...options });
  }

  async status(member: Address, timeoutMs = 1_000): Promise<MemberStatus | undefined> {
    try {
      const reply = await this.system.ask<{ type: 'statusReply'; status: MemberStatus }>(member, { type: 'status' }, { timeoutMs });
      return reply.status;
    } catch {
      return undefined;
    }
  }

  /** Statuses of the members that answered. */
  async statuses(timeoutMs = 1_000): Promise<MemberStatus[]> {
    const all = await Promise.all(this.members.map((member) => this.status(member, timeoutMs)));
    return all.filter((s): s is MemberStatus => s !== undefined);
  }

  /** The member that says it leads in the highest term, if any. */
  async leader(timeoutMs = 1_000): Promise<Address | undefined> {
    const leaders = (await this.statuses(timeoutMs)).filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
    const id = leaders[0]?.id;
    return id === undefined ? undefined : this.members.find((m) => id.startsWith(`${m}~`));
  }

  hostOf(member: Address): string {
    return member.slice(0, member.indexOf('/'));
  }

  stop(): Promise<void> {
    return this.system.stop();
  }
}
