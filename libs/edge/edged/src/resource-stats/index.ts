// Resource usage of the node and its pods, as the kubelet exposes it: the stats/summary JSON, the
// /metrics/resource Prometheus text, the cloud's kubelet queries over the hub, and edgecore's gauges.
export { CpuRateTracker, type CpuSample } from './cpu-rate';
export { KUBELET_QUERY_SOURCE, KubeletQueryHandler, KubeletQueryMetrics, type KubeletQueryHandlerOptions } from './kubelet-queries';
export { NodeUsageParseError, NodeUsageReader, parseKeyValueLines, parseMeminfo, parseProcStat, type NodeUsage, type NodeUsageSources } from './node-usage';
export { buildPodStats, type RuntimeSnapshot } from './pod-stats';
export { resourceMetricsText } from './resource-metrics-text';
export { ResourceStatsProvider, type ResourceStatsProviderOptions } from './resource-stats-provider';
export { ResourceUsageMetrics } from './resource-usage-metrics';
export { nanosToTime, type ContainerStats, type CpuStats, type MemoryStats, type NodeStats, type PodReference, type PodStats, type Summary } from './summary';
