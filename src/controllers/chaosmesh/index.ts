/** Chaos Mesh's API and controllers (PodChaos, NetworkChaos, Schedule) on pocketkube's controller engine. */
export * from './crds.js';
export { podChaosController, reconcilePodChaos, podFailureImage, originImageAnnotation } from './podchaos.js';
export { recordsFinalizer } from './records.js';
export { networkChaosController, reconcileNetworkChaos } from './networkchaos.js';
export { scheduleController, reconcileSchedule, scheduleTimes } from './schedule.js';
export { matchPods, pickPods } from './select.js';
export { parseGoDurationMs } from './duration.js';
