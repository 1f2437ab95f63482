// MapperManager: the mappers edgecore runs itself. It follows the DeviceTwin's membership events and
// runs a DeviceRunner per member device whose protocol has a built-in driver (modbus, bluetooth/ble,
// virtual), all on one MQTT client of the eventbus: a device added starts its mapper, one whose
// protocol, model or visitors changed restarts it, one removed stops it. The cloud's Device objects
// are kept in a file as sent, so mappers run again after an offline restart.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DevicesChangedEvent, DeviceTwin } from '@kedge/devicetwin';
import type { Logger } from '@kedge/telemetry';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { DriverFactory } from '../driver';
import { MapperError } from '../errors';
import { defaultDrivers } from '../host';
import type { MapperMetrics } from '../metrics';
import { DeviceRunner, type BackoffOptions } from '../runner';
import { fingerprint, mapperObjects, mapperSpecOf, type MapperSpec } from './member-spec';

/** Credentials and TLS for the mappers' MQTT client (the shape of EventBus.localClientOptions() without url). */
export interface BrokerLogin {
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  checkServerIdentity?: () => undefined;
}

export interface MapperManagerOptions {
  /** whose membership to follow (DeviceTwin from @kedge/devicetwin) */
  twin: Pick<DeviceTwin, 'devices' | 'onDevicesChanged'>;
  /** the broker the twin serves on, e.g. the eventbus's embedded one */
  brokerUrl: string;
  /** how to authenticate there (username, password, TLS), e.g. EventBus.localClientOptions(); never logged */
  brokerOptions?: BrokerLogin;
  /** where member devices' Device objects are kept across restarts, e.g. <dataDir>/mappers.json (written 0600: configData may hold credentials) */
  file: string;
  nodeName: string;
  logger: Logger;
  /** drivers by protocol name (default: defaultDrivers()) */
  drivers?: Record<string, DriverFactory>;
  backoff?: BackoffOptions;
  metrics?: MapperMetrics;
  /**
   * Protocols an out-of-process (DMI) mapper serves, e.g. DeviceManager from @kedge/dmi: their devices get
   * no built-in mapper here; `onChange` re-checks when a DMI mapper registers.
   */
  external?: { protocols(): string[]; onMappersChanged(listener: () => void): () => void };
}

interface RunningMapper {
  fingerprint: string;
  /** undefined when the device has nothing to map or its spec was refused; retried only when the spec changes */
  runner: DeviceRunner | undefined;
}

