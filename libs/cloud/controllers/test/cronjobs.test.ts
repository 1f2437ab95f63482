// CronJobs against a real API server with a fake clock: the controller's `now` is the test's, and the
// test nudges a sync after moving it (an annotation edit) instead of waiting minutes. Only the CronJob
// controller runs, so the test plays the Job controller: it marks Jobs Complete or Failed through
// jobs/status, as that controller would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@kedge/testkit';
import { jobNameFor } from '../src/cronjob/cronjob-controller';
import { MAX_MISSED_START_TIMES, scheduleTimes } from '../src/cronjob/schedule-times';
import { WorkloadTestCluster } from './harness';

let cluster: WorkloadTestCluster;
let clock = Date.now();
const MINUTE = 60_000;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start({ controllers: ['cronjob'], now: () => clock });
});

afterAll(async () => {
  await cluster?.close();
});

describe('cron schedule times', () => {
  it('cronjob - schedule times follow the time zone, day-of-month OR day-of-week, and count missed starts', () => {
    const tokyo = scheduleTimes('0 9 * * *', 'Asia/Tokyo');
    const next = tokyo.next(Date.parse('2024-05-01T12:00:00Z'));
    expect(new Date(next!).toISOString()).toBe('2024-05-02T00:00:00.000Z');
    expect(tokyo.format(next!)).toBe('2024-05-02T09:00:00+09:00');
    expect(scheduleTimes('0 0 * * *', 'Etc/UTC').format(Date.parse('2024-05-02T00:00:00Z'))).toBe('2024-05-02T00:00:00Z');
    // both day fields restricted: either may match (the 13th, and Fridays)
    const either = scheduleTimes('0 0 13 * 5', 'Etc/UTC');
    const days: string[] = [];
    for (let at = Date.parse('2024-01-01T00:00:00Z'), i = 0; i < 3; i++) days.push(new Date((at = either.next(at)!)).toISOString().slice(0, 10));
    expect(days).toEqual(['2024-01-05', '2024-01-12', '2024-01-13']);
    const missed = scheduleTimes('* * * * *', 'Etc/UTC').missed(Date.parse('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T05:00:30Z'));
    expect(missed.count).toBeGreaterThan(MAX_MISSED_START_TIMES);
    expect(new Date(missed.mostRecent!).toISOString()).toBe('2024-01-01T05:00:00.000Z');
    expect(() => scheduleTimes('0 0 * * *', 'Mars/Olympus')).toThrow(/spec.timeZone: unknown time zone Mars\/Olympus/);
  });

  it('attack - a schedule that never fires, or decades of missed minutes, is walked a bounded number of steps', () => {
    // February 30th never comes: no next time, no missed time, and no endless search
    const never = scheduleTimes('0 0 30 2 *', 'Etc/UTC');
    expect(never.next(Date.parse('2024-01-01T00:00:00Z'))).toBeUndefined();
    expect(never.missed(Date.parse('2000-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z'))).toEqual({ mostRecent: undefined, count: 0 });
    // every minute since 2000: counting stops past the limit, the most recent time is found directly
    const minutely = scheduleTimes('* * * * *', 'Europe/Berlin').missed(Date.parse('2000-01-01T00:00:00Z'), Date.parse('2026-06-01T12:34:56Z'));
    expect(minutely).toEqual({ mostRecent: Date.parse('2026-06-01T12:34:00Z'), count: MAX_MISSED_START_TIMES + 1 });
  });
});

function cronJobYaml(name: string, schedule: string, extra = ''): string {
  return `apiVersion: batch/v1
kind: CronJob
metadata:
  name: ${name}
spec:
  schedule: "${schedule}"
  timeZone: Etc/UTC
${extra
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => `  ${line}`)
  .join('\n')}
  jobTemplate:
    metadata:
      labels:
        from: ${name}
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: tick
            image: busybox:1.36
            command: ["true"]
`;
}

