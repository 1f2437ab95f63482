// Desired values, device methods and reporting options through a real edge: a DeviceTwin on a real TwinStore
// file, the EventBus's aedes broker on 127.0.0.1:0, the MapperManager running the real Modbus driver against
// modbus-serial's TCP server (the "device"; its register tables stand for the device's panel). Cloud
// messages are the DeviceController's membership lists. The twin sends a delta after every report that
// differs from the desired value, as KubeEdge's does: that is what used to overwrite a change at the device.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METHOD_INVOKE_FILTER, deviceTopic, methodTopic } from '@kedge/device-api';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import { EventBus } from '@kedge/eventbus';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { Cleanup, waitFor } from '@kedge/testkit';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MapperManager } from '../src/index';
import { connectClient, emptyTables, startModbusServer, type ModbusTables } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const NODE = 'gw-1';
const ID = 'default/valve';
const logger = createLogger({ name: 'desired-values-test', level: 'silent' });

interface Edge {
  store: TwinStore;
  router: MessageRouter;
  observer: MqttClient;
  seen: { topic: string; payload: Record<string, unknown> }[];
  tables: ModbusTables;
  port: number;
  url: string;
}

/** An application allowed to invoke device methods (anonymous clients are not). */
const OPERATOR = { username: 'operator', password: 'operator-secret-1', publish: [METHOD_INVOKE_FILTER], subscribe: ['$hw/events/#'] };

async function startEdge(): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-desired-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry();
  const bus = new EventBus({ nodeName: NODE, logger, registry, internal: { port: 0, users: [OPERATOR] } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const store = new TwinStore({ file: join(dir, 'devicetwin.db') });
  cleanup.add(() => store.close());
  const router = new MessageRouter({ onHandlerError: (error) => console.error('handler failed', error) });
  cleanup.add(() => router.close());
  const twin = new DeviceTwin({ store, bus, router, reporter: { report: () => 0 }, nodeName: NODE, logger, registry });
  cleanup.add(() => twin.stop());
  const url = `mqtt://127.0.0.1:${bus.internalAddress?.port ?? 0}`;
  const tables = emptyTables();
  const server = await startModbusServer(tables);
  cleanup.add(() => server.stop());
  const manager = new MapperManager({ twin, brokerUrl: url, file: join(dir, 'mappers.json'), nodeName: NODE, logger });
  cleanup.add(() => manager.stop());
  manager.start();
  await manager.settled();
  const observer = await mqtt.connectAsync(url, { username: OPERATOR.username, password: OPERATOR.password, reconnectPeriod: 100 });
  cleanup.add(() => observer.endAsync(true));
  const seen: Edge['seen'] = [];
  observer.on('message', (topic, payload) => {
    // the test's own malformed method call comes back too
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      parsed = { unparsed: payload.toString() };
    }
    seen.push({ topic, payload: parsed });
  });
  await observer.subscribeAsync('$hw/events/device/#');
  return { store, router, observer, seen, tables, port: server.port, url };
}

interface ValveOptions {
  rv: string;
  desired?: number;
  reassert?: boolean;
  methods?: { name: string; propertyNames: string[] }[];
  reportToCloud?: boolean;
  stateReport?: { reportToCloud?: boolean; reportCycle?: number };
}

/** A valve as the DeviceController sends it: `setpoint` (holding register 5) and `flow` (input register 0). */
function valve(port: number, options: ValveOptions): Record<string, unknown> {
  const modbus = (configData: Record<string, unknown>) => ({ protocolName: 'modbus', configData });
  return {
    namespace: 'default',
    name: 'valve',
    resourceVersion: options.rv,
    description: '',
    model: {
      name: 'valve',
      properties: [
        { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '1000' },
        { name: 'flow', type: 'INT', accessMode: 'ReadOnly' },
      ],
    },
    attributes: {},
    properties: options.desired === undefined ? [] : [{ name: 'setpoint', desired: { value: String(options.desired), metadata: {} } }],
    protocol: modbus({ slaveID: 1, ip: '127.0.0.1', port, timeoutMs: 1000 }),
    propertyVisitors: [
      {
        name: 'setpoint',
        visitors: modbus({ register: 'HoldingRegister', offset: 5, dataType: 'uint16' }),
        collectCycle: 30,
        reportCycle: 30,
        ...(options.reassert ? { reassertDesired: true } : {}),
      },
      { name: 'flow', visitors: modbus({ register: 'InputRegister', offset: 0, dataType: 'uint16' }), collectCycle: 30, reportCycle: 30, ...(options.reportToCloud === false ? { reportToCloud: false } : {}) },
    ],
    ...(options.methods ? { methods: options.methods } : {}),
    ...(options.stateReport ? { stateReport: options.stateReport } : {}),
  };
}

