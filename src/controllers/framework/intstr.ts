/**
 * IntOrString values (maxSurge, maxUnavailable, minAvailable): apimachinery's
 * GetScaledValueFromIntOrPercent — a percentage of `total`, rounded up or down as asked.
 */
export type IntOrString = number | string;

/** Undefined when the value is neither an integer nor "N%" (validation should have refused it). */
export function scaledValue(v: IntOrString, total: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  const m = /^(\d+)%$/.exec(v);
  if (m === null) return /^\d+$/.test(v) ? Number(v) : undefined;
  const percent = Number(m[1]);
  // Integer arithmetic first, as upstream (percent * total / 100 in floating point then ceil/floor).
  const product = percent * total;
  return roundUp ? Math.ceil(product / 100) : Math.floor(product / 100);
}
