// MapperManager inside a real edge: a real DeviceTwin on a real TwinStore file and the EventBus's aedes
// broker on 127.0.0.1:0. Cloud messages go through the router as the DeviceController sends them; the
// mappers' reports travel over MQTT back into the twin. Drivers are the real VirtualDriver, counted.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import { EventBus } from '@kedge/eventbus';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { Cleanup, waitFor } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceManager, MapperLink } from '@kedge/dmi';
import { MapperManager, VirtualDriver, type DriverFactory } from '../src/index';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const NODE = 'gw-1';
const logger = createLogger({ name: 'mapper-manager-test', level: 'silent' });

interface Edge {
  dir: string;
  url: string;
  store: TwinStore;
  router: MessageRouter;
  twin: DeviceTwin;
}

async function startEdge(): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-mapper-manager-'));
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
  return { dir, url: `mqtt://127.0.0.1:${bus.internalAddress?.port ?? 0}`, store, router, twin };
}

/** The real virtual driver, with a count of how many the manager created per device (one per mapper start). */
function countedDrivers(): { drivers: Record<string, DriverFactory>; started: Map<string, number> } {
  const started = new Map<string, number>();
  const virtual: DriverFactory = (config, device) => {
    started.set(device, (started.get(device) ?? 0) + 1);
    return new VirtualDriver(config, device);
  };
  return { drivers: { virtual }, started };
}

async function startManager(edge: Edge, drivers: Record<string, DriverFactory>): Promise<MapperManager> {
  const manager = new MapperManager({ twin: edge.twin, brokerUrl: edge.url, file: join(edge.dir, 'mappers.json'), nodeName: NODE, logger, drivers });
  cleanup.add(() => manager.stop());
  manager.start();
  await manager.settled();
  return manager;
}

interface MemberOptions {
  rv: string;
  initial?: number;
  protocol?: string | undefined;
  kind?: string;
  setpoint?: number;
}

/** A member device as the DeviceController sends it: a thermometer whose temperature a virtual visitor reads. */
function member(name: string, options: MemberOptions): Record<string, unknown> {
  const protocol = 'protocol' in options ? options.protocol : 'virtual';
  const raw: Record<string, unknown> = {
    namespace: 'default',
    name,
    resourceVersion: options.rv,
    description: '',
    model: {
      name: 'thermometer',
      properties: [
        { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
        { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '30' },
      ],
    },
    attributes: {},
    properties: options.setpoint === undefined ? [] : [{ name: 'setpoint', desired: { value: String(options.setpoint), metadata: {} } }],
  };
  if (protocol !== undefined) {
    raw['protocol'] = { protocolName: protocol, configData: {} };
    raw['propertyVisitors'] = [
      { name: 'temperature', visitors: { protocolName: protocol, configData: { kind: options.kind ?? 'constant', initial: options.initial ?? 21 } }, collectCycle: 50, reportCycle: 50 },
    ];
  }
  return raw;
}

const membership = (devices: Record<string, unknown>[], rv: string): Message =>
  newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: rv, devices } });
const deviceUpdate = (device: Record<string, unknown>): Message =>
  newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `default/device/${String(device['name'])}`, content: device });

const reported = (edge: Edge, id: string): unknown => edge.store.device(id)?.twins.find((twin) => twin.name === 'temperature')?.reported?.value;

