import { deviceTopic } from '@kedge/device-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { Cleanup, waitFor } from '@kedge/testkit';
import { DeviceRunner, MapperError, MapperHost, VirtualDriver, ModbusDriver, parseMapperConfig, type TwinUpdateMessage } from '../src/index';
import { connectClient, device, emptyTables, model, startBroker, startModbusServer, type Broker } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Received {
  topic: string;
  payload: Record<string, unknown>;
}

async function setup(): Promise<{ broker: Broker; mapperClient: MqttClient; observer: MqttClient; received: Received[] }> {
  const broker = await startBroker();
  cleanup.add(() => broker.stop());
  const mapperClient = await connectClient(broker.url);
  cleanup.add(() => mapperClient.endAsync(true));
  const observer = await connectClient(broker.url);
  cleanup.add(() => observer.endAsync(true));
  const received: Received[] = [];
  observer.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
  await observer.subscribeAsync('$hw/events/device/#');
  return { broker, mapperClient, observer, received };
}

const thermoModel = model('thermo', [
  { name: 'temperature', type: 'float', accessMode: 'ReadOnly', minimum: -20, maximum: 50, unit: 'C' },
  { name: 'setpoint', type: 'int', accessMode: 'ReadWrite', minimum: 5, maximum: 30 },
]);

const thermo = device('thermo-1', 'thermo', { protocolName: 'virtual', configData: {} }, [
  { name: 'temperature', visitors: { protocolName: 'virtual', configData: { kind: 'randomWalk', step: 1 } }, collectCycle: 20, reportCycle: 40 },
  { name: 'setpoint', visitors: { protocolName: 'virtual', configData: { kind: 'setpoint', initial: 20 } }, collectCycle: 20, reportCycle: 40 },
]);

function twinUpdates(received: Received[], id: string): TwinUpdateMessage[] {
  return received.filter((r) => r.topic === deviceTopic(id, 'twin/update')).map((r) => r.payload as unknown as TwinUpdateMessage);
}

