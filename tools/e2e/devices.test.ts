// End-to-end devices: cloudcore (DeviceController) + edgecore (EventBus, DeviceTwin, MetaManager
// outbox), the real kubectl and an MQTT client on the edge's embedded broker.
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { kubectlOk, stopAll, waitFor } from './harness';
import { applyManifests, device, deviceModel, deviceTwins, manifestText, startDeviceNode, twinTopic, twinUpdate } from './device-fixtures';

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await stopAll();
});

const MANIFESTS = manifestText(
  deviceModel('thermostat', 'modbus', [
    { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', minimum: '-40', maximum: '125', unit: 'C' },
    { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '30' },
  ]),
  device('thermo-1', 'thermostat', 'gw-x', {
    protocol: { protocolName: 'modbus', configData: { slaveID: 1 } },
    properties: [{ name: 'setpoint', desired: { value: '21' } }],
  }),
);

const TOPIC = `${twinTopic('thermo-1')}/update`;

describe('devices - end to end', () => {
  it('a twin update on the edge broker reaches Device.status, and a desired change produces a delta at the edge', async () => {
    const { cloud, mqttPort: port } = await startDeviceNode('gw-x');
    const admin = { kubeconfig: cloud.kubeconfig };
    expect(port).toBeGreaterThan(0);
    await applyManifests(cloud, MANIFESTS);

    const client = await connectAsync(`mqtt://127.0.0.1:${String(port)}`, { reconnectPeriod: 0 });
    clients.push(client);
    const received: { topic: string; payload: Record<string, unknown> }[] = [];
    client.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString('utf8')) as Record<string, unknown> }));
    await client.subscribeAsync([`${TOPIC}/result`, `${TOPIC}/delta`], { qos: 1 });

    // the device reaches the edge asynchronously: publish until the twin accepts the update
    const update = twinUpdate('temperature', '21.5', 'float');
    await waitFor(async () => {
      await client.publishAsync(TOPIC, update, { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      return received.some((m) => m.topic === `${TOPIC}/result` && m.payload['code'] === undefined);
    }, 'the twin update to be accepted');

    await waitFor(async () => (await deviceTwins(cloud.kubeconfig, 'thermo-1')).includes('21.5'), 'the reported value in Device.status');

    await kubectlOk(admin, ['patch', 'device', 'thermo-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]']);
    await waitFor(
      () => received.some((m) => m.topic === `${TOPIC}/delta` && (m.payload['delta'] as Record<string, unknown> | undefined)?.['setpoint'] === '25'),
      'a delta for the new desired setpoint',
    );
  });
});
