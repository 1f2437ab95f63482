// The points metrics-server keeps, from one /metrics/resource scrape of a node: cumulative CPU seconds and
// the working set, with the time the kubelet measured them, for the node and each running container.
// It keeps the last two points per node and container; CPU is served as the rate between them.
import type { PrometheusSample } from './prometheus-text';

export interface UsagePoint {
  /** cumulative core-seconds */
  cpuSeconds: number;
  memoryBytes: number;
  /** when the CPU counter was measured, ms since the epoch */
  timestampMs: number;
}

export interface NodeScrape {
  node: UsagePoint | undefined;
  /** `<namespace>/<pod>` → container → point */
  pods: Map<string, Map<string, UsagePoint>>;
}

export interface UsageRate {
  /** nanocores */
  cpuNanoCores: number;
  memoryBytes: number;
  timestampMs: number;
  windowMs: number;
}

const usable = (value: number): boolean => Number.isFinite(value) && value >= 0;

/** Points of one scrape; samples with bad values or missing labels are left out, as metrics-server does. */
export function usagePointsOf(samples: readonly PrometheusSample[], scrapedAtMs: number): NodeScrape {
  let nodeCpu: PrometheusSample | undefined;
  let nodeMemory: PrometheusSample | undefined;
  const containers = new Map<string, { cpu?: PrometheusSample; memory?: PrometheusSample; namespace: string; pod: string; container: string }>();
  for (const sample of samples) {
    if (!usable(sample.value)) continue;
    if (sample.name === 'node_cpu_usage_seconds_total') nodeCpu = sample;
    else if (sample.name === 'node_memory_working_set_bytes') nodeMemory = sample;
    else if (sample.name === 'container_cpu_usage_seconds_total' || sample.name === 'container_memory_working_set_bytes') {
      const { namespace, pod, container } = sample.labels;
      if (!namespace || !pod || !container) continue;
      const key = `${namespace}/${pod}/${container}`;
      const entry = containers.get(key) ?? { namespace, pod, container };
      if (sample.name === 'container_cpu_usage_seconds_total') entry.cpu = sample;
      else entry.memory = sample;
      containers.set(key, entry);
    }
  }
  const point = (cpu: PrometheusSample, memory: PrometheusSample): UsagePoint => ({
    cpuSeconds: cpu.value,
    memoryBytes: memory.value,
    timestampMs: cpu.timestampMs ?? scrapedAtMs,
  });
  const pods = new Map<string, Map<string, UsagePoint>>();
  for (const entry of containers.values()) {
    if (entry.cpu === undefined || entry.memory === undefined) continue;
    const podKey = `${entry.namespace}/${entry.pod}`;
    const podContainers = pods.get(podKey) ?? new Map<string, UsagePoint>();
    podContainers.set(entry.container, point(entry.cpu, entry.memory));
    pods.set(podKey, podContainers);
  }
  return { node: nodeCpu && nodeMemory ? point(nodeCpu, nodeMemory) : undefined, pods };
}

/** The last two points of one series. */
export class PointPair {
  private previous: UsagePoint | undefined;
  private latest: UsagePoint;

  constructor(first: UsagePoint) {
    this.latest = first;
  }

  add(point: UsagePoint): void {
    // the kubelet answered from the same measurement again: nothing new
    if (point.timestampMs <= this.latest.timestampMs) return;
    // a counter that went back is a restarted container: its history starts over
    this.previous = point.cpuSeconds < this.latest.cpuSeconds ? undefined : this.latest;
    this.latest = point;
  }

  /** undefined until two points exist */
  rate(): UsageRate | undefined {
    if (this.previous === undefined) return undefined;
    const windowMs = this.latest.timestampMs - this.previous.timestampMs;
    if (windowMs <= 0) return undefined;
    const cpuNanoCores = Math.round(((this.latest.cpuSeconds - this.previous.cpuSeconds) / (windowMs / 1000)) * 1e9);
    return { cpuNanoCores, memoryBytes: this.latest.memoryBytes, timestampMs: this.latest.timestampMs, windowMs };
  }
}

/** Every node's and container's last two points. */
export class UsageStore {
  private readonly nodes = new Map<string, PointPair>();
  /** node → `<namespace>/<pod>` → container → points */
  private readonly pods = new Map<string, Map<string, Map<string, PointPair>>>();

  /** Records one node's scrape; containers it no longer reports are forgotten. */
  record(nodeName: string, scrape: NodeScrape): void {
    if (scrape.node) {
      const pair = this.nodes.get(nodeName);
      if (pair) pair.add(scrape.node);
      else this.nodes.set(nodeName, new PointPair(scrape.node));
    }
    const before = this.pods.get(nodeName) ?? new Map<string, Map<string, PointPair>>();
    const after = new Map<string, Map<string, PointPair>>();
    for (const [podKey, containers] of scrape.pods) {
      const kept = new Map<string, PointPair>();
      for (const [container, point] of containers) {
        const pair = before.get(podKey)?.get(container);
        if (pair) {
          pair.add(point);
          kept.set(container, pair);
        } else kept.set(container, new PointPair(point));
      }
      after.set(podKey, kept);
    }
    this.pods.set(nodeName, after);
  }

  forgetNodesExcept(nodeNames: ReadonlySet<string>): void {
    for (const name of [...this.nodes.keys()]) if (!nodeNames.has(name)) this.nodes.delete(name);
    for (const name of [...this.pods.keys()]) if (!nodeNames.has(name)) this.pods.delete(name);
  }

  node(nodeName: string): UsageRate | undefined {
    return this.nodes.get(nodeName)?.rate();
  }

  /** The pod's containers with a rate; undefined when none has one yet. */
  pod(namespace: string, name: string): { containers: { name: string; rate: UsageRate }[] } | undefined {
    for (const pods of this.pods.values()) {
      const containers = pods.get(`${namespace}/${name}`);
      if (containers === undefined) continue;
      const rated = [...containers]
        .map(([container, pair]) => ({ name: container, rate: pair.rate() }))
        .filter((entry): entry is { name: string; rate: UsageRate } => entry.rate !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name));
      return rated.length === 0 ? undefined : { containers: rated };
    }
    return undefined;
  }
}
