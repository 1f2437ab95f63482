// MapperHost: runs a DeviceRunner per configured device on one MQTT client, picking each device's driver by
// protocolName. A device whose config is bad is reported (typed error) and skipped; the others run.
import type { MqttClient } from 'mqtt';
import type { MapperConfig } from './config';
import type { DriverFactory } from './driver';
import { MapperError } from './errors';
import { deviceId } from './model';
import { DeviceRunner, type BackoffOptions } from './runner';
import type { MapperMetrics } from './metrics';
import type { DeviceState } from './twin';
import { BleDriver, type BleDriverOptions } from './ble/driver';
import { ModbusDriver } from './modbus/driver';
import { LazyOpcUaDriver } from './opcua/lazy-driver';
import type { OpcUaDriverDefaults } from './opcua/driver';
import { VirtualDriver } from './virtual/driver';

/** `opcua.pkiDir`: the OPC UA client PKI of devices whose spec names none (edgecore: `<dataDir>/opcua-pki`). */
export function defaultDrivers(ble: BleDriverOptions = {}, opcua: OpcUaDriverDefaults = {}): Record<string, DriverFactory> {
  return {
    modbus: (config, device) => new ModbusDriver(config, device),
    bluetooth: (config, device) => new BleDriver(config, device, ble),
    virtual: (config, device) => new VirtualDriver(config, device),
    opcua: (config, device) => new LazyOpcUaDriver(config, device, opcua),
  };
}

export interface MapperHostOptions {
  mqtt: MqttClient;
  config: MapperConfig;
  drivers?: Record<string, DriverFactory>;
  backoff?: BackoffOptions;
  metrics?: MapperMetrics;
  onError?: (error: MapperError) => void;
  onState?: (device: string, state: DeviceState) => void;
}

export class MapperHost {
  readonly runners: DeviceRunner[] = [];
  readonly errors: MapperError[] = [];

  constructor(private readonly options: MapperHostOptions) {}

  private report(error: unknown, device?: string): void {
    const e = error instanceof MapperError ? (device ? error.withDevice(device) : error) : new MapperError('CONFIG_INVALID', String(error), { device });
    this.errors.push(e);
    this.options.onError?.(e);
  }

  async start(): Promise<void> {
    const drivers = this.options.drivers ?? defaultDrivers();
    for (const [i, device] of this.options.config.devices.entries()) {
      const id = deviceId(device);
      try {
        const model = this.options.config.deviceModels.find((m) => m.metadata.name === device.spec.deviceModelRef.name);
        if (!model) throw new MapperError('CONFIG_INVALID', `model ${device.spec.deviceModelRef.name} not found`, { device: id, field: `devices[${i}].spec.deviceModelRef.name` });
        const factory = drivers[device.spec.protocol.protocolName];
        if (!factory) throw new MapperError('UNKNOWN_PROTOCOL', `no driver for ${device.spec.protocol.protocolName}`, { device: id, field: 'spec.protocol.protocolName' });
        const runner = new DeviceRunner({ device, model, driver: factory(device.spec.protocol.configData, id), mqtt: this.options.mqtt, backoff: this.options.backoff, metrics: this.options.metrics });
        runner.on('fault', (e) => this.options.onError?.(e));
        runner.on('state', (state) => this.options.onState?.(id, state));
        await runner.start();
        this.runners.push(runner);
      } catch (error) {
        this.report(error, id);
      }
    }
  }

  async stop(): Promise<void> {
    for (const runner of this.runners.splice(0)) await runner.stop();
  }
}
