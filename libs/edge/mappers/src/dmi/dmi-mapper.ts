// DmiMapper: kedge's mappers as an out-of-process DMI mapper. It registers one protocol with edgecore
// (MapperRegister), runs a DeviceRunner with the built-in driver for every device edgecore hands over
// (in the registration answer, then RegisterDevice/UpdateDevice/RemoveDevice), and reports through
// DMI. A device whose spec changed is restarted; a change of desired values only is written as a delta.
import { fromPbDevice, MapperLink, DmiError, type PbDevice, type PbDeviceModel } from '@kedge/dmi';
import type { Logger } from '@kedge/telemetry';
import type { DriverFactory } from '../driver';
import { defaultDrivers } from '../host';
import type { MapperMetrics } from '../metrics';
import type { Device, DeviceModel } from '../model';
import { DeviceRunner, type BackoffOptions } from '../runner';
import { DmiTwinChannel } from './twin-channel';

export interface DmiMapperOptions {
  edgecoreSocket: string;
  socketPath: string;
  /** the protocol this mapper registers for; its driver is `drivers[protocol]` */
  protocol: string;
  name?: string;
  logger: Logger;
  drivers?: Record<string, DriverFactory>;
  backoff?: BackoffOptions;
  metrics?: MapperMetrics;
}

interface RunningDevice {
  pb: PbDevice;
  fingerprint: string;
  desired: Record<string, string>;
  runner: DeviceRunner;
}