describe('device runner', () => {
  it('runner - publishes online state and KubeEdge-shaped twin updates to a real broker', async () => {
    const { mapperClient, received } = await setup();
    const runner = new DeviceRunner({ device: thermo, model: thermoModel, driver: new VirtualDriver({}, 'default/thermo-1'), mqtt: mapperClient });
    cleanup.add(() => runner.stop());
    await runner.start();
    const id = 'default/thermo-1';
    await waitFor(() => received.some((r) => r.topic === `$hw/events/device/${id}/state/update`), 'state update');
    expect(received.find((r) => r.topic.endsWith('/state/update'))?.payload).toMatchObject({ state: 'online', event_id: expect.any(String), timestamp: expect.any(Number) });
    await waitFor(() => twinUpdates(received, id).some((m) => m.twin.temperature) && twinUpdates(received, id).some((m) => m.twin.setpoint), 'twin updates');
    const temp = twinUpdates(received, id).find((m) => m.twin.temperature);
    expect(temp).toMatchObject({
      event_id: expect.any(String),
      timestamp: expect.any(Number),
      twin: { temperature: { actual: { value: expect.any(String), metadata: { timestamp: expect.any(Number) } }, metadata: { type: 'float' } } },
    });
    const value = Number(temp?.twin.temperature?.actual?.value);
    expect(value).toBeGreaterThanOrEqual(-20);
    expect(value).toBeLessThanOrEqual(50);
    expect(twinUpdates(received, id).find((m) => m.twin.setpoint)?.twin.setpoint).toMatchObject({ actual: { value: '20' }, metadata: { type: 'int' } });
  });

  it('runner - a twin delta writes a ReadWrite property and reports the read-back; ReadOnly and out-of-range are refused', async () => {
    const { mapperClient, observer, received } = await setup();
    const runner = new DeviceRunner({ device: thermo, model: thermoModel, driver: new VirtualDriver({}, 'default/thermo-1'), mqtt: mapperClient });
    const errors: MapperError[] = [];
    runner.on('fault', (e) => errors.push(e));
    cleanup.add(() => runner.stop());
    await runner.start();
    await waitFor(() => runner.state === 'online', 'online');
    const id = 'default/thermo-1';
    const delta = (d: Record<string, string>) => observer.publishAsync(deviceTopic(id, 'twin/update/delta'), JSON.stringify({ event_id: 'e1', timestamp: Date.now(), twin: {}, delta: d }));
    await delta({ setpoint: '25' });
    await waitFor(() => twinUpdates(received, id).some((m) => m.twin.setpoint?.actual?.value === '25'), 'setpoint 25 reported');
    expect(runner.values.setpoint).toBe(25);
    await delta({ temperature: '10' });
    await waitFor(() => errors.some((e) => e.code === 'NOT_WRITABLE'), 'NOT_WRITABLE');
    await delta({ setpoint: '99' });
    await waitFor(() => errors.some((e) => e.code === 'VALUE_OUT_OF_RANGE'), 'VALUE_OUT_OF_RANGE');
    expect(errors.find((e) => e.code === 'VALUE_OUT_OF_RANGE')).toMatchObject({ device: id, property: 'setpoint' });
    expect(runner.values.setpoint).toBe(25);
  });

  it('runner - a modbus device goes offline when the peer stops and online again when it returns; deltas write registers', async () => {
    const { mapperClient, observer, received } = await setup();
    const tables = emptyTables();
    tables.hr[0] = 215;
    const server = await startModbusServer(tables);
    let stopServer: () => Promise<void> = server.stop;
    cleanup.add(() => stopServer());
    const m = model('meter', [
      { name: 'temperature', type: 'float', accessMode: 'ReadOnly' },
      { name: 'relay', type: 'boolean', accessMode: 'ReadWrite' },
      { name: 'limit', type: 'int', accessMode: 'ReadWrite', minimum: 0, maximum: 1000 },
    ]);
    const d = device('meter-1', 'meter', { protocolName: 'modbus', configData: { slaveID: 1, ip: '127.0.0.1', port: server.port, timeoutMs: 500 } }, [
      { name: 'temperature', visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 0, dataType: 'int16', scale: 0.1 } }, collectCycle: 20, reportCycle: 40 },
      { name: 'relay', visitors: { protocolName: 'modbus', configData: { register: 'CoilRegister', offset: 1 } }, collectCycle: 20, reportCycle: 40 },
      { name: 'limit', desired: { value: '640' }, visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 5, dataType: 'uint16' } }, collectCycle: 20, reportCycle: 40 },
    ]);
    const id = 'default/meter-1';
    const runner = new DeviceRunner({ device: d, model: m, driver: new ModbusDriver(d.spec.protocol.configData, id), mqtt: mapperClient, backoff: { initialMs: 50, maxMs: 200 } });
    cleanup.add(() => runner.stop());
    await runner.start();
    await waitFor(() => twinUpdates(received, id).some((u) => u.twin.temperature?.actual?.value === '21.5'), 'temperature 21.5');
    await waitFor(() => twinUpdates(received, id).some((u) => u.twin.limit?.actual?.value === '640'), 'spec desired value written at start');

    await observer.publishAsync(deviceTopic(id, 'twin/update/delta'), JSON.stringify({ delta: { relay: 'true', limit: '750' } }));
    await waitFor(() => tables.co[1] === true && tables.hr[5] === 750, 'coil and register written');
    await waitFor(() => twinUpdates(received, id).some((u) => u.twin.limit?.actual?.value === '750'), 'limit read back');

    const states = () => received.filter((r) => r.topic === deviceTopic(id, 'state/update')).map((r) => r.payload.state);
    await stopServer();
    await waitFor(() => states().at(-1) === 'offline', 'offline');
    const restarted = await startModbusServer(tables, server.port);
    stopServer = restarted.stop;
    await waitFor(() => states().at(-1) === 'online', 'online again');
    expect(states()).toEqual(['online', 'offline', 'online']);
    tables.hr[0] = 300;
    await waitFor(() => twinUpdates(received, id).some((u) => u.twin.temperature?.actual?.value === '30'), 'fresh reading after reconnect');
  });
});

