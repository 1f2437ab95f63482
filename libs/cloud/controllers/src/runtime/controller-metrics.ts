// The Prometheus metrics of the workload controllers and the scheduler.
import { Counter, Gauge, type Registry } from 'prom-client';

export const METRIC_NAMES = ['kedge_workload_queue_depth', 'kedge_workload_reconciles_total', 'kedge_workload_invalid_specs_total', 'kedge_scheduler_attempts_total'] as const;

export class ControllerMetrics {
  readonly queueDepth: Gauge<'controller'>;
  readonly reconciles: Counter<'controller' | 'result'>;
  readonly invalidSpecs: Counter<'controller' | 'field'>;
  readonly schedulingAttempts: Counter<'result'>;

  constructor(private readonly registry: Registry) {
    const registers = [registry];
    this.queueDepth = new Gauge({ name: METRIC_NAMES[0], help: 'Keys waiting in each controller work queue', labelNames: ['controller'], registers });
    this.reconciles = new Counter({
      name: METRIC_NAMES[1],
      help: 'Reconciles by controller and result (success, error, conflict, invalid)',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.invalidSpecs = new Counter({ name: METRIC_NAMES[2], help: 'Objects whose spec the controllers cannot act on, by field', labelNames: ['controller', 'field'], registers });
    this.schedulingAttempts = new Counter({
      name: METRIC_NAMES[3],
      help: 'Scheduling attempts by result (scheduled, unschedulable, error)',
      labelNames: ['result'],
      registers,
    });
  }

  remove(): void {
    for (const name of METRIC_NAMES) this.registry.removeSingleMetric(name);
  }
}
