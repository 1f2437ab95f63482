// End-to-end Modbus devices: cloudcore (DeviceController) + edgecore running the Modbus mapper inside it,
// against Debian's pymodbus (an independent peer) and modbus-serial's ServerTCP. kubectl applies the
// DeviceModel and Device; the register's value reaches Device.status, a desired patch reaches the register,
// and with cloudcore down the twin keeps answering and updating on the edge broker, then catches up.
import { connectAsync, type MqttClient } from 'mqtt';
import { requires } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { kubectlOk, stopAll, waitFor } from './harness';
import { isNodeConnected, startCloudCore, type CloudCoreHandle } from './cluster';
import {
  applyManifests,
  device,
  deviceModel,
  holdingRegister,
  manifestText,
  modbusTcp,
  readHolding,
  reportedValue,
  startDeviceNode,
  startModbusServer,
  startPymodbus,
  twinTopic,
  writeHolding,
} from './device-fixtures';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await stopAll();
});

const manifests = (node: string, port: number): string =>
  manifestText(
    deviceModel('boiler', 'modbus', [
      { name: 'temperature', type: 'INT', accessMode: 'ReadOnly', minimum: '-400', maximum: '1250', unit: 'C' },
      { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '90' },
    ]),
    device('boiler-1', 'boiler', node, {
      protocol: modbusTcp(port),
      properties: [
        { name: 'temperature', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(0, 'int16', { scale: 0.1 }) },
        { name: 'setpoint', collectCycle: 200, reportCycle: 200, desired: { value: '21' }, visitors: holdingRegister(1, 'uint16') },
      ],
    }),
  );

const reported = (kubeconfig: string, property: string): Promise<string> => reportedValue(kubeconfig, 'boiler-1', property);

interface Peer {
  port: number;
  /** sets the temperature register (raw, ×0.1) */
  setTemperature(raw: number): Promise<void>;
  setpoint(): Promise<number>;
}

async function scenario(peer: Peer, node: string): Promise<void> {
  const started = await startDeviceNode(node, { maxReconnectDelayMs: 500 });
  let cloud: CloudCoreHandle = started.cloud;
  const mqttPort = started.mqttPort;
  expect(mqttPort).toBeGreaterThan(0);
  await applyManifests(cloud, manifests(node, peer.port));

  // the register (raw 2350 × 0.1) reaches Device.status; the desired setpoint is written on connect
  await waitFor(async () => (await reported(cloud.kubeconfig, 'temperature')) === '235', 'temperature 235 in Device.status', { timeoutMs: 30_000 });
  await waitFor(async () => (await peer.setpoint()) === 21, 'the desired setpoint 21 written to the register');

  // a desired patch reaches the register
  await kubectlOk({ kubeconfig: cloud.kubeconfig }, ['patch', 'device', 'boiler-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/1/desired/value","value":"42"}]']);
  await waitFor(async () => (await peer.setpoint()) === 42, 'setpoint 42 on the peer', { timeoutMs: 30_000 });
  await waitFor(async () => (await reported(cloud.kubeconfig, 'setpoint')) === '42', 'setpoint 42 in Device.status');

  // cloud link down: the twin answers on the edge broker and keeps updating
  const { ports, dataDir } = cloud;
  await cloud.process.stop();
  const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${String(mqttPort)}`, { reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync(true));
  const results: Record<string, unknown>[] = [];
  const base = `${twinTopic('boiler-1')}/get`;
  client.on('message', (topic, payload) => {
    if (topic === `${base}/result`) results.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
  });
  await client.subscribeAsync(`${base}/result`, { qos: 1 });
  await peer.setTemperature(2410);
  const actual = (r: Record<string, unknown>): unknown => (r['twin'] as Record<string, { actual?: { value?: string } }> | undefined)?.['temperature']?.actual?.value;
  await waitFor(async () => {
    await client.publishAsync(base, JSON.stringify({ event_id: `g-${results.length}`, timestamp: 0 }), { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    return results.some((r) => actual(r) === '241');
  }, 'the offline twin answering with the new temperature 241');

  // cloudcore back (same ports, same data): Device.status catches up with the latest value
  cloud = await startCloudCore({ ports, dataDir });
  await cloud.process.waitForLog(isNodeConnected(node), `${node} reconnected`);
  await waitFor(async () => (await reported(cloud.kubeconfig, 'temperature')) === '241', 'temperature 241 in Device.status after the restart', { timeoutMs: 30_000 });
}

const pymodbus = await requires('pymodbus');

describe('devices - Modbus mappers inside edgecore, end to end', () => {
  pymodbus.it('pymodbus peer: register → Device.status, desired patch → register, offline twin, catch-up after cloudcore restarts', async () => {
    const py = await startPymodbus({ 0: 2350, 1: 0 });
    cleanups.push(py.stop);
    await scenario(
      {
        port: py.port,
        setTemperature: (raw) => writeHolding(py.port, 0, raw),
        setpoint: () => readHolding(py.port, 1),
      },
      'gw-py',
    );
    expect(py.log()).toContain('SET hr 1 42');
  }, 180_000);

  it('modbus-serial ServerTCP peer in-process: the same path', async () => {
    const hr = Array<number>(200).fill(0);
    hr[0] = 2350;
    const server = await startModbusServer(hr);
    cleanups.push(server.close);
    await scenario(
      {
        port: server.port,
        setTemperature: (raw) => {
          hr[0] = raw;
          return Promise.resolve();
        },
        setpoint: () => Promise.resolve(hr[1] ?? NaN),
      },
      'gw-st',
    );
  }, 180_000);
});
