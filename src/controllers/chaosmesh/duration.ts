/** Go's time.ParseDuration for Chaos Mesh's `duration` and `@every` fields ("30s", "1m30s", "500ms"). */

const unitMs: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when `text` is not a Go duration (a sign is not accepted: Chaos Mesh's are never negative). */
export function parseGoDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/gy;
  let totalMs = 0;
  let at = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    totalMs += Number(m[1]) * unitMs[m[2]!]!;
    at = part.lastIndex;
  }
  return at === text.length && at > 0 ? totalMs : undefined;
}
