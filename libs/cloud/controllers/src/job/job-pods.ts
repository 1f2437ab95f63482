// What the Job controller reads from and writes onto its pods, after upstream pkg/controller/job:
// the tracking finalizer, completion indexes (annotation, label, env, hostname), the interval form of
// status.completedIndexes, and podFailurePolicy rules matched against a failed pod.
import type { Container, Job, Pod, PodFailurePolicyRule } from '../objects';
import { isDeleting, nameOf, namespaceOf } from '../objects';

/** Keeps a finished pod until the controller has counted it in the Job's status (upstream, 1.26+). */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

export function isIndexed(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

/** The pod's completion index, or undefined when it has none or it is out of range. */
export function completionIndexOf(pod: Pod, completions: number): number | undefined {
  const text = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? pod.metadata?.labels?.[COMPLETION_INDEX_ANNOTATION];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const index = Number(text);
  return index < completions ? index : undefined;
}

/** "0-2,4,6-7" → {0,1,2,4,6,7}; anything unreadable is skipped (the controller rewrites it). */
export function parseIndexes(text: string | undefined): Set<number> {
  const indexes = new Set<number>();
  for (const part of (text ?? '').split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) continue;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let index = first; index <= last && index - first < 1_000_000; index++) indexes.add(index);
  }
  return indexes;
}

export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let at = 0; at < sorted.length; ) {
    let end = at;
    while (end + 1 < sorted.length && sorted[end + 1] === (sorted[end] as number) + 1) end++;
    parts.push(end === at ? `${sorted[at]}` : `${sorted[at]}-${sorted[end]}`);
    at = end + 1;
  }
  return parts.join(',');
}

/** Index-specific parts of an Indexed Job's pod: the annotation and label, the env on every container, the hostname. */
export function indexedPodParts(job: Job, index: number): { labels: Record<string, string>; annotations: Record<string, string>; hostname: string; withEnv: (containers: Container[] | undefined) => Container[] | undefined } {
  const env = { name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } };
  return {
    labels: { [COMPLETION_INDEX_ANNOTATION]: String(index) },
    annotations: { [COMPLETION_INDEX_ANNOTATION]: String(index) },
    hostname: `${nameOf(job)}-${index}`,
    withEnv: (containers) =>
      containers?.map((container) => {
        const existing = Array.isArray(container['env']) ? (container['env'] as Array<{ name?: string }>) : [];
        return existing.some((variable) => variable.name === COMPLETION_INDEX_ENV) ? container : { ...container, env: [...existing, env] };
      }),
  };
}

export interface FailurePolicyMatch {
  action: string;
  message: string;
}

function exitCodeMatch(rule: PodFailurePolicyRule, pod: Pod): { container: string; code: number } | undefined {
  const onExitCodes = rule.onExitCodes;
  if (onExitCodes === undefined) return undefined;
  const values = onExitCodes.values ?? [];
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of statuses) {
    if (onExitCodes.containerName !== undefined && onExitCodes.containerName !== status.name) continue;
    const code = status.state?.terminated?.exitCode;
    // as upstream: only terminated containers, and exit code 0 never matches (a success is not a failure)
    if (code === undefined || code === 0) continue;
    const listed = values.includes(code);
    if (onExitCodes.operator === 'In' ? listed : !listed) return { container: status.name ?? '', code };
  }
  return undefined;
}

/** The first podFailurePolicy rule a failed pod matches (upstream matchPodFailurePolicy). */
export function matchFailurePolicy(job: Job, pod: Pod): FailurePolicyMatch | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  const podName = `${namespaceOf(pod)}/${nameOf(pod)}`;
  for (const [index, rule] of rules.entries()) {
    const action = rule.action ?? '';
    const byCode = exitCodeMatch(rule, pod);
    if (byCode !== undefined) {
      return { action, message: `Container ${byCode.container} for pod ${podName} failed with exit code ${byCode.code} matching ${action} rule at index ${index}` };
    }
    for (const wanted of rule.onPodConditions ?? []) {
      const found = pod.status?.conditions?.find((condition) => condition.type === wanted.type && condition.status === (wanted.status ?? 'True'));
      if (found !== undefined) return { action, message: `Pod ${podName} has condition ${wanted.type} matching ${action} rule at index ${index}` };
    }
  }
  return undefined;
}

/** restartPolicy OnFailure: the kubelet restarts containers in place; upstream counts those restarts against backoffLimit. */
export function restartsOnFailure(job: Job, active: Pod[]): number {
  if (job.spec?.template?.spec?.['restartPolicy'] !== 'OnFailure') return 0;
  let restarts = 0;
  for (const pod of active) {
    for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) restarts += status.restartCount ?? 0;
  }
  return restarts;
}

export interface Failure {
  reason: string;
  message: string;
}

export interface PodsByState {
  active: Pod[];
  terminating: Pod[];
  /** finished, still carrying our finalizer: to count, then release */
  newSucceeded: Pod[];
  newFailed: Pod[];
  /** failed pods a policy says to ignore, and pods of a suspended Job: released without counting */
  release: Pod[];
  /** on a node that no longer exists: nobody will finish or confirm them (PodGC's job upstream) */
  nodeGone: Pod[];
  failure?: Failure;
}

export function hasFinalizer(pod: Pod): boolean {
  return (pod.metadata?.finalizers ?? []).includes(JOB_TRACKING_FINALIZER);
}

/** Sorts a Job's pods: active, terminating, finished and not yet counted, to release uncounted, on a deleted node. */
export function classifyPods(job: Job, pods: Pod[], nodeExists: (name: string) => boolean): PodsByState {
  const state: PodsByState = { active: [], terminating: [], newSucceeded: [], newFailed: [], release: [], nodeGone: [] };
  const suspended = job.spec?.suspend === true;
  const replaceTerminating = job.spec?.podReplacementPolicy !== 'Failed';
  for (const pod of pods) {
    const phase = pod.status?.phase;
    const tracked = hasFinalizer(pod);
    if (phase === 'Succeeded') {
      if (tracked) state.newSucceeded.push(pod);
      continue;
    }
    const terminalFailure = phase === 'Failed' || (isDeleting(pod) && (replaceTerminating || pod.metadata?.['deletionGracePeriodSeconds'] === 0));
    if (isDeleting(pod) && !terminalFailure) {
      state.terminating.push(pod);
      continue;
    }
    if (terminalFailure) {
      if (isDeleting(pod) && phase !== 'Failed') state.terminating.push(pod);
      if (!tracked) continue;
      // pods the controller deleted itself on suspend are not failures
      if (suspended && phase !== 'Failed') {
        state.release.push(pod);
        continue;
      }
      const match = matchFailurePolicy(job, pod);
      if (match?.action === 'Ignore') state.release.push(pod);
      else state.newFailed.push(pod);
      if (match?.action === 'FailJob' && state.failure === undefined) state.failure = { reason: 'PodFailurePolicy', message: match.message };
      continue;
    }
    const nodeName = pod.spec?.nodeName;
    if (nodeName !== undefined && nodeName !== '' && !nodeExists(nodeName)) state.nodeGone.push(pod);
    else state.active.push(pod);
  }
  return state;
}
