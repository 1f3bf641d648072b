/**
 * "The Service stayed available during the faults": of the HTTP requests *started* while a fault
 * was active (between its start and its heal) and after its detection window, at least
 * `minOkRatio` answered 200. The detection window is how long the system is allowed to notice the
 * fault before it must route around it (a dead node's pods stay endpoints until the node is found
 * unreachable and its pods evicted); requests in it are counted and reported but not held to the
 * threshold. A request started outside every fault says nothing about the faults. Too few counted
 * requests to judge is `unknown`, never a pass.
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
  /** From the start: requests started this soon are not held to the threshold (default 0). */
  readonly detectionMs?: number;
}

export interface AvailabilityVerdict extends CheckerVerdict {
  /** Requests held to the threshold (started during a fault, after its detection window) and how many answered 200. */
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

function detecting(sample: HttpSample, interval: FaultWindow): boolean {
  return within(sample, interval) && sample.startMs < interval.startMs + (interval.detectionMs ?? 0);
}

const counted = (sample: HttpSample, interval: FaultWindow) => within(sample, interval) && !detecting(sample, interval);
const ratio = (ok: number, all: number) => `${ok}/${all}`;

export function checkServiceAvailability(samples: readonly HttpSample[], faults: readonly FaultWindow[], minOkRatio: number, minSamples = defaultMinAvailabilitySamples): AvailabilityVerdict {
  if (!(minOkRatio >= 0 && minOkRatio <= 1)) throw new Error(`minOkRatio must be from 0 to 1, got ${minOkRatio}`);
  const during = samples.filter((s) => faults.some((f) => counted(s, f)));
  const okCount = during.filter((s) => s.status === 200).length;
  const failures = during.filter((s) => s.status !== 200).slice(0, MAX_EVIDENCE);
  const perFault = faults.map((f) => {
    const mine = samples.filter((s) => counted(s, f));
    const early = samples.filter((s) => detecting(s, f));
    const okOf = (list: readonly HttpSample[]) => list.filter((s) => s.status === 200).length;
    return `${f.name}: ${ratio(okOf(mine), mine.length)}${f.detectionMs ? ` (and ${ratio(okOf(early), early.length)} in its first ${f.detectionMs} ms, not held to the threshold)` : ''}`;
  }).join('; ');
  const evidence = failures.map((s) => `  ${s.process} at ${Math.round(s.startMs)} ms: ${s.status === undefined ? s.error ?? 'no response' : `HTTP ${s.status}`}`);
  if (during.length < minSamples) {
    return { status: 'unknown', during: during.length, ok: okCount, failures, explanation: `only ${during.length} requests started during the faults after their detection windows (at least ${minSamples} needed to judge): ${perFault}` };
  }
  const okRatio = okCount / during.length;
  const head = `${okCount} of ${during.length} requests started during the faults (after their detection windows) answered 200 (${(okRatio * 100).toFixed(1)}%, threshold ${(minOkRatio * 100).toFixed(1)}%); per fault ${perFault}`;
  return {
    status: okRatio >= minOkRatio ? 'pass' : 'fail', during: during.length, ok: okCount, failures,
    explanation: evidence.length === 0 ? head : [head, 'failed requests:', ...evidence].join('\n'),
  };
}
