// The kubelet's stats/summary JSON (k8s.io/kubelet/pkg/apis/stats/v1alpha1 Summary), the CPU and memory
// part kedge fills: what `GET /stats/summary` answers and what /metrics/resource is written from.
// Times are RFC 3339 strings, as the kubelet's JSON has them.

export interface CpuStats {
  time: string;
  /** rate over the last sample window, in nanocores; absent until two samples exist */
  usageNanoCores?: number;
  /** cumulative CPU time over all cores, in ns */
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  /** memory limit − working set; absent without a limit */
  availableBytes?: number;
  usageBytes?: number;
  /** usage − inactive file pages: what the kubelet evicts on and metrics-server reports */
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodReference {
  name: string;
  namespace: string;
  uid: string;
}

export interface PodStats {
  podRef: PodReference;
  startTime: string;
  containers: ContainerStats[];
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface NodeStats {
  nodeName: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface Summary {
  node: NodeStats;
  pods: PodStats[];
}

/** ns since the epoch (CRI timestamps) as the RFC 3339 time the kubelet's JSON carries. */
export function nanosToTime(nanos: bigint): string {
  return new Date(Number(nanos / 1_000_000n)).toISOString();
}
