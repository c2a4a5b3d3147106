/**
 * SCALE_SCHEDULE: the timer's schedule as the Functions host reads it.
 *
 * The host (azure-webjobs-sdk-extensions, Timers/Scheduling/CronSchedule.cs) parses it with NCrontab
 * and `IncludingSeconds = true`: exactly 6 fields split on spaces (second minute hour day month
 * day-of-week), each a list of `*`, `n` or `n-m`, optionally `/step`; months and weekdays may be
 * names (NCrontab takes any case-insensitive prefix of the English name: `Jan`, `Mon`, `Monday`);
 * day-of-week is 0-6 (Sunday = 0). No `?`, `L`, `W`, `#`, no year field.
 *
 * croner (a cron parser from the registry) checks the field syntax and ranges. Before it, this
 * module refuses what croner accepts and NCrontab does not (5 or 7 fields, Quartz extensions,
 * weekday 7, tabs) and turns names into numbers by NCrontab's prefix rule. Messages name the field,
 * never the value.
 */
import { CronPattern } from 'croner';

interface Field {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const FIELDS: readonly Field[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTHS },
  { label: 'day of week', min: 0, max: 6, names: WEEKDAYS },
];

export const NCRONTAB_HINT = '6 fields: second minute hour day month day-of-week, e.g. "0 */1 * * * *"';

/** One value of a field as a number string, or a problem. */
function valueOf(token: string, f: Field, where: string): { n: string } | { problem: string } {
  if (/^\d+$/.test(token)) {
    if (f.label === 'day of week' && Number(token) > 6)
      return { problem: `${where} must be 0-6 (Sunday = 0; NCRONTAB has no 7)` };
    return { n: String(Number(token)) };
  }
  if (/^[A-Za-z]+$/.test(token) && f.names) {
    const lower = token.toLowerCase();
    const i = f.names.findIndex((name) => name.toLowerCase().startsWith(lower));
    if (i >= 0) return { n: String(i + f.min) };
    return { problem: `${where} has an unknown ${f.label === 'month' ? 'month' : 'weekday'} name` };
  }
  return { problem: `${where} must be numbers${f.names ? ' or names' : ''} with * , - /` };
}

/** The field rewritten with numbers only, or a problem. */
function numericField(text: string, f: Field, where: string): { text: string } | { problem: string } {
  const items: string[] = [];
  for (const item of text.split(',')) {
    const m = /^([^/]*)(?:\/(\d+))?$/.exec(item);
    if (!m || m[1] === '') return { problem: `${where} must be a list of *, n or n-m, each optionally /step` };
    const range = m[1]!;
    const step = m[2] === undefined ? '' : `/${m[2]}`;
    if (range === '*') {
      items.push(`*${step}`);
      continue;
    }
    const ends = range.split('-');
    if (ends.length > 2) return { problem: `${where} has a range with more than two ends` };
    const out: string[] = [];
    for (const end of ends) {
      const v = valueOf(end, f, where);
      if ('problem' in v) return v;
      out.push(v.n);
    }
    items.push(out.join('-') + step);
  }
  return { text: items.join(',') };
}

function parses(pattern: string): boolean {
  try {
    // sloppyRanges: NCrontab takes `n/step` (n to the maximum, every step).
    new CronPattern(pattern, undefined, { mode: '6-part', sloppyRanges: true });
    return true;
  } catch {
    return false;
  }
}

/** Why `expression` is not a schedule the Functions host accepts, or undefined when it is. */
export function ncrontabProblem(expression: string): string | undefined {
  if (/^\d+(\.\d+)?:\d{2}(:\d{2})?$/.test(expression.trim())) {
    return `must be an NCRONTAB expression (${NCRONTAB_HINT}); TimeSpan schedules run only on App Service plans, not on Flex Consumption`;
  }
  if (!/^[0-9A-Za-z*,/ -]*$/.test(expression)) {
    return `must be an NCRONTAB expression (${NCRONTAB_HINT}): only digits, month/weekday names, * , - / and spaces`;
  }
  const parts = expression.split(' ').filter((p) => p !== '');
  if (parts.length !== 6) return `must be an NCRONTAB expression with 6 fields, not ${parts.length} (${NCRONTAB_HINT})`;
  const numeric: string[] = [];
  for (const [i, part] of parts.entries()) {
    const f = FIELDS[i]!;
    const r = numericField(part, f, `field ${i + 1} (${f.label})`);
    if ('problem' in r) return r.problem;
    numeric.push(r.text);
  }
  // croner's messages quote the field: find which field fails by parsing one field at a time.
  for (const i of numeric.keys()) {
    const probe = numeric.map((t, j) => (j === i ? t : '*')).join(' ');
    if (!parses(probe))
      return `must be an NCRONTAB expression (${NCRONTAB_HINT}): field ${i + 1} (${FIELDS[i]!.label}) must stay within ${FIELDS[i]!.min}-${FIELDS[i]!.max}, ranges low-high, steps above 0`;
  }
  if (!parses(numeric.join(' '))) return `must be an NCRONTAB expression (${NCRONTAB_HINT})`;
  return undefined;
}
