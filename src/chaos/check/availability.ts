/**
 * "The Service stayed available during the faults": of the HTTP requests *started* while a fault
 * was active (between its start and its heal), at least `minOkRatio` answered 200. A request
 * started outside every fault interval says nothing about the faults and is not counted. Too few
 * requests during the faults to judge is `unknown`, never a pass.
 */
import type { CheckerVerdict } from './verdict.js';

export interface HttpSample {
  readonly process: string;
  readonly startMs: number;
  readonly endMs: number;
  /** The HTTP status; undefined when no response came (refused, reset, timed out). */
  readonly status?: number;
  readonly error?: string;
}

export interface FaultWindow {
  readonly name: string;
  readonly startMs: number;
  /** Undefined: still active when the samples were taken (counted up to the last sample). */
  readonly endMs?: number;
}

export interface AvailabilityVerdict extends CheckerVerdict {
  readonly during: number;
  readonly ok: number;
  /** Up to 10 failed requests started during a fault: the evidence. */
  readonly failures: readonly HttpSample[];
}

export const defaultMinAvailabilitySamples = 20;
const MAX_EVIDENCE = 10;

function within(sample: HttpSample, interval: FaultWindow): boolean {
  return sample.startMs >= interval.startMs && (interval.endMs === undefined || sample.startMs <= interval.endMs);
}

export function checkServiceAvailability(samples: readonly HttpSample[], faults: readonly FaultWindow[], minOkRatio: number, minSamples = defaultMinAvailabilitySamples): AvailabilityVerdict {
  if (!(minOkRatio >= 0 && minOkRatio <= 1)) throw new Error(`minOkRatio must be from 0 to 1, got ${minOkRatio}`);
  const during = samples.filter((s) => faults.some((f) => within(s, f)));
  const okCount = during.filter((s) => s.status === 200).length;
  const failures = during.filter((s) => s.status !== 200).slice(0, MAX_EVIDENCE);
  const perFault = faults.map((f) => {
    const mine = samples.filter((s) => within(s, f));
    return `${f.name}: ${mine.filter((s) => s.status === 200).length}/${mine.length}`;
  }).join('; ');
  const evidence = failures.map((s) => `  ${s.process} at ${Math.round(s.startMs)} ms: ${s.status === undefined ? s.error ?? 'no response' : `HTTP ${s.status}`}`);
  if (during.length < minSamples) {
    return { status: 'unknown', during: during.length, ok: okCount, failures, explanation: `only ${during.length} requests started during the faults (at least ${minSamples} needed to judge): ${perFault}` };
  }
  const ratio = okCount / during.length;
  const head = `${okCount} of ${during.length} requests started during the faults answered 200 (${(ratio * 100).toFixed(1)}%, threshold ${(minOkRatio * 100).toFixed(1)}%); per fault ${perFault}`;
  return {
    status: ratio >= minOkRatio ? 'pass' : 'fail', during: during.length, ok: okCount, failures,
    explanation: evidence.length === 0 ? head : [head, 'failed requests:', ...evidence].join('\n'),
  };
}
