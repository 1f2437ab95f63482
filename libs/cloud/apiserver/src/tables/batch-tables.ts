// Columns of `kubectl get` for Jobs, CronJobs and ControllerRevisions, following
// kubernetes/pkg/printers/internalversion/printers.go (printJob, printCronJob, printControllerRevision).
import { AGE_COLUMN, arrayAt, column, humanAge, humanDuration, isRecord, NAME_COLUMN, recordAt, stringAt, type KubeObject, type TableConverter } from '@kedge/kube-core';
import { formatLabelSelector } from './workload-tables';

function numberAt(object: KubeObject, path: string[]): number | undefined {
  const parent = recordAt(object, path.slice(0, -1));
  const value = parent?.[path[path.length - 1] ?? ''];
  return typeof value === 'number' ? value : undefined;
}

function hasCondition(object: KubeObject, type: string): boolean {
  return arrayAt(object, ['status', 'conditions']).filter(isRecord).some((condition) => condition['type'] === type && condition['status'] === 'True');
}

/** printJob's STATUS column (kubectl 1.30+). */
function jobStatus(object: KubeObject): string {
  if (hasCondition(object, 'Failed')) return 'Failed';
  if (hasCondition(object, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(object, 'Complete')) return 'Complete';
  if (hasCondition(object, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (hasCondition(object, 'Suspended')) return 'Suspended';
  if (object.metadata.deletionTimestamp) return 'Terminating';
  return 'Running';
}

function templateContainers(spec: Record<string, unknown> | undefined): Record<string, unknown>[] {
  return spec === undefined ? [] : arrayAt(spec, ['template', 'spec', 'containers']).filter(isRecord);
}

const CONTAINERS_COLUMN = column('Containers', 'Names of each container in the template.', { priority: 1 });
const IMAGES_COLUMN = column('Images', 'Images referenced by each container in the template.', { priority: 1 });

export const jobTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Status', 'Status of the job.'),
    column('Completions', 'The desired number of successfully finished pods the job should be run with.'),
    column('Duration', 'Time required to complete the job.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'A label query over pods that should match the pod count.', { priority: 1 }),
  ],
  cells: (object, now) => {
    const completions = numberAt(object, ['spec', 'completions']);
    const parallelism = numberAt(object, ['spec', 'parallelism']) ?? 1;
    const succeeded = numberAt(object, ['status', 'succeeded']) ?? 0;
    const shown = completions !== undefined ? `${succeeded}/${completions}` : parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    const start = stringAt(object, ['status', 'startTime']);
    const end = stringAt(object, ['status', 'completionTime']);
    const duration = start === undefined ? '' : humanDuration((end === undefined ? now.getTime() : Date.parse(end)) - Date.parse(start));
    const containers = templateContainers(recordAt(object, ['spec']));
    return [
      object.metadata.name ?? '',
      jobStatus(object),
      shown,
      duration,
      humanAge(object.metadata.creationTimestamp, now),
      containers.map((container) => String(container['name'] ?? '')).join(','),
      containers.map((container) => String(container['image'] ?? '')).join(','),
      formatLabelSelector(recordAt(object, ['spec', 'selector'])),
    ];
  },
};

export const cronJobTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Schedule', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
    column('Timezone', 'The time zone name for the given schedule.'),
    column('Suspend', 'This flag tells the controller to suspend subsequent executions.'),
    column('Active', 'A list of pointers to currently running jobs.', { type: 'integer' }),
    column('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'A label query over pods that should match the pod count.', { priority: 1 }),
  ],
  cells: (object, now) => {
    const last = stringAt(object, ['status', 'lastScheduleTime']);
    const jobSpec = recordAt(object, ['spec', 'jobTemplate', 'spec']);
    const containers = templateContainers(jobSpec);
    return [
      object.metadata.name ?? '',
      stringAt(object, ['spec', 'schedule']) ?? '',
      stringAt(object, ['spec', 'timeZone']) ?? '<none>',
      recordAt(object, ['spec'])?.['suspend'] === true ? 'True' : 'False',
      arrayAt(object, ['status', 'active']).length,
      last === undefined ? '<none>' : humanAge(last, now),
      humanAge(object.metadata.creationTimestamp, now),
      containers.map((container) => String(container['name'] ?? '')).join(','),
      containers.map((container) => String(container['image'] ?? '')).join(','),
      formatLabelSelector(recordAt(jobSpec ?? {}, ['selector'])),
    ];
  },
};

export const controllerRevisionTable: TableConverter = {
  columns: [NAME_COLUMN, column('Controller', 'Controller of the object.'), column('Revision', 'Revision of the ControllerRevision.', { type: 'integer' }), AGE_COLUMN],
  cells: (object, now) => {
    const owner = (object.metadata.ownerReferences ?? []).find((reference) => reference.controller === true);
    const [group] = (owner?.apiVersion ?? '').split('/');
    return [
      object.metadata.name ?? '',
      owner === undefined ? '<none>' : `${owner.kind.toLowerCase()}.${owner.apiVersion.includes('/') ? group : ''}/${owner.name}`.replace('./', '/'),
      typeof object['revision'] === 'number' ? object['revision'] : 0,
      humanAge(object.metadata.creationTimestamp, now),
    ];
  },
};
