import { InvalidTemplateError } from '../model/errors.js';

/**
 * Formats an instant with Day.js/Moment format tokens, always in UTC — the `${now:FORMAT}`
 * templates of Nango's provider files (`YYYYMMDDTHHmmss[Z]` for AWS, `ddd, DD MMM YYYY HH:mm:ss ZZ`
 * for Duo's RFC 2822 dates, `X` for epoch seconds). `[...]` is literal text.
 */
export function formatUtc(epochMs: number, format: string): string {
  // Nango's reading: `X` and `x` alone are epoch seconds and milliseconds (Day.js's
  // advancedFormat tokens); inside a longer format they are letters, as in Day.js's core.
  if (format === 'X') return String(Math.floor(epochMs / 1000));
  if (format === 'x') return String(epochMs);
  const date = new Date(epochMs);
  return format.replace(TOKEN, (token: string, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    return (FORMATTERS[token] as (d: Date) => string)(date);
  });
}

const TOKEN = /\[([^\]]+)]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|dd|d|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z/g;

const MONTHS = 'January February March April May June July August September October November December'.split(' ');
const DAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');
const pad = (value: number, width = 2) => String(value).padStart(width, '0');
const hour12 = (d: Date) => d.getUTCHours() % 12 || 12;

const FORMATTERS: Record<string, (d: Date) => string> = {
  YYYY: (d) => pad(d.getUTCFullYear(), 4),
  YY: (d) => String(d.getUTCFullYear()).slice(-2),
  MMMM: (d) => MONTHS[d.getUTCMonth()] as string,
  MMM: (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3),
  MM: (d) => pad(d.getUTCMonth() + 1),
  M: (d) => String(d.getUTCMonth() + 1),
  DD: (d) => pad(d.getUTCDate()),
  D: (d) => String(d.getUTCDate()),
  dddd: (d) => DAYS[d.getUTCDay()] as string,
  ddd: (d) => (DAYS[d.getUTCDay()] as string).slice(0, 3),
  dd: (d) => (DAYS[d.getUTCDay()] as string).slice(0, 2),
  d: (d) => String(d.getUTCDay()),
  HH: (d) => pad(d.getUTCHours()),
  H: (d) => String(d.getUTCHours()),
  hh: (d) => pad(hour12(d)),
  h: (d) => String(hour12(d)),
  mm: (d) => pad(d.getUTCMinutes()),
  m: (d) => String(d.getUTCMinutes()),
  ss: (d) => pad(d.getUTCSeconds()),
  s: (d) => String(d.getUTCSeconds()),
  SSS: (d) => pad(d.getUTCMilliseconds(), 3),
  A: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  a: (d) => (d.getUTCHours() < 12 ? 'am' : 'pm'),
  ZZ: () => '+0000',
  Z: () => '+00:00',
};

/** A unit of `${now±N:unit…}`; months and years are calendar arithmetic, the rest fixed lengths. */
export type OffsetUnit = 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

const UNIT_MS: Record<Exclude<OffsetUnit, 'month' | 'year'>, number> = {
  millisecond: 1,
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

// Day.js's abbreviations (case matters: `M` is a month, `m` a minute). Its `D` (adds
// milliseconds) and `Q` (a plugin's quarter) are refused rather than copied.
const UNIT_ABBREVIATIONS: Record<string, OffsetUnit> = {
  ms: 'millisecond',
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  M: 'month',
  y: 'year',
};

/**
 * The unit of `+7:days`, as Day.js's `add` reads it: a name in any case, singular or plural
 * (`days`, `Month`), or an abbreviation (`d`, `M`, `y`). Throws `InvalidTemplateError` for others.
 */
export function offsetUnit(unit: string): OffsetUnit {
  const named = UNIT_ABBREVIATIONS[unit] ?? unit.toLowerCase().replace(/s$/, '');
  if (!Object.hasOwn(UNIT_MS, named) && named !== 'month' && named !== 'year')
    throw new InvalidTemplateError(`Unknown time unit "${unit}" in a \${now…} template`);
  return named as OffsetUnit;
}

/**
 * The instant `amount` units after `epochMs` (before, when negative), in UTC. Months and years
 * keep the day of the month, clamped to the target month's last day (Jan 31 + 1 month = Feb 28,
 * or 29), and the time of day, as Day.js's `add` does.
 */
export function shiftUtc(epochMs: number, amount: number, unit: OffsetUnit): number {
  if (unit !== 'month' && unit !== 'year') return epochMs + amount * UNIT_MS[unit];
  const months = unit === 'year' ? amount * 12 : amount;
  const date = new Date(epochMs);
  const day = date.getUTCDate();
  date.setUTCDate(1);
  date.setUTCMonth(date.getUTCMonth() + months);
  const lastDay = new Date(date.getTime());
  lastDay.setUTCMonth(lastDay.getUTCMonth() + 1, 0);
  date.setUTCDate(Math.min(day, lastDay.getUTCDate()));
  return date.getTime();
}
