import { InvalidTemplateError } from '../model/errors.js';

/**
 * Formats an instant with Day.js/Moment format tokens, always in UTC — the `${now:FORMAT}`
 * templates of Nango's provider files (`YYYYMMDDTHHmmss[Z]` for AWS, `ddd, DD MMM YYYY HH:mm:ss ZZ`
 * for Duo's RFC 2822 dates, `X` for epoch seconds). `[...]` is literal text.
 */
export function formatUtc(epochMs: number, format: string): string {
  const date = new Date(epochMs);
  return format.replace(TOKEN, (token: string, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    return (FORMATTERS[token] as (d: Date) => string)(date);
  });
}

const TOKEN = /\[([^\]]*)]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z|X|x/g;

const MONTHS = 'January February March April May June July August September October November December'.split(' ');
const DAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');
const pad = (value: number, width = 2) => String(value).padStart(width, '0');
const hour12 = (d: Date) => d.getUTCHours() % 12 || 12;

const FORMATTERS: Record<string, (d: Date) => string> = {
  YYYY: (d) => pad(d.getUTCFullYear(), 4),
  YY: (d) => pad(d.getUTCFullYear() % 100),
  MMMM: (d) => MONTHS[d.getUTCMonth()] as string,
  MMM: (d) => (MONTHS[d.getUTCMonth()] as string).slice(0, 3),
  MM: (d) => pad(d.getUTCMonth() + 1),
  M: (d) => String(d.getUTCMonth() + 1),
  DD: (d) => pad(d.getUTCDate()),
  D: (d) => String(d.getUTCDate()),
  dddd: (d) => DAYS[d.getUTCDay()] as string,
  ddd: (d) => (DAYS[d.getUTCDay()] as string).slice(0, 3),
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
  X: (d) => String(Math.floor(d.getTime() / 1000)),
  x: (d) => String(d.getTime()),
};

const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
};

/** `+7:days` → milliseconds; units are seconds, minutes, hours, days or weeks (singular or plural). */
export function offsetMs(amount: number, unit: string): number {
  const size = UNIT_MS[unit.replace(/s$/, '')];
  if (size === undefined) throw new InvalidTemplateError(`Unknown time unit "${unit}" in a \${now…} template`);
  return amount * size;
}
