// @kedge/telemetry: structured logs, Prometheus metrics and health endpoints shared by every process.
export { createLogger, type Logger, type LoggerOptions } from './logger';
export {
  createMetricsRegistry,
  isLoopbackAddress,
  startMetricsServer,
  type HealthReport,
  type MetricsServer,
  type MetricsServerOptions,
} from './metrics-server';
export { LogThrottle } from './log-throttle';
export { processMemory, type HeapSpaceMemory, type ProcessMemory } from './process-memory';
