/**
 * The fault schedule: when each step of the method comes, how long it lasts, and the draw that
 * picks its target among the candidates at injection time. Pure: a function of the method and the
 * seed only, so `--seed N` replays the same schedule (the cluster's state decides only which host
 * is, say, the etcd leader when the step comes).
 */
import { SeededPrng, type Prng } from '../../primitives/prng.js';
import type { FaultSpec, MethodStep, MsRange } from './define.js';
import { faultInfoOf } from './catalog.js';
import { describeTarget } from './targets.js';

export interface PlannedFault {
  readonly step: number;
  readonly fault: FaultSpec;
  /** Offset from the start of the method, assuming every earlier step took exactly its time (a background step's heal is not waited for). */
  readonly atMs: number;
  /** The pause after the previous step's heal (or the method's start) that the run actually waits. */
  readonly pauseMs: number;
  readonly durationMs: number;
  readonly detectionMs: number;
  /** The method does not wait for its heal (define.ts MethodStep.background). */
  readonly background: boolean;
  /** In [0, 1): picks the target among the candidates (targets.ts). */
  readonly pick: number;
}

function draw(range: MsRange, random: Prng): number {
  if (typeof range === 'number') return range;
  return Math.round(random.between(range[0], range[1]));
}

export function planSchedule(method: readonly MethodStep[], seed: number): PlannedFault[] {
  let cursorMs = 0;
  return method.map((step, i) => {
    // One fork per step: adding a step later does not move the earlier ones.
    const random = new SeededPrng(seed).fork(`experiment:schedule:${i}`);
    const pauseMs = draw(step.afterMs, random);
    const atMs = cursorMs + pauseMs;
    const durationMs = draw(step.durationMs, random);
    cursorMs = step.background === true ? atMs : atMs + durationMs;
    return { step: i, fault: step.fault, atMs, pauseMs, durationMs, detectionMs: step.detectionMs ?? 0, background: step.background === true, pick: random.next() };
  });
}

export function describeFault(fault: FaultSpec): string {
  const target = 'target' in fault ? describeTarget(fault.target) : '';
  return faultInfoOf(fault.kind)!.summary(fault, target);
}
