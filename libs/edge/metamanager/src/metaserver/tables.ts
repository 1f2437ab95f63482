// Server-side table printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), the way
// kubectl asks for `get` output, so `kubectl get pods` shows READY/STATUS/RESTARTS like against a
// real cluster. Columns follow Kubernetes' own printers, simplified.
import { isPlainObject, type CoreResource, type KubeObject } from '../kube-object';

type Cell = string | number;

interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer';
  format: string;
  description: string;
  priority: number;
}

interface Printer {
  columns: ColumnDefinition[];
  cells: (object: KubeObject, now: number) => Cell[];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function column(name: string, description: string, priority = 0, type: ColumnDefinition['type'] = 'string', format = ''): ColumnDefinition {
  return { name, type, format, description, priority };
}

const NAME = column('Name', 'Name must be unique within a namespace.', 0, 'string', 'name');
const AGE = column('Age', 'Time since the object was created.');

/** Kubernetes' duration.HumanDuration: 45s, 3m20s, 5h, 3d4h, 2y10d... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function age(object: KubeObject, now: number): string {
  const created = Date.parse(String(object.metadata.creationTimestamp ?? ''));
  return Number.isNaN(created) ? '<unknown>' : humanDuration(now - created);
}

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map(record) : [];
}

function text(value: unknown, fallback = '<none>'): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

/** STATUS as kubectl shows it: the waiting/terminated reason of a container wins over the phase. */
function podStatus(pod: KubeObject): string {
  const status = record(pod['status']);
  let reason = text(status['reason'], text(status['phase'], 'Unknown'));
  for (const container of records(status['containerStatuses'])) {
    const state = record(container['state']);
    const waiting = record(state['waiting']);
    const terminated = record(state['terminated']);
    if (typeof waiting['reason'] === 'string' && waiting['reason'] !== '') reason = waiting['reason'];
    else if (typeof terminated['reason'] === 'string' && terminated['reason'] !== '') reason = terminated['reason'];
    else if (isPlainObject(state['terminated'])) {
      const signal = terminated['signal'];
      reason = typeof signal === 'number' && signal !== 0 ? `Signal:${signal}` : `ExitCode:${String(terminated['exitCode'] ?? 0)}`;
    }
  }
  if (typeof pod.metadata.deletionTimestamp === 'string') reason = status['reason'] === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function servicePorts(service: KubeObject): string {
  const ports = records(record(service['spec'])['ports']).map((port) => {
    const node = typeof port['nodePort'] === 'number' ? `:${port['nodePort']}` : '';
    return `${String(port['port'] ?? '')}${node}/${text(port['protocol'], 'TCP')}`;
  });
  return ports.length > 0 ? ports.join(',') : '<none>';
}

function endpointAddresses(endpoints: KubeObject): string {
  const shown: string[] = [];
  for (const subset of records(endpoints['subsets'])) {
    const ports = records(subset['ports']);
    for (const address of records(subset['addresses'])) {
      if (ports.length === 0) shown.push(String(address['ip'] ?? ''));
      for (const port of ports) shown.push(`${String(address['ip'] ?? '')}:${String(port['port'] ?? '')}`);
    }
  }
  if (shown.length === 0) return '<none>';
  return shown.length > 3 ? `${shown.slice(0, 3).join(',')} + ${shown.length - 3} more...` : shown.join(',');
}

function nodeStatus(node: KubeObject): string {
  const ready = records(record(node['status'])['conditions']).find((condition) => condition['type'] === 'Ready');
  let status = ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : 'NotReady';
  if (record(node['spec'])['unschedulable'] === true) status += ',SchedulingDisabled';
  return status;
}

function nodeRoles(node: KubeObject): string {
  const prefix = 'node-role.kubernetes.io/';
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((label) => label.startsWith(prefix))
    .map((label) => label.slice(prefix.length));
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function dataCount(object: KubeObject): number {
  return Object.keys(record(object['data'])).length + Object.keys(record(object['binaryData'])).length;
}

const PRINTERS: Record<string, Printer> = {
  pod: {
    columns: [
      NAME,
      column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'The aggregate status of the containers in this pod.'),
      column('Restarts', 'The number of times the containers in this pod have been restarted.', 0, 'string'),
      AGE,
      column('IP', 'IP address allocated to the pod.', 1),
      column('Node', 'Name of the node the pod is assigned to.', 1),
    ],
    cells(pod, now) {
      const spec = record(pod['spec']);
      const statuses = records(record(pod['status'])['containerStatuses']);
      const total = Array.isArray(spec['containers']) ? spec['containers'].length : statuses.length;
      const ready = statuses.filter((status) => status['ready'] === true).length;
      const restarts = statuses.reduce((sum, status) => sum + (typeof status['restartCount'] === 'number' ? status['restartCount'] : 0), 0);
      const status = record(pod['status']);
      return [pod.metadata.name, `${ready}/${total}`, podStatus(pod), String(restarts), age(pod, now), text(status['podIP']), text(spec['nodeName'])];
    },
  },
  configmap: {
    columns: [NAME, column('Data', 'Number of data entries.', 0, 'integer'), AGE],
    cells: (object, now) => [object.metadata.name, dataCount(object), age(object, now)],
  },
  secret: {
    columns: [NAME, column('Type', 'The type of the secret.'), column('Data', 'Number of data entries.', 0, 'integer'), AGE],
    cells: (object, now) => [object.metadata.name, text(object['type'], 'Opaque'), dataCount(object), age(object, now)],
  },
  service: {
    columns: [
      NAME,
      column('Type', 'The type of the service.'),
      column('Cluster-IP', 'The cluster IP of the service.'),
      column('External-IP', 'The external IPs of the service.'),
      column('Port(s)', 'The ports of the service.'),
      AGE,
    ],
    cells(service, now) {
      const spec = record(service['spec']);
      const external = Array.isArray(spec['externalIPs']) && spec['externalIPs'].length > 0 ? spec['externalIPs'].join(',') : '<none>';
      return [service.metadata.name, text(spec['type'], 'ClusterIP'), text(spec['clusterIP']), external, servicePorts(service), age(service, now)];
    },
  },
  endpoints: {
    columns: [NAME, column('Endpoints', 'The endpoints of the service.'), AGE],
    cells: (object, now) => [object.metadata.name, endpointAddresses(object), age(object, now)],
  },
  node: {
    columns: [NAME, column('Status', 'The status of the node.'), column('Roles', 'The roles of the node.'), AGE, column('Version', 'Kubelet version.')],
    cells(node, now) {
      const kubelet = record(record(record(node['status'])['nodeInfo']))['kubeletVersion'];
      return [node.metadata.name, nodeStatus(node), nodeRoles(node), age(node, now), text(kubelet, '')];
    },
  },
};

/** True when the client asked for a Table (kubectl get does; -o json/yaml does not). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/i.test(accept);
}

export function parseIncludeObject(value: string | null): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

/** A meta.k8s.io/v1 Table of `objects` (already in served form: local resourceVersion, kind set). */
export function buildTable(
  resource: CoreResource,
  objects: KubeObject[],
  listMetadata: Record<string, unknown>,
  includeObject: IncludeObject,
): Record<string, unknown> {
  const printer = PRINTERS[resource.type] ?? { columns: [NAME, AGE], cells: (object: KubeObject, now: number) => [object.metadata.name, age(object, now)] };
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata,
    columnDefinitions: printer.columns,
    rows: objects.map((object) => {
      const row: Record<string, unknown> = { cells: printer.cells(object, now) };
      if (includeObject === 'Object') row['object'] = object;
      if (includeObject === 'Metadata') row['object'] = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
      return row;
    }),
  };
}
