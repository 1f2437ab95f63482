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

export class EventBusMetrics {
  readonly messages: Counter<'direction'>;
  readonly badPayloads: Counter<'topic_class'>;
  readonly connected: Gauge<'broker'>;
  readonly refused: Counter<'reason'>;

  constructor(registry: Registry) {
    this.messages = new Counter({
      name: 'kedge_eventbus_messages_total',
      help: 'MQTT messages by direction: received, published, uploaded, upload_failed, bridged_out, bridged_in, from_cloud',
      labelNames: ['direction'],
      registers: [registry],
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
}
