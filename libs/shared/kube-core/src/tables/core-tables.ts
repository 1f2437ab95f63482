// Columns of `kubectl get` for the core/v1 types, following kubernetes/pkg/printers/internalversion.
import { arrayAt, fieldAt, isRecord, recordAt, stringAt } from '../objects/json';
import type { KubeObject } from '../objects/kube-object';
import { humanAge } from '../objects/time-format';
import { AGE_COLUMN, NAME_COLUMN, column, type TableConverter } from './table-converter';

const name = (object: KubeObject): string => object.metadata.name ?? '';
const age = (object: KubeObject, now: Date): string => humanAge(object.metadata.creationTimestamp, now);
const orNone = (value: string | undefined): string => (value === undefined || value === '' ? '<none>' : value);

export const namespaceTable: TableConverter = {
  columns: [NAME_COLUMN, column('Status', 'The status of the namespace'), AGE_COLUMN],
  cells: (object, now) => [name(object), stringAt(object, ['status', 'phase']) ?? '', age(object, now)],
};

export const configMapTable: TableConverter = {
  columns: [NAME_COLUMN, column('Data', 'Number of data entries', { type: 'integer' }), AGE_COLUMN],
  cells: (object, now) => [
    name(object),
    Object.keys(recordAt(object, ['data']) ?? {}).length + Object.keys(recordAt(object, ['binaryData']) ?? {}).length,
    age(object, now),
  ],
};

export const secretTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Type', 'The type of the secret'),
    column('Data', 'The number of entries in the secret', { type: 'integer' }),
    AGE_COLUMN,
  ],
  cells: (object, now) => [
    name(object),
    stringAt(object, ['type']) ?? 'Opaque',
    Object.keys(recordAt(object, ['data']) ?? {}).length,
    age(object, now),
  ],
};

export const serviceAccountTable: TableConverter = {
  columns: [NAME_COLUMN, column('Secrets', 'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount', { type: 'integer' }), AGE_COLUMN],
  cells: (object, now) => [name(object), arrayAt(object, ['secrets']).length, age(object, now)],
};

function servicePorts(object: KubeObject): string {
  const ports = arrayAt(object, ['spec', 'ports']).filter(isRecord);
  if (ports.length === 0) return '<none>';
  return ports
    .map((port) => {
      const protocol = typeof port['protocol'] === 'string' ? port['protocol'] : 'TCP';
      const nodePort = typeof port['nodePort'] === 'number' ? `:${port['nodePort']}` : '';
      return `${String(port['port'])}${nodePort}/${protocol}`;
    })
    .join(',');
}

function serviceExternalIp(object: KubeObject): string {
  const type = stringAt(object, ['spec', 'type']) ?? 'ClusterIP';
  const externalIps = arrayAt(object, ['spec', 'externalIPs']).filter((ip): ip is string => typeof ip === 'string');
  if (type === 'ExternalName') return stringAt(object, ['spec', 'externalName']) ?? '<none>';
  if (type === 'LoadBalancer') {
    const ingress = arrayAt(object, ['status', 'loadBalancer', 'ingress'])
      .filter(isRecord)
      .map((entry) => (typeof entry['ip'] === 'string' ? entry['ip'] : typeof entry['hostname'] === 'string' ? entry['hostname'] : ''))
      .filter((value) => value !== '');
    const all = [...ingress, ...externalIps];
    return all.length === 0 ? '<pending>' : all.join(',');
  }
  return externalIps.length === 0 ? '<none>' : externalIps.join(',');
}

export const serviceTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Type', 'The type of the service'),
    column('Cluster-IP', 'The cluster IP of the service'),
    column('External-IP', 'The external IP of the service'),
    column('Port(s)', 'The ports of the service'),
    AGE_COLUMN,
    column('Selector', 'The label selector of the service', { priority: 1 }),
  ],
  cells: (object, now) => [
    name(object),
    stringAt(object, ['spec', 'type']) ?? 'ClusterIP',
    orNone(stringAt(object, ['spec', 'clusterIP'])),
    serviceExternalIp(object),
    servicePorts(object),
    age(object, now),
    orNone(
      Object.entries(recordAt(object, ['spec', 'selector']) ?? {})
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(','),
    ),
  ],
};

function endpointAddresses(object: KubeObject): string {
  const entries: string[] = [];
  for (const subset of arrayAt(object, ['subsets']).filter(isRecord)) {
    const ports = arrayAt(subset, ['ports']).filter(isRecord);
    for (const address of arrayAt(subset, ['addresses']).filter(isRecord)) {
      const ip = typeof address['ip'] === 'string' ? address['ip'] : '';
      if (ports.length === 0) entries.push(ip);
      for (const port of ports) entries.push(`${ip}:${String(port['port'])}`);
    }
  }
  if (entries.length === 0) return '<none>';
  return entries.length > 3 ? `${entries.slice(0, 3).join(',')} + ${entries.length - 3} more...` : entries.join(',');
}

export const endpointsTable: TableConverter = {
  columns: [NAME_COLUMN, column('Endpoints', 'Endpoints of the service'), AGE_COLUMN],
  cells: (object, now) => [name(object), endpointAddresses(object), age(object, now)],
};

function eventLastSeen(object: KubeObject, now: Date): string {
  const last =
    stringAt(object, ['series', 'lastObservedTime']) ?? stringAt(object, ['lastTimestamp']) ?? stringAt(object, ['eventTime']);
  return last === undefined ? '<unknown>' : humanAge(last, now);
}

export const eventTable: TableConverter = {
  columns: [
    column('Last Seen', 'The last time this event was seen'),
    column('Type', 'The type of this event'),
    column('Reason', 'The reason this event was generated'),
    column('Object', 'The object this event is about'),
    column('Subobject', 'The subobject this event is about', { priority: 1 }),
    column('Source', 'The component reporting this event', { priority: 1 }),
    column('Message', 'A human-readable description of the status of this operation'),
    column('First Seen', 'The first time this event was seen', { priority: 1 }),
    column('Count', 'The number of times this event has occurred', { type: 'integer', priority: 1 }),
    { ...NAME_COLUMN, priority: 1 },
  ],
  cells: (object, now) => {
    const involved = recordAt(object, ['involvedObject']) ?? {};
    const kind = typeof involved['kind'] === 'string' ? involved['kind'].toLowerCase() : '';
    const component = stringAt(object, ['source', 'component']) ?? stringAt(object, ['reportingComponent']) ?? '';
    const host = stringAt(object, ['source', 'host']);
    const first = stringAt(object, ['firstTimestamp']) ?? stringAt(object, ['eventTime']);
    return [
      eventLastSeen(object, now),
      stringAt(object, ['type']) ?? '',
      stringAt(object, ['reason']) ?? '',
      `${kind}/${typeof involved['name'] === 'string' ? involved['name'] : ''}`,
      typeof involved['fieldPath'] === 'string' ? involved['fieldPath'] : '',
      host === undefined ? component : `${component}, ${host}`,
      (stringAt(object, ['message']) ?? '').trim(),
      first === undefined ? '<unknown>' : humanAge(first, now),
      typeof fieldAt(object, ['count']) === 'number' ? fieldAt(object, ['count']) : 1,
      name(object),
    ];
  },
};
