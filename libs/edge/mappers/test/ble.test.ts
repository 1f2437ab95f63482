import { deviceTopic } from '@kedge/device-api';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, waitFor } from '@kedge/testkit';
import { BleDriver, DeviceRunner, MapperError, convertBleData, converterProblem, type NobleBindings, type PropertyVisitor } from '../src/index';
import { FakeNobleBindings } from './fixtures/fake-noble-bindings';
import { connectClient, device, model, startBroker } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const MAC = 'AA:BB:CC:DD:EE:01';
const TEMP = '2a6e';
const SWITCH = '2a56';
const DEV = 'default/ble-1';

function visitor(name: string, type: 'float' | 'int' | 'string', configData: Record<string, unknown>): PropertyVisitor {
  return { device: DEV, property: { name, type, accessMode: 'ReadWrite' }, protocolName: 'bluetooth', configData };
}

describe('ble data converter', () => {
  it('ble converter - concatenates decimal forms of the byte range like KubeEdge', () => {
    // bytes 0x01, 0x0c → "1" + "12" → 112
    expect(convertBleData(Buffer.from([0x01, 0x0c]))).toBe(112);
    expect(convertBleData(Buffer.from([9, 1, 12, 7]), { startIndex: 1, endIndex: 2 })).toBe(112);
    expect(convertBleData(Buffer.from([9, 1, 12, 7]), { startIndex: 2, endIndex: 1 })).toBe(121);
  });

  it('ble converter - shifts and then applies operations in order', () => {
    expect(convertBleData(Buffer.from([5]), { shiftLeft: 2 })).toBe(20);
    expect(convertBleData(Buffer.from([20]), { shiftRight: 2 })).toBe(5);
    const ops = [
      { operationType: 'Subtract' as const, operationValue: 10 },
      { operationType: 'Multiply' as const, operationValue: 3 },
      { operationType: 'Divide' as const, operationValue: 2 },
      { operationType: 'Add' as const, operationValue: 0.5 },
    ];
    expect(convertBleData(Buffer.from([20]), { orderOfOperations: ops })).toBe(15.5);
  });

  it('ble converter - single bytes pass through unchanged, any range stays within its bytes', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), (b) => {
        expect(convertBleData(Buffer.from([b]))).toBe(b);
      }));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const s = a % bytes.length;
        const e = b % bytes.length;
        expect(Number.isInteger(convertBleData(bytes, { startIndex: s, endIndex: e }))).toBe(true);
      }),
    );
    expect(() => convertBleData(Buffer.from([1]), { startIndex: 0, endIndex: 3 })).toThrow(RangeError);
  });

  it('ble converter - config problems name the field', () => {
    expect(converterProblem({ orderOfOperations: [{ operationType: 'Power', operationValue: 2 }] })?.field).toBe('dataConverter.orderOfOperations[0].operationType');
    expect(converterProblem({ orderOfOperations: [{ operationType: 'Divide', operationValue: 0 }] })?.message).toBe('division by zero');
    expect(converterProblem({ startIndex: -1 })?.field).toBe('dataConverter.startIndex');
    expect(converterProblem({ startIndex: 0, orderOfOperations: [] })).toBeUndefined();
  });
});

