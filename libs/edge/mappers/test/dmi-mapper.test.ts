// kedge's mapper as its own process over DMI (cli.ts --dmi-socket), against edgecore's DeviceManager and
// a real DeviceTwin, reading an independent Modbus peer (Debian pymodbus): reports reach the twin, a
// desired value is written to the peer, and a mapper killed with SIGKILL and started again registers
// again and gets the devices as they are now.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceManager } from '@kedge/dmi';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import { EventBus } from '@kedge/eventbus';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { Cleanup, requires, waitFor } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { afterEach, expect } from 'vitest';
import { startPymodbus } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const NODE = 'gw-1';
const logger = createLogger({ name: 'dmi-mapper-test', level: 'silent' });
const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');

function plc(name: string, rv: string, port: number, offset: number, setpoint?: number): Record<string, unknown> {
  return {
    namespace: 'default',
    name,
    resourceVersion: rv,
    description: '',
    model: { name: 'thermometer', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' }, { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: 5, maximum: 30 }] },
    attributes: {},
    properties: setpoint === undefined ? [] : [{ name: 'setpoint', desired: { value: String(setpoint), metadata: {} } }],
    protocol: { protocolName: 'modbus', configData: { ip: '127.0.0.1', port, slaveID: 1 } },
    propertyVisitors: [
      { name: 'temperature', visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset, dataType: 'int16', scale: 0.1 } }, collectCycle: 200, reportCycle: 200 },
      { name: 'setpoint', visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: offset + 1, dataType: 'int16' } }, collectCycle: 200, reportCycle: 200 },
    ],
  };
}

const membership = (devices: Record<string, unknown>[], rv: string): Message =>
  newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: rv, devices } });

function startMapper(dir: string): { child: ChildProcess; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--dmi-socket', join(dir, 'dmi.sock'), '--socket', join(dir, 'modbus.sock'), '--protocol', 'modbus'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  cleanup.add(async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(child.pid, 'SIGKILL');
    await exited;
  });
  return { child, log: () => log.slice(-4000) };
}

const pymodbus = await requires('pymodbus');

pymodbus.it('dmi mapper process - registers, runs Modbus devices against pymodbus, reports into the twin, writes desired values, survives kill -9 and re-registers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-dmi-map-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry();
  const bus = new EventBus({ nodeName: NODE, logger, registry, internal: { port: 0 } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const store = new TwinStore({ file: join(dir, 'devicetwin.db') });
  cleanup.add(() => store.close());
  const router = new MessageRouter({ onHandlerError: (error) => console.error('handler failed', error) });
  cleanup.add(() => router.close());
  const twin = new DeviceTwin({ store, bus, router, reporter: { report: () => 0 }, nodeName: NODE, logger, registry });
  cleanup.add(() => twin.stop());
  const dmi = new DeviceManager({ twin, socketPath: join(dir, 'dmi.sock'), stateFile: join(dir, 'dmi.json'), logger, registry });
  await dmi.start();
  cleanup.add(() => dmi.stop());
  const peer = await startPymodbus({ hr: { 0: 215, 1: 10, 10: 300, 11: 12 } });
  cleanup.add(() => peer.stop());
  const value = (id: string, property = 'temperature'): unknown => store.device(id)?.twins.find((t) => t.name === property)?.reported?.value;

  await router.dispatch(membership([plc('plc-1', '1', peer.port, 0)], '10'));
  const first = startMapper(dir);
  await waitFor(() => value('default/plc-1') === 21.5 && store.device('default/plc-1')?.state === 'online', 'the DMI mapper to report plc-1', { onTimeout: first.log });
  expect(dmi.protocols()).toEqual(['modbus']);
  const view = await dmi.getDevice('default', 'plc-1');
  expect(view.status?.twins.find((t) => t.propertyName === 'temperature')?.reported?.value).toBe('21.5');

  // a desired value from the cloud: UpdateDevice → the mapper writes the register
  await router.dispatch(membership([plc('plc-1', '2', peer.port, 0, 25)], '11'));
  await waitFor(() => peer.sets.includes('SET hr 1 25'), 'the setpoint to be written to the peer', { onTimeout: () => `${first.log()}\n${peer.log()}` });
  await waitFor(() => value('default/plc-1', 'setpoint') === 25, 'the written setpoint to be reported');

  // kill -9; while it is gone plc-1 leaves and plc-2 arrives; the restarted mapper registers and gets plc-2 only
  process.kill(first.child.pid as number, 'SIGKILL');
  await new Promise<void>((resolve) => (first.child.exitCode !== null || first.child.signalCode !== null ? resolve() : first.child.once('exit', () => resolve())));
  await router.dispatch(membership([plc('plc-2', '3', peer.port, 10)], '12'));
  await dmi.settled();
  const second = startMapper(dir);
  await waitFor(() => value('default/plc-2') === 30 && value('default/plc-2', 'setpoint') === 12, 'the restarted mapper to report plc-2', { onTimeout: second.log });
  expect(store.device('default/plc-1')).toBeUndefined();
});
