// End-to-end devices: cloudcore (DeviceController) + edgecore (EventBus, DeviceTwin, MetaManager
// outbox), the real kubectl and an MQTT client on the edge's embedded broker.
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { kubectlOk, stopAll, waitFor } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore } from './cluster';

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await stopAll();
});

const MANIFESTS = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: thermostat, namespace: default}
spec:
  protocol: modbus
  properties:
  - {name: temperature, type: FLOAT, accessMode: ReadOnly, minimum: "-40", maximum: "125", unit: C}
  - {name: setpoint, type: INT, accessMode: ReadWrite, minimum: "5", maximum: "30"}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: thermo-1, namespace: default}
spec:
  deviceModelRef: {name: thermostat}
  nodeName: gw-x
  protocol: {protocolName: modbus, configData: {slaveID: 1}}
  properties:
  - name: setpoint
    desired: {value: "21"}
`;

const TOPIC = '$hw/events/device/default/thermo-1/twin/update';

describe('devices - end to end', () => {
  it('a twin update on the edge broker reaches Device.status, and a desired change produces a delta at the edge', async () => {
    const cloud = await startCloudCore();
    const admin = { kubeconfig: cloud.kubeconfig };
    const edge = startEdgeCore(cloud, { nodeName: 'gw-x', token: await issueToken(cloud) });
    await cloud.process.waitForLog(isNodeConnected('gw-x'), 'gw-x session');
    const ready = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    const port = (ready.ports as { mqtt?: number } | undefined)?.mqtt;
    expect(port).toBeGreaterThan(0);
    await kubectlOk(admin, ['apply', '-f', '-'], MANIFESTS);

    const client = await connectAsync(`mqtt://127.0.0.1:${String(port)}`, { reconnectPeriod: 0 });
    clients.push(client);
    const received: { topic: string; payload: Record<string, unknown> }[] = [];
    client.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString('utf8')) as Record<string, unknown> }));
    await client.subscribeAsync([`${TOPIC}/result`, `${TOPIC}/delta`], { qos: 1 });

    // the device reaches the edge asynchronously: publish until the twin accepts the update
    const update = JSON.stringify({ event_id: 'e1', timestamp: 0, twin: { temperature: { actual: { value: '21.5' }, metadata: { type: 'float' } } } });
    await waitFor(async () => {
      await client.publishAsync(TOPIC, update, { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      return received.some((m) => m.topic === `${TOPIC}/result` && m.payload['code'] === undefined);
    }, 'the twin update to be accepted');

    await waitFor(
      async () => (await kubectlOk(admin, ['get', 'device', 'thermo-1', '-o', 'jsonpath={.status.twins}'])).includes('21.5'),
      'the reported value in Device.status',
    );

    await kubectlOk(admin, ['patch', 'device', 'thermo-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]']);
    await waitFor(
      () => received.some((m) => m.topic === `${TOPIC}/delta` && (m.payload['delta'] as Record<string, unknown> | undefined)?.['setpoint'] === '25'),
      'a delta for the new desired setpoint',
    );
  });
});