export class MapperManager {
  readonly #options: MapperManagerOptions;
  readonly #drivers: Record<string, DriverFactory>;
  /** member devices a built-in driver serves: the cloud's Device object (what is saved) and the spec read from it */
  readonly #specs = new Map<string, { source: Record<string, unknown>; spec: MapperSpec }>();
  readonly #running = new Map<string, RunningMapper>();
  /** the mappers' MQTT client, connected when the first mapper starts */
  #mqtt: Promise<MqttClient> | undefined;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeExternal: (() => void) | undefined;
  /** reconciles run one after another, so a restart never overlaps the stop before it */
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: MapperManagerOptions) {
    this.#options = options;
    // OPC UA's client PKI beside mappers.json, in edgecore's data dir (0700), not in a shared /tmp
    this.#drivers = options.drivers ?? defaultDrivers({}, { pkiDir: join(dirname(options.file), 'opcua-pki') });
  }

  /**
   * Loads the saved Device objects, follows the twin, and starts the mappers of the current members in
   * the background (a runner waits for the broker; settled() resolves once they are started).
   */
  start(): void {
    this.#load();
    this.#unsubscribe = this.#options.twin.onDevicesChanged((event) => this.#onDevicesChanged(event));
    this.#unsubscribeExternal = this.#options.external?.onMappersChanged(() => this.#reconcile());
    this.#reconcile();
  }

  /** Ids (`<namespace>/<name>`) of the devices whose mapper is running. */
  running(): string[] {
    return [...this.#running].filter(([, mapper]) => mapper.runner !== undefined).map(([id]) => id).sort();
  }

  /** Resolves once the changes seen so far are applied to the running mappers. */
  async settled(): Promise<void> {
    await this.#chain;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribeExternal?.();
    await this.#chain;
    for (const mapper of this.#running.values()) await mapper.runner?.stop();
    this.#running.clear();
    const mqtt = await this.#mqtt;
    await mqtt?.endAsync(true);
  }

  /**
   * The client all mappers share, connected on first use: a gateway without mapped devices holds no MQTT
   * connection and does not load mqtt.js.
   */
  #client(): Promise<MqttClient> {
    this.#mqtt ??= import('mqtt').then(({ connect }) => {
      const { brokerUrl, nodeName, logger } = this.#options;
      // not connectAsync: an external broker that is down must not hold up edgecore; mqtt.js queues until it is up
      const login: IClientOptions = { ...this.#options.brokerOptions };
      const client = connect(brokerUrl, { ...login, clientId: `kedge-mappers-${nodeName}-${process.pid}`, reconnectPeriod: 500 });
      client.on('error', (error) => logger.warn({ error: error.message }, 'mapper MQTT client error'));
      return client;
    });
    return this.#mqtt;
  }

  #onDevicesChanged(event: DevicesChangedEvent): void {
    for (const change of event.changes) if (change.reason === 'deleted') this.#specs.delete(change.id);
    for (const [id, source] of event.sources) {
      const spec = mapperSpecOf(source);
      if (spec === undefined) this.#specs.delete(id);
      else this.#specs.set(id, { source, spec });
    }
    this.#reconcile();
  }

  #reconcile(): void {
    this.#chain = this.#chain
      .then(() => this.#apply())
      .catch((error: unknown) => this.#options.logger.error({ error }, 'mapper reconcile failed'));
  }

  /** Runs a mapper per member device with a spec; stops the others and those whose spec changed. */
  async #apply(): Promise<void> {
    if (this.#stopped) return;
    const { logger } = this.#options;
    const members = new Set(this.#options.twin.devices().map((device) => device.id));
    for (const id of [...this.#specs.keys()]) if (!members.has(id)) this.#specs.delete(id);
    this.#save();
    const external = new Set(this.#options.external?.protocols().map((p) => p.toLowerCase()));
    const served = (spec: MapperSpec | undefined): MapperSpec | undefined => (spec === undefined || external.has(spec.protocol.protocolName.toLowerCase()) ? undefined : spec);
    for (const [id, mapper] of [...this.#running]) {
      const spec = served(this.#specs.get(id)?.spec);
      if (spec !== undefined && fingerprint(spec) === mapper.fingerprint) continue;
      this.#running.delete(id);
      await mapper.runner?.stop();
      if (mapper.runner !== undefined) logger.info({ device: id }, 'mapper stopped');
    }
    for (const [id, { spec }] of this.#specs) {
      if (this.#running.has(id) || served(spec) === undefined) continue;
      this.#running.set(id, { fingerprint: fingerprint(spec), runner: await this.#startRunner(id, spec) });
    }
  }

  async #startRunner(id: string, spec: MapperSpec): Promise<DeviceRunner | undefined> {
    const { logger } = this.#options;
    try {
      const { device, model } = mapperObjects(spec);
      if (device.spec.properties.length === 0) return undefined;
      const protocolName = device.spec.protocol.protocolName;
      const factory = this.#drivers[protocolName];
      if (factory === undefined) throw new MapperError('UNKNOWN_PROTOCOL', `no driver for ${protocolName}`, { device: id, field: 'protocol.protocolName' });
      const runner = new DeviceRunner({ device, model, driver: factory(device.spec.protocol.configData, id), mqtt: await this.#client(), backoff: this.#options.backoff, metrics: this.#options.metrics });
      runner.on('fault', (error) => {
        // a refused login or an unsupported pushMethod needs the operator; transient I/O faults do not
        const level = error.code === 'AUTH_FAILED' || error.code === 'UNSUPPORTED_PUSH_METHOD' || error.code === 'CONFIG_INVALID' ? 'warn' : 'debug';
        logger[level]({ device: id, error: error.message, code: error.code, property: error.property, field: error.field }, 'mapper fault');
      });
      runner.on('state', (state) => logger.info({ device: id, state }, 'mapped device state'));
      await runner.start();
      logger.info({ device: id, protocol: protocolName, properties: device.spec.properties.length }, 'mapper started');
      return runner;
    } catch (error) {
      // a bad spec is not retried until the device's spec changes
      logger.warn({ device: id, error: (error as Error).message }, 'cannot run a mapper for this device');
      return undefined;
    }
  }

  #load(): void {
    const { file, logger } = this.#options;
    try {
      if (!existsSync(file)) return;
      const saved: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!Array.isArray(saved)) throw new Error('is not a JSON array of Device objects');
      for (const source of saved) {
        const spec = mapperSpecOf(source);
        if (spec) this.#specs.set(`${spec.namespace}/${spec.name}`, { source: source as Record<string, unknown>, spec });
      }
    } catch (error) {
      // the cloud sends the specs again with its next membership list
      logger.warn({ error: (error as Error).message, file }, 'cannot read saved mapper specs');
    }
  }

  #save(): void {
    const { file, logger } = this.#options;
    try {
      const temporary = `${file}.tmp`;
      writeFileSync(temporary, JSON.stringify([...this.#specs.values()].map((member) => member.source)), { mode: 0o600 });
      renameSync(temporary, file);
    } catch (error) {
      logger.warn({ error: (error as Error).message, file }, 'cannot save mapper specs');
    }
  }
}
