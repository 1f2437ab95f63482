// Devices on the edge: the EventBus (embedded MQTT broker and/or an external broker) and the
// DeviceTwin on top of it. The twin's reports go through MetaManager's durable outbox (group `twin`,
// resource `<ns>/twin/<name>`), so they survive restarts and offline periods.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import type { EdgeHub } from '@kedge/edgehub';
import { EventBus, type EventBusOptions } from '@kedge/eventbus';
import { defaultDrivers, DeviceRunner, type Device as MapperDevice, type DeviceModel as MapperModel } from '@kedge/mappers';
import type { MetaManager } from '@kedge/metamanager';
import { Group, type Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import { connect, type MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';

export interface RunningDevices {
  /** the embedded broker's real port (when it runs) */
  mqttPort: number | undefined;
  stop(): Promise<void>;
}

export async function startDevices(
  config: EdgeCoreConfig,
  deps: { router: MessageRouter; hub: EdgeHub; metaManager: MetaManager; logger: Logger; registry: Registry },
): Promise<RunningDevices> {
  const { router, hub, metaManager, logger, registry } = deps;
  const { eventBus: busConfig } = config;
  if (!busConfig.enable) return { mqttPort: undefined, stop: async () => undefined };
  const options: EventBusOptions = {
    mode: busConfig.mode,
    nodeName: config.nodeName,
    internal: { host: busConfig.internal.address, port: busConfig.internal.port },
    send: (message) => hub.send(message),
    router,
    logger: logger.child({ module: 'eventbus' }),
    registry,
  };
  if (busConfig.external !== undefined) options.external = { url: busConfig.external.url };
  const bus = new EventBus(options);
  await bus.start();

  let twin: DeviceTwin | undefined;
  let store: TwinStore | undefined;
  let unsubscribe: (() => void) | undefined;
  let mappers: EdgeMappers | undefined;
  if (config.deviceTwin.enable) {
    const twinStore = new TwinStore({ file: join(config.dataDir, 'devicetwin.db') });
    store = twinStore;
    const brokerUrl = busConfig.mode === 'external' ? busConfig.external?.url : `mqtt://${hostOf(busConfig.internal.address)}:${bus.internalAddress?.port ?? busConfig.internal.port}`;
    if (config.mappers.enable && brokerUrl !== undefined) {
      mappers = new EdgeMappers({ store: twinStore, brokerUrl, file: join(config.dataDir, 'mappers.json'), nodeName: config.nodeName, logger: logger.child({ module: 'mappers' }) });
    }
    const deviceTwin = new DeviceTwin({
      store,
      bus,
      router: mappers === undefined ? router : mappers.observe(router),
      reporter: metaManager,
      answer: (message) => hub.send(message),
      nodeName: config.nodeName,
      logger: logger.child({ module: 'devicetwin' }),
      registry,
    });
    twin = deviceTwin;
    mappers?.reconcile();
    // the outbox keeps the latest report per device; a reconnect re-reports them all anyway
    unsubscribe = hub.onConnectionChange((connected) => {
      if (connected) deviceTwin.reportAll();
    });
  }
  return {
    mqttPort: bus.internalAddress?.port,
    async stop() {
      unsubscribe?.();
      await mappers?.stop();
      twin?.stop();
      await bus.stop();
      store?.close();
    },
  };
}

const hostOf = (address: string): string => (address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address);

/** What a mapper needs of one member device, as the cloud's membership carries it (the twin store keeps no visitors). */
interface MapperSpec {
  namespace: string;
  name: string;
  model: { name: string; properties: Record<string, unknown>[] };
  protocol: { protocolName: string; configData: Record<string, unknown> };
  properties: { name: string; desired?: { value: string }; visitors?: { protocolName?: string; configData?: Record<string, unknown> }; collectCycle?: number; reportCycle?: number }[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const PROTOCOLS: Record<string, string> = { modbus: 'modbus', bluetooth: 'bluetooth', ble: 'bluetooth', virtual: 'virtual' };

function mapperSpecOf(raw: unknown): MapperSpec | undefined {
  if (!isObject(raw) || typeof raw['namespace'] !== 'string' || typeof raw['name'] !== 'string') return undefined;
  const protocol = raw['protocol'];
  const model = raw['model'];
  if (!isObject(protocol) || typeof protocol['protocolName'] !== 'string' || !isObject(model) || typeof model['name'] !== 'string') return undefined;
  if (PROTOCOLS[protocol['protocolName'].toLowerCase()] === undefined) return undefined;
  // membership: `properties` carries desired values, `propertyVisitors` how a mapper reaches each property
  const desired = new Map<string, unknown>();
  for (const p of Array.isArray(raw['properties']) ? raw['properties'].filter(isObject) : []) desired.set(String(p['name']), p['desired']);
  const properties = (Array.isArray(raw['propertyVisitors']) ? raw['propertyVisitors'].filter(isObject) : []).map((p) => {
    const wanted = desired.get(String(p['name']));
    return isObject(wanted) && wanted['value'] !== undefined ? { ...p, desired: { value: String(wanted['value']) } } : p;
  });
  return {
    namespace: raw['namespace'],
    name: raw['name'],
    model: { name: model['name'], properties: Array.isArray(model['properties']) ? model['properties'].filter(isObject) : [] },
    protocol: { protocolName: protocol['protocolName'], configData: isObject(protocol['configData']) ? protocol['configData'] : {} },
    properties: properties as MapperSpec['properties'],
  };
}

/** the mapper's Device and DeviceModel for a spec; only properties with visitors are mapped */
function mapperObjects(spec: MapperSpec): { device: MapperDevice; model: MapperModel } {
  const protocolName = PROTOCOLS[spec.protocol.protocolName.toLowerCase()] ?? spec.protocol.protocolName;
  const model: MapperModel = {
    metadata: { name: spec.model.name, namespace: spec.namespace },
    spec: {
      properties: spec.model.properties.map((p) => {
        const out: MapperModel['spec']['properties'][number] = {
          name: String(p['name']),
          type: String(p['type'] ?? 'string').toLowerCase() as MapperModel['spec']['properties'][number]['type'],
          accessMode: p['accessMode'] === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
        };
        if (p['minimum'] !== undefined && Number.isFinite(Number(p['minimum']))) out.minimum = Number(p['minimum']);
        if (p['maximum'] !== undefined && Number.isFinite(Number(p['maximum']))) out.maximum = Number(p['maximum']);
        if (typeof p['unit'] === 'string') out.unit = p['unit'];
        return out;
      }),
    },
  };
  const device: MapperDevice = {
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: {
      deviceModelRef: { name: spec.model.name },
      protocol: { protocolName, configData: spec.protocol.configData },
      properties: spec.properties
        .filter((p) => p.visitors !== undefined)
        .map((p) => {
          const out: MapperDevice['spec']['properties'][number] = {
            name: p.name,
            visitors: { protocolName: p.visitors?.protocolName ?? protocolName, configData: p.visitors?.configData ?? {} },
          };
          if (p.desired?.value !== undefined) out.desired = { value: String(p.desired.value) };
          if (typeof p.collectCycle === 'number') out.collectCycle = p.collectCycle;
          if (typeof p.reportCycle === 'number') out.reportCycle = p.reportCycle;
          return out;
        }),
    },
  };
  return { device, model };
}

/** restart a runner only when what it reads changes (not on desired or status-only resourceVersion bumps) */
const fingerprint = (spec: MapperSpec): string =>
  JSON.stringify({ model: spec.model, protocol: spec.protocol, properties: spec.properties.map((p) => ({ ...p, desired: undefined })) });

/**
 * Mappers inside edgecore: a DeviceRunner per member device whose protocol is modbus, bluetooth/ble or
 * virtual, on one MQTT client of the eventBus. Membership comes from the twin store; the protocol and
 * visitors from the cloud's down messages (kept in `<dataDir>/mappers.json` so they run offline after a restart).
 */
class EdgeMappers {
  readonly #specs = new Map<string, MapperSpec>();
  readonly #running = new Map<string, { fingerprint: string; runner: DeviceRunner | undefined }>();
  readonly #mqtt: MqttClient;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(private readonly options: { store: TwinStore; brokerUrl: string; file: string; nodeName: string; logger: Logger }) {
    this.#mqtt = connect(options.brokerUrl, { clientId: `kedge-mappers-${options.nodeName}-${process.pid}`, reconnectPeriod: 500 });
    this.#mqtt.on('error', (error) => options.logger.warn({ error: error.message }, 'mapper MQTT client error'));
    try {
      if (existsSync(options.file)) {
        const saved: unknown = JSON.parse(readFileSync(options.file, 'utf8'));
        if (Array.isArray(saved)) for (const raw of saved) {
          const spec = mapperSpecOf(raw);
          if (spec) this.#specs.set(`${spec.namespace}/${spec.name}`, spec);
        }
      }
    } catch (error) {
      options.logger.warn({ error: (error as Error).message, file: options.file }, 'cannot read saved mapper specs');
    }
  }

  /** a router for the DeviceTwin that lets us see group `twin` down messages after the twin applied them */
  observe(router: MessageRouter): MessageRouter {
    return new Proxy(router, {
      get: (target, prop) => {
        if (prop === 'register') {
          return (group: string, handler: (message: Message) => unknown) =>
            target.register(group, group === Group.Twin ? async (message: Message) => {
              await handler(message);
              this.#onDown(message);
            } : (handler as Parameters<MessageRouter['register']>[1]));
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  #onDown(message: Message): void {
    const content: unknown = message.content;
    const resource = String(message.route?.resource ?? '');
    if (resource.includes('/membership/') && isObject(content) && Array.isArray(content['devices'])) {
      const specs = content['devices'].map(mapperSpecOf);
      const keep = new Set<string>();
      for (const spec of specs) if (spec) keep.add(`${spec.namespace}/${spec.name}`);
      for (const id of [...this.#specs.keys()]) if (!keep.has(id)) this.#specs.delete(id);
      for (const spec of specs) if (spec) this.#specs.set(`${spec.namespace}/${spec.name}`, spec);
    } else if (resource.includes('/device/') && message.route.operation !== 'delete') {
      const spec = mapperSpecOf(content);
      if (spec) this.#specs.set(`${spec.namespace}/${spec.name}`, spec);
    }
    this.reconcile();
  }

  /** runs a runner per member device with a mapper spec; stops the others (serialized) */
  reconcile(): void {
    this.#chain = this.#chain.then(() => this.#reconcile()).catch((error: unknown) => this.options.logger.error({ error }, 'mapper reconcile failed'));
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped) return;
    const members = new Set(this.options.store.devices().map((d) => d.id));
    for (const id of [...this.#specs.keys()]) if (!members.has(id)) this.#specs.delete(id);
    this.#save();
    for (const [id, running] of [...this.#running]) {
      const spec = this.#specs.get(id);
      if (spec !== undefined && fingerprint(spec) === running.fingerprint) continue;
      this.#running.delete(id);
      await running.runner?.stop();
      this.options.logger.info({ device: id }, 'mapper stopped');
    }
    const drivers = defaultDrivers();
    for (const [id, spec] of this.#specs) {
      if (this.#running.has(id)) continue;
      const print = fingerprint(spec);
      try {
        const { device, model } = mapperObjects(spec);
        if (device.spec.properties.length === 0) {
          this.#running.set(id, { fingerprint: print, runner: undefined });
          continue;
        }
        const factory = drivers[device.spec.protocol.protocolName];
        if (factory === undefined) throw new Error(`no driver for ${device.spec.protocol.protocolName}`);
        const runner = new DeviceRunner({ device, model, driver: factory(device.spec.protocol.configData, id), mqtt: this.#mqtt });
        runner.on('fault', (error) => this.options.logger.debug({ device: id, error: error.message, code: error.code }, 'mapper fault'));
        runner.on('state', (state) => this.options.logger.info({ device: id, state }, 'mapped device state'));
        await runner.start();
        this.#running.set(id, { fingerprint: print, runner });
        this.options.logger.info({ device: id, protocol: device.spec.protocol.protocolName, properties: device.spec.properties.length }, 'mapper started');
      } catch (error) {
        // a bad config is not retried until the device's spec changes
        this.#running.set(id, { fingerprint: print, runner: undefined });
        this.options.logger.warn({ device: id, error: (error as Error).message }, 'cannot run a mapper for this device');
      }
    }
  }

  #save(): void {
    try {
      const tmp = `${this.options.file}.tmp`;
      writeFileSync(tmp, JSON.stringify([...this.#specs.values()]));
      renameSync(tmp, this.options.file);
    } catch (error) {
      this.options.logger.warn({ error: (error as Error).message }, 'cannot save mapper specs');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#chain;
    for (const running of this.#running.values()) await running.runner?.stop();
    this.#running.clear();
    await this.#mqtt.endAsync(true);
  }
}
