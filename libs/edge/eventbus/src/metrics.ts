// Prometheus metrics of the eventbus, registered on the registry the process (or test) passes in.
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Directions of `kedge_eventbus_messages_total`:
 * - `received`: published by an MQTT client on the local bus (internal broker, or external in external mode)
 * - `published`: published by this process through EventBus.publish
 * - `uploaded` / `upload_failed`: application messages handed to the cloud `send`, and those it refused
 * - `bridged_out` / `bridged_in`: copied internal → external / external → internal (mode `both`)
 * - `from_cloud`: cloud `publish` messages put on the bus
 */
export type Direction = 'received' | 'published' | 'uploaded' | 'upload_failed' | 'bridged_out' | 'bridged_in' | 'from_cloud';
const DIRECTIONS: readonly Direction[] = ['received', 'published', 'uploaded', 'upload_failed', 'bridged_out', 'bridged_in', 'from_cloud'];

export class EventBusMetrics {
  readonly messages: Counter<'direction'>;
  readonly badPayloads: Counter<'topic_class'>;
  readonly connected: Gauge<'broker'>;
  readonly refused: Counter<'reason'>;
  /**
   * Messages counted since the last scrape. Every message is counted, and prom-client hashes and checks
   * the labels on each inc(): the hot path adds to a number, a scrape adds the numbers to the counter.
   */
  readonly #pending: Record<Direction, number> = { received: 0, published: 0, uploaded: 0, upload_failed: 0, bridged_out: 0, bridged_in: 0, from_cloud: 0 };

  constructor(registry: Registry) {
    const pending = this.#pending;
    this.messages = new Counter({
      name: 'kedge_eventbus_messages_total',
      help: 'MQTT messages by direction: received, published, uploaded, upload_failed, bridged_out, bridged_in, from_cloud',
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        for (const direction of DIRECTIONS) {
          if (pending[direction] === 0) continue;
          this.inc({ direction }, pending[direction]);
          pending[direction] = 0;
        }
      },
    });
    this.badPayloads = new Counter({
      name: 'kedge_eventbus_bad_payloads_total',
      help: 'Messages refused or whose handler failed, by topic class (device, node, hw_other, sys, app)',
      labelNames: ['topic_class'],
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'kedge_eventbus_refused_total',
      help: 'Internal broker clients refused: bad_credentials, anonymous_refused (no username, or not from loopback), publish_denied and subscribe_denied (outside their topic rules)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.connected = new Gauge({
      name: 'kedge_eventbus_connected',
      help: '1 while the broker is usable: internal = listening, external = connected',
      labelNames: ['broker'],
      registers: [registry],
    });
  }

  /** one message more in `kedge_eventbus_messages_total{direction}` (seen at the next scrape) */
  count(direction: Direction): void {
    this.#pending[direction] += 1;
  }
}
