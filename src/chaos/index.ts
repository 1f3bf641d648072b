/**
 * What an experiment author needs: the registries (and the plugin contract that hands them over),
 * the fault and experiment types, the driver that lets time pass in either placement, the history
 * recorder and every checker.
 */
export * from './check/index.js';
export { Registry, type Named } from './registry.js';
export { driverFor, waitUntil, type Driver } from './driver.js';
export type { ChaosOutcome } from './outcome.js';
export { etcdFaultRegistry, ETCD_FAULTS, type EtcdFault, type FaultContext, type FaultDefinition, type FaultPlan } from './etcd/faults.js';
export { runEtcdChaos, type EtcdChaosOptions, type EtcdChaosResult } from './etcd/run.js';
export { CHAOS_PREFIX, KvWorkload, WatchRecorder, keyName, type WorkloadOptions } from './etcd/workload.js';
export {
  controlPlaneFaultRegistry, controlPlaneSchedule, runControlPlaneChaos, RECOVERY_BUDGET_MS,
  type ControlPlaneChaosOptions, type ControlPlaneChaosResult, type ControlPlaneFault, type ControlPlaneFaultContext, type ControlPlaneSchedule,
} from './cluster/run.js';
export { configMapChoices, ConfigMapWorkload, type ConfigMapWorkloadOptions } from './workloads/configmap.js';
export { engineExperiment, experimentRegistry, experiments, findExperiment, DEFAULT_EXPERIMENT, type Experiment, type ExperimentResult, type ExperimentRunOptions, type Placement } from './experiments.js';
export { loadPlugin, pluginApi, type PluginApi, type PluginRegister } from './plugin.js';
export * from './experiment/index.js';
