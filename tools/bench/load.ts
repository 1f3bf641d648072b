import { quantile, sortedCopy } from './stats.js';

export interface LoadResult {
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ops: number;
  readonly errors: number;
}

/**
 * Closed-loop load: `clients` loops, each issuing `op(client, n)` back to back for `durationMs`
 * after a warm-up. Throughput counts successful operations; latencies are per operation.
 */
export async function closedLoop(clients: number, durationMs: number, op: (client: number, n: number) => Promise<boolean>, warmupMs = 500): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const loop = async (client: number) => {
    for (let n = 0; !stop; n++) {
      const began = performance.now();
      const ok = await op(client, n);
      if (!measuring) continue;
      if (ok) latencies.push(performance.now() - began);
      else errors++;
    }
  };
  const loops = Array.from({ length: clients }, (_, i) => loop(i));
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  measuring = true;
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  measuring = false;
  const elapsedS = (performance.now() - began) / 1000;
  stop = true;
  await Promise.all(loops);
  const sorted = sortedCopy(latencies);
  return { opsPerS: latencies.length / elapsedS, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), ops: latencies.length, errors };
}
