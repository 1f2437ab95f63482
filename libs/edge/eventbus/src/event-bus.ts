// EventBus: the edge's MQTT side. It runs (or connects to) a broker, hands `$hw/events/...` traffic
// to the handlers other modules register (the device twin), uploads application topics to the
// cloud, bridges an embedded broker to an external one, and never lets a bad payload or a failing
// handler take anything down: each costs one counted, throttled log line.
import { randomBytes } from 'node:crypto';
import { writeToStream } from 'mqtt-packet';
import { Group, type Message } from '@kedge/protocol';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { EventBusError } from './errors';
import type { ExternalClient, ExternalMessage } from './external-client';
import { InternalBroker, type BrokerPublish } from './internal-broker';
import { EventBusMetrics, type Direction } from './metrics';
import { LOCAL_CLIENT_RULES, resolveOptions, type EventBusMode, type EventBusOptions, type LocalClientOptions, type MqttUser, type Qos, type ResolvedOptions } from './options';
import { checkFilter, checkTopic, topicClass, topicMatches } from './topics';
import { parseCloudMessage, uploadMessage } from './uploads';

export interface BusMessage {
  topic: string;
  payload: Buffer;
  qos: Qos;
  retain: boolean;
  /** which broker it was published on */
  source: 'internal' | 'external';
}

export type BusHandler = (message: BusMessage) => void | Promise<void>;

export interface SubscribeOptions {
  /**
   * The embedded broker acknowledges (PUBACK) a QoS 1 publish by an MQTT client on a matching topic only
   * after `handler`'s promise settles, e.g. after the write it caused is on disk. The handler then sees
   * such a publish before the broker delivers it to subscribers. QoS 0 publishes, and everything from
   * an external broker, reach the handler as usual, after delivery. Default false.
   */
  acknowledgeAfterHandler?: boolean;
}

export interface PublishOptions {
  /** default 0 */
  qos?: Qos;
  /** default false */
  retain?: boolean;
}

export interface EventBusState {
  mode: EventBusMode;
  running: boolean;
  internal: 'listening' | 'stopped' | 'disabled';
  external: 'connected' | 'disconnected' | 'disabled';
}

/** topics whose route EventBus remembers; a client naming ever new topics only restarts the memory */
const MAX_ROUTES = 4096;

interface TopicRoute {
  subscriptions: Subscription[];
  uploaded: boolean;
}

interface Subscription {
  filter: string;
  handler: BusHandler;
  acknowledgeAfterHandler: boolean;
}

export class EventBus {
  readonly #options: ResolvedOptions;
  readonly #send: EventBusOptions['send'];
  readonly #router: EventBusOptions['router'];
  readonly #logger: Logger;
  readonly #metrics: EventBusMetrics;
  readonly #logThrottle = new LogThrottle();
  readonly #subscriptions = new Set<Subscription>();
  readonly #uploadFilters: Set<string>;
  /** per topic: the subscriptions whose filter matches it, and whether it is uploaded; dropped when either set changes */
  readonly #routes = new Map<string, TopicRoute>();
  readonly #connectionObservers = new Set<(connected: boolean) => void>();
  #internal: InternalBroker | undefined;
  #external: ExternalClient | undefined;
  #unregister: (() => void) | undefined;
  #running = false;
  /** the in-process clients' account on the internal broker (mappers): random per start, never written anywhere */
  readonly #localUser: MqttUser = { username: `kedge-local-${randomBytes(6).toString('hex')}`, password: randomBytes(32).toString('base64url'), ...LOCAL_CLIENT_RULES, publish: [...LOCAL_CLIENT_RULES.publish], subscribe: [...LOCAL_CLIENT_RULES.subscribe] };

  /** Checks the options; nothing listens or connects before start(). @throws EventBusError INVALID_OPTION */
  constructor(options: EventBusOptions) {
    this.#options = resolveOptions(options);
    this.#send = options.send;
    this.#router = options.router;
    this.#logger = options.logger.child({ module: 'eventbus', mode: this.#options.mode });
    this.#metrics = new EventBusMetrics(options.registry);
    this.#uploadFilters = new Set(this.#options.uploadTopics);
  }

