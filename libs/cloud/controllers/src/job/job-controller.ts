// The Job controller (upstream pkg/controller/job, reduced): runs pods from the template until
// `completions` succeed (NonIndexed, or one per index when Indexed), at most `parallelism` at a time;
// fails the Job past backoffLimit, activeDeadlineSeconds or a podFailurePolicy FailJob rule; honours
// suspend; deletes a finished Job after ttlSecondsAfterFinished (upstream's TTL-after-finished
// controller). Finished pods are counted exactly once through the tracking finalizer and
// status.uncountedTerminatedPods. A pod on an edge node whose link is down keeps its last reported
// status and so stays active: it is never run a second time unless its node is deleted.
import type { V1Pod } from '@kubernetes/client-node';
import { isConflict, isNotFound, mergePatch, rfc3339, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { Job, JobStatus, Pod } from '../objects';
import { controllerOf, createdAt, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { claimPods, podFromTemplate, PodControl } from '../pod-control';
import { isPodReady } from '../pod-state';
import { compileLabelSelector } from '../selectors';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { Expectations } from '../runtime/expectations';
import {
  JOB_CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  JOB_TRACKING_FINALIZER,
  LEGACY_CONTROLLER_UID_LABEL,
  classifyPods,
  hasFinalizer,
  LEGACY_JOB_NAME_LABEL,
  completionIndexOf,
  formatIndexes,
  indexedPodParts,
  isIndexed,
  parseIndexes,
  restartsOnFailure,
} from './job-pods';
import { conditionTrue, finishedAt, isFinished, sameStatus, statusPatch, withCondition } from './job-status';

const BURST = 500;

export interface JobControllerOptions {
  /** delay before replacing failed pods: base doubling per failure up to max (upstream 10 s and 6 min) */
  podFailureBackoff: { baseMs: number; maxMs: number };
}


export class JobController {
  readonly queue: WorkQueue;
  private readonly expectations: Expectations;
  private readonly pods: PodControl;
  /** per Job uid: when its last counted failure was seen, for the replacement backoff */
  private readonly lastFailureAt = new Map<string, number>();

  constructor(
    private readonly context: ControllerContext,
    private readonly options: JobControllerOptions,
  ) {
    this.expectations = new Expectations(context.now);
    this.pods = new PodControl(context.core);
    this.queue = createControllerQueue(context, 'job', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const job = context.informers.jobs.get(name, namespace);
      return job === undefined ? undefined : { kind: 'Job', apiVersion: 'batch/v1', object: job };
    });
    context.informers.jobs.subscribe((event, job) => {
      if (event === 'delete') {
        this.expectations.forget(keyOf(job));
        this.lastFailureAt.delete(job.metadata?.uid ?? '');
      }
      this.queue.add(keyOf(job));
    });
    context.informers.pods.subscribe((event, pod, previous) => {
      const owner = controllerOf(pod);
      if (owner?.kind === 'Job') {
        const ownerKey = `${namespaceOf(pod)}/${owner.name}`;
        if (event === 'add') this.expectations.creationObserved(ownerKey);
        if (event === 'delete' || (isDeleting(pod) && previous !== undefined && !isDeleting(previous))) this.expectations.deletionObserved(ownerKey, keyOf(pod));
        this.queue.add(ownerKey);
      } else if (owner === undefined && event !== 'delete') {
        for (const job of context.informers.jobs.list(namespaceOf(pod))) if (job.spec?.manualSelector === true) this.queue.add(keyOf(job));
      }
    });
    // a deleted node is "declared gone": its Jobs may now replace the pods it held
    context.informers.nodes.subscribe((event) => {
      if (event === 'delete') for (const job of context.informers.jobs.list()) if (!isFinished(job)) this.queue.add(keyOf(job));
    });
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const job = this.context.informers.jobs.get(name, namespace);
    if (job === undefined) return;
    const uid = job.metadata?.uid ?? '';
    const owned = this.context.informers.pods.list(namespace).filter((pod) => controllerOf(pod)?.uid === uid);
    if (isDeleting(job) || isFinished(job)) {
      // nothing will count these any more: let them go (the garbage collector or TTL removes them)
      await this.releaseFinalizers(owned.filter(hasFinalizer));
      return isDeleting(job) ? undefined : this.expireAfterFinished(job);
    }
    const matches = compileLabelSelector(job.spec?.selector, 'spec.selector');
    const candidates = this.context.informers.pods.list(namespace).filter((pod) => controllerOf(pod)?.uid === uid || (controllerOf(pod) === undefined && !isDeleting(pod)));
    const claimed = await claimPods(this.pods, job, 'Job', candidates, (pod) => matches(pod.metadata?.labels), 'batch/v1');
    const state = classifyPods(job, claimed, (node) => this.context.informers.nodes.get(node) !== undefined);
    const now = this.context.now();
    const nowText = rfc3339(new Date(now));

    // 1. count what finished, exactly once: uncounted first, then release the pods, then the counters
    let current = job;
    const uncountedSucceeded = new Set(job.status?.uncountedTerminatedPods?.succeeded ?? []);
    const uncountedFailed = new Set(job.status?.uncountedTerminatedPods?.failed ?? []);
    const completed = parseIndexes(job.status?.completedIndexes);
    const completions = job.spec?.completions;
    let addedUncounted = false;
    for (const pod of state.newSucceeded) {
      const podUid = pod.metadata?.uid ?? '';
      if (!uncountedSucceeded.has(podUid)) {
        uncountedSucceeded.add(podUid);
        addedUncounted = true;
      }
      const index = isIndexed(job) ? completionIndexOf(pod, completions ?? 0) : undefined;
      if (index !== undefined) completed.add(index);
    }
    for (const pod of state.newFailed) {
      const podUid = pod.metadata?.uid ?? '';
      if (!uncountedFailed.has(podUid)) {
        uncountedFailed.add(podUid);
        addedUncounted = true;
      }
    }
    const baseStatus = (): JobStatus => ({ ...(current.status ?? {}), ...(isIndexed(job) ? { completedIndexes: formatIndexes(completed) } : {}) });
    if (addedUncounted) {
      current = await this.writeStatus(current, { ...baseStatus(), uncountedTerminatedPods: { succeeded: [...uncountedSucceeded], failed: [...uncountedFailed] } });
    }
    await this.releaseFinalizers([...state.newSucceeded, ...state.newFailed, ...state.release]);
    let succeeded = (job.status?.succeeded ?? 0) + uncountedSucceeded.size;
    const failed = (job.status?.failed ?? 0) + uncountedFailed.size;
    if (isIndexed(job)) succeeded = completed.size;
    if (state.newFailed.length > 0) this.lastFailureAt.set(uid, now);

    // 2. decide: failed, complete, suspended, or running
    const backoffLimit = job.spec?.backoffLimit ?? 6;
    const restarts = restartsOnFailure(job, state.active);
    const startTime = job.spec?.suspend === true ? undefined : (job.status?.startTime ?? nowText);
    const deadline = job.spec?.activeDeadlineSeconds;
    const deadlineAt = deadline !== undefined && startTime !== undefined ? Date.parse(startTime) + deadline * 1000 : undefined;
    let failure = state.failure;
    if (failure === undefined && (failed > backoffLimit || (restarts > 0 && restarts >= backoffLimit))) failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    if (failure === undefined && deadlineAt !== undefined && now >= deadlineAt) failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    const complete =
      failure === undefined &&
      (isIndexed(job) ? completed.size >= (completions ?? 0) : completions === undefined ? succeeded > 0 && state.active.length === 0 : succeeded >= completions);

    let conditions = [...(job.status?.conditions ?? [])];
    let requeueAfterMs: number | undefined;
    let active = state.active;
    if (failure !== undefined || complete) {
      await this.deletePods(job, active, true);
      active = [];
      if (failure !== undefined) {
        conditions = withCondition(conditions, { type: 'FailureTarget', status: 'True', ...failure }, nowText);
        conditions = withCondition(conditions, { type: 'Failed', status: 'True', ...failure }, nowText);
        this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Warning', failure.reason, failure.message);
        this.context.logger.info({ job: key, reason: failure.reason, failed }, 'job failed');
      } else {
        conditions = withCondition(conditions, { type: 'Complete', status: 'True', reason: '', message: '' }, nowText);
        this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Normal', 'Completed', 'Job completed');
        this.context.logger.info({ job: key, succeeded }, 'job completed');
      }
    } else if (job.spec?.suspend === true) {
      await this.deletePods(job, active, false);
      active = [];
      if (!conditionTrue(job, 'Suspended')) {
        conditions = withCondition(conditions, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, nowText);
        this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Normal', 'Suspended', 'Job suspended');
      }
    } else {
      if (conditionTrue(job, 'Suspended')) {
        conditions = withCondition(conditions, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, nowText);
        this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Normal', 'Resumed', 'Job resumed');
      }
      if (state.nodeGone.length > 0) await Promise.all(state.nodeGone.map((pod) => this.pods.delete(pod, true)));
      if (this.expectations.satisfied(key)) {
        const waitMs = this.backoffRemaining(uid, failed, now);
        if (waitMs > 0) requeueAfterMs = waitMs;
        else active = await this.manageActive(key, job, active, state.terminating, succeeded, completed);
      }
      if (deadlineAt !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, Math.max(0, deadlineAt - now) + 10);
    }

    // 3. the counters, with the uncounted pods moved in
    const finishedNow = failure !== undefined || complete;
    const next: JobStatus = {
      ...baseStatus(),
      active: active.length,
      ready: active.filter(isPodReady).length,
      terminating: state.terminating.length,
      succeeded,
      failed,
      conditions: conditions.length > 0 ? conditions : undefined,
      startTime: startTime ?? undefined,
      completionTime: complete ? nowText : (job.status?.completionTime ?? undefined),
      uncountedTerminatedPods: {},
    };
    if (next.conditions === undefined) delete next.conditions;
    if (next.startTime === undefined) delete next.startTime;
    if (next.completionTime === undefined) delete next.completionTime;
    if (!sameStatus(current.status, next)) current = await this.writeStatus(current, next);
    if (finishedNow && job.spec?.ttlSecondsAfterFinished !== undefined) return { requeueAfterMs: job.spec.ttlSecondsAfterFinished * 1000 + 10 };
    return requeueAfterMs === undefined || !Number.isFinite(requeueAfterMs) ? undefined : { requeueAfterMs };
  }


  /** How long until failed pods may be replaced: base * 2^(failures-1), capped, from the last failure. */
  private backoffRemaining(uid: string, failed: number, now: number): number {
    const last = this.lastFailureAt.get(uid);
    if (last === undefined || failed === 0) return 0;
    const delay = Math.min(this.options.podFailureBackoff.baseMs * 2 ** Math.min(failed - 1, 30), this.options.podFailureBackoff.maxMs);
    return Math.max(0, last + delay - now);
  }

  private async manageActive(key: string, job: Job, active: Pod[], terminating: Pod[], succeeded: number, completed: Set<number>): Promise<Pod[]> {
    const parallelism = job.spec?.parallelism ?? 1;
    const completions = job.spec?.completions;
    // podReplacementPolicy Failed: a terminating pod holds its slot until it has finished
    const holding = job.spec?.podReplacementPolicy === 'Failed' ? terminating.length : 0;
    if (isIndexed(job)) return this.manageIndexed(key, job, active, holding, completed);
    const wanted = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : Math.max(0, Math.min(parallelism, completions - succeeded));
    const diff = active.length + holding - wanted;
    if (diff > 0) {
      const victims = [...active].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || createdAt(b).localeCompare(createdAt(a))).slice(0, Math.min(diff, BURST));
      await this.deletePods(job, victims, true);
      return active.filter((pod) => !victims.includes(pod));
    }
    if (diff < 0) await this.createPods(key, job, Array.from({ length: Math.min(-diff, BURST) }, () => undefined));
    return active;
  }

  private async manageIndexed(key: string, job: Job, active: Pod[], holding: number, completed: Set<number>): Promise<Pod[]> {
    const completions = job.spec?.completions ?? 0;
    const parallelism = job.spec?.parallelism ?? 1;
    const byIndex = new Map<number, Pod[]>();
    const extras: Pod[] = [];
    for (const pod of active) {
      const index = completionIndexOf(pod, completions);
      // a pod without a valid index, or for an index already done, is of no use
      if (index === undefined || completed.has(index)) extras.push(pod);
      else byIndex.set(index, [...(byIndex.get(index) ?? []), pod]);
    }
    for (const pods of byIndex.values()) extras.push(...[...pods].sort((a, b) => createdAt(a).localeCompare(createdAt(b))).slice(1));
    const running = byIndex.size + holding;
    const missing: number[] = [];
    for (let index = 0; index < completions && missing.length < Math.max(0, parallelism - running) && missing.length < BURST; index++) {
      if (!completed.has(index) && !byIndex.has(index)) missing.push(index);
    }
    if (extras.length > 0) await this.deletePods(job, extras, true);
    if (missing.length > 0) await this.createPods(key, job, missing);
    return active.filter((pod) => !extras.includes(pod));
  }

  /** Creates one pod per entry (an Indexed Job's index, or undefined), in slow-start batches like the ReplicaSet controller. */
  private async createPods(key: string, job: Job, indexes: Array<number | undefined>): Promise<void> {
    this.expectations.expect(key, indexes.length, []);
    let done = 0;
    for (let batch = 1; done < indexes.length; batch *= 2) {
      const slice = indexes.slice(done, done + batch);
      const results = await Promise.allSettled(slice.map((index) => this.createPod(job, index)));
      done += slice.length;
      const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failures.length > 0) {
        for (let i = 0; i < failures.length + (indexes.length - done); i++) this.expectations.creationObserved(key);
        throw failures[0]?.reason;
      }
    }
  }

  private async createPod(job: Job, index: number | undefined): Promise<void> {
    const name = nameOf(job);
    const uid = job.metadata?.uid ?? '';
    const jobLabels = { [JOB_CONTROLLER_UID_LABEL]: uid, [JOB_NAME_LABEL]: name, [LEGACY_CONTROLLER_UID_LABEL]: uid, [LEGACY_JOB_NAME_LABEL]: name };
    const templateLabels = job.spec?.template?.metadata?.labels ?? {};
    // a manual selector's template may lack these labels; never overwrite what the template says
    const labels = Object.fromEntries(Object.entries(jobLabels).filter(([label]) => job.spec?.manualSelector !== true || templateLabels[label] === undefined));
    const parts = index === undefined ? undefined : indexedPodParts(job, index);
    const template = job.spec?.template;
    const pod = podFromTemplate(job, 'Job', template, {
      apiVersion: 'batch/v1',
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      labels: { ...labels, ...(parts?.labels ?? {}) },
      ...(parts === undefined ? {} : { annotations: parts.annotations }),
      finalizers: [JOB_TRACKING_FINALIZER],
      ...(parts === undefined
        ? {}
        : { spec: { hostname: parts.hostname, containers: parts.withEnv(template?.spec?.containers), ...(template?.spec?.initContainers === undefined ? {} : { initContainers: parts.withEnv(template.spec.initContainers) }) } }),
    });
    try {
      const created = await this.context.core.createNamespacedPod({ namespace: namespaceOf(job), body: pod as V1Pod });
      this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
    } catch (error) {
      this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Warning', 'FailedCreate', `Error creating: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async deletePods(job: Job, pods: Pod[], emit: boolean): Promise<void> {
    const live = pods.filter((pod) => !isDeleting(pod));
    if (live.length === 0) return;
    this.expectations.expect(keyOf(job), 0, live.map(keyOf));
    await Promise.all(live.map((pod) => this.pods.delete(pod)));
    if (emit) for (const pod of live) this.context.events.emit({ kind: 'Job', apiVersion: 'batch/v1', object: job }, 'Normal', 'SuccessfulDelete', `Deleted pod: ${nameOf(pod)}`);
  }

  /** Drops the tracking finalizer; the resourceVersion makes each a compare-and-swap. */
  private async releaseFinalizers(pods: Pod[]): Promise<void> {
    await Promise.all(
      pods.filter(hasFinalizer).map(async (pod) => {
        const finalizers = (pod.metadata?.finalizers ?? []).filter((finalizer) => finalizer !== JOB_TRACKING_FINALIZER);
        try {
          await this.context.core.patchNamespacedPod(
            { name: nameOf(pod), namespace: namespaceOf(pod), body: { metadata: { resourceVersion: pod.metadata?.resourceVersion, finalizers } } },
            mergePatch(),
          );
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }),
    );
  }

  private async writeStatus(job: Job, status: JobStatus): Promise<Job> {
    try {
      const written = await this.context.batch.patchNamespacedJobStatus(
        { name: nameOf(job), namespace: namespaceOf(job), body: { metadata: { resourceVersion: job.metadata?.resourceVersion }, status: statusPatch(job.status, status) } },
        mergePatch(),
      );
      return { ...job, metadata: { ...job.metadata, resourceVersion: written.metadata?.resourceVersion ?? job.metadata?.resourceVersion }, status };
    } catch (error) {
      if (isNotFound(error)) return job;
      throw error;
    }
  }

  /** ttlSecondsAfterFinished: delete the finished Job and, in the foreground, its pods (upstream's TTL controller). */
  private async expireAfterFinished(job: Job): Promise<ReconcileOutcome> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    const finished = finishedAt(job);
    if (ttl === undefined || finished === undefined) return;
    const expiresAt = finished + ttl * 1000;
    const now = this.context.now();
    if (now < expiresAt) return { requeueAfterMs: expiresAt - now + 10 };
    try {
      await this.context.batch.deleteNamespacedJob({
        name: nameOf(job),
        namespace: namespaceOf(job),
        propagationPolicy: 'Foreground',
        body: { preconditions: { uid: job.metadata?.uid, resourceVersion: job.metadata?.resourceVersion } },
      });
      this.context.logger.info({ job: keyOf(job), ttlSecondsAfterFinished: ttl }, 'deleted finished job after its TTL');
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }
}
