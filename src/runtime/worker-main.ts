/**
 * Entry point of every actor thread (loaded as compiled JS from dist/). It builds the thread's
 * actors and router from `workerData`, wires the direct ports to its peer threads, serves the
 * supervisor's control calls over comlink, and reports exits and logs on `parentPort`.
 */
import type { ClockSkew } from '../primitives/clock.js';
import type { DiskFault } from './storage.js';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { registryLoader } from './registry.js';
import { ThreadHost, type ThreadActorSpec, type ThreadEvent, type ThreadInit } from './thread-host.js';
import type { Address } from '../primitives/address.js';
import type { NetworkConfig } from '../transport/network.js';

export interface WorkerData {
  readonly init: ThreadInit;
  readonly control: MessagePort;
  readonly peers: readonly { readonly thread: number; readonly port: MessagePort }[];
}

/** The supervisor's remote control of a thread (comlink). */
export interface ThreadControl {
  started(): Promise<void>;
  addPeer(thread: number, port: MessagePort): void;
  removePeer(thread: number): void;
  startActor(spec: ThreadActorSpec): Promise<void>;
  killActors(addresses: readonly Address[]): void;
  syncAll(): void;
  list(): ReturnType<ThreadHost['list']>;
  inspect(address: Address): Record<string, unknown> | undefined;
  pause(address: Address): void;
  resume(address: Address): void;
  skewClock(address: Address, skew: ClockSkew): void;
  setDiskFault(address: Address, fault: DiskFault | undefined): void;
  setNetwork(config: NetworkConfig): void;
  setRoutes(routes: readonly [Address, number][]): void;
  stats(): ReturnType<ThreadHost['stats']>;
  trace(): ReturnType<ThreadHost['trace']>;
}

const data = workerData as WorkerData;
const report = (event: ThreadEvent) => parentPort!.postMessage(event);
const host = new ThreadHost(data.init, registryLoader(data.init.registry), report);
for (const { thread, port } of data.peers) host.addPeer(thread, port);
const started = host.startAll();

const control: ThreadControl = {
  started: () => started,
  addPeer: (thread, port) => host.addPeer(thread, port),
  removePeer: (thread) => host.router.removePeer(thread),
  startActor: (spec) => host.startActor(spec),
  killActors: (addresses) => host.killActors(addresses),
  syncAll: () => host.syncAll(),
  list: () => host.list(),
  inspect: (address) => host.inspect(address),
  pause: (address) => host.pause(address),
  resume: (address) => host.resume(address),
  skewClock: (address, skew) => host.skewClock(address, skew),
  setDiskFault: (address, fault) => host.setDiskFault(address, fault),
  setNetwork: (config) => host.setNetwork(config),
  setRoutes: (routes) => host.setRoutes(routes),
  stats: () => host.stats(),
  trace: () => host.trace(),
};
expose(control, nodeEndpoint(data.control as unknown as Parameters<typeof nodeEndpoint>[0]));
