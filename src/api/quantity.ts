/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): "100m", "1Gi", "2e3".
 * Values are held exactly as integer nano-units (BigInt), which covers every suffix Kubernetes
 * accepts; like Kubernetes, precision below 1n is rounded up.
 */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value × 10^9, exact. */
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

export type QuantityResult = { ok: true; quantity: Quantity } | { ok: false; error: string };

const maxQuantityLengthChars = 128;
/** Exponents beyond this cannot describe real resources and would make BigInt arithmetic costly. */
const maxDecimalExponent = 64;
const nanoScale = 9;

const binarySuffixes: ReadonlyArray<readonly [string, number]> = [['Ki', 10], ['Mi', 20], ['Gi', 30], ['Ti', 40], ['Pi', 50], ['Ei', 60]];
const decimalSuffixes: ReadonlyArray<readonly [string, number]> = [
  ['n', -9], ['u', -6], ['m', -3], ['', 0], ['k', 3], ['M', 6], ['G', 9], ['T', 12], ['P', 15], ['E', 18],
];

const quantityPattern = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)$/;

export const quantityFormatError = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Ceil of a / b for b > 0 (Kubernetes rounds sub-nano precision up, away from zero for positives). */
function divCeil(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

function parseSuffix(suffix: string): { format: QuantityFormat; base2?: number; exp10?: number } | undefined {
  for (const [s, p] of binarySuffixes) if (s === suffix) return { format: 'BinarySI', base2: p };
  for (const [s, p] of decimalSuffixes) if (s === suffix) return { format: 'DecimalSI', exp10: p };
  const m = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  if (m !== null) {
    const e = Number(m[1]);
    if (Math.abs(e) > maxDecimalExponent) return undefined;
    return { format: 'DecimalExponent', exp10: e };
  }
  return undefined;
}

export function parseQuantity(input: string): QuantityResult {
  if (input.length === 0) return { ok: false, error: 'quantities must not be empty' };
  if (input.length > maxQuantityLengthChars) return { ok: false, error: quantityFormatError };
  const m = quantityPattern.exec(input.trim() === input ? input : '');
  if (m === null) return { ok: false, error: quantityFormatError };
  const sign = m[1] === '-' ? -1n : 1n;
  const num = m[2] ?? '';
  const suffix = parseSuffix(m[3] ?? '');
  if (suffix === undefined) return { ok: false, error: 'unable to parse quantity\'s suffix' };
  const dot = num.indexOf('.');
  const intPart = dot < 0 ? num : num.slice(0, dot);
  const fracPart = dot < 0 ? '' : num.slice(dot + 1);
  // digits = mantissa × 10^fracLen
  let value = BigInt((intPart + fracPart) === '' ? '0' : intPart + fracPart);
  let denom = pow10(fracPart.length);
  if (suffix.base2 !== undefined) value *= 1n << BigInt(suffix.base2);
  const e = (suffix.exp10 ?? 0) + nanoScale;
  if (e >= 0) value *= pow10(e);
  else denom *= pow10(-e);
  return { ok: true, quantity: { nanos: sign * divCeil(value, denom), format: suffix.format } };
}

function formatDecimal(nanos: bigint, exponentStyle: boolean): string {
  if (nanos === 0n) return '0';
  const neg = nanos < 0n;
  let mant = neg ? -nanos : nanos;
  let exp = -nanoScale;
  while (mant % 1000n === 0n && exp < 18) {
    mant /= 1000n;
    exp += 3;
  }
  let suffix: string;
  if (exponentStyle) suffix = exp === 0 ? '' : `e${exp}`;
  else suffix = decimalSuffixes.find(([, p]) => p === exp)?.[0] ?? `e${exp}`;
  return `${neg ? '-' : ''}${mant.toString()}${suffix}`;
}

function formatBinary(nanos: bigint): string | undefined {
  const unit = pow10(nanoScale);
  if (nanos % unit !== 0n) return undefined;
  const whole = nanos / unit;
  if (whole > -1024n && whole < 1024n) return undefined;
  const neg = whole < 0n;
  let mant = neg ? -whole : whole;
  let idx = -1;
  while (idx + 1 < binarySuffixes.length && mant % 1024n === 0n) {
    mant /= 1024n;
    idx++;
  }
  const suffix = idx < 0 ? '' : (binarySuffixes[idx]?.[0] ?? '');
  return `${neg ? '-' : ''}${mant.toString()}${suffix}`;
}

/** The canonical string Kubernetes serialises a quantity as ("1.5Gi" → "1536Mi", "0.5" → "500m"). */
export function formatQuantity(q: Quantity): string {
  switch (q.format) {
    case 'BinarySI':
      // Like Kubernetes: small or fractional binary values fall back to decimal SI.
      return formatBinary(q.nanos) ?? formatDecimal(q.nanos, false);
    case 'DecimalSI':
      return formatDecimal(q.nanos, false);
    case 'DecimalExponent':
      return formatDecimal(q.nanos, true);
    default: {
      const never: never = q.format;
      throw new Error(`unknown quantity format ${String(never)}`);
    }
  }
}

/** Accepts the JSON forms a quantity takes: a string, or a plain number (int-or-string). */
export function parseQuantityValue(value: unknown): QuantityResult {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, error: quantityFormatError };
    return parseQuantity(String(value).replace('e+', 'e'));
  }
  if (typeof value === 'string') return parseQuantity(value);
  return { ok: false, error: quantityFormatError };
}

/**
 * What Kubernetes serialises a quantity string as. Like resource.ParseQuantity's fast path, an
 * input that is already "canonical enough" is kept verbatim ("2E3", "+5k", "1Gi"); anything else
 * becomes `formatQuantity`'s canonical form ("1000m" → "1", "1024Mi" → "1Gi").
 */
export function canonicalQuantity(input: string): string | undefined {
  const r = parseQuantity(input);
  if (!r.ok) return undefined;
  return keepsOriginalString(input) ? input : formatQuantity(r.quantity);
}

const maxInt64Digits = 18;

function keepsOriginalString(input: string): boolean {
  if (input === '0') return true;
  const m = /^[+-]?0*([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(input);
  if (m === null) return false;
  const num = m[1] ?? '';
  const denom = m[2] ?? '';
  const suffix = parseSuffix(m[3] ?? '');
  if (suffix === undefined) return false;
  if (suffix.base2 !== undefined) {
    if (denom.length > 0) return false;
    const precision = 15 - num.length - Math.floor((suffix.base2 * 3) / 10) - 1;
    if (precision < 0 || num === '') return false;
    // Go: exponent%10 == 0 && value&0x07 != 0
    return suffix.base2 % 10 === 0 && (BigInt(num) & 7n) !== 0n;
  }
  if (maxInt64Digits - (num.length + denom.length) < 0) return false;
  const scale = (suffix.exp10 ?? 0) - denom.length;
  if (scale < -nanoScale) return false;
  const shifted = num + denom;
  return scale % 3 === 0 && !shifted.endsWith('000') && shifted !== '' && shifted[0] !== '0';
}

/** Approximate numeric value (for scheduling arithmetic; exact comparison should use `nanos`). */
export function quantityToNumber(q: Quantity): number {
  const unit = pow10(nanoScale);
  return Number(q.nanos / unit) + Number(q.nanos % unit) / 1e9;
}

/** Value in milli-units, rounded up (how CPU requests are compared). */
export function quantityMilliValue(q: Quantity): bigint {
  return divCeil(q.nanos, 1_000_000n);
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
}
