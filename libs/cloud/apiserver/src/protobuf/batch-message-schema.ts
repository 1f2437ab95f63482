// Protobuf field numbers of batch/v1 Job and CronJob, the kinds `kubectl create job|cronjob` and
// `kubectl create job --from=cronjob/<name>` send as protobuf; from k8s.io/api/batch/v1/generated.proto.
// Go writes every non-pointer field (as a zero value when unset), so each of those is listed.
import { METADATA, message, s, scalar, type FieldSchema, type MessageSchema } from './message-schema';
import { LABEL_SELECTOR, POD_TEMPLATE_SPEC } from './workload-message-schema';

const pointer = (field: FieldSchema): FieldSchema => ({ ...field, pointer: true });
const time = (name: string): FieldSchema => ({ name, type: { kind: 'time' } });

const POD_FAILURE_POLICY: MessageSchema = {
  1: message('rules', () => ({
    1: s('action'),
    2: message('onExitCodes', () => ({ 1: pointer(s('containerName')), 2: s('operator'), 3: { ...scalar('values', 'int32'), repeated: true } })),
    3: message('onPodConditions', () => ({ 1: s('type'), 2: s('status') }), true),
  }), true),
};

const JOB_SPEC: MessageSchema = {
  1: pointer(scalar('parallelism', 'int32')),
  2: pointer(scalar('completions', 'int32')),
  3: pointer(scalar('activeDeadlineSeconds', 'int64')),
  4: message('selector', () => LABEL_SELECTOR),
  5: pointer(scalar('manualSelector', 'bool')),
  6: message('template', () => POD_TEMPLATE_SPEC),
  7: pointer(scalar('backoffLimit', 'int32')),
  8: pointer(scalar('ttlSecondsAfterFinished', 'int32')),
  9: pointer(s('completionMode')),
  10: pointer(scalar('suspend', 'bool')),
  11: message('podFailurePolicy', () => POD_FAILURE_POLICY),
  12: pointer(scalar('backoffLimitPerIndex', 'int32')),
  13: pointer(scalar('maxFailedIndexes', 'int32')),
  14: pointer(s('podReplacementPolicy')),
  15: pointer(s('managedBy')),
};

const JOB_CONDITION: MessageSchema = { 1: s('type'), 2: s('status'), 3: time('lastProbeTime'), 4: time('lastTransitionTime'), 5: s('reason'), 6: s('message') };

// a client sends an empty status; its counters are non-pointer fields, written as zeros
const JOB_STATUS: MessageSchema = {
  1: message('conditions', () => JOB_CONDITION, true),
  2: time('startTime'),
  3: time('completionTime'),
  4: scalar('active', 'int32'),
  5: scalar('succeeded', 'int32'),
  6: scalar('failed', 'int32'),
  7: s('completedIndexes'),
  9: pointer(scalar('ready', 'int32')),
  10: pointer(s('failedIndexes')),
  11: pointer(scalar('terminating', 'int32')),
};

const CRON_JOB_SPEC: MessageSchema = {
  1: s('schedule'),
  2: pointer(scalar('startingDeadlineSeconds', 'int64')),
  3: s('concurrencyPolicy'),
  4: pointer(scalar('suspend', 'bool')),
  5: message('jobTemplate', () => ({ 1: METADATA, 2: message('spec', () => JOB_SPEC) })),
  6: pointer(scalar('successfulJobsHistoryLimit', 'int32')),
  7: pointer(scalar('failedJobsHistoryLimit', 'int32')),
  8: pointer(s('timeZone')),
};

const CRON_JOB_STATUS: MessageSchema = {
  1: message('active', () => ({ 1: s('kind'), 2: s('namespace'), 3: s('name'), 4: s('uid'), 5: s('apiVersion'), 6: s('resourceVersion'), 7: s('fieldPath') }), true),
  4: time('lastScheduleTime'),
  5: time('lastSuccessfulTime'),
};

export const BATCH_KIND_SCHEMAS: Readonly<Record<string, MessageSchema>> = {
  'batch/v1/Job': { 1: METADATA, 2: message('spec', () => JOB_SPEC), 3: message('status', () => JOB_STATUS) },
  'batch/v1/CronJob': { 1: METADATA, 2: message('spec', () => CRON_JOB_SPEC), 3: message('status', () => CRON_JOB_STATUS) },
};
