// The kubelet's /metrics/resource in Prometheus text format 0.0.4, written from a Summary the way the
// kubelet's resource metrics collector writes it: cumulative CPU in core-seconds (counters), working
// sets in bytes (gauges), container start times, each sample stamped with its measurement time in ms,
// and scrape_error / resource_scrape_error (1 when the stats could not be collected).
import type { Summary } from './summary';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: string[];
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '' : `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',')}}`;
}

function sample(name: string, labelPairs: Record<string, string>, value: number, time?: string): string {
  const stamp = time === undefined ? '' : ` ${Date.parse(time)}`;
  return `${name}${labels(labelPairs)} ${String(value)}${stamp}`;
}

const seconds = (nanos: number): number => nanos / 1e9;

/** `summary` undefined: the collection failed, and only the scrape error gauges are written. */
export function resourceMetricsText(summary: Summary | undefined): string {
  const families: Family[] = [
    { name: 'container_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the container in core-seconds', type: 'counter', samples: [] },
    { name: 'container_memory_working_set_bytes', help: '[STABLE] Current working set of the container in bytes', type: 'gauge', samples: [] },
    { name: 'container_start_time_seconds', help: '[STABLE] Start time of the container since unix epoch in seconds', type: 'gauge', samples: [] },
    { name: 'node_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the node in core-seconds', type: 'counter', samples: [] },
    { name: 'node_memory_working_set_bytes', help: '[STABLE] Current working set of the node in bytes', type: 'gauge', samples: [] },
    { name: 'pod_cpu_usage_seconds_total', help: '[STABLE] Cumulative cpu time consumed by the pod in core-seconds', type: 'counter', samples: [] },
    { name: 'pod_memory_working_set_bytes', help: '[STABLE] Current working set of the pod in bytes', type: 'gauge', samples: [] },
    { name: 'resource_scrape_error', help: '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise', type: 'gauge', samples: [] },
    { name: 'scrape_error', help: '[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise', type: 'gauge', samples: [] },
  ];
  const family = (name: string): Family => families.find((f) => f.name === name) as Family;
  if (summary !== undefined) {
    const { node } = summary;
    if (node.cpu?.usageCoreNanoSeconds !== undefined) family('node_cpu_usage_seconds_total').samples.push(sample('node_cpu_usage_seconds_total', {}, seconds(node.cpu.usageCoreNanoSeconds), node.cpu.time));
    if (node.memory?.workingSetBytes !== undefined) family('node_memory_working_set_bytes').samples.push(sample('node_memory_working_set_bytes', {}, node.memory.workingSetBytes, node.memory.time));
    for (const pod of summary.pods) {
      const podLabels = { pod: pod.podRef.name, namespace: pod.podRef.namespace };
      for (const container of pod.containers) {
        const containerLabels = { ...podLabels, container: container.name };
        const started = Date.parse(container.startTime);
        if (started > 0) family('container_start_time_seconds').samples.push(sample('container_start_time_seconds', containerLabels, started / 1000));
        if (container.cpu?.usageCoreNanoSeconds !== undefined) {
          family('container_cpu_usage_seconds_total').samples.push(sample('container_cpu_usage_seconds_total', containerLabels, seconds(container.cpu.usageCoreNanoSeconds), container.cpu.time));
        }
        if (container.memory?.workingSetBytes !== undefined) {
          family('container_memory_working_set_bytes').samples.push(sample('container_memory_working_set_bytes', containerLabels, container.memory.workingSetBytes, container.memory.time));
        }
      }
      if (pod.cpu?.usageCoreNanoSeconds !== undefined) family('pod_cpu_usage_seconds_total').samples.push(sample('pod_cpu_usage_seconds_total', podLabels, seconds(pod.cpu.usageCoreNanoSeconds), pod.cpu.time));
      if (pod.memory?.workingSetBytes !== undefined) family('pod_memory_working_set_bytes').samples.push(sample('pod_memory_working_set_bytes', podLabels, pod.memory.workingSetBytes, pod.memory.time));
    }
  }
  const failed = summary === undefined ? 1 : 0;
  family('resource_scrape_error').samples.push(sample('resource_scrape_error', {}, failed));
  family('scrape_error').samples.push(sample('scrape_error', {}, failed));
  return families
    .filter((f) => f.samples.length > 0)
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join('\n'))
    .join('\n')
    .concat('\n');
}