describe('bad configs', () => {
  it('config - unknown register type and offset out of range are typed errors naming device and field', () => {
    const m = model('meter', [{ name: 't', type: 'int', accessMode: 'ReadOnly' }]);
    const mk = (configData: Record<string, unknown>) =>
      device('bad', 'meter', { protocolName: 'modbus', configData: { ip: '127.0.0.1', port: 1502 } }, [{ name: 't', visitors: { protocolName: 'modbus', configData } }]);
    const build = (configData: Record<string, unknown>) => {
      const d = mk(configData);
      return () => new DeviceRunner({ device: d, model: m, driver: new ModbusDriver(d.spec.protocol.configData, 'default/bad'), mqtt: {} as MqttClient });
    };
    expect(build({ register: 'MagicRegister', offset: 0 })).toThrow(MapperError);
    try {
      build({ register: 'MagicRegister', offset: 0 })();
    } catch (e) {
      expect(e).toMatchObject({ code: 'UNKNOWN_REGISTER', device: 'default/bad', field: 'visitors.configData.register' });
      expect((e as Error).message).toContain('default/bad');
    }
    expect(build({ register: 'HoldingRegister', offset: 70000 })).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE', field: 'visitors.configData.offset', device: 'default/bad' }));
    expect(build({ register: 'HoldingRegister', offset: 65535, limit: 2 })).toThrow(expect.objectContaining({ code: 'OFFSET_OUT_OF_RANGE', field: 'visitors.configData.limit' }));
    expect(build({ register: 'CoilRegister', offset: 0, dataType: 'float32' })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_TYPE' }));
    expect(() => new ModbusDriver({ port: 502 }, 'default/bad')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'protocol.configData' }));
    expect(() => new ModbusDriver({ ip: 'x', slaveID: 300 }, 'default/bad')).toThrow(expect.objectContaining({ field: 'protocol.configData.slaveID' }));
  });

  it('config - a host skips bad devices with typed errors and runs the good ones', async () => {
    const { mapperClient, received } = await setup();
    const config = parseMapperConfig(`
deviceModels:
  - metadata: {name: thermo}
    spec:
      properties:
        - {name: temperature, type: FLOAT, accessMode: ReadOnly, minimum: 0, maximum: 40}
devices:
  - metadata: {name: good, namespace: lab}
    spec:
      deviceModelRef: {name: thermo}
      protocol: {protocolName: virtual}
      properties:
        - {name: temperature, collectCycle: 20, reportCycle: 40, visitors: {protocolName: virtual, configData: {kind: randomWalk}}}
  - metadata: {name: bad-register, namespace: lab}
    spec:
      deviceModelRef: {name: thermo}
      protocol: {protocolName: modbus, configData: {ip: 127.0.0.1, port: 1502}}
      properties:
        - {name: temperature, visitors: {protocolName: modbus, configData: {register: Holding, offset: 0}}}
  - metadata: {name: no-model}
    spec:
      deviceModelRef: {name: missing}
      protocol: {protocolName: virtual}
      properties: []
  - metadata: {name: zigbee}
    spec:
      deviceModelRef: {name: thermo}
      protocol: {protocolName: zigbee}
      properties: []
`);
    const host = new MapperHost({ mqtt: mapperClient, config });
    cleanup.add(() => host.stop());
    await host.start();
    expect(host.runners.map((r) => r.id)).toEqual(['lab/good']);
    expect(host.errors.map((e) => [e.code, e.device, e.field])).toEqual([
      ['UNKNOWN_REGISTER', 'lab/bad-register', 'visitors.configData.register'],
      ['CONFIG_INVALID', 'default/no-model', 'devices[2].spec.deviceModelRef.name'],
      ['UNKNOWN_PROTOCOL', 'default/zigbee', 'spec.protocol.protocolName'],
    ]);
    await waitFor(() => twinUpdates(received, 'lab/good').length > 0, 'good device reports');
  });

  it('config - malformed YAML and bad model fields are typed errors', () => {
    expect(() => parseMapperConfig('devices: [')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'yaml' }));
    expect(() => parseMapperConfig('kind: DeviceModel\nmetadata: {name: m}\nspec: {properties: [{name: x, type: BYTES}]}')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_TYPE', field: 'deviceModels[0].spec.properties[0].type' }),
    );
    expect(() => parseMapperConfig('kind: Device\nmetadata: {name: d}\nspec: {deviceModelRef: {name: m}}')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', device: 'default/d', field: 'spec.protocol.protocolName' }),
    );
  });
});
