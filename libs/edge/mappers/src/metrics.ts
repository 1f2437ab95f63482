// Prometheus metrics of the mappers (optional: a runner without metrics counts nothing).
import { Counter, type Registry } from 'prom-client';

export class MapperMetrics {
  readonly faults: Counter<'code'>;
  readonly pushed: Counter<'method' | 'result'>;
  readonly pushDropped: Counter<'method'>;
  readonly pushUnsupported: Counter<'kind'>;

  constructor(registry: Registry) {
    this.faults = new Counter({ name: 'kedge_mapper_faults_total', help: 'Mapper faults by MapperError code (AUTH_FAILED, CONNECT_FAILED, VALUE_INVALID, ...)', labelNames: ['code'], registers: [registry] });
    this.pushed = new Counter({ name: 'kedge_mapper_push_total', help: 'pushMethod deliveries by method (http, mqtt) and result (delivered, failed: a failed try is retried)', labelNames: ['method', 'result'], registers: [registry] });
    this.pushDropped = new Counter({ name: 'kedge_mapper_push_dropped_total', help: 'Values dropped from a full pushMethod retry queue (oldest first)', labelNames: ['method'], registers: [registry] });
    this.pushUnsupported = new Counter({ name: 'kedge_mapper_push_unsupported_total', help: 'pushMethod kinds kedge accepts but does not deliver (dbMethod influxdb2, redis, TDEngine, mysql)', labelNames: ['kind'], registers: [registry] });
  }
}
