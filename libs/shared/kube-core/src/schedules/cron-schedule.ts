// CronJob schedules as Kubernetes reads them (robfig/cron's ParseStandard): five fields
// (minute hour day-of-month month day-of-week) or a macro, ranges, steps, lists, month and day names.
// The API server validates with it and the CronJob controller computes times from what it returns,
// so both accept exactly the same schedules. Time zones are not part of a schedule: `CRON_TZ=` and
// `TZ=` prefixes are refused as upstream, the zone comes from `spec.timeZone`.

export class CronScheduleError extends Error {
  override readonly name = 'CronScheduleError';
}

interface FieldRange {
  name: string;
  min: number;
  max: number;
  names?: Readonly<Record<string, number>>;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const FIELDS: readonly FieldRange[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: DAYS },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed schedule: the allowed values of each field, and whether day-of-month/day-of-week were `*`. */
export interface CronSchedule {
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: readonly number[];
  months: readonly number[];
  daysOfWeek: readonly number[];
  /** robfig: when either day field is a star, both must match; otherwise either may */
  dayOfMonthStar: boolean;
  dayOfWeekStar: boolean;
}

function parseValue(text: string, field: FieldRange): number {
  const named = field.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text)) throw new CronScheduleError(`failed to parse int from ${text} in the ${field.name} field`);
  return Number(text);
}

/** One comma-separated part: `*`, `?`, `n`, `a-b`, each optionally `/step`. Returns its values and whether it is a star. */
function parsePart(part: string, field: FieldRange): { values: number[]; star: boolean } {
  const [range = '', stepText, extra] = part.split('/');
  if (extra !== undefined) throw new CronScheduleError(`too many slashes: ${part}`);
  let start: number;
  let end: number;
  let star = false;
  if (range === '*' || range === '?') {
    [start, end, star] = [field.min, field.max, true];
  } else {
    const bounds = range.split('-');
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) throw new CronScheduleError(`too many hyphens: ${part}`);
    start = parseValue(bounds[0] ?? '', field);
    end = bounds.length === 2 ? parseValue(bounds[1] ?? '', field) : start;
    // "n/step" means "n-max/step"
    if (bounds.length === 1 && stepText !== undefined) end = field.max;
  }
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw new CronScheduleError(`step of range should be a positive number: ${part}`);
    step = Number(stepText);
    if (step > 1) star = false;
  }
  if (start < field.min) throw new CronScheduleError(`beginning of range (${start}) below minimum (${field.min}): ${part}`);
  if (end > field.max) throw new CronScheduleError(`end of range (${end}) above maximum (${field.max}): ${part}`);
  if (start > end) throw new CronScheduleError(`beginning of range (${start}) beyond end of range (${end}): ${part}`);
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return { values, star };
}

function parseField(text: string, field: FieldRange): { values: number[]; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    if (part === '') throw new CronScheduleError(`empty list item in the ${field.name} field: ${text}`);
    const parsed = parsePart(part, field);
    star ||= parsed.star;
    for (const value of parsed.values) values.add(value);
  }
  return { values: [...values].sort((a, b) => a - b), star };
}

/** Parses a schedule or throws CronScheduleError with upstream's wording. */
export function parseCronSchedule(schedule: string): CronSchedule {
  const trimmed = schedule.trim();
  if (trimmed === '') throw new CronScheduleError('empty spec string');
  if (/^(CRON_)?TZ=/.test(trimmed)) throw new CronScheduleError('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  let text = trimmed;
  if (text.startsWith('@')) {
    const macro = MACROS[text.toLowerCase()];
    if (macro === undefined) {
      throw new CronScheduleError(
        text.toLowerCase().startsWith('@every') ? `${text}: @every is not supported by this server; use a five-field schedule` : `unrecognized descriptor: ${text}`,
      );
    }
    text = macro;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new CronScheduleError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((part, index) => parseField(part, FIELDS[index] as FieldRange)) as [
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
    ReturnType<typeof parseField>,
  ];
  return {
    minutes: minutes.values,
    hours: hours.values,
    daysOfMonth: daysOfMonth.values,
    months: months.values,
    daysOfWeek: daysOfWeek.values,
    dayOfMonthStar: daysOfMonth.star,
    dayOfWeekStar: daysOfWeek.star,
  };
}

/** Whether `zone` is an IANA time zone name this runtime knows (upstream loads it from tzdata). */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === '' || zone.trim() !== zone || zone.toLowerCase() === 'local' || !/^[A-Za-z]/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
