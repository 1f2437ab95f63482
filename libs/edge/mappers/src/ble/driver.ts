// Bluetooth LE driver on @abandonware/noble, loaded lazily (it throws at load on machines without Bluetooth).
// Device protocol configData: `{macAddress, scanTimeoutMs?}`. Visitor configData: `{characteristicUUID,
// dataConverter?, dataWrite?: {<value>: number[]}, notify?: boolean}`.
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { ProtocolDriver, RawValue } from '../driver';
import { MapperError } from '../errors';
import type { PropertyVisitor } from '../model';
import { convertBleData, converterProblem, type DataConverter } from './converter';

/** the lowest noble layer (hci-socket, mac, …): an EventEmitter with init/startScanning/connect/read/write/notify */
export type NobleBindings = EventEmitter & Record<string, unknown>;

interface NobleCharacteristic {
  uuid: string;
  readAsync(): Promise<Buffer>;
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>;
  subscribeAsync(): Promise<void>;
  unsubscribeAsync(): Promise<void>;
  on(event: 'data', listener: (data: Buffer, isNotification: boolean) => void): void;
  removeListener(event: 'data', listener: (data: Buffer, isNotification: boolean) => void): void;
}

interface NoblePeripheral {
  address: string;
  state: string;
  connectAsync(): Promise<void>;
  disconnectAsync(): Promise<void>;
  discoverAllServicesAndCharacteristicsAsync(): Promise<{ characteristics: NobleCharacteristic[] }>;
  once(event: 'disconnect', listener: () => void): void;
}

