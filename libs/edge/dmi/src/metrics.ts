// Prometheus metrics of edgecore's DMI endpoint.
import { Counter, Gauge, type Registry } from 'prom-client';

export class DmiMetrics {
  /** requests from mappers by method and result (`ok` or the gRPC code of the refusal) */
  readonly requests: Counter<'method' | 'result'>;
  /** requests whose bytes were not a valid protobuf of their message */
  readonly malformed: Counter<'method'>;
  /** calls edgecore made on a mapper's DeviceMapperService */
  readonly mapperCalls: Counter<'method' | 'result'>;
  readonly mappers: Gauge;

  constructor(registry: Registry) {
    this.requests = new Counter({ name: 'kedge_dmi_requests_total', help: 'DMI requests from mappers by method and result (ok, or the gRPC code it was refused with)', labelNames: ['method', 'result'], registers: [registry] });
    this.malformed = new Counter({ name: 'kedge_dmi_malformed_total', help: 'DMI requests that were not a valid protobuf message', labelNames: ['method'], registers: [registry] });
    this.mapperCalls = new Counter({ name: 'kedge_dmi_mapper_calls_total', help: 'Calls edgecore made on registered mappers (DeviceMapperService) by method and result', labelNames: ['method', 'result'], registers: [registry] });
    this.mappers = new Gauge({ name: 'kedge_dmi_mappers', help: 'Mappers registered over DMI', registers: [registry] });
  }
}
