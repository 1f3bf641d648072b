/** The cluster as a library: start the HA control plane, talk to it, break it, stop it. */
export { Cluster, defaultApiserverNetwork, readyz, type ClusterOptions } from './cluster.js';
export type { ClusterHandle } from './handle.js';
export { sabotages, type Sabotage } from './sabotage.js';
export { ActorApiTransport, type ActorApiTransportOptions } from '../apiserver/actor-transport.js';
export { AddressInUseError, DataDirLockedError, type AddressUser } from './errors.js';
