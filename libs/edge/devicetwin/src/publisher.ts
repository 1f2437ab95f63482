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

/** per device (and legacy name): its broadcast topics, built once (and hashed once by the subscriber lookup) */
interface DeviceTopics {
  topic: Map<DeviceTopicSuffix, string>;
  legacy: Map<DeviceTopicSuffix, string> | undefined;
}

/** devices whose topics the publisher remembers; past this it starts again */
const MAX_DEVICES = 4096;

export class TwinPublisher {
  readonly #options: PublisherOptions;
  readonly #logThrottle = new LogThrottle();
  readonly #deviceTopics = new Map<string, DeviceTopics>();

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

  /**
   * Publishes what `build(input)` returns on `topic`, built only if someone subscribes to it.
   * @returns the publish, or undefined when no one listens (the hot path makes no promise then)
   */
  publishBuilt<T>(topic: string, build: (input: T) => unknown, input: T): Promise<void> | undefined {
    if (!this.heard(topic)) return undefined;
    const payload = this.#build(topic, build, input);
    return payload === undefined ? undefined : this.#send(topic, payload);
  }

  /** settles when published; a failure is counted and logged, never thrown: the state is already stored */
  #send(topic: string, payload: unknown): Promise<void> {
    try {
      return this.#options.bus.publish(topic, JSON.stringify(payload), { qos: this.#options.qos }).catch((error: unknown) => this.#failed(topic, error));
    } catch (error) {
      this.#failed(topic, error);
      return Promise.resolve();
    }
  }

  #build<T>(topic: string, build: (input: T) => unknown, input: T): unknown {
    try {
      return build(input);
    } catch (error) {
      this.#failed(topic, error);
      return undefined;
    }
  }

  #failed(topic: string, error: unknown): void {
    this.#options.metrics.publishFailures.inc();
    this.#logThrottle.run('publish', (suppressed) => this.#options.logger.warn({ topic, error: (error as Error).message, suppressed }, 'could not publish a twin event'));
  }

  /**
   * Publishes `build(input)` on the device's `<namespace>/<name>` topic (and its legacy one when enabled),
   * built once, and only if someone subscribes to one of them; `build` returning undefined publishes nothing.
   * @returns the publishes, or undefined when nothing was published
   */
  broadcast<T>(device: DeviceRecord, suffix: DeviceTopicSuffix, build: (input: T) => unknown, input: T): Promise<void> | undefined {
    const topics = this.#topicsOf(device);
    const topic = topicFor(topics.topic, device.id, suffix);
    const legacy = topics.legacy === undefined ? undefined : topicFor(topics.legacy, device.name, suffix);
    const heard = this.heard(topic);
    const legacyHeard = legacy !== undefined && this.heard(legacy);
    if (!heard && !legacyHeard) return undefined;
    const payload = this.#build(topic, build, input);
    if (payload === undefined) return undefined;
    if (!legacyHeard) return this.#send(topic, payload);
    if (!heard) return this.#send(legacy, payload);
    return this.#send(topic, payload).then(() => this.#send(legacy, payload));
  }

  /**
   * After twins changed: the document of what changed, then the delta if desired ≠ reported anywhere.
   * @returns the publishes, or undefined when no one listens to either
   */
  twinsChanged(device: DeviceRecord, changes: TwinChange[]): Promise<void> | undefined {
    const document = changes.length > 0 ? this.broadcast(device, 'twin/update/document', documentMessage, changes) : undefined;
    if (document === undefined) return this.broadcast(device, 'twin/update/delta', deltaMessage, device);
    return document.then(() => this.broadcast(device, 'twin/update/delta', deltaMessage, device));
  }

  async membershipUpdated(payload: unknown): Promise<void> {
    await this.publish(membershipTopic(this.#options.nodeName, 'updated'), payload);
  }

  #topicsOf(device: DeviceRecord): DeviceTopics {
    let topics = this.#deviceTopics.get(device.id);
    if (topics === undefined) {
      const legacy = this.#options.legacyNamespace !== undefined && device.namespace === this.#options.legacyNamespace;
      topics = { topic: new Map(), legacy: legacy ? new Map() : undefined };
      if (this.#deviceTopics.size >= MAX_DEVICES) this.#deviceTopics.clear();
      this.#deviceTopics.set(device.id, topics);
    }
    return topics;
  }
}

function topicFor(known: Map<DeviceTopicSuffix, string>, topicId: string, suffix: DeviceTopicSuffix): string {
  let topic = known.get(suffix);
  if (topic === undefined) {
    topic = deviceTopic(topicId, suffix);
    known.set(suffix, topic);
  }
  return topic;
}