  get mode(): EventBusMode {
    return this.#options.mode;
  }

  /** The local bus is usable: the internal broker listens (internal, both) or the external one is connected (external). */
  get connected(): boolean {
    if (!this.#running) return false;
    return this.#options.mode === 'external' ? this.#external?.connected === true : this.#internal !== undefined;
  }

  get state(): EventBusState {
    const { mode } = this.#options;
    return {
      mode,
      running: this.#running,
      internal: mode === 'external' ? 'disabled' : this.#internal ? 'listening' : 'stopped',
      external: mode === 'internal' ? 'disabled' : this.#external?.connected ? 'connected' : 'disconnected',
    };
  }

  /** Where the internal broker listens (its real port when configured with 0). */
  get internalAddress(): { host: string; port: number } | undefined {
    return this.#internal?.address;
  }

  /**
   * How an in-process MQTT client (edgecore's mappers) reaches the bus: the internal broker with this
   * process's own random account (allowed to report and read deltas, never to publish one), or the
   * external broker with its configured credentials in external mode.
   */
  localClientOptions(): LocalClientOptions {
    const { mode, internal, external } = this.#options;
    if (mode === 'external') {
      if (external === undefined) throw new EventBusError('INVALID_OPTION', 'external mode without an external broker', 'external.url');
      return {
        url: external.url,
        ...(external.username === undefined ? {} : { username: external.username }),
        ...(external.password === undefined ? {} : { password: external.password }),
        ...(external.tls?.ca === undefined ? {} : { ca: external.tls.ca }),
        ...(external.tls?.cert === undefined ? {} : { cert: external.tls.cert }),
        ...(external.tls?.key === undefined ? {} : { key: external.tls.key }),
      };
    }
    const port = this.#internal?.address.port ?? internal.port;
    const host = internal.host === '0.0.0.0' ? '127.0.0.1' : internal.host === '::' ? '[::1]' : internal.host.includes(':') ? `[${internal.host}]` : internal.host;
    const { username, password } = this.#localUser;
    if (internal.tls === undefined) return { url: `mqtt://${host}:${port}`, username, password };
    // the broker's own certificate (or its CA) is pinned; the name in it need not be the loopback address
    return { url: `mqtts://${host}:${port}`, username, password, ca: internal.tls.ca ?? internal.tls.cert, checkServerIdentity: () => undefined };
  }

  /** Told when the external broker connects or disconnects (external and both modes). */
  onConnectionChange(observer: (connected: boolean) => void): () => void {
    this.#connectionObservers.add(observer);
    return () => this.#connectionObservers.delete(observer);
  }

  /** Listens and/or connects. The external broker may be down: its client keeps retrying. @throws EventBusError LISTEN_FAILED */
  async start(): Promise<void> {
    if (this.#running) return;
    // mqtt-packet (under aedes and the mqtt client) otherwise builds a cache of 65,536 two-byte Buffers on its
    // first packet: ~6.5 MB of heap on a gateway, to save one tiny allocation per packet id written
    writeToStream.cacheNumbers = false;
    const { mode, internal, external, maxPayloadBytes, nodeName } = this.#options;
    if (mode !== 'external') {
      this.#internal = await InternalBroker.start({
        host: internal.host,
        port: internal.port,
        ...(internal.tls === undefined ? {} : { tls: internal.tls }),
        users: [...internal.users, this.#localUser],
        anonymous: internal.anonymous,
        maxPayloadBytes,
        logger: this.#logger,
        hooks: {
          onClientPublish: (message) => this.#onInternalPublish(message),
          beforeAcknowledge: (message) => this.#beforeAcknowledge(message),
          onRefused: (topic, reason) => this.#bad(topic, reason),
          onAccessRefused: (reason, detail) => {
            this.#metrics.refused.inc({ reason });
            // the username and where from, never a password
            this.#logThrottle.run(`access:${reason}`, (suppressed) =>
              this.#logger.warn({ reason, ...detail, topic: detail.topic?.slice(0, 200), suppressed }, 'MQTT broker refused a client'),
            );
          },
        },
      });
      this.#metrics.connected.set({ broker: 'internal' }, 1);
      this.#logger.info(
        {
          ...this.#internal.address,
          tls: internal.tls !== undefined,
          users: internal.users.map((user) => user.username),
          anonymous: internal.anonymous === false ? 'refused' : 'loopback peers only',
        },
        'internal MQTT broker listening',
      );
    }
    if (mode !== 'internal' && external !== undefined) {
      this.#metrics.connected.set({ broker: 'external' }, 0);
      // mqtt.js is loaded only with an external broker: the embedded broker alone does not need it
      const { ExternalClient } = await import('./external-client');
      this.#external = new ExternalClient({
        ...external,
        nodeName,
        logger: this.#logger,
        onMessage: (message) => this.#onExternalMessage(message),
        onConnectionChange: (connected) => this.#onExternalConnection(connected),
      });
      for (const filter of this.#externalFilters()) this.#external.addFilter(filter);
      this.#external.start();
    }
    if (this.#router) this.#unregister = this.#router.register(Group.User, (message) => this.#onCloudMessage(message));
    this.#running = true;
  }

  /** Stops taking cloud messages, disconnects from the external broker and closes the internal one. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unregister?.();
    this.#unregister = undefined;
    await this.#external?.stop();
    this.#external = undefined;
    await this.#internal?.close();
    this.#internal = undefined;
    this.#metrics.connected.set({ broker: 'internal' }, 0);
    this.#metrics.connected.set({ broker: 'external' }, 0);
  }

  /**
   * Publishes on the local bus: the internal broker (internal, both: and to the external one when
   * connected) or the external broker (external). The bus's own handlers do not see it.
   * @throws (rejects with) EventBusError INVALID_TOPIC, NOT_RUNNING, NOT_CONNECTED (external mode), PUBLISH_FAILED
   */
  async publish(topic: string, payload: string | Uint8Array, options: PublishOptions = {}): Promise<void> {
    checkTopic(topic);
    if (!this.#running) throw new EventBusError('NOT_RUNNING', `cannot publish ${topic}: the eventbus is not running`);
    // a string goes to the embedded broker as it is (the packet writer encodes it): no copy per message
    const body = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const qos: Qos = options.qos === 1 ? 1 : 0;
    const retain = options.retain ?? false;
    if (this.#internal) {
      await this.#internal.publish(topic, body, qos, retain);
      if (this.#external?.connected) {
        await this.#external.publish(topic, typeof body === 'string' ? Buffer.from(body) : body, qos, retain).catch((error: unknown) => this.#warn('publish-external', 'not published to the external broker', error));
      }
    } else if (this.#external) {
      await this.#external.publish(topic, typeof body === 'string' ? Buffer.from(body) : body, qos, retain);
    }
    this.#count('published');
  }

  /**
   * Whether a (not retained) publish on `topic` can reach anyone, so a publisher may skip building it:
   * with the embedded broker alone, whether one of its clients subscribes to a matching filter (asked
   * again for every message: a late subscriber gets the messages after its SUBACK); true whenever an
   * external broker takes the publish (its subscribers are not known here) and when the bus is not
   * running (publish then fails as usual). Never skip a retained publish on its answer.
   */
  hasSubscribers(topic: string): boolean {
    if (!this.#running || this.#internal === undefined) return true;
    if (this.#external?.connected) return true;
    return this.#internal.hasSubscriber(topic);
  }

  /**
   * Calls `handler` for every message published on the local bus by an MQTT client that matches
   * `topicFilter`. A handler that throws or rejects is counted as a bad payload and logged.
   * @returns unsubscribe. @throws EventBusError INVALID_TOPIC
   */
  subscribe(topicFilter: string, handler: BusHandler, options: SubscribeOptions = {}): () => void {
    const filter = checkFilter(topicFilter);
    const subscription: Subscription = { filter, handler, acknowledgeAfterHandler: options.acknowledgeAfterHandler === true };
    this.#subscriptions.add(subscription);
    this.#routes.clear();
    if (this.#options.mode === 'external') this.#external?.addFilter(filter);
    return () => {
      if (!this.#subscriptions.delete(subscription)) return;
      this.#routes.clear();
      if (this.#options.mode === 'external' && !this.#externalFilters().includes(filter)) this.#external?.removeFilter(filter);
    };
  }

  /** The application topic filters currently uploaded to the cloud. */
  get uploadTopics(): string[] {
    return [...this.#uploadFilters];
  }

  // --- inbound ---

  #onInternalPublish(message: BrokerPublish): void {
    const { topic } = message;
    if (this.#options.mode === 'both' && this.#external?.connected && this.#options.bridgeTopics.some((filter) => topicMatches(filter, topic))) {
      this.#external.publish(topic, message.payload, message.qos, message.retain).then(
        () => this.#count('bridged_out'),
        (error: unknown) => this.#warn('bridge-out', 'bridge to the external broker failed', error),
      );
    }
    this.#deliver({ topic, payload: message.payload, qos: message.qos, retain: message.retain, source: 'internal' });
  }

  /** the handlers that hold the PUBACK of this client publish; undefined when none does */
  #beforeAcknowledge(message: BrokerPublish): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const subscription of this.#route(message.topic).subscriptions) {
      // a handler may unsubscribe another during this loop: the remembered route is a snapshot
      if (!subscription.acknowledgeAfterHandler || !this.#subscriptions.has(subscription)) continue;
      const busMessage: BusMessage = { topic: message.topic, payload: message.payload, qos: message.qos, retain: message.retain, source: 'internal' };
      try {
        const result = subscription.handler(busMessage);
        if (result instanceof Promise) waits.push(result.catch((error: unknown) => this.#handlerFailed(message.topic, error)));
      } catch (error) {
        this.#handlerFailed(message.topic, error);
      }
    }
    if (waits.length <= 1) return waits[0];
    return Promise.all(waits).then(() => undefined);
  }

  #onExternalMessage(message: ExternalMessage): void {
    if (message.payload.length > this.#options.maxPayloadBytes) {
      this.#bad(message.topic, `payload of ${message.payload.length} bytes is larger than ${this.#options.maxPayloadBytes}`);
      return;
    }
    if (this.#options.mode === 'both' && this.#internal) {
      // published as the broker itself: not seen again by #onInternalPublish, so never bridged back
      this.#internal.publish(message.topic, message.payload, message.qos, message.retain).then(
        () => this.#count('bridged_in'),
        (error: unknown) => this.#warn('bridge-in', 'bridge into the internal broker failed', error),
      );
    }
    this.#deliver({ ...message, source: 'external' });
  }

  #deliver(message: BusMessage): void {
    this.#count('received');
    // an internal client's QoS 1 publish already went to the handlers that hold its PUBACK
    const heldAcknowledgement = message.source === 'internal' && message.qos === 1;
    const route = this.#route(message.topic);
    for (const subscription of route.subscriptions) {
      if (!this.#subscriptions.has(subscription)) continue;
      if (heldAcknowledgement && subscription.acknowledgeAfterHandler) continue;
      try {
        const result = subscription.handler(message);
        if (result instanceof Promise) result.catch((error: unknown) => this.#handlerFailed(message.topic, error));
      } catch (error) {
        this.#handlerFailed(message.topic, error);
      }
    }
    if (this.#send && route.uploaded) this.#upload(message);
  }

  /**
   * The subscriptions matching `topic` and whether it is uploaded, remembered per topic: this ran for
   * every message and every subscription (twice for a held QoS 1 publish).
   */
  #route(topic: string): TopicRoute {
    let route = this.#routes.get(topic);
    if (route !== undefined) return route;
    const subscriptions: Subscription[] = [];
    for (const subscription of this.#subscriptions) if (topicMatches(subscription.filter, topic)) subscriptions.push(subscription);
    let uploaded = false;
    for (const filter of this.#uploadFilters) if (topicMatches(filter, topic)) uploaded = true;
    route = { subscriptions, uploaded };
    if (this.#routes.size >= MAX_ROUTES) this.#routes.clear();
    this.#routes.set(topic, route);
    return route;
  }

  #upload(message: BusMessage): void {
    const send = this.#send;
    if (!send) return;
    const failed = (error: unknown): void => {
      this.#count('upload_failed');
      this.#warn('upload', 'could not upload an application message to the cloud; dropped', error);
    };
    try {
      const result = send(uploadMessage(message.topic, message.payload));
      if (result instanceof Promise) result.then(() => this.#count('uploaded'), failed);
      else this.#count('uploaded');
    } catch (error) {
      failed(error);
    }
  }

  // --- cloud → edge ---

  async #onCloudMessage(message: Message): Promise<void> {
    let command;
    try {
      command = parseCloudMessage(message);
    } catch (error) {
      this.#bad(String(message.route.resource), (error as Error).message);
      return;
    }
    switch (command.kind) {
      case 'publish':
        await this.publish(command.topic, command.payload, { qos: 1 }).then(
          () => this.#count('from_cloud'),
          (error: unknown) => this.#warn('cloud-publish', 'could not publish a cloud message', error),
        );
        return;
      case 'subscribe':
        this.#uploadFilters.add(command.filter);
        this.#routes.clear();
        this.#syncExternalFilters();
        this.#logger.info({ filter: command.filter }, 'the cloud added an upload topic');
        return;
      case 'unsubscribe':
        this.#uploadFilters.delete(command.filter);
        this.#routes.clear();
        this.#syncExternalFilters();
        this.#logger.info({ filter: command.filter }, 'the cloud removed an upload topic');
        return;
      default:
        this.#logger.debug({ reason: command.reason }, 'ignored a cloud message for the eventbus');
    }
  }

  // --- helpers ---

  /** What the external client subscribes to: in external mode everything local, in both mode the bridged filters. */
  #externalFilters(): string[] {
    if (this.#options.mode === 'both') return this.#options.bridgeTopics;
    if (this.#options.mode === 'external') return [...new Set([...[...this.#subscriptions].map((s) => s.filter), ...this.#uploadFilters])];
    return [];
  }

  #syncExternalFilters(): void {
    if (this.#options.mode !== 'external' || !this.#external) return;
    for (const filter of this.#externalFilters()) this.#external.addFilter(filter);
  }

  #onExternalConnection(connected: boolean): void {
    this.#metrics.connected.set({ broker: 'external' }, connected ? 1 : 0);
    for (const observer of this.#connectionObservers) {
      try {
        observer(connected);
      } catch (error) {
        this.#logger.error({ error }, 'an eventbus connection observer failed');
      }
    }
  }

  #count(direction: Direction): void {
    this.#metrics.count(direction);
  }

  #bad(topic: string, reason: string): void {
    const topicClassLabel = topicClass(topic);
    this.#metrics.badPayloads.inc({ topic_class: topicClassLabel });
    this.#logThrottle.run(`bad:${topicClassLabel}`, (suppressed) =>
      this.#logger.warn({ topic: topic.slice(0, 200), reason, suppressed }, 'refused an MQTT message'),
    );
  }

  #handlerFailed(topic: string, error: unknown): void {
    this.#bad(topic, `handler failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  #warn(key: string, what: string, error: unknown): void {
    this.#logThrottle.run(key, (suppressed) => this.#logger.warn({ error: error instanceof Error ? error.message : String(error), suppressed }, what));
  }
}
