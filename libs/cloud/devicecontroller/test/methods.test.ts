// DeviceMethodInvoker against the real embedded API server, a real CloudHub and simulated edges: the call goes down
// the session of the device's node only, and only that node's answer is taken.
import { DEVICE_METHOD_GROUP, type DeviceMethodResult } from '@kedge/device-api';
import { newResponse, type Message } from '@kedge/protocol';
import { Cleanup, createTestPki, waitFor, type TestPki } from '@kedge/testkit';
import { dialHub, type Connection } from '@kedge/transport';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DeviceMethodInvoker } from '../src/index';
import { MODEL_YAML, deviceYaml, startDeviceCloud, type DeviceCloud } from './fixtures/cloud';

let pki: TestPki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

const WITH_METHOD = `${deviceYaml('thermo-1', 'gw-a')}  methods:\n    - { name: setTarget, propertyNames: [setpoint] }\n`;

async function cloudWithDevice(): Promise<{ cloud: DeviceCloud; invoker: DeviceMethodInvoker }> {
  const cloud = await startDeviceCloud(pki, cleanup);
  await cloud.kubectl(['apply'], MODEL_YAML);
  await cloud.kubectl(['apply'], WITH_METHOD);
  await waitFor(() => cloud.controller.lookup.device('default', 'thermo-1')?.spec?.methods?.length === 1, 'the device with its method in the cache');
  return { cloud, invoker: new DeviceMethodInvoker({ lookup: cloud.controller.lookup, hub: cloud.hub, router: cloud.router, timeoutMs: 3_000 }) };
}

const calls = (messages: Message[]): Message[] => messages.filter((m) => m.route.group === DEVICE_METHOD_GROUP);

describe('devicecontroller - device methods from the cloud', () => {
  it('method invoker - the call goes to the device\'s node as invoke <ns>/devicemethod/<name>; its answer is the result', async () => {
    const { cloud, invoker } = await cloudWithDevice();
    const edge = await rawEdge(cloud, 'gw-a');
    const pending = invoker.invoke({ namespace: 'default', device: 'thermo-1', method: 'setTarget', values: { setpoint: '22' } });
    await waitFor(() => calls(edge.received).length === 1, 'the call on gw-a');
    const call = calls(edge.received)[0] as Message;
    expect(call.route).toMatchObject({ operation: 'invoke', resource: 'default/devicemethod/thermo-1' });
    expect(call.content).toEqual({ method: 'setTarget', values: { setpoint: '22' }, timeoutMs: 3_000 });
    const result: DeviceMethodResult = { event_id: 'x', timestamp: 1, method: 'setTarget', code: 200, results: { setpoint: { value: '22' } } };
    await edge.connection.send(newResponse(call, result, 'devicetwin'));
    await expect(pending).resolves.toEqual({ node: 'gw-a', result });
  });

  it('attack - an answer to a method call from another node than the device\'s is refused (502), never taken as the result', async () => {
    const { cloud, invoker } = await cloudWithDevice();
    const [edge, other] = [await rawEdge(cloud, 'gw-a'), await rawEdge(cloud, 'gw-b')];
    const settled = invoker.invoke({ namespace: 'default', device: 'thermo-1', method: 'setTarget', values: { setpoint: '22' } }).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error: error as { code?: number; message?: string } }),
    );
    await waitFor(() => calls(edge.received).length === 1, 'the call on gw-a');
    // gw-b (a second, colluding edge that learned the call's msg_id) answers it with a fake success
    const forged: DeviceMethodResult = { event_id: 'x', timestamp: 1, method: 'setTarget', code: 200, results: { setpoint: { value: '22' } } };
    await other.connection.send(newResponse(calls(edge.received)[0] as Message, forged, 'devicetwin'));
    const outcome = await settled;
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe(502);
      expect(outcome.error.message).toMatch(/the answer came from gw-b, not node gw-a/);
    }
    expect(calls(other.received)).toEqual([]);
  });
});

/** A hub connection with `nodeName`'s certificate, recording what the cloud sends it. */
async function rawEdge(cloud: DeviceCloud, nodeName: string): Promise<{ connection: Connection; received: Message[] }> {
  const connection = await dialHub('websocket', { url: cloud.hubUrl, tls: await pki.node(nodeName), nodeName, handshakeTimeoutMs: 10_000 });
  cleanup.add(() => connection.close('test over'));
  const received: Message[] = [];
  connection.on('message', (message: Message) => received.push(message));
  await waitFor(() => cloud.hub.isConnected(nodeName), `${nodeName} connected`);
  return { connection, received };
}
