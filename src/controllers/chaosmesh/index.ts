/** Chaos Mesh's API and controllers (PodChaos, Schedule) on pocketkube's controller engine. */
export * from './crds.js';
export { podChaosController, reconcilePodChaos, recordsFinalizer, podFailureImage, originImageAnnotation } from './podchaos.js';
export { scheduleController, reconcileSchedule, scheduleTimes } from './schedule.js';
export { matchPods, pickPods } from './select.js';
export { parseGoDurationMs } from './duration.js';