interface JobView {
  metadata: { name: string; uid: string; annotations?: Record<string, string>; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }> };
}

async function jobsOf(name: string): Promise<JobView[]> {
  return (JSON.parse(await cluster.run(['get', 'jobs', '-l', `from=${name}`, '-o', 'json'])) as { items: JobView[] }).items.filter(
    (job) => (job.metadata as { deletionTimestamp?: string }).deletionTimestamp === undefined,
  );
}

let nudges = 0;
/** Moves the fake clock to `at` and makes the controller look (a CronJob edit re-queues it). */
async function moveClock(name: string, at: number): Promise<void> {
  clock = at;
  await cluster.run(['annotate', 'cronjob', name, `test/nudge=${++nudges}`, '--overwrite']);
}

async function finishJob(job: string, type: 'Complete' | 'Failed'): Promise<void> {
  const at = new Date(clock).toISOString().replace(/\.\d+Z$/, 'Z');
  const status = { conditions: [{ type, status: 'True', lastTransitionTime: at }], ...(type === 'Complete' ? { completionTime: at, succeeded: 1 } : { failed: 1 }) };
  await cluster.run(['patch', 'job', job, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
}

/** The next 5-minute boundary after the real now, plus 10 s: a time no CronJob here has run for yet. */
function nextSlot(after: number, periodMinutes: number): number {
  const period = periodMinutes * MINUTE;
  return Math.floor(after / period) * period + period;
}

describe('cronjob controller', () => {
  it('cronjob - at its scheduled time a job named after the minute is created with the scheduled-timestamp annotation', async () => {
    clock = Date.now();
    await cluster.run(['apply', '-f', '-'], cronJobYaml('tick', '*/5 * * * *'));
    await cluster.controllers.idle();
    expect(await jobsOf('tick')).toHaveLength(0);
    const slot = nextSlot(Date.now(), 5);
    await moveClock('tick', slot + 10_000);
    await waitFor(async () => (await jobsOf('tick')).length === 1, 'one job');
    const [job] = await jobsOf('tick');
    expect(job?.metadata.name).toBe(`tick-${slot / MINUTE}`);
    expect(job?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']).toBe(new Date(slot).toISOString().replace(/\.\d+Z$/, 'Z'));
    expect(job?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'tick', controller: true });
    await waitFor(async () => (await cluster.getJson('cronjob', 'tick'))['status']?.active?.length === 1, 'status.active');
    const status = (await cluster.getJson('cronjob', 'tick'))['status'];
    expect(status.active[0]).toMatchObject({ kind: 'Job', name: job?.metadata.name, uid: job?.metadata.uid });
    expect(status.lastScheduleTime).toBe(new Date(slot).toISOString().replace(/\.\d+Z$/, 'Z'));
    // the same time again creates nothing more
    await moveClock('tick', slot + 20_000);
    await cluster.controllers.idle();
    expect(await jobsOf('tick')).toHaveLength(1);
  });

  it('cronjob - Forbid skips a run while the previous is active and starts it late once that finishes', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 5) + 5 * MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('forbid', '*/5 * * * *', 'concurrencyPolicy: Forbid'));
    await moveClock('forbid', start + 1_000);
    await waitFor(async () => (await jobsOf('forbid')).length === 1, 'the first job');
    await moveClock('forbid', start + 5 * MINUTE + 1_000);
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobsOf('forbid')).toHaveLength(1);
    await finishJob(`forbid-${start / MINUTE}`, 'Complete');
    await waitFor(async () => (await jobsOf('forbid')).some((job) => job.metadata.name === `forbid-${(start + 5 * MINUTE) / MINUTE}`), 'the late second job');
    const status = (await cluster.getJson('cronjob', 'forbid'))['status'];
    expect(status.lastSuccessfulTime).toBeDefined();
    const events = await cluster.run(['get', 'events', '--field-selector', 'involvedObject.name=forbid', '-o', 'jsonpath={.items[*].reason}']);
    expect(events).toContain('SawCompletedJob');
  });

  it('cronjob - Replace deletes the running job and starts the new one', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 5) + 5 * MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('replace', '*/5 * * * *', 'concurrencyPolicy: Replace'));
    await moveClock('replace', start + 1_000);
    await waitFor(async () => (await jobsOf('replace')).length === 1, 'the first job');
    await moveClock('replace', start + 5 * MINUTE + 1_000);
    await waitFor(async () => {
      const names = (await jobsOf('replace')).map((job) => job.metadata.name);
      return names.length === 1 && names[0] === `replace-${(start + 5 * MINUTE) / MINUTE}`;
    }, 'only the second job');
  });

  it('cronjob - after a long outage: one job for the most recent time and a TooManyMissedTimes warning', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 1) + MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('missed', '* * * * *'));
    await moveClock('missed', start + 200 * MINUTE + 5_000);
    await waitFor(async () => (await jobsOf('missed')).length === 1, 'one job');
    expect((await jobsOf('missed'))[0]?.metadata.name).toBe(jobNameFor({ metadata: { name: 'missed' } }, start + 200 * MINUTE));
    const selector = 'involvedObject.name=missed,reason=TooManyMissedTimes';
    await waitFor(async () => (await cluster.run(['get', 'events', '--field-selector', selector, '-o', 'name'])).trim() !== '', 'the warning');
  });

  it('cronjob - startingDeadlineSeconds: a start missed by more than the deadline is not made up', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 60) + 60 * MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('strict', '0 * * * *', 'startingDeadlineSeconds: 60'));
    await moveClock('strict', start + 5 * MINUTE);
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobsOf('strict')).toHaveLength(0);
    await moveClock('strict', start + 60 * MINUTE + 30_000);
    await waitFor(async () => (await jobsOf('strict')).length === 1, 'the next hour runs');
  });

  it('cronjob - history limits keep the newest successful and failed jobs', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 5) + 5 * MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('history', '*/5 * * * *', 'successfulJobsHistoryLimit: 1\nfailedJobsHistoryLimit: 1'));
    const outcomes: Array<'Complete' | 'Failed'> = ['Complete', 'Failed', 'Complete', 'Failed'];
    for (const [round, outcome] of outcomes.entries()) {
      const at = start + round * 5 * MINUTE;
      await moveClock('history', at + 1_000);
      const name = `history-${at / MINUTE}`;
      await waitFor(async () => (await jobsOf('history')).some((job) => job.metadata.name === name), `job ${name}`);
      await finishJob(name, outcome);
    }
    await moveClock('history', start + 3 * 5 * MINUTE + 2_000);
    await waitFor(async () => (await jobsOf('history')).length === 2, 'two jobs left');
    expect((await jobsOf('history')).map((job) => job.metadata.name).sort()).toEqual([`history-${(start + 10 * MINUTE) / MINUTE}`, `history-${(start + 15 * MINUTE) / MINUTE}`]);
  });

  it('cronjob - suspend: no jobs while suspended', async () => {
    clock = Date.now();
    const start = nextSlot(clock, 5) + 5 * MINUTE;
    await cluster.run(['apply', '-f', '-'], cronJobYaml('sleepy', '*/5 * * * *', 'suspend: true'));
    await moveClock('sleepy', start + 1_000);
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobsOf('sleepy')).toHaveLength(0);
  });

  it('cronjob - the API server refuses a TZ prefix and an unknown time zone, naming the field', async () => {
    const prefixed = await cluster.kubectl(['apply', '-f', '-'], { input: cronJobYaml('tz', 'CRON_TZ=UTC 0 * * * *') });
    expect(prefixed.code).not.toBe(0);
    expect(prefixed.stderr).toContain('spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
    const zone = await cluster.kubectl(['apply', '-f', '-'], { input: cronJobYaml('tz', '0 * * * *').replace('Etc/UTC', 'Mars/Olympus') });
    expect(zone.stderr).toContain('spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus');
  });
});
