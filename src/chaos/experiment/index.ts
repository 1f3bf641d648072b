/** The experiment engine: define an experiment as data, run it, read its verdicts and report. */
export * from './define.js';
export { planSchedule, describeFault, type PlannedFault } from './schedule.js';
export { resolveTarget, describeTarget, type ClusterView, type PodRef } from './targets.js';
export { faultCatalog, faultKinds, type FaultInfo, type ParamSpec } from './catalog.js';
export { experimentFaultRegistry, type ExperimentFaultKind, type Injected, type InjectContext } from './faults.js';
export { runExperiment, defaultExperimentNetwork, type ExperimentNetwork, type RunExperimentOptions } from './run.js';
export { leaseTransitions, verdictRows, type Evidence, type FaultRecord, type LeaseObservation } from './verdicts.js';
export { writeReport, reportMarkdown, type ExperimentRunResult } from './report.js';
export { clusterUnderFire, SERVICE_AVAILABILITY_MIN_OK } from './cluster-under-fire.js';
export { ExperimentFileError, isExperimentFileName, loadExperimentFile, parseExperimentFile } from './file.js';