interface Noble {
  state: string;
  on(event: 'discover', listener: (p: NoblePeripheral) => void): void;
  once(event: 'stateChange', listener: (state: string) => void): void;
  removeListener(event: 'discover', listener: (p: NoblePeripheral) => void): void;
  startScanningAsync(uuids?: string[], allowDuplicates?: boolean): Promise<void>;
  stopScanningAsync(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** noble over the given bindings, or the platform's default bindings (throws BLE_UNAVAILABLE without Bluetooth) */
export function loadNoble(bindings?: NobleBindings): Noble {
  try {
    if (bindings) return (require('@abandonware/noble/with-bindings') as (b: NobleBindings) => Noble)(bindings);
    return require('@abandonware/noble') as Noble;
  } catch (error) {
    throw new MapperError('BLE_UNAVAILABLE', `cannot load noble: ${(error as Error).message}`, { cause: error });
  }
}

export const normalizeUuid = (uuid: string): string => uuid.toLowerCase().replace(/-/g, '');

export interface BleDriverOptions {
  /** creates the bindings noble runs on (tests pass a fake); default: the platform's */
  bindings?: () => NobleBindings;
}

export class BleDriver implements ProtocolDriver {
  readonly protocolName = 'bluetooth';
  private readonly mac: string;
  private readonly scanTimeoutMs: number;
  private noble: Noble | undefined;
  private peripheral: NoblePeripheral | undefined;
  private characteristics = new Map<string, NobleCharacteristic>();

  constructor(protocolConfig: Record<string, unknown>, private readonly device: string, private readonly options: BleDriverOptions = {}) {
    const mac = protocolConfig.macAddress;
    if (typeof mac !== 'string' || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) {
      throw new MapperError('CONFIG_INVALID', `macAddress ${String(mac)} is not aa:bb:cc:dd:ee:ff`, { device, field: 'protocol.configData.macAddress' });
    }
    this.mac = mac.toLowerCase();
    this.scanTimeoutMs = typeof protocolConfig.scanTimeoutMs === 'number' ? protocolConfig.scanTimeoutMs : 10_000;
  }

  validate(visitor: PropertyVisitor): void {
    const c = visitor.configData;
    const ctx = (field: string) => ({ device: visitor.device, property: visitor.property.name, field: `visitors.configData.${field}` });
    if (typeof c.characteristicUUID !== 'string' || !/^[0-9a-f-]{4,36}$/i.test(c.characteristicUUID)) {
      throw new MapperError('CONFIG_INVALID', `characteristicUUID ${String(c.characteristicUUID)}`, ctx('characteristicUUID'));
    }
    const problem = converterProblem(c.dataConverter);
    if (problem) throw new MapperError('CONFIG_INVALID', problem.message, ctx(problem.field));
  }

  async connect(): Promise<void> {
    await this.close();
    this.noble ??= loadNoble(this.options.bindings?.());
    const noble = this.noble;
    if (noble.state !== 'poweredOn') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new MapperError('CONNECT_FAILED', `adapter is ${noble.state}`, { device: this.device })), this.scanTimeoutMs);
        noble.once('stateChange', (state) => {
          clearTimeout(timer);
          if (state === 'poweredOn') resolve();
          else reject(new MapperError('CONNECT_FAILED', `adapter is ${state}`, { device: this.device }));
        });
      });
    }
    const peripheral = await new Promise<NoblePeripheral>((resolve, reject) => {
      const onDiscover = (p: NoblePeripheral): void => {
        if (p.address?.toLowerCase() !== this.mac) return;
        clearTimeout(timer);
        noble.removeListener('discover', onDiscover);
        resolve(p);
      };
      const timer = setTimeout(() => {
        noble.removeListener('discover', onDiscover);
        reject(new MapperError('CONNECT_FAILED', `${this.mac} not found within ${this.scanTimeoutMs} ms`, { device: this.device }));
      }, this.scanTimeoutMs);
      noble.on('discover', onDiscover);
      noble.startScanningAsync([], false).catch((error: unknown) => {
        clearTimeout(timer);
        reject(new MapperError('CONNECT_FAILED', `scan: ${(error as Error).message}`, { device: this.device, cause: error }));
      });
    }).finally(() => noble.stopScanningAsync().catch(() => undefined));
    try {
      await peripheral.connectAsync();
      const { characteristics } = await peripheral.discoverAllServicesAndCharacteristicsAsync();
      this.characteristics = new Map(characteristics.map((c) => [normalizeUuid(c.uuid), c]));
    } catch (error) {
      throw new MapperError('CONNECT_FAILED', `connect ${this.mac}: ${(error as Error).message}`, { device: this.device, cause: error });
    }
    this.peripheral = peripheral;
    peripheral.once('disconnect', () => {
      if (this.peripheral === peripheral) this.peripheral = undefined;
    });
  }

  private characteristic(visitor: PropertyVisitor): NobleCharacteristic {
    if (!this.peripheral) throw new MapperError('NOT_CONNECTED', `${this.mac} is not connected`, { device: this.device, property: visitor.property.name });
    const uuid = normalizeUuid(String(visitor.configData.characteristicUUID));
    const c = this.characteristics.get(uuid);
    if (!c) {
      throw new MapperError('CONFIG_INVALID', `characteristic ${uuid} not found on ${this.mac}`, {
        device: this.device,
        property: visitor.property.name,
        field: 'visitors.configData.characteristicUUID',
      });
    }
    return c;
  }

  private decode(visitor: PropertyVisitor, data: Buffer): RawValue {
    if (visitor.property.type === 'string') return data.toString('utf8');
    try {
      return convertBleData(data, visitor.configData.dataConverter as DataConverter | undefined);
    } catch (error) {
      throw new MapperError('VALUE_INVALID', (error as Error).message, { device: this.device, property: visitor.property.name, field: 'visitors.configData.dataConverter' });
    }
  }

  async read(visitor: PropertyVisitor): Promise<RawValue> {
    const c = this.characteristic(visitor);
    let data: Buffer;
    try {
      data = await c.readAsync();
    } catch (error) {
      throw new MapperError('IO_FAILED', `read ${c.uuid}: ${(error as Error).message}`, { device: this.device, property: visitor.property.name, cause: error });
    }
    return this.decode(visitor, data);
  }

  /** bytes for a value: the visitor's `dataWrite[value]` if given (KubeEdge), else the number as one big-endian byte…4 bytes */
  encode(visitor: PropertyVisitor, value: RawValue): Buffer {
    const table = visitor.configData.dataWrite as Record<string, number[]> | undefined;
    const mapped = table?.[String(value)];
    if (mapped) return Buffer.from(mapped);
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    const n = typeof value === 'boolean' ? Number(value) : Math.round(value);
    if (n < 0 || n > 0xffffffff) throw new MapperError('VALUE_INVALID', `${n} does not fit 4 bytes`, { device: this.device, property: visitor.property.name });
    const size = n <= 0xff ? 1 : n <= 0xffff ? 2 : 4;
    const buf = Buffer.alloc(size);
    buf.writeUIntBE(n, 0, size);
    return buf;
  }

  async write(visitor: PropertyVisitor, value: RawValue): Promise<void> {
    const c = this.characteristic(visitor);
    const data = this.encode(visitor, value);
    try {
      await c.writeAsync(data, false);
    } catch (error) {
      throw new MapperError('IO_FAILED', `write ${c.uuid}: ${(error as Error).message}`, { device: this.device, property: visitor.property.name, cause: error });
    }
  }

  async subscribe(visitor: PropertyVisitor, listener: (value: RawValue) => void): Promise<() => Promise<void>> {
    const c = this.characteristic(visitor);
    const onData = (data: Buffer): void => {
      try {
        listener(this.decode(visitor, data));
      } catch {
        // a malformed notification is dropped; the next one may be fine
      }
    };
    c.on('data', onData);
    await c.subscribeAsync();
    return async () => {
      c.removeListener('data', onData);
      if (this.peripheral) await c.unsubscribeAsync().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    const p = this.peripheral;
    this.peripheral = undefined;
    this.characteristics.clear();
    if (p && p.state === 'connected') await p.disconnectAsync().catch(() => undefined);
  }
}