const membership = (devices: Record<string, unknown>[], rv: string): Message =>
  newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: rv, devices } });

const reported = (edge: Edge, name: string): unknown => edge.store.device(ID)?.twins.find((twin) => twin.name === name)?.reported?.value;
const twinUpdates = (edge: Edge) => edge.seen.filter((m) => m.topic === deviceTopic(ID, 'twin/update'));
const reportsOf = (edge: Edge, name: string, value: string) =>
  twinUpdates(edge).filter((m) => (m.payload['twin'] as Record<string, { actual?: { value?: string } }>)[name]?.actual?.value === value).length;
const deltas = (edge: Edge) => edge.seen.filter((m) => m.topic === deviceTopic(ID, 'twin/update/delta')).length;

describe('desired values', () => {
  it('desired - written to the device when it changes; a change made at the device is not overwritten', async () => {
    const edge = await startEdge();
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', desired: 640 })], '10'));
    await waitFor(() => edge.tables.hr[5] === 640 && reported(edge, 'setpoint') === 640, 'the desired value written and reported');

    // the operator turns the valve at its panel
    edge.tables.hr[5] = 300;
    await waitFor(() => reported(edge, 'setpoint') === 300, 'the local value reported');
    const deltasBefore = deltas(edge);
    // many report cycles later (counted, not timed), each answered by a delta from the twin, the value stays
    await waitFor(() => reportsOf(edge, 'setpoint', '300') >= 15 && deltas(edge) >= deltasBefore + 5, '15 reports of 300 and 5 twin deltas');
    expect(edge.tables.hr[5]).toBe(300);
    expect(reported(edge, 'setpoint')).toBe(300);

    // a new desired value from the cloud is written
    await edge.router.dispatch(membership([valve(edge.port, { rv: '2', desired: 700 })], '11'));
    await waitFor(() => edge.tables.hr[5] === 700 && reported(edge, 'setpoint') === 700, 'the new desired value written');
  });

  it('desired - with re-assert chosen for the property, the device is held at the desired value', async () => {
    const edge = await startEdge();
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', desired: 640, reassert: true })], '10'));
    await waitFor(() => edge.tables.hr[5] === 640, 'the desired value written');
    edge.tables.hr[5] = 300;
    await waitFor(() => reportsOf(edge, 'setpoint', '300') >= 1, 'the local value seen once');
    await waitFor(() => edge.tables.hr[5] === 640 && reported(edge, 'setpoint') === 640, 'the desired value written again');
  });
});

