// metrics.k8s.io/v1beta1 as metrics-server serves it: NodeMetrics (cluster-scoped `nodes`) and PodMetrics
// (namespaced `pods`), get and list only, computed on request from the scraper's points for the Nodes and
// Pods that exist (their labels are the objects' labels, so label selectors work as with metrics-server).
// CPU is the rate between the last two points in nanocores (`123456n`), memory the latest working set in
// Ki, `timestamp` the newer point's time and `window` the time between the two.
import { column, formatTimestamp, NAME_COLUMN, type KubeObject, type TableConverter } from '@kedge/kube-core';
import { defineBuiltin } from '../resources/builtin-type';
import type { ComputedResource, ResourceType } from '../resources';
import type { UsageRate, UsageStore } from './usage-points';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** What the metrics views read of the stored Nodes and Pods. */
export interface MetricsObjectSource {
  node(name: string): KubeObject | undefined;
  nodes(): KubeObject[];
  pod(namespace: string, name: string): KubeObject | undefined;
  pods(namespace: string | undefined): KubeObject[];
}

export const formatCpu = (nanoCores: number): string => `${Math.max(0, Math.round(nanoCores))}n`;
export const formatMemory = (bytes: number): string => `${Math.round(bytes / 1024)}Ki`;
/** a Go time.Duration string as metrics-server writes `window`, e.g. `15.002s` */
export const formatWindow = (ms: number): string => `${Number((ms / 1000).toFixed(9))}s`;

function metadataOf(object: KubeObject, now: Date): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: object.metadata.name, creationTimestamp: formatTimestamp(now) };
  if (object.metadata.namespace !== undefined) metadata['namespace'] = object.metadata.namespace;
  if (object.metadata.labels !== undefined) metadata['labels'] = { ...object.metadata.labels };
  return metadata;
}

const usage = (rate: UsageRate) => ({ cpu: formatCpu(rate.cpuNanoCores), memory: formatMemory(rate.memoryBytes) });

function nodeMetrics(node: KubeObject, rate: UsageRate, now: Date): KubeObject {
  return {
    kind: 'NodeMetrics',
    apiVersion: API_VERSION,
    metadata: metadataOf(node, now),
    timestamp: formatTimestamp(new Date(rate.timestampMs)),
    window: formatWindow(rate.windowMs),
    usage: usage(rate),
  } as KubeObject;
}

function podMetrics(pod: KubeObject, containers: { name: string; rate: UsageRate }[], now: Date): KubeObject {
  const first = containers[0]?.rate as UsageRate;
  return {
    kind: 'PodMetrics',
    apiVersion: API_VERSION,
    metadata: metadataOf(pod, now),
    timestamp: formatTimestamp(new Date(first.timestampMs)),
    window: formatWindow(first.windowMs),
    containers: containers.map((container) => ({ name: container.name, usage: usage(container.rate) })),
  } as KubeObject;
}

const usageOf = (object: KubeObject): Record<string, string> => ((object as unknown as { usage?: Record<string, string> }).usage ?? {});

const nodeMetricsTable: TableConverter = {
  columns: [NAME_COLUMN, column('CPU', 'CPU usage'), column('Memory', 'Memory usage'), column('Window', 'Time window of the rate')],
  cells: (object) => [object.metadata.name ?? '', usageOf(object)['cpu'] ?? '', usageOf(object)['memory'] ?? '', String((object as unknown as { window?: string }).window ?? '')],
};

const podMetricsTable: TableConverter = {
  columns: [NAME_COLUMN, column('CPU', 'CPU usage of all containers'), column('Memory', 'Memory usage of all containers'), column('Window', 'Time window of the rate')],
  cells: (object) => {
    const containers = (object as unknown as { containers?: { usage: Record<string, string> }[] }).containers ?? [];
    const sum = (resource: string): number => containers.reduce((total, c) => total + Number.parseInt(c.usage[resource] ?? '0', 10), 0);
    return [object.metadata.name ?? '', formatCpu(sum('cpu')), `${sum('memory')}Ki`, String((object as unknown as { window?: string }).window ?? '')];
  },
};

/** The two metrics.k8s.io kinds, reading `usage` and `objects` at every request. */
export function metricsResources(usageStore: UsageStore, objects: () => MetricsObjectSource, now: () => Date): ResourceType[] {
  const nodes: ComputedResource = {
    get: (_namespace, name) => {
      const node = objects().node(name);
      const rate = node === undefined ? undefined : usageStore.node(name);
      return node === undefined || rate === undefined ? undefined : nodeMetrics(node, rate, now());
    },
    list: () =>
      objects()
        .nodes()
        .flatMap((node) => {
          const rate = usageStore.node(node.metadata.name ?? '');
          return rate === undefined ? [] : [nodeMetrics(node, rate, now())];
        }),
  };
  const pods: ComputedResource = {
    get: (namespace, name) => {
      const pod = namespace === undefined ? undefined : objects().pod(namespace, name);
      const entry = pod === undefined || namespace === undefined ? undefined : usageStore.pod(namespace, name);
      return pod === undefined || entry === undefined ? undefined : podMetrics(pod, entry.containers, now());
    },
    list: (namespace) =>
      objects()
        .pods(namespace)
        .flatMap((pod) => {
          const entry = usageStore.pod(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
          return entry === undefined ? [] : [podMetrics(pod, entry.containers, now())];
        }),
  };
  const define = (kind: string, plural: string, namespaced: boolean, table: TableConverter, computed: ComputedResource): ResourceType => ({
    ...defineBuiltin({ group: METRICS_GROUP, version: METRICS_VERSION, kind, plural, namespaced, verbs: ['get', 'list'], table }),
    computed,
  });
  return [define('NodeMetrics', 'nodes', false, nodeMetricsTable, nodes), define('PodMetrics', 'pods', true, podMetricsTable, pods)];
}
