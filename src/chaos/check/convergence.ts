/**
 * "The workloads converged after the heal": from observations of every Deployment (desired and
 * available replicas), the first moment at or after the heal when each has available == desired
 * must come within `withinMs`. No such moment while the whole window was observed is a fail; a
 * window not fully observed, or no Deployment seen at all, is unknown.
 */
import type { CheckerVerdict } from './verdict.js';

export interface DeploymentCount {
  readonly name: string;
  readonly desired: number;
  readonly available: number;
}

export interface DeploymentObservation {
  readonly timeMs: number;
  /** Undefined when the list could not be read at that moment. */
  readonly deployments?: readonly DeploymentCount[];
}

export interface ConvergenceVerdict extends CheckerVerdict {
  /** Heal to the first converged observation; undefined when none. */
  readonly convergedAfterMs: number | undefined;
}

const converged = (o: DeploymentObservation) => o.deployments !== undefined && o.deployments.length > 0 && o.deployments.every((d) => d.available === d.desired);

function describe(o: DeploymentObservation | undefined): string {
  if (o === undefined) return 'nothing observed';
  if (o.deployments === undefined) return `at ${Math.round(o.timeMs)} ms the Deployments could not be listed`;
  return `at ${Math.round(o.timeMs)} ms: ${o.deployments.map((d) => `${d.name} ${d.available}/${d.desired} available`).join(', ') || 'no Deployments'}`;
}

export function checkConvergence(observations: readonly DeploymentObservation[], healedAtMs: number, withinMs: number): ConvergenceVerdict {
  if (!(withinMs > 0)) throw new Error(`withinMs must be positive, got ${withinMs}`);
  const after = observations.filter((o) => o.timeMs >= healedAtMs).sort((a, b) => a.timeMs - b.timeMs);
  const first = after.find(converged);
  if (first !== undefined) {
    const convergedAfterMs = first.timeMs - healedAtMs;
    const ok = convergedAfterMs <= withinMs;
    return { status: ok ? 'pass' : 'fail', convergedAfterMs, explanation: `every Deployment had available == desired ${Math.round(convergedAfterMs)} ms after the heal (limit ${withinMs} ms): ${describe(first)}` };
  }
  const last = after.at(-1);
  if (last !== undefined && last.timeMs - healedAtMs >= withinMs) {
    return { status: 'fail', convergedAfterMs: undefined, explanation: `not converged within ${withinMs} ms of the heal; last seen ${describe(last)}` };
  }
  return { status: 'unknown', convergedAfterMs: undefined, explanation: `not converged, but only ${last === undefined ? 0 : Math.round(last.timeMs - healedAtMs)} ms of the ${withinMs} ms window were observed; last seen ${describe(last)}` };
}
