// DeviceManager (edgecore's DMI side) over real gRPC on a real unix socket, behind a real DeviceTwin:
// registration and resync, the DeviceMapperService calls a registered mapper gets, reports into the
// twin, and refusals that name the field. The mapper here is MapperLink with recording handlers.
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Cleanup, metricValue, waitFor } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCustomizedValue, fromPbDevice, MapperLink, type MapperHandlers, type PbDevice, type PbDeviceModel } from '../src/index';
import { managerClient, member, membership, reported, startEdge, type Edge } from './edge';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Recorded {
  calls: string[];
  devices: Map<string, PbDevice>;
  models: Map<string, PbDeviceModel>;
}

function recordingHandlers(): { handlers: MapperHandlers; recorded: Recorded } {
  const recorded: Recorded = { calls: [], devices: new Map(), models: new Map() };
  const handlers: MapperHandlers = {
    registerDevice: async (d) => void (recorded.calls.push(`RegisterDevice ${d.name}`), recorded.devices.set(d.name, d)),
    updateDevice: async (d) => void (recorded.calls.push(`UpdateDevice ${d.name}`), recorded.devices.set(d.name, d)),
    removeDevice: async (_ns, name) => void (recorded.calls.push(`RemoveDevice ${name}`), recorded.devices.delete(name)),
    createDeviceModel: (m) => void (recorded.calls.push(`CreateDeviceModel ${m.name}`), recorded.models.set(m.name, m)),
    updateDeviceModel: (m) => void (recorded.calls.push(`UpdateDeviceModel ${m.name}`), recorded.models.set(m.name, m)),
    removeDeviceModel: (_ns, name) => void (recorded.calls.push(`RemoveDeviceModel ${name}`), recorded.models.delete(name)),
    getDevice: (_ns, name) => {
      const device = recorded.devices.get(name);
      return device === undefined ? undefined : { ...device, status: { twins: [{ propertyName: 'temperature', reported: { value: '20.5', metadata: {} }, observedDesired: null }], reportToCloud: true, reportCycle: 0 } };
    },
  };
  return { handlers, recorded };
}

async function startLink(edge: Edge, protocol: string, handlers: MapperHandlers, name = `${protocol}-mapper`): Promise<{ link: MapperLink; answer: Awaited<ReturnType<MapperLink['start']>> }> {
  const link = new MapperLink({ edgecoreSocket: edge.socket, socketPath: join(edge.dir, `${name}.sock`), name, protocol, handlers });
  cleanup.add(() => link.stop());
  return { link, answer: await link.start() };
}


