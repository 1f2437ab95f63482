// KubeEdge 1.19-1.23 device API on the real embedded API server with kubectl, a real CloudHub and simulated
// edges: KubeEdge's own sample YAMLs, DeviceStatus objects written from edge reports (and the Device.status
// mirror), model-level protocolConfigData and visitors with a Device override, methods, stateReport.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, createTestPki, waitFor, type TestPki } from '@kedge/testkit';
import { createLogger } from '@kedge/telemetry';
import { CRD_REVISION_ANNOTATION, installCrds } from '../src/index';
import { lastMembership, startDeviceCloud } from './fixtures/cloud';

let pki: TestPki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

const sample = (file: string) => readFileSync(new URL(`./fixtures/kubeedge/${file}`, import.meta.url), 'utf8');

const VALVE_MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: valve, namespace: default }
spec:
  protocol: modbus
  protocolConfigData: { slaveID: 1, timeoutMs: 500 }
  properties:
    - name: setpoint
      type: INT
      accessMode: ReadWrite
      visitors: { protocolName: modbus, configData: { register: HoldingRegister, offset: 5 } }
    - name: flow
      type: INT
      accessMode: ReadOnly
      visitors: { protocolName: modbus, configData: { register: InputRegister, offset: 0 } }
    - { name: secret, type: INT, accessMode: ReadOnly }
`;

const valve = (node: string, extra = '') => `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: valve-1
  namespace: default
  annotations: { devices.kedge.io/reassert-desired: setpoint }
spec:
  deviceModelRef: { name: valve }
  nodeName: ${node}
  protocol: { protocolName: modbus, configData: { ip: 127.0.0.1, port: 1502 } }
  stateReport: { reportToCloud: true, reportCycle: 5000 }
  methods:
    - { name: setFlowLimit, description: limit the flow, propertyNames: [setpoint] }
  properties:
    - name: flow
      reportToCloud: true
      visitors: { protocolName: modbus, configData: { register: InputRegister, offset: 7, dataType: uint16 } }
    - name: secret
      reportToCloud: false
