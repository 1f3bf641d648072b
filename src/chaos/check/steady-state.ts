/**
 * "The steady state was restored": the steady-state hypothesis (probes with tolerances) held
 * before the method, and held again within the window after the heal. A hypothesis that did not
 * hold before the faults makes the comparison meaningless: unknown, not a pass.
 */
import type { CheckerVerdict } from './verdict.js';

export interface ProbeResult {
  readonly probe: string;
  readonly timeMs: number;
  readonly ok: boolean;
  /** What was measured, against which tolerance. */
  readonly detail: string;
}

export interface SteadyStateInput {
  readonly before: readonly ProbeResult[];
  /** The last evaluation after the heal (every probe), or the first one where all held. */
  readonly after: readonly ProbeResult[];
}

const line = (r: ProbeResult) => `  ${r.ok ? 'ok ' : 'NOT'} ${r.probe} at ${Math.round(r.timeMs)} ms: ${r.detail}`;

export function checkSteadyStateRestored(input: SteadyStateInput): CheckerVerdict {
  if (input.before.length === 0) return { status: 'unknown', explanation: 'no steady-state probe ran before the method' };
  if (!input.before.every((r) => r.ok)) {
    return { status: 'unknown', explanation: ['the steady state did not hold before the method, so its restoration proves nothing:', ...input.before.map(line)].join('\n') };
  }
  if (input.after.length === 0) return { status: 'unknown', explanation: 'no steady-state probe ran after the heal' };
  const ok = input.after.every((r) => r.ok);
  const probes = new Set(input.before.map((r) => r.probe));
  const missing = [...probes].filter((p) => !input.after.some((r) => r.probe === p));
  if (missing.length > 0) return { status: 'unknown', explanation: `probes ${missing.join(', ')} did not run after the heal` };
  return { status: ok ? 'pass' : 'fail', explanation: [ok ? 'the steady state held before the method and again after the heal:' : 'the steady state held before the method but not after the heal:', ...input.after.map(line)].join('\n') };
}