export class DmiMapper {
  readonly #options: DmiMapperOptions;
  readonly #link: MapperLink;
  readonly #channel: DmiTwinChannel;
  readonly #models = new Map<string, PbDeviceModel>();
  readonly #devices = new Map<string, RunningDevice>();
  /** device changes apply one after another */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: DmiMapperOptions) {
    this.#options = options;
    const serial = <T>(work: () => Promise<T>): Promise<T> => {
      const next = this.#chain.then(work);
      this.#chain = next.then(() => undefined, () => undefined);
      return next;
    };
    this.#link = new MapperLink({
      edgecoreSocket: options.edgecoreSocket,
      socketPath: options.socketPath,
      name: options.name ?? `kedge-${options.protocol}-mapper`,
      protocol: options.protocol,
      handlers: {
        registerDevice: (device) => serial(() => this.#apply(device)),
        updateDevice: (device) => serial(() => this.#apply(device)),
        removeDevice: (namespace, name) => serial(() => this.#remove(`${namespace}/${name}`)),
        createDeviceModel: (model) => void this.#models.set(modelKey(model.namespace, model.name), model),
        updateDeviceModel: (model) => void this.#models.set(modelKey(model.namespace, model.name), model),
        removeDeviceModel: (namespace, name) => void this.#models.delete(modelKey(namespace, name)),
        getDevice: (namespace, name) => this.#view(`${namespace}/${name}`),
      },
    });
    this.#channel = new DmiTwinChannel(this.#link);
  }

  /** Serves the mapper socket, registers and starts the devices of the answer. */
  async start(): Promise<void> {
    const answer = await this.#link.start();
    await this.#resync(answer.modelList, answer.deviceList);
  }

  /** Registers again (e.g. after edgecore restarted): the answer replaces every device. */
  async reregister(): Promise<void> {
    const answer = await this.#link.register();
    await this.#resync(answer.modelList, answer.deviceList);
  }

  /** Ids of the devices with a runner. */
  running(): string[] {
    return [...this.#devices.keys()].sort();
  }

  async stop(): Promise<void> {
    await this.#chain;
    for (const id of [...this.#devices.keys()]) await this.#remove(id);
    await this.#link.stop();
  }

  async #resync(models: PbDeviceModel[], devices: PbDevice[]): Promise<void> {
    this.#models.clear();
    for (const model of models) this.#models.set(modelKey(model.namespace, model.name), model);
    const ids = new Set(devices.map((d) => `${d.namespace || 'default'}/${d.name}`));
    for (const id of [...this.#devices.keys()]) if (!ids.has(id)) await this.#remove(id);
    for (const device of devices) {
      try {
        await this.#apply(device);
      } catch (error) {
        this.#options.logger.warn({ device: device.name, error: (error as Error).message }, 'cannot run a device from the registration answer');
      }
    }
  }

  /** RegisterDevice / UpdateDevice. @throws DmiError naming the field edgecore got wrong */
  async #apply(pb: PbDevice): Promise<void> {
    const mapped = fromPbDevice(pb, this.#models.get(modelKey(pb.namespace, pb.spec?.deviceModelReference ?? '')), 'device');
    const id = `${mapped.device.metadata.namespace}/${mapped.device.metadata.name}`;
    if (mapped.device.spec.protocol.protocolName !== this.#options.protocol) {
      throw new DmiError('INVALID_ARGUMENT', `is ${mapped.device.spec.protocol.protocolName}, this mapper serves ${this.#options.protocol}`, 'device.spec.protocol.protocolName');
    }
    const desired: Record<string, string> = {};
    for (const p of mapped.device.spec.properties) if (p.desired) desired[p.name] = p.desired.value;
    const fingerprint = JSON.stringify({ ...mapped, device: { ...mapped.device, spec: { ...mapped.device.spec, properties: mapped.device.spec.properties.map((p) => ({ ...p, desired: undefined })) } } });
    const running = this.#devices.get(id);
    if (running !== undefined && running.fingerprint === fingerprint) {
      running.pb = pb;
      const changed = Object.fromEntries(Object.entries(desired).filter(([name, value]) => running.desired[name] !== value));
      running.desired = desired;
      if (Object.keys(changed).length > 0) this.#channel.deliverDesired(id, changed);
      return;
    }
    if (running !== undefined) await this.#remove(id);
    const factory = (this.#options.drivers ?? defaultDrivers())[this.#options.protocol];
    if (factory === undefined) throw new DmiError('FAILED_PRECONDITION', `this mapper has no driver for ${this.#options.protocol}`, 'device.spec.protocol.protocolName');
    const device = { ...mapped.device, spec: { ...mapped.device.spec, properties: mapped.device.spec.properties.filter((p) => p.visitors !== undefined) } } as Device;
    const model = mapped.model as DeviceModel;
    let runner: DeviceRunner;
    try {
      runner = new DeviceRunner({ device, model, driver: factory(device.spec.protocol.configData, id), mqtt: this.#channel.asMqtt(), backoff: this.#options.backoff, metrics: this.#options.metrics });
    } catch (error) {
      const e = error as Error & { field?: string };
      throw new DmiError('INVALID_ARGUMENT', e.message, e.field === undefined ? 'device.spec' : `device.${e.field}`, { cause: error });
    }
    const { logger } = this.#options;
    runner.on('fault', (e) => logger.debug({ device: id, code: e.code, error: e.message }, 'mapper fault'));
    runner.on('state', (state) => logger.info({ device: id, state }, 'mapped device state'));
    await runner.start();
    this.#devices.set(id, { pb, fingerprint, desired, runner });
    logger.info({ device: id, protocol: this.#options.protocol }, 'DMI device started');
  }

  async #remove(id: string): Promise<void> {
    const running = this.#devices.get(id);
    if (running === undefined) return;
    this.#devices.delete(id);
    await running.runner.stop();
    this.#options.logger.info({ device: id }, 'DMI device stopped');
  }

  #view(id: string): PbDevice | undefined {
    const running = this.#devices.get(id);
    if (running === undefined) return undefined;
    const values = running.runner.values;
    const twins = Object.entries(values).flatMap(([propertyName, value]) => (value === undefined ? [] : [{ propertyName, reported: { value: String(value), metadata: {} }, observedDesired: null }]));
    return { ...running.pb, status: { twins, reportToCloud: true, reportCycle: 0 } };
  }
}

function modelKey(namespace: string, name: string): string {
  return `${namespace || 'default'}/${name}`;
}