${extra}`;

const report = (twin: Record<string, string>, state = 'online') => ({
  state,
  last_online: '2026-01-01T00:00:00Z',
  twin: Object.fromEntries(Object.entries(twin).map(([name, value]) => [name, { actual: { value, metadata: { timestamp: 1 } }, metadata: { type: 'int' } }])),
});

describe('devicecontroller api - KubeEdge samples', () => {
  it("KubeEdge's v1beta1 sample DeviceModel and Device apply unchanged and keep every field", async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    await cloud.kubectl(['apply'], sample('beta1-model.yaml'));
    await cloud.kubectl(['apply'], sample('beta1-device.yaml'));
    const device = JSON.parse(await cloud.kubectl(['get', 'device', 'beta1-device', '-o', 'json'])) as { spec: Record<string, unknown> };
    expect(device.spec).toMatchObject({
      nodeName: 'worker-node1',
      protocol: { protocolName: 'modbus', configData: { ip: '172.17.0.3', port: 1502 } },
      properties: [
        {
          name: 'temp',
          collectCycle: 10_000_000_000,
          reportCycle: 10_000_000_000,
          reportToCloud: true,
          desired: { value: '30' },
          pushMethod: {
            mqtt: { address: 'tcp://127.0.0.1:1883', topic: 'temp', qos: 0, retained: false },
            dbMethod: { influxdb2: { influxdb2ClientConfig: { bucket: 'test-bucket' }, influxdb2DataConfig: { tag: { unit: 'temperature' }, fieldKey: 'beta1test' } } },
          },
          visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 2, isRegisterSwap: true } },
        },
      ],
    });
  });
});

describe('devicecontroller status - DeviceStatus', () => {
  it('an edge report creates the DeviceStatus owned by the Device, later reports update it, Device.status mirrors it, and it goes with the Device', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], VALVE_MODEL);
    await cloud.kubectl(['apply'], valve('gw-a'));
    await waitFor(() => lastMembership(a)?.devices.some((d) => d.name === 'valve-1') === true, 'gw-a to get valve-1');
    expect(await cloud.kubectl(['get', 'devicestatus', '-o', 'name'])).toBe('');

    expect((await a.request('update', 'default/twin/valve-1', report({ flow: '12', secret: '42' }), 'twin')).content).toBe('OK');
    const status = JSON.parse(await cloud.kubectl(['get', 'devicestatus', 'valve-1', '-o', 'json'])) as {
      metadata: { ownerReferences: unknown[] };
      status: { twins: unknown[]; state: string; lastOnlineTime: string };
    };
    const uid = await cloud.kubectl(['get', 'device', 'valve-1', '-o', 'jsonpath={.metadata.uid}']);
    expect(status.metadata.ownerReferences).toEqual([{ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', name: 'valve-1', uid, controller: true, blockOwnerDeletion: true }]);
    // `secret` has reportToCloud: false, so its value stays on the edge
    expect(status.status).toEqual({
      twins: [{ propertyName: 'flow', reported: { value: '12', metadata: { type: 'int', timestamp: '1' } } }],
      state: 'online',
      lastOnlineTime: '2026-01-01T00:00:00Z',
    });
    expect(JSON.parse(await cloud.kubectl(['get', 'device', 'valve-1', '-o', 'jsonpath={.status.twins}']))).toEqual(status.status.twins);

    await a.request('update', 'default/twin/valve-1', report({ flow: '13' }, 'offline'), 'twin');
    expect(await cloud.kubectl(['get', 'devicestatus', 'valve-1', '-o', 'jsonpath={.status.twins[0].reported.value} {.status.state}'])).toBe('13 offline');
    expect(await cloud.kubectl(['get', 'device', 'valve-1', '-o', 'jsonpath={.status.state}'])).toBe('offline');

    await cloud.kubectl(['delete', 'device', 'valve-1']);
    await waitFor(async () => (await cloud.kubectl(['get', 'devicestatus', '-o', 'name'])) === '', 'the DeviceStatus to go with its Device');
  });

  it('with the mirror off, reports go to DeviceStatus only', async () => {
    const cloud = await startDeviceCloud(pki, cleanup, { mirrorDeviceStatus: false });
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], VALVE_MODEL);
    await cloud.kubectl(['apply'], valve('gw-a'));
    await waitFor(() => lastMembership(a)?.devices.some((d) => d.name === 'valve-1') === true, 'gw-a to get valve-1');
    await a.request('update', 'default/twin/valve-1', report({ flow: '12' }), 'twin');
    expect(await cloud.kubectl(['get', 'devicestatus', 'valve-1', '-o', 'jsonpath={.status.twins[0].reported.value}'])).toBe('12');
    expect(await cloud.kubectl(['get', 'device', 'valve-1', '-o', 'jsonpath={.status}'])).toBe('');
  });

  it('stateReport.reportToCloud false keeps the state out of the cloud', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], VALVE_MODEL);
    await cloud.kubectl(['apply'], valve('gw-a').replace('stateReport: { reportToCloud: true, reportCycle: 5000 }', 'stateReport: { reportToCloud: false }'));
    await waitFor(() => lastMembership(a)?.devices.some((d) => d.name === 'valve-1') === true, 'gw-a to get valve-1');
    await a.request('update', 'default/twin/valve-1', report({ flow: '12' }), 'twin');
    expect(await cloud.kubectl(['get', 'devicestatus', 'valve-1', '-o', 'jsonpath={.status.twins[0].reported.value}|{.status.state}'])).toBe('12|');
  });
});

describe('devicecontroller membership - model-level access', () => {
  it("the node gets the model's protocolConfigData and visitors, overridden by the Device, with methods, stateReport and re-assert", async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], VALVE_MODEL);
    await cloud.kubectl(['apply'], valve('gw-a'));
    await waitFor(() => lastMembership(a)?.devices.some((d) => d.name === 'valve-1') === true, 'gw-a to get valve-1');
    const device = lastMembership(a)?.devices.find((d) => d.name === 'valve-1');
    // protocol: the Device's name and keys on top of the model's protocolConfigData
    expect(device?.protocol).toEqual({ protocolName: 'modbus', configData: { slaveID: 1, timeoutMs: 500, ip: '127.0.0.1', port: 1502 } });
    expect(device?.propertyVisitors).toEqual([
      { name: 'setpoint', visitors: { protocolName: 'modbus', configData: { register: 'HoldingRegister', offset: 5 } }, reassertDesired: true },
      { name: 'flow', visitors: { protocolName: 'modbus', configData: { register: 'InputRegister', offset: 7, dataType: 'uint16' } }, reportToCloud: true },
    ]);
    expect(device?.methods).toEqual([{ name: 'setFlowLimit', description: 'limit the flow', propertyNames: ['setpoint'] }]);
    expect(device?.stateReport).toEqual({ reportToCloud: true, reportCycle: 5000 });
  });
});

describe('devicecontroller crds - upgrade', () => {
  it('a Device CRD of an older revision is replaced, so new fields (stateReport) are accepted and kept', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    await cloud.kubectl(['apply'], VALVE_MODEL);
    // the CRD as an older kedge installed it: no stateReport in the schema, no revision annotation
    const crd = JSON.parse(await cloud.kubectl(['get', 'crd', 'devices.devices.kubeedge.io', '-o', 'json'])) as {
      metadata: { annotations?: Record<string, string> };
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } } } }[] };
    };
    delete crd.metadata.annotations?.[CRD_REVISION_ANNOTATION];
    delete crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties['stateReport'];
    await cloud.kubectl(['replace'], JSON.stringify(crd));
    // kubectl validates strictly: the old schema refuses the field (a client without validation would see it pruned)
    await waitFor(async () => (await cloud.kubectl(['apply'], valve('gw-a')).then(() => 'accepted', (error: unknown) => String(error))).includes('unknown field "spec.stateReport"'), 'the old schema to refuse stateReport');

    await installCrds(cloud.kubeConfig, createLogger({ name: 'crd-upgrade-test', level: 'silent' }));
    expect(await cloud.kubectl(['get', 'crd', 'devices.devices.kubeedge.io', '-o', `jsonpath={.metadata.annotations.devices\\.kedge\\.io/crd-revision}`])).toMatch(/^[0-9a-f]{16}$/);
    await cloud.kubectl(['apply'], valve('gw-a').replace('reportCycle: 5000', 'reportCycle: 6000'));
    await waitFor(async () => (await cloud.kubectl(['get', 'device', 'valve-1', '-o', 'jsonpath={.spec.stateReport.reportCycle}'])) === '6000', 'stateReport kept after the upgrade');
  });
});
