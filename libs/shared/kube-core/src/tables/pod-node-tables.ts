// Columns of `kubectl get pods` and `kubectl get nodes`, whose STATUS cells kubectl users read first,
// following kubernetes/pkg/printers/internalversion/printers.go; and the NAME/AGE default for other kinds.
import { arrayAt, isRecord, recordAt, stringAt } from '../objects/json';
import type { KubeObject } from '../objects/kube-object';
import { humanAge } from '../objects/time-format';
import { AGE_COLUMN, NAME_COLUMN, column, type TableConverter } from './table-converter';

type Status = Record<string, unknown>;

function containerStatuses(object: KubeObject, field: 'containerStatuses' | 'initContainerStatuses'): Status[] {
  return arrayAt(object, ['status', field]).filter(isRecord);
}

/** What the STATUS column says for an init container that is still in the way, or undefined when all are done. */
function initContainerReason(object: KubeObject): string | undefined {
  const statuses = containerStatuses(object, 'initContainerStatuses');
  const total = arrayAt(object, ['spec', 'initContainers']).length;
  for (const [index, status] of statuses.entries()) {
    const terminated = recordAt(status, ['state', 'terminated']);
    const waiting = recordAt(status, ['state', 'waiting']);
    if (terminated !== undefined && terminated['exitCode'] === 0) continue;
    if (terminated !== undefined) {
      const reason = typeof terminated['reason'] === 'string' && terminated['reason'] !== '' ? terminated['reason'] : undefined;
      if (reason !== undefined) return `Init:${reason}`;
      return typeof terminated['signal'] === 'number' && terminated['signal'] !== 0
        ? `Init:Signal:${terminated['signal']}`
        : `Init:ExitCode:${String(terminated['exitCode'])}`;
    }
    if (waiting !== undefined && typeof waiting['reason'] === 'string' && waiting['reason'] !== '' && waiting['reason'] !== 'PodInitializing') {
      return `Init:${waiting['reason']}`;
    }
    return `Init:${index}/${total}`;
  }
  return undefined;
}

interface PodSummary {
  ready: number;
  total: number;
  restarts: number;
  lastRestart: string | undefined;
  reason: string;
}

function summarisePod(object: KubeObject): PodSummary {
  const statuses = containerStatuses(object, 'containerStatuses');
  let reason = stringAt(object, ['status', 'reason']) || (stringAt(object, ['status', 'phase']) ?? 'Pending');
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  for (const status of [...containerStatuses(object, 'initContainerStatuses'), ...statuses]) {
    restarts += typeof status['restartCount'] === 'number' ? status['restartCount'] : 0;
    const finished = stringAt(status, ['lastState', 'terminated', 'finishedAt']);
    if (finished !== undefined && (lastRestart === undefined || finished > lastRestart)) lastRestart = finished;
  }
  const initReason = initContainerReason(object);
  if (initReason !== undefined) {
    reason = initReason;
  } else {
    let hasRunning = false;
    for (const status of [...statuses].reverse()) {
      const waiting = recordAt(status, ['state', 'waiting']);
      const terminated = recordAt(status, ['state', 'terminated']);
      if (waiting !== undefined && typeof waiting['reason'] === 'string' && waiting['reason'] !== '') {
        reason = waiting['reason'];
      } else if (terminated !== undefined && typeof terminated['reason'] === 'string' && terminated['reason'] !== '') {
        reason = terminated['reason'];
      } else if (terminated !== undefined) {
        reason =
          typeof terminated['signal'] === 'number' && terminated['signal'] !== 0
            ? `Signal:${terminated['signal']}`
            : `ExitCode:${String(terminated['exitCode'])}`;
      } else if (status['ready'] === true && recordAt(status, ['state', 'running']) !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = 'Running';
  }
  if (object.metadata.deletionTimestamp !== undefined) {
    reason = stringAt(object, ['status', 'reason']) === 'NodeLost' ? 'Unknown' : 'Terminating';
  }
  return { ready, total: arrayAt(object, ['spec', 'containers']).length, restarts, lastRestart, reason };
}

export const podTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE_COLUMN,
    column('IP', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
    column('Node', 'NodeName is a request to schedule this pod onto a specific node.', { priority: 1 }),
    column('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.', { priority: 1 }),
    column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
  ],
  cells: (object, now) => {
    const summary = summarisePod(object);
    const restarts =
      summary.restarts > 0 && summary.lastRestart !== undefined
        ? `${summary.restarts} (${humanAge(summary.lastRestart, now)} ago)`
        : String(summary.restarts);
    const gates = arrayAt(object, ['spec', 'readinessGates']).length;
    return [
      object.metadata.name ?? '',
      `${summary.ready}/${summary.total}`,
      summary.reason,
      restarts,
      humanAge(object.metadata.creationTimestamp, now),
      stringAt(object, ['status', 'podIP']) || '<none>',
      stringAt(object, ['spec', 'nodeName']) || '<none>',
      stringAt(object, ['status', 'nominatedNodeName']) || '<none>',
      gates === 0 ? '<none>' : `0/${gates}`,
    ];
  },
};

function nodeStatus(object: KubeObject): string {
  const ready = arrayAt(object, ['status', 'conditions'])
    .filter(isRecord)
    .find((condition) => condition['type'] === 'Ready');
  let status = 'Unknown';
  if (ready?.['status'] === 'True') status = 'Ready';
  else if (ready?.['status'] === 'False') status = 'NotReady';
  if (recordAt(object, ['spec'])?.['unschedulable'] === true) status += ',SchedulingDisabled';
  return status;
}

function nodeRoles(object: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(object.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) roles.add(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
}

function nodeAddress(object: KubeObject, type: string): string {
  const address = arrayAt(object, ['status', 'addresses'])
    .filter(isRecord)
    .find((entry) => entry['type'] === type);
  return typeof address?.['address'] === 'string' ? address['address'] : '<none>';
}

export const nodeTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    AGE_COLUMN,
    column('Version', 'Kubelet Version reported by the node.'),
    column('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
    column('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.', { priority: 1 }),
    column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
    column('Kernel-Version', 'Kernel Version reported by the node from `uname -r` (e.g. 3.16.0-0.bpo.4-amd64).', { priority: 1 }),
    column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
  ],
  cells: (object, now) => {
    const info = recordAt(object, ['status', 'nodeInfo']) ?? {};
    const text = (key: string): string => (typeof info[key] === 'string' && info[key] !== '' ? info[key] : '<unknown>');
    return [
      object.metadata.name ?? '',
      nodeStatus(object),
      nodeRoles(object),
      humanAge(object.metadata.creationTimestamp, now),
      typeof info['kubeletVersion'] === 'string' ? info['kubeletVersion'] : '',
      nodeAddress(object, 'InternalIP'),
      nodeAddress(object, 'ExternalIP'),
      text('osImage'),
      text('kernelVersion'),
      text('containerRuntimeVersion'),
    ];
  },
};


/** AGE only: the default for kinds without their own printer. */
export const defaultTable: TableConverter = {
  columns: [NAME_COLUMN, AGE_COLUMN],
  cells: (object, now) => [object.metadata.name ?? '', humanAge(object.metadata.creationTimestamp, now)],
};

