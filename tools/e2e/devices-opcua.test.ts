// End-to-end OPC UA device: cloudcore + edgecore running the OPC UA mapper inside it against a real
// node-opcua-server. A KubeEdge-style DeviceModel and Device (protocol opcua, visitors nodeID, a pushMethod http)
// applied with kubectl; the server's value reaches Device.status and the HTTP receiver, a desired patch reaches
// the server's node.
import http from 'node:http';
import { freePort } from '@kedge/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { kubectlOk, stopAll, waitFor } from './harness';
import { applyManifests, reportedValue, startDeviceNode } from './device-fixtures';
import { OPCUA_USER, removePki, startOpcUaServer } from '@kedge/opcua-fixture';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  await stopAll();
});
afterAll(() => removePki());

const manifests = (node: string, opcPort: number, httpPort: number): string => `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: opcua-plc
  namespace: default
spec:
  protocol: opcua
  properties:
    - name: temperature
      type: DOUBLE
      accessMode: ReadOnly
    - name: switcher
      type: BOOLEAN
      accessMode: ReadWrite
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: plc-1
  namespace: default
spec:
  deviceModelRef:
    name: opcua-plc
  nodeName: ${node}
  protocol:
    protocolName: opcua
    configData:
      url: opc.tcp://127.0.0.1:${opcPort}
      userName: ${OPCUA_USER.userName}
      password: ${OPCUA_USER.password}
      securityPolicy: None
      securityMode: None
  properties:
    - name: temperature
      collectCycle: 200
      reportCycle: 200
      reportToCloud: true
      visitors:
        protocolName: opcua
        configData:
          nodeID: ns=1;s=Temperature
      pushMethod:
        http:
          hostName: http://127.0.0.1
          port: ${httpPort}
          requestPath: /opcua
          timeout: 2000
    - name: switcher
      collectCycle: 200
      reportCycle: 200
      desired:
        value: "false"
      visitors:
        protocolName: opcua
        configData:
          nodeID: ns=1;s=Switch
`;

describe('devices - OPC UA mapper inside edgecore, end to end', () => {
  it('node-opcua-server: node value → Device.status and the pushMethod http receiver; desired patch → node', async () => {
    const server = await startOpcUaServer(await freePort(), { Temperature: 61.5 });
    cleanups.push(server.stop);
    const pushed: { propertyName: string; value: string }[] = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        pushed.push(JSON.parse(body) as { propertyName: string; value: string });
        res.writeHead(200).end();
      });
    });
    const httpPort = await freePort();
    await new Promise<void>((resolve) => receiver.listen(httpPort, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    const node = 'gw-opcua';
    const { cloud } = await startDeviceNode(node, { maxReconnectDelayMs: 500 });
    await applyManifests(cloud, manifests(node, server.port, httpPort));
    await waitFor(async () => (await reportedValue(cloud.kubeconfig, 'plc-1', 'temperature')) === '61.5', 'temperature 61.5 in Device.status', { timeoutMs: 60_000 });
    await waitFor(() => pushed.some((p) => p.propertyName === 'temperature' && p.value === '61.5'), 'the value at the http receiver');

    server.set('Temperature', 62.25);
    await waitFor(async () => (await reportedValue(cloud.kubeconfig, 'plc-1', 'temperature')) === '62.25', 'the new value by monitored item', { timeoutMs: 30_000 });

    await kubectlOk({ kubeconfig: cloud.kubeconfig }, ['patch', 'device', 'plc-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/1/desired/value","value":"true"}]']);
    await waitFor(() => server.get('Switch') === true, 'Switch written on the OPC UA server', { timeoutMs: 30_000 });
    await waitFor(async () => (await reportedValue(cloud.kubeconfig, 'plc-1', 'switcher')) === 'true', 'switcher true in Device.status');
    expect(pushed.every((p) => p.propertyName === 'temperature')).toBe(true);
  }, 180_000);
});
