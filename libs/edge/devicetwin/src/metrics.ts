// Prometheus metrics of the device twin. The device count is read from SQLite at scrape time.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TwinStore } from './store/twin-store';

export class DeviceTwinMetrics {
  readonly requests: Counter<'action' | 'result'>;
  readonly cloudMessages: Counter<'kind' | 'result'>;
  readonly reports: Counter<'result'>;
  readonly publishFailures: Counter;
  /**
   * Requests counted since the last scrape, by action and result: prom-client hashes and checks the labels
   * on every inc(), so the hot path adds to a number and a scrape adds the numbers to the counter.
   */
  readonly #pendingRequests = new Map<string, Map<string, number>>();

  constructor(registry: Registry, store: TwinStore) {
    new Gauge({
      name: 'kedge_devicetwin_devices',
      help: 'Devices bound to this node',
      registers: [registry],
      collect() {
        if (!store.closed) this.set(store.deviceCount());
      },
    });
    const pendingRequests = this.#pendingRequests;
    this.requests = new Counter({
      name: 'kedge_devicetwin_requests_total',
      help: 'MQTT requests by action (twin_update, twin_get, state_update, state_get, membership_get) and result (ok or the error code)',
      labelNames: ['action', 'result'],
      registers: [registry],
      collect() {
        for (const [action, byResult] of pendingRequests) {
          for (const [result, count] of byResult) if (count > 0) this.inc({ action, result }, count);
          byResult.clear();
        }
      },
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
    let byResult = this.#pendingRequests.get(action);
    if (byResult === undefined) {
      byResult = new Map();
      this.#pendingRequests.set(action, byResult);
    }
    byResult.set(result, (byResult.get(result) ?? 0) + 1);
  }
}
