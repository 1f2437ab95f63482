// batch/v1 Job and CronJob, after upstream pkg/apis/batch/validation, reduced to what the Job and
// CronJob controllers rely on: counts, completion mode, the pod template (restartPolicy OnFailure or
// Never), the selector and its match with the template labels, podFailurePolicy rules, the schedule
// and time zone, and what an update may not change. Runs on defaulted objects.
import { CronScheduleError, isKnownTimeZone, isRecord, parseCronSchedule } from '@kedge/kube-core';
import type { JsonObject } from '../json';
import type { FieldError } from './field-error';
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, pathChild, pathIndex } from './field-error';
import { validateAnnotations, validateLabels, validateObjectMeta } from './object-meta';
import { validatePodSpec } from './pod';
import { own, readArray, readBoolean, readInteger, readObject, readString, readStringMap } from './read';
import { isEmptySelector, readLabelSelector, selectorMatches } from './workload-selector';

const COMPLETION_MODES = ['NonIndexed', 'Indexed'];
const JOB_RESTART_POLICIES = ['OnFailure', 'Never'];
const POD_FAILURE_ACTIONS = ['FailJob', 'FailIndex', 'Ignore', 'Count'];
const EXIT_CODE_OPERATORS = ['In', 'NotIn'];
const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace'];
/** a CronJob's name leaves room for the 11-character suffix of its Jobs (upstream: 52) */
const CRONJOB_NAME_MAX = 52;
/** upstream's limit on completions of an Indexed Job */
const MAX_INDEXED_COMPLETIONS = 100_000;

function nonNegative(value: unknown, path: string, errs: FieldError[]): number | undefined {
  const number = readInteger(value, path, errs);
  if (number !== undefined && number < 0) errs.push(fieldInvalid(path, number, 'must be greater than or equal to 0'));
  return number;
}

function validatePodFailurePolicy(value: unknown, path: string, restartPolicy: unknown, restartPolicyPath: string, errs: FieldError[]): void {
  const policy = readObject(value, path, errs);
  if (policy === undefined) return;
  if (restartPolicy !== 'Never') errs.push(fieldInvalid(restartPolicyPath, restartPolicy ?? '', 'only "Never" is supported when podFailurePolicy is specified'));
  const rulesPath = pathChild(path, 'rules');
  (readArray(policy['rules'], rulesPath, errs) ?? []).forEach((item, index) => {
    const rulePath = pathIndex(rulesPath, index);
    const rule = readObject(item, rulePath, errs);
    if (rule === undefined) return;
    const action = readString(rule['action'], pathChild(rulePath, 'action'), errs);
    if (action === undefined || action === '') errs.push(fieldRequired(pathChild(rulePath, 'action')));
    else if (!POD_FAILURE_ACTIONS.includes(action)) errs.push(fieldNotSupported(pathChild(rulePath, 'action'), action, POD_FAILURE_ACTIONS));
    const exitCodes = readObject(rule['onExitCodes'], pathChild(rulePath, 'onExitCodes'), errs);
    const conditions = readArray(rule['onPodConditions'], pathChild(rulePath, 'onPodConditions'), errs);
    if (exitCodes !== undefined && conditions !== undefined && conditions.length > 0) {
      errs.push(fieldInvalid(rulePath, 'specifying both OnExitCodes and OnPodConditions is not supported', 'specifying both OnExitCodes and OnPodConditions is not supported'));
    }
    if (exitCodes === undefined && (conditions === undefined || conditions.length === 0)) {
      errs.push(fieldInvalid(rulePath, 'specifying one of OnExitCodes and OnPodConditions is required', 'specifying one of OnExitCodes and OnPodConditions is required'));
    }
    if (exitCodes !== undefined) {
      const codesPath = pathChild(rulePath, 'onExitCodes');
      const operator = readString(exitCodes['operator'], pathChild(codesPath, 'operator'), errs);
      if (operator === undefined || !EXIT_CODE_OPERATORS.includes(operator)) errs.push(fieldNotSupported(pathChild(codesPath, 'operator'), operator ?? '', EXIT_CODE_OPERATORS));
      const values = readArray(exitCodes['values'], pathChild(codesPath, 'values'), errs) ?? [];
      if (values.length === 0) errs.push(fieldInvalid(pathChild(codesPath, 'values'), values, 'at least one value is required'));
      values.forEach((code, at) => {
        const number = readInteger(code, pathIndex(pathChild(codesPath, 'values'), at), errs);
        if (number === 0 && operator === 'In') errs.push(fieldInvalid(pathIndex(pathChild(codesPath, 'values'), at), 0, 'must not be 0 for the In operator'));
      });
    }
    (conditions ?? []).forEach((item, at) => {
      const conditionPath = pathIndex(pathChild(rulePath, 'onPodConditions'), at);
      const condition = readObject(item, conditionPath, errs);
      if (condition === undefined) return;
      const type = readString(condition['type'], pathChild(conditionPath, 'type'), errs);
      if (type === undefined || type === '') errs.push(fieldRequired(pathChild(conditionPath, 'type')));
      const status = readString(condition['status'], pathChild(conditionPath, 'status'), errs);
      if (status !== undefined && !['True', 'False', 'Unknown'].includes(status)) errs.push(fieldNotSupported(pathChild(conditionPath, 'status'), status, ['True', 'False', 'Unknown']));
    });
  });
}

