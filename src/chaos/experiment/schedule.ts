/**
 * The fault schedule: when each step of the method comes, how long it lasts, and the draw that
 * picks its target among the candidates at injection time. Pure: a function of the method and the
 * seed only, so `--seed N` replays the same schedule (the cluster's state decides only which host
 * is, say, the etcd leader when the step comes).
 */
import { SeededPrng, type Prng } from '../../primitives/prng.js';
import type { FaultSpec, MethodStep, MsRange } from './define.js';

export interface PlannedFault {
  readonly step: number;
  readonly fault: FaultSpec;
  /** Offset from the start of the method, assuming every earlier step took exactly its time. */
  readonly atMs: number;
  /** The pause after the previous step's heal (or the method's start) that the run actually waits. */
  readonly pauseMs: number;
  readonly durationMs: number;
  readonly detectionMs: number;
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
    cursorMs = atMs + durationMs;
    return { step: i, fault: step.fault, atMs, pauseMs, durationMs, detectionMs: step.detectionMs ?? 0, pick: random.next() };
  });
}

export function describeFault(fault: FaultSpec): string {
  switch (fault.kind) {
    case 'kill-host': return `kill ${describeTargetSpec(fault.target)}${fault.resetConnections === false ? ' silently (no connection resets)' : ''}, then restart it`;
    case 'isolate-master': return `partition ${describeTargetSpec(fault.target)} from the other masters, then heal`;
    case 'degrade-links': return `degrade the links of ${describeTargetSpec(fault.target)} (${degradation(fault)}), then restore them`;
    case 'pause-actor': return `pause ${fault.actor} on ${describeTargetSpec(fault.target)}, then resume it`;
    default: {
      const never: never = fault;
      throw new Error(`unreachable fault ${JSON.stringify(never)}`);
    }
  }
}

function degradation(fault: Extract<FaultSpec, { kind: 'degrade-links' }>): string {
  const parts = [
    ...(fault.drop ? [`drop ${Math.round(fault.drop * 100)}%`] : []),
    ...(fault.duplicate ? [`duplicate ${Math.round(fault.duplicate * 100)}%`] : []),
    ...(fault.delayMs || fault.delayJitterMs ? [`delay ${fault.delayMs ?? 0}${fault.delayJitterMs ? `–${(fault.delayMs ?? 0) + fault.delayJitterMs}` : ''} ms`] : []),
  ];
  return parts.join(', ');
}

function describeTargetSpec(target: FaultSpec['target']): string {
  switch (target.kind) {
    case 'etcd-leader-master': return "the etcd leader's master";
    case 'minority-master': return 'a minority master (not the etcd leader\'s)';
    case 'random-worker': return 'a random worker';
    case 'host': return target.host;
    default: {
      const never: never = target;
      throw new Error(`unreachable target ${JSON.stringify(never)}`);
    }
  }
}