describe('DMI DeviceManager', () => {
  it('dmi - MapperRegister answers with the devices and models of its protocol, configData as google.protobuf wrappers', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(
      membership(
        [
          member('plc-1', '1', 'acme-bus', { temperature: { register: 'HoldingRegister', offset: 3, scale: 0.1, nested: { a: [1, 'x'] } } }, { ip: '10.0.0.5', port: 502, secure: false }, 21),
          member('fan', '2', 'virtual', { temperature: { kind: 'constant' } }),
        ],
        '10',
      ),
    );
    const { handlers } = recordingHandlers();
    const { answer } = await startLink(edge, 'acme-bus', handlers);
    expect(answer.deviceList.map((d) => d.name)).toEqual(['plc-1']);
    expect(answer.modelList.map((m) => [m.name, m.namespace, m.spec?.properties.map((p) => `${p.name}:${p.type}:${p.accessMode}:${p.minimum}..${p.maximum}`)])).toEqual([
      ['thermometer', 'default', ['temperature:FLOAT:ReadOnly:-40..125', 'setpoint:INT:ReadWrite:5..30']],
    ]);
    const device = answer.deviceList[0] as PbDevice;
    expect(device.spec?.deviceModelReference).toBe('thermometer');
    expect(Object.values(device.spec?.protocol?.configData?.data ?? {}).map((a) => a.type_url).sort()).toEqual([
      'type.googleapis.com/google.protobuf.BoolValue',
      'type.googleapis.com/google.protobuf.Int32Value',
      'type.googleapis.com/google.protobuf.StringValue',
    ]);
    const mapped = fromPbDevice(device, answer.modelList[0], 'device');
    expect(mapped.device.spec.protocol.configData).toEqual({ ip: '10.0.0.5', port: 502, secure: false });
    expect(mapped.device.spec.properties.find((p) => p.name === 'temperature')?.visitors?.configData).toEqual({ register: 'HoldingRegister', offset: 3, scale: 0.1, nested: { a: [1, 'x'] } });
    expect(mapped.device.spec.properties.find((p) => p.name === 'setpoint')?.desired).toEqual({ value: '21' });
    expect(decodeCustomizedValue(device.spec?.protocol?.configData, 'x')).toEqual({ ip: '10.0.0.5', port: 502, secure: false });
    expect(edge.dmi.protocols()).toEqual(['acme-bus']);
  });

  it('dmi - membership changes reach the registered mapper as Create/UpdateDeviceModel, Register/Update/RemoveDevice; GetDevice asks it', async () => {
    const edge = await startEdge(cleanup);
    const { handlers, recorded } = recordingHandlers();
    await startLink(edge, 'acme-bus', handlers);
    const visitors = { temperature: { offset: 1 } };
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', visitors)], '10'));
    await edge.dmi.settled();
    await waitFor(() => recorded.calls.length >= 2, 'the first calls');
    expect(recorded.calls).toEqual(['CreateDeviceModel thermometer', 'RegisterDevice plc-1']);
    await edge.router.dispatch(membership([member('plc-1', '2', 'acme-bus', visitors, {}, 25)], '11'));
    await edge.dmi.settled();
    await waitFor(() => recorded.calls.length >= 3, 'the update');
    expect(recorded.calls[2]).toBe('UpdateDevice plc-1');
    expect(recorded.devices.get('plc-1')?.spec?.properties.find((p) => p.name === 'setpoint')?.desired?.value).toBe('25');
    const viewed = await edge.dmi.getDevice('default', 'plc-1');
    expect(viewed.status?.twins.map((t) => [t.propertyName, t.reported?.value])).toEqual([['temperature', '20.5']]);
    await edge.router.dispatch(membership([], '12'));
    await edge.dmi.settled();
    await waitFor(() => recorded.calls.length >= 5, 'the removal');
    expect(recorded.calls.slice(3)).toEqual(['RemoveDevice plc-1', 'RemoveDeviceModel thermometer']);
    expect(await metricValue(edge.registry, 'kedge_dmi_mapper_calls_total', { method: 'RegisterDevice', result: 'ok' })).toBe(1);
  });

  it('dmi - ReportDeviceStatus and ReportDeviceStates reach the twin as a mapper MQTT report would', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    const { handlers } = recordingHandlers();
    const { link } = await startLink(edge, 'acme-bus', handlers);
    await link.reportStatus('default', 'plc-1', { temperature: '21.5', setpoint: '7' });
    await link.reportState('default', 'plc-1', 'ok');
    expect(reported(edge, 'default/plc-1')).toBe(21.5);
    expect(reported(edge, 'default/plc-1', 'setpoint')).toBe(7);
    expect(edge.store.device('default/plc-1')?.state).toBe('online');
    await link.reportState('default', 'plc-1', 'disconnected');
    expect(edge.store.device('default/plc-1')?.state).toBe('offline');
  });

  it('dmi - a mapper that re-registers (restarted) replaces the old registration and gets the full list again', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('a', '1', 'acme-bus', { temperature: {} }), member('b', '2', 'acme-bus', { temperature: {} })], '10'));
    const first = recordingHandlers();
    const { link } = await startLink(edge, 'acme-bus', first.handlers, 'first');
    await link.stop();
    const second = recordingHandlers();
    const { answer } = await startLink(edge, 'acme-bus', second.handlers, 'second');
    expect(answer.deviceList.map((d) => d.name).sort()).toEqual(['a', 'b']);
    await edge.router.dispatch(membership([member('a', '1', 'acme-bus', { temperature: {} })], '11'));
    await edge.dmi.settled();
    await waitFor(() => second.recorded.calls.includes('RemoveDevice b'), 'the new registration to be told');
    expect(first.recorded.calls).toEqual([]);
    expect(await metricValue(edge.registry, 'kedge_dmi_mappers')).toBe(1);
  });
});

