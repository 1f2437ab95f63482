// Prometheus counters of API requests.
export { NO_METRICS, createApiMetrics, type ApiMetrics } from './api-metrics';
