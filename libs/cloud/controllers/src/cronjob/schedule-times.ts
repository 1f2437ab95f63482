// When a CronJob's schedule fires, in its time zone. The schedule is parsed strictly by kube-core's
// parseCronSchedule (the API server validates with the same parser); croner then walks the calendar
// in the time zone (DST included), fed explicit value lists so it cannot read the text differently.
import { Cron } from 'croner';
import { CronScheduleError, isKnownTimeZone, parseCronSchedule } from '@kedge/kube-core';
import { InvalidSpecError } from '../spec-error';

/** upstream's limit: more missed start times than this is reported as TooManyMissedTimes */
export const MAX_MISSED_START_TIMES = 100;

export interface ScheduleTimes {
  /** the first time strictly after `after` */
  next(after: number): number | undefined;
  /** the most recent time in (after, upTo], and how many there were (counting stops past MAX_MISSED_START_TIMES) */
  missed(after: number, upTo: number): { mostRecent: number | undefined; count: number };
  /** RFC 3339 with the zone's offset, as Go formats the scheduled time in the CronJob's zone */
  format(at: number): string;
}

function offsetOf(at: number, timeZone: string): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(new Date(at)).find((item) => item.type === 'timeZoneName')?.value ?? 'GMT';
  const offset = part.replace('GMT', '');
  // Go's RFC 3339 writes a zero offset as Z
  return offset === '' || offset === '+00:00' || offset === '-00:00' ? 'Z' : offset;
}

function localParts(at: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(at))
      .map((part) => [part.type, part.value]),
  );
  return `${parts['year']}-${parts['month']}-${parts['day']}T${parts['hour']}:${parts['minute']}:${parts['second']}`;
}

/**
 * The times of `schedule` in `timeZone` (an IANA name; unset means the controller's local zone, as
 * upstream's kube-controller-manager). Throws InvalidSpecError naming spec.schedule or spec.timeZone.
 */
export function scheduleTimes(schedule: string, timeZone: string | undefined): ScheduleTimes {
  if (timeZone !== undefined && !isKnownTimeZone(timeZone)) throw new InvalidSpecError('spec.timeZone', `unknown time zone ${timeZone}`);
  let parsed;
  try {
    parsed = parseCronSchedule(schedule);
  } catch (error) {
    if (error instanceof CronScheduleError) throw new InvalidSpecError('spec.schedule', `unparseable schedule "${schedule}": ${error.message}`);
    throw error;
  }
  const zone = timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const pattern = [
    parsed.minutes.join(','),
    parsed.hours.join(','),
    parsed.dayOfMonthStar ? '*' : parsed.daysOfMonth.join(','),
    parsed.months.join(','),
    parsed.dayOfWeekStar ? '*' : parsed.daysOfWeek.join(','),
  ].join(' ');
  // legacyMode: day of month OR day of week when both are restricted, as Vixie cron and robfig/cron
  const cron = new Cron(pattern, { timezone: zone, paused: true, legacyMode: true });
  const next = (after: number): number | undefined => cron.nextRun(new Date(after))?.getTime();
  return {
    next,
    missed(after, upTo) {
      let count = 0;
      for (let at = next(after); at !== undefined && at <= upTo && count <= MAX_MISSED_START_TIMES; at = next(at)) count++;
      if (count === 0) return { mostRecent: undefined, count };
      // the most recent directly, so a long outage is not walked minute by minute
      const [previous] = cron.previousRuns(1, new Date(upTo + 1));
      const mostRecent = previous !== undefined && previous.getTime() > after ? previous.getTime() : undefined;
      return { mostRecent, count };
    },
    format(at) {
      return `${localParts(at, zone)}${offsetOf(at, zone)}`;
    },
  };
}