describe('device methods', () => {
  it('method - invoking a method over MQTT writes its properties and answers with the read-back values; bad calls write nothing', async () => {
    const edge = await startEdge();
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', methods: [{ name: 'setFlowLimit', propertyNames: ['setpoint'] }] })], '10'));
    await waitFor(() => edge.store.device(ID)?.state === 'online', 'the valve online');
    await edge.observer.subscribeAsync(`${methodTopic(ID, '+')}/result`);
    const results = () => edge.seen.filter((m) => m.topic.endsWith('/result') && m.topic.includes('/method/')).map((m) => m.payload);
    const call = (method: string, body: unknown) => edge.observer.publishAsync(methodTopic(ID, method), typeof body === 'string' ? body : JSON.stringify(body));

    await call('setFlowLimit', { event_id: 'm1', values: { setpoint: '450' } });
    await waitFor(() => results().some((r) => r['event_id'] === 'm1'), 'the result of m1');
    expect(results().find((r) => r['event_id'] === 'm1')).toMatchObject({ method: 'setFlowLimit', code: 200, results: { setpoint: { value: '450' } } });
    expect(edge.tables.hr[5]).toBe(450);
    await waitFor(() => reported(edge, 'setpoint') === 450, 'the written value reported to the twin');

    await call('open', { event_id: 'm2', values: { setpoint: '1' } });
    await call('setFlowLimit', { event_id: 'm3', values: { flow: '1' } });
    await call('setFlowLimit', { event_id: 'm4', values: { setpoint: '5000' } });
    await call('setFlowLimit', 'not json');
    await waitFor(() => ['m2', 'm3', 'm4'].every((id) => results().some((r) => r['event_id'] === id)) && results().some((r) => r['event_id'] === ''), 'four answers');
    const byId = (id: string) => results().find((r) => r['event_id'] === id);
    expect(byId('m2')).toMatchObject({ code: 404 });
    expect(byId('m3')).toMatchObject({ code: 400, reason: expect.stringContaining('values.flow') });
    expect(byId('m4')).toMatchObject({ code: 400, reason: expect.stringContaining('values.setpoint') });
    expect(byId('')).toMatchObject({ code: 400, reason: 'payload is not JSON' });
    expect(edge.tables.hr[5]).toBe(450);
  });

  it('attack - an anonymous local client cannot invoke a method: the broker refuses the publish and the device is not written', async () => {
    const edge = await startEdge();
    edge.tables.hr[5] = 10;
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', methods: [{ name: 'setFlowLimit', propertyNames: ['setpoint'] }] })], '10'));
    await waitFor(() => reportsOf(edge, 'setpoint', '10') >= 1, 'the valve reporting');
    const anonymous = await connectClient(edge.url);
    cleanup.add(() => anonymous.endAsync(true));
    const closed = new Promise<void>((resolve) => anonymous.once('close', () => resolve()));
    void anonymous.publishAsync(methodTopic(ID, 'setFlowLimit'), JSON.stringify({ event_id: 'evil', values: { setpoint: '999' } }), { qos: 1 }).catch(() => undefined);
    await closed;
    // the mapper keeps reporting the untouched value; no answer was ever given to the refused call
    const before = reportsOf(edge, 'setpoint', '10');
    await waitFor(() => reportsOf(edge, 'setpoint', '10') >= before + 10, '10 more reports');
    expect(edge.tables.hr[5]).toBe(10);
    expect(edge.seen.filter((m) => m.payload['event_id'] === 'evil')).toEqual([]);
  });
});

describe('reporting options', () => {
  it('report - reportToCloud false keeps a property off twin/update; stateReport.reportCycle repeats the state', async () => {
    const edge = await startEdge();
    edge.tables.hr[5] = 12;
    edge.tables.ir[0] = 77;
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', reportToCloud: false, stateReport: { reportCycle: 40 } })], '10'));
    const states = () => edge.seen.filter((m) => m.topic === deviceTopic(ID, 'state/update')).length;
    await waitFor(() => reportsOf(edge, 'setpoint', '12') >= 10 && states() >= 5, '10 setpoint reports and 5 state reports');
    expect(twinUpdates(edge).filter((m) => 'flow' in (m.payload['twin'] as object))).toEqual([]);
    expect(reported(edge, 'flow')).toBeUndefined();
  });

  it('report - stateReport.reportToCloud false publishes no state', async () => {
    const edge = await startEdge();
    edge.tables.hr[5] = 12;
    await edge.router.dispatch(membership([valve(edge.port, { rv: '1', stateReport: { reportToCloud: false } })], '10'));
    await waitFor(() => reportsOf(edge, 'setpoint', '12') >= 5, '5 setpoint reports');
    expect(edge.seen.filter((m) => m.topic === deviceTopic(ID, 'state/update'))).toEqual([]);
  });
});
