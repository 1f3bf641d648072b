/**
 * What the chaos engine needs of a running cluster, whatever its placement: `Cluster` (real
 * threads, sockets and disks) and `SimulatedCluster` (every actor on one thread under virtual
 * time) both provide it, so an experiment's faults, targets and evidence are written once.
 */
import type { Address } from '../primitives/address.js';
import type { ActorSystem } from '../runtime/system.js';
import type { ControllerManagerStatus } from '../controllers/messages.js';
import type { SchedulerStatus } from '../scheduler/messages.js';

export interface ClusterHandle {
  /** Chaos goes here: killHost, restartHost, network faults, pauses, clock skew, disk faults. */
  readonly system: ActorSystem;
  readonly masters: readonly string[];
  /** Worker hosts, in order (the masters are nodes too when there are any). */
  readonly workers: readonly string[];
  /** The controller-manager actors' addresses, in master order (none when started without them). */
  readonly controllerManagers: readonly Address[];
  /** The scheduler actors' addresses, in master order (none when started without them). */
  readonly schedulers: readonly Address[];
  controllerManagerStatus(timeoutMs?: number): Promise<ControllerManagerStatus[]>;
  schedulerStatus(timeoutMs?: number): Promise<SchedulerStatus[]>;
  /** The master whose apiserver serves most API requests now, when that is known. */
  busiestMaster(): string | undefined;
  stop(): Promise<void>;
}
