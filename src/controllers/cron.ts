/**
 * A five-field cron schedule (robfig/cron's standard parser, which the CronJob controller uses):
 * minute hour day-of-month month day-of-week, with `*`, `?`, lists, ranges, steps (`N/s` means
 * `N-max/s`), month and weekday names, 7 as Sunday, and the @yearly / @monthly / @weekly /
 * @daily / @midnight / @hourly macros. Day-of-month and day-of-week are ORed when both are
 * restricted, ANDed when either starts with `*` (robfig's star bit). Times are UTC minutes.
 */
import { civilFromDays, daysFromCivil } from '../api/time.js';

const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const days = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field { readonly bits: ReadonlySet<number>; readonly star: boolean }
export interface CronSchedule { readonly minute: Field; readonly hour: Field; readonly dom: Field; readonly month: Field; readonly dow: Field }

const macros: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

function parseNumber(s: string, names: readonly string[] | undefined, offset: number): number {
  const i = names?.indexOf(s.toUpperCase()) ?? -1;
  if (i >= 0) return i + offset;
  if (!/^\d+$/.test(s)) throw new Error(`failed to parse int from ${s}`);
  return Number(s);
}

function parseField(expr: string, min: number, max: number, names?: readonly string[], nameOffset = 0): Field {
  const bits = new Set<number>();
  let star = false;
  for (const part of expr.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') throw new Error(`invalid expression ${part}`);
    const bounds = range.split('-');
    let lo: number, hi: number;
    let partStar = false;
    if (range === '*' || range === '?') { lo = min; hi = max; partStar = true; } else {
      if (bounds.length > 2) throw new Error(`too many hyphens: ${range}`);
      lo = parseNumber(bounds[0]!, names, nameOffset);
      hi = bounds.length === 2 ? parseNumber(bounds[1]!, names, nameOffset) : lo;
    }
    let step = 1;
    if (stepText !== undefined) {
      step = parseNumber(stepText, undefined, 0);
      if (step === 0) throw new Error('step of range should be a positive number');
      if (bounds.length === 1 && !partStar) hi = max;
      if (step > 1) partStar = false;
    }
    if (lo < min || hi > max || lo > hi) throw new Error(`end of range (${hi}) or beginning (${lo}) out of bounds ${min}-${max}`);
    for (let v = lo; v <= hi; v += step) bits.add(v);
    star ||= partStar;
  }
  return { bits, star };
}

export function parseCron(spec: string): CronSchedule {
  const text = macros[spec.trim()] ?? spec.trim();
  if (text.startsWith('TZ=') || text.startsWith('CRON_TZ=')) throw new Error('CRON_TZ or TZ used in schedule is not supported, please use timeZone instead');
  const f = text.split(/\s+/);
  if (f.length !== 5) throw new Error(`expected exactly 5 fields, found ${f.length}: ${spec}`);
  const dow = parseField(f[4]!, 0, 7, days, 0);
  // 7 is Sunday too.
  const dowBits = new Set([...dow.bits].map((d) => (d === 7 ? 0 : d)));
  return {
    minute: parseField(f[0]!, 0, 59), hour: parseField(f[1]!, 0, 23), dom: parseField(f[2]!, 1, 31),
    month: parseField(f[3]!, 1, 12, months, 1), dow: { bits: dowBits, star: dow.star },
  };
}

interface Civil { readonly y: number; readonly mo: number; readonly d: number; readonly h: number; readonly mi: number; readonly dow: number }

const dayMs = 86_400_000;
const minuteMs = 60_000;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function civil(ms: number): Civil {
  const days = Math.floor(ms / dayMs);
  const { y, m: mo, d } = civilFromDays(days);
  const rem = ms - days * dayMs;
  return { y, mo, d, h: Math.floor(rem / 3_600_000), mi: Math.floor(rem / minuteMs) % 60, dow: (((days + 4) % 7) + 7) % 7 };
}

const utc = (y: number, mo: number, d: number, h = 0): number => {
  // Month overflow (mo 13) rolls into the next year.
  const yy = y + Math.floor((mo - 1) / 12);
  const mm = ((mo - 1) % 12 + 12) % 12 + 1;
  return daysFromCivil(yy, mm, 1) * dayMs + (d - 1) * dayMs + h * 3_600_000;
};

function dayMatches(s: CronSchedule, c: Civil): boolean {
  const domMatch = s.dom.bits.has(c.d);
  const dowMatch = s.dow.bits.has(c.dow);
  return s.dom.star || s.dow.star ? domMatch && dowMatch : domMatch || dowMatch;
}

/** Search horizon: five years (robfig gives up after five years too). */
const horizonMs = 5 * 366 * dayMs;
/** Schedule times walked at most per question (a limit on everything). */
const maxCronSteps = 1_000_000;

/** The first schedule time strictly after `afterMs` (ms since epoch, UTC), or undefined within five years. */
export function nextTime(s: CronSchedule, afterMs: number): number | undefined {
  let t = Math.floor(afterMs / minuteMs) * minuteMs + minuteMs;
  const limit = afterMs + horizonMs;
  while (t <= limit) {
    const c = civil(t);
    if (!s.month.bits.has(c.mo)) { t = utc(c.y, c.mo + 1, 1); continue; }
    if (!dayMatches(s, c)) { t = utc(c.y, c.mo, c.d + 1); continue; }
    if (!s.hour.bits.has(c.h)) { t = utc(c.y, c.mo, c.d, c.h + 1); continue; }
    if (!s.minute.bits.has(c.mi)) { t += minuteMs; continue; }
    return t;
  }
  return undefined;
}

/** The latest schedule time in (afterMs, atOrBeforeMs] and how many fell in that interval. */
export function mostRecentTime(s: CronSchedule, afterMs: number, atOrBeforeMs: number): { timeMs: number | undefined; missed: number } {
  let t = nextTime(s, afterMs);
  let last: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= atOrBeforeMs && missed < maxCronSteps) {
    last = t;
    missed++;
    t = nextTime(s, t);
  }
  return { timeMs: last, missed };
}
