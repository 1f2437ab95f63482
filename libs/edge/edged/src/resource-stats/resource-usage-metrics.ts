// edgecore's own Prometheus view of resource usage: node and per-pod CPU and memory gauges, collected
// at scrape time from the same ResourceStatsProvider that answers the cloud (so a gone pod's series
// vanish instead of lingering, as with the kubelet's collector).
import { Gauge, type Registry } from 'prom-client';
import type { Summary } from './summary';

export class ResourceUsageMetrics {
  constructor(registry: Registry, summary: () => Promise<Summary>) {
    const registers = [registry];
    let latest: Promise<Summary | undefined> | undefined;
    // one collection per scrape, shared by the four gauges' collect callbacks
    const current = (): Promise<Summary | undefined> => {
      latest ??= summary()
        .catch(() => undefined)
        .finally(() => setImmediate(() => (latest = undefined)));
      return latest;
    };
    new Gauge({
      name: 'kedge_edged_node_cpu_usage_seconds_total',
      help: 'Cumulative CPU time of the node over all cores, in core-seconds (root cgroup, else /proc/stat)',
      registers,
      async collect() {
        const value = (await current())?.node.cpu?.usageCoreNanoSeconds;
        this.reset();
        if (value !== undefined) this.set(value / 1e9);
      },
    });
    new Gauge({
      name: 'kedge_edged_node_memory_working_set_bytes',
      help: 'Working set of the node in bytes (usage minus inactive file pages)',
      registers,
      async collect() {
        const value = (await current())?.node.memory?.workingSetBytes;
        this.reset();
        if (value !== undefined) this.set(value);
      },
    });
    new Gauge({
      name: 'kedge_edged_pod_cpu_usage_seconds_total',
      help: 'Cumulative CPU time of each running pod, in core-seconds',
      labelNames: ['namespace', 'pod'],
      registers,
      async collect() {
        const pods = (await current())?.pods ?? [];
        this.reset();
        for (const pod of pods) {
          if (pod.cpu?.usageCoreNanoSeconds !== undefined) this.set({ namespace: pod.podRef.namespace, pod: pod.podRef.name }, pod.cpu.usageCoreNanoSeconds / 1e9);
        }
      },
    });
    new Gauge({
      name: 'kedge_edged_pod_memory_working_set_bytes',
      help: 'Working set of each running pod in bytes',
      labelNames: ['namespace', 'pod'],
      registers,
      async collect() {
        const pods = (await current())?.pods ?? [];
        this.reset();
        for (const pod of pods) {
          if (pod.memory?.workingSetBytes !== undefined) this.set({ namespace: pod.podRef.namespace, pod: pod.podRef.name }, pod.memory.workingSetBytes);
        }
      },
    });
  }
}
