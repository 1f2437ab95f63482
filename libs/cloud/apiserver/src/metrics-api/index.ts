// metrics.k8s.io/v1beta1 in the embedded API server, as metrics-server serves it: a scraper of every
// node's /metrics/resource, the last two points per node and container, and NodeMetrics/PodMetrics.
export { formatCpu, formatMemory, formatWindow, METRICS_GROUP, METRICS_VERSION, metricsResources, type MetricsObjectSource } from './metrics-resources';
export { MetricsScraper, type MetricsScraperOptions, type NodeResourceMetricsSource } from './metrics-scraper';
export { MAX_PROMETHEUS_SAMPLES, MAX_PROMETHEUS_TEXT_BYTES, parsePrometheusText, PrometheusTextError, type PrometheusSample } from './prometheus-text';
export { PointPair, usagePointsOf, UsageStore, type NodeScrape, type UsagePoint, type UsageRate } from './usage-points';