describe('ble driver with a fake noble binding', () => {
  function fake(): FakeNobleBindings {
    return new FakeNobleBindings(MAC.toLowerCase(), { [TEMP]: Buffer.from([0x00, 0x02, 0x0f]), [SWITCH]: Buffer.from([0]) });
  }

  async function connected(bindings: FakeNobleBindings): Promise<BleDriver> {
    const driver = new BleDriver({ macAddress: MAC, scanTimeoutMs: 5000 }, DEV, { bindings: () => bindings as unknown as NobleBindings });
    await driver.connect();
    cleanup.add(() => driver.close());
    return driver;
  }

  it('ble - connects by MAC, reads a characteristic through the converter and writes one', async () => {
    const bindings = fake();
    const driver = await connected(bindings);
    const temp = visitor('temperature', 'float', {
      characteristicUUID: '00002A6E-0000-1000-8000-00805F9B34FB'.slice(4, 8),
      dataConverter: { startIndex: 1, endIndex: 2, orderOfOperations: [{ operationType: 'Divide', operationValue: 10 }] },
    });
    // bytes 2, 15 → "215" → 21.5
    expect(await driver.read(temp)).toBe(21.5);
    const sw = visitor('switch', 'int', { characteristicUUID: SWITCH, dataWrite: { '1': [0x01, 0xff], '0': [0x00] } });
    await driver.write(sw, 1);
    expect(bindings.characteristics.get(SWITCH)?.writes.at(-1)).toEqual(Buffer.from([0x01, 0xff]));
    await driver.write(sw, 300);
    expect(bindings.characteristics.get(SWITCH)?.writes.at(-1)).toEqual(Buffer.from([0x01, 0x2c]));
  });

  it('ble - notifications reach a subscriber until it unsubscribes', async () => {
    const bindings = fake();
    const driver = await connected(bindings);
    const seen: unknown[] = [];
    const off = await driver.subscribe(visitor('temperature', 'float', { characteristicUUID: TEMP, dataConverter: { startIndex: 2, endIndex: 2 } }), (v) => seen.push(v));
    expect(bindings.characteristics.get(TEMP)?.notifying).toBe(true);
    bindings.push(TEMP, Buffer.from([0, 0, 42]));
    await waitFor(() => seen.includes(42), 'notification 42');
    await off();
    await waitFor(() => bindings.characteristics.get(TEMP)?.notifying === false, 'unsubscribed');
  });

  it('ble - unknown characteristic, absent device and bad config are typed errors', async () => {
    const bindings = fake();
    const driver = await connected(bindings);
    await expect(driver.read(visitor('x', 'int', { characteristicUUID: 'ffff' }))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      field: 'visitors.configData.characteristicUUID',
    });
    const absent = fake();
    absent.present = false;
    const lost = new BleDriver({ macAddress: MAC, scanTimeoutMs: 100 }, DEV, { bindings: () => absent as unknown as NobleBindings });
    await expect(lost.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED', device: DEV });
    expect(() => new BleDriver({ macAddress: 'nope' }, DEV)).toThrow(MapperError);
    expect(() => driver.validate(visitor('x', 'int', { characteristicUUID: TEMP, dataConverter: { orderOfOperations: [{ operationType: 'Mod', operationValue: 1 }] } }))).toThrow(
      expect.objectContaining({ field: 'visitors.configData.dataConverter.orderOfOperations[0].operationType' }),
    );
  });

  it('ble - a DeviceRunner reports notified values and writes deltas over MQTT', async () => {
    const broker = await startBroker();
    cleanup.add(() => broker.stop());
    const client = await connectClient(broker.url);
    cleanup.add(() => client.endAsync(true));
    const observer = await connectClient(broker.url);
    cleanup.add(() => observer.endAsync(true));
    const updates: Record<string, { actual?: { value: string } }>[] = [];
    observer.on('message', (_t, p) => updates.push((JSON.parse(p.toString()) as { twin: Record<string, { actual?: { value: string } }> }).twin));
    await observer.subscribeAsync(deviceTopic(DEV, 'twin/update'));
    const bindings = fake();
    const m = model('ble-sensor', [
      { name: 'temperature', type: 'float', accessMode: 'ReadOnly' },
      { name: 'switch', type: 'int', accessMode: 'ReadWrite', minimum: 0, maximum: 1 },
    ]);
    const d = device('ble-1', 'ble-sensor', { protocolName: 'bluetooth', configData: { macAddress: MAC } }, [
      {
        name: 'temperature',
        reportCycle: 30,
        visitors: { protocolName: 'bluetooth', configData: { characteristicUUID: TEMP, notify: true, dataConverter: { startIndex: 1, endIndex: 2, orderOfOperations: [{ operationType: 'Divide', operationValue: 10 }] } } },
      },
      { name: 'switch', collectCycle: 30, reportCycle: 30, visitors: { protocolName: 'bluetooth', configData: { characteristicUUID: SWITCH } } },
    ]);
    const runner = new DeviceRunner({ device: d, model: m, driver: new BleDriver({ macAddress: MAC }, DEV, { bindings: () => bindings as unknown as NobleBindings }), mqtt: client });
    cleanup.add(() => runner.stop());
    await runner.start();
    await waitFor(() => bindings.characteristics.get(TEMP)?.notifying === true, 'subscribed');
    bindings.push(TEMP, Buffer.from([0, 2, 33]));
    await waitFor(() => updates.some((t) => t.temperature?.actual?.value === '23.3'), 'temperature 23.3 reported');
    await observer.publishAsync(deviceTopic(DEV, 'twin/update/delta'), JSON.stringify({ delta: { switch: '1' } }));
    await waitFor(() => updates.some((t) => t.switch?.actual?.value === '1'), 'switch read back as 1');
    expect(bindings.characteristics.get(SWITCH)?.writes.at(-1)).toEqual(Buffer.from([1]));
  });
});
