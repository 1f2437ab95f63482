// Columns of the apps/v1 workloads, leases and CRDs, following kubernetes/pkg/printers/internalversion/printers.go
// (pods, nodes and the core/v1 kinds are @kedge/kube-core's, shared with MetaServer).
import { AGE_COLUMN, arrayAt, column, formatTimestamp, humanAge, isRecord, NAME_COLUMN, recordAt, stringAt, type KubeObject, type TableConverter } from '@kedge/kube-core';

export const leaseTable: TableConverter = {
  columns: [NAME_COLUMN, column('Holder', 'The holder of the lease'), AGE_COLUMN],
  cells: (object, now) => [object.metadata.name ?? '', stringAt(object, ['spec', 'holderIdentity']) ?? '', humanAge(object.metadata.creationTimestamp, now)],
};

export const customResourceDefinitionTable: TableConverter = {
  columns: [NAME_COLUMN, column('Created At', 'The time the CRD was created', { type: 'date' })],
  cells: (object) => {
    const created = object.metadata.creationTimestamp;
    return [object.metadata.name ?? '', created === undefined ? '<unknown>' : formatTimestamp(new Date(created))];
  },
};

// apps/v1 workloads (printDeployment, printReplicaSet, printDaemonSet, printStatefulSet upstream).

const count = (object: KubeObject, field: string): number => {
  const value = recordAt(object, ['status'])?.[field];
  return typeof value === 'number' ? value : 0;
};

const desiredReplicas = (object: KubeObject): number => {
  const value = recordAt(object, ['spec'])?.['replicas'];
  return typeof value === 'number' ? value : 0;
};

function templateContainers(object: KubeObject): Record<string, unknown>[] {
  return arrayAt(object, ['spec', 'template', 'spec', 'containers']).filter(isRecord);
}

const containerNames = (object: KubeObject): string => templateContainers(object).map((container) => String(container['name'] ?? '')).join(',');
const containerImages = (object: KubeObject): string => templateContainers(object).map((container) => String(container['image'] ?? '')).join(',');

/** A LabelSelector as kubectl prints it: `app=web,tier in (a,b),!legacy`, requirements sorted by key. */
export function formatLabelSelector(selector: unknown): string {
  if (!isRecord(selector)) return '<none>';
  const requirements: [key: string, text: string][] = [];
  for (const [key, value] of Object.entries(recordAt(selector, ['matchLabels']) ?? {})) requirements.push([key, `${key}=${String(value)}`]);
  for (const expression of arrayAt(selector, ['matchExpressions']).filter(isRecord)) {
    const key = String(expression['key'] ?? '');
    const values = arrayAt(expression, ['values']).map(String).sort().join(',');
    const operator = expression['operator'];
    if (operator === 'In') requirements.push([key, `${key} in (${values})`]);
    else if (operator === 'NotIn') requirements.push([key, `${key} notin (${values})`]);
    else if (operator === 'Exists') requirements.push([key, key]);
    else if (operator === 'DoesNotExist') requirements.push([key, `!${key}`]);
  }
  if (requirements.length === 0) return '<none>';
  return requirements
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, text]) => text)
    .join(',');
}

const CONTAINERS_COLUMN = column('Containers', 'Names of each container in the template.', { priority: 1 });
const IMAGES_COLUMN = column('Images', 'Images referenced by each container in the template.', { priority: 1 });
const SELECTOR_COLUMN = column('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', { priority: 1 });

export const deploymentTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'Number of the pod with ready state'),
    column('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', { type: 'integer' }),
    column('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', { type: 'integer' }),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  cells: (object, now) => [
    object.metadata.name ?? '',
    `${count(object, 'readyReplicas')}/${desiredReplicas(object)}`,
    count(object, 'updatedReplicas'),
    count(object, 'availableReplicas'),
    humanAge(object.metadata.creationTimestamp, now),
    containerNames(object),
    containerImages(object),
    formatLabelSelector(recordAt(object, ['spec', 'selector'])),
  ],
};

export const replicaSetTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'Number of desired pods', { type: 'integer' }),
    column('Current', 'Number of actually running pods', { type: 'integer' }),
    column('Ready', 'Number of ready pods', { type: 'integer' }),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', { priority: 1 }),
  ],
  cells: (object, now) => [
    object.metadata.name ?? '',
    desiredReplicas(object),
    count(object, 'replicas'),
    count(object, 'readyReplicas'),
    humanAge(object.metadata.creationTimestamp, now),
    containerNames(object),
    containerImages(object),
    formatLabelSelector(recordAt(object, ['spec', 'selector'])),
  ],
};

export const daemonSetTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).', { type: 'integer' }),
    column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
    column('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', { type: 'integer' }),
    column('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
    column('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', { type: 'integer' }),
    column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node\'s labels for the pod to be scheduled on that node.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template\'s labels.', { priority: 1 }),
  ],
  cells: (object, now) => {
    const nodeSelector = Object.entries(recordAt(object, ['spec', 'template', 'spec', 'nodeSelector']) ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(',');
    return [
      object.metadata.name ?? '',
      count(object, 'desiredNumberScheduled'),
      count(object, 'currentNumberScheduled'),
      count(object, 'numberReady'),
      count(object, 'updatedNumberScheduled'),
      count(object, 'numberAvailable'),
      nodeSelector === '' ? '<none>' : nodeSelector,
      humanAge(object.metadata.creationTimestamp, now),
      containerNames(object),
      containerImages(object),
      formatLabelSelector(recordAt(object, ['spec', 'selector'])),
    ];
  },
};

export const statefulSetTable: TableConverter = {
  columns: [NAME_COLUMN, column('Ready', 'Number of the pod with ready state'), AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN],
  cells: (object, now) => [
    object.metadata.name ?? '',
    `${count(object, 'readyReplicas')}/${desiredReplicas(object)}`,
    humanAge(object.metadata.creationTimestamp, now),
    containerNames(object),
    containerImages(object),
  ],
};
