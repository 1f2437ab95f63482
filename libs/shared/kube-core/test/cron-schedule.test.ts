// CronJob schedules as Kubernetes reads them (robfig/cron ParseStandard): fields, names, steps, macros
// and the refusals with upstream's wording.
import { describe, expect, it } from 'vitest';
import { CronScheduleError, isKnownTimeZone, parseCronSchedule } from '../src/index';

describe('cron schedule', () => {
  it('cron schedule - five fields with lists, ranges, steps and names', () => {
    const schedule = parseCronSchedule('*/15 9-17/4 1,15 JAN-mar mon-FRI');
    expect(schedule.minutes).toEqual([0, 15, 30, 45]);
    expect(schedule.hours).toEqual([9, 13, 17]);
    expect(schedule.daysOfMonth).toEqual([1, 15]);
    expect(schedule.months).toEqual([1, 2, 3]);
    expect(schedule.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect([schedule.dayOfMonthStar, schedule.dayOfWeekStar]).toEqual([false, false]);
  });

  it('cron schedule - "n/step" runs to the maximum, "*" and "?" are stars, "*/2" is not', () => {
    expect(parseCronSchedule('50/5 * * * *').minutes).toEqual([50, 55]);
    expect(parseCronSchedule('0 0 ? * *').dayOfMonthStar).toBe(true);
    expect(parseCronSchedule('0 0 */2 * *').dayOfMonthStar).toBe(false);
  });

  it('cron schedule - macros', () => {
    expect(parseCronSchedule('@hourly')).toMatchObject({ minutes: [0], hours: Array.from({ length: 24 }, (_, hour) => hour) });
    expect(parseCronSchedule('@weekly')).toMatchObject({ minutes: [0], hours: [0], daysOfWeek: [0], dayOfMonthStar: true });
    expect(parseCronSchedule('@yearly')).toEqual(parseCronSchedule('@annually'));
  });

  it('cron schedule - refusals name the problem as upstream does', () => {
    const refusal = (text: string): string => {
      try {
        parseCronSchedule(text);
      } catch (error) {
        expect(error).toBeInstanceOf(CronScheduleError);
        return (error as Error).message;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(refusal('CRON_TZ=UTC 0 * * * *')).toBe('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
    expect(refusal('TZ=Europe/Berlin 0 * * * *')).toBe('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
    expect(refusal('* * * *')).toMatch(/expected exactly 5 fields, found 4/);
    expect(refusal('60 * * * *')).toMatch(/end of range \(60\) above maximum \(59\)/);
    expect(refusal('0 0 0 * *')).toMatch(/beginning of range \(0\) below minimum \(1\)/);
    expect(refusal('5-1 * * * *')).toMatch(/beginning of range \(5\) beyond end of range \(1\)/);
    expect(refusal('*/0 * * * *')).toMatch(/step of range should be a positive number/);
    expect(refusal('0 0 * * 7')).toMatch(/above maximum \(6\)/);
    expect(refusal('0 0 L * *')).toMatch(/failed to parse int from L/);
    expect(refusal('@fortnightly')).toMatch(/unrecognized descriptor/);
    expect(refusal('@every 1h')).toMatch(/@every is not supported/);
  });

  it('cron schedule - time zones are IANA names; Local and offsets are refused', () => {
    expect(isKnownTimeZone('Europe/Berlin')).toBe(true);
    expect(isKnownTimeZone('Etc/UTC')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus')).toBe(false);
    expect(isKnownTimeZone('Local')).toBe(false);
    expect(isKnownTimeZone(' UTC')).toBe(false);
    expect(isKnownTimeZone('+01:00')).toBe(false);
  });
});
