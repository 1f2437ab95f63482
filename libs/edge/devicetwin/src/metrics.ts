// Prometheus metrics of the device twin. The device count is read from SQLite at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TwinStore } from './store/twin-store';

export class DeviceTwinMetrics {
  readonly requests: Counter<'action' | 'result'>;
  readonly cloudMessages: Counter<'kind' | 'result'>;
  readonly reports: Counter<'result'>;
  readonly publishFailures: Counter;
  /** label children of `requests`, looked up once per action and result: counted on every request */
  readonly #requestCounters = new Map<string, Map<string, { inc(): void }>>();

  constructor(registry: Registry, store: TwinStore) {
    new Gauge({
      name: 'kedge_devicetwin_devices',
      help: 'Devices bound to this node',
      registers: [registry],
      collect() {
        if (!store.closed) this.set(store.deviceCount());
      },
    });
    this.requests = new Counter({
      name: 'kedge_devicetwin_requests_total',
      help: 'MQTT requests by action (twin_update, twin_get, state_update, state_get, membership_get) and result (ok or the error code)',
      labelNames: ['action', 'result'],
      registers: [registry],
    });
    this.cloudMessages = new Counter({
      name: 'kedge_devicetwin_cloud_messages_total',
      help: 'Down messages by kind (membership, device, delete) and result (applied, duplicate, stale, not-found, refused)',
      labelNames: ['kind', 'result'],
      registers: [registry],
    });
    this.reports = new Counter({
      name: 'kedge_devicetwin_reports_total',
      help: 'Reported state handed to the outbox for the cloud (queued) or refused by it (failed)',
      labelNames: ['result'],
      registers: [registry],
    });
    this.publishFailures = new Counter({
      name: 'kedge_devicetwin_publish_failures_total',
      help: 'Results, deltas and documents the bus could not publish',
      registers: [registry],
    });
  }

  /** counts one MQTT request (`kedge_devicetwin_requests_total{action,result}`) */
  request(action: string, result: string): void {
    let byResult = this.#requestCounters.get(action);
    if (byResult === undefined) {
      byResult = new Map();
      this.#requestCounters.set(action, byResult);
    }
    let counter = byResult.get(result);
    if (counter === undefined) {
      counter = this.requests.labels({ action, result });
      byResult.set(result, counter);
    }
    counter.inc();
  }
}
