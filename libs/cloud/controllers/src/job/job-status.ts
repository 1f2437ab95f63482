// A Job's status: conditions (Complete, FailureTarget, Failed, Suspended), the merge patch that
// replaces a status (explicit nulls for fields that went away), and when a Job finished.
import type { Condition, Job, JobStatus } from '../objects';

export function conditionTrue(job: Job, type: string): boolean {
  return (job.status?.conditions ?? []).some((condition) => condition.type === type && condition.status === 'True');
}

export function isFinished(job: Job): boolean {
  return conditionTrue(job, 'Complete') || conditionTrue(job, 'Failed');
}

/** When a finished Job finished: completionTime, or the Failed condition's transition. */
export function finishedAt(job: Job): number | undefined {
  const failed = (job.status?.conditions ?? []).find((condition) => condition.type === 'Failed' && condition.status === 'True');
  const at = job.status?.completionTime ?? failed?.lastTransitionTime;
  const parsed = at === undefined || at === null ? NaN : Date.parse(at);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Sets a condition; its lastTransitionTime moves only when the status changes (probe time always). */
export function withCondition(conditions: Condition[], next: { type: string; status: string; reason: string; message: string }, now: string): Condition[] {
  const previous = conditions.find((condition) => condition.type === next.type);
  if (previous !== undefined && previous.status === next.status && previous.reason === next.reason && previous.message === next.message) return conditions;
  const merged: Condition = {
    ...next,
    lastProbeTime: now,
    lastTransitionTime: previous?.status === next.status ? (previous.lastTransitionTime ?? now) : now,
  };
  return previous === undefined ? [...conditions, merged] : conditions.map((condition) => (condition === previous ? merged : condition));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON merge patch turning `current` into `next`: fields missing from next become null, nested objects too. */
export function mergePatchBetween(current: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(next)) {
    if (value === undefined) continue;
    const before = current[field];
    patch[field] = isPlainObject(value) && isPlainObject(before) ? mergePatchBetween(before, value) : value;
  }
  for (const field of Object.keys(current)) if (next[field] === undefined) patch[field] = null;
  return patch;
}

export function statusPatch(current: JobStatus | undefined, next: JobStatus): Record<string, unknown> {
  return mergePatchBetween((current ?? {}) as Record<string, unknown>, next as Record<string, unknown>);
}

export function sameStatus(current: JobStatus | undefined, next: JobStatus): boolean {
  const normalize = (status: JobStatus | undefined): string =>
    JSON.stringify(
      Object.entries(status ?? {})
        .filter(([, value]) => value !== undefined && value !== null)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  return normalize(current) === normalize(next);
}
