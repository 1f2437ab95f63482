// batch/v1 Job and CronJob with kube-apiserver's defaults and its Job strategy: unless
// spec.manualSelector is true, a new Job gets the generated selector
// `batch.kubernetes.io/controller-uid=<uid>` and its template the labels the Job controller and
// kubectl look pods up by. The Job and CronJob controllers (@kedge/controllers) run them.
import { isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { cronJobTable, jobTable } from '../tables';
import { toStatusCauses, validateCronJob, validateJob } from '../validation';
import { defineBuiltin } from './builtin-type';
import { defaultPodSpec } from './core-resources';
import type { ResourceType } from './resource-type';

export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';
const DEFAULT_BACKOFF_LIMIT = 6;
const MAX_INT32 = 2_147_483_647;

function defaultTemplatePodSpec(jobSpec: Record<string, unknown>): void {
  const podSpec = recordAt(jobSpec, ['template', 'spec']);
  if (podSpec !== undefined) defaultPodSpec(podSpec);
}

/** SetDefaults_Job of batch/v1. */
function defaultJob(object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec === undefined) return;
  if (spec['completions'] === undefined && spec['parallelism'] === undefined) {
    spec['completions'] = 1;
    spec['parallelism'] = 1;
  }
  spec['parallelism'] ??= 1;
  spec['backoffLimit'] ??= spec['backoffLimitPerIndex'] === undefined ? DEFAULT_BACKOFF_LIMIT : MAX_INT32;
  spec['completionMode'] ??= 'NonIndexed';
  spec['suspend'] ??= false;
  spec['podReplacementPolicy'] ??= spec['podFailurePolicy'] === undefined ? 'TerminatingOrFailed' : 'Failed';
  defaultTemplatePodSpec(spec);
}

/** The Job strategy's generateSelector: the uid selector, and the template labels pods are found by. */
function generateSelector(object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec === undefined || spec['manualSelector'] === true) return;
  const uid = object.metadata.uid ?? '';
  const name = object.metadata.name ?? '';
  const template = isRecord(spec['template']) ? spec['template'] : (spec['template'] = {});
  const metadata = isRecord(template['metadata']) ? template['metadata'] : (template['metadata'] = {});
  const labels = isRecord(metadata['labels']) ? metadata['labels'] : (metadata['labels'] = {});
  labels[LEGACY_CONTROLLER_UID_LABEL] ??= uid;
  labels[LEGACY_JOB_NAME_LABEL] ??= name;
  labels[JOB_CONTROLLER_UID_LABEL] = uid;
  labels[JOB_NAME_LABEL] = name;
  spec['selector'] = { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
}

/** SetDefaults_CronJob of batch/v1 (and the pod defaults of its template). */
function defaultCronJob(object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec === undefined) return;
  spec['concurrencyPolicy'] ??= 'Allow';
  spec['suspend'] ??= false;
  spec['successfulJobsHistoryLimit'] ??= 3;
  spec['failedJobsHistoryLimit'] ??= 1;
  const jobSpec = recordAt(spec, ['jobTemplate', 'spec']);
  if (jobSpec !== undefined) defaultTemplatePodSpec(jobSpec);
}

export function batchResources(): ResourceType[] {
  return [
    defineBuiltin({
      group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true, categories: ['all'],
      subresources: ['status'], table: jobTable,
      prepareForCreate: (object) => {
        // generateName is resolved later; a Job created with it gets its name label on the controller's first look
        defaultJob(object);
        generateSelector(object);
        const templateLabels = recordAt(object, ['spec', 'template', 'metadata', 'labels']);
        if (Object.keys(object.metadata.labels ?? {}).length === 0 && templateLabels !== undefined) {
          object.metadata.labels = Object.fromEntries(Object.entries(templateLabels).filter(([, value]) => typeof value === 'string')) as Record<string, string>;
        }
        object['status'] = {};
      },
      prepareForUpdate: (next, _previous, context) => {
        if (context.subresource === '') defaultJob(next);
      },
      validate: (object, previous) => toStatusCauses(validateJob(object, previous)),
    }),
    defineBuiltin({
      group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, shortNames: ['cj'], categories: ['all'],
      subresources: ['status'], table: cronJobTable,
      prepareForCreate: (object) => {
        defaultCronJob(object);
        object['status'] = {};
      },
      prepareForUpdate: (next, _previous, context) => {
        if (context.subresource === '') defaultCronJob(next);
      },
      validate: (object) => toStatusCauses(validateCronJob(object)),
    }),
  ];
}
