// A mapper that sends garbage: bytes that are no protobuf, random bytes straight on the socket, an
// oversize message, and generated random reports. edgecore answers with a gRPC status, counts it, keeps
// serving, and the twin store holds only values its model allows.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Cleanup, metricValue } from '@kedge/testkit';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { managerClient, member, membership, reported, startEdge } from './edge';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const failure = (promise: Promise<unknown>): Promise<ServiceError> =>
  promise.then(
    () => {
      throw new Error('was accepted');
    },
    (error: unknown) => error as ServiceError,
  );

async function stillServes(client: ReturnType<typeof managerClient>): Promise<void> {
  await client.call('ReportDeviceStates', { deviceName: 'plc-1', deviceNamespace: 'default', state: 'online' });
}

describe('DMI garbage', () => {
  it('attack - dmi: bytes that are no protobuf get an error status, are counted, and edgecore keeps serving', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    const client = managerClient(cleanup, edge.socket);
    // field 2 (reportedDevice) claims 5 bytes, holding a twin that claims 127: runs past the end
    const truncated = Buffer.from([0x12, 0x05, 0x0a, 0x7f, 0x01]);
    const error = await failure(client.call('ReportDeviceStatus', {}, () => truncated));
    expect(error.code).toBe(status.INTERNAL);
    const wrongWireType = Buffer.from([0x0d, 1, 2, 3, 4, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect((await failure(client.call('MapperRegister', {}, () => wrongWireType))).code).not.toBe(status.OK);
    expect(await metricValue(edge.registry, 'kedge_dmi_malformed_total', { method: 'ReportDeviceStatus' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_dmi_malformed_total', { method: 'MapperRegister' })).toBe(1);
    await stillServes(client);
  });

  it('attack - dmi: random bytes written straight on the socket do not take edgecore down', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    for (let i = 0; i < 8; i += 1) {
      await new Promise<void>((resolve) => {
        const socket = connect(edge.socket);
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.on('connect', () => socket.end(i % 2 === 0 ? randomBytes(64 + i * 100) : Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(500)])));
        socket.setTimeout(1000, () => socket.destroy());
      });
    }
    await stillServes(managerClient(cleanup, edge.socket));
  });

  it('attack - dmi: a message above maxMessageBytes is refused with RESOURCE_EXHAUSTED', async () => {
    const edge = await startEdge(cleanup, { maxMessageBytes: 64 * 1024 });
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    const client = managerClient(cleanup, edge.socket);
    const huge = { deviceName: 'plc-1', reportedDevice: { twins: [{ propertyName: 'temperature', reported: { value: 'x'.repeat(200 * 1024) } }] } };
    expect((await failure(client.call('ReportDeviceStatus', huge))).code).toBe(status.RESOURCE_EXHAUSTED);
    await stillServes(client);
    expect(reported(edge, 'default/plc-1')).toBeUndefined();
  });

  it('dmi - generated random reports: every one answered, the store only ever holds values the model allows', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membership([member('plc-1', '1', 'acme-bus', { temperature: {} })], '10'));
    const client = managerClient(cleanup, edge.socket);
    const name = fc.oneof(fc.constant('plc-1'), fc.string({ maxLength: 20 }));
    const property = fc.oneof(fc.constantFrom('temperature', 'setpoint'), fc.string({ maxLength: 10 }));
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.double().map(String), fc.integer({ min: -100, max: 200 }).map(String));
    const twins = fc.array(fc.record({ propertyName: property, reported: fc.option(fc.record({ value }), { nil: undefined }) }), { maxLength: 4 });
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(name, fc.string({ maxLength: 8 }), twins, fc.string({ maxLength: 12 }), async (deviceName, deviceNamespace, twinList, state) => {
        const statusCall = client.call('ReportDeviceStatus', { deviceName, deviceNamespace, reportedDevice: { twins: twinList } }).then(() => 'ok', (e: ServiceError) => e.code);
        const stateCall = client.call('ReportDeviceStates', { deviceName, deviceNamespace, state }).then(() => 'ok', (e: ServiceError) => e.code);
        const results = await Promise.all([statusCall, stateCall]);
        for (const result of results) expect(result === 'ok' || [status.INVALID_ARGUMENT, status.NOT_FOUND].includes(result as number)).toBe(true);
        answered += 2;
        const temperature = reported(edge, 'default/plc-1');
        if (temperature !== undefined) expect(typeof temperature === 'number' && temperature >= -40 && temperature <= 125).toBe(true);
        const setpoint = reported(edge, 'default/plc-1', 'setpoint');
        if (setpoint !== undefined) expect(Number.isInteger(setpoint) && (setpoint as number) >= 5 && (setpoint as number) <= 30).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(answered).toBe(300);
    await stillServes(client);
  });
});