/** A Job spec at `path` (`spec`, or `spec.jobTemplate.spec` of a CronJob). `needsSelector`: a Job, whose selector is defaulted. */
export function validateJobSpec(spec: JsonObject, path: string, needsSelector: boolean, errs: FieldError[]): void {
  const field = (name: string): string => pathChild(path, name);
  nonNegative(spec['parallelism'], field('parallelism'), errs);
  const completions = nonNegative(spec['completions'], field('completions'), errs);
  nonNegative(spec['backoffLimit'], field('backoffLimit'), errs);
  const deadline = readInteger(spec['activeDeadlineSeconds'], field('activeDeadlineSeconds'), errs);
  if (deadline !== undefined && deadline <= 0) errs.push(fieldInvalid(field('activeDeadlineSeconds'), deadline, 'must be greater than 0'));
  nonNegative(spec['ttlSecondsAfterFinished'], field('ttlSecondsAfterFinished'), errs);
  readBoolean(spec['suspend'], field('suspend'), errs);
  const manualSelector = readBoolean(spec['manualSelector'], field('manualSelector'), errs);
  const mode = readString(spec['completionMode'], field('completionMode'), errs);
  if (mode !== undefined && !COMPLETION_MODES.includes(mode)) errs.push(fieldNotSupported(field('completionMode'), mode, COMPLETION_MODES));
  if (mode === 'Indexed') {
    if (completions === undefined) errs.push(fieldRequired(field('completions'), 'when completion mode is Indexed'));
    else if (completions > MAX_INDEXED_COMPLETIONS) errs.push(fieldInvalid(field('completions'), completions, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
  }
  let selector: ReturnType<typeof readLabelSelector>;
  const selectorValue = own(spec, 'selector');
  if (selectorValue === undefined || selectorValue === null) {
    if (needsSelector) errs.push(fieldRequired(field('selector')));
  } else {
    const before = errs.length;
    selector = readLabelSelector(selectorValue, field('selector'), errs);
    if (selector !== undefined && isEmptySelector(selector) && needsSelector) errs.push(fieldInvalid(field('selector'), selectorValue, 'empty selector is invalid for job'));
    if (errs.length !== before) selector = undefined;
  }
  if (manualSelector === true && selectorValue === undefined) errs.push(fieldRequired(field('selector'), 'when manualSelector is true'));
  const templatePath = field('template');
  const template = readObject(own(spec, 'template'), templatePath, errs);
  if (template === undefined) {
    errs.push(fieldRequired(templatePath));
    return;
  }
  const metadata = readObject(own(template, 'metadata'), pathChild(templatePath, 'metadata'), errs) ?? {};
  const labelsPath = pathChild(pathChild(templatePath, 'metadata'), 'labels');
  errs.push(...validateLabels(metadata['labels'], labelsPath));
  errs.push(...validateAnnotations(metadata['annotations'], pathChild(pathChild(templatePath, 'metadata'), 'annotations')));
  if (selector !== undefined && !isEmptySelector(selector) && !selectorMatches(selector, readStringMap(metadata['labels'], labelsPath, []))) {
    errs.push(fieldInvalid(labelsPath, metadata['labels'] ?? {}, '`selector` does not match template `labels`'));
  }
  const podSpecPath = pathChild(templatePath, 'spec');
  validatePodSpec(own(template, 'spec'), podSpecPath, errs);
  const podSpec = isRecord(own(template, 'spec')) ? (own(template, 'spec') as JsonObject) : {};
  const restartPolicy = podSpec['restartPolicy'];
  if (typeof restartPolicy !== 'string' || !JOB_RESTART_POLICIES.includes(restartPolicy)) {
    errs.push(fieldNotSupported(pathChild(podSpecPath, 'restartPolicy'), restartPolicy ?? '', JOB_RESTART_POLICIES));
  }
  validatePodFailurePolicy(spec['podFailurePolicy'], field('podFailurePolicy'), restartPolicy, pathChild(podSpecPath, 'restartPolicy'), errs);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Field errors of a Job (metadata included); `previous` is the stored object on update. */
export function validateJob(object: unknown, previous?: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldInvalid('', object, 'must be an object')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: true, kind: 'Job' });
  const spec = readObject(own(object, 'spec'), 'spec', errs) ?? {};
  validateJobSpec(spec, 'spec', true, errs);
  if (isRecord(previous)) {
    const before = (isRecord(own(previous, 'spec')) ? own(previous, 'spec') : {}) as JsonObject;
    for (const field of ['selector', 'completionMode', 'podFailurePolicy', 'manualSelector']) {
      if (!sameJson(own(spec, field), own(before, field))) errs.push(fieldInvalid(`spec.${field}`, own(spec, field) ?? null, 'field is immutable'));
    }
    // completions may change only together with parallelism on an Indexed Job (elastic Indexed Jobs)
    if (!sameJson(own(spec, 'completions'), own(before, 'completions')) && !(spec['completionMode'] === 'Indexed' && spec['completions'] === spec['parallelism'])) {
      errs.push(fieldInvalid('spec.completions', own(spec, 'completions') ?? null, 'field is immutable'));
    }
    if (!sameJson(own(spec, 'template'), own(before, 'template'))) errs.push(fieldInvalid('spec.template', own(spec, 'template') ?? null, 'field is immutable'));
  }
  const status = readObject(own(object, 'status'), 'status', errs);
  if (status !== undefined) for (const field of ['active', 'succeeded', 'failed', 'ready', 'terminating']) nonNegative(status[field], `status.${field}`, errs);
  return errs;
}

/** Field errors of a CronJob (metadata included). */
export function validateCronJob(object: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldInvalid('', object, 'must be an object')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: true, kind: 'CronJob' });
  const name = isRecord(own(object, 'metadata')) ? (own(object, 'metadata') as JsonObject)['name'] : undefined;
  if (typeof name === 'string' && name.length > CRONJOB_NAME_MAX) errs.push(fieldInvalid('metadata.name', name, `must be no more than ${CRONJOB_NAME_MAX} characters`));
  const spec = readObject(own(object, 'spec'), 'spec', errs) ?? {};
  const schedule = readString(spec['schedule'], 'spec.schedule', errs);
  if (schedule === undefined || schedule === '') errs.push(fieldRequired('spec.schedule'));
  else {
    try {
      parseCronSchedule(schedule);
    } catch (error) {
      if (!(error instanceof CronScheduleError)) throw error;
      errs.push(fieldInvalid('spec.schedule', schedule, error.message));
    }
  }
  const timeZone = readString(spec['timeZone'], 'spec.timeZone', errs);
  if (timeZone !== undefined && !isKnownTimeZone(timeZone)) {
    errs.push(fieldInvalid('spec.timeZone', timeZone, timeZone.toLowerCase() === 'local' ? 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones' : `unknown time zone ${timeZone}`));
  }
  const policy = readString(spec['concurrencyPolicy'], 'spec.concurrencyPolicy', errs);
  if (policy === undefined || policy === '') errs.push(fieldRequired('spec.concurrencyPolicy'));
  else if (!CONCURRENCY_POLICIES.includes(policy)) errs.push(fieldNotSupported('spec.concurrencyPolicy', policy, CONCURRENCY_POLICIES));
  nonNegative(spec['startingDeadlineSeconds'], 'spec.startingDeadlineSeconds', errs);
  nonNegative(spec['successfulJobsHistoryLimit'], 'spec.successfulJobsHistoryLimit', errs);
  nonNegative(spec['failedJobsHistoryLimit'], 'spec.failedJobsHistoryLimit', errs);
  readBoolean(spec['suspend'], 'spec.suspend', errs);
  const jobTemplate = readObject(own(spec, 'jobTemplate'), 'spec.jobTemplate', errs);
  if (jobTemplate === undefined) errs.push(fieldRequired('spec.jobTemplate'));
  else {
    const templateMetadata = readObject(own(jobTemplate, 'metadata'), 'spec.jobTemplate.metadata', errs) ?? {};
    errs.push(...validateLabels(templateMetadata['labels'], 'spec.jobTemplate.metadata.labels'));
    errs.push(...validateAnnotations(templateMetadata['annotations'], 'spec.jobTemplate.metadata.annotations'));
    const jobSpec = readObject(own(jobTemplate, 'spec'), 'spec.jobTemplate.spec', errs);
    if (jobSpec === undefined) errs.push(fieldRequired('spec.jobTemplate.spec'));
    else validateJobSpec(jobSpec, 'spec.jobTemplate.spec', false, errs);
  }
  return errs;
}

/** apps/v1 ControllerRevision: data is any object, revision a non-negative integer; both immutable. */
export function validateControllerRevision(object: unknown, previous?: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldInvalid('', object, 'must be an object')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: true, kind: 'ControllerRevision' });
  const revision = own(object, 'revision');
  if (revision === undefined || revision === null) errs.push(fieldRequired('revision'));
  else nonNegative(revision, 'revision', errs);
  readObject(own(object, 'data'), 'data', errs);
  if (isRecord(previous) && !sameJson(own(object, 'data'), own(previous, 'data'))) errs.push(fieldForbidden('data', 'field is immutable'));
  return errs;
}
