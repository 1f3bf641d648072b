/**
 * Seeded pseudo-random numbers (sfc32). Every source of randomness in pocketkube is one of these,
 * injected, so that a seed replays a run. `fork(label)` derives an independent stream whose
 * sequence depends only on the parent seed and the label, not on how much the parent was used.
 */
export interface Prng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** Standard normal deviate (Box–Muller). */
  normal(mean: number, stdDev: number): number;
  /** An independent generator derived from this one's seed and `label`. */
  fork(label: string): Prng;
  readonly seed: number;
}

function hashString(text: string, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export class SeededPrng implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`PRNG seed must be a finite number, got ${seed}`);
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Warm up so that nearby seeds diverge.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0)) throw new Error(`int(): maxExclusive must be > 0, got ${maxExclusive}`);
    return Math.floor(this.next() * maxExclusive);
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  normal(mean: number, stdDev: number): number {
    const u1 = 1 - this.next(); // (0, 1]: log is finite
    const u2 = this.next();
    return mean + stdDev * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  fork(label: string): Prng {
    return new SeededPrng(hashString(label, this.seed));
  }
}
