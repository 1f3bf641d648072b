/**
 * The `pocketkube` package: what a user imports by name (package.json `exports` points here,
 * built to dist/index.js with its declarations). It re-exports composition, so it sits with it in
 * the layer order (.dependency-cruiser.cjs): the HA cluster and the standalone Raft store, the chaos
 * registries and checkers an experiment author needs, the clients, the actor model and its test kit.
 */

// The cluster: start it, talk to it, break it, stop it.
export * from './cluster/index.js';
export { EtcdCluster, type EtcdClusterOptions } from './cluster/etcd-cluster.js';

// Chaos: the fault and experiment registries (and the plugin contract), the driver, the checkers.
export * from './chaos/index.js';

// Clients: the typed Kubernetes client, informers, work queues, leader election, HTTPS; the etcd client.
export * from './client/index.js';
export { EtcdClient, type EtcdClientOptions } from './client/etcd-client.js';
export type { KvCallOptions, KvClient, KvError, KvResult } from './client/kv.js';

// Kubernetes objects: types, defaulting, validation, selectors, patches, manifests, as one namespace
// (some names, such as DeleteOptions, are both an API type and a client option).
export * as api from './api/index.js';

// Actors: definitions, addresses, messages, asks, clocks, timing profiles, and the test kit.
export { defineActor, type ActorBehaviour, type ActorContext, type ActorDefinition, type ActorSpec, type AnyActorDefinition, type HostSpec, type Incoming, type RestartPolicy } from './runtime/actor.js';
export { protocolError, shapeValidator, type MessageShape, type ProtocolError } from './runtime/validate.js';
export { ActorTestKit, type ProbeRecord, type TestKitOptions } from './runtime/testkit.js';
export type { ActorSystem, KillOptions, NetworkControl, SystemEvent } from './runtime/system.js';
export { address, hostOf, actorOf, type Address } from './primitives/address.js';
export { AskRefusedError, AskResetError, AskTimeoutError, type Effect, type Message, type OutgoingMessage } from './primitives/envelope.js';
export { sleep, VirtualClock, type Clock } from './primitives/clock.js';
export { RealClock, wallClock } from './runtime/real-clock.js';
export { profile, type ProfileName, type TimingProfile } from './runtime/profiles.js';
export type { DelaySpec, FaultId, FaultSpec, LinkSelector } from './transport/network.js';

// Controllers: a user's operator is a ControllerDefinition (the built-in ones' contract) plus its module.
export { defineOperator, type Operator } from './controllers/operator.js';
export {
  allActions, cacheFromObjects, controllerRefFor, ignoreEvent, kinds, noActions, parallel, resolveControllerRef, sequential, steps,
  type ActionStep, type ApiAction, type CacheView, type ControllerDefinition, type EventMapping, type KindRef, type ReconcileContext,
  type ReconcileResult, type WatchEvent, type WatchSpec,
} from './controllers/framework/index.js';
export type { ControllerManagerStatus } from './controllers/messages.js';

// The scheduler: the engine a program runs as its own scheduler (a second schedulerName), the
// plugin framework a user's plugin implements, configuration, what-if runs and explanations.
export { Scheduler, schedulerLease, type SchedulerOptions, type SchedulerCounts, type SchedulerStatusView } from './scheduler/scheduler.js';
export {
  Registry, type CycleState, type Decision, type FilterPlugin, type FrameworkPluginFactory, type NodeInfo, type PluginContext, type PodInfo,
  type PreFilterPlugin, type ScorePlugin, type Status,
} from './scheduler/framework.js';
export { defaultSchedulerConfiguration, parseSchedulerConfiguration, type SchedulerConfiguration } from './scheduler/config.js';
export { whatIf, whatIfManifests, type Outcome, type WhatIfInput, type WhatIfResult } from './scheduler/whatif.js';
export { explainTable, renderExplain, renderExplainTable, type ExplainTable } from './scheduler/explain.js';
export type { SchedulerExplain, SchedulerStatus } from './scheduler/messages.js';
