/**
 * Hashing helpers as upstream uses them: FNV-1a 32 over bytes, and apimachinery's
 * rand.SafeEncodeString (each character mapped into an alphabet without vowels and look-alikes,
 * so a hash never spells a word nor reads ambiguously).
 */
const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function safeEncodeString(s: string): string {
  let out = '';
  for (const ch of s) out += safeAlphabet[(ch.codePointAt(0) ?? 0) % safeAlphabet.length];
  return out;
}

/** JSON with object keys sorted at every level: a stable serialisation to hash. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
