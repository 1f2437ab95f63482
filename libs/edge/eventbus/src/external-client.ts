// The link to an external broker (e.g. mosquitto): one mqtt.js client with MQTT 5, its own
// reconnect loop, subscriptions re-made on every connect, and `noLocal` on every subscription so
// what this process publishes never comes back to it (no echo, no bridge loops).
import { randomBytes } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { EventBusError } from './errors';
import type { ExternalBrokerOptions, Qos } from './options';

export interface ExternalMessage {
  topic: string;
  payload: Buffer;
  qos: Qos;
  retain: boolean;
}

export interface ExternalClientConfig extends ExternalBrokerOptions {
  nodeName: string;
  logger: Logger;
  onMessage(message: ExternalMessage): void;
  onConnectionChange(connected: boolean): void;
}

export class ExternalClient {
  readonly #config: ExternalClientConfig;
  readonly #filters = new Set<string>();
  readonly #logThrottle = new LogThrottle(60_000);
  #client: MqttClient | undefined;
  #connected = false;

  constructor(config: ExternalClientConfig) {
    this.#config = config;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Starts connecting; resolves at once (the broker may be down; the client keeps retrying). */
  start(): void {
    const { url, username, password, tls, nodeName, logger } = this.#config;
    const options: IClientOptions = {
      clientId: this.#config.clientId ?? `kedge-eventbus-${nodeName}-${randomBytes(4).toString('hex')}`,
      protocolVersion: 5,
      clean: true,
      resubscribe: false,
      reconnectPeriod: this.#config.reconnectPeriodMs ?? 2_000,
      connectTimeout: this.#config.connectTimeoutMs ?? 10_000,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
      ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls?.cert === undefined ? {} : { cert: tls.cert }),
      ...(tls?.key === undefined ? {} : { key: tls.key }),
    };
    const client = connect(url, options);
    this.#client = client;
    client.on('connect', () => {
      this.#setConnected(true);
      logger.info({ url }, 'connected to the external MQTT broker');
      for (const filter of this.#filters) this.#subscribe(filter);
    });
    client.on('close', () => this.#setConnected(false));
    client.on('error', (error) =>
      this.#logThrottle.run('error', (suppressed) => logger.warn({ url, error: error.message, suppressed }, 'external MQTT broker unreachable; retrying')),
    );
    client.on('message', (topic, payload, packet) => {
      try {
        this.#config.onMessage({ topic, payload, qos: packet.qos === 0 ? 0 : 1, retain: packet.retain });
      } catch (error) {
        logger.error({ error, topic }, 'eventbus hook failed on an external message');
      }
    });
  }

  /** Subscribes now if connected, and again after every reconnect. */
  addFilter(filter: string): void {
    if (this.#filters.has(filter)) return;
    this.#filters.add(filter);
    if (this.#connected) this.#subscribe(filter);
  }

  removeFilter(filter: string): void {
    if (!this.#filters.delete(filter)) return;
    if (this.#connected) this.#client?.unsubscribeAsync(filter).catch(() => undefined);
  }

  /** @throws (rejects with) EventBusError NOT_CONNECTED while the broker is unreachable, PUBLISH_FAILED */
  async publish(topic: string, payload: Buffer, qos: Qos, retain: boolean): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.#connected) throw new EventBusError('NOT_CONNECTED', `external broker ${this.#config.url} is not connected; ${topic} not published`);
    try {
      await client.publishAsync(topic, payload, { qos, retain });
    } catch (error) {
      throw new EventBusError('PUBLISH_FAILED', `external broker refused ${topic}: ${(error as Error).message}`, 'topic', { cause: error });
    }
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    await client.endAsync(true);
    this.#setConnected(false);
  }

  #subscribe(filter: string): void {
    // qos 1, noLocal, retain-as-published: a bridge must keep the retain flag it saw
    this.#client?.subscribeAsync(filter, { qos: 1, nl: true, rap: true }).catch((error: unknown) =>
      this.#config.logger.warn({ filter, error: (error as Error).message }, 'external broker refused a subscription'),
    );
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#config.onConnectionChange(connected);
  }
}
