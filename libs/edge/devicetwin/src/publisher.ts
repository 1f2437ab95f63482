// Publishing twin events on the bus: results to the requester's topic, and the broadcasts that
// follow a change (document, delta, device updated, membership updated). A publish that fails
// (external broker down) is counted and logged, never thrown: the state is already stored. A message
// no client subscribes to is neither built nor published (the bus says who listens, per message).
import { deviceTopic, membershipTopic, type DeviceTopicSuffix } from '@kedge/device-api';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import type { DeviceTwinMetrics } from './metrics';
import type { DeviceRecord } from './model';
import { deltaMessage, documentMessage } from './payloads';
import type { TwinChange } from './store/twin-store';

/** What DeviceTwin needs of the eventbus (EventBus from @kedge/eventbus has it). */
export interface TwinBus {
  /** whether a publish on `topic` can reach anyone (EventBus.hasSubscribers); without it, always published */
  hasSubscribers?(topic: string): boolean;
  publish(topic: string, payload: string, options?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  /** with `acknowledgeAfterHandler`, the broker PUBACKs a QoS 1 request only once the handler's promise settles */
  subscribe(
    topicFilter: string,
    handler: (message: { topic: string; payload: Buffer }) => void | Promise<void>,
    options?: { acknowledgeAfterHandler?: boolean },
  ): () => void;
}

export interface PublisherOptions {
  bus: TwinBus;
  qos: 0 | 1;
  nodeName: string;
  /** also broadcast on `$hw/events/device/<name>/...` for devices in this namespace (KubeEdge ≤ 1.16 clients) */
  legacyNamespace: string | undefined;
  logger: Logger;
  metrics: DeviceTwinMetrics;
}

export class TwinPublisher {
  readonly #options: PublisherOptions;
  readonly #logThrottle = new LogThrottle();

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  /** Whether a client subscribes to `topic` now: asked for every message, so a late subscriber gets the next one. */
  heard(topic: string): boolean {
    return this.#options.bus.hasSubscribers?.(topic) ?? true;
  }

  /** Publishes `payload` on `topic`, if someone subscribes to it. */
  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.heard(topic)) await this.#send(topic, payload);
  }

  /** Publishes what `build(input)` returns on `topic`, built only if someone subscribes to it. */
  async publishBuilt<T>(topic: string, build: (input: T) => unknown, input: T): Promise<void> {
    if (this.heard(topic)) await this.#send(topic, build(input));
  }

  async #send(topic: string, payload: unknown): Promise<void> {
    try {
      await this.#options.bus.publish(topic, JSON.stringify(payload), { qos: this.#options.qos });
    } catch (error) {
      this.#options.metrics.publishFailures.inc();
      this.#logThrottle.run('publish', (suppressed) =>
        this.#options.logger.warn({ topic, error: (error as Error).message, suppressed }, 'could not publish a twin event'),
      );
    }
  }

  /**
   * Publishes `build(input)` on the device's `<namespace>/<name>` topic (and its legacy one when enabled),
   * built once, and only if someone subscribes to one of them; `build` returning undefined publishes nothing.
   */
  async broadcast<T>(device: DeviceRecord, suffix: DeviceTopicSuffix, build: (input: T) => unknown, input: T): Promise<void> {
    const topic = deviceTopic(device.id, suffix);
    const legacy = this.#options.legacyNamespace !== undefined && device.namespace === this.#options.legacyNamespace ? deviceTopic(device.name, suffix) : undefined;
    const heard = this.heard(topic);
    const legacyHeard = legacy !== undefined && this.heard(legacy);
    if (!heard && !legacyHeard) return;
    const payload = build(input);
    if (payload === undefined) return;
    if (heard) await this.#send(topic, payload);
    if (legacyHeard) await this.#send(legacy, payload);
  }

  /** After twins changed: the document of what changed, then the delta if desired ≠ reported anywhere. */
  async twinsChanged(device: DeviceRecord, changes: TwinChange[]): Promise<void> {
    if (changes.length > 0) await this.broadcast(device, 'twin/update/document', documentMessage, changes);
    await this.broadcast(device, 'twin/update/delta', deltaMessage, device);
  }

  async membershipUpdated(payload: unknown): Promise<void> {
    await this.publish(membershipTopic(this.#options.nodeName, 'updated'), payload);
  }
}
