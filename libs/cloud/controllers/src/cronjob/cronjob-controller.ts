// The CronJob controller (upstream pkg/controller/cronjob, v2): at each scheduled time (in
// spec.timeZone) creates the Job `<cronjob>-<scheduled minutes since the epoch>` from jobTemplate,
// honouring suspend, concurrencyPolicy (Allow, Forbid, Replace) and startingDeadlineSeconds; keeps
// status.active, lastScheduleTime and lastSuccessfulTime; deletes finished Jobs beyond the history
// limits. The clock is the controller context's `now`, so tests drive it.
import type { V1Job } from '@kubernetes/client-node';
import { httpStatusOf, isConflict, isNotFound, mergePatch, rfc3339, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { CronJob, Job, ObjectReference } from '../objects';
import { controllerOf, createdAt, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { controllerReference } from '../pod-control';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { conditionTrue, finishedAt, isFinished, mergePatchBetween } from '../job/job-status';
import { MAX_MISSED_START_TIMES, scheduleTimes } from './schedule-times';

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** kubectl create job --from=cronjob/<name> marks its Job with this */
export const INSTANTIATE_ANNOTATION = 'cronjob.kubernetes.io/instantiate';

/** Upstream's Job name for a scheduled time: minutes since the epoch, so a retry finds the same Job. */
export function jobNameFor(cronJob: CronJob, scheduledAt: number): string {
  return `${nameOf(cronJob)}-${Math.floor(scheduledAt / 60_000)}`;
}

function reference(job: Job): ObjectReference {
  return { apiVersion: 'batch/v1', kind: 'Job', name: nameOf(job), namespace: namespaceOf(job), uid: job.metadata?.uid ?? '', resourceVersion: job.metadata?.resourceVersion ?? '' };
}

export class CronJobController {
  readonly queue: WorkQueue;

  constructor(private readonly context: ControllerContext) {
    this.queue = createControllerQueue(context, 'cronjob', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const cronJob = context.informers.cronJobs.get(name, namespace);
      return cronJob === undefined ? undefined : { kind: 'CronJob', apiVersion: 'batch/v1', object: cronJob };
    });
    context.informers.cronJobs.subscribe((_event, cronJob) => this.queue.add(keyOf(cronJob)));
    context.informers.jobs.subscribe((_event, job) => {
      const owner = controllerOf(job);
      if (owner?.kind === 'CronJob') this.queue.add(`${namespaceOf(job)}/${owner.name}`);
    });
  }

  private target(cronJob: CronJob): { kind: string; apiVersion: string; object: CronJob } {
    return { kind: 'CronJob', apiVersion: 'batch/v1', object: cronJob };
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const cronJob = this.context.informers.cronJobs.get(name, namespace);
    if (cronJob === undefined) return;
    const uid = cronJob.metadata?.uid ?? '';
    const jobs = this.context.informers.jobs.list(namespace).filter((job) => controllerOf(job)?.uid === uid);
    const now = this.context.now();

    // 1. status.active follows the Jobs: finished ones leave it, running ones we own join it
    const byUid = new Map(jobs.map((job) => [job.metadata?.uid ?? '', job]));
    let active: ObjectReference[] = [];
    let lastSuccessful = cronJob.status?.lastSuccessfulTime;
    for (const ref of cronJob.status?.active ?? []) {
      const job = byUid.get(ref.uid ?? '');
      if (job === undefined) continue;
      if (isFinished(job)) {
        const condition = conditionTrue(job, 'Complete') ? 'Complete' : 'Failed';
        this.context.events.emit(this.target(cronJob), 'Normal', 'SawCompletedJob', `Saw completed job: ${nameOf(job)}, condition: ${condition}`);
        continue;
      }
      active.push(ref);
    }
    for (const job of jobs) {
      if (!isFinished(job) && !isDeleting(job) && !active.some((ref) => ref.uid === job.metadata?.uid)) active.push(reference(job));
      if (conditionTrue(job, 'Complete')) {
        const at = finishedAt(job);
        if (at !== undefined && (lastSuccessful === undefined || at > Date.parse(lastSuccessful))) lastSuccessful = rfc3339(new Date(at));
      }
    }
    let lastSchedule = cronJob.status?.lastScheduleTime;
    let requeueAfterMs: number | undefined;

    if (!isDeleting(cronJob)) {
      const times = scheduleTimes(cronJob.spec?.schedule ?? '', cronJob.spec?.timeZone);
      await this.removeOldJobs(cronJob, jobs);
      const next = times.next(now);
      if (next !== undefined) requeueAfterMs = next - now + 100;
      if (cronJob.spec?.suspend !== true) {
        const scheduled = await this.runDue(cronJob, times, jobs, active, now);
        if (scheduled !== undefined) {
          active = scheduled.active;
          lastSchedule = scheduled.lastScheduleTime ?? lastSchedule;
        }
      }
    }

    const status: Record<string, unknown> = {
      ...(active.length > 0 ? { active } : {}),
      ...(lastSchedule === undefined ? {} : { lastScheduleTime: lastSchedule }),
      ...(lastSuccessful === undefined ? {} : { lastSuccessfulTime: lastSuccessful }),
    };
    const current = (cronJob.status ?? {}) as Record<string, unknown>;
    if (JSON.stringify(Object.entries(current).sort()) !== JSON.stringify(Object.entries(status).sort())) {
      try {
        await this.context.batch.patchNamespacedCronJobStatus(
          { name, namespace, body: { metadata: { resourceVersion: cronJob.metadata?.resourceVersion }, status: mergePatchBetween(current, status) } },
          mergePatch(),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** Starts the Job of the most recent missed time, if the policies allow; returns the new active list. */
  private async runDue(
    cronJob: CronJob,
    times: ReturnType<typeof scheduleTimes>,
    jobs: Job[],
    active: ObjectReference[],
    now: number,
  ): Promise<{ active: ObjectReference[]; lastScheduleTime?: string } | undefined> {
    const last = cronJob.status?.lastScheduleTime;
    let earliest = last === undefined ? Date.parse(createdAt(cronJob)) : Date.parse(last);
    const deadline = cronJob.spec?.startingDeadlineSeconds;
    if (deadline !== undefined) earliest = Math.max(earliest, now - deadline * 1000);
    const { mostRecent, count } = times.missed(earliest, now);
    if (count > MAX_MISSED_START_TIMES) {
      this.context.events.emit(this.target(cronJob), 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
      this.context.logger.warn({ cronjob: keyOf(cronJob), missed: `> ${MAX_MISSED_START_TIMES}` }, 'too many missed start times');
    }
    if (mostRecent === undefined) return undefined;
    if (deadline !== undefined && mostRecent + deadline * 1000 < now) {
      this.context.events.emit(this.target(cronJob), 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${times.format(mostRecent)}`);
      return undefined;
    }
    const jobName = jobNameFor(cronJob, mostRecent);
    if (jobs.some((job) => nameOf(job) === jobName) || active.some((ref) => ref.name === jobName)) return undefined;
    const policy = cronJob.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && active.length > 0) {
      // upstream: the run waits (and may still start late, within startingDeadlineSeconds)
      this.context.logger.debug({ cronjob: keyOf(cronJob), job: jobName }, 'not starting: the previous run is still active and concurrencyPolicy is Forbid');
      return undefined;
    }
    let remaining = active;
    if (policy === 'Replace') {
      for (const ref of active) {
        await this.deleteJob(cronJob, ref.name ?? '', ref.uid);
      }
      remaining = [];
    }
    const created = await this.createJob(cronJob, jobName, mostRecent, times.format(mostRecent));
    return { active: created === undefined ? remaining : [...remaining, created], lastScheduleTime: rfc3339(new Date(mostRecent)) };
  }

  private async createJob(cronJob: CronJob, jobName: string, scheduledAt: number, scheduledText: string): Promise<ObjectReference | undefined> {
    const template = cronJob.spec?.jobTemplate ?? {};
    const body = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        namespace: namespaceOf(cronJob),
        labels: { ...(template.metadata?.labels ?? {}) },
        annotations: { ...(template.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: scheduledText },
        ownerReferences: [controllerReference(cronJob, 'CronJob', 'batch/v1')],
      },
      spec: JSON.parse(JSON.stringify(template.spec ?? {})) as unknown,
    };
    try {
      const created = await this.context.batch.createNamespacedJob({ namespace: namespaceOf(cronJob), body: body as V1Job });
      this.context.events.emit(this.target(cronJob), 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
      this.context.logger.info({ cronjob: keyOf(cronJob), job: jobName, scheduledAt: new Date(scheduledAt).toISOString() }, 'cronjob started a job');
      return { apiVersion: 'batch/v1', kind: 'Job', name: jobName, namespace: namespaceOf(cronJob), uid: created.metadata?.uid ?? '', resourceVersion: created.metadata?.resourceVersion ?? '' };
    } catch (error) {
      // our cache was behind: the Job exists; the informer brings it and the next pass counts it
      if (httpStatusOf(error) === 409) return undefined;
      this.context.events.emit(this.target(cronJob), 'Warning', 'FailedCreate', `Error creating job: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async deleteJob(cronJob: CronJob, jobName: string, uid: string | undefined): Promise<void> {
    try {
      await this.context.batch.deleteNamespacedJob({ name: jobName, namespace: namespaceOf(cronJob), propagationPolicy: 'Background', body: { preconditions: { uid } } });
      this.context.events.emit(this.target(cronJob), 'Normal', 'SuccessfulDelete', `Deleted job ${jobName}`);
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  /** successfulJobsHistoryLimit / failedJobsHistoryLimit: the oldest finished Jobs beyond them go. */
  private async removeOldJobs(cronJob: CronJob, jobs: Job[]): Promise<void> {
    const finished = jobs.filter((job) => isFinished(job) && !isDeleting(job));
    const oldestFirst = (list: Job[]): Job[] => [...list].sort((a, b) => (finishedAt(a) ?? 0) - (finishedAt(b) ?? 0) || createdAt(a).localeCompare(createdAt(b)));
    const limits: Array<[Job[], number]> = [
      [finished.filter((job) => conditionTrue(job, 'Complete')), cronJob.spec?.successfulJobsHistoryLimit ?? 3],
      [finished.filter((job) => conditionTrue(job, 'Failed')), cronJob.spec?.failedJobsHistoryLimit ?? 1],
    ];
    for (const [list, limit] of limits) {
      const extra = oldestFirst(list).slice(0, Math.max(0, list.length - limit));
      for (const job of extra) await this.deleteJob(cronJob, nameOf(job), job.metadata?.uid);
    }
  }
}