describe('DMI refusals', () => {
  it('dmi - bad registrations and reports get INVALID_ARGUMENT / NOT_FOUND naming the field; nothing is stored; counted', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    const client = managerClient(cleanup, edge.socket);
    const refusal = async (method: string, request: object): Promise<ServiceError> => {
      try {
        await client.call(method, request);
      } catch (error) {
        return error as ServiceError;
      }
      throw new Error(`${method} was accepted`);
    };
    const cases: [string, object, number, string][] = [
      ['MapperRegister', { withData: true }, status.INVALID_ARGUMENT, 'mapper: is missing'],
      ['MapperRegister', { mapper: { name: 'm', protocol: 'bad protocol!', address: Buffer.from('/tmp/m.sock') } }, status.INVALID_ARGUMENT, 'mapper.protocol'],
      ['MapperRegister', { mapper: { name: 'm', protocol: 'p', address: Buffer.from('relative.sock') } }, status.INVALID_ARGUMENT, 'mapper.address'],
      ['ReportDeviceStatus', { deviceName: 'ghost', reportedDevice: { twins: [{ propertyName: 'temperature', reported: { value: '1' } }] } }, status.NOT_FOUND, 'deviceName'],
      ['ReportDeviceStatus', { deviceName: 'Not_A_Name', reportedDevice: { twins: [] } }, status.INVALID_ARGUMENT, 'deviceName'],
      ['ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [] } }, status.INVALID_ARGUMENT, 'reportedDevice.twins'],
      ['ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'temperature', reported: { value: 'hot' } }] } }, status.INVALID_ARGUMENT, 'reportedDevice.twins[0].reported.value'],
      ['ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'setpoint', reported: { value: '7' } }, { propertyName: 'temperature', reported: { value: '999' } }] } }, status.INVALID_ARGUMENT, 'reportedDevice.twins[1].reported.value'],
      ['ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'humidity', reported: { value: '1' } }] } }, status.INVALID_ARGUMENT, 'reportedDevice.twins[0].propertyName'],
      ['ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'temperature' }] } }, status.INVALID_ARGUMENT, 'reportedDevice.twins[0].reported'],
      ['ReportDeviceStates', { deviceName: 'plc-1', state: 'exploded' }, status.INVALID_ARGUMENT, 'state'],
    ];
    for (const [method, request, code, field] of cases) {
      const error = await refusal(method, request);
      expect([error.code, error.details], `${method} ${JSON.stringify(request)}`).toEqual([code, expect.stringContaining(field)]);
    }
    // all or nothing: the valid setpoint of the refused two-twin report was not stored
    expect(reported(edge, 'default/plc-1', 'setpoint')).toBeUndefined();
    expect(reported(edge, 'default/plc-1')).toBeUndefined();
    expect(await metricValue(edge.registry, 'kedge_dmi_requests_total', { method: 'ReportDeviceStatus', result: 'INVALID_ARGUMENT' })).toBe(6);
    expect(await metricValue(edge.registry, 'kedge_dmi_requests_total', { method: 'ReportDeviceStatus', result: 'NOT_FOUND' })).toBe(1);
    // and the endpoint still serves
    await client.call('ReportDeviceStatus', { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'temperature', reported: { value: '22' } }] } });
    expect(reported(edge, 'default/plc-1')).toBe(22);
  });
});