describe('MapperManager', () => {
  it('membership - an added device starts its mapper, whose reports reach the twin over MQTT; a removed one stops it', async () => {
    const edge = await startEdge();
    const { drivers } = countedDrivers();
    const manager = await startManager(edge, drivers);
    expect(manager.running()).toEqual([]);

    await edge.router.dispatch(membership([member('fan', { rv: '1', initial: 21 }), member('pump', { rv: '2', initial: 7 })], '10'));
    await manager.settled();
    expect(manager.running()).toEqual(['default/fan', 'default/pump']);
    await waitFor(() => reported(edge, 'default/fan') === 21 && reported(edge, 'default/pump') === 7, 'both mappers to report');
    await waitFor(() => edge.store.device('default/fan')?.state === 'online', 'the fan mapper to report the device online');

    await edge.router.dispatch(membership([member('pump', { rv: '2', initial: 7 })], '11'));
    await manager.settled();
    expect(manager.running()).toEqual(['default/pump']);
    await edge.router.dispatch(newMessage({ source: 'devicecontroller', group: 'twin', operation: 'delete', resource: 'default/device/pump', content: { resourceVersion: '3' } }));
    await manager.settled();
    expect(manager.running()).toEqual([]);
  });

  it('updates - new visitor settings restart the mapper with them; a desired value or a resend does not restart it', async () => {
    const edge = await startEdge();
    const { drivers, started } = countedDrivers();
    const manager = await startManager(edge, drivers);
    await edge.router.dispatch(membership([member('fan', { rv: '1', initial: 21 })], '10'));
    await waitFor(() => reported(edge, 'default/fan') === 21, 'the first report');

    await edge.router.dispatch(deviceUpdate(member('fan', { rv: '2', initial: 25 })));
    await manager.settled();
    await waitFor(() => reported(edge, 'default/fan') === 25, 'the restarted mapper to report the new initial value');
    expect(started.get('default/fan')).toBe(2);

    await edge.router.dispatch(deviceUpdate(member('fan', { rv: '3', initial: 25, setpoint: 20 })));
    await edge.router.dispatch(membership([member('fan', { rv: '3', initial: 25, setpoint: 20 })], '11'));
    await manager.settled();
    expect(edge.store.device('default/fan')?.twins.find((twin) => twin.name === 'setpoint')?.desired?.value).toBe(20);
    expect(started.get('default/fan')).toBe(2);
    expect(manager.running()).toEqual(['default/fan']);
  });

  it('restart - a new manager runs the saved mappers of current members before the cloud sends anything; the file is 0600', async () => {
    const edge = await startEdge();
    const first = await startManager(edge, countedDrivers().drivers);
    await edge.router.dispatch(membership([member('fan', { rv: '1', initial: 21 })], '10'));
    await first.settled();
    await first.stop();
    expect((statSync(join(edge.dir, 'mappers.json')).mode & 0o777).toString(8)).toBe('600');

    const { drivers, started } = countedDrivers();
    const second = await startManager(edge, drivers);
    expect(second.running()).toEqual(['default/fan']);
    expect(started.get('default/fan')).toBe(1);
  });

  it('refusals - no protocol, an unknown protocol or a bad visitor gets no mapper, and the other devices keep theirs', async () => {
    const edge = await startEdge();
    const { drivers, started } = countedDrivers();
    const manager = await startManager(edge, drivers);
    await edge.router.dispatch(
      membership(
        [
          member('bare', { rv: '1', protocol: undefined }),
          member('plc', { rv: '2', protocol: 'profinet' }),
          member('odd', { rv: '3', kind: 'sawtooth' }),
          member('fan', { rv: '4', initial: 22 }),
        ],
        '10',
      ),
    );
    await manager.settled();
    expect(manager.running()).toEqual(['default/fan']);
    await waitFor(() => reported(edge, 'default/fan') === 22, 'the fan mapper to report');
    // the bad visitor was tried once and is not retried until its spec changes
    expect(started.get('default/odd')).toBe(1);
    await edge.router.dispatch(membership([member('odd', { rv: '3', kind: 'sawtooth' }), member('fan', { rv: '4', initial: 22 })], '11'));
    await manager.settled();
    expect(started.get('default/odd')).toBe(1);
    await edge.router.dispatch(deviceUpdate(member('odd', { rv: '5', kind: 'constant', initial: 9 })));
    await manager.settled();
    expect(manager.running()).toEqual(['default/fan', 'default/odd']);
  });

  it('dmi - devices of a protocol a DMI mapper registers for are left to it: the built-in mapper stops', async () => {
    const edge = await startEdge();
    const registry = new Registry();
    const dmi = new DeviceManager({ twin: edge.twin, socketPath: join(edge.dir, 'dmi.sock'), stateFile: join(edge.dir, 'dmi.json'), logger, registry });
    await dmi.start();
    cleanup.add(() => dmi.stop());
    const { drivers } = countedDrivers();
    const manager = new MapperManager({ twin: edge.twin, brokerUrl: edge.url, file: join(edge.dir, 'mappers.json'), nodeName: NODE, logger, drivers, external: dmi });
    cleanup.add(() => manager.stop());
    manager.start();
    await edge.router.dispatch(membership([member('fan', { rv: '1', initial: 21 })], '10'));
    await manager.settled();
    expect(manager.running()).toEqual(['default/fan']);
    const handled: string[] = [];
    const link = new MapperLink({
      edgecoreSocket: join(edge.dir, 'dmi.sock'),
      socketPath: join(edge.dir, 'virtual.sock'),
      name: 'outside',
      protocol: 'virtual',
      handlers: {
        registerDevice: async (d) => void handled.push(d.name),
        updateDevice: async () => undefined,
        removeDevice: async () => undefined,
        createDeviceModel: () => undefined,
        updateDeviceModel: () => undefined,
        removeDeviceModel: () => undefined,
        getDevice: () => undefined,
      },
    });
    cleanup.add(() => link.stop());
    const answer = await link.start();
    expect(answer.deviceList.map((d) => d.name)).toEqual(['fan']);
    await manager.settled();
    expect(manager.running()).toEqual([]);
  });
});
