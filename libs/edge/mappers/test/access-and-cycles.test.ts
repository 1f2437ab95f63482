// Model-level visitors (KubeEdge 1.22) with a Device override, and KubeEdge's cycle units, on a standalone
// mapper host: real aedes broker, real Modbus TCP device (modbus-serial's server).
import { deviceTopic } from '@kedge/device-api';
import { Cleanup, waitFor } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRunner, MapperHost, ModbusDriver, cycleMs, parseMapperConfig, type RawValue } from '../src/index';
import { connectClient, emptyTables, model, device, startBroker, startModbusServer } from './helpers';

/** The real Modbus driver, counting its reads. */
class CountingModbusDriver extends ModbusDriver {
  reads = 0;
  override async read(...args: Parameters<ModbusDriver['read']>): Promise<RawValue> {
    this.reads += 1;
    return super.read(...args);
  }
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

async function setup() {
  const broker = await startBroker();
  cleanup.add(() => broker.stop());
  const mapperClient = await connectClient(broker.url);
  cleanup.add(() => mapperClient.endAsync(true));
  const observer = await connectClient(broker.url);
  cleanup.add(() => observer.endAsync(true));
  const updates: Record<string, { actual?: { value?: string } }>[] = [];
  observer.on('message', (topic, payload) => {
    if (topic.endsWith('/twin/update')) updates.push((JSON.parse(payload.toString()) as { twin: Record<string, { actual?: { value?: string } }> }).twin);
  });
  await observer.subscribeAsync('$hw/events/device/#');
  const tables = emptyTables();
  const server = await startModbusServer(tables);
  cleanup.add(() => server.stop());
  return { mapperClient, updates, tables, port: server.port };
}

const valueOf = (updates: Record<string, { actual?: { value?: string } }>[], name: string) => updates.filter((u) => u[name]).map((u) => u[name]?.actual?.value);

describe('cycles', () => {
  it("cycles - KubeEdge's nanoseconds and kedge's milliseconds both read as milliseconds", () => {
    expect(cycleMs(10_000_000_000)).toBe(10_000);
    expect(cycleMs(1_000_000)).toBe(1);
    expect(cycleMs(250)).toBe(250);
    expect(cycleMs(undefined)).toBe(1000);
    expect(cycleMs(0)).toBe(1000);
    expect(cycleMs(-5)).toBe(1000);
    expect(cycleMs('500')).toBe(1000);
  });

  it('cycles - a reportCycle longer than the collectCycle: many reads per report', async () => {
    const { mapperClient, updates, tables, port } = await setup();
    tables.hr[0] = 7;
    const driver = new CountingModbusDriver({ slaveID: 1, ip: '127.0.0.1', port, timeoutMs: 1000 }, 'default/meter');
    const d = device('meter', 'meter', { protocolName: 'modbus', configData: {} }, [
      // KubeEdge units: 10 ms collect, 200 ms report (nanoseconds)
      { name: 'level', visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 0 } }, collectCycle: 10_000_000, reportCycle: 200_000_000 },
    ]);
    const runner = new DeviceRunner({ device: d, model: model('meter', [{ name: 'level', type: 'int', accessMode: 'ReadOnly' }]), driver, mqtt: mapperClient });
    cleanup.add(() => runner.stop());
    await runner.start();
    await waitFor(() => valueOf(updates, 'level').length >= 3, 'three reports');
    const reports = valueOf(updates, 'level').length;
    // 20 reads per report are planned; a loaded machine slips both timers alike, so far fewer would mean the cycles were mixed up
    expect(driver.reads / reports).toBeGreaterThan(4);
    expect(valueOf(updates, 'level')[0]).toBe('7');
  });
});

describe('model-level visitors', () => {
  it('visitors - a property without visitors on the Device uses the model property visitors; the Device overrides them', async () => {
    const { mapperClient, updates, tables, port } = await setup();
    tables.hr[3] = 30;
    tables.hr[4] = 40;
    tables.ir[9] = 99;
    const config = parseMapperConfig(`
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: tank}
spec:
  protocol: modbus
  properties:
    - {name: level, type: INT, accessMode: ReadOnly, visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 3}}}
    - {name: temp, type: INT, accessMode: ReadOnly, visitors: {protocolName: modbus, configData: {register: HoldingRegister, offset: 4}}}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: tank-1}
spec:
  deviceModelRef: {name: tank}
  protocol: {protocolName: modbus, configData: {slaveID: 1, ip: 127.0.0.1, port: ${port}}}
  properties:
    - {name: level, collectCycle: 20, reportCycle: 20}
    - {name: temp, collectCycle: 20, reportCycle: 20, visitors: {protocolName: modbus, configData: {register: InputRegister, offset: 9}}}
`);
    const host = new MapperHost({ mqtt: mapperClient, config });
    cleanup.add(() => host.stop());
    await host.start();
    expect(host.errors).toEqual([]);
    await waitFor(() => valueOf(updates, 'level').includes('30') && valueOf(updates, 'temp').includes('99'), 'level from the model visitor, temp from the Device override');
    expect(valueOf(updates, 'temp')).not.toContain('40');
    expect(deviceTopic('default/tank-1', 'twin/update')).toBe('$hw/events/device/default/tank-1/twin/update');
  });
});
